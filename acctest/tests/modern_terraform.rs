//! What csmrun does on Terraform >= 1.8 (protocol 6.3+, 1.11.4 in CI) beyond the pinned 1.0.3:
//! `deletion_policy = "PREVENT"` fails the destroy plan (plan_destroy), drift jobs' refresh-only
//! plans exit 0 on unchanged services (that one on the pinned 1.0.3 too), and a smoke of the
//! whole lifecycle (the full suite on 1.11.4 does not fit CI: README, "Terraform versions
//! tested"). Each test skips its Terraform >= 1.8 part, saying so on stderr, only when there is no
//! such Terraform on PATH (see `stack::modern_terraform`).
use csmrun_acctest::consistency::services_in_state;
use csmrun_acctest::hcl::{image, ServiceHcl};
use csmrun_acctest::requests;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::{modern_terraform, Stack};
use csmrun_acctest::terraform::{Output, Terraform};

const GUARDED: &str = "projects/acc-project/locations/asia-northeast1/services/guarded";

fn modern_stack(test: &str) -> Option<Stack> {
    let tf = modern_terraform(test)?;
    Some(Stack::with_terraform(&SeedBuilder::new().build(), tf))
}

fn guarded() -> ServiceHcl {
    ServiceHcl::new("guarded", "guarded").string("deletion_policy", "PREVENT")
}

/// The plan-time refusal: exit 1, the refusal text naming the service and the way out, exactly one
/// error (the ABANDON and DELETE services beside it plan their destroys without complaint).
fn assert_refused_at_plan(out: &Output, what: &str) {
    let text = out.combined();
    assert_eq!(out.code, Some(1), "{what} must fail:\n{text}");
    assert!(
        text.contains("Deletion of Cloud Run service guarded prevented") && text.contains(GUARDED),
        "{what}: names the service:\n{text}"
    );
    assert!(
        text.contains("deletion_policy = \"DELETE\"") && text.contains("ABANDON"),
        "{what}: says how to allow it:\n{text}"
    );
    assert_eq!(
        text.matches("Error: ").count(),
        1,
        "{what}: only the PREVENT service is refused:\n{text}"
    );
}

