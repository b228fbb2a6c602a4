//! Compute v1 rules over HTTP against a started emulator (demo seed, frozen clock): one test per rule.

mod common;

use common::*;
use serde_json::{json, Value};

impl Env {
    async fn compute(&self, method: &str, rel: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, &format!("/compute/v1/projects/{rel}"), body)
            .await
    }

    /// Lets `op` finish and returns it as `get` on its selfLink answers.
    async fn finish(&self, op: &Value) -> Value {
        self.advance("600s").await;
        let link = op["selfLink"].as_str().expect("operation selfLink");
        let rel = link.split("/compute/v1/").nth(1).unwrap();
        let (status, done) = self.call("GET", &format!("/compute/v1/{rel}"), None).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["status"], "DONE", "{done}");
        done
    }

    async fn ok_op(&self, method: &str, rel: &str, body: Option<Value>) -> Value {
        let (status, op) = self.compute(method, rel, body).await;
        assert_eq!(status, 200, "{method} {rel}: {op}");
        let done = self.finish(&op).await;
        assert!(done.get("error").is_none(), "{done}");
        done
    }

    async fn neg(&self, name: &str) {
        let body = json!({"name": name, "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "svc"}});
        self.ok_op("POST", &negs(""), Some(body)).await;
    }

    async fn backend_service(&self, name: &str, neg: &str) {
        let body = json!({
            "name": name, "loadBalancingScheme": "INTERNAL_SELF_MANAGED", "protocol": "HTTP",
            "backends": [{"group": neg_url(neg)}]
        });
        self.ok_op("POST", &bss(""), Some(body)).await;
    }
}

fn neg_url(neg: &str) -> String {
    format!("https://www.googleapis.com/compute/v1/projects/{P}/regions/{R}/networkEndpointGroups/{neg}")
}

/// A path below the demo region's network endpoint groups (`""` for the collection).
fn negs(rest: &str) -> String {
    format!("{P}/regions/{R}/networkEndpointGroups{rest}")
}

/// A path below the demo project's backend services (`""` for the collection).
fn bss(rest: &str) -> String {
    format!("{P}/global/backendServices{rest}")
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap()
}

fn reason(body: &Value) -> &str {
    body["error"]["errors"][0]["reason"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn neg_insert_is_a_regional_operation_and_get_fills_output_fields() {
    let env = Env::start().await;
    let body = json!({"name": "svc-neg", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "svc"}});
    let (status, op) = env.compute("POST", &negs(""), Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(op["kind"], "compute#operation");
    assert_eq!(op["status"], "RUNNING");
    assert_eq!(
        op["operationType"],
        "compute.regionNetworkEndpointGroups.insert"
    );
    assert_eq!(
        op["region"],
        format!("https://www.googleapis.com/compute/v1/projects/{P}/regions/{R}")
    );
    assert_eq!(op["targetLink"], neg_url("svc-neg"));
    let done = env.finish(&op).await;
    assert_eq!(done["progress"], 100);
    assert!(done["endTime"].is_string());

    let (status, neg) = env.compute("GET", &negs("/svc-neg"), None).await;
    assert_eq!(status, 200);
    assert_eq!(neg["selfLink"], neg_url("svc-neg"));
    assert_eq!(neg["kind"], "compute#networkEndpointGroup");
    assert_eq!(neg["size"], 0);
    assert_eq!(neg["cloudRun"]["service"], "svc");
    assert!(neg["id"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_digit()));
    assert!(neg["creationTimestamp"].is_string());
}

#[tokio::test]
async fn a_resource_exists_only_once_its_insert_operation_is_done() {
    let env = Env::start().await;
    let body = json!({"name": "late", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "svc"}});
    let (_, op) = env.compute("POST", &negs(""), Some(body)).await;
    let (before, _) = env.compute("GET", &negs("/late"), None).await;
    assert_eq!(before, 404);
    env.finish(&op).await;
    let (after, _) = env.compute("GET", &negs("/late"), None).await;
    assert_eq!(after, 200);
}

#[tokio::test]
async fn duplicate_name_is_rejected_with_409_already_exists() {
    let env = Env::start().await;
    env.neg("dup").await;
    let body = json!({"name": "dup", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "other"}});
    let (status, err) = env.compute("POST", &negs(""), Some(body)).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(reason(&err), "alreadyExists");
    assert!(error_message(&err).contains("already exists"));
}

#[tokio::test]
async fn missing_resource_is_404_not_found_in_computes_error_format() {
    let env = Env::start().await;
    let (status, err) = env.compute("GET", &bss("/nope"), None).await;
    assert_eq!(status, 404);
    assert_eq!(reason(&err), "notFound");
    assert_eq!(err["error"]["errors"][0]["domain"], "global");
    assert!(
        err["error"].get("status").is_none(),
        "Compute errors carry no status: {err}"
    );
    assert_eq!(
        err["error"]["message"],
        format!("The resource 'projects/{P}/global/backendServices/nope' was not found")
    );
}

#[tokio::test]
async fn neg_in_use_by_backend_service_cannot_be_deleted() {
    let env = Env::start().await;
    env.neg("used-neg").await;
    env.backend_service("user-bs", "used-neg").await;
    let (status, err) = env.compute("DELETE", &negs("/used-neg"), None).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(reason(&err), "resourceInUseByAnotherResource");
    let message = error_message(&err);
    assert!(
        message.contains("used-neg") && message.contains("backendServices/user-bs"),
        "{message}"
    );

    // The rule holds however the backend named the NEG (here: project number, partial URL).
    let by_number = json!({"name": "user-bs-2", "backends": [{"group":
        format!("projects/{NUMBER}/regions/{R}/networkEndpointGroups/used-neg")}]});
    env.ok_op("POST", &bss(""), Some(by_number)).await;
    env.ok_op("DELETE", &bss("/user-bs"), None).await;
    let rel = negs("/used-neg");
    let (status, err) = env.compute("DELETE", &rel, None).await;
    assert_eq!(status, 400, "{err}");
    assert!(
        error_message(&err).contains("backendServices/user-bs-2"),
        "{err}"
    );
    env.ok_op("DELETE", &bss("/user-bs-2"), None).await;
    env.ok_op("DELETE", &negs("/used-neg"), None).await;
    let (gone, _) = env.compute("GET", &negs("/used-neg"), None).await;
    assert_eq!(gone, 404);
}

#[tokio::test]
async fn backend_service_used_by_an_http_route_cannot_be_deleted() {
    let env = Env::start().await;
    env.neg("r-neg").await;
    env.backend_service("routed-bs", "r-neg").await;
    let route = json!({
        "hostnames": ["routed.meshapps.internal"],
        "meshes": [format!("projects/{P}/locations/global/meshes/meshapps")],
        "rules": [{"action": {"destinations": [{"serviceName": format!("projects/{P}/locations/global/backendServices/routed-bs")}]}}]
    });
    let (status, op) = env
        .call(
            "POST",
            &format!(
                "/networkservices/v1/projects/{P}/locations/global/httpRoutes?httpRouteId=routed"
            ),
            Some(route),
        )
        .await;
    assert_eq!(status, 200, "{op}");
    env.advance("600s").await;

    let (status, err) = env.compute("DELETE", &bss("/routed-bs"), None).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(reason(&err), "resourceInUseByAnotherResource");
    assert!(error_message(&err).contains("httpRoutes/routed"), "{err}");
}

#[tokio::test]
async fn backend_referencing_a_missing_neg_is_rejected_with_404() {
    let env = Env::start().await;
    let body = json!({"name": "orphan", "loadBalancingScheme": "INTERNAL_SELF_MANAGED",
        "backends": [{"group": neg_url("never-made")}]});
    let (status, err) = env.compute("POST", &bss(""), Some(body)).await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(reason(&err), "notFound");
    assert!(error_message(&err).contains("networkEndpointGroups/never-made"));
}

#[tokio::test]
async fn malformed_backend_group_url_is_rejected_with_400_invalid() {
    let env = Env::start().await;
    let body = json!({"name": "bad", "backends": [{"group": "never-made"}]});
    let (status, err) = env.compute("POST", &bss(""), Some(body)).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(reason(&err), "invalid");
}

#[tokio::test]
async fn serverless_backends_reject_health_checks() {
    let env = Env::start().await;
    env.neg("hc-neg").await;
    let body = json!({"name": "hc", "healthChecks": [format!("projects/{P}/global/healthChecks/x")],
        "backends": [{"group": neg_url("hc-neg")}]});
    let (status, err) = env.compute("POST", &bss(""), Some(body)).await;
    assert_eq!(status, 400, "{err}");
    assert!(error_message(&err).contains("healthcheck"));
}

#[tokio::test]
async fn backend_service_get_fills_googles_defaults() {
    let env = Env::start().await;
    env.neg("d-neg").await;
    env.backend_service("defaults", "d-neg").await;
    let (_, bs) = env.compute("GET", &bss("/defaults"), None).await;
    assert_eq!(bs["kind"], "compute#backendService");
    assert_eq!(
        bs["selfLink"],
        format!(
            "https://www.googleapis.com/compute/v1/projects/{P}/global/backendServices/defaults"
        )
    );
    assert_eq!(bs["port"], 80);
    assert_eq!(bs["portName"], "http");
    assert_eq!(bs["timeoutSec"], 30);
    assert_eq!(bs["sessionAffinity"], "NONE");
    assert_eq!(bs["connectionDraining"]["drainingTimeoutSec"], 0);
    assert_eq!(bs["backends"][0]["group"], neg_url("d-neg"));
    assert!(bs["fingerprint"].as_str().is_some_and(|f| !f.is_empty()));
}

#[tokio::test]
async fn stale_fingerprint_is_rejected_with_412() {
    let env = Env::start().await;
    env.neg("f-neg").await;
    env.backend_service("fp", "f-neg").await;
    let path = bss("/fp");
    let (_, first) = env.compute("GET", &path, None).await;
    let stale = first["fingerprint"].clone();
    env.ok_op(
        "PATCH",
        &path,
        Some(json!({"description": "one", "fingerprint": stale})),
    )
    .await;

    let (status, err) = env
        .compute(
            "PATCH",
            &path,
            Some(json!({"description": "two", "fingerprint": stale})),
        )
        .await;
    assert_eq!(status, 412, "{err}");
    assert_eq!(reason(&err), "conditionNotMet");
    let mut full = first.clone();
    full["description"] = json!("three");
    let (status, _) = env.compute("PUT", &path, Some(full)).await;
    assert_eq!(status, 412, "update with the stale fingerprint");
}

#[tokio::test]
async fn missing_fingerprint_on_update_is_rejected_with_412() {
    let env = Env::start().await;
    env.neg("m-neg").await;
    env.backend_service("nofp", "m-neg").await;
    let (status, err) = env
        .compute("PATCH", &bss("/nofp"), Some(json!({"description": "x"})))
        .await;
    assert_eq!(status, 412, "{err}");
    assert_eq!(reason(&err), "conditionNotMet");
}

#[tokio::test]
async fn fingerprint_changes_on_every_write() {
    let env = Env::start().await;
    env.neg("w-neg").await;
    env.backend_service("writes", "w-neg").await;
    let path = bss("/writes");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, bs) = env.compute("GET", &path, None).await;
        let fp = bs["fingerprint"].clone();
        assert!(!seen.contains(&fp), "fingerprint {fp} repeated");
        seen.push(fp.clone());
        // The same content each time: the fingerprint still changes.
        env.ok_op(
            "PATCH",
            &path,
            Some(json!({"description": "same", "fingerprint": fp})),
        )
        .await;
    }
}

