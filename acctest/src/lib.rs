//! Acceptance-test harness: real terraform, the provider and csmrun-emulator.
//!
//! [`terraform`] is the generic real-Terraform runner (no provider knowledge); provider
//! acceptance tests and tfplug's lifecycle tests both build on it. The rest is csmrun's:
//! [`stack::Stack`] gives each test its own seeded emulator and a work dir pointed at it,
//! [`hcl`] writes configuration, [`consistency`] checks that the emulator holds exactly what
//! Terraform's state says exists, [`requests`] reads the request log.

pub mod bench;
pub mod campaign;
pub mod consistency;
pub mod emulator;
pub mod hcl;
pub mod process;
pub mod requests;
pub mod seed;
pub mod stack;
/// The generic runner lives in its own crate (`tftest`) so tfplug's tests need no emulator.
pub use tftest as terraform;
