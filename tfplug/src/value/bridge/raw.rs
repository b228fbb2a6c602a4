//! serde for `Value` itself, so typed structs can hold a raw value (e.g. a dynamic attribute).
//!
//! Through the value bridge a `Value` passes whole, types and all, handed over on the side
//! (serde has no way to carry a foreign Rust value through a Serializer); other formats see
//! its structure: null, bool, number, string, sequence or map.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{RAW_MARKER, RAW_STR, UNKNOWN_MARKER};
use crate::value::number::Number;
use crate::value::value::Value;

thread_local! {
    /// The value being handed between `Value`'s serde impls and the bridge. Set and taken
    /// within one call on one thread, so nothing else can observe it.
    static HANDOFF: RefCell<Option<Value>> = const { RefCell::new(None) };
}

pub(super) fn give(v: Value) {
    HANDOFF.with(|h| *h.borrow_mut() = Some(v));
}

pub(super) fn take() -> Option<Value> {
    HANDOFF.with(|h| h.borrow_mut().take())
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        give(self.clone());
        let r = s.serialize_newtype_struct(RAW_MARKER, &Structure(self));
        // A serializer that is not the bridge never takes it.
        take();
        r
    }
}

/// A value's structure, for formats other than the bridge.
struct Structure<'a>(&'a Value);

impl Serialize for Structure<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_none(),
            Value::Unknown => s.serialize_newtype_struct(UNKNOWN_MARKER, &()),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(v) => s.serialize_str(v),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Structure(item))?;
                }
                seq.end()
            }
            Value::Map(m) | Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, &Structure(v))?;
                }
                map.end()
            }
            Value::Dynamic(_, inner) => Structure(inner).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_newtype_struct(RAW_MARKER, ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(Number::from(n)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(Number::from(n)))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Number::try_from(n).map(Value::Number).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        if s == RAW_STR {
            if let Some(v) = take() {
                return Ok(v);
            }
        }
        Ok(Value::String(s.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = BTreeMap::new();
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Value::Map(entries));
        };
        // serde_json with `arbitrary_precision` hands a number over as this one-entry map.
        if first == "$serde_json::private::Number" {
            let text: String = map.next_value()?;
            return text.parse().map(Value::Number).map_err(de::Error::custom);
        }
        entries.insert(first, map.next_value::<Value>()?);
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.insert(k, v);
        }
        Ok(Value::Map(entries))
    }
}
