//! Hardening (issue 12): whatever the input, no panic, no hang, nothing foreign touched. Huge durations are
//! refused at plan, a state whose names were tampered with is refused before any request, an import ID cannot
//! carry a query, and credentials naming a FIFO fail at once.

use std::time::Duration;

use csmrun_acctest::hcl::{quote, ServiceHcl};
use csmrun_acctest::requests;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;
use serde_json::Value;

/// Error diagnostics (`summary: detail`) of `-json` output.
fn errors(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["type"] == "diagnostic" && m["diagnostic"]["severity"] == "error")
        .map(|m| {
            format!(
                "{}: {}",
                m["diagnostic"]["summary"].as_str().unwrap_or(""),
                m["diagnostic"]["detail"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn assert_no_crash(what: &str, text: &str) {
    for bad in [
        "panicked",
        "Plugin did not respond",
        "plugin crashed",
        "Request cancelled",
    ] {
        assert!(!text.contains(bad), "{what}: {bad:?} in\n{text}");
    }
}

#[test]
fn huge_iam_propagation_wait_and_timeouts_create_are_refused_at_plan_with_no_api_calls() {
    let mut stack = Stack::new(&SeedBuilder::new().build());
    stack.provider.iam_propagation_wait = "2562047788015215h".into();
    stack.config(
        &ServiceHcl::new("svc", "huge")
            .block("timeouts {\n  create = \"9999999999h\"\n}")
            .render(),
    );
    stack.emu.clear_requests().unwrap();
    let out = stack.tf(&["plan", "-json"]);
    assert_eq!(out.code, Some(1), "{}", out.combined());
    assert_no_crash("plan", &out.combined());
    let errs = errors(&out.stdout);
    assert!(
        errs.iter()
            .any(|e| e.contains("`iam_propagation_wait`") && e.contains("\"1h\"")),
        "{errs:#?}"
    );
    // Terraform validates the resource once the provider block is valid.
    stack.provider.iam_propagation_wait = "2s".into();
    stack.config(
        &ServiceHcl::new("svc", "huge")
            .block("timeouts {\n  create = \"9999999999h\"\n}")
            .render(),
    );
    let out = stack.tf(&["plan", "-json"]);
    assert_eq!(out.code, Some(1), "{}", out.combined());
    assert_no_crash("plan", &out.combined());
    let errs = errors(&out.stdout);
    assert!(
        errs.iter()
            .any(|e| e.contains("`timeouts.create`") && e.contains("\"24h\"")),
        "{errs:#?}"
    );
    let log = stack.requests();
    assert!(log.is_empty(), "API calls: {:?}", requests::writes(&log));
    // The whole apply refuses too: nothing is made, so nothing can be orphaned.
    let apply = stack.apply();
    assert!(!apply.success());
    assert_no_crash("apply", &apply.combined());
    assert!(stack.requests().is_empty());
}

/// Pulls the state, applies `edit` to the attributes of its one instance, pushes it back.
fn tamper(stack: &Stack, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let pulled = stack.tf(&["state", "pull"]);
    pulled.assert_success("state pull");
    let mut state: Value = serde_json::from_str(&pulled.stdout).expect("state JSON");
    state["serial"] = Value::from(state["serial"].as_u64().unwrap_or(0) + 1);
    let attrs = state["resources"][0]["instances"][0]["attributes"]
        .as_object_mut()
        .expect("instance attributes");
    edit(attrs);
    stack
        .wd
        .write("tampered.tfstate", &state.to_string())
        .unwrap();
    stack
        .tf(&["state", "push", "tampered.tfstate"])
        .assert_success("state push");
}

#[test]
fn a_state_with_tampered_part_names_is_refused_by_plan_and_destroy_and_nothing_else_is_touched() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&ServiceHcl::new("svc", "victim").render());
    stack.apply_ok();
    let climb = "../../../global/backendServices/foreign-backend";
    tamper(&stack, |a| {
        for field in [
            "neg_name",
            "backend_service_name",
            "route_name",
            "dns_zone_name",
        ] {
            a.insert(field.into(), Value::from(climb));
        }
        a.insert("project".into(), Value::from("acc-project?alt=json"));
    });
    stack.emu.clear_requests().unwrap();

    let plan = stack.tf(&["plan", "-json"]);
    assert_eq!(plan.code, Some(1), "{}", plan.combined());
    let errs = errors(&plan.stdout);
    for field in [
        "neg_name",
        "backend_service_name",
        "route_name",
        "dns_zone_name",
        "project",
    ] {
        assert!(
            errs.iter().any(|e| e.starts_with("Invalid state")
                && e.contains(&format!("`{field}`"))
                && e.contains("terraform state rm")
                && e.contains("terraform import")),
            "{field}: {errs:#?}"
        );
    }
    assert!(
        !plan.combined().contains("bug in the provider"),
        "{}",
        plan.combined()
    );
    let destroy = stack.tf(&["destroy", "-auto-approve", "-json"]);
    assert!(!destroy.success(), "{}", destroy.combined());
    assert!(
        errors(&destroy.stdout)
            .iter()
            .any(|e| e.starts_with("Invalid state")),
        "{}",
        destroy.combined()
    );
    assert_no_crash("destroy", &destroy.combined());
    let log = stack.requests();
    assert!(
        log.is_empty(),
        "requests for a tampered state: {:?}",
        log.iter().map(requests::describe).collect::<Vec<_>>()
    );

    // The recovery the message gives works: forget the resource, import it again, destroy it.
    stack
        .tf(&["state", "rm", "csmrun_service.svc"])
        .assert_success("state rm");
    let id = format!(
        "projects/{}/locations/{}/services/victim",
        csmrun_acctest::seed::PROJECT,
        csmrun_acctest::seed::REGION
    );
    stack
        .tf(&["import", "csmrun_service.svc", &id])
        .assert_success("import");
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn an_import_id_with_a_query_or_a_path_is_refused_at_import_with_no_api_calls() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&ServiceHcl::new("svc", "imported").render());
    stack.emu.clear_requests().unwrap();
    for id in [
        "imported?alt=json",
        "projects/acc-project/locations/asia-northeast1/services/imported?alt=json",
        "acc-project/asia-northeast1/..%2F..%2Fimported",
        "acc-project/../imported",
    ] {
        let out = stack.tf(&["import", "csmrun_service.svc", id]);
        assert!(!out.success(), "{id}: {}", out.combined());
        // Terraform wraps the detail at its width; the words are checked with the line breaks undone.
        let flat = out
            .combined()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains("Invalid import id") && flat.contains("of the import id"),
            "{id}: {}",
            out.combined()
        );
        assert_no_crash(id, &out.combined());
    }
    let log = stack.requests();
    assert!(
        log.is_empty(),
        "{:?}",
        log.iter().map(requests::describe).collect::<Vec<_>>()
    );
}

#[test]
fn credentials_naming_a_fifo_fail_plan_at_once_with_a_clear_error() {
    let mut stack = Stack::new(&SeedBuilder::new().build());
    // The real credentials path, not the emulator shortcut that skips them.
    stack.wd.remove_env("CSMRUN_EMULATOR_HOST");
    let fifo = stack.wd.path().join("key.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    for credentials in [fifo.to_str().unwrap(), "/dev/zero"] {
        stack.provider.extra = vec![format!("credentials = {}", quote(credentials))];
        stack.config(&ServiceHcl::new("svc", "fifo").render());
        // A hang fails here (the wait kills Terraform and errs), whatever the machine's speed.
        let out = stack
            .spawn(&["plan", "-json"])
            .wait(Duration::from_secs(120))
            .unwrap_or_else(|e| {
                panic!("terraform plan with credentials = {credentials} hung: {e}")
            });
        assert_eq!(out.code, Some(1), "{}", out.combined());
        let text = errors(&out.stdout).join("\n");
        assert!(text.contains("not a regular file"), "{credentials}: {text}");
        assert!(text.contains("`credentials`"), "{credentials}: {text}");
        assert_no_crash(credentials, &out.combined());
    }
}
