//! Terraform values: types, values with null and unknown, numbers, paths, and their codecs
//! (msgpack, state JSON, type JSON) plus a serde bridge to typed structs.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tfplug::value::{from_value, msgpack, to_value, Type, Val, Value};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Service {
//!     name: String,
//!     id: Val<String>, // computed: unknown in the plan
//! }
//!
//! let ty = Type::object([("name", Type::String), ("id", Type::String)]);
//! // {"id": <unknown>, "name": "web"} as Terraform sends it
//! let wire = [0x82, 0xa2, b'i', b'd', 0xd4, 0x00, 0x00, 0xa4, b'n', b'a', b'm', b'e', 0xa3, b'w', b'e', b'b'];
//! let value = msgpack::decode(&wire, &ty)?;
//! let mut svc: Service = from_value(&value, &ty)?;
//! assert!(svc.id.is_unknown());
//! svc.id = Val::Known("projects/p/services/web".into());
//! let state: Value = to_value(&svc, &ty)?;
//! assert!(state.is_wholly_known());
//! let _bytes = msgpack::encode(&state, &ty)?;
//! # Ok::<(), tfplug::value::ValueError>(())
//! ```

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
mod walk;

pub use bridge::{from_value, to_value, Val};
pub use error::ValueError;
pub use number::{Number, ParseNumberError};
pub use path::{AttributePath, PathStep};
pub use types::Type;
pub use value::Value;
