//! csmrun-emulator: an offline fake of the Google Cloud REST APIs csmrun uses (Cloud Run v2, Compute,
//! Network Services, Cloud DNS, Resource Manager), routed and validated by Google's discovery documents.
//!
//! Start one in-process with [`Emulator::start`]; see `emulator/README.md` for the binary, the seed format and
//! the `/_emulator/` control plane, and [`mesh`] for the mesh data plane (a forward proxy that routes calls as the
//! Cloud Service Mesh sidecar would).

pub mod api;
pub mod clock;
pub mod conformance;
pub mod control;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod iam;
pub mod mesh;
pub mod operations;
pub mod origin_guard;
pub mod proto3;
pub mod reqlog;
pub mod router;
pub mod seed;
pub mod server;
pub mod services;
pub mod validate;
pub mod world;

pub use server::{Config, Emulator, RunningEmulator, SeedSource, StartError};
