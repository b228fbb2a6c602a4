//! Serde helpers for Google's JSON conventions (int64 and uint64 travel as strings; servers and fakes differ).

use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

/// `Option<i64>` that reads `"12"` or `12` and writes `"12"` (proto3 JSON for int64).
pub(crate) mod int64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.serialize_str(&n.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("int64 out of range")),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("not an int64: {s:?}"))),
            Some(other) => Err(serde::de::Error::custom(format!(
                "expected int64, got {other}"
            ))),
        }
    }
}

/// `Option<String>` that also accepts a JSON number (Compute's uint64 `id`).
pub(crate) mod id {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => s.serialize_str(x),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(serde::de::Error::custom(format!(
                "expected an id, got {other}"
            ))),
        }
    }
}

/// Encodes a request body.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, crate::error::Error> {
    serde_json::to_value(v)
        .map_err(|e| crate::error::Error::config(format!("could not encode the request body: {e}")))
}
