//! An apply that waited on purpose says so: a warning naming the wait (a new
//! `roles/trafficdirector.client` grant propagating, a young mesh settling), how long, and how to
//! avoid it; an apply that did not wait says nothing. On Terraform >= 1.8 (1.11.4 in CI), skipped
//! with a note on stderr only when there is none (see `stack::modern_terraform`); the grant's
//! warning is also checked on the pinned 1.0.3.

use chrono::{SecondsFormat, Utc};
use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::{sa, SeedBuilder, MESH, PROJECT};
use csmrun_acctest::stack::{modern_terraform, Stack};
use csmrun_acctest::terraform::Output;

const TD_CLIENT: &str = "roles/trafficdirector.client";

fn mesh_name() -> String {
    format!("projects/{PROJECT}/locations/global/meshes/{MESH}")
}

/// The output with every run of whitespace as one space: Terraform wraps a diagnostic's detail at
/// 78 columns.
fn flat(out: &Output) -> String {
    out.combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `Warning: Waited ...` lines of an apply's output.
fn wait_warnings(out: &Output) -> Vec<String> {
    out.combined()
        .lines()
        .filter(|l| l.trim_start().starts_with("Warning: Waited "))
        .map(|l| l.trim().to_string())
        .collect()
}

/// The output says the apply waited `waited` for `account`'s new grant, gives the command that
/// grants it beforehand and names the setting; and it is the only wait the apply reports.
fn assert_grant_warning(out: &Output, account: &str, waited: &str, what: &str) {
    let text = flat(out);
    assert_eq!(
        wait_warnings(out),
        vec![format!(
            "Warning: Waited {waited} for the new {TD_CLIENT} grant of {account} to propagate"
        )],
        "{what}: one warning for the grant wait:\n{text}"
    );
    for needle in [
        format!(
            "Next time: grant the role to the account before this apply, once: `gcloud projects \
             add-iam-policy-binding {PROJECT} --member=serviceAccount:{account} --role={TD_CLIENT}`"
        ),
        "a `google_project_iam_member`".to_string(),
        "`iam_propagation_wait` (2 s)".to_string(),
    ] {
        assert!(
            text.contains(&needle),
            "{what}: the warning says {needle}:\n{text}"
        );
    }
}

/// Create with a grant the account lacks, then move the service to another account (an update that
/// grants again): each apply warns of its wait; an apply that finds the grant in place does not.
fn new_grants_warn(stack: &Stack, with_update: bool) {
    let svc = ServiceHcl::new("svc", "fresh");
    stack.config(&svc.render());
    let out = stack.apply_ok();
    // The acceptance provider block sets `iam_propagation_wait = "2s"`.
    assert_grant_warning(&out, &sa("app-a"), "2 s", "create");
    stack.assert_consistent();

    if with_update {
        stack.config(&svc.clone().string("service_account", &sa("app-b")).render());
        let out = stack.apply_ok();
        assert_grant_warning(&out, &sa("app-b"), "2 s", "update to a new account");
        stack.assert_consistent();
    }

    // A new image: the grant is there (csmrun's own, from an earlier apply), so nothing waits.
    let account = if with_update { "app-b" } else { "app-a" };
    stack.config(
        &svc.string("service_account", &sa(account))
            .string("image", &csmrun_acctest::hcl::image("fresh", "1.0.1"))
            .render(),
    );
    let out = stack.apply_ok();
    assert!(
        wait_warnings(&out).is_empty(),
        "an update that found the grant in place waited:\n{}",
        out.combined()
    );
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn a_new_grant_warns_that_the_apply_waited_for_propagation() {
    let Some(tf) = modern_terraform("a_new_grant_warns_that_the_apply_waited_for_propagation")
    else {
        return;
    };
    let stack = Stack::with_terraform(&SeedBuilder::new().build(), tf);
    new_grants_warn(&stack, true);
}

#[test]
fn a_new_grant_warns_on_the_pinned_terraform_too() {
    let stack = Stack::new(&SeedBuilder::new().build());
    new_grants_warn(&stack, false);
}

#[test]
fn a_young_mesh_warns_that_the_apply_waited_for_it_to_settle() {
    let Some(tf) = modern_terraform("a_young_mesh_warns_that_the_apply_waited_for_it_to_settle")
    else {
        return;
    };
    // The grant exists, so the mesh is the only wait.
    let seed = SeedBuilder::new()
        .mesh_created(&Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true))
        .binding(TD_CLIENT, &format!("serviceAccount:{}", sa("app-a")))
        .build();
    let mut stack = Stack::with_terraform(&seed, tf);
    // Long enough to be left when the create checks the mesh on a loaded machine.
    stack.provider.mesh_settle_time = "10s".into();
    stack.config(&ServiceHcl::new("svc", "young").render());
    let out = stack.apply_ok();
    let text = flat(&out);
    let warnings = wait_warnings(&out);
    let suffix = format!(" for the young mesh {} to settle", mesh_name());
    assert!(
        warnings.len() == 1 && warnings[0].ends_with(&suffix),
        "one warning for the mesh wait:\n{text}"
    );
    for needle in [
        "least the provider's `mesh_settle_time` (10 s) old",
        "Next time: create the mesh earlier",
    ] {
        assert!(text.contains(needle), "the warning says {needle}:\n{text}");
    }
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn an_existing_grant_and_an_old_mesh_give_no_wait_warning() {
    let Some(tf) = modern_terraform("an_existing_grant_and_an_old_mesh_give_no_wait_warning")
    else {
        return;
    };
    let seed = SeedBuilder::new()
        .binding(TD_CLIENT, &format!("serviceAccount:{}", sa("app-a")))
        .build();
    let stack = Stack::with_terraform(&seed, tf);
    stack.config(&ServiceHcl::new("svc", "known").render());
    let out = stack.apply_ok();
    assert!(
        out.stdout.contains("Creation complete") && wait_warnings(&out).is_empty(),
        "a create that did not wait warned of a wait:\n{}",
        out.combined()
    );
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
}
