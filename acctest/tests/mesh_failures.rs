//! When the mesh sidecar fails to start: the failure is explained in mesh terms, a failure from
//! IAM propagation delay is recovered by a redeploy, a sticky failure by a recreate.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests::{self, matching};
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

const SERVICE: &str = "projects/acc-project/locations/asia-northeast1/services/meshy";

fn run_creates(log: &[serde_json::Value]) -> usize {
    matching(log, "POST", "/locations/asia-northeast1/services")
        .iter()
        .filter(|e| e["path"].as_str().unwrap().starts_with("/run/v2/"))
        .count()
}

fn run_deletes(log: &[serde_json::Value]) -> usize {
    matching(log, "DELETE", "/services/meshy").len()
}

fn revisions(stack: &Stack) -> Vec<String> {
    stack.state()["resources"]["run.revisions"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|k| k.starts_with(&format!("{SERVICE}/revisions/")))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sidecar_failure_is_diagnosed_in_mesh_terms_and_rolled_back() {
    // The grant never becomes effective within the create timeout (1 h scaled to 72 s > 15 s).
    let seed = SeedBuilder::new().iam_propagation_delay("1h").build();
    let mut stack = Stack::new(&seed);
    stack.provider.iam_propagation_wait = "1s".into();
    stack.config(
        &ServiceHcl::new("svc", "meshy")
            .block("timeouts {\n  create = \"15s\"\n}")
            .render(),
    );
    let out = stack.apply();
    let text = out.combined();
    assert!(!out.success(), "apply should fail:\n{text}");
    assert!(
        text.contains("mesh sidecar failed"),
        "diagnosis in mesh terms:\n{text}"
    );
    assert!(
        text.contains("cloud-run-mesh-proxy"),
        "names the sidecar:\n{text}"
    );
    assert!(
        text.contains("roles/trafficdirector.client"),
        "names the likely cause:\n{text}"
    );
    assert!(
        text.contains("iam_propagation_wait"),
        "says what to change:\n{text}"
    );
    stack.assert_consistent();
    assert!(stack.resource("run.services", SERVICE).is_none());
}

#[test]
fn propagation_delay_failure_is_recovered_by_a_redeploy() {
    // The new grant takes 13 s to become effective (650 s scaled by 0.02); the provider waits
    // 12 s, so the first deploy fails, and its first pause before redeploying (a sixth of the
    // wait, 2 s) takes it past the propagation.
    let seed = SeedBuilder::new().iam_propagation_delay("650s").build();
    let mut stack = Stack::new(&seed);
    stack.provider.iam_propagation_wait = "12s".into();
    stack.config(&ServiceHcl::new("svc", "meshy").render());
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("after the recovered create");
    let log = stack.requests();
    assert_eq!(
        run_creates(&log),
        1,
        "a redeploy, not a recreate: {:#?}",
        requests::writes(&log)
    );
    assert_eq!(run_deletes(&log), 0, "{:#?}", requests::writes(&log));
    let revs = revisions(&stack);
    assert!(
        revs.len() >= 2,
        "the failed revision and a redeployed one: {revs:?}"
    );
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn sticky_failure_is_recovered_by_deleting_and_recreating_the_service() {
    let seed = SeedBuilder::new()
        .iam_propagation_delay("150s")
        .sticky_mesh_failures()
        .build();
    let mut stack = Stack::new(&seed);
    stack.provider.iam_propagation_wait = "1s".into();
    stack.config(&ServiceHcl::new("svc", "meshy").render());
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("after the recovered create");
    let log = stack.requests();
    assert!(
        run_deletes(&log) >= 1,
        "the broken service is deleted: {:#?}",
        requests::writes(&log)
    );
    assert!(
        run_creates(&log) >= 2,
        "and created again: {:#?}",
        requests::writes(&log)
    );
    stack.destroy_ok();
    stack.assert_consistent();
}

/// Cloud Run writes to the service (creates, patches, deletes), the ones a real project's write quota counts.
fn run_service_writes(log: &[serde_json::Value]) -> Vec<String> {
    log.iter()
        .filter(|e| requests::is_write(e))
        .filter(|e| {
            let p = e["path"].as_str().unwrap_or("");
            p.starts_with("/run/v2/")
                && (p.ends_with("/services") || p.ends_with("/services/meshy"))
        })
        .map(requests::describe)
        .collect()
}

#[test]
fn a_deadline_inside_the_redeploy_loop_still_explains_the_sidecar_failure_in_mesh_terms() {
    // The seed scenario: no propagation wait at all, and a grant that does not work within the create timeout
    // (1 h scaled to 72 s > 25 s), so the timeout falls while csmrun redeploys and recreates.
    let seed = SeedBuilder::new().iam_propagation_delay("1h").build();
    let mut stack = Stack::new(&seed);
    stack.provider.iam_propagation_wait = "0s".into();
    stack.config(
        &ServiceHcl::new("svc", "meshy")
            .block("timeouts {\n  create = \"25s\"\n}")
            .render(),
    );
    let out = stack.apply();
    let text = out.combined();
    assert!(!out.success(), "apply should fail:\n{text}");
    assert!(
        text.contains("Cloud Run service meshy: mesh sidecar failed: IAM grant not yet effective"),
        "the part and the cause, not a generic timeout:\n{text}"
    );
    assert!(
        !text.contains("Timed out while trying to"),
        "the timeout does not replace the diagnosis:\n{text}"
    );
    assert!(
        text.contains("Tried: deployed "),
        "what csmrun tried:\n{text}"
    );
    assert!(
        text.contains("the resource's timeout ran out while csmrun was"),
        "then what timed out:\n{text}"
    );
    assert!(
        text.contains("Fix now:") && text.contains("iam_propagation_wait"),
        "the fix now and for next time:\n{text}"
    );
    let log = stack.requests();
    let writes = run_service_writes(&log);
    // Pauses of 5, 10, 20 s fit at most four deploys and their recreates into 25 s; 100 ms pauses sent 117.
    assert!(
        writes.len() <= 10,
        "redeploys and recreates are paced: {} Cloud Run writes: {writes:#?}",
        writes.len()
    );
    stack.assert_consistent();
    assert!(stack.resource("run.services", SERVICE).is_none());
}

#[test]
fn a_deployer_without_set_iam_policy_is_told_the_role_the_permission_and_the_way_out() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&ServiceHcl::new("svc", "meshy").render());
    stack
        .emu
        .add_faults(&serde_json::json!({
            "api": "cloudresourcemanager",
            "method": "cloudresourcemanager.projects.setIamPolicy",
            "code": 403,
            "message": "Policy update access denied.",
        }))
        .unwrap();
    let out = stack.apply();
    // Terraform wraps long lines.
    let text = out
        .combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!out.success(), "apply should fail:\n{text}");
    assert!(
        text.contains("could not grant roles/trafficdirector.client to serviceAccount:")
            && text.contains("permission denied"),
        "the role and the account:\n{text}"
    );
    assert!(
        text.contains("Policy update access denied."),
        "Google's message:\n{text}"
    );
    assert!(
        text.contains("roles/resourcemanager.projectIamAdmin"),
        "the permission the deployer needs:\n{text}"
    );
    assert!(
        text.contains("gcloud projects add-iam-policy-binding acc-project"),
        "the alternative, an admin grants it once:\n{text}"
    );
    stack.assert_consistent();
    assert!(stack.resource("run.services", SERVICE).is_none());
}
