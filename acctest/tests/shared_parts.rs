//! Two services of one domain running as one account share the DNS zone, the wildcard record and
//! the project IAM binding: the first destroy leaves them, the last removes them.
//!
//! Created one after the other (`depends_on`), the second finds the binding already there; created
//! at the same time, both grants go to Google in one coalesced write (or one right after the
//! other) and only one of them reports the change. Either way, whichever service goes last removes
//! the binding.

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

/// How the two services are created, and which of them is destroyed first.
#[derive(Clone, Copy)]
enum Order {
    /// beta `depends_on` alpha; beta goes first.
    OneAfterTheOther,
    /// Both at once; `first` ("alpha" or "beta") goes first.
    AtTheSameTime { first: &'static str },
}

#[test]
fn shared_zone_record_and_iam_binding_survive_the_first_destroy_and_go_with_the_last() {
    shared_parts_go_with_the_last_user(Order::OneAfterTheOther);
}

#[test]
fn services_created_at_the_same_time_share_the_iam_binding_and_the_last_one_destroyed_removes_it_alpha_first(
) {
    shared_parts_go_with_the_last_user(Order::AtTheSameTime { first: "alpha" });
}

#[test]
fn services_created_at_the_same_time_share_the_iam_binding_and_the_last_one_destroyed_removes_it_beta_first(
) {
    shared_parts_go_with_the_last_user(Order::AtTheSameTime { first: "beta" });
}

fn shared_parts_go_with_the_last_user(order: Order) {
    let stack = Stack::new(&SeedBuilder::new().build());
    let alpha = ServiceHcl::new("alpha", "alpha").string("service_account", &sa("shared"));
    let mut beta = ServiceHcl::new("beta", "beta").string("service_account", &sa("shared"));
    let first = match order {
        Order::OneAfterTheOther => {
            beta = beta.attr("depends_on", "[csmrun_service.alpha]");
            "beta"
        }
        Order::AtTheSameTime { first } => first,
    };
    let (stays, stays_name) = if first == "beta" {
        (&alpha, "alpha")
    } else {
        (&beta, "beta")
    };
    stack.config(&format!("{}\n{}", alpha.render(), beta.render()));
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("after creating both");

    // `a` stays, `b` goes first.
    let a = stack.values(stays_name);
    let b = stack.values(first);
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
    stack.config(&stays.render());
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
    stack.assert_empty_plan("after removing the first");

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
