//! Terraform values: every cty value, plus null and unknown, in one tree.

use std::collections::BTreeMap;

use super::number::Number;
use super::path::{AttributePath, PathStep};
use super::types::Type;

/// A Terraform value. Whether it fits a [`Type`] is checked by the codecs and by
/// [`Value::conforms_to`]; the tree itself does not carry its type, except under `Dynamic`.
///
/// Sets are kept sorted and free of duplicates by the codecs and the serde bridge (see
/// [`Value::normalize_set`]), so two equal sets compare equal with `==`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Null,
    /// Not known until apply.
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    /// A value in a slot whose schema type is `Dynamic`, with the concrete type it has. The
    /// inner value may be `Null` or `Unknown` when Terraform sent a typed null or unknown
    /// (`[type, nil]`); a plain `Null` or `Unknown` in a dynamic slot is the untyped one.
    Dynamic(Type, Box<Value>),
}

impl Value {
    /// True for `Null` (and for a dynamic slot holding null).
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Dynamic(_, v) => v.is_null(),
            _ => false,
        }
    }

    /// True for `Unknown` (and for a dynamic slot holding unknown).
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Dynamic(_, v) => v.is_unknown(),
            _ => false,
        }
    }

    /// True when no part of the value is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                items.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
        }
    }

    /// Attribute `name` of an object value.
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(attrs) => attrs.get(name),
            Value::Dynamic(_, v) => v.get_attr(name),
            _ => None,
        }
    }

    /// The part of the value at `p`; `None` when the path leads nowhere (or through a null
    /// or unknown). Integer steps index lists and tuples; for sets they index the sorted order.
    pub fn at_path(&self, p: &AttributePath) -> Option<&Value> {
        let mut current = self;
        for step in &p.0 {
            while let Value::Dynamic(_, inner) = current {
                current = inner;
            }
            current = match (step, current) {
                (PathStep::Attribute(name), Value::Object(attrs)) => attrs.get(name)?,
                (PathStep::ElementKeyString(k), Value::Map(m)) => m.get(k)?,
                (
                    PathStep::ElementKeyInt(i),
                    Value::List(items) | Value::Tuple(items) | Value::Set(items),
                ) => items.get(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dynamic(_, v) => v.as_str(),
            _ => None,
        }
    }

    /// The bool, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Dynamic(_, v) => v.as_bool(),
            _ => None,
        }
    }

    /// The number, if this is a known number.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            Value::Dynamic(_, v) => v.as_number(),
            _ => None,
        }
    }

    /// A set value from any elements: sorted, duplicates removed.
    pub fn set(items: Vec<Value>) -> Value {
        Value::Set(Self::normalize_set(items))
    }

    /// Sorts set elements and drops duplicates, giving each set one canonical element order.
    /// Elements that are not wholly known are never duplicates: as in cty, two unknowns may
    /// turn out different, so a set keeps every one of them.
    pub fn normalize_set(mut items: Vec<Value>) -> Vec<Value> {
        items.sort();
        items.dedup_by(|a, b| a == b && a.is_wholly_known());
        items
    }

    /// An object value from `(name, value)` pairs.
    pub fn object<S: Into<String>>(attrs: impl IntoIterator<Item = (S, Value)>) -> Value {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string value (not yet NFC-normalised; the codecs do that).
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// The type of a known value, as cty would infer it, for storing in a `Dynamic` slot.
    /// Empty collections get element type `Dynamic`; `None` when a null, an unknown or mixed
    /// element types leave the type open.
    pub fn infer_type(&self) -> Option<Type> {
        match self {
            Value::Null | Value::Unknown => None,
            Value::Bool(_) => Some(Type::Bool),
            Value::Number(_) => Some(Type::Number),
            Value::String(_) => Some(Type::String),
            Value::Dynamic(t, _) => Some(t.clone()),
            Value::List(items) => Self::common_type(items).map(Type::list),
            Value::Set(items) => Self::common_type(items).map(Type::set),
            Value::Map(m) => Self::common_type(m.values()).map(Type::map),
            Value::Object(attrs) => attrs
                .iter()
                .map(|(k, v)| v.infer_type().map(|t| (k.clone(), t)))
                .collect::<Option<BTreeMap<_, _>>>()
                .map(Type::Object),
            Value::Tuple(items) => items
                .iter()
                .map(Value::infer_type)
                .collect::<Option<Vec<_>>>()
                .map(Type::Tuple),
        }
    }

    fn common_type<'a>(items: impl IntoIterator<Item = &'a Value>) -> Option<Type> {
        let mut found: Option<Type> = None;
        for item in items {
            let t = item.infer_type()?;
            match &found {
                None => found = Some(t),
                Some(f) if *f == t => {}
                Some(_) => return None,
            }
        }
        Some(found.unwrap_or(Type::Dynamic))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Number(Number::from(n))
    }
}
