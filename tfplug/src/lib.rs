//! tfplug: a Terraform plugin protocol 6 framework.
//!
//! Write a [`Provider`](provider::Provider) with typed [`Resource`](resource::Resource)s and
//! [`DataSource`](data_source::DataSource)s, then call [`serve`] from `main`. tfplug speaks
//! go-plugin (handshake, AutoMTLS, controller, health), tfplugin6, and enforces Terraform's
//! plan and apply rules before answering. See the crate README for a walkthrough.

pub mod context;
pub mod data_source;
pub mod diag;
pub mod log;
pub mod plugin;
pub mod protocol;
pub mod provider;
pub mod resource;
pub mod schema;
mod schema_check;
pub mod server;
pub mod value;

pub use context::Context;
pub use diag::{Diagnostic, Diagnostics};
pub use plugin::{serve, ServeOpts};
pub use value::{AttributePath, Number, PathStep, Type, Val, Value};
