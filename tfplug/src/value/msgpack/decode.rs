//! msgpack bytes to a `Value`, driven by the schema type, as go-cty's cty/msgpack unmarshals.

use std::collections::BTreeMap;

use rmp::Marker;

use super::reader::{describe, is_ext, ReadResult, Reader};
use crate::value::number::Number;
use crate::value::path::{AttributePath, PathStep};
use crate::value::text::nfc;
use crate::value::types::Type;
use crate::value::value::Value;
use crate::value::walk;
use crate::value::ValueError;

/// Deepest nesting accepted. A schema type bounds the depth, except that a dynamic value
/// brings its own type; this keeps hostile input from exhausting the stack.
pub(crate) const MAX_DEPTH: usize = 64;

pub(super) fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let mut d = Decoder {
        r: Reader::new(bytes),
        path: Vec::new(),
        depth: 0,
    };
    let v = d.value(ty)?;
    if d.r.remaining() > 0 {
        return Err(ValueError::new(
            AttributePath::root(),
            format!("{} bytes of msgpack data after the value", d.r.remaining()),
        ));
    }
    Ok(v)
}

struct Decoder<'a> {
    r: Reader<'a>,
    path: Vec<PathStep>,
    /// Counted apart from `path`, which does not grow through dynamic values.
    depth: usize,
}

impl<'a> Decoder<'a> {
    fn err(&self, message: impl Into<String>) -> ValueError {
        walk::err(&self.path, message)
    }

    fn read<T>(
        &mut self,
        f: impl FnOnce(&mut Reader<'a>) -> ReadResult<T>,
    ) -> Result<T, ValueError> {
        let r = f(&mut self.r);
        r.map_err(|m| self.err(m))
    }

    fn value(&mut self, ty: &Type) -> Result<Value, ValueError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let v = self.value_at_depth(ty);
        self.depth -= 1;
        v
    }

    fn value_at_depth(&mut self, ty: &Type) -> Result<Value, ValueError> {
        let marker = self.read(|r| r.read_marker())?;
        if marker == Marker::Null {
            return Ok(Value::Null);
        }
        if is_ext(marker) {
            // Any ext is an unknown: ext 0 from cty, ext 12 with refinements from TF >= 1.6.
            self.read(|r| r.skip_ext(marker))?;
            return Ok(Value::Unknown);
        }
        match ty {
            Type::Bool => match marker {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                other => Err(self.mismatch("a bool", other)),
            },
            Type::Number => self.number(marker).map(Value::Number),
            Type::String => {
                let s = self.string(marker)?;
                Ok(Value::String(s))
            }
            Type::List(elem) => Ok(Value::List(self.sequence(marker, elem)?)),
            Type::Set(elem) => Ok(Value::set(self.sequence(marker, elem)?)),
            Type::Tuple(elems) => self.tuple(marker, elems),
            Type::Map(elem) => self.map(marker, elem),
            Type::Object(attrs) => self.object(marker, attrs),
            Type::Dynamic => self.dynamic(marker),
        }
    }

    fn mismatch(&self, expected: &str, found: Marker) -> ValueError {
        self.err(format!("expected {expected}, found {}", describe(found)))
    }

