//! `csmrun-bench`: real terraform against csmrun-emulator, time-scaled; figures as a table and JSON.
//!
//! [`scenarios`] runs the four measurements of issue 7 (orchestration efficiency, scale, footprint,
//! faults) over [`env::Bench`] worlds; [`graph`] computes the critical-path bound they are judged by;
//! [`anchor`] replays the same unit as the anchors' sequential chain; [`report`] prints and saves.

pub mod anchor;
pub mod calls;
pub mod env;
pub mod footprint;
pub mod graph;
pub mod report;
pub mod rss;
pub mod scenarios;
pub mod schema_cache;
pub mod stats;
pub mod world;

#[cfg(test)]
mod smoke;
