//! What a campaign run did and found, printed as the figures `RELIABILITY.md` records.

use std::fmt;

use super::contention::Contention;

/// Counters and findings of a campaign run.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Terraform applies and destroys run (including the final clean-up).
    pub applies: usize,
    pub destroys: usize,
    /// Runs that exited 0.
    pub succeeded: usize,
    /// Runs that failed with a Terraform `Error:` diagnostic and no crash or hang.
    pub failed_clearly: usize,
    /// Requests answered with an injected 429/500/503.
    pub injected_errors: usize,
    /// One-shot operation failures, and latency rules, armed.
    pub operation_failures: usize,
    pub latency_rules: usize,
    /// Armed operation failures that fired (the concurrent campaign reads it back; the soak does not).
    pub operation_failures_hit: usize,
    /// Provider processes killed.
    pub crashes: usize,
    /// Crash points the run finished before reaching.
    pub crashes_not_reached: usize,
    /// Violations, each with the run that showed it.
    pub unclear_failures: Vec<String>,
    pub orphans: Vec<String>,
    pub shared_losses: Vec<String>,
    pub disagreements: Vec<String>,
    /// How concurrent writers contended for the shared objects (the concurrent campaign only).
    pub contention: Option<Contention>,
}

impl Tally {
    pub fn runs(&self) -> usize {
        self.applies + self.destroys
    }

    /// Every violation found.
    pub fn violations(&self) -> Vec<String> {
        [
            &self.unclear_failures,
            &self.orphans,
            &self.shared_losses,
            &self.disagreements,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }

    /// Records `problems`, each prefixed with `run`; one already recorded by an earlier run is not counted
    /// again (a leftover stays visible to every later check).
    pub fn note(list: &mut Vec<String>, run: &str, problems: Vec<String>) {
        for p in problems {
            if !list
                .iter()
                .any(|seen| seen.split_once(": ").is_some_and(|(_, old)| old == p))
            {
                list.push(format!("{run}: {p}"));
            }
        }
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "runs                      {} ({} applies, {} destroys)",
            self.runs(),
            self.applies,
            self.destroys
        )?;
        writeln!(f, "succeeded                 {}", self.succeeded)?;
        writeln!(f, "failed with a clear error {}", self.failed_clearly)?;
        writeln!(f, "injected 429/500/503      {}", self.injected_errors)?;
        writeln!(f, "operation failures armed  {}", self.operation_failures)?;
        if self.operation_failures_hit > 0 {
            writeln!(
                f,
                "  of which fired          {}",
                self.operation_failures_hit
            )?;
        }
        writeln!(f, "latency rules armed       {}", self.latency_rules)?;
        writeln!(
            f,
            "provider crashes (kill)   {} (+{} points not reached)",
            self.crashes, self.crashes_not_reached
        )?;
        writeln!(
            f,
            "unclear failures          {}",
            self.unclear_failures.len()
        )?;
        writeln!(f, "orphans                   {}", self.orphans.len())?;
        writeln!(f, "shared-part losses        {}", self.shared_losses.len())?;
        writeln!(f, "state != reality          {}", self.disagreements.len())?;
        if let Some(c) = &self.contention {
            write!(f, "{c}")?;
        }
        for v in self.violations() {
            writeln!(f, "  - {v}")?;
        }
        Ok(())
    }
}
