//! Runs a full mesh-client scenario against the emulator and checks its request log (requests AND responses)
//! with the emulator's own conformance checker (`csmrun_emulator::conformance`, also the `csmrun-emulator
//! conformance` subcommand), which validates every call against Google's discovery documents.

mod common;

use common::*;
use csmrun_emulator::conformance::Report;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

/// Kept under the test target directory (truncated on every run) so a failure can be looked at.
fn log_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance_log");
    std::fs::create_dir_all(&dir).expect("creating the test's log directory");
    dir.join(name)
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
    let log = log_path("scenario.jsonl");
    let env = Env::frozen_with(csmrun_emulator::Config {
        request_log: Some(log.clone()),
        ..Default::default()
    })
    .await;
    scenario(&env).await;
    let text = std::fs::read_to_string(&log).expect("reading the request log");
    let mut report = Report::default();
    report.add_log(&log.display().to_string(), &text);
    let rendered = report.render();
    println!("{rendered}");
    assert!(
        report.conforms(),
        "the request log does not conform:\n{rendered}"
    );
    // The scenario touches four APIs; a log that lost most of its lines must not pass as "conforming".
    assert!(report.requests >= 25, "{rendered}");
    for method in [
        "run.projects.locations.services.create",
        "run.projects.locations.operations.wait",
        "dns.resourceRecordSets.patch",
        "dns.changes.create",
        "cloudresourcemanager.projects.get",
    ] {
        assert!(
            report.methods.contains_key(method),
            "{method} not logged:\n{rendered}"
        );
    }
}

/// The subcommand fails on a log with a nonconforming call, names it, and passes a conforming one.
#[test]
fn conformance_subcommand_exits_1_and_names_every_nonconforming_request() {
    let good = json!({"method": "GET", "path": "/cloudresourcemanager/v1/projects/p", "query": {},
                      "body": "", "status": 200, "response": {"projectId": "p"}});
    let bad_query = json!({"method": "GET", "path": "/dns/v1/projects/p/managedZones",
                           "query": {"pageSize": "10"}, "body": "", "status": 200, "response": {}});
    let bad_answer = json!({"method": "GET", "path": "/run/v2/projects/p/locations/r/services/s",
                            "query": {}, "body": "", "status": 200,
                            "response": {"name": "projects/p/locations/r/services/s", "generation": 2}});
    let good_log = log_path("good.jsonl");
    let bad_log = log_path("bad.jsonl");
    std::fs::write(&good_log, format!("{good}\n")).unwrap();
    std::fs::write(&bad_log, format!("{good}\n{bad_query}\n{bad_answer}\n")).unwrap();
    let run = |logs: &[&PathBuf]| {
        let out = Command::new(env!("CARGO_BIN_EXE_csmrun-emulator"))
            .arg("conformance")
            .args(logs)
            .output()
            .expect("running csmrun-emulator conformance");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, stdout) = run(&[&good_log]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.ends_with("1 requests, 1 methods, 0 nonconforming requests (0 problems)\n"),
        "{stdout}"
    );
    let (code, stdout) = run(&[&good_log, &bad_log]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(&format!(
        "NONCONFORMING {}:2: GET /dns/v1/projects/p/managedZones: query parameter 'pageSize' is not a parameter of dns.managedZones.list",
        bad_log.display()
    )), "{stdout}");
    assert!(stdout.contains(&format!(
        "NONCONFORMING {}:3: GET /run/v2/projects/p/locations/r/services/s: response.generation: expected int64 as a decimal string",
        bad_log.display()
    )), "{stdout}");
    assert!(
        stdout.contains("4 requests, 3 methods, 2 nonconforming requests (2 problems)"),
        "{stdout}"
    );
}