#[tokio::test]
async fn patch_merges_and_update_replaces() {
    let env = Env::start().await;
    env.neg("p-neg").await;
    env.backend_service("merge", "p-neg").await;
    let path = bss("/merge");
    let (_, bs) = env.compute("GET", &path, None).await;
    let patch = json!({
        "fingerprint": bs["fingerprint"], "description": "csmrun:demo-project/asia-northeast1/merge",
        "circuitBreakers": {"maxRequests": 100, "maxRetries": 3},
        "outlierDetection": {"consecutiveErrors": 5, "interval": {"seconds": "10"}}
    });
    env.ok_op("PATCH", &path, Some(patch)).await;
    let (_, patched) = env.compute("GET", &path, None).await;
    assert_eq!(
        patched["description"],
        "csmrun:demo-project/asia-northeast1/merge"
    );
    assert_eq!(patched["circuitBreakers"]["maxRequests"], 100);
    assert_eq!(patched["outlierDetection"]["consecutiveErrors"], 5);
    assert_eq!(
        patched["backends"][0]["group"],
        neg_url("p-neg"),
        "patch keeps fields it does not name"
    );

    let put = json!({"name": "merge", "fingerprint": patched["fingerprint"], "loadBalancingScheme": "INTERNAL_SELF_MANAGED"});
    env.ok_op("PUT", &path, Some(put)).await;
    let (_, replaced) = env.compute("GET", &path, None).await;
    assert!(
        replaced.get("backends").is_none(),
        "update replaces the whole resource: {replaced}"
    );
    assert!(replaced.get("circuitBreakers").is_none());
    assert_eq!(replaced["id"], bs["id"], "id survives updates");
    assert_eq!(replaced["creationTimestamp"], bs["creationTimestamp"]);
}