/// Sets the guarded service to DELETE and destroys everything, leaving the emulator as it was.
fn release_and_destroy(stack: &Stack, others: &str) {
    stack.config(&format!(
        "{}{others}",
        guarded().string("deletion_policy", "DELETE").render()
    ));
    stack.apply_ok();
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn a_prevent_service_fails_the_destroy_plan() {
    let Some(stack) = modern_stack("a_prevent_service_fails_the_destroy_plan") else {
        return;
    };
    let others = |kept_policy: &str| {
        format!(
            "{}{}",
            ServiceHcl::new("kept", "kept")
                .string("deletion_policy", kept_policy)
                .render(),
            ServiceHcl::new("plain", "plain").render()
        )
    };
    stack.config(&format!("{}{}", guarded().render(), others("ABANDON")));
    stack.apply_ok();
    stack.assert_consistent();
    stack
        .emu
        .clear_requests()
        .expect("clearing the request log");

    assert_refused_at_plan(&stack.tf(&["plan", "-destroy"]), "plan -destroy");
    let out = stack.tf(&["destroy", "-auto-approve"]);
    assert_refused_at_plan(&out, "destroy");
    assert!(
        !out.combined().contains("Destroying..."),
        "the refusal comes before anything is applied:\n{}",
        out.combined()
    );
    assert_eq!(
        requests::writes(&stack.requests()),
        Vec::<String>::new(),
        "nothing may be written"
    );
    assert_eq!(services_in_state(&stack.show()).len(), 3);
    stack.assert_consistent();

    // A replacement deletes first: PREVENT refuses its plan too (the ordinary plan, so on any version).
    stack.config(&format!(
        "{}{}",
        guarded().string("name", "guarded-2").render(),
        others("ABANDON")
    ));
    let out = stack.plan();
    let text = out.combined();
    assert_eq!(out.code, Some(1), "a replacing plan must fail:\n{text}");
    assert!(
        text.contains("Replacement of Cloud Run service guarded prevented")
            && text.contains("`name`")
            && text.contains(GUARDED),
        "names the service and the attribute that forces it:\n{text}"
    );
    assert_eq!(requests::writes(&stack.requests()), Vec::<String>::new());
    stack.config(&format!("{}{}", guarded().render(), others("ABANDON")));

    // ABANDON and DELETE plan their destroys as before.
    let out = stack.tf(&[
        "plan",
        "-destroy",
        "-detailed-exitcode",
        "-target=csmrun_service.kept",
        "-target=csmrun_service.plain",
    ]);
    assert_eq!(out.code, Some(2), "{}", out.combined());
    for address in ["csmrun_service.kept", "csmrun_service.plain"] {
        assert!(
            out.stdout
                .contains(&format!("# {address} will be destroyed")),
            "{address}:\n{}",
            out.combined()
        );
    }

    release_and_destroy(&stack, &others("DELETE"));
}

#[test]
fn a_removed_prevent_service_fails_the_plan() {
    let Some(stack) = modern_stack("a_removed_prevent_service_fails_the_plan") else {
        return;
    };
    let plain = ServiceHcl::new("plain", "plain").render();
    stack.config(&format!("{}{plain}", guarded().render()));
    stack.apply_ok();
    stack.assert_consistent();
    stack
        .emu
        .clear_requests()
        .expect("clearing the request log");

    // Both removed from the configuration: the plan (and so the apply) fails on the PREVENT one.
    stack.config("");
    assert_refused_at_plan(&stack.tf(&["plan"]), "plan without the service");
    assert_refused_at_plan(&stack.apply(), "apply without the service");
    assert_eq!(
        requests::writes(&stack.requests()),
        Vec::<String>::new(),
        "nothing may be written"
    );
    assert_eq!(services_in_state(&stack.show()).len(), 2);

    // Only the DELETE service removed: its destroy plans as before.
    stack.config(&guarded().render());
    let out = stack.plan();
    assert_eq!(out.code, Some(2), "{}", out.combined());
    assert!(
        out.stdout
            .contains("# csmrun_service.plain will be destroyed"),
        "{}",
        out.combined()
    );
    stack.assert_consistent();

    release_and_destroy(&stack, &plain);
}

/// `terraform plan -refresh-only -detailed-exitcode`, as drift jobs run it, must exit 0.
fn assert_no_drift(stack: &Stack, when: &str) {
    let out = stack.tf(&["plan", "-refresh-only", "-detailed-exitcode"]);
    assert_eq!(
        out.code,
        Some(0),
        "{when}: a refresh-only plan of unchanged services must exit 0:\n{}",
        out.combined()
    );
    assert!(out.stdout.contains("No changes"), "{when}:\n{}", out.stdout);
}

/// Create, import and update, each followed by a refresh-only plan that must find nothing.
/// `terraform_data` (Terraform >= 1.4) stands beside the service where there is one: it never
/// made the plan exit 2, so it shows the service is judged like Terraform's own resources.
fn refresh_only_plans_stay_empty(stack: Stack, with_terraform_data: bool) {
    let data = if with_terraform_data {
        "resource \"terraform_data\" \"beside\" {\n  input = 1\n}\n"
    } else {
        ""
    };
    let svc = ServiceHcl::new("svc", "steady").attr("max_instances", "3");
    stack.config(&format!("{}{data}", svc.render()));
    stack.apply_ok();
    assert_no_drift(&stack, "after create");

    stack
        .tf(&["state", "rm", "csmrun_service.svc"])
        .assert_success("state rm");
    stack
        .tf(&["import", "csmrun_service.svc", "steady"])
        .assert_success("import");
    stack.apply_ok();
    assert_no_drift(&stack, "after import");

    let svc = svc.string("image", &image("steady", "1.0.1"));
    stack.config(&format!("{}{data}", svc.render()));
    stack.apply_ok();
    assert_no_drift(&stack, "after an update");
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
}

#[test]
fn a_refresh_only_plan_of_unchanged_services_exits_0() {
    let pinned = Terraform::find().expect("the pinned Terraform (TF_ACC_TERRAFORM_PATH)");
    let modern = modern_terraform(
        "a_refresh_only_plan_of_unchanged_services_exits_0 (Terraform >= 1.8 half)",
    );
    // The two versions run side by side, each with its own emulator and work dir.
    std::thread::scope(|s| {
        let runs: Vec<_> = [(pinned, false)]
            .into_iter()
            .chain(modern.map(|tf| (tf, true)))
            .map(|(tf, with_terraform_data)| {
                s.spawn(move || {
                    let stack = Stack::with_terraform(&SeedBuilder::new().build(), tf);
                    refresh_only_plans_stay_empty(stack, with_terraform_data)
                })
            })
            .collect();
        for run in runs {
            if let Err(panic) = run.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// The smoke CI runs beside the 1.0.3 suite: the whole lifecycle of one service on Terraform >= 1.8.
#[test]
fn a_service_is_created_planned_empty_and_destroyed_by_modern_terraform() {
    let Some(stack) =
        modern_stack("a_service_is_created_planned_empty_and_destroyed_by_modern_terraform")
    else {
        return;
    };
    stack.config(&ServiceHcl::new("svc", "smoke").render());
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("after create");
    stack.destroy_ok();
    assert!(services_in_state(&stack.show()).is_empty());
    stack.assert_consistent();
}
