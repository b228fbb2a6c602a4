//! A blue/green canary: one hostname, 99 % to the stable service and 1 % to the green one, with
//! an A/B rule that sends one user to green.

use csmrun_acctest::consistency::{default_split, relative};
use csmrun_acctest::hcl::{image, ServiceHcl};
use csmrun_acctest::seed::{sa, SeedBuilder};
use csmrun_acctest::stack::Stack;
use serde_json::json;

#[test]
fn canary_splits_one_hostname_between_two_services_and_an_ab_rule_sends_one_user_to_green() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let target = ServiceHcl::new("target", "target")
        .string("service_account", &sa("app-a"))
        .attr("invokers", &format!("[\"serviceAccount:{}\"]", sa("caller")))
        .block(
            "route {\n  weight = 99\n  destination {\n    backend_service = csmrun_service.green.backend_service\n    weight = 1\n  }\n  \
             rule {\n    path_prefix = \"/api\"\n    header {\n      name  = \"end-user\"\n      exact = \"jason\"\n    }\n    \
             destination {\n      backend_service = csmrun_service.green.backend_service\n      weight = 100\n    }\n  }\n}",
        );
    let green = ServiceHcl::new("green", "target-green")
        .string("image", &image("target", "2.0.0"))
        .string("service_account", &sa("app-a"))
        .attr(
            "invokers",
            &format!("[\"serviceAccount:{}\"]", sa("caller")),
        );
    stack.config(&format!("{}\n{}", target.render(), green.render()));
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("after creating the canary");

    let t = stack.values("target");
    let g = stack.values("green");
    assert_eq!(t["url"], "http://target.meshapps.internal");
    assert_eq!(t["route"][0]["weight"], 99);
    assert_eq!(t["route"][0]["destination"][0]["weight"], 1);
    let route = stack
        .resource(
            "networkservices.httpRoutes",
            t["http_route"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(route["hostnames"], json!(["target.meshapps.internal"]));
    let split = default_split(&route);
    let stable = t["backend_service"].as_str().unwrap();
    let canary = relative(g["backend_service"].as_str().unwrap());
    assert_eq!(split.get(stable), Some(&99), "route: {route}");
    assert_eq!(split.get(canary), Some(&1), "route: {route}");
    // The A/B rule comes before the default split and matches the header and the prefix.
    let rules = route["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "route: {route}");
    let ab = &rules[0];
    let text = ab.to_string();
    assert!(
        text.contains("end-user") && text.contains("jason") && text.contains("/api"),
        "A/B rule: {ab}"
    );
    let ab_dest = ab["action"]["destinations"][0]["serviceName"]
        .as_str()
        .unwrap();
    assert_eq!(relative(ab_dest), canary, "A/B rule: {ab}");

    stack.destroy_ok();
    stack.assert_consistent();
}
