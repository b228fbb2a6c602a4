//! The tfplugin6 edge: the only module that touches generated protobuf types. It converts
//! wire messages to framework types and back, and nothing else.

pub(crate) mod convert;
pub(crate) mod generated;
pub(crate) mod service;

pub use service::ProviderService;

/// The raw generated wire types and clients, for tests and tools that play Terraform's part.
/// Provider code never needs them.
pub mod wire {
    pub use super::generated::plugin;
    pub use super::generated::tfplugin6;
}
