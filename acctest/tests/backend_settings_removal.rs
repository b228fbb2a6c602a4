//! Compute's PATCH is a JSON merge patch: a field it omits is kept. Removing `circuit_breaker` or
//! `outlier_detection` (or one of their fields) from the configuration must remove it from the backend service,
//! and a setting the configuration does not have, found in the cloud, is drift that the next apply removes.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;
use serde_json::{json, Value};

const CIRCUIT_BREAKER: &str = "circuit_breaker {
  max_requests = 1000
  max_retries  = 3
}";

const OUTLIER_DETECTION: &str = "outlier_detection {
  consecutive_errors   = 5
  interval             = \"1.5s\"
  base_ejection_time   = \"30s\"
  max_ejection_percent = 50
}";

fn config(blocks: &[&str]) -> String {
    blocks
        .iter()
        .fold(ServiceHcl::new("svc", "breaker"), |h, b| h.block(b))
        .render()
}

/// The backend service as the emulator holds it.
fn backend_service(stack: &Stack) -> Value {
    let v = stack.values("svc");
    let key = v["backend_service"].as_str().unwrap().to_string();
    stack
        .resource("compute.backendServices", &key)
        .unwrap_or_else(|| panic!("backend service {key} is missing"))
}

fn applied(stack: &Stack, blocks: &[&str]) -> Value {
    stack.config(&config(blocks));
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("right after the apply");
    backend_service(stack)
}

#[test]
fn removing_the_circuit_breaker_removes_it_from_the_backend_service() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let before = applied(&stack, &[CIRCUIT_BREAKER, OUTLIER_DETECTION]);
    assert_eq!(before["circuitBreakers"]["maxRequests"], 1000, "{before}");
    let after = applied(&stack, &[OUTLIER_DETECTION]);
    assert!(
        after.get("circuitBreakers").is_none(),
        "the circuit breaker is gone from the backend service: {after}"
    );
    assert_eq!(after["outlierDetection"]["consecutiveErrors"], 5);
}

#[test]
fn removing_the_outlier_detection_removes_it_from_the_backend_service() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let before = applied(&stack, &[CIRCUIT_BREAKER, OUTLIER_DETECTION]);
    assert_eq!(
        before["outlierDetection"]["interval"],
        json!({"seconds": "1", "nanos": 500_000_000}),
        "{before}"
    );
    let after = applied(&stack, &[CIRCUIT_BREAKER]);
    assert!(
        after.get("outlierDetection").is_none(),
        "outlier detection is gone from the backend service: {after}"
    );
    assert_eq!(after["circuitBreakers"]["maxRequests"], 1000);
}

#[test]
fn removing_one_field_of_the_circuit_breaker_and_outlier_detection_removes_it() {
    let stack = Stack::new(&SeedBuilder::new().build());
    applied(&stack, &[CIRCUIT_BREAKER, OUTLIER_DETECTION]);
    let after = applied(
        &stack,
        &[
            "circuit_breaker {\n  max_requests = 1000\n}",
            "outlier_detection {\n  consecutive_errors = 5\n  base_ejection_time = \"30s\"\n  max_ejection_percent = 50\n}",
        ],
    );
    assert_eq!(
        after["circuitBreakers"],
        json!({"maxRequests": 1000}),
        "max_retries is gone: {after}"
    );
    assert!(
        after["outlierDetection"].get("interval").is_none(),
        "interval is gone: {after}"
    );
    assert_eq!(after["outlierDetection"]["maxEjectionPercent"], 50);
}

#[test]
fn a_circuit_breaker_added_out_of_band_is_drift_and_the_apply_removes_it() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let bs = applied(&stack, &[OUTLIER_DETECTION]);
    assert!(bs.get("circuitBreakers").is_none(), "{bs}");

    // Someone adds a circuit breaker by hand (a merge patch with the current fingerprint).
    let link = bs["selfLink"].as_str().unwrap();
    let path = &link[link.find("/compute/v1/").unwrap()..];
    let patch = json!({"fingerprint": bs["fingerprint"], "circuitBreakers": {"maxConnections": 7}});
    stack.emu.api("PATCH", path, Some(&patch)).unwrap();
    let start = std::time::Instant::now();
    while backend_service(&stack).get("circuitBreakers").is_none() {
        assert!(
            start.elapsed() < csmrun_acctest::stack::GUARD,
            "the patch never landed"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let plan = stack.plan();
    assert_eq!(
        plan.code,
        Some(2),
        "the circuit breaker the configuration does not have is drift:\n{}",
        plan.combined()
    );
    stack.apply_ok();
    stack.assert_consistent();
    let after = backend_service(&stack);
    assert!(
        after.get("circuitBreakers").is_none(),
        "the apply removed the circuit breaker: {after}"
    );
    assert_eq!(after["outlierDetection"]["consecutiveErrors"], 5);
    stack.assert_empty_plan("after the repair");
}
