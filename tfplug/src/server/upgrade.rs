//! UpgradeResourceState: Terraform sends stored state JSON on every plan and refresh, even at
//! the current schema version. Older versions go through the resource's upgraders one version
//! at a time; the result is decoded with the current schema.

use crate::diag::{Diagnostic, Diagnostics};
use crate::provider::Provider;
use crate::resource::value_error_diagnostic;
use crate::server::Server;
use crate::value::{self, Type, Value};

impl<P: Provider> Server<P> {
    pub(crate) fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_json: &[u8],
        has_flatmap: bool,
    ) -> (Value, Diagnostics) {
        let entry = match self.resource(type_name) {
            Ok(e) => e,
            Err(d) => return (Value::Null, d),
        };
        if raw_json.is_empty() {
            let detail = if has_flatmap {
                "The state is in the pre-0.12 flatmap format, which this provider does not read."
            } else {
                "Terraform sent no state to upgrade."
            };
            return (
                Value::Null,
                Diagnostic::error("Unable to upgrade resource state", detail).into(),
            );
        }
        let current = entry.schema.version;
        if version > current {
            return (
                Value::Null,
                Diagnostic::error(
                    "Unable to upgrade resource state",
                    format!(
                        "The state of this {type_name} was written by a newer provider (schema version {version}; \
                         this provider knows {current}). Use the newer provider version."
                    ),
                )
                .into(),
            );
        }
        let mut json: serde_json::Value = match serde_json::from_slice(raw_json) {
            Ok(j) => j,
            Err(e) => {
                return (
                    Value::Null,
                    Diagnostic::error(
                        "Unable to upgrade resource state",
                        format!("The stored state is not JSON: {e}."),
                    )
                    .into(),
                )
            }
        };
        for from in version..current {
            match entry.hooks.upgrade_state(from, json) {
                Ok(next) => json = next,
                Err(d) => return (Value::Null, d),
            }
        }
        conform(&mut json, &entry.ty);
        let bytes = match serde_json::to_vec(&json) {
            Ok(b) => b,
            Err(e) => {
                return (
                    Value::Null,
                    Diagnostic::error("Unable to upgrade resource state", e.to_string()).into(),
                )
            }
        };
        match value::json::decode(&bytes, &entry.ty) {
            Ok(v) => (v, Diagnostics::new()),
            Err(e) => (
                Value::Null,
                value_error_diagnostic("Unable to upgrade resource state", &e).into(),
            ),
        }
    }
}

/// Makes state JSON fit the current object shapes: attributes added to the schema since the
/// state was written become null, attributes that were removed are dropped. This is what lets
/// a provider add an optional attribute without bumping the schema version.
pub(crate) fn conform(json: &mut serde_json::Value, ty: &Type) {
    match (json, ty) {
        (serde_json::Value::Object(map), Type::Object(attrs)) => {
            map.retain(|k, _| attrs.contains_key(k));
            for (name, attr_ty) in attrs {
                let slot = map.entry(name.clone()).or_insert(serde_json::Value::Null);
                conform(slot, attr_ty);
            }
        }
        (serde_json::Value::Array(items), Type::List(el) | Type::Set(el)) => {
            for item in items {
                conform(item, el);
            }
        }
        (serde_json::Value::Object(map), Type::Map(el)) => {
            for item in map.values_mut() {
                conform(item, el);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conform_adds_missing_and_drops_removed_attributes() {
        let ty = Type::object([
            ("a", Type::String),
            ("b", Type::list(Type::object([("c", Type::Number)]))),
        ]);
        let mut json = serde_json::json!({"a": "x", "gone": 1, "b": [{}]});
        conform(&mut json, &ty);
        assert_eq!(json, serde_json::json!({"a": "x", "b": [{"c": null}]}));
    }
}
