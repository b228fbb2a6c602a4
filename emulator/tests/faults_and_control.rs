//! Fault injection and the `/_emulator/` control plane: one test per rule.

mod common;

use common::*;
use serde_json::{json, Value};

async fn add_fault(env: &Env, rule: Value) {
    let (status, text) = env.control("POST", "faults", Some(rule)).await;
    assert_eq!(status, 200, "{text}");
}

/// `projects.get` on the demo project: a call every fault rule below can target.
async fn get_project(env: &Env) -> (u16, Value) {
    env.call(
        "GET",
        &format!("/cloudresourcemanager/v1/projects/{P}"),
        None,
    )
    .await
}

#[tokio::test]
async fn one_shot_503_fails_exactly_one_matching_call() {
    let env = Env::start().await;
    add_fault(
        &env,
        json!({"api": "run", "method": "services.get", "code": 503, "times": 1}),
    )
    .await;
    let (first, body) = env.call("GET", &env.run("services/x"), None).await;
    assert_eq!(first, 503);
    assert_eq!(body["error"]["status"], "UNAVAILABLE");
    let (second, _) = env.call("GET", &env.run("services/x"), None).await;
    assert_eq!(second, 404);
}

#[tokio::test]
async fn injected_429_is_resource_exhausted() {
    let env = Env::start().await;
    add_fault(&env, json!({"api": "cloudresourcemanager", "code": 429})).await;
    let (status, body) = get_project(&env).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
}

#[tokio::test]
async fn injected_500_is_internal() {
    let env = Env::start().await;
    add_fault(&env, json!({"api": "dns", "code": 500, "times": 1})).await;
    let (status, body) = env
        .call("GET", &format!("/dns/v1/projects/{P}/managedZones"), None)
        .await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["errors"][0]["reason"], "backendError");
}

#[tokio::test]
async fn compute_and_dns_403_is_rate_limit_exceeded() {
    let env = Env::start().await;
    add_fault(&env, json!({"api": "dns", "code": 403})).await;
    let (status, body) = env
        .call("GET", &format!("/dns/v1/projects/{P}/managedZones"), None)
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["errors"][0]["reason"], "rateLimitExceeded");
    assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
}

