//! A blue/green canary: one hostname, 99 % to the stable service and 1 % to the green one.

use csmrun_acctest::consistency::{default_split, relative};
use csmrun_acctest::hcl::{image, ServiceHcl};
use csmrun_acctest::seed::{sa, SeedBuilder};
use csmrun_acctest::stack::Stack;
use serde_json::json;

#[test]
fn canary_splits_one_hostname_between_two_services() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let target = ServiceHcl::new("target", "target")
        .string("service_account", &sa("app-a"))
        .attr("invokers", &format!("[\"serviceAccount:{}\"]", sa("caller")))
        .block(
            "route {\n  weight = 99\n  destination {\n    backend_service = csmrun_service.green.backend_service\n    weight = 1\n  }\n}",
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
    assert_eq!(
        route["rules"].as_array().unwrap().len(),
        1,
        "route: {route}"
    );
    // The green service keeps its own hostname for direct tests.
    let green_route = stack
        .resource(
            "networkservices.httpRoutes",
            g["http_route"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(
        green_route["hostnames"],
        json!(["target-green.meshapps.internal"])
    );

    stack.destroy_ok();
    stack.assert_consistent();
}
