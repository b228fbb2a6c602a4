//! The serde bridge: typed Rust structs to and from `Value`, with `Val<T>` for fields that may be unknown.

mod conform;
mod de;
mod number_serde;
mod raw;
mod ser;
mod val;

pub use val::Val;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::path::AttributePath;
use super::types::Type;
use super::value::Value;
use super::ValueError;

/// Newtype-struct name `Val::Unknown` serializes as; `ValueSerializer` turns it into
/// `Value::Unknown`, other serializers see a unit.
pub(crate) const UNKNOWN_MARKER: &str = "$tfplug::value::Unknown";
/// Newtype-struct name `Val<T>` deserializes through, so the deserializer can hand it the
/// three states (known, null, unknown).
pub(crate) const VAL_MARKER: &str = "$tfplug::value::Val";
/// The string `ValueDeserializer` visits a `Val` with when the value is unknown.
pub(crate) const UNKNOWN_STR: &str = "$tfplug::value::Unknown";
/// Newtype-struct name `Value`'s own serde impls go through; the bridge then hands the value
/// over whole (see `raw`).
pub(crate) const RAW_MARKER: &str = "$tfplug::value::Raw";
/// The string `ValueDeserializer` visits a `Value` field with after handing the value over.
pub(crate) const RAW_STR: &str = "$tfplug::value::Raw";
/// Newtype-struct name a `Number` too large for i64/u64/f64 serializes through, as a decimal
/// string.
pub(crate) const NUMBER_MARKER: &str = "$tfplug::value::Number";

/// Serializes `t` and makes the result conform to `ty`: object attributes `t` lacks become
/// null, sequences become lists, sets or tuples as `ty` says, numbers become `Number`, known
/// values in dynamic slots get their inferred type. Errors name the attribute path.
pub fn to_value<T: Serialize + ?Sized>(t: &T, ty: &Type) -> Result<Value, ValueError> {
    let raw = t.serialize(ser::ValueSerializer)?;
    let mut path = Vec::new();
    conform::conform(raw, ty, &mut path)
}

/// Deserializes a `T` from `v`, which must fit `ty`. Unknown values deserialize only into
/// `Val::Unknown`; anywhere else they are an error naming the path.
pub fn from_value<T: DeserializeOwned>(v: &Value, ty: &Type) -> Result<T, ValueError> {
    let mut path = Vec::new();
    conform::check(v, ty, &mut path)?;
    T::deserialize(de::ValueDeserializer::new(v, AttributePath::root()))
}
