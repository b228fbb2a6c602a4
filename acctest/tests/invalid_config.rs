//! A table of invalid configurations: each is rejected by `terraform plan` with an error on the
//! attribute at fault, before the provider makes a single API call.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;
use serde_json::Value;

/// One invalid configuration: how to break the valid one, and the source line the error must
/// point at.
struct Case {
    what: &'static str,
    edit: fn(ServiceHcl) -> ServiceHcl,
    line: &'static str,
}

macro_rules! attr_case {
    ($what:expr, $key:expr, $value:expr) => {
        Case {
            what: $what,
            edit: |s| s.attr($key, $value),
            line: concat!($key, " = ", $value),
        }
    };
}

macro_rules! block_case {
    ($what:expr, $block:expr, $line:expr) => {
        Case {
            what: $what,
            edit: |s| s.block($block),
            line: $line,
        }
    };
}

fn cases() -> Vec<Case> {
    vec![
        attr_case!("name with capitals and underscore", "name", "\"Bad_Name\""),
        attr_case!("name starting with a digit", "name", "\"1service\""),
        attr_case!("name ending with a dash", "name", "\"service-\""),
        attr_case!("name of 50 characters", "name", "\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij\""),
        attr_case!("empty name", "name", "\"\""),
        attr_case!("image with spaces", "image", "\"not an image\""),
        attr_case!("image with an empty tag", "image", "\"asia-northeast1-docker.pkg.dev/p/apps/target:\""),
        attr_case!("image with a capital in the repository", "image", "\"asia-northeast1-docker.pkg.dev/p/apps/Target:1\""),
        attr_case!("empty image", "image", "\"\""),
        attr_case!("mesh with invalid characters", "mesh", "\"mesh!\""),
        attr_case!("domain with a leading dash label", "domain", "\"-bad.internal\""),
        attr_case!("domain with a space", "domain", "\"has space.internal\""),
        attr_case!("domain with an empty label", "domain", "\"mesh..internal\""),
        attr_case!("hostname with a space", "hostname", "\"bad host.meshapps.internal\""),
        attr_case!("hostname with a 64-character label", "hostname", "\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd.meshapps.internal\""),
        attr_case!("port 0", "port", "0"),
        attr_case!("port above 65535", "port", "70000"),
        attr_case!("cpu that is not a quantity", "cpu", "\"lots\""),
        attr_case!("negative cpu", "cpu", "\"-1\""),
        attr_case!("memory that is not a quantity", "memory", "\"plenty\""),
        attr_case!("negative memory", "memory", "\"-1Gi\""),
        attr_case!("negative min_instances", "min_instances", "-1"),
        attr_case!("negative max_instances", "max_instances", "-5"),
        attr_case!("unknown ingress", "ingress", "\"public\""),
        attr_case!("invoker without a member type", "invokers", "[\"alice@example.com\"]"),
        attr_case!("invoker service account that is not an email", "invokers", "[\"serviceAccount:not-an-email\"]"),
        attr_case!("invoker with an empty identity", "invokers", "[\"user:\"]"),
        attr_case!("invoker with an unknown member type", "invokers", "[\"robot:r2@example.com\"]"),
        attr_case!("service_account that is not an email", "service_account", "\"not-an-email\""),
        attr_case!("empty service_account", "service_account", "\"\""),
        attr_case!("dns_address with an octet above 255", "dns_address", "\"10.0.0.300\""),
        attr_case!("dns_address that is not an address", "dns_address", "\"not-an-ip\""),
        attr_case!("unknown deletion_policy", "deletion_policy", "\"KEEP\""),
        attr_case!("label key with a space and capitals", "labels", "{ \"Bad Key\" = \"v\" }"),
        attr_case!("label value with spaces", "labels", "{ team = \"Value With Spaces\" }"),
        attr_case!("env name reserved by Cloud Run", "env", "{ PORT = \"9090\" }"),
        attr_case!("env name with an equals sign", "env", "{ \"BAD=NAME\" = \"x\" }"),
        attr_case!("neg_name with capitals", "neg_name", "\"Bad_Neg\""),
        attr_case!("backend_service_name starting with a dash", "backend_service_name", "\"-backend\""),
        attr_case!("route_name with capitals", "route_name", "\"UPPER\""),
        attr_case!("dns_zone_name with a space", "dns_zone_name", "\"zone name\""),
        attr_case!("project with invalid characters", "project", "\"Bad Project!\""),
        attr_case!("network with spaces", "network", "\"bad network\""),
        attr_case!("subnetwork with capitals", "subnetwork", "\"Bad_Subnet\""),
        block_case!("route timeout that is not a duration", "route {\n  timeout = \"ten seconds\"\n}", "timeout = \"ten seconds\""),
        block_case!("negative route timeout", "route {\n  timeout = \"-1s\"\n}", "timeout = \"-1s\""),
        block_case!(
            "route weight above 100",
            "route {\n  weight = 101\n  destination {\n    backend_service = \"projects/acc-project/global/backendServices/other-backend\"\n    weight = 1\n  }\n}",
            "weight = 101"
        ),
        block_case!(
            "destination weight above 100",
            "route {\n  weight = 50\n  destination {\n    backend_service = \"projects/acc-project/global/backendServices/other-backend\"\n    weight = 500\n  }\n}",
            "weight = 500"
        ),
        block_case!(
            "destination backend_service that is not a backend service id",
            "route {\n  destination {\n    backend_service = \"not a backend\"\n    weight = 1\n  }\n}",
            "backend_service = \"not a backend\""
        ),
        block_case!("negative retry attempts", "route {\n  retry {\n    attempts = -1\n  }\n}", "attempts = -1"),
        block_case!("retry per_try_timeout that is not a duration", "route {\n  retry {\n    per_try_timeout = \"fast\"\n  }\n}", "per_try_timeout = \"fast\""),
        block_case!("unknown retry condition", "route {\n  retry {\n    conditions = [\"sometimes\"]\n  }\n}", "conditions = [\"sometimes\"]"),
        block_case!(
            "fault delay that is not a duration",
            "route {\n  fault_injection {\n    delay = \"soon\"\n    delay_percent = 5\n  }\n}",
            "delay = \"soon\""
        ),
        block_case!(
            "fault delay_percent above 100",
            "route {\n  fault_injection {\n    delay = \"1s\"\n    delay_percent = 150\n  }\n}",
            "delay_percent = 150"
        ),
        block_case!(
            "fault abort_status that is not an HTTP status",
            "route {\n  fault_injection {\n    abort_status = 700\n    abort_percent = 1\n  }\n}",
            "abort_status = 700"
        ),
        block_case!(
            "negative fault abort_percent",
            "route {\n  fault_injection {\n    abort_status = 503\n    abort_percent = -3\n  }\n}",
            "abort_percent = -3"
        ),
        block_case!(
            "rule path_prefix without a leading slash",
            "route {\n  rule {\n    path_prefix = \"api\"\n  }\n}",
            "path_prefix = \"api\""
        ),
        block_case!(
            "rule header with an empty name",
            "route {\n  rule {\n    header {\n      name = \"\"\n      exact = \"x\"\n    }\n  }\n}",
            "name = \"\""
        ),
        block_case!(
            "rule header regex that does not compile",
            "route {\n  rule {\n    header {\n      name = \"end-user\"\n      regex = \"([a-z\"\n    }\n  }\n}",
            "regex = \"([a-z\""
        ),
        block_case!("negative circuit breaker max_requests", "circuit_breaker {\n  max_requests = -1\n}", "max_requests = -1"),
        block_case!("outlier interval that is not a duration", "outlier_detection {\n  interval = \"often\"\n}", "interval = \"often\""),
        block_case!("outlier max_ejection_percent above 100", "outlier_detection {\n  max_ejection_percent = 101\n}", "max_ejection_percent = 101"),
        block_case!("negative outlier consecutive_errors", "outlier_detection {\n  consecutive_errors = -2\n}", "consecutive_errors = -2"),
        block_case!("two route blocks", "route {\n  timeout = \"1s\"\n}\nroute {\n  timeout = \"2s\"\n}", "route {"),
    ]
}

