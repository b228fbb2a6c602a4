//! Terraform values: types, values with null and unknown, numbers, paths, and their codecs
//! (msgpack, state JSON, type JSON) plus a serde bridge to typed structs.

mod bridge;
mod error;
pub mod json;
pub mod msgpack;
mod number;
mod path;
mod text;
mod types;
#[allow(clippy::module_inception)]
mod value;

pub use bridge::{from_value, to_value, Val};
pub use error::ValueError;
pub use number::{Number, ParseNumberError};
pub use path::{AttributePath, PathStep};
pub use types::Type;
pub use value::Value;
