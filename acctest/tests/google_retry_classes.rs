//! The provider retries what Google's own clients retry and nothing else, end to end through Terraform: a Compute
//! NEG insert refused once with 403 `CONCURRENT_OPERATIONS_QUOTA_EXCEEDED` is sent again and the apply succeeds; a
//! 403 of another reason fails the apply with Google's message, once, and leaves nothing behind.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;
use serde_json::json;

const NEG_INSERT: &str = "compute.regionNetworkEndpointGroups.insert";

fn neg_inserts(stack: &Stack) -> usize {
    requests::matching(&stack.requests(), "POST", "/networkEndpointGroups").len()
}

#[test]
fn a_neg_insert_refused_once_for_concurrent_operations_quota_is_retried_and_the_apply_succeeds() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&ServiceHcl::new("svc", "quota").render());
    // The body Compute sends (podman-container-tools/podman#28212).
    stack
        .emu
        .add_faults(&json!({
            "api": "compute", "method": NEG_INSERT, "times": 1, "code": 403,
            "reason": "rateLimitExceeded", "domain": "usageLimits", "message": "Rate Limit Exceeded",
            "errorInfo": {"reason": "CONCURRENT_OPERATIONS_QUOTA_EXCEEDED", "domain": "compute.googleapis.com",
                          "metadata": {"containerType": "PROJECT", "location": "asia-northeast1"}}
        }))
        .unwrap();
    stack.apply_ok();
    let log = stack.requests();
    let inserts: Vec<_> = requests::matching(&log, "POST", "/networkEndpointGroups");
    assert_eq!(
        inserts
            .iter()
            .map(|e| e["status"].as_u64())
            .collect::<Vec<_>>(),
        vec![Some(403), Some(200)],
        "refused once, then sent again: {:#?}",
        requests::writes(&log)
    );
    assert_eq!(
        inserts[0]["query"]["requestId"], inserts[1]["query"]["requestId"],
        "the retry reuses the requestId"
    );
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn a_neg_insert_refused_with_another_403_fails_the_apply_with_googles_message_and_leaves_nothing() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&ServiceHcl::new("svc", "denied").render());
    let message = "Required 'compute.regionNetworkEndpointGroups.create' permission for \
                   'projects/csmrun-test/regions/asia-northeast1/networkEndpointGroups/denied'";
    stack
        .emu
        .add_faults(&json!({"api": "compute", "method": NEG_INSERT, "code": 403,
                            "reason": "forbidden", "message": message}))
        .unwrap();
    let out = stack.apply();
    assert!(!out.success(), "the apply must fail:\n{}", out.combined());
    let text = out.combined();
    assert!(
        text.contains("regionNetworkEndpointGroups.create") && text.contains("forbidden"),
        "Google's message reaches the user:\n{text}"
    );
    assert_eq!(neg_inserts(&stack), 1, "a 403 forbidden is sent once");
    assert!(
        csmrun_acctest::consistency::services_in_state(&stack.show()).is_empty(),
        "no state for a failed create"
    );
    stack.assert_consistent();
}
