//! `deletion_policy`: PREVENT refuses to destroy and says how to allow it; ABANDON forgets the
//! resource and leaves every part in place.

use csmrun_acctest::consistency::services_in_state;
use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

fn parts(v: &serde_json::Value) -> Vec<(&'static str, String)> {
    vec![
        ("run.services", v["id"].as_str().unwrap().to_string()),
        (
            "compute.networkEndpointGroups",
            v["neg"].as_str().unwrap().to_string(),
        ),
        (
            "compute.backendServices",
            v["backend_service"].as_str().unwrap().to_string(),
        ),
        (
            "networkservices.httpRoutes",
            v["http_route"].as_str().unwrap().to_string(),
        ),
        (
            "dns.managedZones",
            v["dns_zone"].as_str().unwrap().to_string(),
        ),
    ]
}

#[test]
fn deletion_policy_prevent_refuses_destroy_and_says_how_to_allow_it() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let svc = ServiceHcl::new("svc", "guarded");
    stack.config(&svc.clone().string("deletion_policy", "PREVENT").render());
    stack.apply_ok();
    stack.assert_consistent();
    stack.emu.clear_requests().unwrap();
    let out = stack.tf(&["destroy", "-auto-approve"]);
    let text = out.combined();
    assert!(!out.success(), "destroy must fail:\n{text}");
    assert!(
        text.contains("deletion_policy"),
        "names the setting:\n{text}"
    );
    assert!(
        text.contains("DELETE"),
        "says what to set to allow it:\n{text}"
    );
    assert!(
        text.contains("Deletion of Cloud Run service guarded prevented")
            && text.contains("projects/acc-project/locations/asia-northeast1/services/guarded"),
        "names the service, since Terraform prints no address for it:\n{text}"
    );
    assert_eq!(
        requests::writes(&stack.requests()),
        Vec::<String>::new(),
        "nothing may be deleted"
    );
    assert_eq!(
        services_in_state(&stack.show()).len(),
        1,
        "the resource stays in state"
    );
    stack.assert_consistent();

    stack.config(&svc.string("deletion_policy", "DELETE").render());
    stack.apply_ok();
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn deletion_policy_abandon_forgets_the_service_and_leaves_every_part() {
    let mut stack = Stack::new(&SeedBuilder::new().build());
    stack.config(
        &ServiceHcl::new("svc", "abandoned")
            .string("deletion_policy", "ABANDON")
            .render(),
    );
    stack.apply_ok();
    stack.assert_consistent();
    let v = stack.values("svc");
    stack.emu.clear_requests().unwrap();
    stack.destroy_ok();
    assert!(
        services_in_state(&stack.show()).is_empty(),
        "Terraform forgets it"
    );
    assert_eq!(
        requests::writes(&stack.requests()),
        Vec::<String>::new(),
        "nothing may be deleted"
    );
    for (collection, key) in parts(&v) {
        assert!(
            stack.resource(collection, &key).is_some(),
            "{collection} {key} was deleted"
        );
    }
    let state = stack.state();
    let member = format!("serviceAccount:{}", v["service_account"].as_str().unwrap());
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
    assert!(kept, "the IAM binding was removed");
    // What is left is now outside Terraform on purpose; the emulator must hold nothing else.
    stack.rebaseline();
    stack.assert_consistent();
}
