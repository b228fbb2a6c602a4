//! Network Services v1 rules over HTTP against a started emulator (demo seed, frozen clock): one test per rule.

mod common;

use common::*;
use serde_json::{json, Value};

const LOC: &str = "projects/demo-project/locations/global";

impl Env {
    async fn ns(&self, method: &str, rel: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, &format!("/networkservices/v1/{rel}"), body)
            .await
    }

    /// Lets the operation finish and returns it as `operations.get` answers.
    async fn finish(&self, op: &Value) -> Value {
        self.advance("600s").await;
        let (status, done) = self
            .ns("GET", op["name"].as_str().expect("operation name"), None)
            .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["done"], true, "{done}");
        done
    }

    async fn ok_op(&self, method: &str, rel: &str, body: Option<Value>) -> Value {
        let (status, op) = self.ns(method, rel, body).await;
        assert_eq!(status, 200, "{method} {rel}: {op}");
        let done = self.finish(&op).await;
        assert!(done.get("error").is_none(), "{done}");
        done
    }

    async fn compute_op(&self, rel: &str, body: Value) {
        let (status, op) = self
            .call(
                "POST",
                &format!("/compute/v1/projects/{P}/{rel}"),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{op}");
        self.advance("600s").await;
    }

    /// A NEG and a backend service `name` in the demo project.
    async fn backend_service(&self, name: &str) {
        let neg = format!("{name}-neg");
        self.compute_op(
            &format!("regions/{R}/networkEndpointGroups"),
            json!({"name": neg, "networkEndpointType": "SERVERLESS", "cloudRun": {"service": name}}),
        )
        .await;
        self.compute_op(
            "global/backendServices",
            json!({"name": name, "loadBalancingScheme": "INTERNAL_SELF_MANAGED",
                "backends": [{"group": format!("projects/{P}/regions/{R}/networkEndpointGroups/{neg}")}]}),
        )
        .await;
    }

    /// Creates route `id` and lets its operation finish successfully.
    async fn finish_route(&self, id: &str, route: Value) -> Value {
        self.ok_op(
            "POST",
            &http_routes(&format!("?httpRouteId={id}")),
            Some(route),
        )
        .await
    }

    async fn create_route(&self, id: &str, route: Value) -> (u16, Value) {
        self.ns(
            "POST",
            &format!("{LOC}/httpRoutes?httpRouteId={id}"),
            Some(route),
        )
        .await
    }
}

/// A path below the demo project's HTTP routes (`""` for the collection).
fn http_routes(rest: &str) -> String {
    format!("{LOC}/httpRoutes{rest}")
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap()
}

/// A 400 `INVALID_ARGUMENT` whose message names `needle`.
fn assert_invalid_argument(status: u16, err: &Value, needle: &str) {
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["status"], "INVALID_ARGUMENT");
    assert!(error_message(err).contains(needle), "{err}");
}

fn bs(name: &str) -> String {
    format!("projects/{P}/locations/global/backendServices/{name}")
}

fn mesh(name: &str) -> String {
    format!("{LOC}/meshes/{name}")
}

fn route(host: &str, meshes: &[&str], backend: &str) -> Value {
    json!({
        "hostnames": [host],
        "meshes": meshes.iter().map(|m| mesh(m)).collect::<Vec<_>>(),
        "rules": [{"action": {"destinations": [{"serviceName": bs(backend)}]}}]
    })
}

