//! The state-vs-emulator check itself, on hand-written documents: it passes when they agree and
//! names each kind of disagreement.

use csmrun_acctest::consistency::{disagreements, Baseline};
use serde_json::{json, Value};

const ID: &str = "projects/p/locations/r/services/s";
const NEG: &str = "projects/p/regions/r/networkEndpointGroups/s-neg";
const BE: &str = "projects/p/global/backendServices/s-backend";
const ROUTE: &str = "projects/p/locations/global/httpRoutes/s-route";
const ZONE: &str = "projects/p/managedZones/csmrun-d";
const REGISTRY: &str = "projects/p/managedZones/csmrun-d/rrsets/_csmrun-users.d./TXT";
const SA: &str = "serviceAccount:a@p.iam.gserviceaccount.com";

fn show() -> Value {
    json!({"values": {"root_module": {"resources": [{
        "address": "csmrun_service.s", "mode": "managed", "type": "csmrun_service",
        "values": {"id": ID, "name": "s", "project": "p", "region": "r", "image": "img:1", "env": {"A": "1"},
                   "service_account": "a@p.iam.gserviceaccount.com", "mesh": "m", "trace": false,
                   "invokers": ["user:x@example.com"], "neg": NEG, "backend_service": BE,
                   "http_route": ROUTE, "hostname": "s.d", "dns_zone": ZONE, "domain": "d",
                   "dns_address": "10.0.0.1", "route": []}
    }]}}})
}

fn world() -> Value {
    json!({
        "projects": [{"id": "p", "iamPolicy": {"bindings": [
            {"role": "roles/trafficdirector.client", "members": [SA]}]}}],
        "resources": {
            "run.services": {ID: {"template": {"containers": [{"image": "img:1", "env": [{"name": "A", "value": "1"}]}],
                                  "serviceAccount": "a@p.iam.gserviceaccount.com",
                                  "serviceMesh": {"mesh": "projects/p/locations/global/meshes/m"}},
                     "terminalCondition": {"state": "CONDITION_SUCCEEDED"}}},
            "run.revisions": {format!("{ID}/revisions/s-00001-abc"): {}},
            "compute.networkEndpointGroups": {NEG: {"cloudRun": {"service": "s"}}},
            "compute.backendServices": {BE: {"backends": [{"group": format!("https://www.googleapis.com/compute/v1/{NEG}")}]}},
            "networkservices.httpRoutes": {ROUTE: {"hostnames": ["s.d"], "rules": [{"action": {"destinations": [{"serviceName": BE}]}}]}},
            "dns.managedZones": {ZONE: {"dnsName": "d.", "labels": {"managed-by": "csmrun"}}},
            "dns.rrsets": {format!("{ZONE}/rrsets/*.d./A"): {"rrdatas": ["10.0.0.1"]},
                           REGISTRY: {"rrdatas": ["\"csmrun:p/r/s\""]}},
            "compute.requestIds": {"projects/p/requestIds/1": "op"}
        },
        "resourcePolicies": {ID: {"bindings": [{"role": "roles/run.invoker", "members": ["user:x@example.com"]}]}}
    })
}

fn empty() -> Baseline {
    Baseline::capture(&json!({}))
}

#[test]
fn agreeing_documents_have_no_disagreements() {
    assert_eq!(
        disagreements(&show(), &world(), &empty()),
        Vec::<String>::new()
    );
}

#[test]
fn a_part_missing_from_the_emulator_is_reported() {
    let mut w = world();
    w["resources"]["networkservices.httpRoutes"] = json!({});
    let problems = disagreements(&show(), &w, &empty());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("HTTPRoute") && p.contains("missing")),
        "{problems:?}"
    );
}

#[test]
fn a_different_image_is_reported() {
    let mut w = world();
    w["resources"]["run.services"][ID]["template"]["containers"][0]["image"] = json!("img:2");
    let problems = disagreements(&show(), &w, &empty());
    assert!(problems.iter().any(|p| p.contains("image")), "{problems:?}");
}

#[test]
fn a_leftover_the_state_does_not_know_is_reported_unless_it_was_there_before() {
    let mut w = world();
    w["resources"]["compute.networkEndpointGroups"]
        ["projects/p/regions/r/networkEndpointGroups/orphan"] = json!({});
    let problems = disagreements(&show(), &w, &empty());
    assert!(
        problems.iter().any(|p| p.contains("orphan")),
        "{problems:?}"
    );
    let before = Baseline::capture(&w);
    assert_eq!(disagreements(&show(), &w, &before), Vec::<String>::new());
}

#[test]
fn parts_left_after_everything_was_destroyed_are_reported() {
    let nothing = json!({"values": null});
    let problems = disagreements(&nothing, &world(), &empty());
    for what in [
        "run.services",
        "compute.backendServices",
        "dns.managedZones",
        "roles/trafficdirector.client",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(what)),
            "{what} not reported: {problems:?}"
        );
    }
}

#[test]
fn a_missing_project_grant_and_wrong_invokers_are_reported() {
    let mut w = world();
    w["projects"][0]["iamPolicy"]["bindings"] = json!([]);
    w["resourcePolicies"][ID]["bindings"][0]["members"] = json!(["user:y@example.com"]);
    let problems = disagreements(&show(), &w, &empty());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("lacks roles/trafficdirector.client")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("run.invoker")),
        "{problems:?}"
    );
}

#[test]
fn the_users_registry_must_list_exactly_the_services_in_state() {
    let mut w = world();
    w["resources"]["dns.rrsets"][REGISTRY]["rrdatas"] = json!(["\"csmrun:p/r/gone\""]);
    let problems = disagreements(&show(), &w, &empty());
    assert!(
        problems.iter().any(|p| p.contains("lists csmrun:p/r/gone")
            && p.contains("no csmrun_service in Terraform's state owns it")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("csmrun:p/r/s is in state but the DNS users registry")),
        "{problems:?}"
    );
}

#[test]
fn a_service_in_a_zone_made_by_someone_else_need_not_be_registered() {
    let mut w = world();
    w["resources"]["dns.managedZones"][ZONE]["labels"] = json!({});
    w["resources"]["dns.rrsets"]
        .as_object_mut()
        .unwrap()
        .remove(REGISTRY);
    assert_eq!(disagreements(&show(), &w, &empty()), Vec::<String>::new());
}