    fn number(&mut self, marker: Marker) -> Result<Number, ValueError> {
        let n = match marker {
            Marker::FixPos(n) => Number::from(u64::from(n)),
            Marker::FixNeg(n) => Number::from(i64::from(n)),
            Marker::U8 => Number::from(u64::from(self.read(|r| r.u8())?)),
            Marker::U16 => Number::from(u64::from(self.read(|r| r.u16())?)),
            Marker::U32 => Number::from(u64::from(self.read(|r| r.u32())?)),
            Marker::U64 => Number::from(self.read(|r| r.u64())?),
            Marker::I8 => Number::from(i64::from(self.read(|r| r.u8())? as i8)),
            Marker::I16 => Number::from(i64::from(self.read(|r| r.u16())? as i16)),
            Marker::I32 => Number::from(i64::from(self.read(|r| r.u32())? as i32)),
            Marker::I64 => Number::from(self.read(|r| r.u64())? as i64),
            Marker::F32 => {
                let f = f32::from_bits(self.read(|r| r.u32())?);
                Number::try_from(f).map_err(|e| self.err(e.to_string()))?
            }
            Marker::F64 => {
                let f = f64::from_bits(self.read(|r| r.u64())?);
                Number::try_from(f).map_err(|e| self.err(e.to_string()))?
            }
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                // cty writes numbers that are neither an int64 nor an exact float64 as decimal strings.
                let bytes = self.read(|r| r.str_or_bin(marker))?;
                let s = std::str::from_utf8(bytes)
                    .map_err(|_| self.err("number string is not UTF-8"))?;
                s.parse::<Number>().map_err(|e| self.err(e.to_string()))?
            }
            other => return Err(self.mismatch("a number", other)),
        };
        Ok(n)
    }

    fn string(&mut self, marker: Marker) -> Result<String, ValueError> {
        let bytes = self
            .r
            .str_or_bin(marker)
            .map_err(|_| self.mismatch("a string", marker))?;
        let s = std::str::from_utf8(bytes).map_err(|_| self.err("string is not valid UTF-8"))?;
        Ok(nfc(s))
    }

    fn sequence(&mut self, marker: Marker, elem: &Type) -> Result<Vec<Value>, ValueError> {
        let len = self
            .r
            .array_len(marker)
            .map_err(|_| self.mismatch("an array", marker))?;
        // No with_capacity: `len` is untrusted; every element costs at least one input byte.
        let mut items = Vec::new();
        for i in 0..len {
            self.path.push(PathStep::ElementKeyInt(i as i64));
            let v = self.value(elem)?;
            self.path.pop();
            items.push(v);
        }
        Ok(items)
    }

    fn tuple(&mut self, marker: Marker, elems: &[Type]) -> Result<Value, ValueError> {
        let len = self
            .r
            .array_len(marker)
            .map_err(|_| self.mismatch("an array", marker))?;
        walk::check_tuple_len(&self.path, elems.len(), len)?;
        let mut items = Vec::new();
        for (i, t) in elems.iter().enumerate() {
            self.path.push(PathStep::ElementKeyInt(i as i64));
            let v = self.value(t)?;
            self.path.pop();
            items.push(v);
        }
        Ok(Value::Tuple(items))
    }

    fn key(&mut self) -> Result<String, ValueError> {
        let marker = self.read(|r| r.read_marker())?;
        let bytes = self
            .r
            .str_or_bin(marker)
            .map_err(|_| self.mismatch("a string map key", marker))?;
        let s = std::str::from_utf8(bytes).map_err(|_| self.err("map key is not valid UTF-8"))?;
        Ok(nfc(s))
    }

    fn map(&mut self, marker: Marker, elem: &Type) -> Result<Value, ValueError> {
        let len = self
            .r
            .map_len(marker)
            .map_err(|_| self.mismatch("a map", marker))?;
        let mut out = BTreeMap::new();
        for _ in 0..len {
            let k = self.key()?;
            self.path.push(PathStep::ElementKeyString(k.clone()));
            let v = self.value(elem)?;
            self.path.pop();
            out.insert(k, v);
        }
        Ok(Value::Map(out))
    }

    fn object(
        &mut self,
        marker: Marker,
        attrs: &BTreeMap<String, Type>,
    ) -> Result<Value, ValueError> {
        let len = self
            .r
            .map_len(marker)
            .map_err(|_| self.mismatch("an object (a map)", marker))?;
        let mut out = BTreeMap::new();
        for _ in 0..len {
            let k = self.key()?;
            self.path.push(PathStep::Attribute(k.clone()));
            let Some(t) = attrs.get(&k) else {
                return Err(self.err(format!(
                    "unexpected attribute (an object with {} attributes is required)",
                    attrs.len()
                )));
            };
            if out.contains_key(&k) {
                return Err(self.err("attribute given twice"));
            }
            let v = self.value(t)?;
            self.path.pop();
            out.insert(k, v);
        }
        if let Some(missing) = attrs.keys().find(|k| !out.contains_key(*k)) {
            self.path.push(PathStep::Attribute(missing.clone()));
            return Err(self.err(format!(
                "missing attribute (an object with {} attributes is required)",
                attrs.len()
            )));
        }
        Ok(Value::Object(out))
    }

    fn dynamic(&mut self, marker: Marker) -> Result<Value, ValueError> {
        let len = self
            .r
            .array_len(marker)
            .map_err(|_| self.mismatch("a dynamic value ([type, value])", marker))?;
        if len != 2 {
            return Err(self.err(format!(
                "a dynamic value is a 2-element array, found {len} elements"
            )));
        }
        let type_marker = self.read(|r| r.read_marker())?;
        let type_json = self
            .r
            .str_or_bin(type_marker)
            .map_err(|_| self.mismatch("type JSON (bin)", type_marker))?;
        let ty = Type::from_json(type_json).map_err(|e| self.err(e.message().to_string()))?;
        // A typed null or unknown keeps its type: Terraform compares types as well as values,
        // so [type, nil] must go back as [type, nil], not as a bare nil.
        let v = self.value(&ty)?;
        Ok(Value::Dynamic(ty, Box::new(v)))
    }
}
