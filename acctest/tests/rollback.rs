//! A create that fails at one of its steps leaves nothing behind: a one-shot fault is injected at
//! step k, the apply fails, and the emulator holds what it held before; the next apply succeeds.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests;
use csmrun_acctest::seed::{sa, SeedBuilder};
use csmrun_acctest::stack::Stack;
use serde_json::json;

/// The writes of a create: (api, discovery method id). The first six are in the parallel branches
/// (IAM, DNS zone, registration in the zone's users registry and record, NEG and backend service), so
/// each fault lands while other branches have requests in flight, whose parts must be undone too; the
/// rest come after the branches.
const STEPS: &[(&str, &str)] = &[
    (
        "cloudresourcemanager",
        "cloudresourcemanager.projects.setIamPolicy",
    ),
    ("dns", "dns.managedZones.create"),
    ("dns", "dns.changes.create"),
    ("dns", "dns.resourceRecordSets.create"),
    ("compute", "compute.regionNetworkEndpointGroups.insert"),
    ("compute", "compute.backendServices.insert"),
    ("run", "run.projects.locations.services.create"),
    ("run", "run.projects.locations.services.setIamPolicy"),
    (
        "networkservices",
        "networkservices.projects.locations.httpRoutes.create",
    ),
];

/// Long-running steps among them whose operation, once accepted, fails (the NEG's while the IAM
/// propagation wait, which starts once the insert is accepted, is running).
const OPERATION_STEPS: &[(&str, &str)] = &[
    ("compute", "compute.regionNetworkEndpointGroups.insert"),
    ("compute", "compute.backendServices.insert"),
    ("run", "run.projects.locations.services.create"),
    (
        "networkservices",
        "networkservices.projects.locations.httpRoutes.create",
    ),
];

fn config() -> String {
    ServiceHcl::new("svc", "fragile")
        .attr(
            "invokers",
            &format!("[\"serviceAccount:{}\"]", sa("caller")),
        )
        .attr("trace", "true")
        .render()
}

/// Runs one failing create in a fresh world; returns what went wrong, if anything.
fn fails_and_leaves_nothing(fault: serde_json::Value, what: &str) -> Option<String> {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&config());
    stack.emu.add_faults(&fault).unwrap();
    let out = stack.apply();
    let text = out.combined();
    if out.success() {
        return Some(format!("{what}: apply succeeded despite the fault"));
    }
    let log = stack.requests();
    let fired = log.iter().any(|e| {
        let r = e["response"].to_string();
        r.contains("injected at step") || r.contains("Injected operation failure")
    });
    if !fired {
        return Some(format!(
            "{what}: the fault never fired; writes: {:#?}",
            requests::writes(&log)
        ));
    }
    let show = stack.show();
    if !csmrun_acctest::consistency::services_in_state(&show).is_empty() {
        return Some(format!("{what}: a failed create left state:\n{text}"));
    }
    let problems =
        csmrun_acctest::consistency::disagreements(&show, &stack.state(), &stack.baseline);
    if !problems.is_empty() {
        return Some(format!(
            "{what}: left behind:\n    {}\n  terraform said:\n{}",
            problems.join("\n    "),
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .take(12)
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    // Nothing stale blocks the next attempt.
    stack.emu.clear_faults().unwrap();
    let retry = stack.apply();
    if !retry.success() {
        return Some(format!(
            "{what}: the next apply failed:\n{}",
            retry.combined()
        ));
    }
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
    None
}

#[test]
fn a_fault_at_any_write_of_a_create_is_rolled_back_completely_even_with_other_branches_in_flight() {
    let mut problems = Vec::new();
    for (k, (api, method)) in STEPS.iter().enumerate() {
        let fault = json!({"api": api, "method": method, "times": 1, "code": 400,
                           "message": format!("injected at step {k}")});
        problems.extend(fails_and_leaves_nothing(
            fault,
            &format!("step {k} ({method}) answering 400"),
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn a_failed_operation_of_a_create_is_rolled_back_completely() {
    let mut problems = Vec::new();
    for (k, (api, method)) in OPERATION_STEPS.iter().enumerate() {
        let fault = json!({"api": api, "method": method, "times": 1,
                           "operationError": {"code": 13, "message": "Injected operation failure."}});
        problems.extend(fails_and_leaves_nothing(
            fault,
            &format!("operation of step {k} ({method}) failing"),
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
