//! A serde `Deserializer` over a borrowed `Value`, which names the path in every error.

use std::collections::{btree_map, BTreeMap};

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::{raw, NUMBER_MARKER, RAW_MARKER, RAW_STR, UNKNOWN_STR, VAL_MARKER};
use crate::value::path::{AttributePath, PathStep};
use crate::value::value::Value;
use crate::value::ValueError;

/// The entries of a null map, borrowed for as long as any deserializer needs them.
static EMPTY: BTreeMap<String, Value> = BTreeMap::new();

pub(super) struct ValueDeserializer<'a> {
    v: &'a Value,
    /// `v` before unwrapping `Dynamic`, for `Value` fields, which keep the type.
    original: &'a Value,
    path: AttributePath,
}

impl<'a> ValueDeserializer<'a> {
    pub(super) fn new(v: &'a Value, path: AttributePath) -> Self {
        // A dynamic slot's value deserializes as the value it holds.
        let original = v;
        let mut v = v;
        while let Value::Dynamic(_, inner) = v {
            v = inner;
        }
        ValueDeserializer { v, original, path }
    }

    fn fail(&self, message: impl Into<String>) -> ValueError {
        ValueError::new(self.path.clone(), message)
    }

    fn unknown(&self) -> ValueError {
        self.fail("value is unknown (not known until apply); use Val<T> for this field")
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let path = self.path.clone();
        let r = match self.v {
            Value::Null => visitor.visit_unit(),
            Value::Unknown => return Err(self.unknown()),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.to_i64() {
                    visitor.visit_i64(i)
                } else if let Some(u) = n.to_u64() {
                    visitor.visit_u64(u)
                } else if let Some(f) = n.exact_f64() {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_string(n.to_string())
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                visitor.visit_seq(SeqAccess {
                    items: items.iter().enumerate(),
                    path: &path,
                })
            }
            Value::Map(m) => visitor.visit_map(MapAccess {
                entries: m.iter(),
                pending: None,
                path: &path,
                attrs: false,
            }),
            Value::Object(m) => visitor.visit_map(MapAccess {
                entries: m.iter(),
                pending: None,
                path: &path,
                attrs: true,
            }),
            Value::Dynamic(_, inner) => {
                ValueDeserializer::new(inner, path.clone()).deserialize_any(visitor)
            }
        };
        r.map_err(|e| e.locate(&path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let path = self.path.clone();
        match self.v {
            Value::Null => visitor.visit_none(),
            Value::Unknown => Err(self.unknown()),
            _ => visitor.visit_some(self),
        }
        .map_err(|e| e.locate(&path))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let path = self.path.clone();
        match (name, self.v) {
            (VAL_MARKER, Value::Unknown) => visitor.visit_borrowed_str(UNKNOWN_STR),
            (VAL_MARKER, Value::Null) => visitor.visit_none(),
            (NUMBER_MARKER, Value::Number(n)) => visitor.visit_string(n.to_string()),
            (RAW_MARKER, _) => {
                raw::give(self.original.clone());
                let r = visitor.visit_borrowed_str(RAW_STR);
                raw::take();
                r
            }
            _ => visitor.visit_newtype_struct(self),
        }
        .map_err(|e| e.locate(&path))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.v {
            // An f64 field takes the nearest float; a Number field keeps every digit.
            Value::Number(n) => visitor
                .visit_f64(n.to_f64())
                .map_err(|e: ValueError| e.locate(&self.path)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let path = self.path.clone();
        match self.v {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Object(m) | Value::Map(m) if m.len() == 1 => {
                let Some((variant, content)) = m.iter().next() else {
                    return Err(self.fail("expected an enum variant"));
                };
                let path = path.clone().attr(variant);
                visitor.visit_enum(EnumAccess {
                    variant,
                    content,
                    path,
                })
            }
            Value::Unknown => Err(self.unknown()),
            _ => Err(self.fail("expected a string or a single-attribute object (an enum variant)")),
        }
        .map_err(|e| e.locate(&path))
    }

    /// A null list, set or map reads as an empty `Vec` or map: a plain collection field cannot
    /// hold null (use `Option` or `Val` where the difference matters), and list and set blocks
    /// missing from older state decode as null.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.v {
            Value::Null => {
                let path = self.path.clone();
                visitor
                    .visit_seq(SeqAccess {
                        items: std::iter::empty(),
                        path: &path,
                    })
                    .map_err(|e| e.locate(&path))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.v {
            Value::Null => {
                let path = self.path.clone();
                visitor
                    .visit_map(MapAccess {
                        entries: EMPTY.iter(),
                        pending: None,
                        path: &path,
                        attrs: false,
                    })
                    .map_err(|e| e.locate(&path))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        // Ignored attributes may be unknown; that is no error.
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string bytes byte_buf unit
        unit_struct tuple tuple_struct struct identifier
    }
}

struct SeqAccess<'a, I> {
    items: I,
    path: &'a AttributePath,
}

impl<'de, I: Iterator<Item = (usize, &'de Value)>> de::SeqAccess<'de> for SeqAccess<'_, I> {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        match self.items.next() {
            Some((i, v)) => seed
                .deserialize(ValueDeserializer::new(v, self.path.clone().index(i as i64)))
                .map(Some),
            None => Ok(None),
        }
    }
}

struct MapAccess<'a, 'de> {
    entries: btree_map::Iter<'de, String, Value>,
    pending: Option<(&'de String, &'de Value)>,
    path: &'a AttributePath,
    /// Object attributes get `.name` path steps, map elements `["key"]`.
    attrs: bool,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.pending = Some((k, v));
                seed.deserialize(BorrowedStrDeserializer::new(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        let (k, v) = self
            .pending
            .take()
            .ok_or_else(|| ValueError::new(self.path.clone(), "map value without a key"))?;
        let step = if self.attrs {
            PathStep::Attribute(k.clone())
        } else {
            PathStep::ElementKeyString(k.clone())
        };
        seed.deserialize(ValueDeserializer::new(v, self.path.clone().push(step)))
    }
}

struct EnumAccess<'de> {
    variant: &'de str,
    content: &'de Value,
    path: AttributePath,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'de> {
    type Error = ValueError;
    type Variant = ValueDeserializer<'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), ValueError> {
        let variant = seed.deserialize(BorrowedStrDeserializer::<ValueError>::new(self.variant))?;
        Ok((variant, ValueDeserializer::new(self.content, self.path)))
    }
}

impl<'de> de::VariantAccess<'de> for ValueDeserializer<'de> {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}
