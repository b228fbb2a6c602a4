//! A `Value` to msgpack bytes for a schema type, in the forms go-cty's cty/msgpack writes.

use std::collections::BTreeMap;

use rmp::encode as w;

use crate::value::number::Number;
use crate::value::path::{AttributePath, PathStep};
use crate::value::text::nfc;
use crate::value::types::Type;
use crate::value::value::Value;
use crate::value::walk;
use crate::value::ValueError;

use super::decode::MAX_DEPTH;

pub(super) fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut e = Encoder {
        out: Vec::new(),
        path: Vec::new(),
    };
    e.value(value, ty)?;
    Ok(e.out)
}

struct Encoder {
    out: Vec<u8>,
    path: Vec<PathStep>,
}

/// Writing into a `Vec` cannot fail; this keeps the signature honest without an unwrap.
fn io<E: std::fmt::Display>(e: E) -> ValueError {
    ValueError::new(AttributePath::root(), format!("msgpack write failed: {e}"))
}

impl Encoder {
    fn err(&self, message: impl Into<String>) -> ValueError {
        walk::err(&self.path, message)
    }

    fn mismatch(&self, value: &Value, ty: &Type) -> ValueError {
        self.err(format!("a {} value does not fit type {ty}", kind(value)))
    }

    fn value(&mut self, value: &Value, ty: &Type) -> Result<(), ValueError> {
        if self.path.len() > MAX_DEPTH * 4 {
            return Err(self.err("value nested too deeply"));
        }
        match (value, ty) {
            (Value::Null, _) => w::write_nil(&mut self.out).map_err(io),
            // cty's own unknown: fixext1, type 0, payload 0. Refinements are never sent.
            (Value::Unknown, _) => {
                w::write_ext_meta(&mut self.out, 1, 0).map_err(io)?;
                self.out.push(0);
                Ok(())
            }
            (Value::Dynamic(t, inner), Type::Dynamic) => self.dynamic(inner, t),
            (Value::Dynamic(t, inner), _) if t == ty => self.value(inner, ty),
            (known, Type::Dynamic) => {
                let t = known
                    .infer_type()
                    .ok_or_else(|| self.err("cannot tell the type of this value for a dynamic attribute; use Value::Dynamic"))?;
                self.dynamic(known, &t)
            }
            (Value::Bool(b), Type::Bool) => w::write_bool(&mut self.out, *b).map_err(io),
            (Value::Number(n), Type::Number) => self.number(n),
            (Value::String(s), Type::String) => w::write_str(&mut self.out, &nfc(s)).map_err(io),
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::List(elem)) => {
                self.sequence(items, elem)
            }
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Set(elem)) => {
                let normalized = Value::normalize_set(items.clone());
                self.sequence(&normalized, elem)
            }
            (Value::List(items) | Value::Tuple(items), Type::Tuple(elems)) => {
                self.tuple(items, elems)
            }
            (Value::Map(m) | Value::Object(m), Type::Map(elem)) => self.map(m, elem),
            (Value::Object(attrs), Type::Object(types)) => self.object(attrs, types),
            (other, _) => Err(self.mismatch(other, ty)),
        }
    }

    /// Finite numbers as decimal strings (Go's `Text('f', -1)` layout), which cty decodes with
    /// `ParseNumberVal`, exactly as Terraform decodes numbers in state JSON. go-cty itself would
    /// write an int or float64 where exact, but Terraform decodes those into a different
    /// `big.Float` representation (64 or 53 bits of precision instead of 512) of the same value.
    /// A refresh-only plan is "applyable" (exit 2 under `-detailed-exitcode`) when the prior and
    /// the refreshed state differ by `reflect.DeepEqual` (`states.ManagedResourcesEqual`, since
    /// Terraform 1.8), and since 1.10 the state objects it compares carry their decoded values: the prior
    /// one parsed from JSON, the refreshed one from our ReadResource answer. With ints, every
    /// resource with a number attribute made it exit 2 while it printed "No changes".
    /// Infinities have no decimal form and stay float64, as go-cty writes them.
    fn number(&mut self, n: &Number) -> Result<(), ValueError> {
        if n.is_infinite() {
            w::write_f64(&mut self.out, n.to_f64()).map_err(io)
        } else {
            w::write_str(&mut self.out, &n.to_string()).map_err(io)
        }
    }

    fn sequence(&mut self, items: &[Value], elem: &Type) -> Result<(), ValueError> {
        let n = len32(items.len(), self)?;
        w::write_array_len(&mut self.out, n).map_err(io)?;
        for (i, item) in items.iter().enumerate() {
            self.path.push(PathStep::ElementKeyInt(i as i64));
            self.value(item, elem)?;
            self.path.pop();
        }
        Ok(())
    }

    fn tuple(&mut self, items: &[Value], elems: &[Type]) -> Result<(), ValueError> {
        walk::check_tuple_len(&self.path, elems.len(), items.len())?;
        let n = len32(items.len(), self)?;
        w::write_array_len(&mut self.out, n).map_err(io)?;
        for (i, (item, t)) in items.iter().zip(elems).enumerate() {
            self.path.push(PathStep::ElementKeyInt(i as i64));
            self.value(item, t)?;
            self.path.pop();
        }
        Ok(())
    }

    fn map(&mut self, m: &BTreeMap<String, Value>, elem: &Type) -> Result<(), ValueError> {
        let n = len32(m.len(), self)?;
        w::write_map_len(&mut self.out, n).map_err(io)?;
        for (k, v) in m {
            w::write_str(&mut self.out, &nfc(k)).map_err(io)?;
            self.path.push(PathStep::ElementKeyString(k.clone()));
            self.value(v, elem)?;
            self.path.pop();
        }
        Ok(())
    }

    fn object(
        &mut self,
        attrs: &BTreeMap<String, Value>,
        types: &BTreeMap<String, Type>,
    ) -> Result<(), ValueError> {
        walk::check_no_extra_attribute(attrs.keys(), types, &mut self.path)?;
        if let Some(missing) = types.keys().find(|k| !attrs.contains_key(*k)) {
            self.path.push(PathStep::Attribute(missing.clone()));
            return Err(self.err(
                "missing attribute: every attribute of the type needs a value (null if unset)",
            ));
        }
        let n = len32(types.len(), self)?;
        w::write_map_len(&mut self.out, n).map_err(io)?;
        // Both maps are sorted by name, the order cty writes attributes in.
        for ((name, v), t) in attrs.iter().zip(types.values()) {
            w::write_str(&mut self.out, name).map_err(io)?;
            self.path.push(PathStep::Attribute(name.clone()));
            self.value(v, t)?;
            self.path.pop();
        }
        Ok(())
    }

    fn dynamic(&mut self, inner: &Value, t: &Type) -> Result<(), ValueError> {
        w::write_array_len(&mut self.out, 2).map_err(io)?;
        w::write_bin(&mut self.out, &t.to_json()).map_err(io)?;
        self.value(inner, t)
    }
}

fn len32(n: usize, e: &Encoder) -> Result<u32, ValueError> {
    u32::try_from(n).map_err(|_| e.err("more than 2^32-1 elements"))
}

/// The kind of a value in words, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unknown => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Tuple(_) => "tuple",
        Value::Dynamic(..) => "dynamic",
    }
}
