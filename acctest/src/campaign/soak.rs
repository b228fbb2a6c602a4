//! The fault soak: random configurations applied and destroyed under random fault profiles, every run
//! checked for a clear outcome, rollback, shared parts and state equality; then a clean final apply and
//! destroy that must leave the emulator as it started.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use std::path::Path;
use std::time::{Duration, Instant};

use super::configs::random_services;
use super::crash::{alive, PROVIDER_BINARY};
use super::faults::random_profile;
use super::invariants::{bindings, orphans, shared_part_losses, state_vs_reality};
use super::tally::Tally;
use crate::process::{descendants_named, kill9};
use crate::seed::{sa, SeedBuilder};
use crate::stack::Stack;
use crate::terraform::{Output, Running};

/// Soak parameters.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Applies and destroys under faults (the final clean apply and destroy come on top).
    pub runs: usize,
    /// Seed of the configuration and fault draws.
    pub seed: u64,
    /// Print one line per run to stderr.
    pub verbose: bool,
    /// Services share accounts and domains (see [`random_services`]).
    pub share: bool,
}

/// The soak's world: the acceptance seed plus a pre-existing grant for the `shared` account, which no run
/// may remove.
pub fn seed() -> Value {
    SeedBuilder::new()
        .binding(
            "roles/trafficdirector.client",
            &format!("serviceAccount:{}", sa("shared")),
        )
        .build()
}

/// Words in Terraform's output that mean the provider crashed or broke the protocol, not a clear error.
const UNCLEAR: &[&str] = &[
    "panicked",
    "plugin crashed",
    "Plugin did not respond",
    "rpc error",
    "unexpected EOF",
];

/// Why a failed run's output is not a clear error, if it is not.
pub fn unclear(out: &Output) -> Option<String> {
    let text = out.combined();
    if let Some(w) = UNCLEAR.iter().find(|w| text.contains(*w)) {
        return Some(format!("output contains {w:?}"));
    }
    if !text.contains("Error: ") {
        return Some("failed without an `Error:` diagnostic".into());
    }
    None
}

/// Runs the soak on `stack` (seeded with [`seed`]).
pub fn run(stack: &Stack, opts: Options) -> Tally {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut tally = Tally::default();
    let before: BTreeSet<_> = bindings(&stack.state());
    let mut last_config = String::new();
    for i in 0..opts.runs {
        let destroy = i > 0 && rng.random_bool(0.25);
        let profile = random_profile(&mut rng);
        let label = if destroy {
            format!("run {i} (destroy)")
        } else {
            let (text, names) = random_services(&mut rng, opts.share);
            stack.config(&text);
            last_config = text;
            format!("run {i} (apply {})", names.join(","))
        };
        tally.operation_failures += profile.operation_failures;
        tally.latency_rules += profile.latency_rules;
        stack.emu.clear_faults().expect("clearing faults");
        stack
            .emu
            .clear_requests()
            .expect("clearing the request log");
        if !profile.rules.is_empty() {
            stack
                .emu
                .add_faults(&profile.body(opts.seed ^ i as u64))
                .expect("arming faults");
        }
        let out = if destroy {
            tally.destroys += 1;
            guarded(stack, &["destroy", "-auto-approve"])
        } else {
            tally.applies += 1;
            guarded(stack, &["apply", "-auto-approve"])
        };
        let out = match out {
            Ok(out) => out,
            Err(hung) => {
                tally
                    .unclear_failures
                    .push(format!("{label}: hung:\n{}", hung.combined()));
                hung
            }
        };
        stack.emu.clear_faults().expect("clearing faults");
        tally.injected_errors += injected_errors(&stack.requests());
        check_run(stack, &label, &out, &before, &mut tally, opts.verbose);
    }
    finish(stack, &last_config, &before, &mut tally);
    tally
}

/// Requests answered 429, 500 or 503: in a campaign run, the faults it injected.
pub fn injected_errors(log: &[Value]) -> usize {
    log.iter()
        .filter(|e| matches!(e["status"].as_u64(), Some(429 | 500 | 503)))
        .count()
}

