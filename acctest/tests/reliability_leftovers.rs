//! Open defect 5 of RELIABILITY.md: a removed service's NEG and backend service were left behind (soak seed
//! 42, runs 44–45). A create whose rollback could not remove everything is saved in state (tainted) so the
//! next apply or destroy finishes the job; that must hold when its Cloud Run service is among what the
//! rollback did remove.

use csmrun_acctest::campaign::invariants::orphans;
use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::{sa, SeedBuilder};
use csmrun_acctest::stack::Stack;
use serde_json::{json, Value};

/// Both creates fail at the backend service insert (one-shot operation failures, one per service, since
/// faults cannot pick a service) and both rollbacks fail to delete the NEG and the DNS zone: each create
/// ends with its NEG and an emptied zone still present and its Cloud Run service gone (never created or
/// deleted again by the rollback).
fn faults() -> Value {
    json!({"rules": [
        {"api": "compute", "method": "backendServices.insert", "times": 2,
         "operationError": {"code": 13, "message": "Injected backend service failure."}},
        {"api": "compute", "method": "regionNetworkEndpointGroups.delete", "times": 2, "code": 400,
         "message": "Injected NEG delete refusal."},
        {"api": "dns", "method": "managedZones.delete", "times": 2, "code": 400,
         "message": "Injected zone delete refusal."}
    ]})
}

fn service(label: &str, account: &str, domain: &str, address: &str) -> ServiceHcl {
    ServiceHcl::new(label, label)
        .string("service_account", &sa(account))
        .string("domain", domain)
        .string("dns_address", address)
}

/// The soak's runs 44–45 without the randomness: svc-a and svc-d are applied together and both fail at the
/// backend service insert with a rollback that leaves parts; svc-d is then removed from the configuration.
/// Its parts must be deleted by that apply, not forgotten by the refresh because its Cloud Run service is
/// gone.
#[test]
fn an_incomplete_create_without_its_service_is_destroyed_when_removed_from_the_configuration() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let svc_a = service("svc-a", "app-a", "blue.internal", "10.0.0.2");
    let svc_d = service("svc-d", "app-b", "meshapps.internal", "10.0.0.1");
    stack.config(&format!("{}\n{}", svc_a.render(), svc_d.render()));
    stack.emu.add_faults(&faults()).expect("arming faults");
    let failed = stack.apply();
    stack.emu.clear_faults().expect("clearing faults");
    let text = failed.combined();
    for line in text
        .lines()
        .filter(|l| l.contains("Error: ") || l.contains("Failed part"))
    {
        eprintln!("failed create: {}", line.trim());
    }
    assert!(
        !failed.success(),
        "the apply succeeded despite the faults:\n{text}"
    );
    assert!(
        text.contains("Could not create backend service svc-d-backend"),
        "svc-d did not fail at its backend service:\n{text}"
    );
    assert!(
        text.contains("Rollback of"),
        "the faults did not make a rollback fail:\n{text}"
    );
    // The harness's check after a failed run: whatever the run left is recorded in state.
    let left = orphans(&stack.show(), &stack.state(), &stack.baseline);
    assert!(left.is_empty(), "the failed run left orphans: {left:#?}");
    assert!(
        stack
            .resource("compute.networkEndpointGroups", &neg_key("svc-d"))
            .is_some(),
        "the rollback was meant to leave svc-d's NEG"
    );

    stack.config(&svc_a.render());
    let out = stack.apply_ok();
    stack.assert_consistent();
    assert!(
        out.combined()
            .contains("csmrun_service.svc-d: Destruction complete"),
        "svc-d was not destroyed:\n{}",
        out.combined()
    );
    stack.assert_empty_plan("after svc-d was removed");

    stack.destroy_ok();
    stack.assert_consistent();
}

/// The key of `name`'s NEG in the emulator's state.
fn neg_key(name: &str) -> String {
    format!(
        "projects/{}/regions/{}/networkEndpointGroups/{name}-neg",
        csmrun_acctest::seed::PROJECT,
        csmrun_acctest::seed::REGION
    )
}
