//! Create → empty plan → in-place update of image, env, invokers and route weights → destroy.

use csmrun_acctest::consistency::default_split;
use csmrun_acctest::hcl::{image, ServiceHcl};
use csmrun_acctest::seed::{sa, SeedBuilder};
use csmrun_acctest::stack::Stack;
use serde_json::json;

fn config(tag: &str, level: &str, invoker: &str, weights: (u32, u32)) -> String {
    let alpha = ServiceHcl::new("alpha", "alpha")
        .string("image", &image("alpha", tag))
        .attr("env", &format!("{{ LOG_LEVEL = \"{level}\" }}"))
        .attr("invokers", &format!("[\"serviceAccount:{}\"]", sa(invoker)))
        .block(&format!(
            "route {{\n  weight = {}\n  destination {{\n    backend_service = csmrun_service.beta.backend_service\n    weight = {}\n  }}\n}}",
            weights.0, weights.1
        ));
    let beta = ServiceHcl::new("beta", "beta").string("service_account", &sa("app-b"));
    format!("{}\n{}", alpha.render(), beta.render())
}

#[test]
fn create_then_empty_plan_then_update_in_place_then_destroy_leaves_nothing() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&config("1.0.0", "info", "caller", (90, 10)));
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("right after create");

    let alpha = stack.values("alpha");
    let beta = stack.values("beta");
    let id = alpha["id"].as_str().unwrap().to_string();
    let uid = stack.resource("run.services", &id).unwrap()["uid"].clone();
    let route = stack
        .resource(
            "networkservices.httpRoutes",
            alpha["http_route"].as_str().unwrap(),
        )
        .unwrap();
    let split = default_split(&route);
    assert_eq!(split[alpha["backend_service"].as_str().unwrap()], 90);
    assert_eq!(split[beta["backend_service"].as_str().unwrap()], 10);

    stack.config(&config("1.1.0", "debug", "other", (50, 50)));
    let plan = stack.plan();
    let text = plan.combined();
    assert_eq!(plan.code, Some(2), "the update must be a change:\n{text}");
    assert!(
        text.contains("csmrun_service.alpha will be updated in-place"),
        "{text}"
    );
    assert!(
        text.contains("0 to add, 1 to change, 0 to destroy"),
        "{text}"
    );
    assert!(!text.contains("must be replaced"), "{text}");

    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("right after the update");
    let svc = stack.resource("run.services", &id).unwrap();
    assert_eq!(
        svc["uid"], uid,
        "the Cloud Run service was replaced, not updated"
    );
    let container = &svc["template"]["containers"][0];
    assert_eq!(container["image"], json!(image("alpha", "1.1.0")));
    assert_eq!(
        container["env"],
        json!([{"name": "LOG_LEVEL", "value": "debug"}])
    );
    let route = stack
        .resource(
            "networkservices.httpRoutes",
            alpha["http_route"].as_str().unwrap(),
        )
        .unwrap();
    let split = default_split(&route);
    assert_eq!(split[alpha["backend_service"].as_str().unwrap()], 50);
    assert_eq!(split[beta["backend_service"].as_str().unwrap()], 50);
    let alpha = stack.values("alpha");
    assert_eq!(
        alpha["invokers"],
        json!([format!("serviceAccount:{}", sa("other"))])
    );
    assert_eq!(alpha["image"], json!(image("alpha", "1.1.0")));

    stack.destroy_ok();
    assert!(csmrun_acctest::consistency::services_in_state(&stack.show()).is_empty());
    stack.assert_consistent();
}

#[test]
fn renaming_the_neg_builds_the_new_one_swaps_it_in_and_deletes_the_old_in_place() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let svc = ServiceHcl::new("svc", "renamed");
    stack.config(&svc.render());
    stack.apply_ok();
    let before = stack.values("svc");
    let old_neg = before["neg"].as_str().unwrap().to_string();
    let id = before["id"].as_str().unwrap().to_string();
    let uid = stack.resource("run.services", &id).unwrap()["uid"].clone();

    stack.config(&svc.string("neg_name", "renamed-neg-v2").render());
    let plan = stack.plan();
    let text = plan.combined();
    assert_eq!(plan.code, Some(2), "{text}");
    assert!(
        text.contains("will be updated in-place") && !text.contains("must be replaced"),
        "{text}"
    );
    let out = stack.apply_ok();
    assert!(
        !out.combined().contains("resourceInUse"),
        "{}",
        out.combined()
    );
    let after = stack.values("svc");
    let new_neg = after["neg"].as_str().unwrap();
    assert!(new_neg.ends_with("/renamed-neg-v2"), "{new_neg}");
    assert!(
        stack
            .resource("compute.networkEndpointGroups", &old_neg)
            .is_none(),
        "the old NEG is gone"
    );
    assert_eq!(
        stack.resource("run.services", &id).unwrap()["uid"],
        uid,
        "the service was not replaced"
    );
    stack.assert_consistent();
    stack.assert_empty_plan("after the rename");
    stack.destroy_ok();
    stack.assert_consistent();
}
