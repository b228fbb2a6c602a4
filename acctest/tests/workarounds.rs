//! The §3 workarounds as seen from outside: a young mesh is waited for, a subnet without Private
//! Google Access fails before anything is created, a new trafficdirector.client grant is waited
//! for and an existing one is not.

use chrono::{Duration as ChronoDuration, SecondsFormat, Utc};
use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests::{self, matching, time};
use csmrun_acctest::seed::{sa, SeedBuilder, SUBNET_NO_PGA};
use csmrun_acctest::stack::Stack;

/// The first successful Cloud Run `services.create` in the log.
fn first_run_create(stack: &Stack) -> serde_json::Value {
    let log = stack.requests();
    matching(&log, "POST", "/services")
        .into_iter()
        .find(|e| e["path"].as_str().unwrap().starts_with("/run/v2/"))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no Cloud Run create in the log:\n{:#?}",
                requests::writes(&log)
            )
        })
}

#[test]
fn young_mesh_is_waited_for_until_it_has_settled() {
    let created = Utc::now();
    // Emulator: the mesh accepts sidecars 4 s after creation (200 s scaled by 0.02).
    let seed = SeedBuilder::new()
        .mesh_created(&created.to_rfc3339_opts(SecondsFormat::Micros, true))
        .mesh_settle_time("200s")
        .binding(
            "roles/trafficdirector.client",
            &format!("serviceAccount:{}", sa("app-a")),
        )
        .build();
    let mut stack = Stack::new(&seed);
    stack.provider.mesh_settle_time = "5s".into();
    stack.config(&ServiceHcl::new("svc", "young").render());
    stack.apply_ok();
    stack.assert_consistent();
    let create = first_run_create(&stack);
    let at = time(&create).unwrap();
    assert!(
        at >= created + ChronoDuration::seconds(5),
        "Cloud Run create at {at}, before the mesh (created {created}) had settled for mesh_settle_time = 5s"
    );
    // It worked first time: one Cloud Run create and no redeploy.
    let log = stack.requests();
    let run_writes: Vec<_> = requests::writes(&log)
        .into_iter()
        .filter(|w| w.contains("/run/v2/") && w.contains("/services"))
        .filter(|w| !w.contains(":setIamPolicy"))
        .collect();
    assert_eq!(run_writes.len(), 1, "expected one deploy: {run_writes:#?}");
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn subnet_without_private_google_access_fails_before_creating_anything() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(
        &ServiceHcl::new("svc", "closed")
            .string("subnetwork", SUBNET_NO_PGA)
            .render(),
    );
    let out = stack.apply();
    let text = out.combined();
    assert!(!out.success(), "apply should fail:\n{text}");
    assert!(text.contains("Private Google Access"), "{text}");
    assert!(
        text.contains(SUBNET_NO_PGA),
        "the message names the subnet:\n{text}"
    );
    assert!(
        text.contains("--enable-private-ip-google-access"),
        "the message gives the fix:\n{text}"
    );
    assert!(
        text.contains("--project acc-project"),
        "the fix runs as pasted, in the subnet's project:\n{text}"
    );
    let log = stack.requests();
    assert_eq!(
        requests::writes(&log),
        Vec::<String>::new(),
        "nothing may be written"
    );
    stack.assert_consistent();
}

#[test]
fn new_trafficdirector_client_grant_is_waited_for_before_the_deploy() {
    // Emulator: a new binding takes 3 s to become effective (150 s scaled by 0.02).
    let seed = SeedBuilder::new().iam_propagation_delay("150s").build();
    let mut stack = Stack::new(&seed);
    stack.provider.iam_propagation_wait = "4s".into();
    stack.config(&ServiceHcl::new("svc", "fresh").render());
    stack.apply_ok();
    stack.assert_consistent();
    let log = stack.requests();
    let grant = matching(&log, "POST", ":setIamPolicy")
        .into_iter()
        .find(|e| {
            e["path"]
                .as_str()
                .unwrap()
                .starts_with("/cloudresourcemanager/")
                && e["body"]
                    .as_str()
                    .unwrap_or("")
                    .contains("roles/trafficdirector.client")
        })
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no project grant in the log:\n{:#?}",
                requests::writes(&log)
            )
        });
    let granted = time(&grant).unwrap();
    let deployed = time(&first_run_create(&stack)).unwrap();
    assert!(
        deployed >= granted + ChronoDuration::seconds(4),
        "deployed at {deployed}, only {:?} after the grant at {granted}",
        deployed - granted
    );
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn existing_trafficdirector_client_grant_is_not_waited_for() {
    let member = format!("serviceAccount:{}", sa("app-a"));
    let seed = SeedBuilder::new()
        .binding("roles/trafficdirector.client", &member)
        .build();
    let mut stack = Stack::new(&seed);
    // A wait this long would hit the create timeout below and fail the apply.
    stack.provider.iam_propagation_wait = "1h".into();
    stack.config(
        &ServiceHcl::new("svc", "known")
            .block("timeouts {\n  create = \"2m\"\n}")
            .render(),
    );
    let out = stack.apply_ok();
    assert!(out.stdout.contains("Creation complete"), "{}", out.stdout);
    let log = stack.requests();
    let grants: Vec<_> = matching(&log, "POST", ":setIamPolicy")
        .into_iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .unwrap()
                .starts_with("/cloudresourcemanager/")
        })
        .collect();
    assert!(
        grants.is_empty(),
        "the existing binding was rewritten: {grants:#?}"
    );
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
    // A binding that existed before csmrun is never removed.
    let state = stack.state();
    let kept = state["projects"][0]["iamPolicy"]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| {
            b["role"] == "roles/trafficdirector.client"
                && b["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m == &member)
        });
    assert!(kept, "destroy removed a binding csmrun did not add");
}
