//! The csmrun provider: `csmrun_service` on top of tfplug and the gcp clients.

pub mod config;
pub mod provider;
pub mod service;
