//! A refresh of N services costs at most N + 10 API calls (issue 13): one provider process lists each collection
//! once for all of its refreshes, and a part deleted out of band in one service is still drift.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests::listing;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::{Stack, GUARD};
use std::time::{Duration, Instant};

const SERVICES: usize = 20;

#[test]
fn a_plan_of_twenty_services_costs_at_most_n_plus_ten_calls_and_still_sees_one_missing_part() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let config: String = (0..SERVICES)
        .map(|i| ServiceHcl::new(&format!("s{i:02}"), &format!("svc-{i:02}")).render())
        .collect::<Vec<_>>()
        .join("\n");
    stack.config(&config);
    stack.apply_ok();

    let from = stack.requests().len();
    stack.assert_empty_plan("after the apply");
    let calls = stack.api_calls_since(from);
    assert!(
        calls.len() <= SERVICES + 10,
        "a refresh of {SERVICES} services cost {} calls:\n{}",
        calls.len(),
        listing(&calls)
    );
    // Only the service's own IAM policy cannot be listed: it is read once per service.
    let own_policies = calls
        .iter()
        .filter(|e| {
            let p = e["path"].as_str().unwrap_or("");
            p.starts_with("/run/") && p.ends_with(":getIamPolicy")
        })
        .count();
    assert_eq!(own_policies, SERVICES, "{}", listing(&calls));

    // One service's route deleted behind Terraform's back: it is missing from the list, and the one GET that
    // confirms the absence is the only extra call.
    let route = stack.values("s07")["http_route"]
        .as_str()
        .expect("route id in state")
        .to_string();
    stack
        .emu
        .api("DELETE", &format!("/networkservices/v1/{route}"), None)
        .expect("route deleted out of band");
    let start = Instant::now();
    while stack
        .resource("networkservices.httpRoutes", &route)
        .is_some()
    {
        assert!(start.elapsed() < GUARD, "{route} was never deleted");
        std::thread::sleep(Duration::from_millis(100));
    }
    let from = stack.requests().len();
    let plan = stack.plan();
    let text = plan.combined();
    assert_eq!(plan.code, Some(2), "the drift must be seen:\n{text}");
    assert!(
        text.contains("csmrun_service.s07 will be updated in-place"),
        "{text}"
    );
    assert!(
        text.contains("0 to add, 1 to change, 0 to destroy"),
        "only the drifted service changes:\n{text}"
    );
    let calls = stack.api_calls_since(from);
    assert!(
        calls.len() <= SERVICES + 10,
        "the refresh with drift cost {} calls:\n{}",
        calls.len(),
        listing(&calls)
    );
}
