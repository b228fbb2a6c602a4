//! Smoke test: the bench code runs end to end on one service (no timing limits asserted).

use super::env::provider_dir;
use super::scenarios::{self, Options};

fn options() -> Options {
    Options {
        time_scale: 0.02,
        repeats: 1,
        scales: vec![1],
        fault_services: 0,
        footprint_starts: 0,
        ..Options::default()
    }
}

#[test]
fn one_service_is_created_refreshed_and_counted() {
    let dir = provider_dir().expect("provider binary (scripts/test builds it)");
    let s = scenarios::scale(&options(), &dir, 1).expect("scale run");
    assert!(s.apply_ok, "apply failed");
    assert_eq!(s.services_in_state, 1);
    assert_eq!(
        s.refresh_plan_exit,
        Some(0),
        "the plan after apply is not empty"
    );
    assert_eq!(
        s.project_iam_writes, 1,
        "one new grant, one read-modify-write"
    );
    assert!(s.refresh_calls.reads > 0 && s.refresh_calls.writes == 0);
    assert!(
        s.apply_calls.writes >= 6,
        "every part is created: {:?}",
        s.apply_calls
    );
}

#[test]
fn the_critical_path_bound_is_below_the_measured_create_and_the_anchor_chain_replays_every_part() {
    let dir = provider_dir().expect("provider binary (scripts/test builds it)");
    let e = scenarios::efficiency(&options(), &dir, false).expect("efficiency run");
    // A bound above the measurement would mean the emulator's durations are shorter than graph.rs says.
    assert!(
        e.bound_seconds <= e.provider_work_seconds.median,
        "bound {} s above the measured {} s",
        e.bound_seconds,
        e.provider_work_seconds.median
    );
    assert_eq!(e.anchor_parts.len(), 8);
    assert!(e.anchor_bound_seconds <= e.anchor_seconds.median);
}
