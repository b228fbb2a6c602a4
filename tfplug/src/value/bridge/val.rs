//! `Val<T>`: a typed field that can also be null or unknown, as every Terraform attribute can.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use super::{UNKNOWN_MARKER, UNKNOWN_STR, VAL_MARKER};

/// A field of a typed config, plan or state struct.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Val<T> {
    Known(T),
    #[default]
    Null,
    /// Not known until apply; only the value bridge (`to_value`/`from_value`) carries it.
    Unknown,
}

impl<T> Val<T> {
    pub fn is_known(&self) -> bool {
        matches!(self, Val::Known(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown)
    }

    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }

    /// The known value, if any, by value.
    pub fn into_known(self) -> Option<T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_ref(&self) -> Val<&T> {
        match self {
            Val::Known(t) => Val::Known(t),
            Val::Null => Val::Null,
            Val::Unknown => Val::Unknown,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Val<U> {
        match self {
            Val::Known(t) => Val::Known(f(t)),
            Val::Null => Val::Null,
            Val::Unknown => Val::Unknown,
        }
    }
}

impl<T> From<Option<T>> for Val<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Val::Null, Val::Known)
    }
}

impl<T: Serialize> Serialize for Val<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Known(t) => t.serialize(s),
            Val::Null => s.serialize_none(),
            Val::Unknown => s.serialize_newtype_struct(UNKNOWN_MARKER, &()),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Val<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(VAL_MARKER, ValVisitor(PhantomData))
    }
}

struct ValVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ValVisitor<T> {
    type Value = Val<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value, null or unknown")
    }

    /// Known or null: other formats (serde_json) arrive here too, so null goes through Option.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Ok(Option::<T>::deserialize(d)?.into())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        if s == UNKNOWN_STR {
            Ok(Val::Unknown)
        } else {
            Err(E::invalid_value(de::Unexpected::Str(s), &self))
        }
    }
}