#[tokio::test]
async fn mesh_create_is_an_operation_and_get_adds_self_link() {
    let env = Env::start().await;
    let (status, op) = env
        .ns(
            "POST",
            &format!("{LOC}/meshes?meshId=second"),
            Some(json!({"description": "a mesh", "labels": {"team": "a"}})),
        )
        .await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["done"], false);
    assert_eq!(
        op["metadata"]["@type"],
        "type.googleapis.com/google.cloud.networkservices.v1.OperationMetadata"
    );
    assert_eq!(op["metadata"]["verb"], "create");
    assert_eq!(op["metadata"]["target"], mesh("second"));
    assert!(op["name"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{LOC}/operations/operation-")));
    let done = env.finish(&op).await;
    assert_eq!(
        done["response"]["@type"],
        "type.googleapis.com/google.cloud.networkservices.v1.Mesh"
    );
    assert!(done["metadata"]["endTime"].is_string());
    assert!(
        done["response"].get("selfLink").is_none(),
        "the operation's copy has no selfLink"
    );

    let (status, got) = env.ns("GET", &mesh("second"), None).await;
    assert_eq!(status, 200);
    assert_eq!(got["name"], mesh("second"));
    assert_eq!(got["description"], "a mesh");
    assert_eq!(
        got["selfLink"],
        format!(
            "https://networkservices.googleapis.com/v1alpha1/{}",
            mesh("second")
        )
    );
    assert!(got["createTime"].is_string() && got["updateTime"].is_string());

    let (_, list) = env.ns("GET", &format!("{LOC}/meshes"), None).await;
    let names: Vec<&str> = list["meshes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, [mesh("meshapps"), mesh("second")]);
}

#[tokio::test]
async fn duplicate_id_is_rejected_with_409_already_exists() {
    let env = Env::start().await;
    let (status, err) = env
        .ns(
            "POST",
            &format!("{LOC}/meshes?meshId=meshapps"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["status"], "ALREADY_EXISTS");
    assert!(
        err["error"].get("errors").is_none(),
        "Network Services errors have no errors[]: {err}"
    );
}

#[tokio::test]
async fn missing_resource_is_404_not_found() {
    let env = Env::start().await;
    let (status, err) = env.ns("GET", &http_routes("/nope"), None).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["status"], "NOT_FOUND");
    assert_eq!(
        err["error"]["message"],
        format!("Resource '{LOC}/httpRoutes/nope' was not found")
    );
}

#[tokio::test]
async fn route_meshes_must_exist() {
    let env = Env::start().await;
    env.backend_service("svc").await;
    let (status, err) = env
        .create_route(
            "r",
            route("svc.meshapps.internal", &["no-such-mesh"], "svc"),
        )
        .await;
    assert_invalid_argument(status, &err, "no-such-mesh");
}

#[tokio::test]
async fn route_destination_backend_services_must_exist() {
    let env = Env::start().await;
    let (status, err) = env
        .create_route(
            "r",
            route("svc.meshapps.internal", &["meshapps"], "missing-bs"),
        )
        .await;
    assert_invalid_argument(status, &err, "missing-bs");
}

#[tokio::test]
async fn duplicate_hostname_on_a_mesh_is_rejected() {
    let env = Env::start().await;
    env.backend_service("one").await;
    env.backend_service("two").await;
    let (status, op) = env
        .create_route(
            "first",
            route("api.meshapps.internal", &["meshapps"], "one"),
        )
        .await;
    assert_eq!(status, 200, "{op}");
    env.finish(&op).await;
    let (status, err) = env
        .create_route(
            "second",
            route("api.meshapps.internal", &["meshapps"], "two"),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let message = error_message(&err);
    assert!(message.contains("api.meshapps.internal"), "{message}");
    assert!(
        message.contains(&http_routes("/first")),
        "names the other route: {message}"
    );
}

#[tokio::test]
async fn routes_racing_for_one_hostname_fail_in_the_later_operation() {
    let env = Env::start().await;
    env.backend_service("one").await;
    let (s1, op1) = env
        .create_route(
            "early",
            route("race.meshapps.internal", &["meshapps"], "one"),
        )
        .await;
    let (s2, op2) = env
        .create_route(
            "late",
            route("race.meshapps.internal", &["meshapps"], "one"),
        )
        .await;
    assert_eq!(
        (s1, s2),
        (200, 200),
        "neither exists yet when both are accepted"
    );
    env.advance("600s").await;
    let (_, done1) = env.ns("GET", op1["name"].as_str().unwrap(), None).await;
    let (_, done2) = env.ns("GET", op2["name"].as_str().unwrap(), None).await;
    assert!(done1.get("error").is_none(), "{done1}");
    assert_eq!(done2["error"]["code"], 3, "{done2}");
}

#[tokio::test]
async fn the_same_hostname_on_different_meshes_is_allowed() {
    let env = Env::start().await;
    env.backend_service("one").await;
    env.ok_op(
        "POST",
        &format!("{LOC}/meshes?meshId=other"),
        Some(json!({})),
    )
    .await;
    env.finish_route("a", route("x.internal", &["meshapps"], "one"))
        .await;
    env.finish_route("b", route("x.internal", &["other"], "one"))
        .await;
}

#[tokio::test]
async fn route_fields_round_trip_as_proto3_json() {
    let env = Env::start().await;
    env.backend_service("blue").await;
    env.backend_service("green").await;
    let body = json!({
        "description": "csmrun:demo-project/asia-northeast1/target",
        "labels": {"managed-by": "csmrun"},
        "hostnames": ["target.meshapps.internal"],
        "meshes": [mesh("meshapps")],
        "rules": [
            {
                "matches": [
                    {"prefixMatch": "/api", "ignoreCase": false, "headers": [{"header": "x-canary", "exactMatch": "1"}]},
                    {"fullPathMatch": "/health"},
                    {"regexMatch": "/v[0-9]+/.*", "headers": [
                        {"header": "x-a", "prefixMatch": "b"}, {"header": "x-b", "regexMatch": "c.*"},
                        {"header": "x-c", "presentMatch": true}]}
                ],
                "action": {
                    "destinations": [{"serviceName": bs("blue"), "weight": 99}, {"serviceName": bs("green"), "weight": 1}],
                    "timeout": "30s",
                    "retryPolicy": {"retryConditions": ["5xx", "connect-failure"], "numRetries": 3, "perTryTimeout": "5s"},
                    "faultInjectionPolicy": {"delay": {"fixedDelay": "2s", "percentage": 10}, "abort": {"httpStatus": 503, "percentage": 5}}
                }
            },
            {"action": {"destinations": [{"serviceName": bs("blue")}]}}
        ]
    });
    let done = env.finish_route("target", body.clone()).await;
    assert_eq!(
        done["response"]["@type"],
        "type.googleapis.com/google.cloud.networkservices.v1.HttpRoute"
    );
    let (status, got) = env.ns("GET", &http_routes("/target"), None).await;
    assert_eq!(status, 200);
    let mut want_rules = body["rules"].clone();
    want_rules[0]["matches"][0]
        .as_object_mut()
        .unwrap()
        .remove("ignoreCase");
    assert_eq!(
        got["rules"], want_rules,
        "false/default values are not echoed"
    );
    assert_eq!(got["hostnames"], body["hostnames"]);
    assert_eq!(got["labels"], body["labels"]);
    assert_eq!(got["description"], body["description"]);
    assert_eq!(
        got["selfLink"],
        format!("https://networkservices.googleapis.com/v1alpha1/{LOC}/httpRoutes/target")
    );
}

#[tokio::test]
async fn invalid_route_shapes_are_rejected_with_400() {
    let env = Env::start().await;
    env.backend_service("one").await;
    let cases = [
        json!({"hostnames": ["a.internal"], "rules": [{"matches": [{"prefixMatch": "api"}]}]}),
        json!({"hostnames": ["a.internal"], "rules": []}),
        json!({"hostnames": [], "rules": [{}]}),
        json!({"hostnames": ["A.internal"], "rules": [{}]}),
        json!({"hostnames": ["a.internal"], "rules": [{"action": {"faultInjectionPolicy": {"abort": {"httpStatus": 700, "percentage": 1}}}}]}),
        json!({"hostnames": ["a.internal"], "rules": [{"action": {"destinations": [
            {"serviceName": bs("one"), "weight": 1}, {"serviceName": bs("one")}]}}]}),
    ];
    for (i, body) in cases.into_iter().enumerate() {
        let (status, err) = env.create_route(&format!("bad-{i}"), body).await;
        assert_eq!(status, 400, "case {i}: {err}");
        assert_eq!(err["error"]["status"], "INVALID_ARGUMENT", "case {i}");
    }
}

#[tokio::test]
async fn patch_with_update_mask_replaces_only_masked_fields() {
    let env = Env::start().await;
    env.backend_service("one").await;
    let mut body = route("p.meshapps.internal", &["meshapps"], "one");
    body["description"] = json!("before");
    env.finish_route("p", body).await;
    let patch = json!({"description": "after", "hostnames": ["ignored.internal"]});
    let done = env
        .ok_op(
            "PATCH",
            &http_routes("/p?updateMask=description"),
            Some(patch),
        )
        .await;
    assert_eq!(done["metadata"]["verb"], "update");
    let (_, got) = env.ns("GET", &http_routes("/p"), None).await;
    assert_eq!(got["description"], "after");
    assert_eq!(
        got["hostnames"],
        json!(["p.meshapps.internal"]),
        "fields outside the mask are kept"
    );

    let (status, err) = env
        .ns(
            "PATCH",
            &http_routes("/p?updateMask=createTime"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
}

#[tokio::test]
async fn patch_cannot_take_a_hostname_used_on_the_mesh() {
    let env = Env::start().await;
    env.backend_service("one").await;
    env.finish_route("a", route("a.internal", &["meshapps"], "one"))
        .await;
    env.finish_route("b", route("b.internal", &["meshapps"], "one"))
        .await;
    let (status, err) = env
        .ns(
            "PATCH",
            &http_routes("/b?updateMask=hostnames"),
            Some(json!({"hostnames": ["a.internal"]})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    // Re-saving a route with its own hostnames is not a conflict with itself.
    env.ok_op(
        "PATCH",
        &http_routes("/b?updateMask=hostnames"),
        Some(json!({"hostnames": ["b.internal"]})),
    )
    .await;
}

#[tokio::test]
async fn same_request_id_returns_the_same_operation_without_a_duplicate() {
    let env = Env::start().await;
    env.backend_service("one").await;
    let path = http_routes("?httpRouteId=idem&requestId=0d6c3a1e-7f2b-4c55-8a9e-1b2c3d4e5f60");
    let body = route("idem.internal", &["meshapps"], "one");
    let (_, op1) = env.ns("POST", &path, Some(body.clone())).await;
    env.advance("600s").await;
    let (status, op2) = env.ns("POST", &path, Some(body)).await;
    assert_eq!(
        status, 200,
        "a retry answers with the first operation, not 409: {op2}"
    );
    assert_eq!(op1["name"], op2["name"]);
}

#[tokio::test]
async fn project_number_and_id_name_the_same_resources() {
    let env = Env::start().await;
    let (status, got) = env
        .ns(
            "GET",
            &format!("projects/{NUMBER}/locations/global/meshes/meshapps"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["name"], mesh("meshapps"));
    env.backend_service("one").await;
    let by_number = json!({
        "hostnames": ["n.internal"],
        "meshes": [format!("projects/{NUMBER}/locations/global/meshes/meshapps")],
        "rules": [{"action": {"destinations": [{"serviceName": format!("projects/{NUMBER}/locations/global/backendServices/one")}]}}]
    });
    env.ok_op(
        "POST",
        &format!("projects/{NUMBER}/locations/global/httpRoutes?httpRouteId=n"),
        Some(by_number),
    )
    .await;
    let (status, _) = env.ns("GET", &http_routes("/n"), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_mesh_with_routes_cannot_be_deleted() {
    let env = Env::start().await;
    env.backend_service("one").await;
    env.finish_route("pin", route("pin.internal", &["meshapps"], "one"))
        .await;
    let (status, err) = env.ns("DELETE", &mesh("meshapps"), None).await;
    assert_eq!(status, 400, "{err}");
    assert!(error_message(&err).contains("httpRoutes/pin"));
    let done = env.ok_op("DELETE", &http_routes("/pin"), None).await;
    assert_eq!(
        done["response"]["@type"],
        "type.googleapis.com/google.protobuf.Empty"
    );
    env.ok_op("DELETE", &mesh("meshapps"), None).await;
    let (gone, _) = env.ns("GET", &mesh("meshapps"), None).await;
    assert_eq!(gone, 404);
}

#[tokio::test]
async fn list_routes_pages_through_every_route() {
    let env = Env::start().await;
    env.backend_service("one").await;
    for id in ["l1", "l2", "l3"] {
        env.ok_op(
            "POST",
            &format!("{LOC}/httpRoutes?httpRouteId={id}"),
            Some(route(&format!("{id}.internal"), &["meshapps"], "one")),
        )
        .await;
    }
    let (_, first) = env.ns("GET", &http_routes("?pageSize=2"), None).await;
    assert_eq!(first["httpRoutes"].as_array().unwrap().len(), 2);
    let token = first["nextPageToken"].as_str().unwrap();
    let (_, rest) = env
        .ns(
            "GET",
            &format!("{LOC}/httpRoutes?pageSize=2&pageToken={token}"),
            None,
        )
        .await;
    assert_eq!(rest["httpRoutes"][0]["name"], http_routes("/l3"));
    assert!(rest.get("nextPageToken").is_none());
}

#[tokio::test]
async fn unknown_body_fields_are_rejected_before_the_handler() {
    let env = Env::start().await;
    let mut body = route("u.internal", &["meshapps"], "one");
    body["rules"][0]["action"]["bogusField"] = json!(1);
    let (status, err) = env.create_route("u", body).await;
    assert_eq!(status, 400, "{err}");
    assert!(error_message(&err).contains("bogusField"));
}

#[tokio::test]
async fn create_without_an_id_is_rejected() {
    let env = Env::start().await;
    let (status, err) = env
        .ns("POST", &format!("{LOC}/meshes"), Some(json!({})))
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(error_message(&err).contains("meshId"));
    let (status, err) = env
        .ns(
            "POST",
            &format!("{LOC}/meshes?meshId=Bad_Id"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
}

#[tokio::test]
async fn an_unknown_project_is_permission_denied() {
    let env = Env::start().await;
    let (status, err) = env
        .ns("GET", "projects/not-mine/locations/global/meshes", None)
        .await;
    assert_eq!(status, 403, "{err}");
    assert_eq!(err["error"]["status"], "PERMISSION_DENIED");
}

#[tokio::test]
async fn list_routes_filters_by_destination() {
    let env = Env::start().await;
    env.backend_service("one").await;
    env.backend_service("two").await;
    env.finish_route("to-one", route("one.internal", &["meshapps"], "one"))
        .await;
    env.finish_route("to-two", route("two.internal", &["meshapps"], "two"))
        .await;
    let filter = format!("rules.action.destinations.serviceName = \"{}\"", bs("two"));
    let url = format!(
        "{LOC}/httpRoutes?filter={}",
        filter.replace(' ', "%20").replace('"', "%22")
    );
    let (status, list) = env.ns("GET", &url, None).await;
    assert_eq!(status, 200, "{list}");
    let routes = list["httpRoutes"].as_array().unwrap();
    assert_eq!(routes.len(), 1, "{list}");
    assert_eq!(routes[0]["name"], http_routes("/to-two"));
}

#[tokio::test]
async fn a_route_created_with_fractional_durations_reads_them_back_in_proto3_form() {
    let env = Env::start().await;
    env.backend_service("frac").await;
    let mut body = route("frac.meshapps.internal", &["meshapps"], "frac");
    body["rules"][0]["action"]["timeout"] = json!("1.5s");
    body["rules"][0]["action"]["retryPolicy"] =
        json!({"numRetries": 2, "perTryTimeout": "0.25s", "retryConditions": ["5xx"]});
    body["rules"][0]["action"]["faultInjectionPolicy"] =
        json!({"delay": {"fixedDelay": "0.0000015s", "percentage": 5}});
    body["rules"][0]["action"]["idleTimeout"] = json!("30.000s");
    env.finish_route("frac", body).await;
    let (status, got) = env.ns("GET", &http_routes("/frac"), None).await;
    assert_eq!(status, 200, "{got}");
    let action = &got["rules"][0]["action"];
    assert_eq!(action["timeout"], "1.500s", "{got}");
    assert_eq!(action["retryPolicy"]["perTryTimeout"], "0.250s");
    assert_eq!(
        action["faultInjectionPolicy"]["delay"]["fixedDelay"],
        "0.000001500s"
    );
    assert_eq!(action["idleTimeout"], "30s");
    let created = got["createTime"].as_str().unwrap_or_default();
    assert!(
        created.ends_with(":00Z") && !created.contains('.'),
        "a whole-second timestamp has no fractional digits: {created}"
    );
}

#[tokio::test]
async fn a_duration_with_more_than_nine_fractional_digits_is_rejected() {
    let env = Env::start().await;
    env.backend_service("nanos").await;
    let mut body = route("nanos.meshapps.internal", &["meshapps"], "nanos");
    body["rules"][0]["action"]["timeout"] = json!("1.0000000001s");
    let (status, err) = env.create_route("nanos", body).await;
    assert_invalid_argument(status, &err, "rules[0].action.timeout");
}

#[tokio::test]
async fn listed_routes_are_what_get_answers() {
    // networkservices.v1.json: ListHttpRoutesResponse.httpRoutes are HttpRoute, the schema httpRoutes.get answers.
    let env = Env::start().await;
    env.backend_service("same").await;
    for id in ["same-1", "same-2"] {
        env.ok_op(
            "POST",
            &format!("{LOC}/httpRoutes?httpRouteId={id}"),
            Some(route(&format!("{id}.internal"), &["meshapps"], "same")),
        )
        .await;
    }
    let (status, list) = env.ns("GET", &http_routes(""), None).await;
    assert_eq!(status, 200, "{list}");
    let items = list["httpRoutes"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{list}");
    for item in &items {
        let name = item["name"].as_str().expect("name");
        let (_, got) = env.ns("GET", name, None).await;
        assert_eq!(item, &got, "list item and GET of {name}");
    }
}
