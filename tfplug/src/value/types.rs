//! Terraform (cty) types and their JSON form, as used in schemas and dynamic values.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

use super::error::ValueError;
use super::path::AttributePath;

/// A cty type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Type {
    Bool,
    Number,
    String,
    /// "Any type": values in such a slot carry their own type on the wire.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(t)`.
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    /// `set(t)`.
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }

    /// `map(t)`.
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// `object({...})` from `(name, type)` pairs.
    pub fn object<S: Into<String>>(attrs: impl IntoIterator<Item = (S, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The compact cty type JSON, e.g. `"string"`, `["list","number"]`, `["object",{"a":"bool"}]`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::new();
        self.write_json(&mut out);
        out.into_bytes()
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Type::Bool => out.push_str("\"bool\""),
            Type::Number => out.push_str("\"number\""),
            Type::String => out.push_str("\"string\""),
            Type::Dynamic => out.push_str("\"dynamic\""),
            Type::List(t) => Self::write_collection(out, "list", t),
            Type::Set(t) => Self::write_collection(out, "set", t),
            Type::Map(t) => Self::write_collection(out, "map", t),
            Type::Object(attrs) => {
                out.push_str("[\"object\",{");
                for (i, (name, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Json::String(name.clone()).to_string());
                    out.push(':');
                    t.write_json(out);
                }
                out.push_str("}]");
            }
            Type::Tuple(elems) => {
                out.push_str("[\"tuple\",[");
                for (i, t) in elems.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    t.write_json(out);
                }
                out.push_str("]]");
            }
        }
    }

    fn write_collection(out: &mut String, kind: &str, elem: &Type) {
        out.push_str("[\"");
        out.push_str(kind);
        out.push_str("\",");
        elem.write_json(out);
        out.push(']');
    }

    /// Parses cty type JSON. The optional third element of `["object",{..},[..]]` (optional
    /// attribute names, a type-constraint feature) is accepted and ignored.
    pub fn from_json(bytes: &[u8]) -> Result<Type, ValueError> {
        let json: Json = serde_json::from_slice(bytes).map_err(|e| {
            ValueError::new(AttributePath::root(), format!("invalid type JSON: {e}"))
        })?;
        Self::from_json_value(&json)
    }

    fn from_json_value(json: &Json) -> Result<Type, ValueError> {
        let bad = |what: &str| {
            ValueError::new(AttributePath::root(), format!("invalid type JSON: {what}"))
        };
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(bad(&format!("unknown primitive type {other:?}"))),
            },
            Json::Array(items) => {
                let kind = items
                    .first()
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("array without a type kind"))?;
                match (kind, items.len()) {
                    ("list", 2) => Ok(Type::list(Self::from_json_value(&items[1])?)),
                    ("set", 2) => Ok(Type::set(Self::from_json_value(&items[1])?)),
                    ("map", 2) => Ok(Type::map(Self::from_json_value(&items[1])?)),
                    ("object", 2 | 3) => {
                        let attrs = items[1]
                            .as_object()
                            .ok_or_else(|| bad("object attributes are not a JSON object"))?;
                        if let Some(optional) = items.get(2) {
                            if !optional.is_array() {
                                return Err(bad("object optional attributes are not an array"));
                            }
                        }
                        let mut out = BTreeMap::new();
                        for (name, t) in attrs {
                            out.insert(name.clone(), Self::from_json_value(t)?);
                        }
                        Ok(Type::Object(out))
                    }
                    ("tuple", 2) => {
                        let elems = items[1]
                            .as_array()
                            .ok_or_else(|| bad("tuple elements are not an array"))?;
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(Self::from_json_value)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    (kind, n) => Err(bad(&format!("{kind:?} with {n} elements"))),
                }
            }
            _ => Err(bad("neither a string nor an array")),
        }
    }

    /// The element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// The type of attribute `name` of an object type.
    pub fn attribute_type(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Object(attrs) => attrs.get(name),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    /// Shows the type JSON, which is also how Terraform prints types in protocol logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write_json(&mut out);
        f.write_str(&out)
    }
}
