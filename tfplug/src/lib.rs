//! tfplug: a Terraform plugin protocol 6 framework.

pub mod value;

pub use value::{AttributePath, Number, PathStep, Type, Val, Value};
