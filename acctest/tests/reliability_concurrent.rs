//! Concurrent writers: two Terraform directories whose services share a service account and a domain,
//! applied at the same time (both created, both updated, one destroyed or created while the other updates)
//! while a watcher polls the emulator. No IAM binding may be lost under a service that uses it, and the DNS
//! zone may never be missing while a route serves a hostname under it. The racing pairings that still fail
//! (destroy ∥ create, destroy ∥ destroy) run in `csmrun-campaign --concurrent 6`; see RELIABILITY.md.

use csmrun_acctest::campaign::concurrent::{run, SAFE_ROUNDS};
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

#[test]
fn two_directories_sharing_an_account_and_a_domain_apply_together_without_losing_a_binding_or_the_zone(
) {
    let stack = Stack::new(&SeedBuilder::new().build());
    let tally = run(&stack, SAFE_ROUNDS, SAFE_ROUNDS.len(), false, true);
    eprintln!("{tally}");
    assert!(tally.violations().is_empty(), "{tally}");
    assert_eq!(tally.succeeded, tally.runs(), "{tally}");
}