#[tokio::test]
async fn rules_for_other_apis_do_not_fire() {
    let env = Env::start().await;
    add_fault(&env, json!({"api": "compute", "code": 503})).await;
    let (status, _) = get_project(&env).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rate_zero_never_fires_and_rate_one_always_fires() {
    let env = Env::start().await;
    add_fault(
        &env,
        json!({"api": "cloudresourcemanager", "code": 503, "rate": 0.0}),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(get_project(&env).await.0, 200);
    }
    env.control("DELETE", "faults", None).await;
    add_fault(
        &env,
        json!({"api": "cloudresourcemanager", "code": 503, "rate": 1.0}),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(get_project(&env).await.0, 503);
    }
}

#[tokio::test]
async fn injected_operation_failure_fails_the_operation_not_the_call() {
    let env = Env::start().await;
    add_fault(
        &env,
        json!({"api": "run", "method": "services.create",
                           "operationError": {"code": 13, "message": "boom"}, "times": 1}),
    )
    .await;
    let op = env
        .ok("POST", &env.run("services?serviceId=x"), Some(plain("img")))
        .await;
    let done = env.finish_run(&op).await;
    assert_eq!(done["error"]["code"], 13);
    assert_eq!(done["error"]["message"], "boom");
    let s = env.ok("GET", &env.run("services/x"), None).await;
    assert_eq!(s["terminalCondition"]["state"], "CONDITION_FAILED");
}

#[tokio::test]
async fn added_latency_delays_the_answer() {
    let env = Env::start().await;
    add_fault(
        &env,
        json!({"api": "cloudresourcemanager", "latency": "300ms", "times": 1}),
    )
    .await;
    let started = std::time::Instant::now();
    let (status, _) = get_project(&env).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}

#[tokio::test]
async fn bad_fault_rules_are_rejected() {
    let env = Env::start().await;
    let (status, _) = env
        .control("POST", "faults", Some(json!({"api": "nope", "code": 500})))
        .await;
    assert_eq!(status, 400);
    let (status, _) = env
        .control("POST", "faults", Some(json!({"api": "run"})))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn reset_returns_to_the_initial_seed() {
    let env = Env::start().await;
    env.ok(
        "POST",
        &format!("/dns/v1/projects/{P}/managedZones"),
        Some(json!({"name": "z", "dnsName": "z.example.", "visibility": "public"})),
    )
    .await;
    let (status, _) = env.control("POST", "reset", None).await;
    assert_eq!(status, 200);
    let (status, _) = env
        .call("GET", &format!("/dns/v1/projects/{P}/managedZones/z"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(get_project(&env).await.0, 200);
}

#[tokio::test]
async fn state_dumps_the_seeded_demo_infrastructure() {
    let env = Env::start().await;
    let (status, text) = env.control("GET", "state", None).await;
    assert_eq!(status, 200);
    let state: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(state["projects"][0]["id"], P);
    assert_eq!(state["projects"][0]["number"], NUMBER);
    let subnet = &state["resources"]["compute.subnetworks"]
        ["projects/demo-project/regions/asia-northeast1/subnetworks/mesh-subnet"];
    assert_eq!(subnet["privateIpGoogleAccess"], true);
    assert!(state["resources"]["compute.networks"]
        ["projects/demo-project/global/networks/mesh-vpc"]
        .is_object());
    assert!(state["resources"]["networkservices.meshes"][MESH].is_object());
    let accounts: Vec<&str> = state["projects"][0]["serviceAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for who in ["client", "proxy", "target1", "target2", "target3", "target"] {
        assert!(
            accounts
                .contains(&format!("meshapps-{who}@demo-project.iam.gserviceaccount.com").as_str()),
            "{who}"
        );
    }
}

#[tokio::test]
async fn posted_seed_adds_projects() {
    let env = Env::start().await;
    let (status, text) = env
        .control(
            "POST",
            "seed",
            Some(json!({"projects": [{"id": "other", "number": "222222222222"}]})),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        env.call(
            "GET",
            "/cloudresourcemanager/v1/projects/222222222222",
            None
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn request_log_has_one_json_line_per_api_call_with_the_response() {
    let env = Env::start().await;
    env.call(
        "GET",
        &format!("/cloudresourcemanager/v1/projects/{P}?alt=json"),
        None,
    )
    .await;
    env.call(
        "POST",
        &format!("/cloudresourcemanager/v1/projects/{P}:getIamPolicy"),
        Some(json!({})),
    )
    .await;
    let (status, text) = env.control("GET", "requests", None).await;
    assert_eq!(status, 200);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for key in [
        "time", "method", "path", "query", "body", "status", "response",
    ] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(lines[0]["query"]["alt"], "json");
    assert_eq!(lines[1]["response"]["version"], 1);
}

#[tokio::test]
async fn request_log_file_gets_the_same_lines() {
    let dir = tempdir();
    let file = dir.join("requests.jsonl");
    let env = Env::frozen_with(csmrun_emulator::Config {
        request_log: Some(file.clone()),
        ..Default::default()
    })
    .await;
    get_project(&env).await;
    let text = std::fs::read_to_string(&file).unwrap();
    let (_, served) = env.control("GET", "requests", None).await;
    assert_eq!(text, served);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn clock_advance_moves_virtual_time() {
    let env = Env::start().await;
    let (_, before) = env.control("GET", "clock", None).await;
    env.advance("1h").await;
    let (_, after) = env.control("GET", "clock", None).await;
    let t = |s: &str| {
        serde_json::from_str::<Value>(s).unwrap()["now"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(t(&before), "2026-03-01T00:00:00.000000Z");
    assert_eq!(t(&after), "2026-03-01T01:00:00.000000Z");
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("csmrun-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn refused(env: &Env, rule: Value) -> String {
    let (status, text) = env.control("POST", "faults", Some(rule)).await;
    assert_eq!(status, 400, "{text}");
    text
}

#[tokio::test]
async fn a_compute_fault_replays_the_concurrent_operations_quota_body() {
    let env = Env::start().await;
    add_fault(
        &env,
        json!({"api": "compute", "method": "regionNetworkEndpointGroups.list", "times": 1,
               "code": 403, "reason": "rateLimitExceeded", "domain": "usageLimits",
               "message": "Rate Limit Exceeded",
               "errorInfo": {"reason": "CONCURRENT_OPERATIONS_QUOTA_EXCEEDED",
                             "domain": "compute.googleapis.com",
                             "metadata": {"containerType": "PROJECT", "location": "r1"}}}),
    )
    .await;
    let path = format!("/compute/v1/projects/{P}/regions/{R}/networkEndpointGroups");
    let (status, body) = env.call("GET", &path, None).await;
    assert_eq!(status, 403);
    let e = &body["error"];
    assert_eq!(e["code"], 403);
    assert_eq!(e["message"], "Rate Limit Exceeded");
    assert_eq!(
        e["errors"],
        json!([{"message": "Rate Limit Exceeded", "domain": "usageLimits", "reason": "rateLimitExceeded"}])
    );
    assert!(
        e.get("status").is_none(),
        "Compute's envelope has no status: {body}"
    );
    assert_eq!(
        e["details"],
        json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "CONCURRENT_OPERATIONS_QUOTA_EXCEEDED", "domain": "compute.googleapis.com",
                "metadata": {"containerType": "PROJECT", "location": "r1"}}])
    );
    let (again, _) = env.call("GET", &path, None).await;
    assert_eq!(again, 200, "one-shot");
}

#[tokio::test]
async fn a_run_fault_carries_its_status_and_reason_in_google_rpc_status_with_error_info() {
    let env = Env::start().await;
    add_fault(
        &env,
        json!({"api": "run", "method": "services.get", "code": 403, "status": "PERMISSION_DENIED",
               "reason": "IAM_PERMISSION_DENIED",
               "message": "Permission 'run.services.get' denied on resource 'x' (or it may not exist)."}),
    )
    .await;
    let (status, body) = env.call("GET", &env.run("services/x"), None).await;
    assert_eq!(status, 403);
    let e = &body["error"];
    assert_eq!(e["status"], "PERMISSION_DENIED");
    assert_eq!(
        e["message"],
        "Permission 'run.services.get' denied on resource 'x' (or it may not exist)."
    );
    assert!(e.get("errors").is_none(), "{body}");
    assert_eq!(
        e["details"][0]["@type"],
        "type.googleapis.com/google.rpc.ErrorInfo"
    );
    assert_eq!(e["details"][0]["reason"], "IAM_PERMISSION_DENIED");
    assert_eq!(e["details"][0]["domain"], "run.googleapis.com");
}

#[tokio::test]
async fn dns_and_resource_manager_faults_take_any_status_reason_and_message() {
    let env = Env::start().await;
    add_fault(
        &env,
        json!({"api": "dns", "method": "managedZones.list", "times": 1, "code": 409,
               "reason": "operationInProgress", "message": "A change is in progress."}),
    )
    .await;
    let (status, body) = env
        .call("GET", &format!("/dns/v1/projects/{P}/managedZones"), None)
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["errors"][0]["reason"], "operationInProgress");
    assert_eq!(body["error"]["errors"][0]["domain"], "global");
    assert_eq!(body["error"]["message"], "A change is in progress.");

    add_fault(
        &env,
        json!({"api": "cloudresourcemanager", "method": "projects.get", "times": 1, "code": 400,
               "status": "FAILED_PRECONDITION", "message": "Project is being set up."}),
    )
    .await;
    let (status, body) = get_project(&env).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "FAILED_PRECONDITION");
    assert_eq!(body["error"]["message"], "Project is being set up.");
}

#[tokio::test]
async fn a_rule_naming_a_method_no_discovery_document_has_is_refused_with_a_suggestion() {
    let env = Env::start().await;
    let text = refused(
        &env,
        json!({"api": "compute", "method": "regionNetworkEndpointGroup.insert", "code": 403}),
    )
    .await;
    assert!(
        text.contains("regionNetworkEndpointGroup.insert") && text.contains("never fire"),
        "{text}"
    );
    assert!(
        text.contains("compute.regionNetworkEndpointGroups.insert"),
        "suggests the real method: {text}"
    );
    // A real method of another API does not count.
    let text = refused(
        &env,
        json!({"api": "run", "method": "regionNetworkEndpointGroups.insert", "code": 503}),
    )
    .await;
    assert!(text.contains("run discovery document"), "{text}");
    // Without an api, any document may have it.
    add_fault(
        &env,
        json!({"method": "regionNetworkEndpointGroups.insert", "code": 503, "times": 1}),
    )
    .await;
    let (_, listed) = env.control("GET", "faults", None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&listed).unwrap()["rules"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "refused rules were not added"
    );
}

#[tokio::test]
async fn malformed_error_shapes_are_refused() {
    let env = Env::start().await;
    let text = refused(&env, json!({"api": "run", "code": 403, "status": "DENIED"})).await;
    assert!(text.contains("google.rpc.Code"), "{text}");
    let text = refused(&env, json!({"api": "run", "reason": "X", "latency": "1s"})).await;
    assert!(text.contains("needs a code"), "{text}");
    let text = refused(
        &env,
        json!({"api": "compute", "code": 403, "reason": "bad reason\n"}),
    )
    .await;
    assert!(text.contains("reason"), "{text}");
    let text = refused(&env, json!({"api": "compute", "code": 200})).await;
    assert!(text.contains("400-599"), "{text}");
    let text = refused(&env, json!({"api": "computer", "code": 503})).await;
    assert!(text.contains("unknown api"), "{text}");
}

#[tokio::test]
async fn the_request_log_records_the_user_agent_cut_at_its_bound() {
    let env = Env::start().await;
    let url = env.url(&format!("/cloudresourcemanager/v1/projects/{P}"));
    for ua in [
        "terraform-provider-csmrun/0.1.0 ci-runner/7".to_string(),
        "x".repeat(5000),
    ] {
        let sent = env
            .http
            .get(&url)
            .bearer_auth("t")
            .header("user-agent", ua)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200);
    }
    let (_, log) = env.control("GET", "requests", None).await;
    let entries: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        entries[0]["headers"],
        json!({"user-agent": "terraform-provider-csmrun/0.1.0 ci-runner/7"})
    );
    assert_eq!(
        entries[1]["headers"]["user-agent"].as_str().map(str::len),
        Some(1024)
    );
}

#[tokio::test]
async fn the_request_log_records_x_goog_user_project_and_never_the_authorization() {
    let env = Env::start().await;
    let url = env.url(&format!("/cloudresourcemanager/v1/projects/{P}"));
    let sent = env
        .http
        .get(&url)
        .bearer_auth("secret-token-value")
        .header("x-goog-user-project", "billing-p")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    get_project(&env).await;
    let (_, log) = env.control("GET", "requests", None).await;
    let entries: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["headers"],
        json!({"x-goog-user-project": "billing-p"})
    );
    assert!(entries[1].get("headers").is_none(), "{}", entries[1]);
    assert!(!log.contains("secret-token-value"), "{log}");
}
