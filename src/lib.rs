//! The csmrun provider: `csmrun_service` and `csmrun_mesh` on top of tfplug and the gcp clients.

pub mod config;
pub mod mesh;
pub mod provider;
pub mod service;
