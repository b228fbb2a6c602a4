//! JSON codec for Terraform state (RawState.json in UpgradeResourceState), as go-cty's cty/json.

use std::collections::BTreeMap;

use serde_json::{Map as JsonMap, Value as Json};

use super::msgpack::kind;
use super::number::Number;
use super::path::{AttributePath, PathStep};
use super::text::nfc;
use super::types::Type;
use super::value::Value;
use super::walk::{check_no_extra_attribute, check_tuple_len, elements, err};
use super::ValueError;

/// Decodes state JSON as a value of type `ty`. Object attributes missing from the JSON are
/// null (state written before the attribute existed); attributes the type lacks are an error.
/// Like cty, a number may also be given as a string, and bools and strings convert both ways.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    // serde_json bounds nesting at 128 levels, so the recursion below is bounded too.
    let json: Json = serde_json::from_slice(bytes)
        .map_err(|e| ValueError::new(AttributePath::root(), format!("invalid state JSON: {e}")))?;
    let mut path = Vec::new();
    from_json(&json, ty, &mut path)
}

/// Encodes a wholly known value as state JSON (dynamic values as `{"value":..,"type":..}`).
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut path = Vec::new();
    let json = to_json(value, ty, &mut path)?;
    serde_json::to_vec(&json)
        .map_err(|e| ValueError::new(AttributePath::root(), format!("JSON write failed: {e}")))
}

fn json_kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn from_json(j: &Json, ty: &Type, path: &mut Vec<PathStep>) -> Result<Value, ValueError> {
    if j.is_null() {
        return Ok(Value::Null);
    }
    let mismatch = |path: &[PathStep]| err(path, format!("expected {ty}, found {}", json_kind(j)));
    match (ty, j) {
        (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Bool, Json::String(s)) => match s.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(err(path, format!("{s:?} is not a bool"))),
        },
        (Type::Number, Json::Number(n)) => parse_number(&n.to_string(), path),
        (Type::Number, Json::String(s)) => parse_number(s, path),
        (Type::String, Json::String(s)) => Ok(Value::String(nfc(s))),
        (Type::String, Json::Number(n)) => Ok(Value::String(n.to_string())),
        (Type::String, Json::Bool(b)) => Ok(Value::String(b.to_string())),
        (Type::List(elem), Json::Array(items)) => {
            Ok(Value::List(from_json_all(items, elem, path)?))
        }
        (Type::Set(elem), Json::Array(items)) => Ok(Value::set(from_json_all(items, elem, path)?)),
        (Type::Tuple(elems), Json::Array(items)) => {
            check_tuple_len(path, elems.len(), items.len())?;
            let out = elements(items.iter().zip(elems), path, |(item, t), path| {
                from_json(item, t, path)
            })?;
            Ok(Value::Tuple(out))
        }
        (Type::Map(elem), Json::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                let k = nfc(k);
                path.push(PathStep::ElementKeyString(k.clone()));
                out.insert(k, from_json(v, elem, path)?);
                path.pop();
            }
            Ok(Value::Map(out))
        }
        (Type::Object(types), Json::Object(m)) => {
            if let Some(extra) = m.keys().find(|k| !types.contains_key(*k)) {
                path.push(PathStep::Attribute(extra.clone()));
                return Err(err(
                    path,
                    "unsupported attribute: the schema has no such attribute",
                ));
            }
            let mut out = BTreeMap::new();
            for (name, t) in types {
                path.push(PathStep::Attribute(name.clone()));
                let v = match m.get(name) {
                    Some(v) => from_json(v, t, path)?,
                    None => Value::Null,
                };
                path.pop();
                out.insert(name.clone(), v);
            }
            Ok(Value::Object(out))
        }
        (Type::Dynamic, Json::Object(m)) => {
            let (Some(type_json), Some(v)) = (m.get("type"), m.get("value")) else {
                return Err(err(
                    path,
                    "a dynamic value is an object with \"type\" and \"value\"",
                ));
            };
            let t = Type::from_json(type_json.to_string().as_bytes())
                .map_err(|e| err(path, e.message()))?;
            // A typed null keeps its type (see msgpack's dynamic decoding).
            let v = from_json(v, &t, path)?;
            Ok(Value::Dynamic(t, Box::new(v)))
        }
        _ => Err(mismatch(path)),
    }
}

