//! ApplyResourceChange: dispatch to create, update or delete, then the result checks that
//! Terraform would otherwise report as "Provider produced inconsistent result after apply".

use crate::diag::Diagnostics;
use crate::provider::Provider;
use crate::schema::{Attribute, Block};
use crate::server::erased::RawResult;
use crate::server::walk::walk;
use crate::server::{render, tree, Server};
use crate::value::{AttributePath, Value};

impl<P: Provider> Server<P> {
    /// Null prior: create. Null planned: delete (the result must be null). Otherwise update.
    pub(crate) async fn apply_resource_change(
        &self,
        type_name: &str,
        prior: Value,
        planned: Value,
        config: Value,
        planned_private: Vec<u8>,
    ) -> RawResult {
        let entry = match self.resource(type_name) {
            Ok(e) => e,
            Err(diagnostics) => {
                return RawResult {
                    state: prior,
                    private: planned_private,
                    diagnostics,
                }
            }
        };
        let ctx = self.context();
        let ty = &entry.ty;
        if planned.is_null() {
            let mut result = entry.hooks.delete(&ctx, prior, &planned_private, ty).await;
            if !result.state.is_null() && !result.diagnostics.has_errors() {
                result.diagnostics.error(
                    "Provider did not delete the object",
                    format!(
                        "Deleting {type_name} returned a remaining object without an error. \
                         This is a bug in the provider."
                    ),
                );
            }
            return finish(result, &entry.schema.block, None);
        }
        let mut result = if prior.is_null() {
            entry
                .hooks
                .create(&ctx, planned.clone(), config, &planned_private, ty)
                .await
        } else {
            entry
                .hooks
                .update(&ctx, prior, planned.clone(), config, &planned_private, ty)
                .await
        };
        if result.state.is_null() && !result.diagnostics.has_errors() {
            result.diagnostics.error(
                "Provider returned no object",
                format!("Applying {type_name} returned neither an object nor an error. This is a bug in the provider."),
            );
        }
        finish(result, &entry.schema.block, Some(&planned))
    }
}

/// Checks the new state against the plan (when given) and makes it wholly known.
fn finish(mut result: RawResult, block: &Block, planned: Option<&Value>) -> RawResult {
    if result.state.is_null() {
        return result;
    }
    result
        .diagnostics
        .extend(make_known(&mut result.state, "apply"));
    // Terraform only checks consistency when there are no errors; do the same, but earlier
    // and with the attribute named.
    if let Some(planned) = planned {
        if !result.diagnostics.has_errors() {
            result
                .diagnostics
                .extend(check_consistent(block, planned, &mut result.state));
        }
    }
    result
}

/// Replaces unknowns in a result with null, with one error naming each such attribute.
pub(crate) fn make_known(state: &mut Value, operation: &str) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut found = Vec::new();
    tree::unknowns_to_null(state, &AttributePath::root(), &mut found);
    for path in found {
        diags.attribute_error(
            path.clone(),
            "Provider returned an unknown value",
            format!(
                "After {operation}, {path} is still unknown; results must be wholly known. \
                 It was saved as null. This is a bug in the provider."
            ),
        );
    }
    diags
}

/// Every value that was known in the plan must come back unchanged (null included).
pub(crate) fn check_consistent(block: &Block, planned: &Value, state: &mut Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    walk(
        block,
        Some(planned),
        None,
        state,
        &AttributePath::root(),
        &mut |attr: &Attribute, plan, _, slot: &mut Value, path: &AttributePath| {
            let Some(plan) = plan else { return };
            if plan.is_wholly_known() && plan != &*slot {
                diags.attribute_error(
                    path.clone(),
                    "Provider produced inconsistent result after apply",
                    format!(
                    "The plan promised {} for {path}, but the provider returned {}. Only values \
                     unknown in the plan may change during apply. This is a bug in the provider.",
                    render::for_attribute(attr, Some(plan)),
                    render::for_attribute(attr, Some(slot)),
                ),
                );
            }
        },
    );
    diags
}
