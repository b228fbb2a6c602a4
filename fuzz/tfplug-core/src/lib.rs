//! tfplug's value and schema modules from tfplug's source, under the crate name `tfplug`, for the
//! provider's configuration fuzz target (../fuzz_targets/config_validate.rs).
#![allow(dead_code, unused_imports)]

#[path = "../../../tfplug/src/value/mod.rs"]
pub mod value;

#[path = "../../../tfplug/src/schema.rs"]
pub mod schema;

#[path = "../../../tfplug/src/schema_check.rs"]
mod schema_check;

pub use value::{AttributePath, Number, PathStep, Type, Val, Value};
