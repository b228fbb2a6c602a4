//! `csmrun_service`: the whole mesh service (Cloud Run, NEG, backend service, route, DNS, IAM) as one resource.

pub mod bodies;
pub mod defaults;
pub mod diagnose;
pub mod duration;
pub mod import;
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
pub mod val;
pub mod validate;

#[cfg(test)]
mod validate_table;
