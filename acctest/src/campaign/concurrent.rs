//! Concurrent writers: W Terraform working directories over one emulator, each with its own service, all running
//! as one service account on one domain, coordinated only by Google's own compare-and-swap (IAM etags, Cloud DNS
//! changes): no lock of ours. Every round each writer applies (a create, or an update to a new image version) or
//! destroys, as a schedule says ([`schedule`] draws a reproducible one), starting a little after the others, with
//! injected 429/503, latency and operation failures when asked; a watcher polls the emulator for a shared part lost under a user
//! meanwhile. After each round: every failed run failed clearly, nothing is orphaned, no shared part is lost, and
//! when every run succeeded Terraform's state (all directories together) equals the emulator's. A final destroy of
//! every directory at once, without faults, must leave the emulator as it started. The request log, split per
//! writer by user agent, gives the contention figures ([`super::contention`]).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::contention::{Contention, WRITER_AGENT};
use super::env::provider_dir;
use super::faults::OPERATION_STARTS;
use super::invariants::{bindings, orphans, shared_part_losses, state_vs_reality};
use super::soak::{first_error, guard, injected_errors, unclear};
use super::tally::Tally;
use crate::hcl::{image, ServiceHcl};
use crate::seed::sa;
use crate::stack::Stack;
use crate::terraform::{Output, Terraform, WorkDir};

/// The account every writer's service runs as (no grant before the campaign).
pub const SHARED_ACCOUNT: &str = "app-c";

/// What a writer does in one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Creates the writer's service, or updates it to a new image version (a new revision).
    Apply,
    Destroy,
}

/// One round: each writer's action and how long after the round's start it begins.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    pub actions: Vec<Action>,
    pub delays: Vec<Duration>,
}

impl Round {
    /// `actions` with fixed staggered starts: writer `k` of round `index` begins 150 ms × ((k + index) mod 4) in.
    pub fn fixed(index: usize, actions: &[Action]) -> Round {
        Round {
            actions: actions.to_vec(),
            delays: (0..actions.len())
                .map(|k| Duration::from_millis(150 * ((k + index) % 4) as u64))
                .collect(),
        }
    }
}

/// Latest start of a writer within a round, so Terraform's own start-up (about a second) still overlaps.
pub const MAX_STAGGER: Duration = Duration::from_millis(600);

/// A reproducible mix of `rounds` rounds for `writers` writers from `seed`. Round 0 creates every service at once
/// (every writer joins the account and the domain together); later a writer whose service exists (had every run
/// succeeded) destroys it with probability 0.3, else updates it, and one without creates it again with probability
/// 0.9 (a destroy of nothing is the rest). Starts are drawn from 0 to [`MAX_STAGGER`].
pub fn schedule(seed: u64, writers: usize, rounds: usize) -> Vec<Round> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut present = vec![false; writers];
    (0..rounds)
        .map(|i| {
            let actions: Vec<Action> = present
                .iter_mut()
                .map(|p| {
                    let apply = i == 0
                        || if *p {
                            rng.random_bool(0.7)
                        } else {
                            rng.random_bool(0.9)
                        };
                    *p = apply;
                    if apply {
                        Action::Apply
                    } else {
                        Action::Destroy
                    }
                })
                .collect();
            let delays = (0..writers)
                .map(|_| {
                    Duration::from_millis(rng.random_range(0..=MAX_STAGGER.as_millis() as u64))
                })
                .collect();
            Round { actions, delays }
        })
        .collect()
}

/// Campaign parameters.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Working directories applying at once (each its own service).
    pub writers: usize,
    /// Rate of injected 429 and of injected 503 on every API call, and twice it of 300 ms latency; 0 = none. With
    /// faults every odd round also arms one operation failure (a one-shot failed create, patch, insert or delete
    /// operation, drawn from the seed), so some writer's run fails and rolls back while the others run; a run may
    /// then fail, if it fails clearly.
    pub faults: f64,
    /// Latency added to every call of the APIs of the shared objects (Resource Manager, Cloud DNS), as Google's round
    /// trips have: the emulator answers in microseconds, so without it a read-modify-write window is too short for
    /// writers to meet in it.
    pub latency: Option<Duration>,
    /// Seed of the fault draws (the schedule has its own).
    pub seed: u64,
    /// One line per round and run on stderr.
    pub verbose: bool,
}

