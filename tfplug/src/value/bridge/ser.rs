//! A serde `Serializer` that builds an untyped `Value` (conformed to a type afterwards).

use std::collections::BTreeMap;

use serde::ser::{self, Serialize};

use super::{raw, NUMBER_MARKER, RAW_MARKER, UNKNOWN_MARKER};
use crate::value::number::{Number, ParseNumberError};
use crate::value::path::PathStep;
use crate::value::text::nfc;
use crate::value::value::Value;
use crate::value::ValueError;

/// Structs become objects, sequences lists, maps maps (string keys only), unit enum variants
/// strings, other enum variants `{variant: content}` as serde_json does.
pub(super) struct ValueSerializer;

/// A number as a value, or why there is none (a NaN, or text that is not a decimal).
fn number(n: Result<Number, ParseNumberError>) -> Result<Value, ValueError> {
    n.map(Value::Number)
        .map_err(|e| ValueError::unlocated(e.to_string()))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantBuilder<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = StructBuilder;
    type SerializeStructVariant = VariantBuilder<StructBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        Ok(Value::Number(Number::from(v)))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, ValueError> {
        number(v.to_string().parse())
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        Ok(Value::Number(Number::from(v)))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        number(v.to_string().parse())
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        number(Number::try_from(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(nfc(v.encode_utf8(&mut [0; 4]))))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(nfc(v)))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Value, ValueError> {
        Err(ValueError::unlocated(
            "byte strings have no Terraform type; use a String (e.g. base64)",
        ))
    }
    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        match name {
            UNKNOWN_MARKER => Ok(Value::Unknown),
            RAW_MARKER => match raw::take() {
                Some(whole) => Ok(whole),
                None => v.serialize(self),
            },
            NUMBER_MARKER => match v.serialize(self)? {
                Value::String(s) => number(s.parse()),
                other => Ok(other),
            },
            _ => v.serialize(self),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        let inner = v
            .serialize(ValueSerializer)
            .map_err(|e| e.under(PathStep::Attribute(variant.to_string())))?;
        Ok(wrap_variant(variant, inner))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder(Vec::new()))
    }
    fn serialize_tuple(self, _len: usize) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder(Vec::new()))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder(Vec::new()))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantBuilder<SeqBuilder>, ValueError> {
        Ok(VariantBuilder {
            variant,
            inner: SeqBuilder(Vec::new()),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, ValueError> {
        Ok(MapBuilder {
            entries: BTreeMap::new(),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<StructBuilder, ValueError> {
        Ok(StructBuilder(BTreeMap::new()))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantBuilder<StructBuilder>, ValueError> {
        Ok(VariantBuilder {
            variant,
            inner: StructBuilder(BTreeMap::new()),
        })
    }
}

pub(super) struct SeqBuilder(Vec<Value>);

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let i = self.0.len() as i64;
        self.0.push(
            v.serialize(ValueSerializer)
                .map_err(|e| e.under(PathStep::ElementKeyInt(i)))?,
        );
        Ok(())
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::List(self.0))
    }
}

pub(super) struct MapBuilder {
    entries: BTreeMap<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ValueError> {
        match k.serialize(ValueSerializer)? {
            Value::String(s) => {
                self.key = Some(s);
                Ok(())
            }
            _ => Err(ValueError::unlocated("map keys must be strings")),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ValueError::unlocated("map value without a key"))?;
        let value = v
            .serialize(ValueSerializer)
            .map_err(|e| e.under(PathStep::ElementKeyString(key.clone())))?;
        self.entries.insert(key, value);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Map(self.entries))
    }
}

pub(super) struct StructBuilder(BTreeMap<String, Value>);

impl StructBuilder {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), ValueError> {
        let value = v
            .serialize(ValueSerializer)
            .map_err(|e| e.under(PathStep::Attribute(key.to_string())))?;
        self.0.insert(key.to_string(), value);
        Ok(())
    }
}

impl ser::SerializeStruct for StructBuilder {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        self.field(key, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.0))
    }
}

/// An enum variant with content: `{variant: content}`.
pub(super) struct VariantBuilder<B> {
    variant: &'static str,
    inner: B,
}

/// `{variant: content}`, as serde_json writes an enum variant with content.
fn wrap_variant(variant: &str, inner: Value) -> Value {
    Value::Object(BTreeMap::from([(variant.to_string(), inner)]))
}

impl ser::SerializeTupleVariant for VariantBuilder<SeqBuilder> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let variant = self.variant;
        self.inner
            .push(v)
            .map_err(|e| e.under(PathStep::Attribute(variant.to_string())))
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(wrap_variant(self.variant, Value::List(self.inner.0)))
    }
}

impl ser::SerializeStructVariant for VariantBuilder<StructBuilder> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        let variant = self.variant;
        self.inner
            .field(key, v)
            .map_err(|e| e.under(PathStep::Attribute(variant.to_string())))
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(wrap_variant(self.variant, Value::Object(self.inner.0)))
    }
}
