//! Google answers durations in proto3 JSON (`"1.5s"` comes back `"1.500s"`): a route with fractional durations
//! is in place as configured, so the plan after the apply is empty.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

const ROUTE: &str = "route {
  timeout = \"1.5s\"
  retry {
    attempts        = 2
    per_try_timeout = \"0.25s\"
    conditions      = [\"5xx\"]
  }
  fault_injection {
    delay         = \"0.75s\"
    delay_percent = 5
  }
}";

#[test]
fn a_route_with_fractional_durations_plans_empty_after_apply() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&ServiceHcl::new("svc", "fractions").block(ROUTE).render());
    stack.apply_ok();
    stack.assert_consistent();

    let v = stack.values("svc");
    let route = v["http_route"].as_str().unwrap();
    let stored = stack
        .resource("networkservices.httpRoutes", route)
        .expect("the route exists");
    let action = &stored["rules"][0]["action"];
    assert_eq!(
        (
            &action["timeout"],
            &action["retryPolicy"]["perTryTimeout"],
            &action["faultInjectionPolicy"]["delay"]["fixedDelay"],
        ),
        (
            &serde_json::json!("1.500s"),
            &serde_json::json!("0.250s"),
            &serde_json::json!("0.750s")
        ),
        "the emulator answers Google's spelling: {stored}"
    );

    stack.assert_empty_plan("after applying a route with fractional durations");
    let v = stack.values("svc");
    let r = &v["route"][0];
    assert_eq!(r["timeout"], "1.5s", "state keeps the configured spelling");
    assert_eq!(r["retry"][0]["per_try_timeout"], "0.25s");
    assert_eq!(r["fault_injection"][0]["delay"], "0.75s");
}
