//! Diagnostics of a failed create or update: what failed, what was rolled back, what remains and where it is kept.

use tfplug::{Diagnostic, Diagnostics};

use super::steps::StepError;

/// A step's error as a diagnostic.
pub fn step_diag(e: &StepError) -> Diagnostic {
    Diagnostic::error(e.summary.clone(), e.detail.clone())
}

/// A step's error with a paragraph about what happened next.
fn with_note(e: &StepError, note: &str) -> Diagnostic {
    let mut d = step_diag(e);
    d.detail = format!("{}\n\n{note}", d.detail);
    d
}

/// The first error, then one diagnostic per failed undo.
fn with_undo_errors<'a>(
    first: Diagnostic,
    undo_errors: impl IntoIterator<Item = (String, &'a StepError)>,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    diags.push(first);
    for (what, e) in undo_errors {
        diags.push(Diagnostic::error(
            format!("Rollback of {what} failed"),
            format!("{}: {}", e.summary, e.detail),
        ));
    }
    diags
}

pub fn create_rolled_back(failed: &str, error: &StepError) -> Diagnostic {
    with_note(
        error,
        &format!(
            "Failed part: {failed}. Everything this apply had created was removed again (rolled back); nothing \
             was saved to state."
        ),
    )
}

pub fn create_incomplete(
    failed: &str,
    error: &StepError,
    undo_errors: &[(&'static str, StepError)],
    remaining: &[&str],
) -> Diagnostics {
    let first = with_note(
        error,
        &format!(
            "Failed part: {failed}. The rollback could not remove everything; still present: {}. They are saved \
             in state (tainted) so the next apply or destroy finishes the job.",
            remaining.join(", ")
        ),
    );
    with_undo_errors(first, undo_errors.iter().map(|(n, e)| (n.to_string(), e)))
}

pub fn update_cleanup_failed(error: &StepError) -> Diagnostic {
    with_note(
        error,
        "The update took effect; a part it replaced could not be removed. It is recorded in state and removed by \
         the next apply or destroy.",
    )
}

pub fn update_rolled_back(error: &StepError) -> Diagnostic {
    with_note(
        error,
        "Everything this update had created was removed again (rolled back); the state shows what exists now.",
    )
}

pub fn update_incomplete(
    error: &StepError,
    undo_errors: &[StepError],
    remaining: &[&str],
) -> Diagnostics {
    let present = if remaining.is_empty() {
        "project roles".to_string()
    } else {
        remaining.join(", ")
    };
    let first = with_note(
        error,
        &format!(
            "The rollback could not remove everything this update created; still present: {present}. They are \
             recorded in state and removed by the next apply or destroy."
        ),
    );
    with_undo_errors(
        first,
        undo_errors.iter().map(|e| ("the update".to_string(), e)),
    )
}
