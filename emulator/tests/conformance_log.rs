//! Runs a full mesh-client scenario against the emulator and checks its request log (requests AND responses)
//! with `../shared/tools/gcp-conformance check`, which validates them against Google's discovery documents.

mod common;

use common::*;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

/// `../shared/tools/gcp-conformance`, relative to the workspace root (the parent of this crate).
fn conformance_tool() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let tool = workspace.join("../shared/tools/gcp-conformance");
    assert!(
        tool.is_file(),
        "the conformance checker is missing: expected {} (../shared next to the workspace root); \
         this test needs the shared design folder and cannot run without it",
        tool.display()
    );
    tool
}

async fn scenario(env: &Env) {
    // Project IAM: the client's runtime account gets roles/trafficdirector.client.
    env.grant(
        "roles/trafficdirector.client",
        &format!("serviceAccount:{CLIENT_SA}"),
    )
    .await;
    env.advance("90s").await;
    // A mesh client service, its operation, revision and invoker policy.
    let op = env
        .ok(
            "POST",
            &env.run("services?serviceId=client"),
            Some(mesh_client("gcr.io/demo/client")),
        )
        .await;
    env.advance("60s").await;
    let name = op["name"].as_str().unwrap().to_string();
    env.ok(
        "POST",
        &format!("/run/v2/{name}:wait"),
        Some(json!({"timeout": "10s"})),
    )
    .await;
    env.ok("GET", &format!("/run/v2/{name}"), None).await;
    let service = env.ok("GET", &env.run("services/client"), None).await;
    env.ok(
        "GET",
        &format!(
            "/run/v2/{}",
            service["latestReadyRevision"].as_str().unwrap()
        ),
        None,
    )
    .await;
    env.ok(
        "GET",
        &env.run("services/client/revisions?pageSize=10"),
        None,
    )
    .await;
    env.ok(
        "GET",
        &format!("/run/v2/projects/{P}/locations/{R}/services"),
        None,
    )
    .await;
    let path = env.run("services/client");
    let policy = env.service_iam_policy(&path).await;
    let bindings = client_invoker_bindings();
    env.ok(
        "POST",
        &format!("{path}:setIamPolicy"),
        Some(json!({"policy": {"bindings": bindings, "etag": policy["etag"]}})),
    )
    .await;
    let upd = env
        .ok(
            "PATCH",
            &format!("{path}?allowMissing=true"),
            Some(mesh_client("gcr.io/demo/client:2")),
        )
        .await;
    env.finish_run(&upd).await;
    // A mesh-wide private zone with the wildcard record, through both record APIs.
    let zones = format!("/dns/v1/projects/{P}/managedZones");
    env.ok(
        "POST",
        &zones,
        Some(
            json!({"name": "mesh", "dnsName": "mesh.example.", "description": "mesh",
        "visibility": "private", "privateVisibilityConfig": {"networks": [{"networkUrl":
        format!("https://www.googleapis.com/compute/v1/projects/{P}/global/networks/mesh-vpc")}]}}),
        ),
    )
    .await;
    env.ok("GET", &format!("{zones}/mesh"), None).await;
    env.ok("GET", &zones, None).await;
    env.ok(
        "POST",
        &format!("{zones}/mesh/rrsets"),
        Some(json!({"name": "*.mesh.example.", "type": "A", "ttl": 3600, "rrdatas": ["10.0.0.1"]})),
    )
    .await;
    env.ok(
        "GET",
        &format!("{zones}/mesh/rrsets?name=*.mesh.example.&type=A"),
        None,
    )
    .await;
    env.ok(
        "PATCH",
        &format!("{zones}/mesh/rrsets/*.mesh.example./A"),
        Some(json!({"ttl": 300})),
    )
    .await;
    let change = env
        .ok(
            "POST",
            &format!("{zones}/mesh/changes"),
            Some(json!({"additions":
        [{"name": "x.mesh.example.", "type": "A", "ttl": 300, "rrdatas": ["10.0.0.2"]}]})),
        )
        .await;
    env.ok(
        "GET",
        &format!("{zones}/mesh/changes/{}", change["id"].as_str().unwrap()),
        None,
    )
    .await;
    env.ok(
        "PATCH",
        &format!("{zones}/mesh"),
        Some(json!({"description": "updated"})),
    )
    .await;
    // Error answers are logged too (the checker skips non-2xx response bodies).
    env.call("DELETE", &format!("{zones}/mesh"), None).await;
    env.call("GET", &env.run("services/missing"), None).await;
    env.ok(
        "DELETE",
        &format!("{zones}/mesh/rrsets/*.mesh.example./A"),
        None,
    )
    .await;
    env.ok(
        "DELETE",
        &format!("{zones}/mesh/rrsets/x.mesh.example./A"),
        None,
    )
    .await;
    env.ok("DELETE", &format!("{zones}/mesh"), None).await;
    let del = env.ok("DELETE", &env.run("services/client"), None).await;
    env.finish_run(&del).await;
    env.ok(
        "GET",
        &format!("/cloudresourcemanager/v1/projects/{NUMBER}"),
        None,
    )
    .await;
}

#[tokio::test]
async fn request_log_of_a_full_scenario_conforms_to_the_discovery_documents() {
    let tool = conformance_tool();
    let log = std::env::temp_dir().join(format!(
        "csmrun-emulator-conformance-{}.jsonl",
        std::process::id()
    ));
    let env = Env::frozen_with(csmrun_emulator::Config {
        request_log: Some(log.clone()),
        ..Default::default()
    })
    .await;
    scenario(&env).await;
    let out = Command::new("python3")
        .arg(&tool)
        .arg("check")
        .arg(&log)
        .output()
        .expect("running python3");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&log).ok();
    println!("{report}");
    assert!(
        out.status.success(),
        "gcp-conformance check failed:\n{report}"
    );
    assert!(report.contains(" 0 nonconforming"), "{report}");
}
