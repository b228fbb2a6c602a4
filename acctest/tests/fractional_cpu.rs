//! A service below one CPU deploys: Cloud Run requires request-based billing there, and with resources given the
//! API takes CPU as always allocated unless `cpuIdle` is true (run.v2.json), so csmrun sends it.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::{SeedBuilder, PROJECT, REGION};
use csmrun_acctest::stack::Stack;

#[test]
fn a_service_below_one_cpu_deploys_with_cpu_only_during_requests_and_plans_empty() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(
        &ServiceHcl::new("svc", "small")
            .string("cpu", "0.5")
            .string("memory", "512Mi")
            .render(),
    );
    stack.apply_ok();
    stack.assert_consistent();
    let key = format!("projects/{PROJECT}/locations/{REGION}/services/small");
    let svc = stack.resource("run.services", &key).expect("the service");
    let template = &svc["template"];
    assert_eq!(
        template["containers"][0]["resources"]["cpuIdle"], true,
        "{svc}"
    );
    assert_eq!(
        template["containers"][0]["resources"]["limits"]["cpu"],
        "0.5"
    );
    assert_eq!(template["maxInstanceRequestConcurrency"], 1, "{svc}");
    stack.assert_empty_plan("after deploying below one CPU");
    stack.destroy_ok();
    stack.assert_consistent();
}
