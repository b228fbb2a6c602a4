//! A part deleted out of band shows as an in-place update of the one resource and the apply
//! builds it again.

use std::time::{Duration, Instant};

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::{sa, SeedBuilder};
use csmrun_acctest::stack::{Stack, GUARD};

fn wait_gone(stack: &Stack, collection: &str, key: &str) {
    let start = Instant::now();
    while stack.resource(collection, key).is_some() {
        assert!(
            start.elapsed() < GUARD,
            "{collection} {key} was never deleted"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_repaired_in_place(stack: &Stack, what: &str) {
    let plan = stack.plan();
    let text = plan.combined();
    assert_eq!(
        plan.code,
        Some(2),
        "{what}: the refresh must notice the missing part:\n{text}"
    );
    assert!(
        text.contains("csmrun_service.svc will be updated in-place"),
        "{what}:\n{text}"
    );
    assert!(
        text.contains("0 to add, 1 to change, 0 to destroy"),
        "{what}:\n{text}"
    );
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan(&format!("{what}: after the repair"));
}

#[test]
fn parts_deleted_out_of_band_are_repaired_by_an_in_place_update() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(
        &ServiceHcl::new("svc", "drifty")
            .attr(
                "invokers",
                &format!("[\"serviceAccount:{}\"]", sa("caller")),
            )
            .render(),
    );
    stack.apply_ok();
    stack.assert_consistent();
    let v = stack.values("svc");
    let id = v["id"].as_str().unwrap().to_string();
    let uid = stack.resource("run.services", &id).unwrap()["uid"].clone();

    // The HTTPRoute.
    let route = v["http_route"].as_str().unwrap();
    stack
        .emu
        .api("DELETE", &format!("/networkservices/v1/{route}"), None)
        .unwrap();
    wait_gone(&stack, "networkservices.httpRoutes", route);
    assert_repaired_in_place(&stack, "route deleted");

    // The wildcard DNS record.
    let zone = v["dns_zone"].as_str().unwrap();
    let record = format!("{zone}/rrsets/*.meshapps.internal./A");
    stack
        .emu
        .api("DELETE", &format!("/dns/v1/{record}"), None)
        .unwrap();
    wait_gone(&stack, "dns.rrsets", &record);
    assert_repaired_in_place(&stack, "wildcard record deleted");

    // The invoker binding on the Cloud Run service.
    stack
        .emu
        .api(
            "POST",
            &format!("/run/v2/{id}:setIamPolicy"),
            Some(&serde_json::json!({"policy": {"bindings": []}})),
        )
        .unwrap();
    assert_repaired_in_place(&stack, "invoker binding removed");

    assert_eq!(
        stack.resource("run.services", &id).unwrap()["uid"],
        uid,
        "the Cloud Run service must survive the repairs"
    );
    stack.destroy_ok();
    stack.assert_consistent();
}
