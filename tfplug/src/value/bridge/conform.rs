//! Fitting an untyped serialized `Value` to a schema type, and checking that a value fits one.

use std::collections::BTreeMap;

use crate::value::msgpack::kind;
use crate::value::path::PathStep;
use crate::value::types::Type;
use crate::value::value::Value;
use crate::value::walk::{check_no_extra_attribute, check_tuple_len, elements, err};
use crate::value::ValueError;

fn mismatch(v: &Value, ty: &Type, path: &[PathStep]) -> ValueError {
    err(path, format!("a {} value does not fit type {ty}", kind(v)))
}

/// Turns what a `Serialize` impl produced into a value of type `ty`.
pub(super) fn conform(v: Value, ty: &Type, path: &mut Vec<PathStep>) -> Result<Value, ValueError> {
    match (v, ty) {
        (v @ (Value::Null | Value::Unknown), _) => Ok(v),
        (Value::Dynamic(t, inner), Type::Dynamic) => {
            // A typed null or unknown keeps its type, as in the codecs.
            let inner = conform(*inner, &t, path)?;
            Ok(Value::Dynamic(t, Box::new(inner)))
        }
        (Value::Dynamic(t, inner), _) if t == *ty => conform(*inner, ty, path),
        (known, Type::Dynamic) => {
            let t = known.infer_type().ok_or_else(|| {
                err(
                    path,
                    "cannot tell the type of this value for a dynamic attribute",
                )
            })?;
            let inner = conform(known, &t, path)?;
            Ok(Value::Dynamic(t, Box::new(inner)))
        }
        (v @ Value::Bool(_), Type::Bool)
        | (v @ Value::Number(_), Type::Number)
        | (v @ Value::String(_), Type::String) => Ok(v),
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::List(elem)) => {
            Ok(Value::List(conform_all(items, elem, path)?))
        }
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Set(elem)) => {
            Ok(Value::set(conform_all(items, elem, path)?))
        }
        (Value::List(items) | Value::Tuple(items), Type::Tuple(elems)) => {
            check_tuple_len(path, elems.len(), items.len())?;
            let out = elements(items.into_iter().zip(elems), path, |(item, t), path| {
                conform(item, t, path)
            })?;
            Ok(Value::Tuple(out))
        }
        (Value::Map(m) | Value::Object(m), Type::Map(elem)) => {
            let mut out = BTreeMap::new();
            for (k, item) in m {
                path.push(PathStep::ElementKeyString(k.clone()));
                out.insert(k, conform(item, elem, path)?);
                path.pop();
            }
            Ok(Value::Map(out))
        }
        (Value::Map(mut m) | Value::Object(mut m), Type::Object(types)) => {
            check_no_extra_attribute(m.keys(), types, path)?;
            let mut out = BTreeMap::new();
            for (name, t) in types {
                path.push(PathStep::Attribute(name.clone()));
                let item = conform(m.remove(name).unwrap_or(Value::Null), t, path)?;
                path.pop();
                out.insert(name.clone(), item);
            }
            Ok(Value::Object(out))
        }
        (v, _) => Err(mismatch(&v, ty, path)),
    }
}

fn conform_all(
    items: Vec<Value>,
    elem: &Type,
    path: &mut Vec<PathStep>,
) -> Result<Vec<Value>, ValueError> {
    elements(items, path, |item, path| conform(item, elem, path))
}

/// Checks that `v` is a value of type `ty` in the shape the codecs produce.
pub(super) fn check(v: &Value, ty: &Type, path: &mut Vec<PathStep>) -> Result<(), ValueError> {
    match (v, ty) {
        (Value::Null | Value::Unknown, _) => Ok(()),
        (Value::Dynamic(t, inner), Type::Dynamic) => check(inner, t, path),
        (Value::Dynamic(t, inner), _) if t == ty => check(inner, ty, path),
        (_, Type::Dynamic) => Ok(()),
        (Value::Bool(_), Type::Bool)
        | (Value::Number(_), Type::Number)
        | (Value::String(_), Type::String) => Ok(()),
        // Container kinds are not checked strictly: the deserializer reads lists, sets and
        // tuples alike, and maps and objects alike.
        (
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
            Type::List(elem) | Type::Set(elem),
        ) => {
            elements(items, path, |item, path| check(item, elem, path))?;
            Ok(())
        }
        (Value::Tuple(items) | Value::List(items), Type::Tuple(elems))
            if items.len() == elems.len() =>
        {
            elements(items.iter().zip(elems), path, |(item, t), path| {
                check(item, t, path)
            })?;
            Ok(())
        }
        (Value::Map(m) | Value::Object(m), Type::Map(elem)) => {
            for (k, item) in m {
                path.push(PathStep::ElementKeyString(k.clone()));
                check(item, elem, path)?;
                path.pop();
            }
            Ok(())
        }
        (Value::Object(attrs) | Value::Map(attrs), Type::Object(types)) => {
            check_no_extra_attribute(attrs.keys(), types, path)?;
            for (name, t) in types {
                path.push(PathStep::Attribute(name.clone()));
                let item = attrs
                    .get(name)
                    .ok_or_else(|| err(path, "missing attribute"))?;
                check(item, t, path)?;
                path.pop();
            }
            Ok(())
        }
        _ => Err(mismatch(v, ty, path)),
    }
}
