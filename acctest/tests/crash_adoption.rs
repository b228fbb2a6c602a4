//! The provider is killed (SIGKILL) in the middle of a create; the next apply finds the parts that
//! run left behind, recognises them as its own and adopts them instead of failing with 409.

use std::time::{Duration, Instant};

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::process::{descendants_named, kill9};
use csmrun_acctest::seed::{sa, SeedBuilder};
use csmrun_acctest::stack::{Stack, GUARD};
use serde_json::json;

const SERVICE: &str = "projects/acc-project/locations/asia-northeast1/services/crashy";
const NEG: &str = "projects/acc-project/regions/asia-northeast1/networkEndpointGroups/crashy-neg";
const BACKEND: &str = "projects/acc-project/global/backendServices/crashy-backend";

#[test]
fn apply_after_the_provider_was_killed_mid_create_converges_by_adoption() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(
        &ServiceHcl::new("svc", "crashy")
            .attr(
                "invokers",
                &format!("[\"serviceAccount:{}\"]", sa("caller")),
            )
            .render(),
    );
    // The route is the last step; holding it makes the provider sit there with every other part
    // created.
    stack
        .emu
        .add_faults(&json!({"api": "networkservices", "method": "httpRoutes.create", "times": 1, "latency": "60s"}))
        .unwrap();
    let running = stack.spawn(&["apply", "-auto-approve"]);
    let start = Instant::now();
    loop {
        let state = stack.state();
        let ready = state["resources"]["run.services"][SERVICE]["terminalCondition"]["state"]
            == "CONDITION_SUCCEEDED";
        let invokers = state["resourcePolicies"].get(SERVICE).is_some();
        if ready && invokers {
            break;
        }
        assert!(
            start.elapsed() < GUARD,
            "the create never got to the route:\n{}",
            running.output_so_far()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let the route request reach the emulator, where it is held.
    std::thread::sleep(Duration::from_secs(1));
    let providers = descendants_named(running.pid(), "terraform-provider-csmrun");
    assert_eq!(
        providers.len(),
        1,
        "expected one provider process under terraform: {providers:?}"
    );
    kill9(providers[0]).unwrap();
    let out = running.wait(GUARD).unwrap();
    assert!(
        !out.success(),
        "apply must fail when its provider dies:\n{}",
        out.combined()
    );
    assert!(
        csmrun_acctest::consistency::services_in_state(&stack.show()).is_empty(),
        "the killed create cannot have recorded state"
    );
    let before = stack.state();
    let neg_id = before["resources"]["compute.networkEndpointGroups"][NEG]["id"].clone();
    let backend_id = before["resources"]["compute.backendServices"][BACKEND]["id"].clone();
    let uid = before["resources"]["run.services"][SERVICE]["uid"].clone();
    assert!(
        !neg_id.is_null() && !backend_id.is_null() && !uid.is_null(),
        "orphans expected: {}",
        before["resources"]
    );

    stack.emu.clear_faults().unwrap();
    let out = stack.apply();
    assert!(
        out.success(),
        "the apply after the crash must adopt, not fail:\n{}",
        out.combined()
    );
    stack.assert_consistent();
    let after = stack.state();
    assert_eq!(
        after["resources"]["compute.networkEndpointGroups"][NEG]["id"], neg_id,
        "NEG adopted, not recreated"
    );
    assert_eq!(
        after["resources"]["compute.backendServices"][BACKEND]["id"], backend_id,
        "backend adopted"
    );
    assert_eq!(
        after["resources"]["run.services"][SERVICE]["uid"], uid,
        "Cloud Run service adopted"
    );
    stack.assert_empty_plan("after the adopting apply");
    stack.destroy_ok();
    stack.assert_consistent();
}
