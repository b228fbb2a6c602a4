//! Concurrent writers: two Terraform directories whose services share a service account and a domain, in every
//! pairing (both created, both updated, one destroyed while the other is created or updated, both destroyed), then
//! destroyed together, while a watcher polls the emulator. No IAM binding may be lost under a service in the
//! mesh, none may be orphaned, and the DNS zone and its wildcard record must be there whenever an HTTPRoute serves
//! a hostname under the domain, also while both runs are in flight: a joiner registers in the zone's users registry
//! before its route exists, and a leaver removes record and zone only in a change conditional on that registry.

use csmrun_acctest::campaign::concurrent::{run, ROUNDS};
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

#[test]
fn two_directories_sharing_an_account_and_a_domain_in_every_pairing_lose_no_binding_and_orphan_nothing(
) {
    let stack = Stack::new(&SeedBuilder::new().build());
    let tally = run(&stack, ROUNDS, ROUNDS.len(), true, true);
    eprintln!("{tally}");
    assert!(tally.violations().is_empty(), "{tally}");
    assert_eq!(tally.succeeded, tally.runs(), "{tally}");
}