#[tokio::test]
async fn same_request_id_returns_the_same_operation_without_a_duplicate() {
    let env = Env::start().await;
    let body = json!({"name": "idem", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "svc"}});
    let path = format!(
        "{P}/regions/{R}/networkEndpointGroups?requestId=6f1c1a52-5d43-4a8e-9d0b-0f1c2e3d4a5b"
    );
    let (s1, op1) = env.compute("POST", &path, Some(body.clone())).await;
    let (s2, op2) = env.compute("POST", &path, Some(body.clone())).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(op1["name"], op2["name"]);
    assert_eq!(
        op1["clientOperationId"],
        "6f1c1a52-5d43-4a8e-9d0b-0f1c2e3d4a5b"
    );
    let done = env.finish(&op1).await;
    assert!(done.get("error").is_none(), "{done}");
    let (s3, op3) = env.compute("POST", &path, Some(body)).await;
    assert_eq!(
        s3, 200,
        "a retry after completion still answers with the operation, not 409"
    );
    assert_eq!(op3["name"], op1["name"]);
    let (_, list) = env.compute("GET", &negs(""), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn project_number_and_id_name_the_same_resources() {
    let env = Env::start().await;
    env.neg("by-number").await;
    let (status, neg) = env
        .compute(
            "GET",
            &format!("{NUMBER}/regions/{R}/networkEndpointGroups/by-number"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{neg}");
    assert_eq!(
        neg["selfLink"],
        neg_url("by-number"),
        "selfLink uses the project id"
    );
}

#[tokio::test]
async fn subnetwork_get_reports_private_google_access() {
    let env = Env::start().await;
    let (status, subnet) = env
        .compute(
            "GET",
            &format!("{P}/regions/{R}/subnetworks/mesh-subnet"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{subnet}");
    assert_eq!(subnet["privateIpGoogleAccess"], true);
    assert_eq!(subnet["kind"], "compute#subnetwork");
    assert!(
        subnet.get("selfLinkWithId").is_none(),
        "not a Subnetwork field in compute v1"
    );
    let (status, list) = env
        .compute("GET", &format!("{P}/regions/{R}/subnetworks"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["name"], "mesh-subnet");
    let (status, net) = env
        .compute("GET", &format!("{P}/global/networks/mesh-vpc"), None)
        .await;
    assert_eq!(status, 200, "{net}");
    assert_eq!(net["kind"], "compute#network");
    let (missing, _) = env
        .compute("GET", &format!("{P}/regions/{R}/subnetworks/none"), None)
        .await;
    assert_eq!(missing, 404);
}

#[tokio::test]
async fn operations_are_found_only_in_their_own_scope() {
    let env = Env::start().await;
    let body = json!({"name": "scoped", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "svc"}});
    let (_, op) = env.compute("POST", &negs(""), Some(body)).await;
    let name = op["name"].as_str().unwrap();
    let (regional, _) = env
        .compute("GET", &format!("{P}/regions/{R}/operations/{name}"), None)
        .await;
    let (global, err) = env
        .compute("GET", &format!("{P}/global/operations/{name}"), None)
        .await;
    assert_eq!(regional, 200);
    assert_eq!(global, 404, "{err}");
}

#[tokio::test]
async fn wait_answers_with_the_done_operation() {
    let env = Env::start().await;
    env.neg("wait-neg").await;
    let body = json!({"name": "wait-bs", "backends": [{"group": neg_url("wait-neg")}]});
    let (_, op) = env.compute("POST", &bss(""), Some(body)).await;
    env.advance("600s").await;
    let name = op["name"].as_str().unwrap();
    let (status, done) = env
        .compute("POST", &format!("{P}/global/operations/{name}/wait"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["operationType"], "insert");
}

#[tokio::test]
async fn list_filters_by_field() {
    let env = Env::start().await;
    env.neg("a-neg").await;
    env.neg("b-neg").await;
    let rel = negs("");
    let (_, all) = env.compute("GET", &rel, None).await;
    assert_eq!(all["kind"], "compute#networkEndpointGroupList");
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, one) = env
        .compute(
            "GET",
            &format!("{rel}?filter=name%20%3D%20%22b-neg%22"),
            None,
        )
        .await;
    let items = one["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "b-neg");
    let (_, paged) = env
        .compute("GET", &format!("{rel}?maxResults=1"), None)
        .await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 1);
    let token = paged["nextPageToken"].as_str().unwrap();
    let (_, second) = env
        .compute(
            "GET",
            &format!("{rel}?maxResults=1&pageToken={token}"),
            None,
        )
        .await;
    assert_eq!(second["items"][0]["name"], "b-neg");
    assert!(second.get("nextPageToken").is_none());
}

#[tokio::test]
async fn unknown_body_fields_are_rejected_before_the_handler() {
    let env = Env::start().await;
    let body = json!({"name": "x", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "s"}, "bogus": 1});
    let (status, err) = env.compute("POST", &negs(""), Some(body)).await;
    assert_eq!(status, 400, "{err}");
    assert!(error_message(&err).contains("bogus"));
}

#[tokio::test]
async fn request_id_must_be_a_non_zero_uuid() {
    let env = Env::start().await;
    let body =
        json!({"name": "rid", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "svc"}});
    for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        let path = format!("{P}/regions/{R}/networkEndpointGroups?requestId={bad}");
        let (status, err) = env.compute("POST", &path, Some(body.clone())).await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(error_message(&err).contains("UUID"));
    }
}

#[tokio::test]
async fn an_unknown_project_is_not_found() {
    let env = Env::start().await;
    let (status, err) = env
        .compute("GET", "not-mine/global/backendServices", None)
        .await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(reason(&err), "notFound");
}

#[tokio::test]
async fn backend_services_can_be_listed_by_the_neg_they_use() {
    let env = Env::start().await;
    env.neg("n1").await;
    env.neg("n2").await;
    env.backend_service("b1", "n1").await;
    env.backend_service("b2", "n2").await;
    let filter = format!("backends.group = \"{}\"", neg_url("n2"));
    let query = filter.replace(' ', "%20").replace('"', "%22");
    let (status, list) = env
        .compute(
            "GET",
            &format!("{P}/global/backendServices?filter={query}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["name"], "b2");
    let (status, err) = env
        .compute("GET", &bss("?filter=what%20is%20this"), None)
        .await;
    assert_eq!(status, 400, "{err}");
}

#[tokio::test]
async fn subnetworks_refuse_a_views_value_outside_its_enum() {
    // compute.v1.json subnetworks.get/list `views`: enum DEFAULT, WITH_UTILIZATION.
    let env = Env::start().await;
    let (status, body) = env
        .compute(
            "GET",
            &format!("{P}/regions/{R}/subnetworks/mesh-subnet?views=EVERYTHING"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = env
        .compute(
            "GET",
            &format!("{P}/regions/{R}/subnetworks?views=WITH_UTILIZATION"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn backend_service_output_only_fields_sent_on_insert_are_ignored() {
    // compute.v1.json BackendService id, kind, selfLink, creationTimestamp: "[Output Only]".
    let env = Env::start().await;
    env.neg("o-neg").await;
    let body = json!({
        "name": "outputs", "loadBalancingScheme": "INTERNAL_SELF_MANAGED", "protocol": "HTTP",
        "backends": [{"group": neg_url("o-neg")}],
        "id": "1", "kind": "compute#somethingElse", "selfLink": "https://example.com/x",
        "creationTimestamp": "2000-01-01T00:00:00.000-08:00",
        "region": "https://www.googleapis.com/compute/v1/projects/x/regions/y"
    });
    env.ok_op("POST", &bss(""), Some(body)).await;
    let (_, bs) = env.compute("GET", &bss("/outputs"), None).await;
    assert_ne!(bs["id"], "1", "{bs}");
    assert_eq!(bs["kind"], "compute#backendService");
    assert!(bs["selfLink"]
        .as_str()
        .is_some_and(|l| l.ends_with("/global/backendServices/outputs")));
    assert_ne!(bs["creationTimestamp"], "2000-01-01T00:00:00.000-08:00");
    assert!(
        bs.get("region").is_none(),
        "a global backend service has no region: {bs}"
    );
}

#[tokio::test]
async fn lists_return_at_most_max_results_items_and_a_token_for_the_rest() {
    // compute.v1.json maxResults: "The maximum number of results per page that should be returned."
    let env = Env::start().await;
    env.neg("page-a").await;
    env.neg("page-b").await;
    let (status, first) = env.compute("GET", &negs("?maxResults=1"), None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1), "{first}");
    // BackendServiceList/NetworkEndpointGroupList kind, id, selfLink: "[Output Only]", filled by the server.
    assert_eq!(first["kind"], "compute#networkEndpointGroupList");
    assert!(first["id"].as_str().is_some(), "{first}");
    assert!(first["selfLink"]
        .as_str()
        .is_some_and(|l| l.ends_with("/networkEndpointGroups")));
    let token = first["nextPageToken"].as_str().expect("nextPageToken");
    let (_, second) = env
        .compute(
            "GET",
            &negs(&format!("?maxResults=1&pageToken={token}")),
            None,
        )
        .await;
    assert_eq!(
        second["items"].as_array().map(Vec::len),
        Some(1),
        "{second}"
    );
    assert_ne!(first["items"][0]["name"], second["items"][0]["name"]);
}

#[tokio::test]
async fn operations_carry_the_output_only_fields_google_documents() {
    // compute.v1.json Operation: id, name, selfLink, insertTime, startTime, endTime, user, targetId, targetLink,
    // progress, status are "[Output Only]", filled by the server.
    let env = Env::start().await;
    let body = json!({"name": "op-neg", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "svc"}});
    let (status, running) = env.compute("POST", &negs(""), Some(body)).await;
    assert_eq!(status, 200, "{running}");
    for field in [
        "kind",
        "id",
        "name",
        "selfLink",
        "insertTime",
        "startTime",
        "user",
        "targetId",
        "targetLink",
        "operationType",
        "progress",
        "status",
    ] {
        assert!(running.get(field).is_some(), "missing {field}: {running}");
    }
    assert!(running.get("endTime").is_none(), "{running}");
    let done = env.finish(&running).await;
    assert_eq!(done["progress"], 100);
    assert!(done.get("endTime").is_some(), "{done}");
    assert_eq!(done["id"], running["id"]);
}

#[tokio::test]
async fn aggregated_list_groups_negs_by_region_and_warns_for_empty_scopes() {
    let env = Env::start().await;
    let body = json!({"name": "far-neg", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "far"}});
    env.ok_op(
        "POST",
        &format!("{P}/regions/us-central1/networkEndpointGroups"),
        Some(body),
    )
    .await;
    let (status, list) = env
        .compute(
            "GET",
            &format!("{P}/aggregated/networkEndpointGroups"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["kind"], "compute#networkEndpointGroupAggregatedList");
    assert_eq!(
        list["id"],
        format!("projects/{P}/aggregated/networkEndpointGroups")
    );
    let far = &list["items"]["regions/us-central1"]["networkEndpointGroups"];
    assert_eq!(far.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(far[0]["name"], "far-neg");
    // The demo subnet's region holds no NEG: Google answers a warning in place of the list.
    let empty = &list["items"][format!("regions/{R}")];
    assert!(empty.get("networkEndpointGroups").is_none(), "{list}");
    assert_eq!(empty["warning"]["code"], "NO_RESULTS_ON_PAGE");
    assert_eq!(
        empty["warning"]["data"][0],
        json!({"key": "scope", "value": format!("regions/{R}")})
    );
    env.neg("near-neg").await;
    let (_, filtered) = env
        .compute(
            "GET",
            &format!("{P}/aggregated/networkEndpointGroups?filter=name%20%3D%20%22near-neg%22"),
            None,
        )
        .await;
    assert_eq!(
        filtered["items"][format!("regions/{R}")]["networkEndpointGroups"][0]["name"],
        "near-neg"
    );
    assert_eq!(
        filtered["items"]["regions/us-central1"]["warning"]["code"],
        "NO_RESULTS_ON_PAGE"
    );
}

#[tokio::test]
async fn update_without_circuit_breakers_removes_them_where_patch_keeps_them() {
    let env = Env::start().await;
    env.neg("u-neg").await;
    env.backend_service("upd", "u-neg").await;
    let path = bss("/upd");
    let (_, bs) = env.compute("GET", &path, None).await;
    let patch = json!({
        "fingerprint": bs["fingerprint"],
        "circuitBreakers": {"maxRequests": 100},
        "outlierDetection": {"consecutiveErrors": 5, "interval": {"seconds": 10}}
    });
    env.ok_op("PATCH", &path, Some(patch)).await;
    let (_, with) = env.compute("GET", &path, None).await;
    assert_eq!(
        with["outlierDetection"]["interval"]["seconds"], "10",
        "Duration.seconds is an int64: a JSON string in the answer"
    );

    // A merge patch that omits them keeps them.
    let omit = json!({"fingerprint": with["fingerprint"], "description": "kept"});
    env.ok_op("PATCH", &path, Some(omit)).await;
    let (_, kept) = env.compute("GET", &path, None).await;
    assert_eq!(kept["circuitBreakers"]["maxRequests"], 100, "{kept}");

    // The whole object as read, without them, through PUT removes them and keeps the rest.
    let mut full = kept.clone();
    let object = full.as_object_mut().unwrap();
    object.remove("circuitBreakers");
    object["outlierDetection"] = json!({"consecutiveErrors": 5});
    env.ok_op("PUT", &path, Some(full)).await;
    let (_, replaced) = env.compute("GET", &path, None).await;
    assert!(replaced.get("circuitBreakers").is_none(), "{replaced}");
    assert_eq!(
        replaced["outlierDetection"],
        json!({"consecutiveErrors": 5}),
        "a field left out of an update is gone"
    );
    assert_eq!(replaced["backends"][0]["group"], neg_url("u-neg"));
    assert_eq!(replaced["description"], "kept");
    assert_ne!(replaced["fingerprint"], kept["fingerprint"]);
}

#[tokio::test]
async fn update_with_a_stale_fingerprint_is_refused_with_412_and_changes_nothing() {
    let env = Env::start().await;
    env.neg("s-neg").await;
    env.backend_service("stale", "s-neg").await;
    let path = bss("/stale");
    let (_, first) = env.compute("GET", &path, None).await;
    let bump = json!({"fingerprint": first["fingerprint"], "circuitBreakers": {"maxRetries": 3}});
    env.ok_op("PATCH", &path, Some(bump)).await;

    let mut full = first.clone();
    full.as_object_mut().unwrap().remove("circuitBreakers");
    let (status, err) = env.compute("PUT", &path, Some(full.clone())).await;
    assert_eq!(status, 412, "{err}");
    assert_eq!(reason(&err), "conditionNotMet");
    full.as_object_mut().unwrap().remove("fingerprint");
    let (status, err) = env.compute("PUT", &path, Some(full)).await;
    assert_eq!(status, 412, "an update without a fingerprint: {err}");
    let (_, now) = env.compute("GET", &path, None).await;
    assert_eq!(now["circuitBreakers"]["maxRetries"], 3, "{now}");
}

#[tokio::test]
async fn listed_negs_and_backend_services_are_what_get_answers() {
    // compute.v1.json: NetworkEndpointGroupList.items are NetworkEndpointGroup and BackendServiceList.items are
    // BackendService, the schemas regionNetworkEndpointGroups.get and backendServices.get answer.
    let env = Env::start().await;
    env.neg("same-a").await;
    env.neg("same-b").await;
    env.backend_service("same-bs", "same-a").await;
    let (status, list) = env.compute("GET", &negs(""), None).await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{list}");
    for item in &items {
        let name = item["name"].as_str().expect("name");
        let (_, got) = env.compute("GET", &negs(&format!("/{name}")), None).await;
        assert_eq!(item, &got, "list item and GET of NEG {name}");
    }
    let (status, list) = env.compute("GET", &bss(""), None).await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{list}");
    let (_, got) = env.compute("GET", &bss("/same-bs"), None).await;
    assert_eq!(items[0], got, "list item and GET of the backend service");
}
