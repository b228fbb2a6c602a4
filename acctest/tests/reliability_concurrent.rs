//! Concurrent writers: three Terraform directories whose services share a service account and a domain, under
//! injected 429/503 and latency, with an operation failure in rounds 1 and 3 (one writer's run fails and rolls
//! back while the others run): all created at once; one destroyed while the other two update; one created again
//! while another is destroyed; two destroyed (the last users leaving) while the third joins again; then all three
//! destroyed at once without faults, while a watcher polls the emulator. No IAM binding may be lost under a service
//! in the mesh, none may be orphaned, and the DNS zone and its wildcard record must be there whenever an HTTPRoute
//! serves a hostname under the domain, also while the runs are in flight: a joiner registers in the zone's users
//! registry before its route exists, and a leaver removes record and zone only in a change conditional on that
//! registry. A run may fail under the faults, but only clearly; after a round where every run succeeded, state
//! equals reality; after the final destroy the emulator is as it started. Google's compare-and-swap is the only
//! coordination: the request log, split per writer by user agent, must show every shared write attributed.

use csmrun_acctest::campaign::concurrent::{run, Action, Options, Round};
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

#[test]
fn three_writers_sharing_an_account_and_a_domain_under_faults_lose_no_binding_orphan_nothing_and_end_clean(
) {
    use Action::{Apply as A, Destroy as D};
    let stack = Stack::new(&SeedBuilder::new().build());
    let rounds: Vec<Round> = [[A, A, A], [D, A, A], [A, D, A], [D, A, D]]
        .iter()
        .enumerate()
        .map(|(i, actions)| Round::fixed(i, actions))
        .collect();
    let opts = Options {
        writers: 3,
        faults: 0.02,
        latency: None,
        seed: 12,
        verbose: true,
    };
    let tally = run(&stack, &rounds, opts);
    eprintln!("{tally}");
    assert!(tally.violations().is_empty(), "{tally}");
    assert_eq!(
        tally.succeeded + tally.failed_clearly,
        tally.runs(),
        "{tally}"
    );
    // Seed 12 draws a route delete in both rounds, which a destroy always reaches.
    assert_eq!(
        (tally.operation_failures, tally.operation_failures_hit),
        (2, 2),
        "{tally}"
    );
    let contention = tally.contention.as_ref().expect("contention figures");
    assert_eq!(contention.unattributed, 0, "{tally}");
    assert!(contention.total_writes() > 0, "{tally}");
}
