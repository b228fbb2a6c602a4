//! Nothing foreign is changed or deleted (issue 12): a state whose name fields were edited to valid names of
//! someone else's objects (a Cloud Run service without csmrun's marker or of another csmrun service, a serverless
//! NEG serving another service, a backend service and an HTTPRoute csmrun did not make, a DNS zone of another
//! domain) makes a destroy and an update fail before any write, with the part named and the way out; the foreign
//! objects stay exactly as they were, and the true state still destroys.

use std::time::{Duration, Instant};

use csmrun_acctest::hcl::{image, ServiceHcl};
use csmrun_acctest::requests;
use csmrun_acctest::seed::{sa, SeedBuilder, MESH, NETWORK, PROJECT, REGION, SUBNET};
use csmrun_acctest::stack::{Stack, GUARD};
use serde_json::{json, Value};

const RUN: &str = "run.services";
const NEG: &str = "compute.networkEndpointGroups";
const BACKEND: &str = "compute.backendServices";
const ROUTE: &str = "networkservices.httpRoutes";
const ZONE: &str = "dns.managedZones";

/// The foreign objects: (emulator collection, key).
fn foreign() -> Vec<(&'static str, String)> {
    vec![
        (
            RUN,
            format!("projects/{PROJECT}/locations/{REGION}/services/stranger"),
        ),
        (
            RUN,
            format!("projects/{PROJECT}/locations/{REGION}/services/neighbour"),
        ),
        (
            NEG,
            format!("projects/{PROJECT}/regions/{REGION}/networkEndpointGroups/stranger-neg"),
        ),
        (
            BACKEND,
            format!("projects/{PROJECT}/global/backendServices/stranger-backend"),
        ),
        (
            ROUTE,
            format!("projects/{PROJECT}/locations/global/httpRoutes/stranger-route"),
        ),
        (
            ZONE,
            format!("projects/{PROJECT}/managedZones/stranger-zone"),
        ),
    ]
}

fn wait_for(stack: &Stack, collection: &str, key: &str) {
    let start = Instant::now();
    while stack.resource(collection, key).is_none() {
        assert!(start.elapsed() < GUARD, "{collection} {key} never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cloud_run_service(stack: &Stack, name: &str, description: Option<&str>, labels: Value) {
    let mut body = json!({
        "launchStage": "BETA",
        "labels": labels,
        "template": {
            "serviceAccount": sa("other"),
            "containers": [{"image": image(name, "1.0.0")}],
            "vpcAccess": {"egress": "ALL_TRAFFIC", "networkInterfaces": [{
                "network": format!("projects/{PROJECT}/global/networks/{NETWORK}"),
                "subnetwork": format!("projects/{PROJECT}/regions/{REGION}/subnetworks/{SUBNET}")}]},
            "serviceMesh": {"mesh": format!("projects/{PROJECT}/locations/global/meshes/{MESH}")}
        }
    });
    if let Some(d) = description {
        body["description"] = json!(d);
    }
    stack
        .emu
        .api(
            "POST",
            &format!("/run/v2/projects/{PROJECT}/locations/{REGION}/services?serviceId={name}"),
            Some(&body),
        )
        .unwrap();
}

/// Someone else's mesh service, built through the APIs, and a Cloud Run service that carries csmrun's marks for
/// another csmrun service (`neighbour`): the marker names a service by its name, so only the uid csmrun recorded
/// tells it from the victim.
fn build_foreign(stack: &Stack) {
    let emu = &stack.emu;
    cloud_run_service(stack, "stranger", None, json!({}));
    cloud_run_service(
        stack,
        "neighbour",
        Some(&format!("csmrun:{PROJECT}/{REGION}/neighbour")),
        json!({"managed-by": "csmrun"}),
    );
    emu.api(
        "POST",
        &format!("/compute/v1/projects/{PROJECT}/regions/{REGION}/networkEndpointGroups"),
        Some(
            &json!({"name": "stranger-neg", "networkEndpointType": "SERVERLESS",
                     "cloudRun": {"service": "stranger"}}),
        ),
    )
    .unwrap();
    let neg = format!("projects/{PROJECT}/regions/{REGION}/networkEndpointGroups/stranger-neg");
    wait_for(stack, NEG, &neg);
    emu.api(
        "POST",
        &format!("/compute/v1/projects/{PROJECT}/global/backendServices"),
        Some(&json!({"name": "stranger-backend", "loadBalancingScheme": "INTERNAL_SELF_MANAGED",
                     "protocol": "HTTP",
                     "backends": [{"group": format!("https://www.googleapis.com/compute/v1/{neg}")}]})),
    )
    .unwrap();
    let backend = format!("projects/{PROJECT}/global/backendServices/stranger-backend");
    wait_for(stack, BACKEND, &backend);
    emu.api(
        "POST",
        &format!(
            "/networkservices/v1/projects/{PROJECT}/locations/global/httpRoutes?httpRouteId=stranger-route"
        ),
        Some(&json!({"hostnames": ["api.stranger.example"],
                     "meshes": [format!("projects/{PROJECT}/locations/global/meshes/{MESH}")],
                     "rules": [{"action": {"destinations": [{"serviceName": backend}]}}]})),
    )
    .unwrap();
    emu.api(
        "POST",
        &format!("/dns/v1/projects/{PROJECT}/managedZones"),
        Some(
            &json!({"name": "stranger-zone", "dnsName": "stranger.example.",
                     "description": "made by hand", "visibility": "private",
                     "labels": {"managed-by": "csmrun"}}),
        ),
    )
    .unwrap();
    for (collection, key) in foreign() {
        wait_for(stack, collection, &key);
    }
}

/// The emulator's copy of every foreign object, as it is now.
fn snapshot(stack: &Stack) -> Vec<Value> {
    foreign()
        .iter()
        .map(|(collection, key)| {
            stack
                .resource(collection, key)
                .unwrap_or_else(|| panic!("{collection} {key} is gone"))
        })
        .collect()
}

/// Error diagnostics (`summary: detail`, on one line) of `-json` output.
fn errors(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["type"] == "diagnostic" && m["diagnostic"]["severity"] == "error")
        .map(|m| {
            let d = &m["diagnostic"];
            format!(
                "{}: {}",
                d["summary"].as_str().unwrap_or(""),
                d["detail"].as_str().unwrap_or("")
            )
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
        })
        .collect()
}

/// Writes `state` (the whole state JSON) over Terraform's, whatever its serial.
fn push(stack: &Stack, state: &Value) {
    stack
        .wd
        .write("pushed.tfstate", &state.to_string())
        .unwrap();
    stack
        .tf(&["state", "push", "-force", "pushed.tfstate"])
        .assert_success("state push");
}

/// The instance attributes of `csmrun_service.<label>` in a state JSON.
fn attributes<'a>(state: &'a mut Value, label: &str) -> &'a mut serde_json::Map<String, Value> {
    state["resources"]
        .as_array_mut()
        .and_then(|rs| rs.iter_mut().find(|r| r["name"] == label))
        .and_then(|r| r["instances"][0]["attributes"].as_object_mut())
        .unwrap_or_else(|| panic!("csmrun_service.{label} in the state"))
}

