//! ReadResource, ImportResourceState and ReadDataSource: results must be wholly known.

use crate::diag::{Diagnostic, Diagnostics};
use crate::provider::Provider;
use crate::server::apply::make_known;
use crate::server::erased::RawResult;
use crate::server::Server;
use crate::value::Value;

/// One object returned by import.
pub(crate) struct ImportedObject {
    pub type_name: String,
    pub state: Value,
    pub private: Vec<u8>,
}

impl<P: Provider> Server<P> {
    /// A null result means the object is gone.
    pub(crate) async fn read_resource(
        &self,
        type_name: &str,
        state: Value,
        private: Vec<u8>,
    ) -> RawResult {
        let entry = match self.resource(type_name) {
            Ok(e) => e,
            Err(diagnostics) => {
                return RawResult {
                    state,
                    private,
                    diagnostics,
                }
            }
        };
        if state.is_null() {
            return RawResult {
                state,
                private,
                diagnostics: Diagnostics::new(),
            };
        }
        let mut result = entry
            .hooks
            .read(&self.context(), state, &private, &entry.ty)
            .await;
        let diags = make_known(&mut result.state, "read");
        result.diagnostics.extend(diags);
        result
    }

    pub(crate) async fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> (Vec<ImportedObject>, Diagnostics) {
        let entry = match self.resource(type_name) {
            Ok(e) => e,
            Err(d) => return (Vec::new(), d),
        };
        let (objects, mut diags) = entry.hooks.import(&self.context(), id, &entry.ty).await;
        let mut out = Vec::new();
        for (mut state, private) in objects {
            if state.is_null() {
                diags.push(Diagnostic::error(
                    "Provider returned a null import",
                    format!("Importing {type_name} {id:?} returned a null object. This is a bug in the provider."),
                ));
                continue;
            }
            diags.extend(make_known(&mut state, "import"));
            out.push(ImportedObject {
                type_name: type_name.to_string(),
                state,
                private,
            });
        }
        if out.is_empty() && !diags.has_errors() {
            diags.error(
                "Cannot import non-existent remote object",
                format!("No {type_name} with id {id:?} was found."),
            );
        }
        (out, diags)
    }

    pub(crate) async fn read_data_source(
        &self,
        type_name: &str,
        config: Value,
    ) -> (Value, Diagnostics) {
        let entry = match self.data_source(type_name) {
            Ok(e) => e,
            Err(d) => return (Value::Null, d),
        };
        let (mut state, mut diags) = entry.hooks.read(&self.context(), config, &entry.ty).await;
        if state.is_null() && !diags.has_errors() {
            diags.error(
                "Provider returned no data",
                format!("Reading {type_name} returned neither data nor an error. This is a bug in the provider."),
            );
        }
        diags.extend(make_known(&mut state, "read"));
        (state, diags)
    }
}
