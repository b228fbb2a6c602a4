//! The meshapps topology (examples/meshapps, with its `end-user: jason` rule) built from API objects as Google
//! returns them, and its Mermaid text.

use gcp::compute::{Backend, BackendService, CloudRunTarget, NetworkEndpointGroup};
use gcp::network_services::{
    Destination, HeaderMatch, HttpRoute, RouteAction, RouteMatch, RouteRule,
};

use super::model::{Call, Topology};
use super::topology::{build, RunService};
use super::{mermaid, parse_mesh};

const P: &str = "projects/demo-project";
const MESH: &str = "projects/demo-project/locations/global/meshes/meshapps";
const REGION: &str = "asia-northeast1";

fn dest(service: &str, weight: Option<i32>) -> Destination {
    Destination {
        service_name: format!("{P}/locations/global/backendServices/{service}-bs"),
        weight,
        ..Destination::default()
    }
}

fn route(name: &str, host: &str, rules: Vec<RouteRule>) -> HttpRoute {
    HttpRoute {
        name: format!("{P}/locations/global/httpRoutes/{name}"),
        hostnames: vec![host.to_string()],
        meshes: vec![MESH.to_string()],
        rules,
        ..HttpRoute::default()
    }
}

fn rule(matches: Vec<RouteMatch>, destinations: Vec<Destination>) -> RouteRule {
    RouteRule {
        matches,
        action: Some(RouteAction {
            destinations,
            ..RouteAction::default()
        }),
        ..RouteRule::default()
    }
}

fn jason() -> RouteMatch {
    RouteMatch {
        headers: vec![HeaderMatch {
            header: "end-user".into(),
            exact_match: Some("jason".into()),
            ..HeaderMatch::default()
        }],
        ..RouteMatch::default()
    }
}

const NAMES: [&str; 7] = [
    "client",
    "proxy",
    "target1",
    "target2",
    "target3",
    "target",
    "target-green",
];

fn sa(who: &str) -> String {
    format!("meshapps-{who}@demo-project.iam.gserviceaccount.com")
}

/// What the example makes: one route, backend service and NEG per service.
fn meshapps() -> Topology {
    let single = |n: &str| {
        route(
            &format!("{n}-route"),
            &format!("{n}.meshapps.internal"),
            vec![rule(vec![], vec![dest(n, None)])],
        )
    };
    let mut routes: Vec<HttpRoute> = ["client", "proxy", "target1", "target3", "target-green"]
        .iter()
        .map(|n| single(n))
        .collect();
    routes.push(route(
        "target2-route",
        "target23.meshapps.internal",
        vec![rule(
            vec![],
            vec![dest("target2", Some(50)), dest("target3", Some(50))],
        )],
    ));
    routes.push(route(
        "target-route",
        "target.meshapps.internal",
        vec![
            rule(vec![jason()], vec![dest("target-green", Some(100))]),
            rule(
                vec![],
                vec![dest("target", Some(99)), dest("target-green", Some(1))],
            ),
        ],
    ));
    // A route of another mesh is not part of this one.
    let mut other = single("elsewhere");
    other.meshes = vec!["projects/demo-project/locations/global/meshes/other".into()];
    routes.push(other);

    let backends: Vec<BackendService> = NAMES
        .iter()
        .map(|n| BackendService {
            name: format!("{n}-bs"),
            backends: vec![Backend {
                group: format!(
                    "https://www.googleapis.com/compute/v1/projects/demo-project/regions/{REGION}/networkEndpointGroups/{n}-neg"
                ),
                ..Backend::default()
            }],
            ..BackendService::default()
        })
        .collect();
    let negs: Vec<NetworkEndpointGroup> = NAMES
        .iter()
        .map(|n| NetworkEndpointGroup {
            name: format!("{n}-neg"),
            region: Some(format!(
                "https://www.googleapis.com/compute/v1/projects/demo-project/regions/{REGION}"
            )),
            cloud_run: Some(CloudRunTarget {
                service: Some(n.to_string()),
                ..CloudRunTarget::default()
            }),
            ..NetworkEndpointGroup::default()
        })
        .collect();
    let client_only = vec![format!("serviceAccount:{}", sa("client"))];
    let services: Vec<RunService> = NAMES
        .iter()
        .map(|n| RunService {
            region: REGION.into(),
            name: n.to_string(),
            uri: Some(format!("https://{n}-123456789012.{REGION}.run.app")),
            service_account: Some(sa(if *n == "target-green" { "target" } else { n })),
            mesh: Some(MESH.into()),
            invokers: match *n {
                "client" => vec![],
                "target1" => vec![format!("serviceAccount:{}", sa("proxy"))],
                _ => client_only.clone(),
            },
        })
        .collect();
    build("meshapps", &routes, &backends, &negs, &services)
}

