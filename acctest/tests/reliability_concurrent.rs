//! Concurrent writers: two Terraform directories whose services share a service account and a domain,
//! applied and destroyed at the same time in every pairing. No IAM binding may be lost under a service that
//! uses it, and the DNS zone may never be deleted while a route still serves a hostname under it.

use csmrun_acctest::campaign::concurrent::{run, ROUNDS};
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

#[test]
fn two_directories_sharing_an_account_and_a_domain_never_lose_a_binding_or_the_zone() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let tally = run(&stack, ROUNDS.len(), true);
    eprintln!("{tally}");
    assert!(tally.violations().is_empty(), "{tally}");
    assert_eq!(tally.succeeded, tally.runs(), "{tally}");
}
