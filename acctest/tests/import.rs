//! A mesh service built by hand, part by part through the APIs under names csmrun would not
//! choose, imports cleanly: import writes nothing, the state says what is there, and the first plan
//! only adds csmrun's ownership label (which the hand-built service lacks).

use std::time::{Duration, Instant};

use csmrun_acctest::hcl::{image, ServiceHcl};
use csmrun_acctest::requests;
use csmrun_acctest::seed::{sa, SeedBuilder, MESH, NETWORK, PROJECT, REGION, SUBNET};
use csmrun_acctest::stack::{Stack, GUARD};
use serde_json::json;

const NAME: &str = "handmade";

fn wait_for(
    stack: &Stack,
    collection: &str,
    key: &str,
    ready: impl Fn(&serde_json::Value) -> bool,
) {
    let start = Instant::now();
    loop {
        if stack.resource(collection, key).is_some_and(|r| ready(&r)) {
            return;
        }
        assert!(start.elapsed() < GUARD, "{collection} {key} never appeared");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Plans into a file and returns the one resource change (`terraform show -json` of the plan).
fn planned_change(stack: &Stack) -> serde_json::Value {
    stack
        .tf(&["plan", "-out=import.tfplan"])
        .assert_success("plan");
    let out = stack.tf(&["show", "-json", "import.tfplan"]);
    out.assert_success("show the plan");
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan JSON");
    let changes = plan["resource_changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(changes.len(), 1, "{plan}");
    changes[0]["change"].clone()
}

/// The attributes a planned change changes (known before and after, or unknown after).
fn changed_attributes(change: &serde_json::Value) -> Vec<String> {
    let (before, after) = (&change["before"], &change["after"]);
    let unknown = &change["after_unknown"];
    let mut keys: Vec<String> = before
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| {
            after.get(k.as_str()) != Some(*v) || unknown.get(k.as_str()).is_some_and(|u| u != false)
        })
        .map(|(k, _)| k.clone())
        .collect();
    keys.sort();
    keys
}

/// The first plan after importing the hand-built service: an in-place update that adds only the
/// `managed-by` label (the service was built without it).
fn assert_only_the_ownership_label_is_added(stack: &Stack) {
    let change = planned_change(stack);
    assert_eq!(change["actions"], json!(["update"]), "{change}");
    assert_eq!(
        changed_attributes(&change),
        ["effective_labels"],
        "{change}"
    );
    assert_eq!(change["before"]["effective_labels"], json!({}), "{change}");
    assert_eq!(
        change["after"]["effective_labels"],
        json!({"managed-by": "csmrun"}),
        "{change}"
    );
}

/// Builds every part the way a person with curl (or the google provider) would.
fn build_by_hand(stack: &Stack) {
    let emu = &stack.emu;
    let network_url = format!(
        "https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/{NETWORK}"
    );
    emu.api(
        "POST",
        &format!("/dns/v1/projects/{PROJECT}/managedZones"),
        Some(&json!({"name": "team-private-zone", "dnsName": "meshapps.internal.", "description": "made by hand",
                      "visibility": "private",
                      "privateVisibilityConfig": {"networks": [{"networkUrl": network_url}]}})),
    )
    .unwrap();
    emu.api(
        "POST",
        &format!("/dns/v1/projects/{PROJECT}/managedZones/team-private-zone/rrsets"),
        Some(&json!({"name": "*.meshapps.internal.", "type": "A", "ttl": 300, "rrdatas": ["10.0.0.1"]})),
    )
    .unwrap();
    let service = format!("projects/{PROJECT}/locations/{REGION}/services/{NAME}");
    emu.api(
        "POST",
        &format!("/run/v2/projects/{PROJECT}/locations/{REGION}/services?serviceId={NAME}"),
        Some(&json!({
            "launchStage": "BETA",
            "ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY",
            "template": {
                "serviceAccount": sa("app-a"),
                "containers": [{"image": image(NAME, "1.0.0"),
                                "resources": {"limits": {"cpu": "1", "memory": "512Mi"}}}],
                "scaling": {"minInstanceCount": 0, "maxInstanceCount": 100},
                "vpcAccess": {"egress": "ALL_TRAFFIC", "networkInterfaces": [{
                    "network": format!("projects/{PROJECT}/global/networks/{NETWORK}"),
                    "subnetwork": format!("projects/{PROJECT}/regions/{REGION}/subnetworks/{SUBNET}")}]},
                "serviceMesh": {"mesh": format!("projects/{PROJECT}/locations/global/meshes/{MESH}")}
            }
        })),
    )
    .unwrap();
    wait_for(stack, "run.services", &service, |s| {
        s["terminalCondition"]["state"] == "CONDITION_SUCCEEDED"
    });
    emu.api(
        "POST",
        &format!("/run/v2/{service}:setIamPolicy"),
        Some(&json!({"policy": {"bindings": [{"role": "roles/run.invoker",
                                              "members": [format!("serviceAccount:{}", sa("caller"))]}]}})),
    )
    .unwrap();
    let neg =
        format!("projects/{PROJECT}/regions/{REGION}/networkEndpointGroups/hm-serverless-group");
    emu.api(
        "POST",
        &format!("/compute/v1/projects/{PROJECT}/regions/{REGION}/networkEndpointGroups"),
        Some(&json!({"name": "hm-serverless-group", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": NAME}})),
    )
    .unwrap();
    wait_for(stack, "compute.networkEndpointGroups", &neg, |_| true);
    let backend = format!("projects/{PROJECT}/global/backendServices/hm-mesh-backend");
    emu.api(
        "POST",
        &format!("/compute/v1/projects/{PROJECT}/global/backendServices"),
        Some(&json!({"name": "hm-mesh-backend", "loadBalancingScheme": "INTERNAL_SELF_MANAGED", "protocol": "HTTP",
                      "backends": [{"group": format!("https://www.googleapis.com/compute/v1/{neg}")}]})),
    )
    .unwrap();
    wait_for(stack, "compute.backendServices", &backend, |_| true);
    let route = format!("projects/{PROJECT}/locations/global/httpRoutes/hm-http-route");
    emu.api(
        "POST",
        &format!("/networkservices/v1/projects/{PROJECT}/locations/global/httpRoutes?httpRouteId=hm-http-route"),
        Some(&json!({"hostnames": [format!("{NAME}.meshapps.internal")],
                      "meshes": [format!("projects/{PROJECT}/locations/global/meshes/{MESH}")],
                      "rules": [{"action": {"destinations": [{"serviceName": backend}]}}]})),
    )
    .unwrap();
    wait_for(stack, "networkservices.httpRoutes", &route, |_| true);
}

#[test]
fn import_of_a_service_built_by_hand_under_other_part_names_plans_only_the_ownership_label() {
    let member = format!("serviceAccount:{}", sa("app-a"));
    let stack = Stack::new(
        &SeedBuilder::new()
            .binding("roles/trafficdirector.client", &member)
            .build(),
    );
    build_by_hand(&stack);
    stack.config(
        &ServiceHcl::new("svc", NAME)
            .attr(
                "invokers",
                &format!("[\"serviceAccount:{}\"]", sa("caller")),
            )
            .render(),
    );
    stack.emu.clear_requests().unwrap();
    let out = stack.tf(&[
        "import",
        "csmrun_service.svc",
        &format!("projects/{PROJECT}/locations/{REGION}/services/{NAME}"),
    ]);
    out.assert_success("import");
    let v = stack.values("svc");
    assert_eq!(v["neg_name"], "hm-serverless-group");
    assert_eq!(v["backend_service_name"], "hm-mesh-backend");
    assert_eq!(v["route_name"], "hm-http-route");
    assert_eq!(v["dns_zone_name"], "team-private-zone");
    assert_only_the_ownership_label_is_added(&stack);
    let log = stack.requests();
    assert_eq!(
        requests::writes(&log),
        Vec::<String>::new(),
        "import and plan must not write"
    );
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
    assert!(
        stack
            .resource(
                "dns.managedZones",
                &format!("projects/{PROJECT}/managedZones/team-private-zone")
            )
            .is_some(),
        "a zone csmrun did not create is never deleted"
    );
    assert!(stack
        .resource(
            "run.services",
            &format!("projects/{PROJECT}/locations/{REGION}/services/{NAME}")
        )
        .is_none());
}

#[test]
fn import_accepts_the_short_id_forms_with_provider_defaults() {
    let member = format!("serviceAccount:{}", sa("app-a"));
    let stack = Stack::new(
        &SeedBuilder::new()
            .binding("roles/trafficdirector.client", &member)
            .build(),
    );
    build_by_hand(&stack);
    stack.config(
        &ServiceHcl::new("svc", NAME)
            .attr(
                "invokers",
                &format!("[\"serviceAccount:{}\"]", sa("caller")),
            )
            .render(),
    );
    let full = format!("projects/{PROJECT}/locations/{REGION}/services/{NAME}");
    let forms = [
        format!("{PROJECT}/{REGION}/{NAME}"),
        format!("{REGION}/{NAME}"),
        NAME.to_string(),
    ];
    for (i, form) in forms.iter().enumerate() {
        if i > 0 {
            stack
                .tf(&["state", "rm", "csmrun_service.svc"])
                .assert_success("state rm");
        }
        stack
            .tf(&["import", "csmrun_service.svc", form])
            .assert_success(&format!("import {form}"));
        assert_eq!(stack.values("svc")["id"], json!(full), "import {form}");
        assert_only_the_ownership_label_is_added(&stack);
        stack.assert_consistent();
    }
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn an_imported_service_without_labels_is_stated_without_them_and_the_next_apply_adds_the_marker() {
    let member = format!("serviceAccount:{}", sa("app-a"));
    let stack = Stack::new(
        &SeedBuilder::new()
            .binding("roles/trafficdirector.client", &member)
            .build(),
    );
    build_by_hand(&stack);
    stack.config(
        &ServiceHcl::new("svc", NAME)
            .attr(
                "invokers",
                &format!("[\"serviceAccount:{}\"]", sa("caller")),
            )
            .render(),
    );
    let key = format!("projects/{PROJECT}/locations/{REGION}/services/{NAME}");
    stack
        .tf(&["import", "csmrun_service.svc", &key])
        .assert_success("import");
    // The state says what is there: the hand-built service has no labels.
    let v = stack.values("svc");
    assert_eq!(v["effective_labels"], json!({}), "{v}");
    let cloud = stack.resource("run.services", &key).expect("the service");
    assert!(
        cloud.get("labels").is_none_or(|l| l == &json!({})),
        "{cloud}"
    );
    stack.assert_consistent();
    // The next plan shows the marker's addition; applying it labels the service without a new revision.
    assert_only_the_ownership_label_is_added(&stack);
    let revision = v["latest_ready_revision"].clone();
    stack.apply_ok();
    let cloud = stack.resource("run.services", &key).expect("the service");
    assert_eq!(cloud["labels"], json!({"managed-by": "csmrun"}), "{cloud}");
    let v = stack.values("svc");
    assert_eq!(v["effective_labels"], json!({"managed-by": "csmrun"}));
    assert_eq!(
        v["latest_ready_revision"], revision,
        "a label is no new revision"
    );
    stack.assert_consistent();
    stack.assert_empty_plan("after the update that added the marker");
    stack.destroy_ok();
    stack.assert_consistent();
}
