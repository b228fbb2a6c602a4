//! One shape for every failure a create, update, delete or import of a `csmrun_service` reports.
//!
//! A user reading a CI log after a failed apply needs the same facts in the same places whatever the part: the
//! summary names the part and the cause; the detail gives Google's message once, the cause (in mesh terms where
//! the mesh is involved), what csmrun checked and tried (with counts and times), what interrupted it, the fix
//! now, the fix for next time, and what was left in the cloud and in state. Steps fill in what they know
//! ([`Explanation`]); the outcome of the run adds what was left ([`Explanation::left`]); [`Explanation::detail`]
//! renders it, so the labels and their order are written once.

/// The facts of one failure, rendered by [`Explanation::summary`] and [`Explanation::detail`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explanation {
    /// "serverless NEG orders-neg", "Cloud Run service orders": the part as the user knows it; empty for a
    /// failure that is not about one part (an interrupted apply).
    pub part: String,
    /// The cause in a few words: "name taken by another Cloud Run service".
    pub cause: String,
    /// Google's message, shown once.
    pub google: Option<String>,
    /// The cause explained; [`Explanation::likely`] when it is a diagnosis rather than a fact.
    pub why: Option<String>,
    pub likely: bool,
    /// What was looked at, one entry per check with what was found.
    pub checked: Vec<String>,
    /// What csmrun did before it gave up: "deployed 4 times and recreated 3 times over 45 s".
    pub tried: Option<String>,
    /// What cut the retries short, as a sentence ("the resource's timeout ran out while ...").
    pub then: Option<String>,
    pub fix_now: Option<String>,
    pub next_time: Option<String>,
    /// A link to logs Google's message did not already carry.
    pub logs: Option<String>,
    /// What the failure left in the cloud and in state; set by the outcome of the run, not by the step.
    pub left: Option<String>,
}

impl Explanation {
    pub fn new(part: impl Into<String>, cause: impl Into<String>) -> Self {
        Explanation {
            part: part.into(),
            cause: cause.into(),
            ..Explanation::default()
        }
    }

    /// "PART: CAUSE", or the cause alone when no part is named.
    pub fn summary(&self) -> String {
        if self.part.is_empty() {
            capitalised(&self.cause)
        } else {
            format!("{}: {}", capitalised(&self.part), self.cause)
        }
    }

    /// The labelled lines, in the one order every failure uses; lines without content are left out.
    pub fn detail(&self) -> String {
        let mut lines = Vec::new();
        if let Some(g) = &self.google {
            lines.push(format!("Google Cloud said: {g}"));
        }
        if let Some(w) = &self.why {
            let label = if self.likely { "Likely cause" } else { "Cause" };
            lines.push(format!("{label}: {}", sentence(w)));
        }
        if !self.checked.is_empty() {
            lines.push(format!("Checked: {}", sentence(&self.checked.join("; "))));
        }
        if let Some(t) = &self.tried {
            lines.push(format!("Tried: {}", sentence(t)));
        }
        if let Some(t) = &self.then {
            lines.push(format!("Then {}", sentence(t)));
        }
        if let Some(f) = &self.fix_now {
            lines.push(format!("Fix now: {}", sentence(f)));
        }
        if let Some(n) = &self.next_time {
            lines.push(format!("Next time: {}", sentence(n)));
        }
        if let Some(l) = &self.logs {
            lines.push(format!("Logs: {l}"));
        }
        if let Some(l) = &self.left {
            lines.push(format!("Left: {}", sentence(l)));
        }
        lines.join("\n")
    }

    pub fn google(mut self, message: impl Into<String>) -> Self {
        self.google = Some(message.into());
        self
    }

    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.why = Some(why.into());
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix_now = Some(fix.into());
        self
    }

    pub fn next_time(mut self, next: impl Into<String>) -> Self {
        self.next_time = Some(next.into());
        self
    }

    pub fn left(mut self, left: impl Into<String>) -> Self {
        self.left = Some(left.into());
        self
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Ends the text with a full stop unless it already ends a sentence (or a command in backticks, which a stop
/// after it would not change).
fn sentence(s: &str) -> String {
    let s = s.trim_end();
    if s.ends_with(['.', '!', '?', ':']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_part_and_the_cause() {
        let e = Explanation::new(
            "serverless NEG orders-neg",
            "name taken by another Cloud Run service",
        );
        assert_eq!(
            e.summary(),
            "Serverless NEG orders-neg: name taken by another Cloud Run service"
        );
        assert_eq!(Explanation::new("", "cancelled").summary(), "Cancelled");
    }

    #[test]
    fn the_detail_has_every_section_once_in_one_order() {
        let e = Explanation {
            part: "Cloud Run service orders".into(),
            cause: "mesh sidecar failed".into(),
            google: Some("Revision is not ready".into()),
            why: Some("the grant is not effective yet".into()),
            likely: true,
            checked: vec!["subnet s: on".into(), "mesh m: 1 h old".into()],
            tried: Some("deployed 4 times over 45 s".into()),
            then: Some("the resource's timeout ran out".into()),
            fix_now: Some("apply again.".into()),
            next_time: Some("grant the role beforehand".into()),
            logs: Some("https://console.cloud.google.com/logs".into()),
            left: Some("nothing; nothing was saved to state".into()),
        };
        let text = e.detail();
        let labels = [
            "Google Cloud said: ",
            "Likely cause: ",
            "Checked: ",
            "Tried: ",
            "Then ",
            "Fix now: ",
            "Next time: ",
            "Logs: ",
            "Left: ",
        ];
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), labels.len(), "{text}");
        for (line, label) in lines.iter().zip(labels) {
            assert!(
                line.starts_with(label),
                "{line:?} should start with {label:?}"
            );
        }
        assert!(
            text.contains("Fix now: apply again.\n"),
            "no doubled stop: {text}"
        );
        assert!(
            text.contains("Checked: subnet s: on; mesh m: 1 h old.\n"),
            "{text}"
        );
    }

    #[test]
    fn sections_without_content_are_left_out() {
        let e = Explanation::new("VPC network n", "not found").fix("fix `network`");
        assert_eq!(e.detail(), "Fix now: fix `network`.");
    }
}