/// The `code` lines of every error diagnostic in `plan -json` output.
fn error_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["type"] == "diagnostic" && m["diagnostic"]["severity"] == "error")
        .map(|m| {
            let d = &m["diagnostic"];
            format!(
                "{} | {}: {}",
                d["snippet"]["code"]
                    .as_str()
                    .unwrap_or("<no source line>")
                    .trim(),
                d["summary"].as_str().unwrap_or(""),
                d["detail"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn invalid_configurations_are_rejected_at_plan_on_the_attribute_with_no_api_calls() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let cases = cases();
    assert!(cases.len() >= 40, "the table must hold at least 40 cases");
    // The unbroken configuration plans cleanly, so every error below comes from its edit.
    stack.config(&ServiceHcl::new("svc", "valid").render());
    let out = stack.tf(&["plan", "-json"]);
    assert!(
        out.success() && error_lines(&out.stdout).is_empty(),
        "{}",
        out.combined()
    );
    let mut problems = Vec::new();
    for case in &cases {
        stack.emu.clear_requests().unwrap();
        stack.config(&(case.edit)(ServiceHcl::new("svc", "valid")).render());
        let out = stack.tf(&["plan", "-json"]);
        let errors = error_lines(&out.stdout);
        if out.success() || errors.is_empty() {
            problems.push(format!(
                "{}: plan did not fail (exit {:?})",
                case.what, out.code
            ));
        } else if !errors.iter().any(|e| e.starts_with(case.line)) {
            problems.push(format!(
                "{}: no error on `{}`; errors:\n      {}",
                case.what,
                case.line,
                errors.join("\n      ")
            ));
        }
        let log = stack.requests();
        if !log.is_empty() {
            problems.push(format!(
                "{}: {} API calls during plan: {:?}",
                case.what,
                log.len(),
                log.iter().map(requests::describe).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases wrong:\n  {}",
        problems.len(),
        cases.len(),
        problems.join("\n  ")
    );
    stack.assert_consistent();
}

/// CPU and memory sizes Cloud Run refuses (https://cloud.google.com/run/docs/configuring/services/cpu and
/// .../memory-limits) fail the plan on the attribute at fault, saying what Cloud Run takes, with no API call.
#[test]
fn cpu_and_memory_sizes_cloud_run_refuses_fail_the_plan_with_the_allowed_values() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "3",
            "512Mi",
            "cpu = \"3\"",
            "use 1, 2, 4, 6 or 8, or a value from 0.08 to 1",
        ),
        (
            "8",
            "2Gi",
            "memory = \"2Gi\"",
            "Cloud Run takes `memory` from 4Gi to 32Gi",
        ),
        (
            "1",
            "8Gi",
            "memory = \"8Gi\"",
            "Cloud Run takes `memory` from 128Mi to 4Gi",
        ),
        (
            "0.4",
            "1Gi",
            "memory = \"1Gi\"",
            "Cloud Run takes `memory` from 128Mi to 512Mi",
        ),
    ];
    let mut problems = Vec::new();
    for (cpu, memory, line, message) in cases {
        stack.emu.clear_requests().unwrap();
        stack.config(
            &ServiceHcl::new("svc", "sized")
                .string("cpu", cpu)
                .string("memory", memory)
                .render(),
        );
        let out = stack.tf(&["plan", "-json"]);
        let errors = error_lines(&out.stdout);
        if out.success()
            || !errors
                .iter()
                .any(|e| e.starts_with(line) && e.contains(message))
        {
            problems.push(format!(
                "cpu {cpu}, memory {memory}: expected `{message}` on `{line}`, got exit {:?}:\n      {}",
                out.code,
                errors.join("\n      ")
            ));
        }
        let log = stack.requests();
        if !log.is_empty() {
            problems.push(format!(
                "cpu {cpu}, memory {memory}: {} API calls during plan",
                log.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