#[test]
fn meshapps_mermaid_text() {
    let want = r#"flowchart LR
  %% mesh meshapps: hostnames route to Cloud Run services; dotted: may call (roles/run.invoker)
  svc_client["client"]
  svc_proxy["proxy"]
  svc_target["target"]
  svc_target_green["target-green"]
  svc_target1["target1"]
  svc_target2["target2"]
  svc_target3["target3"]
  host_client_meshapps_internal(["client.meshapps.internal"])
  host_client_meshapps_internal --> svc_client
  host_proxy_meshapps_internal(["proxy.meshapps.internal"])
  host_proxy_meshapps_internal --> svc_proxy
  host_target_green_meshapps_internal(["target-green.meshapps.internal"])
  host_target_green_meshapps_internal --> svc_target_green
  host_target_meshapps_internal(["target.meshapps.internal"])
  host_target_meshapps_internal -->|"header end-user = jason"| svc_target_green
  host_target_meshapps_internal -->|"rule 2: any request, weight 99"| svc_target
  host_target_meshapps_internal -->|"rule 2: any request, weight 1"| svc_target_green
  host_target1_meshapps_internal(["target1.meshapps.internal"])
  host_target1_meshapps_internal --> svc_target1
  host_target23_meshapps_internal(["target23.meshapps.internal"])
  host_target23_meshapps_internal -->|"weight 50"| svc_target2
  host_target23_meshapps_internal -->|"weight 50"| svc_target3
  host_target3_meshapps_internal(["target3.meshapps.internal"])
  host_target3_meshapps_internal --> svc_target3
  svc_client -.-> svc_proxy
  svc_client -.-> svc_target
  svc_client -.-> svc_target_green
  svc_client -.-> svc_target2
  svc_client -.-> svc_target3
  svc_proxy -.-> svc_target1
"#;
    assert_eq!(mermaid::render(&meshapps()), want);
}

#[test]
fn only_the_proxy_may_call_target1() {
    let t = meshapps();
    let callers: Vec<&str> = t
        .calls
        .iter()
        .filter(|c| c.service == "target1")
        .map(|c| c.caller.as_str())
        .collect();
    assert_eq!(callers, ["proxy"]);
    assert!(!t.calls.contains(&Call {
        caller: "client".into(),
        service: "target1".into()
    }));
}

#[test]
fn routes_of_other_meshes_are_left_out_and_weights_kept() {
    let t = meshapps();
    assert!(t
        .hostnames
        .iter()
        .all(|h| h.hostname != "elsewhere.meshapps.internal"));
    let h = t
        .hostnames
        .iter()
        .find(|h| h.hostname == "target23.meshapps.internal")
        .unwrap_or_else(|| panic!("target23 missing: {t:?}"));
    assert_eq!(h.route, "target2-route");
    let d: Vec<(Option<&str>, Option<i64>)> = h.rules[0]
        .destinations
        .iter()
        .map(|d| (d.service.as_deref(), d.weight))
        .collect();
    assert_eq!(
        d,
        [(Some("target2"), Some(50)), (Some("target3"), Some(50))]
    );
}

#[test]
fn a_backend_service_without_cloud_run_behind_it_is_drawn_as_such() {
    let routes = vec![route(
        "r",
        "db.meshapps.internal",
        vec![rule(vec![], vec![dest("gone", None)])],
    )];
    let t = build("meshapps", &routes, &[], &[], &[]);
    assert_eq!(t.hostnames[0].rules[0].destinations[0].service, None);
    let text = mermaid::render(&t);
    assert!(
        text.contains(r#"backend_gone_bs["backend service gone-bs (no Cloud Run service found)"]"#),
        "{text}"
    );
    assert!(
        text.contains("host_db_meshapps_internal --> backend_gone_bs"),
        "{text}"
    );
}

#[test]
fn quotes_in_header_values_cannot_break_the_chart() {
    let mut m = jason();
    m.headers[0].exact_match = Some("a\"]; click x".into());
    let routes = vec![route(
        "r",
        "h.x",
        vec![rule(vec![m], vec![dest("gone", None)])],
    )];
    let text = mermaid::render(&build("meshapps", &routes, &[], &[], &[]));
    assert!(
        text.contains(r#"-->|"header end-user = a#quot;]; click x"|"#),
        "{text}"
    );
}

#[test]
fn mesh_is_a_name_or_a_full_name() {
    assert_eq!(parse_mesh("meshapps"), Some((None, "meshapps")));
    assert_eq!(parse_mesh(MESH), Some((Some("demo-project"), "meshapps")));
    assert_eq!(parse_mesh("projects/p/meshes/m"), None);
    assert_eq!(parse_mesh(""), None);
}
