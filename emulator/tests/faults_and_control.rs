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
