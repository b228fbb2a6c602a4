//! Google Cloud REST clients for csmrun; knows nothing of Terraform.
//!
//! One [`Clients`] value holds the transport (auth, endpoints, retry) and hands out one client per API:
//!
//! ```no_run
//! # async fn sample() -> Result<(), gcp::Error> {
//! let clients = gcp::Clients::new(gcp::Settings::default())?;
//! let svc = clients.run().get_service("projects/p/locations/r/services/s").await?;
//! # let _ = svc; Ok(()) }
//! ```
//!
//! Every call returns [`Error`] on failure: ask it questions (`is_not_found`, `is_conflict`, ...) instead of matching.

pub mod api;
pub mod auth;
pub mod clients;
pub mod compute;
pub mod credentials_file;
pub mod dns;
pub mod endpoints;
pub mod error;
pub mod iam;
pub mod lro;
pub mod network_services;
pub mod path;
pub mod resource_manager;
pub mod retry;
pub mod run;
pub mod transport;

mod body;
mod page;
mod wire;

pub use api::Api;
pub use auth::{Auth, Token};
pub use clients::{Clients, Settings};
pub use endpoints::{CustomEndpoints, Endpoints, EMULATOR_HOST_ENV};
pub use error::Error;
pub use iam::Policy;
pub use retry::{Backoff, RetryPolicy, Sleep};
pub use transport::Transport;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
