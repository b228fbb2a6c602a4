//! Fault soak (CI size): random configurations applied and destroyed under injected 429/500/503, failed
//! operations and latency spikes, the services sharing two service accounts and two domains, so that one service
//! leaves a shared grant or zone while another joins it in the same apply. Every run succeeds or fails with a clear
//! error and leaves no orphan; no shared part is lost; after each success Terraform's state equals the
//! emulator's; a clean final apply plans empty and the final destroy leaves the emulator as it started.
//! `csmrun-campaign --soak 100 --seed 42` is the long version.

use csmrun_acctest::campaign::soak::{self, Options};
use csmrun_acctest::stack::Stack;

/// Applies/destroys under faults in CI (the final clean apply and destroy come on top).
const RUNS: usize = 20;

#[test]
fn random_configurations_under_injected_faults_leave_no_orphan_and_state_equal_to_reality() {
    let stack = Stack::new(&soak::seed());
    let tally = soak::run(
        &stack,
        Options {
            runs: RUNS,
            seed: 7,
            verbose: true,
            share: true,
        },
    );
    eprintln!("{tally}");
    assert!(tally.violations().is_empty(), "{tally}");
    assert!(tally.injected_errors > 0, "no fault was injected:\n{tally}");
    assert!(
        tally.succeeded > RUNS / 2,
        "most runs must get through the faults:\n{tally}"
    );
}
