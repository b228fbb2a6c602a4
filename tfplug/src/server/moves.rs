//! MoveResourceState (6.5): a `moved` block from another resource type, possibly another
//! provider's. Terraform sends the source state JSON in the source schema's shape; the target
//! resource decides whether it can read it. The result must be wholly known, as after import.

use crate::diag::{Diagnostic, Diagnostics};
use crate::provider::Provider;
use crate::resource::MoveRequest;
use crate::server::apply::make_known;
use crate::server::Server;
use crate::value::Value;

/// What Terraform sends, before the JSON is parsed.
pub(crate) struct RawMove {
    pub source_provider_address: String,
    pub source_type_name: String,
    pub source_schema_version: i64,
    pub source_json: Vec<u8>,
    pub has_flatmap: bool,
    pub source_private: Vec<u8>,
}

impl<P: Provider> Server<P> {
    pub(crate) async fn move_resource_state(
        &self,
        target_type_name: &str,
        raw: RawMove,
    ) -> (Value, Vec<u8>, Diagnostics) {
        let entry = match self.resource(target_type_name) {
            Ok(e) => e,
            Err(d) => return (Value::Null, Vec::new(), d),
        };
        let from = format!(
            "{} of {}",
            raw.source_type_name, raw.source_provider_address
        );
        if raw.source_json.is_empty() {
            let detail = if raw.has_flatmap {
                format!("The state of {from} is in the pre-0.12 flatmap format, which this provider does not read.")
            } else {
                format!("Terraform sent no state of {from} to move.")
            };
            return (
                Value::Null,
                Vec::new(),
                Diagnostic::error("Unable to move resource state", detail).into(),
            );
        }
        let source_state = match serde_json::from_slice(&raw.source_json) {
            Ok(j) => j,
            Err(e) => {
                return (
                    Value::Null,
                    Vec::new(),
                    Diagnostic::error(
                        "Unable to move resource state",
                        format!("The stored state of {from} is not JSON: {e}."),
                    )
                    .into(),
                )
            }
        };
        let req = MoveRequest {
            source_provider_address: raw.source_provider_address,
            source_type_name: raw.source_type_name,
            source_schema_version: raw.source_schema_version,
            source_state,
            source_private: raw.source_private,
        };
        let (moved, mut diags) = entry
            .hooks
            .move_state(&self.context(), req, &entry.ty)
            .await;
        match moved {
            Some((mut state, private)) if !state.is_null() => {
                diags.extend(make_known(&mut state, "move"));
                (state, private, diags)
            }
            Some(_) => {
                diags.error(
                    "Provider returned a null moved state",
                    format!("Moving {from} into {target_type_name} returned a null object. This is a bug in the provider."),
                );
                (Value::Null, Vec::new(), diags)
            }
            None => {
                if !diags.has_errors() {
                    diags.error(
                        "Unable to move resource state",
                        format!("Moving {from} into {target_type_name} returned neither a state nor an error. This is a bug in the provider."),
                    );
                }
                (Value::Null, Vec::new(), diags)
            }
        }
    }
}
