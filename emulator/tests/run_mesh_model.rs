//! The mesh sidecar model of Cloud Run: which mesh clients become Ready, and how failures are reported.

mod common;

use common::*;
use serde_json::{json, Value};

const GENERIC: &str = "is not ready and cannot serve traffic. The user-provided container failed to start and \
listen on the port defined provided by the PORT=8080 environment variable within the allocated timeout";

async fn deploy(env: &Env, id: &str, body: Value) -> Value {
    let op = env
        .ok(
            "POST",
            &env.run(&format!("services?serviceId={id}")),
            Some(body),
        )
        .await;
    env.finish_run(&op).await
}

async fn redeploy(env: &Env, id: &str, body: Value) -> Value {
    let op = env
        .ok("PATCH", &env.run(&format!("services/{id}")), Some(body))
        .await;
    env.finish_run(&op).await
}

async fn grant_client_role(env: &Env) {
    env.grant(
        "roles/trafficdirector.client",
        &format!("serviceAccount:{CLIENT_SA}"),
    )
    .await;
}

fn assert_generic_failure(op: &Value) {
    assert_eq!(op["error"]["code"], 9, "{op}");
    let message = op["error"]["message"].as_str().unwrap();
    assert!(message.contains(GENERIC), "{message}");
    assert!(message
        .contains("Logs URL: https://console.cloud.google.com/logs/viewer?project=demo-project"));
}

#[tokio::test]
async fn mesh_client_without_effective_trafficdirector_client_fails_with_code_9() {
    let env = Env::start().await;
    let op = deploy(&env, "client", mesh_client("img")).await;
    assert_generic_failure(&op);
    let s = env.ok("GET", &env.run("services/client"), None).await;
    assert_eq!(s["terminalCondition"]["state"], "CONDITION_FAILED");
    assert!(s.get("latestReadyRevision").is_none());
}

#[tokio::test]
async fn failed_mesh_revision_carries_the_proxy_startup_probe_message_and_a_log_uri() {
    let env = Env::start().await;
    deploy(&env, "client", mesh_client("img")).await;
    let s = env.ok("GET", &env.run("services/client"), None).await;
    let rev = env
        .ok(
            "GET",
            &format!("/run/v2/{}", s["latestCreatedRevision"].as_str().unwrap()),
            None,
        )
        .await;
    let ready = &rev["conditions"][0];
    assert_eq!(ready["state"], "CONDITION_FAILED");
    let message = ready["message"].as_str().unwrap();
    assert!(message.contains("cloud-run-mesh-proxy"), "{message}");
    assert!(
        message.contains("15020") && message.contains("/healthz"),
        "{message}"
    );
    assert!(message.contains("Envoy not ready, phase=ENVOY_PHASE_SERVER_STATE_PRE_INITIALIZING"));
    assert!(rev["logUri"]
        .as_str()
        .unwrap()
        .starts_with("https://console.cloud.google.com/logs/viewer"));
}

#[tokio::test]
async fn trafficdirector_client_grant_is_not_effective_before_the_propagation_delay() {
    let env = Env::start().await;
    grant_client_role(&env).await;
    // The create is requested at once: the 90 s propagation delay has not passed at deploy time.
    let op = deploy(&env, "client", mesh_client("img")).await;
    assert_generic_failure(&op);
}

#[tokio::test]
async fn mesh_client_becomes_ready_once_the_grant_has_propagated() {
    let env = Env::start().await;
    grant_client_role(&env).await;
    env.advance("90s").await;
    let op = deploy(&env, "client", mesh_client("img")).await;
    assert!(op.get("error").is_none(), "{op}");
    let s = env.ok("GET", &env.run("services/client"), None).await;
    assert_eq!(s["terminalCondition"]["state"], "CONDITION_SUCCEEDED");
}

#[tokio::test]
async fn redeploy_after_the_cause_is_fixed_succeeds() {
    let env = Env::start().await;
    assert_generic_failure(&deploy(&env, "client", mesh_client("img")).await);
    grant_client_role(&env).await;
    env.advance("90s").await;
    let op = redeploy(&env, "client", mesh_client("img:2")).await;
    assert!(op.get("error").is_none(), "{op}");
}

#[tokio::test]
async fn mesh_client_fails_while_the_mesh_has_not_settled() {
    let env = Env::start().await;
    grant_client_role(&env).await;
    env.advance("90s").await;
    // A mesh created through the Network Services API now; its operation takes a few seconds.
    let mesh_op = env
        .ok(
            "POST",
            "/networkservices/v1/projects/demo-project/locations/global/meshes?meshId=fresh",
            Some(json!({})),
        )
        .await;
    assert!(mesh_op["name"].is_string(), "{mesh_op}");
    env.advance("10s").await;
    let mut body = mesh_client("img");
    body["template"]["serviceMesh"]["mesh"] =
        json!("projects/demo-project/locations/global/meshes/fresh");
    assert_generic_failure(&deploy(&env, "early", body.clone()).await);
    env.advance("60s").await;
    let op = deploy(&env, "late", body).await;
    assert!(op.get("error").is_none(), "{op}");
}

#[tokio::test]
async fn mesh_client_fails_when_the_mesh_does_not_exist() {
    let env = Env::start().await;
    grant_client_role(&env).await;
    env.advance("90s").await;
    let mut body = mesh_client("img");
    body["template"]["serviceMesh"]["mesh"] =
        json!("projects/demo-project/locations/global/meshes/missing");
    assert_generic_failure(&deploy(&env, "client", body).await);
}

#[tokio::test]
async fn all_traffic_egress_needs_private_google_access_on_the_subnet() {
    let env = Env::seeded(r#"{"projects": [{"id": "demo-project", "number": "123456789012",
        "networks": [{"name": "mesh-vpc", "subnetworks": [{"name": "mesh-subnet", "region": "asia-northeast1",
            "ipCidrRange": "10.10.0.0/24", "privateIpGoogleAccess": false}]}],
        "meshes": [{"name": "meshapps", "createTime": "2026-01-01T00:00:00Z"}],
        "serviceAccounts": ["meshapps-client@demo-project.iam.gserviceaccount.com"],
        "iamBindings": [{"role": "roles/trafficdirector.client",
            "members": ["serviceAccount:meshapps-client@demo-project.iam.gserviceaccount.com"]}]}]}"#)
    .await;
    assert_generic_failure(&deploy(&env, "all", mesh_client("img")).await);
    let mut private_only = mesh_client("img");
    private_only["template"]["vpcAccess"]["egress"] = json!("PRIVATE_RANGES_ONLY");
    let op = deploy(&env, "private", private_only).await;
    assert!(op.get("error").is_none(), "{op}");
}

#[tokio::test]
async fn sticky_mode_keeps_failing_until_the_service_is_deleted_and_recreated() {
    let env = Env::start().await;
    let (status, _) = env
        .control(
            "POST",
            "settings",
            Some(json!({"stickyMeshFailures": true})),
        )
        .await;
    assert_eq!(status, 200);
    assert_generic_failure(&deploy(&env, "client", mesh_client("img")).await);
    grant_client_role(&env).await;
    env.advance("90s").await;
    assert_generic_failure(&redeploy(&env, "client", mesh_client("img:2")).await);
    let del = env.ok("DELETE", &env.run("services/client"), None).await;
    env.finish_run(&del).await;
    let op = deploy(&env, "client", mesh_client("img:3")).await;
    assert!(op.get("error").is_none(), "{op}");
}
