//! Project IAM edits survive etag conflicts: an ABORTED answer, or a second writer changing the
//! policy between csmrun's read and its write, costs a re-read and a retry, never the apply, and
//! the other writer's binding is kept.

use std::time::{Duration, Instant};

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests::matching;
use csmrun_acctest::seed::{sa, SeedBuilder, PROJECT};
use csmrun_acctest::stack::{Stack, GUARD};
use serde_json::{json, Value};

fn set_policy_answers(stack: &Stack) -> Vec<u64> {
    matching(
        &stack.requests(),
        "POST",
        &format!("/projects/{PROJECT}:setIamPolicy"),
    )
    .iter()
    .filter(|e| {
        e["path"]
            .as_str()
            .unwrap()
            .starts_with("/cloudresourcemanager/")
    })
    .map(|e| e["status"].as_u64().unwrap())
    .collect()
}

fn policy(stack: &Stack) -> Value {
    stack
        .emu
        .api(
            "POST",
            &format!("/cloudresourcemanager/v1/projects/{PROJECT}:getIamPolicy"),
            Some(&json!({})),
        )
        .unwrap()
}

fn has(policy: &Value, role: &str, member: &str) -> bool {
    policy["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|b| b["role"] == role && b["members"].as_array().unwrap().iter().any(|m| m == member))
}

#[test]
fn an_aborted_policy_write_is_retried() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack
        .emu
        .add_faults(&json!({"api": "cloudresourcemanager", "method": "projects.setIamPolicy", "times": 1, "code": 409}))
        .unwrap();
    stack.config(&ServiceHcl::new("svc", "retried").render());
    stack.apply_ok();
    let answers = set_policy_answers(&stack);
    assert_eq!(
        answers.first(),
        Some(&409),
        "the injected conflict: {answers:?}"
    );
    assert!(
        answers.contains(&200),
        "then a successful write: {answers:?}"
    );
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn a_second_writer_between_read_and_write_does_not_fail_the_apply_or_lose_its_binding() {
    let stack = Stack::new(&SeedBuilder::new().build());
    // Hold csmrun's first policy write for 2 s; while it is held, another writer changes the policy.
    stack
        .emu
        .add_faults(&json!({"api": "cloudresourcemanager", "method": "projects.setIamPolicy", "times": 1, "latency": "2s"}))
        .unwrap();
    stack.config(&ServiceHcl::new("svc", "contended").render());
    let running = stack.spawn(&["apply", "-auto-approve"]);
    let start = Instant::now();
    while stack
        .emu
        .faults()
        .unwrap()
        .to_string()
        .contains("setIamPolicy")
    {
        assert!(
            start.elapsed() < GUARD,
            "csmrun never wrote the policy:\n{}",
            running.output_so_far()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let auditor = "user:auditor@example.com";
    let mut p = policy(&stack);
    let bindings = p["bindings"].as_array().cloned().unwrap_or_default();
    let mut bindings: Vec<Value> = bindings;
    bindings.push(json!({"role": "roles/viewer", "members": [auditor]}));
    p["bindings"] = Value::Array(bindings);
    stack
        .emu
        .api(
            "POST",
            &format!("/cloudresourcemanager/v1/projects/{PROJECT}:setIamPolicy"),
            Some(&json!({"policy": p})),
        )
        .unwrap();
    let out = running.wait(GUARD).unwrap();
    assert!(
        out.success(),
        "apply must survive the conflict:\n{}",
        out.combined()
    );
    let answers = set_policy_answers(&stack);
    assert!(
        answers.contains(&409),
        "csmrun's held write must have met the conflict: {answers:?}"
    );
    let now = policy(&stack);
    assert!(
        has(&now, "roles/viewer", auditor),
        "the other writer's binding was lost: {now}"
    );
    assert!(
        has(
            &now,
            "roles/trafficdirector.client",
            &format!("serviceAccount:{}", sa("app-a"))
        ),
        "{now}"
    );
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
    assert!(
        has(&policy(&stack), "roles/viewer", auditor),
        "destroy removed the other writer's binding"
    );
}
