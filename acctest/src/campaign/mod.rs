//! The reliability campaign: crash the provider at every step, soak it in injected faults, and check after
//! each run that nothing was orphaned, no shared part was lost and Terraform's state equals the emulator's.
//!
//! [`methods`] names each logged API call by its discovery method id (what fault rules match on),
//! [`invariants`] are the checks, [`crash`] kills the provider at a chosen call and [`sweep`] does so at every
//! step, [`configs`] and [`faults`] draw random configurations and fault profiles for [`soak`],
//! [`concurrent`] runs many directories at once and [`contention`] measures their conflicts, [`hostile`] is a misbehaving API server, [`env`] finds the
//! provider binary, and [`tally`] counts what happened for `RELIABILITY.md`. `csmrun-campaign` (src/bin) and
//! `tests/reliability_*.rs` drive them.

pub mod concurrent;
pub mod configs;
pub mod contention;
pub mod crash;
pub mod env;
pub mod faults;
pub mod hostile;
pub mod invariants;
pub mod methods;
pub mod soak;
pub mod sweep;
pub mod tally;
