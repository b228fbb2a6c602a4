//! msgpack codec for Terraform values (the DynamicValue.msgpack field), as go-cty's cty/msgpack.

mod decode;
mod encode;
mod reader;

pub(crate) use encode::kind;

use super::types::Type;
use super::value::Value;
use super::ValueError;

/// Decodes msgpack `bytes` as a value of type `ty`. Any ext value is an unknown; numbers may be
/// ints, floats or decimal strings; objects must carry exactly the type's attributes.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    decode::decode(bytes, ty)
}

/// Encodes `value` as msgpack for type `ty`: unknown as `d4 00 00`, finite numbers as decimal
/// strings (infinities as float64; see `Encoder::number` for why not ints), strings in NFC, sets sorted and deduplicated, objects with sorted keys.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    encode::encode(value, ty)
}
