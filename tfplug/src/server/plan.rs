//! PlanResourceChange: the framework's plan pipeline and the plan checks Terraform would
//! otherwise report as "Provider produced invalid plan".
//!
//! A destroy (null proposed state) goes to the resource's `plan_destroy` check and is planned
//! null. Otherwise the pipeline: start from Terraform's proposed new state; if it differs from the prior state (or
//! on create) mark computed attributes that are null in the configuration as unknown; keep
//! the prior value for `use_state_for_unknown` attributes; add `requires_replace` paths for
//! flagged attributes whose value changes; then call the resource's own plan hook; then check.

use crate::diag::Diagnostics;
use crate::provider::Provider;
use crate::resource::Plan;
use crate::schema::{Attribute, Block};
use crate::server::render;
use crate::server::walk::walk;
use crate::server::Server;
use crate::value::{AttributePath, Value};

/// The result of planning, ready for the wire.
pub(crate) struct PlanResult {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl<P: Provider> Server<P> {
    pub(crate) async fn plan_resource_change(
        &self,
        type_name: &str,
        prior: Value,
        proposed: Value,
        config: Value,
        prior_private: Vec<u8>,
    ) -> PlanResult {
        let entry = match self.resource(type_name) {
            Ok(e) => e,
            Err(diagnostics) => {
                return PlanResult {
                    planned: proposed,
                    requires_replace: Vec::new(),
                    private: prior_private,
                    diagnostics,
                }
            }
        };
        // A destroy plan (only sent with the plan_destroy capability, Terraform >= 1.3): the
        // resource may refuse it; the planned state stays null either way, as Terraform requires.
        if proposed.is_null() {
            let diagnostics = if prior.is_null() {
                Diagnostics::new()
            } else {
                entry
                    .hooks
                    .plan_destroy(&self.context(), prior, &prior_private, &entry.ty)
                    .await
            };
            return PlanResult {
                planned: Value::Null,
                requires_replace: Vec::new(),
                private: prior_private,
                diagnostics,
            };
        }
        let block = &entry.schema.block;
        let create = prior.is_null();
        let mut planned = proposed;
        if create || planned != prior {
            mark_computed_unknown(block, &config, &mut planned);
        }
        let mut requires_replace = Vec::new();
        if !create {
            use_state_for_unknown(block, &config, &prior, &mut planned);
            requires_replace = flagged_replacements(block, &config, &prior, &mut planned);
        }
        let plan = Plan {
            prior: if create { None } else { Some(prior.clone()) },
            config: config.clone(),
            planned,
            private: prior_private,
            requires_replace,
            diagnostics: Diagnostics::new(),
            ty: entry.ty.clone(),
        };
        let plan = entry.hooks.plan(&self.context(), plan).await;
        let mut diagnostics = plan.diagnostics;
        let mut planned = plan.planned;
        diagnostics.extend(check_plan(
            block,
            &config,
            if create { None } else { Some(&prior) },
            &mut planned,
        ));
        let mut requires_replace = if create {
            Vec::new()
        } else {
            plan.requires_replace
        };
        requires_replace.sort();
        requires_replace.dedup();
        PlanResult {
            planned,
            requires_replace,
            private: plan.private,
            diagnostics,
        }
    }
}

/// Computed attributes that the configuration leaves null become unknown: the provider decides
/// their value at apply.
pub(crate) fn mark_computed_unknown(block: &Block, config: &Value, planned: &mut Value) {
    walk(
        block,
        Some(config),
        None,
        planned,
        &AttributePath::root(),
        &mut |attr: &Attribute, cfg, _, slot: &mut Value, _| {
            if attr.computed && cfg.is_none_or(Value::is_null) {
                *slot = Value::Unknown;
            }
        },
    );
}

/// Attributes flagged `use_state_for_unknown` keep their prior value instead of unknown,
/// unless the configuration itself is unknown.
pub(crate) fn use_state_for_unknown(
    block: &Block,
    config: &Value,
    prior: &Value,
    planned: &mut Value,
) {
    walk(
        block,
        Some(config),
        Some(prior),
        planned,
        &AttributePath::root(),
        &mut |attr: &Attribute, cfg, pri, slot: &mut Value, _| {
            if attr.use_state_for_unknown
                && slot.is_unknown()
                && !cfg.is_some_and(Value::is_unknown)
            {
                if let Some(p) = pri {
                    *slot = p.clone();
                }
            }
        },
    );
}

/// Paths of `requires_replace` attributes whose planned value differs from the prior one. An
/// attribute that is unknown only because it is computed and unset does not count: it did not
/// change by configuration.
pub(crate) fn flagged_replacements(
    block: &Block,
    config: &Value,
    prior: &Value,
    planned: &mut Value,
) -> Vec<AttributePath> {
    let mut paths = Vec::new();
    walk(
        block,
        Some(config),
        Some(prior),
        planned,
        &AttributePath::root(),
        &mut |attr: &Attribute, cfg, pri, slot: &mut Value, path: &AttributePath| {
            if !attr.requires_replace {
                return;
            }
            if slot.is_unknown() && cfg.is_none_or(Value::is_null) {
                return;
            }
            if pri != Some(&*slot) {
                paths.push(path.clone());
            }
        },
    );
    paths
}

/// Terraform's per-attribute plan rules: a configured value is planned as configured (or as
/// the prior value), an unset non-computed attribute stays null, an unknown configuration
/// stays unknown.
pub(crate) fn check_plan(
    block: &Block,
    config: &Value,
    prior: Option<&Value>,
    planned: &mut Value,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    walk(
        block,
        Some(config),
        prior,
        planned,
        &AttributePath::root(),
        &mut |attr: &Attribute, cfg, pri, slot: &mut Value, path: &AttributePath| {
            let Some(cfg) = cfg else { return };
            let problem = if cfg.is_unknown() {
                (!slot.is_unknown())
                    .then_some("the configuration is unknown, so the plan must be unknown")
            } else if !cfg.is_null() {
                let same_as_prior = pri.is_some_and(|p| !p.is_null() && p == &*slot);
                (cfg != &*slot && !same_as_prior)
                    .then_some("a configured value must be planned as configured")
            } else if !attr.computed {
                (!slot.is_null())
                    .then_some("an unset attribute that is not computed must be planned as null")
            } else {
                None
            };
            if let Some(rule) = problem {
                diags.attribute_error(
                    path.clone(),
                    "Provider produced invalid plan",
                    format!(
                        "The provider planned {} for {path} but the configuration has {}: {rule}. \
                     This is a bug in the provider.",
                        render::for_attribute(attr, Some(slot)),
                        render::for_attribute(attr, Some(cfg)),
                    ),
                );
            }
        },
    );
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::NestedBlock;
    use crate::value::Type;

    fn block() -> Block {
        Block::new()
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(Attribute::optional("name", Type::String).requires_replace())
            .block(NestedBlock::set(
                "port",
                Block::new()
                    .attribute(Attribute::required("number", Type::Number))
                    .attribute(Attribute::computed("label", Type::String)),
            ))
    }

    fn port(n: i64, label: Value) -> Value {
        Value::object([("number", Value::Number(n.into())), ("label", label)])
    }

    #[test]
    fn set_block_elements_get_unknown_computed_attributes_and_stay_a_valid_set() {
        let config = Value::object([
            ("id", Value::Null),
            ("name", Value::string("a")),
            (
                "port",
                Value::set(vec![port(1, Value::Null), port(2, Value::Null)]),
            ),
        ]);
        let mut planned = config.clone();
        mark_computed_unknown(&block(), &config, &mut planned);
        assert_eq!(planned.get_attr("id"), Some(&Value::Unknown));
        let Some(Value::Set(ports)) = planned.get_attr("port") else {
            panic!("set")
        };
        assert_eq!(ports.len(), 2);
        assert!(ports
            .iter()
            .all(|p| p.get_attr("label") == Some(&Value::Unknown)));
    }

    #[test]
    fn requires_replace_ignores_values_unknown_only_because_computed() {
        let b = Block::new()
            .attribute(Attribute::optional_computed("zone", Type::String).requires_replace())
            .attribute(Attribute::optional("size", Type::Number));
        let prior = Value::object([
            ("zone", Value::string("z1")),
            ("size", Value::Number(1.into())),
        ]);
        let config = Value::object([("zone", Value::Null), ("size", Value::Number(2.into()))]);
        let mut planned =
            Value::object([("zone", Value::Unknown), ("size", Value::Number(2.into()))]);
        assert!(flagged_replacements(&b, &config, &prior, &mut planned).is_empty());
        let config = Value::object([
            ("zone", Value::string("z2")),
            ("size", Value::Number(1.into())),
        ]);
        let mut planned = config.clone();
        assert_eq!(
            flagged_replacements(&b, &config, &prior, &mut planned),
            vec![AttributePath::root().attr("zone")]
        );
    }

    #[test]
    fn use_state_for_unknown_does_not_override_an_unknown_configuration() {
        let b = Block::new()
            .attribute(Attribute::optional_computed("zone", Type::String).use_state_for_unknown());
        let prior = Value::object([("zone", Value::string("z1"))]);
        let config = Value::object([("zone", Value::Unknown)]);
        let mut planned = Value::object([("zone", Value::Unknown)]);
        use_state_for_unknown(&b, &config, &prior, &mut planned);
        assert_eq!(planned.get_attr("zone"), Some(&Value::Unknown));
    }
}
