//! PlanResourceChange: the framework's plan pipeline and the plan checks Terraform would
//! otherwise report as "Provider produced invalid plan".
//!
//! Pipeline: start from Terraform's proposed new state; if it differs from the prior state (or
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
        // A destroy plan (only sent with the plan_destroy capability) must stay null.
        if proposed.is_null() {
            return PlanResult {
                planned: Value::Null,
                requires_replace: Vec::new(),
                private: prior_private,
                diagnostics: Diagnostics::new(),
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
        let plan = entry.resource.plan(&self.context(), plan).await;
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
