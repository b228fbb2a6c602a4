//! Cloud Run Admin v2 rules over HTTP against a started emulator (demo seed, frozen clock): one test per rule.

mod common;

use common::*;
use serde_json::{json, Value};

async fn create(env: &Env, id: &str, body: Value) -> Value {
    env.ok(
        "POST",
        &env.run(&format!("services?serviceId={id}")),
        Some(body),
    )
    .await
}

async fn service(env: &Env, id: &str) -> Value {
    env.ok("GET", &env.run(&format!("services/{id}")), None)
        .await
}

#[tokio::test]
async fn create_answers_a_pending_operation_with_the_service_as_metadata() {
    let env = Env::start().await;
    let op = create(&env, "hello", plain("gcr.io/cloudrun/hello")).await;
    assert!(op["name"]
        .as_str()
        .unwrap()
        .starts_with(&format!("projects/{P}/locations/{R}/operations/")));
    assert!(op.get("done").is_none(), "{op}");
    assert_eq!(
        op["metadata"]["@type"],
        "type.googleapis.com/google.cloud.run.v2.Service"
    );
    assert_eq!(op["metadata"]["reconciling"], true);
    assert_eq!(
        op["metadata"]["terminalCondition"]["state"],
        "CONDITION_PENDING"
    );
}

#[tokio::test]
async fn finished_create_fills_output_only_fields_like_google() {
    let env = Env::start().await;
    let op = create(&env, "hello", plain("gcr.io/cloudrun/hello")).await;
    let done = env.finish_run(&op).await;
    assert_eq!(
        done["response"]["@type"],
        "type.googleapis.com/google.cloud.run.v2.Service"
    );
    let s = service(&env, "hello").await;
    for field in [
        "uid",
        "generation",
        "createTime",
        "updateTime",
        "etag",
        "creator",
        "observedGeneration",
    ] {
        assert!(s.get(field).is_some(), "missing {field}: {s}");
    }
    assert_eq!(s["generation"], "1");
    assert_eq!(s["observedGeneration"], "1");
    assert_eq!(s["reconciling"], false);
    assert_eq!(s["terminalCondition"]["type"], "Ready");
    assert_eq!(s["terminalCondition"]["state"], "CONDITION_SUCCEEDED");
    let rev = s["latestReadyRevision"].as_str().unwrap();
    assert_eq!(s["latestCreatedRevision"], rev);
    let rev_id = rev.rsplit('/').next().unwrap();
    assert!(
        rev_id.starts_with("hello-00001-") && rev_id.len() == "hello-00001-xyz".len(),
        "{rev_id}"
    );
    let uri = s["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("https://hello-") && uri.ends_with("-an.a.run.app"),
        "{uri}"
    );
    assert_eq!(s["urls"][0], format!("https://hello-{NUMBER}.{R}.run.app"));
    assert_eq!(s["trafficStatuses"][0]["percent"], 100);
    assert_eq!(
        s["template"]["containers"][0]["ports"][0]["containerPort"],
        8080
    );
    assert_eq!(
        s["template"]["serviceAccount"],
        format!("{NUMBER}-compute@developer.gserviceaccount.com")
    );
}

#[tokio::test]
async fn creating_a_taken_name_is_409_already_exists() {
    let env = Env::start().await;
    create(&env, "hello", plain("img")).await;
    let (status, body) = env
        .call(
            "POST",
            &env.run("services?serviceId=hello"),
            Some(plain("img")),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["status"], "ALREADY_EXISTS");
    assert_eq!(body["error"]["message"], "Resource 'hello' already exists.");
}

#[tokio::test]
async fn getting_a_missing_service_is_404_with_cloud_runs_message() {
    let env = Env::start().await;
    let (status, body) = env.call("GET", &env.run("services/nope"), None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"]["message"],
        format!(
            "Resource 'nope' of kind 'SERVICE' in region '{R}' in project '{P}' does not exist."
        )
    );
    assert!(body["error"].get("errors").is_none());
}

#[tokio::test]
async fn project_number_and_id_name_the_same_service() {
    let env = Env::start().await;
    env.ok(
        "POST",
        &format!("/run/v2/projects/{NUMBER}/locations/{R}/services?serviceId=hello"),
        Some(plain("img")),
    )
    .await;
    let s = env
        .ok(
            "GET",
            &format!("/run/v2/projects/{NUMBER}/locations/{R}/services/hello"),
            None,
        )
        .await;
    assert_eq!(
        s["name"],
        format!("projects/{P}/locations/{R}/services/hello")
    );
}

