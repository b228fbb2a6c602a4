//! `csmrun_service`: the whole mesh service (Cloud Run, NEG, backend service, route, DNS, IAM) as one resource.
//!
//! Flow: `resource` (tfplug hooks) → `validate` (plan-time, no network) → `plan` (defaults, derived ids) →
//! `spec` (the resolved desired parts) → `runner` + `steps` (create graph, journal, rollback), `update` (the
//! journaled update sequence) or the delete sequence in `resource` → `state` (refresh with drift markers) / `import` (discovery).
//!
//! Choices where PRODUCT.md is silent:
//! - `hostname` must lie under `domain`: the wildcard record this resource manages is what makes it resolvable.
//! - `invokers` accepts `allUsers` and `allAuthenticatedUsers` (Cloud Run does; organisation policy may not).
//! - The container port cannot be one the mesh sidecar uses (15000-15090 family, e.g. 15001, 15020).
//! - A part deleted or changed out of band is shown as its read-only id (`neg`, `backend_service`, `http_route`,
//!   `dns_zone`) becoming `""`; the plan sets it back, which is the in-place update that repairs it.
//! - Project roles csmrun granted are recorded in private state and on the service as the annotation
//!   `csmrun.dev/iam-roles`, so the last service using an account releases them, also after import or a crash.

pub mod bodies;
pub mod defaults;
pub mod diagnose;
pub mod duration;
pub mod import;
pub mod leftover;
pub mod model;
pub mod names;
pub mod path;
pub mod plan;
pub mod resource;
pub mod runner;
pub mod schema;
pub mod spec;
pub mod state;
pub mod steps;
pub mod subset;
pub mod update;
pub mod val;
pub mod validate;

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod refresh_tests;
#[cfg(test)]
mod testenv;
#[cfg(test)]
#[path = "update_tests.rs"]
mod update_tests;
#[cfg(test)]
mod validate_table;