/// The mark of a loss the watcher saw while runs were in flight (not in the state after them).
pub const IN_FLIGHT: &str = "while runs were in flight: ";

/// Writer `k`'s name: its service's name and its user agent's tail.
pub fn writer_name(k: usize) -> String {
    format!("writer-{k}")
}

/// Writer `k`'s work dir: its own state, the same emulator, and its own user agent
/// (`TF_APPEND_USER_AGENT=csmrun-campaign/writer-K`), which splits the request log per writer.
pub fn writer_dir(stack: &Stack, k: usize) -> WorkDir {
    let tf = Terraform::find().expect("terraform");
    let mut wd = tf.workdir().expect("work dir");
    wd.dev_override("csmrun/csmrun", &provider_dir().expect("provider dir"))
        .expect("dev_overrides");
    wd.set_env("CSMRUN_EMULATOR_HOST", &stack.emu.host());
    wd.set_env(
        "TF_APPEND_USER_AGENT",
        &format!("{WRITER_AGENT}{}", writer_name(k)),
    );
    wd
}

/// A directory's configuration: one service `name` as the shared account on the shared domain; `version`
/// changes the image so a repeated apply is an update that deploys a new revision.
pub fn config(stack: &Stack, name: &str, version: usize) -> String {
    let svc = ServiceHcl::new(name, name)
        .string("image", &image(name, &format!("1.{version}.0")))
        .string("service_account", &sa(SHARED_ACCOUNT))
        .attr("trace", "true")
        .block("timeouts {\n  create = \"2m\"\n  update = \"2m\"\n  delete = \"2m\"\n}");
    format!("{}\n{}", stack.provider.render(), svc.render())
}

/// What a writer's run does to its service: `create`, `update` or `delete` (none for a destroy of nothing).
pub fn phase(action: Action, present: bool) -> Option<&'static str> {
    match (action, present) {
        (Action::Apply, false) => Some("create"),
        (Action::Apply, true) => Some("update"),
        (Action::Destroy, true) => Some("delete"),
        (Action::Destroy, false) => None,
    }
}

/// The phase whose runs start operations of `method` (`services.patch`: update).
fn phase_of(method: &str) -> &'static str {
    match method.rsplit('.').next() {
        Some("patch") => "update",
        Some("delete") => "delete",
        _ => "create",
    }
}

/// The `/_emulator/faults` rules of round `index` for `opts` (see [`Options::faults`] and [`Options::latency`]);
/// none without either. The operation failure is drawn among the operations of the round's `phases`, so that it
/// can fire.
pub fn fault_rules(opts: &Options, index: usize, phases: &BTreeSet<&str>) -> Vec<Value> {
    let mut rules = Vec::new();
    if let Some(d) = opts.latency {
        let latency = format!("{}ms", d.as_millis());
        for api in ["cloudresourcemanager", "dns"] {
            rules.push(json!({"api": api, "latency": latency}));
        }
    }
    if opts.faults > 0.0 {
        rules.push(json!({"code": 429, "rate": opts.faults}));
        rules.push(json!({"code": 503, "rate": opts.faults}));
        // Last, so that where both match this draw's latency wins over the fixed one.
        rules.push(json!({"latency": "300ms", "rate": (opts.faults * 2.0).min(1.0)}));
        if index % 2 == 1 {
            let mut rng = StdRng::seed_from_u64(opts.seed ^ (index as u64).rotate_left(32));
            let candidates: Vec<(&str, &str)> = OPERATION_STARTS
                .iter()
                .copied()
                .filter(|(_, m)| phases.contains(phase_of(m)))
                .collect();
            let code = [13, 14, 10].choose(&mut rng).copied().unwrap_or(13);
            if let Some((api, method)) = candidates.choose(&mut rng) {
                rules.push(json!({
                    "api": api, "method": method, "times": 1,
                    "operationError": {"code": code, "message": "Injected by the reliability campaign."}
                }));
            }
        }
    }
    rules
}

