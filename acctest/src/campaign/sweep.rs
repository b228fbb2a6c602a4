//! Crash at every step: learn the write calls of a create, an update and a delete from the request log, then
//! for each call kill the provider there and check that the next run converges with nothing orphaned.

use std::collections::BTreeSet;

use super::crash::{crash_at, Crash, Moment};
use super::invariants::bindings;
use super::methods::write_steps;
use super::soak::{check_run, first_error};
use super::tally::Tally;

use crate::hcl::{image, ServiceHcl};
use crate::seed::sa;
use crate::stack::Stack;

/// Which operation is crashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Create,
    Update,
    Delete,
}

/// The configuration before the update: every part, both shared grants, invokers and a route block. The
/// NEG name is explicit (it is optional + computed, so leaving it out would keep the updated name).
pub fn before_update() -> String {
    ServiceHcl::new("crash", "crash")
        .string("neg_name", "crash-neg")
        .attr("trace", "true")
        .attr(
            "invokers",
            &format!("[\"serviceAccount:{}\"]", sa("caller")),
        )
        .block("route {\n  timeout = \"10s\"\n}")
        .render()
}

/// The update: new image, env, invokers, route settings, and a renamed NEG (build, swap, delete the old).
pub fn after_update() -> String {
    ServiceHcl::new("crash", "crash")
        .string("image", &image("crash", "2.0.0"))
        .attr("trace", "true")
        .attr("env", "{ LOG_LEVEL = \"debug\" }")
        .attr("invokers", &format!("[\"serviceAccount:{}\"]", sa("other")))
        .string("neg_name", "crash-neg-2")
        .block("route {\n  timeout = \"20s\"\n}")
        .render()
}

/// The write calls (discovery method ids) of `phase`, learned from one clean run; leaves the stack with the
/// configuration before the update applied (Update) or nothing (Create, Delete).
pub fn learn_steps(stack: &Stack, phase: Phase) -> Vec<String> {
    stack
        .emu
        .clear_requests()
        .expect("clearing the request log");
    stack.config(&before_update());
    stack.apply_ok();
    let create = write_steps(&stack.requests());
    stack
        .emu
        .clear_requests()
        .expect("clearing the request log");
    match phase {
        Phase::Create => {
            stack.destroy_ok();
            create
        }
        Phase::Update => {
            stack.config(&after_update());
            stack.apply_ok();
            let steps = write_steps(&stack.requests());
            stack.config(&before_update());
            stack.apply_ok();
            steps
        }
        Phase::Delete => {
            stack.destroy_ok();
            write_steps(&stack.requests())
        }
    }
}

/// Crashes `phase` at every step in `steps`, at each of `moments`, and checks recovery.
pub fn sweep(
    stack: &Stack,
    phase: Phase,
    steps: &[String],
    moments: &[Moment],
    verbose: bool,
) -> Tally {
    let mut tally = Tally::default();
    let before: BTreeSet<_> = bindings(&stack.state());
    for step in steps {
        for &moment in moments {
            let label = format!("{phase:?} crashed {} {step}", moment.name());
            let (args, config): (&[&str], String) = match phase {
                Phase::Create => (&["apply", "-auto-approve"], before_update()),
                Phase::Update => (&["apply", "-auto-approve"], after_update()),
                Phase::Delete => {
                    stack.config(&before_update());
                    let out = stack.apply();
                    tally.applies += 1;
                    check_run(
                        stack,
                        &format!("{label}: setup apply"),
                        &out,
                        &before,
                        &mut tally,
                        verbose,
                    );
                    (&["destroy", "-auto-approve"], before_update())
                }
            };
            stack.config(&config);
            match crash_at(stack, args, step, moment).expect("crash run") {
                Crash::Killed(_) => tally.crashes += 1,
                Crash::NotReached(out) => {
                    tally.crashes_not_reached += 1;
                    if verbose {
                        eprintln!("{label}: not reached ({})", first_error(&out));
                    }
                }
            }
            count(&mut tally, phase);
            // The crashed run's own state is whatever Terraform managed to save; the next run must finish.
            let out = match phase {
                Phase::Delete => stack.tf(&["destroy", "-auto-approve"]),
                _ => stack.apply(),
            };
            count(&mut tally, phase);
            recover(stack, &label, &out, &before, &mut tally, verbose);
            if phase != Phase::Delete {
                let plan = stack.plan();
                if plan.code != Some(0) {
                    tally.disagreements.push(format!(
                        "{label}: no empty plan after recovery:\n{}",
                        plan.combined()
                    ));
                }
            }
            let (back, args): (String, &[&str]) = match phase {
                Phase::Create => (before_update(), &["destroy", "-auto-approve"]),
                Phase::Update => (before_update(), &["apply", "-auto-approve"]),
                Phase::Delete => continue,
            };
            stack.config(&back);
            let out = stack.tf(args);
            if args[0] == "destroy" {
                tally.destroys += 1;
            } else {
                tally.applies += 1;
            }
            recover(
                stack,
                &format!("{label}: reset"),
                &out,
                &before,
                &mut tally,
                verbose,
            );
        }
    }
    tally
}

fn count(tally: &mut Tally, phase: Phase) {
    match phase {
        Phase::Delete => tally.destroys += 1,
        _ => tally.applies += 1,
    }
}

/// A run after a crash has no faults: it must succeed, and leave state equal to reality.
fn recover(
    stack: &Stack,
    label: &str,
    out: &crate::terraform::Output,
    before: &BTreeSet<(String, String)>,
    tally: &mut Tally,
    verbose: bool,
) {
    if !out.success() {
        tally.disagreements.push(format!(
            "{label}: the run after the crash failed:\n{}",
            out.combined()
        ));
    }
    check_run(stack, label, out, before, tally, verbose);
}