/// After a run: a failure must be clear and leave no orphan; a success must leave state equal to reality;
/// either way no shared part may be lost.
pub fn check_run(
    stack: &Stack,
    label: &str,
    out: &Output,
    before: &BTreeSet<(String, String)>,
    tally: &mut Tally,
    verbose: bool,
) {
    let known = tally.violations();
    let show = stack.show();
    let state = stack.state();
    if out.success() {
        tally.succeeded += 1;
        Tally::note(
            &mut tally.disagreements,
            label,
            state_vs_reality(&show, &state, &stack.baseline),
        );
    } else {
        match unclear(out) {
            None => tally.failed_clearly += 1,
            Some(why) => tally
                .unclear_failures
                .push(format!("{label}: {why}:\n{}", out.combined())),
        }
        Tally::note(
            &mut tally.orphans,
            label,
            orphans(&show, &state, &stack.baseline),
        );
    }
    Tally::note(
        &mut tally.shared_losses,
        label,
        shared_part_losses(&state, before),
    );
    let new: Vec<String> = tally
        .violations()
        .into_iter()
        .filter(|v| !known.contains(v))
        .collect();
    if !new.is_empty() {
        dump(stack, label, out, &new);
    }
    if verbose {
        for v in &new {
            eprintln!("  violation: {}", v.lines().next().unwrap_or(""));
        }
        let outcome = if out.success() {
            "ok".to_string()
        } else {
            first_error(out)
        };
        eprintln!(
            "{label}: {outcome}; violations so far {}",
            tally.violations().len()
        );
    }
}

/// With `CSMRUN_CAMPAIGN_DUMP=DIR`, writes what a run that broke an invariant did, for its analysis: the
/// configuration, Terraform's output, the emulator's request log of the run, the violations and the state after.
fn dump(stack: &Stack, label: &str, out: &Output, violations: &[String]) {
    let Some(dir) = std::env::var_os("CSMRUN_CAMPAIGN_DUMP").filter(|d| !d.is_empty()) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir).join(label.replace([' ', '(', ')', ','], "_"));
    let requests: String = stack.requests().iter().map(|r| format!("{r}\n")).collect();
    let files = [
        (
            "main.tf",
            std::fs::read_to_string(stack.wd.path().join("main.tf")).unwrap_or_default(),
        ),
        ("terraform.out", out.combined()),
        ("requests.jsonl", requests),
        ("violations.txt", violations.join("\n")),
        ("emulator-state.json", stack.state().to_string()),
    ];
    let written = std::fs::create_dir_all(&dir).and_then(|_| {
        files
            .iter()
            .try_for_each(|(name, text)| std::fs::write(dir.join(name), text))
    });
    if let Err(e) = written {
        eprintln!("could not write the dump to {}: {e}", dir.display());
    }
}

/// The first `Error:` line of a failed run.
pub fn first_error(out: &Output) -> String {
    let text = out.combined();
    text.lines()
        .find(|l| l.contains("Error: "))
        .map_or_else(|| format!("exit {:?}", out.code), |l| l.trim().to_string())
}

/// Without faults, the last configuration must apply, plan empty, and destroy back to the starting world.
fn finish(
    stack: &Stack,
    last_config: &str,
    before: &BTreeSet<(String, String)>,
    tally: &mut Tally,
) {
    if !last_config.is_empty() {
        stack.config(last_config);
        let out = guarded(stack, &["apply", "-auto-approve"]).unwrap_or_else(|hung| hung);
        tally.applies += 1;
        check_run(stack, "final apply (no faults)", &out, before, tally, false);
        if !out.success() {
            tally.disagreements.push(format!(
                "final apply without faults failed:\n{}",
                out.combined()
            ));
        }
        let plan = stack.plan();
        if plan.code != Some(0) {
            tally.disagreements.push(format!(
                "the plan after the final apply is not empty:\n{}",
                plan.combined()
            ));
        }
    }
    let out = guarded(stack, &["destroy", "-auto-approve"]).unwrap_or_else(|hung| hung);
    tally.destroys += 1;
    check_run(
        stack,
        "final destroy (no faults)",
        &out,
        before,
        tally,
        false,
    );
    if !out.success() {
        tally.disagreements.push(format!(
            "final destroy without faults failed:\n{}",
            out.combined()
        ));
    }
}

/// How long a soak run may take: twice the configurations' 2-minute timeouts plus slack.
pub const HANG: Duration = Duration::from_secs(300);

/// `terraform ARGS` that is killed (with its provider) when it outlives [`HANG`]; `Err` carries the output of
/// a run that hung. The state lock a killed run leaves is removed so the soak can go on.
pub fn guarded(stack: &Stack, args: &[&str]) -> Result<Output, Output> {
    guard(stack.spawn(args), stack.wd.path())
}

/// Waits for `running`, a terraform in `dir`, as [`guarded`] does.
pub fn guard(running: Running, dir: &Path) -> Result<Output, Output> {
    let pid = running.pid();
    let start = Instant::now();
    let mut hung = false;
    while alive(pid) {
        if start.elapsed() > HANG {
            for p in descendants_named(pid, PROVIDER_BINARY) {
                let _ = kill9(p);
            }
            let _ = kill9(pid);
            hung = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = running
        .wait(Duration::from_secs(60))
        .expect("terraform after the guard");
    if hung {
        let _ = std::fs::remove_file(dir.join(".terraform.tfstate.lock.info"));
        return Err(out);
    }
    Ok(out)
}