/// Runs `args`, which must fail with an error starting `summary` whose fix is the state rebuild, and write nothing.
fn refused(stack: &Stack, args: &[&str], summary: &str, before: &[Value]) {
    stack.emu.clear_requests().unwrap();
    let out = stack.tf(args);
    let what = format!("terraform {} ({summary})", args.join(" "));
    assert!(!out.success(), "{what} succeeded:\n{}", out.combined());
    let errs = errors(&out.stdout);
    assert!(
        errs.iter().any(|e| e.starts_with(summary)
            && e.contains("terraform state rm")
            && e.contains("terraform import")
            && e.contains("Left:")),
        "{what}: {errs:#?}"
    );
    let log = stack.requests();
    assert_eq!(requests::writes(&log), Vec::<String>::new(), "{what}");
    assert_eq!(snapshot(stack), before, "{what} changed a foreign object");
}

#[test]
fn a_state_naming_foreign_parts_makes_destroy_and_update_fail_before_any_write() {
    let mut stack = Stack::new(&SeedBuilder::new().build());
    build_foreign(&stack);
    stack.rebaseline();
    let victim = ServiceHcl::new("victim", "victim");
    stack.config(&victim.render());
    stack.apply_ok();
    let pulled = stack.tf(&["state", "pull"]);
    pulled.assert_success("state pull");
    let good: Value = serde_json::from_str(&pulled.stdout).expect("state JSON");
    let before = snapshot(&stack);
    // The update: a new image, which the apply would deploy.
    let updated = victim
        .clone()
        .string("image", &image("victim", "1.0.1"))
        .render();

    let cases = [
        (
            "name",
            "stranger",
            "Cloud Run service stranger: not this service's",
        ),
        (
            "name",
            "neighbour",
            "Cloud Run service neighbour: not this service's (it is another service than the one csmrun \
             created or imported: its uid differs)",
        ),
        (
            "neg_name",
            "stranger-neg",
            "Serverless NEG stranger-neg: not this service's (it serves Cloud Run service \"stranger\")",
        ),
        (
            "backend_service_name",
            "stranger-backend",
            "Backend service stranger-backend: not this service's",
        ),
        (
            "route_name",
            "stranger-route",
            "HTTPRoute stranger-route: not this service's",
        ),
        (
            "dns_zone_name",
            "stranger-zone",
            "DNS zone stranger-zone: not this service's (it serves another domain)",
        ),
    ];
    for (field, value, summary) in cases {
        let mut tampered = good.clone();
        attributes(&mut tampered, "victim").insert(field.into(), json!(value));
        push(&stack, &tampered);
        stack.config(&victim.render());
        refused(
            &stack,
            &["destroy", "-auto-approve", "-json"],
            summary,
            &before,
        );
        // A changed `name` is a replacement, whose first step is the same delete.
        stack.config(&updated);
        refused(
            &stack,
            &["apply", "-auto-approve", "-json"],
            summary,
            &before,
        );
    }

    push(&stack, &good);
    stack.config(&victim.render());
    stack.assert_empty_plan("the true state again");
    stack.destroy_ok();
    assert_eq!(
        snapshot(&stack),
        before,
        "the destroy changed a foreign object"
    );
    stack.assert_consistent();
}
