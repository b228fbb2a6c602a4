//! Two services of one domain running as one account share the DNS zone, the wildcard record and
//! the project IAM binding: the first destroy leaves them, the last removes them.
//!
//! The second service is created after the first (`depends_on`), so it finds the binding already
//! there and shares it.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::{sa, SeedBuilder, PROJECT};
use csmrun_acctest::stack::Stack;

fn has_binding(state: &serde_json::Value, role: &str, member: &str) -> bool {
    state["projects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == PROJECT)
        .flat_map(|p| {
            p["iamPolicy"]["bindings"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .any(|b| b["role"] == role && b["members"].as_array().unwrap().iter().any(|m| m == member))
}

#[test]
fn shared_zone_record_and_iam_binding_survive_the_first_destroy_and_go_with_the_last() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let alpha = ServiceHcl::new("alpha", "alpha").string("service_account", &sa("shared"));
    let beta = ServiceHcl::new("beta", "beta")
        .string("service_account", &sa("shared"))
        .attr("depends_on", "[csmrun_service.alpha]");
    stack.config(&format!("{}\n{}", alpha.render(), beta.render()));
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("after creating both");

    let a = stack.values("alpha");
    let b = stack.values("beta");
    assert_eq!(a["dns_zone"], b["dns_zone"], "one zone per domain");
    let zone = a["dns_zone"].as_str().unwrap().to_string();
    let record = format!("{zone}/rrsets/*.{}./A", a["domain"].as_str().unwrap());
    let member = format!("serviceAccount:{}", sa("shared"));
    assert!(has_binding(
        &stack.state(),
        "roles/trafficdirector.client",
        &member
    ));

    // The first user goes: its own parts go, the shared ones stay for the other.
    stack.config(&alpha.render());
    stack.apply_ok();
    stack.assert_consistent();
    let state = stack.state();
    assert!(state["resources"]["run.services"]
        .get(b["id"].as_str().unwrap())
        .is_none());
    assert!(state["resources"]["networkservices.httpRoutes"]
        .get(b["http_route"].as_str().unwrap())
        .is_none());
    assert!(
        state["resources"]["dns.managedZones"].get(&zone).is_some(),
        "the shared zone went with the first destroy"
    );
    assert!(
        state["resources"]["dns.rrsets"].get(&record).is_some(),
        "the shared record went with the first destroy"
    );
    assert!(
        has_binding(&state, "roles/trafficdirector.client", &member),
        "the shared IAM binding went with the first destroy"
    );
    stack.assert_empty_plan("after removing beta");

    // The last user goes: everything goes.
    stack.destroy_ok();
    stack.assert_consistent();
    let state = stack.state();
    assert!(
        state["resources"]["dns.managedZones"].get(&zone).is_none(),
        "the zone outlived its last user"
    );
    assert!(state["resources"]["dns.rrsets"].get(&record).is_none());
    assert!(
        !has_binding(&state, "roles/trafficdirector.client", &member),
        "the binding outlived its last user"
    );
}