/// `terraform show -json` of every directory as one document (their resources side by side).
fn merged_show(dirs: &[WorkDir]) -> Value {
    let mut all = Vec::new();
    for wd in dirs {
        let show = wd.show_json().expect("terraform show -json");
        all.extend(
            show["values"]["root_module"]["resources"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    json!({"values": {"root_module": {"resources": all}}})
}

/// One run's outcome: its output, and whether it hung (and was killed).
struct Run {
    out: Output,
    hung: bool,
}

/// Starts every writer's run after its delay and waits for them all (each killed if it hangs).
fn run_round(dirs: &[WorkDir], round: &Round) -> Vec<Run> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = dirs
            .iter()
            .zip(&round.actions)
            .zip(&round.delays)
            .map(|((wd, action), delay)| {
                scope.spawn(move || {
                    std::thread::sleep(*delay);
                    let verb = match action {
                        Action::Apply => "apply",
                        Action::Destroy => "destroy",
                    };
                    let running = wd
                        .spawn(&[verb, "-auto-approve", "-no-color"])
                        .expect("starting terraform");
                    match guard(running, wd.path()) {
                        Ok(out) => Run { out, hung: false },
                        Err(out) => Run { out, hung: true },
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a writer's thread"))
            .collect()
    })
}

/// Runs `rounds` (each round's actions one per writer, `opts.writers` of them), then destroys every directory at
/// once without faults; checks every run, the watcher's findings and the end state, and measures contention.
pub fn run(stack: &Stack, rounds: &[Round], opts: Options) -> Tally {
    let mut tally = Tally::default();
    let mut contention = Contention::default();
    let dirs: Vec<WorkDir> = (0..opts.writers).map(|k| writer_dir(stack, k)).collect();
    let names: Vec<String> = (0..opts.writers).map(writer_name).collect();
    let before: BTreeSet<_> = bindings(&stack.state());
    // Whose service is in its state (after the last round).
    let mut present = vec![false; opts.writers];
    let stop = AtomicBool::new(false);
    let watched = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(stack, &before, &stop));
        let final_round = Round {
            actions: vec![Action::Destroy; opts.writers],
            delays: vec![Duration::ZERO; opts.writers],
        };
        let plan: Vec<(&Round, f64)> = rounds
            .iter()
            .map(|r| (r, opts.faults))
            .chain(std::iter::once((&final_round, 0.0)))
            .collect();
        for (i, (round, faults)) in plan.into_iter().enumerate() {
            let last = i == rounds.len();
            assert_eq!(
                round.actions.len(),
                opts.writers,
                "round {i}: one action per writer"
            );
            for (k, wd) in dirs.iter().enumerate() {
                wd.write("main.tf", &config(stack, &names[k], i))
                    .expect("main.tf");
            }
            stack.emu.clear_faults().expect("clearing faults");
            stack
                .emu
                .clear_requests()
                .expect("clearing the request log");
            let rules = if last {
                Vec::new()
            } else {
                let phases = round
                    .actions
                    .iter()
                    .zip(&present)
                    .filter_map(|(a, p)| phase(*a, *p))
                    .collect();
                fault_rules(&opts, i, &phases)
            };
            if !rules.is_empty() {
                tally.latency_rules += rules.iter().filter(|r| r["latency"].is_string()).count();
                tally.operation_failures += rules
                    .iter()
                    .filter(|r| r["operationError"].is_object())
                    .count();
                stack
                    .emu
                    .add_faults(&json!({"rules": rules, "seed": opts.seed ^ i as u64}))
                    .expect("arming faults");
            }
            let started = Instant::now();
            let runs = run_round(&dirs, round);
            let took = started.elapsed();
            let armed = rules.iter().find(|r| r["operationError"].is_object());
            let hit = armed.is_some_and(|rule| {
                // A one-shot rule that fired is gone from the armed rules.
                let left = stack.emu.faults().expect("reading the armed faults");
                !left["rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["method"] == rule["method"])
            });
            tally.operation_failures_hit += usize::from(hit);
            stack.emu.clear_faults().expect("clearing faults");
            let log = stack.requests();
            tally.injected_errors += injected_errors(&log);
            let label = if last {
                "final destroy (no faults)".to_string()
            } else {
                round_label(i, &round.actions)
            };
            contention.add_log(&log, &label);
            let judged = Judged {
                label: &label,
                runs: &runs,
                actions: &round.actions,
                faults,
                last,
                verbose: opts.verbose,
            };
            present = judge(stack, &dirs, &names, &judged, &before, &mut tally, &log);
            if opts.verbose {
                let op = armed.map_or(String::new(), |r| {
                    let state = if hit { "hit" } else { "not reached" };
                    format!(
                        "; operation failure on {}.{} {state}",
                        r["api"].as_str().unwrap_or(""),
                        r["method"].as_str().unwrap_or("")
                    )
                });
                eprintln!(
                    "{label}: {:.1?}{op}; violations so far {}",
                    took,
                    tally.violations().len()
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
        watcher.join().unwrap_or_default()
    });
    tally.shared_losses.extend(watched);
    tally.contention = Some(contention);
    tally
}

/// `round 3 (7 apply, 3 destroy)`.
fn round_label(i: usize, actions: &[Action]) -> String {
    let applies = actions.iter().filter(|a| **a == Action::Apply).count();
    format!(
        "round {i} ({applies} apply, {} destroy)",
        actions.len() - applies
    )
}

/// One finished round, for [`judge`].
struct Judged<'a> {
    label: &'a str,
    runs: &'a [Run],
    actions: &'a [Action],
    faults: f64,
    last: bool,
    verbose: bool,
}

fn judge(
    stack: &Stack,
    dirs: &[WorkDir],
    names: &[String],
    r: &Judged<'_>,
    before: &BTreeSet<(String, String)>,
    tally: &mut Tally,
    log: &[Value],
) -> Vec<bool> {
    let known = tally.violations();
    let label = r.label;
    let mut outcomes = Vec::new();
    for ((run, action), name) in r.runs.iter().zip(r.actions).zip(names) {
        match action {
            Action::Apply => tally.applies += 1,
            Action::Destroy => tally.destroys += 1,
        }
        let out = &run.out;
        let what = format!("{label}, {name} {action:?}");
        if out.success() && !run.hung {
            tally.succeeded += 1;
            outcomes.push(format!("{name} {action:?} ok"));
            continue;
        }
        outcomes.push(format!("{name} {action:?}: {}", first_error(out)));
        if run.hung {
            tally
                .unclear_failures
                .push(format!("{what}: hung:\n{}", out.combined()));
        } else if r.faults == 0.0 {
            // Without faults only another writer could have made it fail, which must not happen.
            let why = unclear(out).unwrap_or_else(|| first_error(out));
            tally.disagreements.push(format!(
                "{what}: failed without faults: {why}:\n{}",
                out.combined()
            ));
        } else {
            match unclear(out) {
                None => tally.failed_clearly += 1,
                Some(why) => tally
                    .unclear_failures
                    .push(format!("{what}: {why}:\n{}", out.combined())),
            }
        }
    }
    let show = merged_show(dirs);
    let in_state: BTreeSet<String> = crate::consistency::services_in_state(&show)
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect();
    let state = stack.state();
    let orphan_list = orphans(&show, &state, &stack.baseline);
    Tally::note(&mut tally.orphans, label, orphan_list.clone());
    // A failed run may leave its own resource short of parts (tainted, or its rollback cut short by a fault) until
    // its next run repairs it; only when every run succeeded must state equal reality exactly.
    let every_run_succeeded = r.runs.iter().all(|run| run.out.success() && !run.hung);
    if every_run_succeeded || r.last {
        let rest = state_vs_reality(&show, &state, &stack.baseline)
            .into_iter()
            .filter(|p| !orphan_list.contains(p))
            .collect();
        Tally::note(&mut tally.disagreements, label, rest);
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
        dump(stack, dirs, names, r, &new, log);
    }
    if r.verbose {
        for v in &new {
            eprintln!("  violation: {}", v.lines().next().unwrap_or(""));
        }
        for o in outcomes.iter().filter(|o| !o.ends_with(" ok")) {
            eprintln!("  {label}: {o}");
        }
    }
    names.iter().map(|n| in_state.contains(n)).collect()
}

/// With `CSMRUN_CAMPAIGN_DUMP=DIR`, writes what a round that broke an invariant did, for its analysis: each
/// writer's configuration and Terraform output, the round's request log, the violations and the emulator's state.
fn dump(
    stack: &Stack,
    dirs: &[WorkDir],
    names: &[String],
    r: &Judged<'_>,
    violations: &[String],
    log: &[Value],
) {
    let Some(dir) = std::env::var_os("CSMRUN_CAMPAIGN_DUMP").filter(|d| !d.is_empty()) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir).join(r.label.replace([' ', '(', ')', ','], "_"));
    let mut files: Vec<(String, String)> = vec![
        (
            "requests.jsonl".into(),
            log.iter().map(|e| format!("{e}\n")).collect(),
        ),
        ("violations.txt".into(), violations.join("\n")),
        ("emulator-state.json".into(), stack.state().to_string()),
    ];
    for ((wd, run), name) in dirs.iter().zip(r.runs).zip(names) {
        files.push((
            format!("{name}.main.tf"),
            std::fs::read_to_string(wd.path().join("main.tf")).unwrap_or_default(),
        ));
        files.push((format!("{name}.terraform.out"), run.out.combined()));
    }
    let written = std::fs::create_dir_all(&dir).and_then(|_| {
        files
            .iter()
            .try_for_each(|(name, text)| std::fs::write(dir.join(name), text))
    });
    if let Err(e) = written {
        eprintln!("could not write the dump to {}: {e}", dir.display());
    }
}

/// Polls the emulator until `stop`, returning each distinct shared-part loss it saw (with when).
fn watch(stack: &Stack, before: &BTreeSet<(String, String)>, stop: &AtomicBool) -> Vec<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(state) = stack.emu.state() {
            for loss in shared_part_losses(&state, before) {
                seen.insert(format!("{IN_FLIGHT}{loss}"));
            }
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    seen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_rounds_arm_one_operation_failure_among_the_round_s_phases_and_the_fixed_latency_comes_first(
    ) {
        let opts = Options {
            writers: 3,
            faults: 0.02,
            latency: Some(Duration::from_millis(200)),
            seed: 5,
            verbose: false,
        };
        let deletes = BTreeSet::from(["delete"]);
        let operation = |rules: &[Value]| -> Vec<String> {
            rules
                .iter()
                .filter(|r| r["operationError"].is_object())
                .map(|r| r["method"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(operation(&fault_rules(&opts, 2, &deletes)).is_empty());
        for i in [1, 3, 5, 7, 9] {
            let rules = fault_rules(&opts, i, &deletes);
            let ops = operation(&rules);
            assert_eq!(ops.len(), 1, "{rules:?}");
            assert!(ops[0].ends_with(".delete"), "{ops:?}");
            assert_eq!(
                rules[0],
                json!({"api": "cloudresourcemanager", "latency": "200ms"})
            );
        }
        assert!(operation(&fault_rules(&opts, 1, &BTreeSet::new())).is_empty());
        let none = Options {
            faults: 0.0,
            latency: None,
            ..opts
        };
        assert!(fault_rules(&none, 1, &deletes).is_empty());
        assert_eq!(phase(Action::Destroy, false), None);
        assert_eq!(phase(Action::Apply, true), Some("update"));
    }

    #[test]
    fn a_schedule_is_reproducible_creates_everything_first_and_mixes_updates_creates_and_destroys()
    {
        let a = schedule(7, 10, 6);
        assert_eq!(a, schedule(7, 10, 6));
        assert_ne!(a, schedule(8, 10, 6));
        assert!(a[0].actions.iter().all(|x| *x == Action::Apply));
        let mut present = [true; 10];
        let (mut updates, mut creates, mut destroys) = (0, 0, 0);
        for r in &a[1..] {
            assert_eq!((r.actions.len(), r.delays.len()), (10, 10));
            assert!(r.delays.iter().all(|d| *d <= MAX_STAGGER));
            for (p, x) in present.iter_mut().zip(&r.actions) {
                match (*p, x) {
                    (true, Action::Apply) => updates += 1,
                    (false, Action::Apply) => creates += 1,
                    (true, Action::Destroy) => destroys += 1,
                    (false, Action::Destroy) => {}
                }
                *p = *x == Action::Apply;
            }
        }
        assert!(
            updates > 0 && creates > 0 && destroys > 0,
            "{updates} {creates} {destroys}"
        );
    }
}
