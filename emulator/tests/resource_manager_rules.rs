//! Resource Manager v1 project and project-IAM rules over HTTP: one test per rule.

mod common;

use common::*;
use serde_json::{json, Value};

fn path(rest: &str) -> String {
    format!("/cloudresourcemanager/v1/projects/{rest}")
}

async fn get_policy(env: &Env) -> Value {
    env.ok(
        "POST",
        &path(&format!("{P}:getIamPolicy")),
        Some(json!({"options": {"requestedPolicyVersion": 3}})),
    )
    .await
}

#[tokio::test]
async fn project_get_accepts_id_and_number() {
    let env = Env::start().await;
    let by_id = env.ok("GET", &path(P), None).await;
    let by_number = env.ok("GET", &path(NUMBER), None).await;
    assert_eq!(by_id["projectNumber"], NUMBER);
    assert_eq!(by_number["projectId"], P);
    assert_eq!(by_id["lifecycleState"], "ACTIVE");
}

#[tokio::test]
async fn unknown_project_is_403_permission_denied() {
    let env = Env::start().await;
    let (status, body) = env
        .call("POST", &path("nope:getIamPolicy"), Some(json!({})))
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
}

#[tokio::test]
async fn every_policy_write_changes_the_etag() {
    let env = Env::start().await;
    let first = get_policy(&env).await;
    let member = format!("serviceAccount:{CLIENT_SA}");
    let mut policy = first.clone();
    policy["bindings"] = json!([{"role": "roles/trafficdirector.client", "members": [member]}]);
    let second = env
        .ok(
            "POST",
            &path(&format!("{P}:setIamPolicy")),
            Some(json!({"policy": policy})),
        )
        .await;
    assert_ne!(first["etag"], second["etag"]);
    let mut again = second.clone();
    again["bindings"] = second["bindings"].clone();
    let third = env
        .ok(
            "POST",
            &path(&format!("{P}:setIamPolicy")),
            Some(json!({"policy": again})),
        )
        .await;
    assert_ne!(second["etag"], third["etag"]);
}

#[tokio::test]
async fn stale_project_policy_etag_is_409_aborted_with_googles_message() {
    let env = Env::start().await;
    let read = get_policy(&env).await;
    env.ok(
        "POST",
        &path(&format!("{P}:setIamPolicy")),
        Some(json!({"policy": read.clone()})),
    )
    .await;
    let (status, body) = env
        .call(
            "POST",
            &path(&format!("{P}:setIamPolicy")),
            Some(json!({"policy": read})),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["status"], "ABORTED");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."));
}

#[tokio::test]
async fn conditional_bindings_are_kept_and_need_policy_version_3() {
    let env = Env::start().await;
    let read = get_policy(&env).await;
    let conditional = json!([{"role": "roles/viewer", "members": ["user:a@example.com"],
        "condition": {"title": "t", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}}]);
    let (status, _) = env
        .call(
            "POST",
            &path(&format!("{P}:setIamPolicy")),
            Some(json!({"policy": {"bindings": conditional, "etag": read["etag"], "version": 1}})),
        )
        .await;
    assert_eq!(status, 400);
    let written = env
        .ok(
            "POST",
            &path(&format!("{P}:setIamPolicy")),
            Some(json!({"policy": {"bindings": conditional, "etag": read["etag"], "version": 3}})),
        )
        .await;
    assert_eq!(written["version"], 3);
    let again = get_policy(&env).await;
    assert_eq!(again["bindings"][0]["condition"]["title"], "t");
}

#[tokio::test]
async fn policy_without_conditions_reports_version_1_like_google() {
    let env = Env::start().await;
    assert_eq!(get_policy(&env).await["version"], 1);
}

#[tokio::test]
async fn a_new_binding_becomes_effective_only_after_the_propagation_delay() {
    let env = Env::start().await;
    let member = format!("serviceAccount:{CLIENT_SA}");
    env.grant("roles/trafficdirector.client", &member).await;
    let effective = |env: &Env| {
        env.emu.with_world(|w| {
            let now = w.now();
            w.project(P)
                .unwrap()
                .policy
                .is_effective("roles/trafficdirector.client", &member, now)
        })
    };
    assert!(!effective(&env));
    env.advance("89s").await;
    assert!(!effective(&env));
    env.advance("1s").await;
    assert!(effective(&env));
}

#[tokio::test]
async fn unknown_service_account_of_a_known_project_is_400() {
    let env = Env::start().await;
    let read = get_policy(&env).await;
    let bindings = json!([{"role": "roles/viewer",
        "members": ["serviceAccount:ghost@demo-project.iam.gserviceaccount.com"]}]);
    let (status, body) = env
        .call(
            "POST",
            &path(&format!("{P}:setIamPolicy")),
            Some(json!({"policy": {"bindings": bindings, "etag": read["etag"]}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn projects_refuse_public_principals() {
    let env = Env::start().await;
    let read = get_policy(&env).await;
    let bindings = json!([{"role": "roles/viewer", "members": ["allUsers"]}]);
    let (status, _) = env
        .call(
            "POST",
            &path(&format!("{P}:setIamPolicy")),
            Some(json!({"policy": {"bindings": bindings, "etag": read["etag"]}})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn project_set_iam_policy_without_a_policy_is_400() {
    // cloudresourcemanager.v1.json SetIamPolicyRequest.policy: "REQUIRED: The complete policy to be applied to the
    // `resource`."
    let env = Env::start().await;
    let (status, err) = env
        .call("POST", &path(&format!("{P}:setIamPolicy")), Some(json!({})))
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["status"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn project_get_answers_the_read_only_fields_google_documents() {
    // cloudresourcemanager.v1.json Project createTime, lifecycleState, projectNumber: "Read-only."
    let env = Env::start().await;
    let project = env.ok("GET", &path(P), None).await;
    for field in ["createTime", "lifecycleState", "projectNumber", "projectId"] {
        assert!(project.get(field).is_some(), "missing {field}: {project}");
    }
}
