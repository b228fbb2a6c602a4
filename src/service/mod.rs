//! `csmrun_service`: the whole mesh service (Cloud Run, NEG, backend service, route, DNS, IAM) as one resource.
//!
//! Flow: `resource` (tfplug hooks) → `validate` (plan-time, no network) → `plan` (defaults, derived ids) →
//! `spec` (the resolved desired parts) → `parts` (one Google object each), run by `runner` + `steps` (create
//! graph, journal, rollback), `update` (the journaled update sequence) or the delete sequence in `resource`,
//! failures worded by `outcome`, the waits made before deploying by `waits` (warnings) → `state` (refresh with drift
//! markers) / `import` (discovery). `leftover`: owned parts named only in private state.
//!
//! Choices where PRODUCT.md is silent:
//! - `hostname` must lie under `domain`: the wildcard record this resource manages is what makes it resolvable.
//! - `invokers` accepts `allUsers` and `allAuthenticatedUsers` (Cloud Run does; organisation policy may not).
//! - The container port cannot be one the mesh sidecar uses (15000-15090 family, e.g. 15001, 15020).
//! - A part deleted or changed out of band is shown as its read-only id (`neg`, `backend_service`, `http_route`,
//!   `dns_zone`) becoming `""`; the plan sets it back, which is the in-place update that repairs it.
//! - Project roles csmrun granted are recorded in private state and on the service as the annotation
//!   `csmrun.dev/iam-roles`, so the last service using an account releases them, also after import or a crash.
//! - Refresh drops a resource whose Cloud Run service is gone, except a create whose rollback failed (tainted,
//!   private `unfinished`): its Cloud Run service may be gone while other parts remain, and dropping it would orphan
//!   them; it stays until the destroy or the replacing create removes them.
//!
//! The Google objects are in `parts`, one module each (body, ensure, undo, delete, observe, discover). The design
//! of the two shared parts, how they decide races with other writers, is beside their code: `parts::iam` (who may
//! remove a project role binding) and `parts::dns` (the users registry of the shared zone).

pub mod coalesce;
pub mod defaults;
pub mod destroy;
pub mod diagnose;
pub mod duration;
pub mod explain;
pub mod identity;
pub mod import;
pub mod leftover;
pub mod migrate;
pub mod model;
pub mod names;
pub mod outcome;
pub mod parts;
pub mod path;
pub mod plan;
pub mod resource;
pub mod runner;
pub mod schema;
pub mod shared_reads;
pub mod snapshot;
pub mod spec;
pub mod state;
pub mod steps;
pub mod subset;
pub mod update;
pub mod val;
pub mod validate;
pub mod waits;

#[cfg(test)]
#[path = "dns_registry_tests.rs"]
mod dns_registry_tests;
#[cfg(test)]
#[path = "graph_tests.rs"]
mod graph_tests;
#[cfg(test)]
#[path = "iam_tests.rs"]
mod iam_tests;
#[cfg(test)]
#[path = "identity_tests.rs"]
mod identity_tests;
#[cfg(test)]
#[path = "refresh_tests.rs"]
mod refresh_tests;
#[cfg(test)]
#[path = "rollback_tests.rs"]
mod rollback_tests;
#[cfg(test)]
#[path = "shared_grant_tests.rs"]
mod shared_grant_tests;
#[cfg(test)]
mod testenv;
#[cfg(test)]
#[path = "troubleshooting_tests.rs"]
mod troubleshooting_tests;
#[cfg(test)]
#[path = "update_tests.rs"]
mod update_tests;
#[cfg(test)]
mod validate_table;
