//! go-plugin host side: handshake, AutoMTLS, controller/health/stdio services, `serve`,
//! debug (reattach) mode, and in-memory connections for tests.

mod accept;
pub(crate) mod controller;
pub mod debug;
pub mod handshake;
pub(crate) mod routes;
mod serve;
pub mod testing;
pub mod tls;

pub use routes::MAX_MESSAGE_SIZE;
pub use serve::{serve, ServeError, ServeOpts};
