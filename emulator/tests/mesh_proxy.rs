//! The mesh data plane over HTTP: calls through the mesh proxy, routed from what the APIs made (services, NEGs,
//! backend services, HTTPRoutes, IAM), one test per routing rule. The clock is frozen and the time scale 0, so
//! modelled waits (delays, latency, timeouts) take no real time while spans still show their length.

mod common;

use base64::Engine;
use chrono::{DateTime, Utc};
use common::{Env, P, R};
use csmrun_emulator::{Config, SeedSource};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const MESH: &str = "projects/demo-project/locations/global/meshes/meshapps";
const ACCOUNTS: &[&str] = &[
    "client", "proxy", "target1", "target2", "target3", "target", "outsider", "lonely",
];

fn sa(who: &str) -> String {
    format!("meshapps-{who}@{P}.iam.gserviceaccount.com")
}

/// The demo infrastructure with every account but `lonely` already a Traffic Director client.
fn seed() -> Value {
    let members: Vec<String> = ACCOUNTS
        .iter()
        .filter(|a| **a != "lonely")
        .map(|a| format!("serviceAccount:{}", sa(a)))
        .collect();
    json!({"projects": [{
        "id": P, "number": "123456789012",
        "networks": [{"name": "mesh-vpc", "subnetworks": [{"name": "mesh-subnet", "region": R,
            "ipCidrRange": "10.10.0.0/24", "privateIpGoogleAccess": true}]}],
        "meshes": [{"name": "meshapps", "createTime": "2026-01-01T00:00:00Z"}],
        "serviceAccounts": ACCOUNTS.iter().map(|a| sa(a)).collect::<Vec<_>>(),
        "iamBindings": [{"role": "roles/trafficdirector.client", "members": members}]
    }]})
}

struct Mesh {
    env: Env,
}

/// One answer through the proxy.
struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn served_by(&self) -> String {
        self.header("x-csmrun-served-by").to_string()
    }
}

impl Mesh {
    async fn start(mesh_seed: u64) -> Mesh {
        let seed = csmrun_emulator::seed::Seed::from_json(&seed().to_string()).unwrap();
        let env = Env::frozen_with(Config {
            seed: SeedSource::Inline(seed),
            time_scale: Some(0.0),
            mesh_seed: Some(mesh_seed),
            ..Config::default()
        })
        .await;
        Mesh { env }
    }

    /// A Cloud Run service with its NEG and backend service, invokable by `invokers` (account names).
    async fn deploy(&self, name: &str, account: &str, in_mesh: bool, invokers: &[&str]) {
        let mut template = json!({
            "serviceAccount": sa(account),
            "containers": [{"image": "us-docker.pkg.dev/cloudrun/container/hello"}],
        });
        if in_mesh {
            template["serviceMesh"] = json!({"mesh": MESH});
            template["vpcAccess"] = json!({"networkInterfaces": [{"network": "mesh-vpc",
                "subnetwork": "mesh-subnet"}], "egress": "ALL_TRAFFIC"});
        }
        let body = json!({"launchStage": "BETA", "template": template});
        let op = self
            .env
            .ok(
                "POST",
                &format!("/run/v2/projects/{P}/locations/{R}/services?serviceId={name}"),
                Some(body),
            )
            .await;
        self.env.finish_run(&op).await;
        self.compute(
            &format!("regions/{R}/networkEndpointGroups"),
            json!({"name": format!("{name}-neg"), "networkEndpointType": "SERVERLESS",
                   "cloudRun": {"service": name}}),
        )
        .await;
        self.compute(
            "global/backendServices",
            json!({"name": format!("{name}-backend"), "loadBalancingScheme": "INTERNAL_SELF_MANAGED",
                   "backends": [{"group": format!("projects/{P}/regions/{R}/networkEndpointGroups/{name}-neg")}]}),
        )
        .await;
        if !invokers.is_empty() {
            let members: Vec<String> = invokers
                .iter()
                .map(|a| format!("serviceAccount:{}", sa(a)))
                .collect();
            self.env
                .ok(
                    "POST",
                    &format!("/run/v2/projects/{P}/locations/{R}/services/{name}:setIamPolicy"),
                    Some(json!({"policy": {"bindings": [{"role": "roles/run.invoker", "members": members}]}})),
                )
                .await;
        }
    }