#[tokio::test]
async fn list_with_location_dash_is_refused_and_a_region_lists_only_its_own() {
    let env = Env::start().await;
    create(&env, "a", plain("img")).await;
    env.ok(
        "POST",
        &format!("/run/v2/projects/{P}/locations/us-central1/services?serviceId=b"),
        Some(plain("img")),
    )
    .await;
    let (status, body) = env
        .call(
            "GET",
            &format!("/run/v2/projects/{P}/locations/-/services"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be the \"-\" wildcard"),
        "{body}"
    );
    assert!(body["error"].get("errors").is_none(), "{body}");
    let one = env.ok("GET", &env.run("services"), None).await;
    assert_eq!(one["services"].as_array().unwrap().len(), 1);
    assert_eq!(
        one["services"][0]["name"],
        format!("projects/{P}/locations/{R}/services/a")
    );
}

fn sized(cpu: &str, memory: &str) -> Value {
    json!({"template": {"containers": [{"image": "img",
        "resources": {"cpuIdle": true, "limits": {"cpu": cpu, "memory": memory}}}]}})
}

async fn refusal(env: &Env, body: Value) -> String {
    let (status, out) = env
        .call("POST", &env.run("services?serviceId=sized"), Some(body))
        .await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(out["error"]["status"], "INVALID_ARGUMENT", "{out}");
    out["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn cpu_counts_other_than_1_2_4_6_8_or_a_fraction_are_refused() {
    let env = Env::start().await;
    for cpu in ["3", "5", "16", "0.05", "0.0805", "one"] {
        let m = refusal(&env, sized(cpu, "4Gi")).await;
        assert!(
            m.contains("limits.cpu") && m.contains("Invalid value specified for cpu"),
            "{cpu}: {m}"
        );
    }
    for cpu in ["1", "2", "4", "6", "8", "0.08", "500m"] {
        let memory = if cpu == "0.08" || cpu == "500m" {
            "512Mi"
        } else {
            "4Gi"
        };
        let (status, out) = env
            .call(
                "POST",
                &env.run(&format!("services?serviceId=ok-{}", cpu.replace('.', "-"))),
                Some(sized(cpu, memory)),
            )
            .await;
        assert_eq!(status, 200, "{cpu}: {out}");
    }
}

#[tokio::test]
async fn memory_outside_the_cpus_range_is_refused_with_the_range() {
    let env = Env::start().await;
    let m = refusal(&env, sized("8", "2Gi")).await;
    assert!(m.contains("limits.memory"), "{m}");
    assert!(
        m.contains("Invalid value specified for memory. For 8.0 CPU, memory must be between 4Gi and 32Gi inclusive."),
        "{m}"
    );
    let m = refusal(&env, sized("1", "8Gi")).await;
    assert!(
        m.contains("For 1.0 CPU, memory must be between 128Mi and 4Gi inclusive."),
        "{m}"
    );
    let m = refusal(&env, sized("0.4", "1Gi")).await;
    assert!(
        m.contains("For 0.4 CPU, memory must be between 128Mi and 512Mi"),
        "{m}"
    );
    let m = refusal(&env, sized("4", "1Gi")).await;
    assert!(m.contains("between 2Gi and 16Gi"), "{m}");
}

#[tokio::test]
async fn below_one_cpu_concurrency_gen2_and_always_allocated_cpu_are_refused() {
    let env = Env::start().await;
    let mut body = sized("0.5", "512Mi");
    body["template"]["maxInstanceRequestConcurrency"] = json!(10);
    let m = refusal(&env, body).await;
    assert!(
        m.contains("Total cpu < 1 is not supported with concurrency > 1."),
        "{m}"
    );
    let mut body = sized("0.5", "512Mi");
    body["template"]["executionEnvironment"] = json!("EXECUTION_ENVIRONMENT_GEN2");
    let m = refusal(&env, body).await;
    assert!(
        m.contains("Total cpu < 1 is not supported with gen2"),
        "{m}"
    );
    // Resources given without cpuIdle: true mean CPU always allocated (run.v2.json, cpuIdle).
    let body = json!({"template": {"containers": [{"image": "img",
        "resources": {"limits": {"cpu": "0.5", "memory": "512Mi"}}}]}});
    let m = refusal(&env, body).await;
    assert!(
        m.contains("Total cpu < 1 is not supported with cpu always allocated."),
        "{m}"
    );
    // Accepted below one CPU, concurrency defaults to 1 (run.v2.json, maxInstanceRequestConcurrency).
    let op = create(&env, "small", sized("0.5", "512Mi")).await;
    env.finish_run(&op).await;
    assert_eq!(
        service(&env, "small").await["template"]["maxInstanceRequestConcurrency"],
        1
    );
}

#[tokio::test]
async fn a_patch_to_a_refused_size_is_refused_and_changes_nothing() {
    let env = Env::start().await;
    env.finish_run(&create(&env, "hello", sized("1", "512Mi")).await)
        .await;
    let (status, out) = env
        .call("PATCH", &env.run("services/hello"), Some(sized("3", "4Gi")))
        .await;
    assert_eq!(status, 400, "{out}");
    let s = service(&env, "hello").await;
    assert_eq!(s["generation"], "1");
    assert_eq!(
        s["template"]["containers"][0]["resources"]["limits"]["cpu"],
        "1"
    );
}

#[tokio::test]
async fn patch_with_allow_missing_creates_the_service() {
    let env = Env::start().await;
    let op = env
        .ok(
            "PATCH",
            &env.run("services/upserted?allowMissing=true"),
            Some(plain("img")),
        )
        .await;
    env.finish_run(&op).await;
    assert_eq!(service(&env, "upserted").await["generation"], "1");
}

#[tokio::test]
async fn patch_of_a_missing_service_without_allow_missing_is_404() {
    let env = Env::start().await;
    let (status, body) = env
        .call("PATCH", &env.run("services/ghost"), Some(plain("img")))
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn patch_with_a_new_template_deploys_revision_00002() {
    let env = Env::start().await;
    env.finish_run(&create(&env, "hello", plain("img:1")).await)
        .await;
    let op = env
        .ok("PATCH", &env.run("services/hello"), Some(plain("img:2")))
        .await;
    env.finish_run(&op).await;
    let s = service(&env, "hello").await;
    assert_eq!(s["generation"], "2");
    assert!(
        s["latestReadyRevision"]
            .as_str()
            .unwrap()
            .contains("/revisions/hello-00002-"),
        "{s}"
    );
    let revs = env
        .ok("GET", &env.run("services/hello/revisions"), None)
        .await;
    assert_eq!(revs["revisions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn stale_service_etag_on_delete_is_409_aborted() {
    let env = Env::start().await;
    env.finish_run(&create(&env, "hello", plain("img")).await)
        .await;
    let (status, body) = env
        .call("DELETE", &env.run("services/hello?etag=stale"), None)
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["status"], "ABORTED");
}

#[tokio::test]
async fn delete_removes_the_service_when_its_operation_is_done() {
    let env = Env::start().await;
    env.finish_run(&create(&env, "hello", plain("img")).await)
        .await;
    let op = env.ok("DELETE", &env.run("services/hello"), None).await;
    assert!(op["metadata"]["deleteTime"].is_string());
    let done = env.finish_run(&op).await;
    assert!(done["response"]["expireTime"].is_string());
    let (status, _) = env.call("GET", &env.run("services/hello"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn operations_wait_returns_the_finished_operation() {
    let env = Env::start().await;
    let op = create(&env, "hello", plain("img")).await;
    env.advance("600s").await;
    let name = op["name"].as_str().unwrap();
    let done = env
        .ok(
            "POST",
            &format!("/run/v2/{name}:wait"),
            Some(json!({"timeout": "10s"})),
        )
        .await;
    assert_eq!(done["done"], true);
    assert!(done["response"]["uri"].is_string());
}

#[tokio::test]
async fn service_iam_policy_rejects_a_stale_etag_with_409_aborted() {
    let env = Env::start().await;
    env.finish_run(&create(&env, "hello", plain("img")).await)
        .await;
    let path = env.run("services/hello");
    let policy = env.service_iam_policy(&path).await;
    let binding = client_invoker_bindings();
    let set = json!({"policy": {"bindings": binding, "etag": policy["etag"]}});
    let written = env
        .ok("POST", &format!("{path}:setIamPolicy"), Some(set.clone()))
        .await;
    assert_ne!(written["etag"], policy["etag"]);
    assert_eq!(written["bindings"][0]["role"], "roles/run.invoker");
    let (status, body) = env
        .call("POST", &format!("{path}:setIamPolicy"), Some(set))
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["status"], "ABORTED");
}

#[tokio::test]
async fn service_mesh_needs_a_beta_launch_stage() {
    let env = Env::start().await;
    let mut body = mesh_client("img");
    body["launchStage"] = json!("GA");
    let (status, body) = env
        .call("POST", &env.run("services?serviceId=client"), Some(body))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least as BETA"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_body_field_is_400_with_googles_message() {
    let env = Env::start().await;
    let (status, body) = env
        .call(
            "POST",
            &env.run("services?serviceId=x"),
            Some(json!({"template": {"bogus": true}})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        body["error"]["message"],
        "Invalid JSON payload received. Unknown name \"bogus\" at 'template': Cannot find field."
    );
    assert_eq!(
        body["error"]["details"][0]["@type"],
        "type.googleapis.com/google.rpc.BadRequest"
    );
}

#[tokio::test]
async fn wrong_json_type_is_400_invalid_value() {
    let env = Env::start().await;
    let body = json!({"template": {"containers": [{"image": "img"}], "maxInstanceRequestConcurrency": "lots"}});
    let (status, body) = env
        .call("POST", &env.run("services?serviceId=x"), Some(body))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid value at 'template.max_instance_request_concurrency'"));
}

#[tokio::test]
async fn missing_container_image_is_400() {
    let env = Env::start().await;
    let body = json!({"template": {"containers": [{"name": "app"}]}});
    let (status, body) = env
        .call("POST", &env.run("services?serviceId=x"), Some(body))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("image"));
}

#[tokio::test]
async fn calls_without_a_bearer_token_are_401() {
    let env = Env::start().await;
    let resp = env
        .http
        .get(env.url(&env.run("services")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn unknown_paths_are_googles_html_404() {
    let env = Env::start().await;
    let (status, body) = env
        .call("GET", "/run/v2/projects/p/nothing/here", None)
        .await;
    assert_eq!(status, 404);
    assert!(body.as_str().unwrap().contains("That’s an error."));
}

#[tokio::test]
async fn launch_stage_reads_back_as_the_least_stable_stage_actually_used() {
    let env = Env::start().await;
    let mut plain_beta = plain("img");
    plain_beta["launchStage"] = json!("BETA");
    create(&env, "plain", plain_beta).await;
    assert_eq!(service(&env, "plain").await["launchStage"], "GA");
    let mut mesh_alpha = mesh_client("img");
    mesh_alpha["launchStage"] = json!("ALPHA");
    create(&env, "meshy", mesh_alpha).await;
    assert_eq!(service(&env, "meshy").await["launchStage"], "BETA");
}

#[tokio::test]
async fn traffic_to_a_missing_revision_fails_the_operation_with_code_13() {
    let env = Env::start().await;
    env.finish_run(&create(&env, "hello", plain("img")).await)
        .await;
    let mut body = plain("img:2");
    body["traffic"] = json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "hello-00042-zzz",
                              "percent": 100}]);
    let op = env
        .ok("PATCH", &env.run("services/hello"), Some(body))
        .await;
    let done = env.finish_run(&op).await;
    assert_eq!(done["error"]["code"], 13);
    assert_eq!(
        done["error"]["message"],
        "Revision 'hello-00042-zzz' does not exist or is deleted."
    );
}

#[tokio::test]
async fn wait_blocks_until_the_operation_is_done_on_a_running_clock() {
    // Real clock at 1/1000 of nominal durations: the 20 s create takes 20 ms of real time.
    let env = Env::with(csmrun_emulator::Config {
        frozen_at: None,
        time_scale: Some(0.001),
        ..Default::default()
    })
    .await;
    let op = create(&env, "hello", plain("img")).await;
    assert!(op.get("done").is_none());
    let name = op["name"].as_str().unwrap();
    let done = env
        .ok(
            "POST",
            &format!("/run/v2/{name}:wait"),
            Some(json!({"timeout": "30s"})),
        )
        .await;
    assert_eq!(done["done"], true, "{done}");
}

#[tokio::test]
async fn service_iam_accepts_all_users_but_not_unknown_service_accounts_of_the_project() {
    let env = Env::start().await;
    env.finish_run(&create(&env, "hello", plain("img")).await)
        .await;
    let path = env.run("services/hello");
    let read = env.ok("GET", &format!("{path}:getIamPolicy"), None).await;
    let public = json!({"policy": {"etag": read["etag"],
        "bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}});
    let written = env
        .ok("POST", &format!("{path}:setIamPolicy"), Some(public))
        .await;
    let ghost = json!({"policy": {"etag": written["etag"], "bindings": [{"role": "roles/run.invoker",
        "members": ["serviceAccount:ghost@demo-project.iam.gserviceaccount.com"]}]}});
    let (status, body) = env
        .call("POST", &format!("{path}:setIamPolicy"), Some(ghost))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["message"],
        "Service account ghost@demo-project.iam.gserviceaccount.com does not exist."
    );
}

#[tokio::test]
async fn revisions_carry_only_template_fields_that_exist_on_revision() {
    let env = Env::start().await;
    let mut body = plain("img");
    body["template"]["healthCheckDisabled"] = json!(true);
    body["template"]["revision"] = json!("hello-explicit");
    env.finish_run(&create(&env, "hello", body).await).await;
    let rev = env
        .ok(
            "GET",
            &env.run("services/hello/revisions/hello-explicit"),
            None,
        )
        .await;
    assert!(rev.get("healthCheckDisabled").is_none(), "{rev}");
    assert_eq!(rev["containers"][0]["image"], "img");
    assert_eq!(
        rev["service"],
        format!("projects/{P}/locations/{R}/services/hello")
    );
}

#[tokio::test]
async fn an_explicit_revision_name_must_start_with_the_service_name() {
    let env = Env::start().await;
    let mut body = plain("img");
    body["template"]["revision"] = json!("other-00001");
    let (status, body) = env
        .call("POST", &env.run("services?serviceId=hello"), Some(body))
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn fields_documented_as_required_must_be_present() {
    let env = Env::start().await;
    let body =
        json!({"template": {"containers": [{"image": "img", "env": [{"value": "no name"}]}]}});
    let (status, body) = env
        .call("POST", &env.run("services?serviceId=x"), Some(body))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Violation in service.template.containers[0].env[0].name: missing required field"
    );
}

#[tokio::test]
async fn output_only_fields_sent_on_create_are_ignored() {
    // run.v2.json marks uid, generation, createTime, creator and uri "Output only."
    let env = Env::start().await;
    let mut body = plain("img");
    body["uid"] = json!("client-uid");
    body["generation"] = json!("42");
    body["createTime"] = json!("2000-01-01T00:00:00Z");
    body["creator"] = json!("someone@example.com");
    body["uri"] = json!("https://client.example.com");
    env.finish_run(&create(&env, "ignored", body).await).await;
    let s = service(&env, "ignored").await;
    assert_ne!(s["uid"], "client-uid", "{s}");
    assert_eq!(s["generation"], "1", "{s}");
    assert_ne!(s["createTime"], "2000-01-01T00:00:00Z", "{s}");
    assert_ne!(s["creator"], "someone@example.com", "{s}");
    assert_ne!(s["uri"], "https://client.example.com", "{s}");
    for field in [
        "uri",
        "urls",
        "lastModifier",
        "conditions",
        "trafficStatuses",
    ] {
        assert!(s.get(field).is_some(), "missing {field}: {s}");
    }
}

#[tokio::test]
async fn a_service_id_must_begin_with_a_letter_not_end_with_a_hyphen_and_have_fewer_than_50_characters(
) {
    // run.v2.json serviceId: "It must begin with letter, and cannot end with hyphen; must contain fewer than 50
    // characters."
    let env = Env::start().await;
    let long = format!("a{}", "b".repeat(49));
    for bad in ["1abc", "abc-", long.as_str()] {
        let (status, body) = env
            .call(
                "POST",
                &env.run(&format!("services?serviceId={bad}")),
                Some(plain("img")),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    }
    let fine = "a".repeat(49);
    create(&env, &fine, plain("img")).await;
}

#[tokio::test]
async fn a_service_name_with_an_extra_path_segment_matches_no_method() {
    // run.v2.json name pattern ^projects/[^/]+/locations/[^/]+/services/[^/]+$: a segment cannot hold a '/'.
    let env = Env::start().await;
    let (status, body) = env.call("GET", &env.run("services/a/b"), None).await;
    assert_eq!(status, 404);
    assert!(
        body.as_str()
            .is_some_and(|b| b.contains("That’s an error.")),
        "{body}"
    );
}

#[tokio::test]
async fn services_list_returns_at_most_page_size_services_and_a_token_for_the_rest() {
    // run.v2.json pageSize: "Maximum number of Services to return in this call."
    let env = Env::start().await;
    create(&env, "one", plain("img")).await;
    create(&env, "two", plain("img")).await;
    let first = env.ok("GET", &env.run("services?pageSize=1"), None).await;
    assert_eq!(
        first["services"].as_array().map(Vec::len),
        Some(1),
        "{first}"
    );
    let token = first["nextPageToken"].as_str().expect("nextPageToken");
    let second = env
        .ok(
            "GET",
            &env.run(&format!("services?pageSize=1&pageToken={token}")),
            None,
        )
        .await;
    assert_eq!(
        second["services"].as_array().map(Vec::len),
        Some(1),
        "{second}"
    );
    assert_ne!(first["services"][0]["name"], second["services"][0]["name"]);
    assert!(second.get("nextPageToken").is_none(), "{second}");
}

#[tokio::test]
async fn only_one_vpc_network_interface_is_accepted() {
    // run.v2.json VpcAccess.networkInterfaces: "Currently only single network interface is supported."
    let env = Env::start().await;
    let mut body = plain("img");
    body["template"]["vpcAccess"] = json!({"networkInterfaces": [
        {"network": "mesh-vpc", "subnetwork": "mesh-subnet"},
        {"network": "mesh-vpc", "subnetwork": "mesh-subnet"}]});
    let (status, err) = env
        .call("POST", &env.run("services?serviceId=two-nics"), Some(body))
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("network_interfaces")),
        "{err}"
    );
}

#[tokio::test]
async fn service_set_iam_policy_without_a_policy_is_400() {
    // run.v2.json SetIamPolicyRequest.policy: "REQUIRED: The complete policy to be applied to the `resource`."
    let env = Env::start().await;
    create(&env, "nopolicy", plain("img")).await;
    let (status, err) = env
        .call(
            "POST",
            &env.run("services/nopolicy:setIamPolicy"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["status"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn a_revision_carries_the_output_only_fields_google_documents() {
    // run.v2.json Revision: name, uid, generation, createTime, updateTime, creator, labels, annotations, service,
    // reconciling, observedGeneration, conditions, logUri, scalingStatus, etag are "Output only."
    let env = Env::start().await;
    env.finish_run(&create(&env, "outputs", plain("img")).await)
        .await;
    let s = service(&env, "outputs").await;
    let rev = s["latestReadyRevision"]
        .as_str()
        .expect("latestReadyRevision");
    let r = env.ok("GET", &format!("/run/v2/{rev}"), None).await;
    for field in [
        "name",
        "uid",
        "generation",
        "createTime",
        "updateTime",
        "creator",
        "labels",
        "annotations",
        "service",
        "reconciling",
        "observedGeneration",
        "conditions",
        "logUri",
        "scalingStatus",
        "etag",
    ] {
        assert!(r.get(field).is_some(), "missing {field}: {r}");
    }
    assert_eq!(r["service"], s["name"]);
    assert_eq!(r["reconciling"], false);
}

#[tokio::test]
async fn a_fractional_request_timeout_reads_back_in_proto3_form() {
    let env = Env::start().await;
    let mut body = plain("gcr.io/cloudrun/hello");
    body["template"]["timeout"] = json!("1.5s");
    let op = create(&env, "frac", body).await;
    env.finish_run(&op).await;
    let s = service(&env, "frac").await;
    assert_eq!(s["template"]["timeout"], "1.500s", "{s}");
    assert_eq!(s["generation"], "1", "int64 fields are JSON strings");
}

#[tokio::test]
async fn listed_services_are_what_get_answers_and_a_service_being_deleted_is_only_got() {
    // run.v2.json: services.list answers GoogleCloudRunV2ListServicesResponse, whose `services` are
    // GoogleCloudRunV2Service, the schema services.get answers; `showDeleted`: "If true, returns deleted (but
    // unexpired) resources along with active ones."
    let env = Env::start().await;
    for id in ["one", "two", "going"] {
        let op = create(&env, id, plain("img")).await;
        env.finish_run(&op).await;
    }
    env.ok("DELETE", &env.run("services/going"), None).await;
    let list = env.ok("GET", &env.run("services"), None).await;
    let listed = list["services"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = listed.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names.len(), 2, "the deleting service is left out: {list}");
    for item in &listed {
        let name = item["name"].as_str().expect("name");
        let got = env.ok("GET", &format!("/run/v2/{name}"), None).await;
        assert_eq!(item, &got, "list item and GET of {name}");
    }
    let going = env.ok("GET", &env.run("services/going"), None).await;
    assert!(going.get("deleteTime").is_some(), "{going}");
    let with_deleted = env
        .ok("GET", &env.run("services?showDeleted=true"), None)
        .await;
    assert_eq!(
        with_deleted["services"].as_array().map(Vec::len),
        Some(3),
        "{with_deleted}"
    );
}