fn parse_number(s: &str, path: &[PathStep]) -> Result<Value, ValueError> {
    s.parse::<Number>()
        .map(Value::Number)
        .map_err(|e| err(path, e.to_string()))
}

fn from_json_all(
    items: &[Json],
    elem: &Type,
    path: &mut Vec<PathStep>,
) -> Result<Vec<Value>, ValueError> {
    elements(items, path, |item, path| from_json(item, elem, path))
}

fn to_json(v: &Value, ty: &Type, path: &mut Vec<PathStep>) -> Result<Json, ValueError> {
    match (v, ty) {
        (Value::Null, _) => Ok(Json::Null),
        (Value::Unknown, _) => Err(err(path, "an unknown value cannot be written as JSON")),
        (Value::Dynamic(t, inner), Type::Dynamic) => dynamic(inner, t, path),
        (Value::Dynamic(t, inner), _) if t == ty => to_json(inner, ty, path),
        (known, Type::Dynamic) => {
            let t = known
                .infer_type()
                .ok_or_else(|| err(path, "cannot tell the type of this dynamic value"))?;
            dynamic(known, &t, path)
        }
        (Value::Bool(b), Type::Bool) => Ok(Json::Bool(*b)),
        (Value::Number(n), Type::Number) => {
            if n.is_infinite() {
                return Err(err(path, "an infinite number cannot be written as JSON"));
            }
            let text = n.to_string();
            serde_json::from_str::<serde_json::Number>(&text)
                .map(Json::Number)
                .map_err(|e| err(path, format!("number {text} is not valid JSON: {e}")))
        }
        (Value::String(s), Type::String) => Ok(Json::String(nfc(s))),
        (
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
            Type::List(elem) | Type::Set(elem),
        ) => {
            let owned;
            let items = if matches!(ty, Type::Set(_)) {
                owned = Value::normalize_set(items.clone());
                &owned
            } else {
                items
            };
            elements(items, path, |item, path| to_json(item, elem, path)).map(Json::Array)
        }
        (Value::List(items) | Value::Tuple(items), Type::Tuple(elems))
            if items.len() == elems.len() =>
        {
            elements(items.iter().zip(elems), path, |(item, t), path| {
                to_json(item, t, path)
            })
            .map(Json::Array)
        }
        (Value::Map(m) | Value::Object(m), Type::Map(elem)) => {
            let mut out = JsonMap::new();
            for (k, item) in m {
                path.push(PathStep::ElementKeyString(k.clone()));
                out.insert(nfc(k), to_json(item, elem, path)?);
                path.pop();
            }
            Ok(Json::Object(out))
        }
        (Value::Object(attrs), Type::Object(types)) => {
            check_no_extra_attribute(attrs.keys(), types, path)?;
            let mut out = JsonMap::new();
            for (name, t) in types {
                path.push(PathStep::Attribute(name.clone()));
                let item = match attrs.get(name) {
                    Some(item) => to_json(item, t, path)?,
                    None => {
                        return Err(err(
                            path,
                            "missing attribute: every attribute of the type needs a value",
                        ))
                    }
                };
                path.pop();
                out.insert(name.clone(), item);
            }
            Ok(Json::Object(out))
        }
        (other, _) => Err(err(
            path,
            format!("a {} value does not fit type {ty}", kind(other)),
        )),
    }
}

fn dynamic(inner: &Value, t: &Type, path: &mut Vec<PathStep>) -> Result<Json, ValueError> {
    let type_json: Json = serde_json::from_slice(&t.to_json())
        .map_err(|e| err(path, format!("type JSON did not parse back: {e}")))?;
    let mut out = JsonMap::new();
    out.insert("value".to_string(), to_json(inner, t, path)?);
    out.insert("type".to_string(), type_json);
    Ok(Json::Object(out))
}
