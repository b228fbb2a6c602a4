//! `billing_project` with `user_project_override = true` makes every API request name the billing project in
//! `x-goog-user-project`; without the override no request carries the header.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;
use serde_json::Value;

fn user_projects(log: &[Value]) -> Vec<Option<String>> {
    log.iter()
        .map(|e| {
            e["headers"]["x-goog-user-project"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

fn apply_and_destroy_with(extra: &[&str]) -> Vec<Option<String>> {
    let mut stack = Stack::new(&SeedBuilder::new().build());
    stack.provider.extra = extra.iter().map(|s| s.to_string()).collect();
    stack.config(&ServiceHcl::new("svc", "billed").render());
    stack.apply_ok();
    stack.destroy_ok();
    stack.assert_consistent();
    let log = stack.requests();
    assert!(
        log.len() > 10,
        "the apply and destroy called the APIs: {log:?}"
    );
    user_projects(&log)
}

#[test]
fn billing_project_with_user_project_override_is_sent_on_every_request_and_without_it_on_none() {
    let with = apply_and_destroy_with(&[
        "billing_project       = \"billing-p\"",
        "user_project_override = true",
    ]);
    assert!(
        with.iter().all(|p| p.as_deref() == Some("billing-p")),
        "every request names the billing project: {with:?}"
    );

    let without = apply_and_destroy_with(&["billing_project = \"billing-p\""]);
    assert!(
        without.iter().all(Option::is_none),
        "without the override no request carries x-goog-user-project: {without:?}"
    );
}
