//! Diagnostics of a failed create, update or delete: the step's [`Explanation`](super::explain::Explanation) with
//! what the failure left (the `Left:` line), written here once for every part; one diagnostic per failed undo.

use tfplug::{Diagnostic, Diagnostics};

use super::steps::StepError;

/// A step's error as a diagnostic.
pub fn step_diag(e: &StepError) -> Diagnostic {
    Diagnostic::error(e.summary(), e.detail())
}

/// A step's error, saying what it left.
fn left(e: &StepError, left: String) -> Diagnostic {
    step_diag(&e.clone().with_left(left))
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
            format!("Rollback of {what} failed: {}", e.summary()),
            e.detail(),
        ));
    }
    diags
}

/// "serverless NEG, backend service and DNS zone".
fn listed(parts: &[&str]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A create that failed and was undone. `undone`: the parts it had made (or changed) and removed again.
pub fn create_rolled_back(failed: &str, error: &StepError, undone: &[&str]) -> Diagnostic {
    let what = if undone.is_empty() {
        format!("nothing: the {failed} step failed before this apply created anything; nothing was saved to state")
    } else {
        format!(
            "nothing: the {failed} step failed, and what this apply had made ({}) was removed again (rolled \
             back); nothing was saved to state",
            listed(undone)
        )
    };
    left(error, what)
}

pub fn create_incomplete(
    failed: &str,
    error: &StepError,
    undo_errors: &[(&'static str, StepError)],
    remaining: &[&str],
) -> Diagnostics {
    let first = left(
        error,
        format!(
            "{} (the {failed} step failed and the rollback could not remove them). They are saved in state \
             (tainted) so the next apply or destroy finishes the job",
            listed(remaining)
        ),
    );
    with_undo_errors(first, undo_errors.iter().map(|(n, e)| (n.to_string(), e)))
}

pub fn update_cleanup_failed(error: &StepError) -> Diagnostic {
    left(
        error,
        "the part the update replaced (the update itself took effect); it is recorded in state and removed by the \
         next apply or destroy"
            .to_string(),
    )
}

pub fn update_rolled_back(error: &StepError) -> Diagnostic {
    left(
        error,
        "the service as it was before this update: what the update had made was removed again (rolled back), \
         and the state shows what exists now"
            .to_string(),
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
        listed(remaining)
    };
    let first = left(
        error,
        format!(
            "{present}, made by this update, which the rollback could not remove; they are recorded in state and \
             removed by the next apply or destroy"
        ),
    );
    with_undo_errors(
        first,
        undo_errors.iter().map(|e| ("the update".to_string(), e)),
    )
}

/// A destroy refused before it deleted anything: a part the state names is not this service's.
pub fn delete_refused(error: &StepError) -> Diagnostic {
    left(
        error,
        "everything: the destroy reads every part before it deletes any, and deleted nothing; the resource stays \
         in state"
            .to_string(),
    )
}

/// An update refused before it changed anything: a part the prior state names is not this service's, or a part
/// it renames would take someone else's.
pub fn update_refused(error: &StepError) -> Diagnostic {
    left(
        error,
        "the service as it was: the update reads every part before it changes any, and changed nothing; the state \
         is as before"
            .to_string(),
    )
}

/// A destroy that failed: what is still there is still in state.
pub fn delete_failed(error: &StepError) -> Diagnostic {
    left(
        error,
        "the service's parts this destroy had not yet removed; the resource stays in state, so the next destroy \
         finishes the job"
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::explain::Explanation;

    fn refused() -> StepError {
        StepError::refused(
            Explanation::new("subnetwork s", "no Private Google Access").fix("enable it"),
        )
    }

    #[test]
    fn a_create_refused_before_anything_was_made_says_so_once() {
        let d = create_rolled_back("pre-flight checks", &refused(), &[]);
        assert_eq!(d.summary, "Subnetwork s: no Private Google Access");
        assert!(d.detail.ends_with(
            "Left: nothing: the pre-flight checks step failed before this apply created anything; nothing was \
             saved to state."
        ), "{}", d.detail);
        assert!(!d.detail.contains("rolled back"), "{}", d.detail);
    }

    #[test]
    fn a_create_rolled_back_lists_what_it_removed_again() {
        let d = create_rolled_back(
            "backend service",
            &refused(),
            &["serverless NEG", "project IAM"],
        );
        assert!(
            d.detail
                .contains("(serverless NEG and project IAM) was removed again (rolled back)"),
            "{}",
            d.detail
        );
        assert_eq!(d.detail.matches("Left:").count(), 1);
    }
}