    async fn compute(&self, rel: &str, body: Value) {
        let (status, op) = self
            .env
            .call(
                "POST",
                &format!("/compute/v1/projects/{P}/{rel}"),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{op}");
        self.env.advance("600s").await;
    }

    /// HTTPRoute `id` on the mesh for `host` with `rules`.
    async fn route(&self, id: &str, host: &str, rules: Value) {
        let (status, op) = self
            .env
            .call(
                "POST",
                &format!(
                    "/networkservices/v1/projects/{P}/locations/global/httpRoutes?httpRouteId={id}"
                ),
                Some(json!({"hostnames": [host], "meshes": [MESH], "rules": rules})),
            )
            .await;
        assert_eq!(status, 200, "{op}");
        self.env.advance("600s").await;
        let (status, done) = self
            .env
            .call(
                "GET",
                &format!("/networkservices/v1/{}", op["name"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert!(done.get("error").is_none(), "{done}");
    }

    fn client(&self, caller: &str) -> reqwest::Client {
        let proxy = reqwest::Proxy::http(self.env.emu.mesh_proxy_url())
            .unwrap()
            .basic_auth(caller, "");
        reqwest::Client::builder().proxy(proxy).build().unwrap()
    }

    async fn get_with(&self, client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Got {
        let mut req = client.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        Got {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&self, caller: &str, url: &str) -> Got {
        self.get_with(&self.client(caller), url, &[]).await
    }

    async fn workload(&self, body: Value) {
        let (status, text) = self.env.control("POST", "workloads", Some(body)).await;
        assert_eq!(status, 200, "{text}");
    }

    /// Every span recorded so far.
    async fn spans(&self) -> Vec<Value> {
        let (status, text) = self.env.control("GET", "traces", None).await;
        assert_eq!(status, 200);
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    async fn clear_spans(&self) {
        let (status, _) = self.env.control("DELETE", "traces", None).await;
        assert_eq!(status, 200);
    }
}

fn bs(name: &str) -> String {
    format!("projects/{P}/locations/global/backendServices/{name}-backend")
}

fn to(name: &str) -> Value {
    json!({"destinations": [{"serviceName": bs(name)}]})
}

fn span_seconds(span: &Value) -> f64 {
    let t = |k: &str| span[k].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    (t("end") - t("start")).num_milliseconds() as f64 / 1000.0
}

/// The meshapps services: client and proxy call, target1 only for the proxy, the rest for the client.
async fn meshapps(seed: u64) -> Mesh {
    let m = Mesh::start(seed).await;
    m.deploy("client", "client", true, &[]).await;
    m.deploy("proxy", "proxy", true, &["client"]).await;
    m.deploy("target1", "target1", true, &["proxy"]).await;
    for t in ["target2", "target3", "target", "target-green"] {
        let account = if t == "target-green" { "target" } else { t };
        m.deploy(t, account, true, &["client", "outsider"]).await;
    }
    m.route(
        "proxy-route",
        "proxy.meshapps.internal",
        json!([{"action": to("proxy")}]),
    )
    .await;
    m.route(
        "target1-route",
        "target1.meshapps.internal",
        json!([{"action": to("target1")}]),
    )
    .await;
    m
}

#[tokio::test]
async fn rules_are_matched_in_order_and_the_first_match_wins() {
    let m = meshapps(1).await;
    m.route(
        "order-route",
        "order.meshapps.internal",
        json!([
            {"matches": [{"prefixMatch": "/a"}], "action": to("target2")},
            {"matches": [{"prefixMatch": "/a/b"}], "action": to("target3")},
            {"action": to("target")}
        ]),
    )
    .await;
    // /a/b matches the second rule too, but the first comes first.
    let got = m.get("client", "http://order.meshapps.internal/a/b").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.served_by(), "target2");
    let got = m
        .get("client", "http://order.meshapps.internal/other")
        .await;
    assert_eq!(got.served_by(), "target");
    let spans = m.spans().await;
    assert_eq!(spans[0]["rule"], 0);
    assert_eq!(spans[1]["rule"], 2);
    assert_eq!(
        spans[0]["route"],
        format!("projects/{P}/locations/global/httpRoutes/order-route")
    );
}

#[tokio::test]
async fn path_matches_prefix_full_and_regex_pick_their_rule_and_no_match_is_404() {
    let m = meshapps(1).await;
    m.route(
        "paths-route",
        "paths.meshapps.internal",
        json!([
            {"matches": [{"fullPathMatch": "/exact"}], "action": to("target2")},
            {"matches": [{"regexMatch": "/v[0-9]+/items"}], "action": to("target3")},
            {"matches": [{"prefixMatch": "/API/", "ignoreCase": true}], "action": to("target")},
            {"matches": [{"prefixMatch": "/static"}], "action": {"directResponse": {"status": 202, "stringBody": "here"}}}
        ]),
    )
    .await;
    let host = "http://paths.meshapps.internal";
    assert_eq!(
        m.get("client", &format!("{host}/exact")).await.served_by(),
        "target2"
    );
    assert_eq!(
        m.get("client", &format!("{host}/v12/items"))
            .await
            .served_by(),
        "target3"
    );
    assert_eq!(
        m.get("client", &format!("{host}/api/x")).await.served_by(),
        "target"
    );
    let direct = m.get("client", &format!("{host}/static")).await;
    assert_eq!((direct.status, direct.body.as_str()), (202, "here"));
    // /exact/more is not the full path, /v1/items/x not a full regex match: no rule matches.
    for path in ["/exact/more", "/v1/items/x"] {
        let got = m.get("client", &format!("{host}{path}")).await;
        assert_eq!(got.status, 404, "{path}");
        assert!(got.header("x-csmrun-reason").contains("no rule"), "{path}");
    }
    // A host no route serves is 404 too.
    let got = m.get("client", "http://nowhere.meshapps.internal/").await;
    assert_eq!(got.status, 404);
}

#[tokio::test]
async fn a_header_rule_sends_end_user_jason_to_the_green_service() {
    let m = meshapps(1).await;
    m.route(
        "target-route",
        "target.meshapps.internal",
        json!([
            {"matches": [{"headers": [{"header": "end-user", "exactMatch": "jason"}]}],
             "action": to("target-green")},
            {"action": {"destinations": [
                {"serviceName": bs("target"), "weight": 100},
                {"serviceName": bs("target-green"), "weight": 0}]}}
        ]),
    )
    .await;
    let client = m.client("client");
    let url = "http://target.meshapps.internal/";
    for _ in 0..20 {
        let jason = m.get_with(&client, url, &[("end-user", "jason")]).await;
        assert_eq!(jason.served_by(), "target-green");
        assert_eq!(jason.json()["message"], "client <- target-green");
        let other = m.get_with(&client, url, &[("end-user", "json")]).await;
        assert_eq!(other.served_by(), "target");
    }
}

/// `n` calls from the client to `url` in process (`RunningEmulator::mesh_get`: the proxy's routing without HTTP
/// to the proxy, so thousands of calls stay cheap; the HTTP path has tests of its own).
async fn many(m: &Mesh, url: &str, n: usize) -> Vec<Got> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let a = m
            .env
            .emu
            .mesh_get("client", url, reqwest::header::HeaderMap::new())
            .await
            .unwrap();
        out.push(Got {
            status: a.status,
            headers: a.headers,
            body: String::from_utf8_lossy(&a.body).into_owned(),
        });
    }
    out
}

/// Counts which service answers `n` calls from the client to `url`.
async fn tally(m: &Mesh, url: &str, n: usize) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for got in many(m, url, n).await {
        assert_eq!(got.status, 200, "{}", got.body);
        *out.entry(got.served_by()).or_insert(0) += 1;
    }
    out
}

#[tokio::test]
async fn weights_hold_within_bounds_over_10000_calls() {
    let m = meshapps(20260301).await;
    m.route(
        "target-route",
        "target.meshapps.internal",
        json!([{"action": {"destinations": [
            {"serviceName": bs("target"), "weight": 99},
            {"serviceName": bs("target-green"), "weight": 1}]}}]),
    )
    .await;
    let counts = tally(&m, "http://target.meshapps.internal/", 10_000).await;
    // Binomial(10000, 0.01): mean 100, standard deviation about 10; five deviations either side.
    let green = counts.get("target-green").copied().unwrap_or(0);
    assert!((50..=150).contains(&green), "{counts:?}");
    assert_eq!(counts.get("target").copied().unwrap_or(0) + green, 10_000);
}

#[tokio::test]
async fn unweighted_destinations_split_equally() {
    let m = meshapps(7).await;
    m.route(
        "target23-route",
        "target23.meshapps.internal",
        json!([{"action": {"destinations": [{"serviceName": bs("target2")}, {"serviceName": bs("target3")}]}}]),
    )
    .await;
    let counts = tally(&m, "http://target23.meshapps.internal/", 1_000).await;
    // Binomial(1000, 0.5): standard deviation about 16; five deviations either side.
    let two = counts.get("target2").copied().unwrap_or(0);
    assert!((421..=579).contains(&two), "{counts:?}");
}

async fn sequence(m: &Mesh, n: usize) -> String {
    let client = m.client("client");
    let mut out = String::new();
    for _ in 0..n {
        let got = m
            .get_with(&client, "http://target23.meshapps.internal/", &[])
            .await;
        out.push(if got.served_by() == "target2" {
            '2'
        } else {
            '3'
        });
    }
    out
}

#[tokio::test]
async fn a_seed_gives_an_exact_sequence_of_choices() {
    let m = meshapps(42).await;
    let rules = json!([{"action": {"destinations": [
        {"serviceName": bs("target2"), "weight": 50}, {"serviceName": bs("target3"), "weight": 50}]}}]);
    m.route("target23-route", "target23.meshapps.internal", rules)
        .await;
    let first = sequence(&m, 20).await;
    // SplitMix64 seeded with 42 (computed apart from the emulator with the reference algorithm): one draw per
    // call, (x >> 11) / 2^53 below 0.5 is target2.
    assert_eq!(first, "32222323232233322223");
    // The same seed again, through the control plane, replays it; another seed gives another sequence.
    let (status, text) = m
        .env
        .control("POST", "settings", Some(json!({"meshSeed": 42})))
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"meshSeed\":42"), "{text}");
    assert_eq!(sequence(&m, 20).await, first);
    m.env
        .control("POST", "settings", Some(json!({"meshSeed": 43})))
        .await;
    assert_ne!(sequence(&m, 20).await, first);
}

#[tokio::test]
async fn abort_percentage_aborts_that_share_with_the_abort_status() {
    let m = meshapps(3).await;
    m.route(
        "faulty-route",
        "faulty.meshapps.internal",
        json!([{"action": {"destinations": [{"serviceName": bs("target2")}],
            "faultInjectionPolicy": {"abort": {"httpStatus": 418, "percentage": 25}}}}]),
    )
    .await;
    let mut aborted = 0;
    for got in many(&m, "http://faulty.meshapps.internal/", 1_000).await {
        match got.status {
            418 => {
                assert_eq!(got.body, "fault filter abort");
                aborted += 1;
            }
            200 => {}
            other => panic!("status {other}: {}", got.body),
        }
    }
    // Binomial(1000, 0.25): standard deviation about 14; five deviations either side.
    assert!((182..=318).contains(&aborted), "{aborted}");
    let spans = m.spans().await;
    let with_abort = spans.iter().filter(|s| s["fault"]["abort"] == 418).count();
    assert_eq!(with_abort, aborted);
}

#[tokio::test]
async fn delay_percentage_delays_that_share_by_the_fixed_delay() {
    let m = meshapps(4).await;
    m.route(
        "slow-route",
        "slow.meshapps.internal",
        json!([{"action": {"destinations": [{"serviceName": bs("target2")}],
            "faultInjectionPolicy": {"delay": {"fixedDelay": "2s", "percentage": 10}}}}]),
    )
    .await;
    for got in many(&m, "http://slow.meshapps.internal/", 1_000).await {
        assert_eq!(got.status, 200);
    }
    let spans = m.spans().await;
    let delayed: Vec<&Value> = spans
        .iter()
        .filter(|s| s["fault"]["delay"] == "2s")
        .collect();
    // Binomial(1000, 0.1): standard deviation about 9.5; five deviations either side.
    assert!((53..=147).contains(&delayed.len()), "{}", delayed.len());
    for s in &delayed {
        assert_eq!(span_seconds(s), 2.0, "{s}");
    }
    let undelayed = spans.iter().find(|s| s["fault"].is_null()).unwrap();
    assert_eq!(span_seconds(undelayed), 0.0);
}

#[tokio::test]
async fn a_fault_injection_policy_makes_the_proxy_ignore_timeout_and_retries() {
    // "timeout and retry_policy will be ignored by clients that are configured with a fault_injection_policy"
    let m = meshapps(5).await;
    m.workload(json!({"service": "target2", "failPercent": 100}))
        .await;
    m.route(
        "ignored-route",
        "ignored.meshapps.internal",
        json!([{"action": {"destinations": [{"serviceName": bs("target2")}], "timeout": "1s",
            "retryPolicy": {"retryConditions": ["5xx"], "numRetries": 3},
            "faultInjectionPolicy": {"delay": {"fixedDelay": "5s", "percentage": 100}}}}]),
    )
    .await;
    let got = m.get("client", "http://ignored.meshapps.internal/").await;
    // Not 504 after 1s, and the injected 503 is not retried.
    assert_eq!(got.status, 503, "{}", got.body);
    let span = &m.spans().await[0];
    assert_eq!(span["retries"], 0);
    assert_eq!(span_seconds(span), 5.0);
}

#[tokio::test]
async fn retries_on_5xx_up_to_num_retries_and_only_for_listed_conditions() {
    let m = meshapps(6).await;
    m.workload(json!({"service": "target2", "failPercent": 100, "failStatus": 500}))
        .await;
    m.route(
        "retry-route",
        "retry.meshapps.internal",
        json!([
            {"matches": [{"prefixMatch": "/5xx"}], "action": {"destinations": [{"serviceName": bs("target2")}],
                "retryPolicy": {"retryConditions": ["5xx"], "numRetries": 3}}},
            {"matches": [{"prefixMatch": "/gateway"}], "action": {"destinations": [{"serviceName": bs("target2")}],
                "retryPolicy": {"retryConditions": ["gateway-error"], "numRetries": 3}}},
            {"matches": [{"prefixMatch": "/conflict"}], "action": {"destinations": [{"serviceName": bs("target3")}],
                "retryPolicy": {"retryConditions": ["retriable-4xx"], "numRetries": 2}}}
        ]),
    )
    .await;
    // "Currently the only retriable error supported is 409."
    m.workload(json!({"service": "target3", "failPercent": 100, "failStatus": 409}))
        .await;
    assert_eq!(
        m.get("client", "http://retry.meshapps.internal/conflict")
            .await
            .status,
        409
    );
    m.workload(json!({"service": "target3", "failPercent": 100, "failStatus": 429}))
        .await;
    assert_eq!(
        m.get("client", "http://retry.meshapps.internal/conflict")
            .await
            .status,
        429
    );
    let spans = m.spans().await;
    assert_eq!(
        (&spans[0]["retries"], &spans[1]["retries"]),
        (&json!(2), &json!(0))
    );
    m.clear_spans().await;
    let got = m.get("client", "http://retry.meshapps.internal/5xx").await;
    assert_eq!(got.status, 500);
    // 500 is not a gateway error (502, 503, 504): no retry.
    let got = m
        .get("client", "http://retry.meshapps.internal/gateway")
        .await;
    assert_eq!(got.status, 500);
    let spans = m.spans().await;
    assert_eq!(spans[0]["retries"], 3);
    assert_eq!(spans[1]["retries"], 0);
    // Half the calls failing, three retries: a call fails only when four attempts in a row do (1/16).
    m.workload(json!({"service": "target2", "failPercent": 50}))
        .await;
    let mut failed = 0;
    for got in many(&m, "http://retry.meshapps.internal/5xx", 600).await {
        if got.status != 200 {
            assert_eq!(got.status, 503);
            failed += 1;
        }
    }
    // Binomial(600, 0.0625): mean 37.5, standard deviation about 5.9; five deviations either side.
    assert!((8..=67).contains(&failed), "{failed}");
}

/// A local port nothing listens on.
async fn dead_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

#[tokio::test]
async fn retries_on_connect_failure_only_when_the_condition_is_listed() {
    let m = meshapps(8).await;
    let port = dead_port().await;
    m.workload(json!({"service": "target2", "upstream": format!("http://127.0.0.1:{port}")}))
        .await;
    m.workload(json!({"service": "target3", "failPercent": 50, "failKind": "connect-failure"}))
        .await;
    m.route(
        "connect-route",
        "connect.meshapps.internal",
        json!([
            {"matches": [{"prefixMatch": "/dead/listed"}], "action": {"destinations": [{"serviceName": bs("target2")}],
                "retryPolicy": {"retryConditions": ["connect-failure"], "numRetries": 2}}},
            {"matches": [{"prefixMatch": "/dead/unlisted"}], "action": {"destinations": [{"serviceName": bs("target2")}],
                "retryPolicy": {"retryConditions": ["gateway-error"], "numRetries": 2}}},
            {"action": {"destinations": [{"serviceName": bs("target3")}],
                "retryPolicy": {"retryConditions": ["connect-failure"], "numRetries": 5}}}
        ]),
    )
    .await;
    let got = m
        .get("client", "http://connect.meshapps.internal/dead/listed")
        .await;
    assert_eq!(got.status, 503);
    assert!(got.body.contains("connection failure"), "{}", got.body);
    m.get("client", "http://connect.meshapps.internal/dead/unlisted")
        .await;
    let spans = m.spans().await;
    assert_eq!(spans[0]["retries"], 2);
    assert_eq!(spans[1]["retries"], 0);
    // Half the connections failing, five retries: nearly every call gets through, some after retries.
    let client = m.client("client");
    let mut ok = 0;
    for _ in 0..200 {
        let got = m
            .get_with(&client, "http://connect.meshapps.internal/flaky", &[])
            .await;
        ok += usize::from(got.status == 200);
    }
    let retried = m
        .spans()
        .await
        .iter()
        .filter(|s| s["retries"].as_u64() > Some(0))
        .count();
    // A call fails only when six attempts in a row do (1/64): at most a handful of 200.
    assert!(ok >= 185, "{ok}");
    assert!(retried >= 50, "{retried}");
}

#[tokio::test]
async fn the_route_timeout_ends_a_slow_call_with_504_and_counts_every_retry() {
    let m = meshapps(9).await;
    m.workload(json!({"service": "target2", "latency": "3s"}))
        .await;
    m.route(
        "timeout-route",
        "timeout.meshapps.internal",
        json!([
            {"matches": [{"prefixMatch": "/route"}], "action": {"destinations": [{"serviceName": bs("target2")}],
                "timeout": "1s"}},
            {"matches": [{"prefixMatch": "/per-try"}], "action": {"destinations": [{"serviceName": bs("target2")}],
                "timeout": "10s", "retryPolicy": {"retryConditions": ["reset"], "numRetries": 2,
                "perTryTimeout": "1s"}}},
            {"matches": [{"prefixMatch": "/budget"}], "action": {"destinations": [{"serviceName": bs("target2")}],
                "timeout": "2.5s", "retryPolicy": {"retryConditions": ["5xx"], "numRetries": 5,
                "perTryTimeout": "1s"}}},
            {"action": {"destinations": [{"serviceName": bs("target2")}], "timeout": "5s"}}
        ]),
    )
    .await;
    let url = |p: &str| format!("http://timeout.meshapps.internal{p}");
    let got = m.get("client", &url("/route")).await;
    assert_eq!(
        (got.status, got.body.as_str()),
        (504, "upstream request timeout")
    );
    m.get("client", &url("/per-try")).await;
    m.get("client", &url("/budget")).await;
    let got = m.get("client", &url("/fits")).await;
    assert_eq!(got.status, 200);
    let spans = m.spans().await;
    assert_eq!(
        (span_seconds(&spans[0]), &spans[0]["retries"]),
        (1.0, &json!(0))
    );
    // Three attempts of one second each, all timed out.
    assert_eq!(spans[1]["status"], 504);
    assert_eq!(
        (span_seconds(&spans[1]), &spans[1]["retries"]),
        (3.0, &json!(2))
    );
    // "Timeout includes all retries": the 2.5 s route timeout ends the third attempt half way.
    assert_eq!(
        (span_seconds(&spans[2]), &spans[2]["retries"]),
        (2.5, &json!(2))
    );
    assert_eq!(span_seconds(&spans[3]), 3.0);
}

#[tokio::test]
async fn a_caller_without_run_invoker_gets_403_and_one_with_it_gets_through() {
    let m = meshapps(10).await;
    let got = m.get("client", "http://target1.meshapps.internal/").await;
    assert_eq!(got.status, 403);
    assert!(
        got.body.contains(
            "Your client does not have permission to get URL <code>/</code> from this server."
        ),
        "{}",
        got.body
    );
    assert!(got.header("x-csmrun-reason").contains(&sa("client")));
    let got = m.get("proxy", "http://target1.meshapps.internal/").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["message"], "proxy <- target1");
    // A grant on the project covers every service in it (IAM inheritance).
    m.env
        .grant(
            "roles/run.invoker",
            &format!("serviceAccount:{}", sa("client")),
        )
        .await;
    assert_eq!(
        m.get("client", "http://target1.meshapps.internal/")
            .await
            .status,
        200
    );
    // A service can turn the invoker check off.
    let got = m.get("target2", "http://proxy.meshapps.internal/").await;
    assert_eq!(got.status, 403);
    m.env.emu.with_world(|w| {
        let key = format!("projects/{P}/locations/{R}/services/proxy");
        let service = w.get_mut("run.services", &key).unwrap();
        service["invokerIamDisabled"] = json!(true);
    });
    assert_eq!(
        m.get("target2", "http://proxy.meshapps.internal/")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_new_invoker_grant_lets_the_caller_through_only_once_it_has_propagated() {
    let m = meshapps(19).await;
    // From now on IAM changes take the nominal 90 s to become effective.
    let (status, text) = m
        .env
        .control("POST", "settings", Some(json!({"timeScale": 1})))
        .await;
    assert_eq!(status, 200, "{text}");
    let members = [sa("proxy"), sa("client")].map(|a| format!("serviceAccount:{a}"));
    m.env
        .ok(
            "POST",
            &format!("/run/v2/projects/{P}/locations/{R}/services/target1:setIamPolicy"),
            Some(json!({"policy": {"bindings": [{"role": "roles/run.invoker", "members": members}]}})),
        )
        .await;
    assert_eq!(
        m.get("client", "http://target1.meshapps.internal/")
            .await
            .status,
        403
    );
    assert_eq!(
        m.get("proxy", "http://target1.meshapps.internal/")
            .await
            .status,
        200
    );
    m.env.advance("90s").await;
    assert_eq!(
        m.get("client", "http://target1.meshapps.internal/")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_caller_that_is_not_a_mesh_client_cannot_resolve_a_mesh_hostname() {
    let m = meshapps(11).await;
    m.deploy("outsider", "outsider", false, &[]).await;
    m.route(
        "target2-route",
        "target2.meshapps.internal",
        json!([{"action": to("target2")}]),
    )
    .await;
    // outsider may invoke target2, but without serviceMesh it gets no routes: the call times out.
    let got = m.get("outsider", "http://target2.meshapps.internal/").await;
    assert_eq!(got.status, 504, "{}", got.body);
    assert!(got.header("x-csmrun-reason").contains("not a mesh client"));
    let span = &m.spans().await[0];
    assert_eq!(span_seconds(span), 10.0);
    assert!(span["service"].is_null());
    assert_eq!(
        m.get("client", "http://target2.meshapps.internal/")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_service_whose_revision_is_not_ready_is_not_routed_to() {
    let m = meshapps(12).await;
    // lonely's account is no Traffic Director client: its mesh sidecar never starts, no revision is ready.
    m.deploy("lonely", "lonely", true, &["client"]).await;
    m.route(
        "lonely-route",
        "lonely.meshapps.internal",
        json!([{"action": to("lonely")}]),
    )
    .await;
    let got = m.get("client", "http://lonely.meshapps.internal/").await;
    assert_eq!(
        (got.status, got.body.as_str()),
        (503, "no healthy upstream")
    );
    assert!(got.header("x-csmrun-reason").contains("no ready revision"));
    // And it cannot call anyone either: nothing of it runs.
    assert_eq!(
        m.get("lonely", "http://proxy.meshapps.internal/")
            .await
            .status,
        503
    );
}

#[tokio::test]
async fn the_chain_client_proxy_target1_is_one_trace_with_a_span_per_hop() {
    let m = meshapps(13).await;
    let got = m
        .get(
            "client",
            "http://proxy.meshapps.internal/call/target1.meshapps.internal",
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let body = got.json();
    assert_eq!(body["message"], "client <- proxy <- target1");
    assert_eq!(body["service"], "proxy");
    assert!(body["revision"].as_str().unwrap().starts_with("proxy-"));
    assert_eq!(got.served_by(), "proxy");
    let traceparent = got.header("traceparent").to_string();
    let trace_id = traceparent.split('-').nth(1).unwrap().to_string();
    let (_, text) = m
        .env
        .control("GET", &format!("traces?traceId={trace_id}"), None)
        .await;
    let spans: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(spans.len(), 2, "{text}");
    let (inner, outer) = (&spans[0], &spans[1]);
    assert_eq!(
        (outer["caller"].as_str(), outer["service"].as_str()),
        (Some("client"), Some("proxy"))
    );
    assert_eq!(
        (inner["caller"].as_str(), inner["service"].as_str()),
        (Some("proxy"), Some("target1"))
    );
    assert_eq!(inner["parentSpanId"], outer["spanId"]);
    assert!(outer["parentSpanId"].is_null());
    assert_eq!(
        traceparent,
        format!("00-{trace_id}-{}-01", outer["spanId"].as_str().unwrap())
    );
    // The client calling target1 through the proxy is fine; straight to target1 it is refused, and the
    // refusal comes back through the chain.
    let got = m
        .get(
            "client",
            "http://target2.meshapps.internal/call/target1.meshapps.internal",
        )
        .await;
    assert_eq!(got.status, 404, "no route for target2 yet: {}", got.body);
    // A trace the caller started is continued.
    m.clear_spans().await;
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let got = m
        .get_with(
            &m.client("client"),
            "http://proxy.meshapps.internal/",
            &[("traceparent", tp)],
        )
        .await;
    assert!(got
        .header("traceparent")
        .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    let span = &m.spans().await[0];
    assert_eq!(span["parentSpanId"], "00f067aa0ba902b7");
}

#[tokio::test]
async fn a_child_span_lies_inside_its_parent_after_the_parents_wait() {
    let m = meshapps(18).await;
    m.workload(json!({"service": "proxy", "latency": "1s"}))
        .await;
    m.workload(json!({"service": "target1", "latency": "250ms"}))
        .await;
    let got = m
        .get(
            "client",
            "http://proxy.meshapps.internal/call/target1.meshapps.internal",
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let spans = m.spans().await;
    let (inner, outer) = (&spans[0], &spans[1]);
    let t = |s: &Value, k: &str| s[k].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        (t(inner, "start") - t(outer, "start")).num_milliseconds(),
        1000
    );
    assert_eq!(span_seconds(inner), 0.25);
    assert_eq!(span_seconds(outer), 1.25);
    assert_eq!(t(inner, "end"), t(outer, "end"));
}

#[tokio::test]
async fn an_onward_call_that_is_refused_comes_back_refused() {
    let m = meshapps(14).await;
    m.route(
        "target2-route",
        "target2.meshapps.internal",
        json!([{"action": to("target2")}]),
    )
    .await;
    // target2 may not invoke target1.
    let got = m
        .get(
            "client",
            "http://target2.meshapps.internal/call/target1.meshapps.internal",
        )
        .await;
    assert_eq!(got.status, 403, "{}", got.body);
    assert_eq!(
        got.json()["message"],
        "client <- target2 -> target1.meshapps.internal: 403"
    );
}

/// A tiny local HTTP server that answers what it was sent.
async fn echo_server() -> u16 {
    use axum::extract::Request;
    async fn echo(req: Request) -> axum::Json<Value> {
        let h = |k: &str| {
            req.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        axum::Json(json!({
            "path": req.uri().path(), "query": req.uri().query(),
            "authorization": h("authorization"), "traceparent": h("traceparent"),
            "forwardedHost": h("x-forwarded-host"), "proxyAuthorization": h("proxy-authorization"),
            "canary": h("x-canary"), "secret": h("x-secret"),
        }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(echo))
            .await
            .unwrap();
    });
    port
}

#[tokio::test]
async fn a_real_local_process_serves_a_service_and_gets_the_callers_identity_token() {
    let m = meshapps(15).await;
    let port = echo_server().await;
    m.workload(json!({"service": "target2", "upstream": format!("http://127.0.0.1:{port}")}))
        .await;
    m.route(
        "target2-route",
        "target2.meshapps.internal",
        json!([{"action": {"destinations": [{"serviceName": bs("target2"),
                "responseHeaderModifier": {"add": {"x-from-destination": "yes"}}}],
            "requestHeaderModifier": {"set": {"x-canary": "blue"}, "remove": ["x-secret"]},
            "responseHeaderModifier": {"set": {"x-route": "target2-route"}}}}]),
    )
    .await;
    let got = m
        .get_with(
            &m.client("client"),
            "http://target2.meshapps.internal/hello?x=1",
            &[("x-secret", "s"), ("x-canary", "green")],
        )
        .await;
    assert_eq!(got.header("x-route"), "target2-route");
    assert_eq!(got.header("x-from-destination"), "yes");
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.served_by(), "target2");
    let echoed = got.json();
    assert_eq!(
        (echoed["path"].as_str(), echoed["query"].as_str()),
        (Some("/hello"), Some("x=1"))
    );
    assert_eq!(echoed["forwardedHost"], "target2.meshapps.internal");
    assert_eq!(echoed["proxyAuthorization"], "");
    assert_eq!(
        (echoed["canary"].as_str(), echoed["secret"].as_str()),
        (Some("blue"), Some(""))
    );
    // The identity token names the caller's account, for the destination's URL.
    let token = echoed["authorization"]
        .as_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let claims = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["email"], sa("client"));
    assert!(
        claims["aud"]
            .as_str()
            .unwrap()
            .starts_with("https://target2-"),
        "{claims}"
    );
    let span = &m.spans().await[0];
    assert_eq!(
        echoed["traceparent"],
        format!(
            "00-{}-{}-01",
            span["traceId"].as_str().unwrap(),
            span["spanId"].as_str().unwrap()
        )
    );
    // IAM still applies in front of a real process.
    m.workload(json!({"service": "target1", "upstream": format!("http://127.0.0.1:{port}")}))
        .await;
    assert_eq!(
        m.get("client", "http://target1.meshapps.internal/")
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn the_proxy_refuses_what_it_cannot_route_with_a_reason() {
    let m = meshapps(16).await;
    let proxy = m.env.emu.mesh_proxy_url();
    // No proxy user.
    let anonymous = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(&proxy).unwrap())
        .build()
        .unwrap();
    let got = m
        .get_with(&anonymous, "http://proxy.meshapps.internal/", &[])
        .await;
    assert_eq!(got.status, 407);
    assert!(got.header("proxy-authenticate").starts_with("Basic"));
    // A user that names no service.
    let got = m.get("nobody", "http://proxy.meshapps.internal/").await;
    assert_eq!(got.status, 407);
    assert!(
        got.body.contains("no Cloud Run service is named 'nobody'"),
        "{}",
        got.body
    );
    // The qualified form names the same service.
    let got = m
        .get(
            &format!("client.{R}.{P}"),
            "http://proxy.meshapps.internal/",
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    // Not a proxy request.
    let direct = reqwest::get(format!("{proxy}/")).await.unwrap();
    assert_eq!(direct.status().as_u16(), 400);
    // https:// (CONNECT) is not carried: mesh hostnames are plain HTTP.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(m.env.emu.mesh_proxy_addr())
            .await
            .unwrap();
        tcp.write_all(b"CONNECT proxy.meshapps.internal:443 HTTP/1.1\r\nHost: proxy.meshapps.internal:443\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0u8; 12];
        tcp.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 501");
    }
    // A body over 32 MiB is refused before anything is routed.
    let big = vec![b'x'; 32 * 1024 * 1024 + 1];
    let resp = m
        .client("client")
        .post("http://proxy.meshapps.internal/")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    // A loop of calls ends.
    let got = m
        .get_with(
            &m.client("client"),
            "http://proxy.meshapps.internal/",
            &[("x-csmrun-hops", "16")],
        )
        .await;
    assert_eq!(got.status, 508);
}

#[tokio::test]
async fn workload_settings_are_checked_and_guarded_like_the_rest_of_the_control_plane() {
    let m = meshapps(17).await;
    for bad in [
        json!({"service": "target2", "upstream": "http://10.0.0.1:80"}),
        json!({"service": "target2", "upstream": "https://127.0.0.1:8443"}),
        json!({"service": "target2", "failPercent": 101}),
        json!({"service": "target2", "latency": "-1s"}),
        json!({"service": "target2", "surprise": true}),
    ] {
        let (status, text) = m.env.control("POST", "workloads", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {text}");
    }
    let resp = reqwest::Client::new()
        .post(m.env.url("/_emulator/workloads"))
        .header("origin", "https://evil.example")
        .json(&json!({"service": "target2", "upstream": "http://127.0.0.1:9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let (_, text) = m.env.control("GET", "workloads", None).await;
    assert_eq!(text, r#"{"workloads":[]}"#);
}

#[test]
fn the_binary_prints_the_mesh_proxy_on_its_second_line() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_csmrun-emulator"))
        .args(["--listen", "127.0.0.1:0", "--mesh-seed", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let (mut first, mut second) = (String::new(), String::new());
    out.read_line(&mut first).unwrap();
    out.read_line(&mut second).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("csmrun-emulator listening on http://127.0.0.1:"),
        "{first}"
    );
    let re =
        regex::Regex::new(r"^csmrun-emulator mesh proxy on http://127\.0\.0\.1:\d+\n$").unwrap();
    assert!(re.is_match(&second), "{second:?}");
}
