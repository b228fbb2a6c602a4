//! Proto3 JSON output rules for Network Services documents: default-valued fields are not emitted.

use serde_json::Value;

use crate::api::Api;
use crate::discovery::document;

/// Durations, timestamps and 64-bit integers of a Network Services `schema` instance in proto3 JSON form.
pub fn encode(value: &mut Value, schema: &str) {
    crate::proto3::encode(document(Api::NetworkServices), schema, value);
}

/// Members of the route match `oneof`s: proto3 tracks their presence, so they are emitted even when they
/// hold a default value (the recording shows `presentMatch: false` echoed).
const ONEOF_MEMBERS: &[&str] = &[
    "exactMatch",
    "regexMatch",
    "prefixMatch",
    "presentMatch",
    "suffixMatch",
    "fullPathMatch",
];

/// Removes `false`, `0`, `""`, empty lists and empty `labels` maps, recursively, as Google's proto3 JSON
/// encoder does (the recorded PATCH sent `ignoreCase: false`, `queryParameters: []`, `destinations: []`
/// and the following GET had none of them). Empty messages (`{}`) and `oneof` members stay.
pub fn strip_defaults(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                strip_defaults(v);
            }
            map.retain(|k, v| !is_default(k, v));
        }
        Value::Array(items) => items.iter_mut().for_each(strip_defaults),
        _ => {}
    }
}

fn is_default(key: &str, v: &Value) -> bool {
    if ONEOF_MEMBERS.contains(&key) && !v.is_null() {
        return false;
    }
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty() && key == "labels",
        Value::Bool(true) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_values_are_dropped_and_set_messages_kept() {
        let mut v = json!({
            "description": "", "labels": {}, "rules": [{
                "matches": [{"ignoreCase": false, "prefixMatch": "/", "headers": [
                    {"header": "x", "presentMatch": false, "invertMatch": false}]}],
                "action": {"destinations": [{"serviceName": "s", "weight": 0}], "corsPolicy": {}}
            }]
        });
        strip_defaults(&mut v);
        assert_eq!(
            v,
            json!({"rules": [{
                "matches": [{"prefixMatch": "/", "headers": [{"header": "x", "presentMatch": false}]}],
                "action": {"destinations": [{"serviceName": "s"}], "corsPolicy": {}}
            }]})
        );
    }
}
