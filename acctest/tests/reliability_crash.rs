//! Crash at every step: the provider is SIGKILLed at each write call of a create, an update and a delete
//! (while the call is held, and right after it succeeded); the next run must converge with nothing
//! orphaned and Terraform's state equal to the emulator's. Every write of the delete counts, the project grant
//! release included (a destroy killed after its Cloud Run service delete used to leave the grant, RELIABILITY.md
//! defect 8); `csmrun-campaign --crash` runs the same sweep as a long run.

use csmrun_acctest::campaign::crash::Moment;
use csmrun_acctest::campaign::soak;
use csmrun_acctest::campaign::sweep::{learn_steps, sweep, Phase};
use csmrun_acctest::stack::Stack;

const BOTH: &[Moment] = &[Moment::InFlight, Moment::Applied];

fn crash_everywhere(phase: Phase, min_steps: usize, moments: &[Moment]) {
    let stack = Stack::new(&soak::seed());
    let steps = learn_steps(&stack, phase);
    assert!(
        steps.len() >= min_steps,
        "{phase:?} made only these writes: {steps:?}"
    );
    let tally = sweep(&stack, phase, &steps, moments, true);
    eprintln!("{phase:?} steps {steps:?}\n{tally}");
    assert!(tally.violations().is_empty(), "{tally}");
    assert!(
        tally.crashes >= steps.len(),
        "most crash points must be reached:\n{tally}"
    );
}

#[test]
fn crash_at_every_create_step_then_apply_converges_without_orphans() {
    crash_everywhere(Phase::Create, 6, BOTH);
}

#[test]
fn crash_at_every_update_step_then_apply_converges_without_orphans() {
    crash_everywhere(Phase::Update, 2, BOTH);
}

#[test]
fn crash_at_every_delete_step_then_destroy_finishes_without_orphans() {
    crash_everywhere(Phase::Delete, 7, BOTH);
}
