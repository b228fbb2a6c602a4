//! Acceptance-test harness: real terraform, the provider and csmrun-emulator.
//!
//! [`terraform`] is the generic real-Terraform runner (no provider knowledge); provider
//! acceptance tests and tfplug's lifecycle tests both build on it.

pub mod terraform;
