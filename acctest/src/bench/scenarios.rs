//! The measurements of issue 7: orchestration efficiency, scale, footprint, and the apply under faults.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

use super::anchor::{self, AnchorRun};
use super::calls::Calls;
use super::env::{Bench, Run, PROVIDER_BINARY};
use super::footprint::{self, Footprint};
use super::graph::{self, Chain, Durations};
use super::stats::Summary;
use super::world;
use crate::emulator::TestEmulator;

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    /// Multiplies every emulator duration; the provider's waits are scaled the same way.
    pub time_scale: f64,
    /// Repetitions of each efficiency measurement (the median is reported).
    pub repeats: usize,
    /// Service counts of the scale runs.
    pub scales: Vec<usize>,
    /// Services of the apply under faults (0: skip).
    pub fault_services: usize,
    /// Fraction of API calls answered 429 or 503 (half each).
    pub fault_rate: f64,
    /// Cold starts and GetProviderSchema calls of the footprint (0 starts: skip).
    pub footprint_starts: usize,
    pub schema_calls: usize,
    /// Where to save each scale and fault run's request log (JSON lines), if anywhere.
    #[serde(skip)]
    pub logs: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            time_scale: 0.05,
            repeats: 3,
            scales: vec![1, 20, 50, 100],
            fault_services: 50,
            fault_rate: 0.10,
            footprint_starts: 30,
            schema_calls: 500,
            logs: None,
        }
    }
}

/// One create of one service, with or without a new IAM grant.
#[derive(Debug, Clone, Serialize)]
pub struct Efficiency {
    pub new_grant: bool,
    /// Critical path of PRODUCT §4 over the emulator's durations, nominal seconds.
    pub critical_path: Chain,
    /// The same, scaled to real seconds.
    pub bound_seconds: f64,
    /// First to last API answer of the create (median of the repeats), seconds.
    pub provider_work_seconds: Summary,
    /// `bound / provider work` (median work).
    pub efficiency: f64,
    /// The whole `terraform apply` (median), seconds.
    pub apply_wall_seconds: Summary,
    pub create_calls: usize,
    /// The anchors' sequential chain of the same unit (nominal), and as replayed (median run).
    pub anchor_chain: Chain,
    pub anchor_bound_seconds: f64,
    pub anchor_seconds: Summary,
    pub anchor_parts: Vec<anchor::Part>,
    /// `anchor chain / csmrun provider work` (medians).
    pub speedup_over_anchor: f64,
}

/// `count` services in one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Scale {
    pub services: usize,
    pub apply_ok: bool,
    pub services_in_state: usize,
    pub apply_wall_seconds: f64,
    pub apply_calls: Calls,
    pub create_calls_per_service: f64,
    pub refresh_wall_seconds: f64,
    /// Exit code of `terraform plan -detailed-exitcode` after the apply (0: nothing to change).
    pub refresh_plan_exit: Option<i32>,
    pub refresh_calls: Calls,
    pub refresh_calls_per_service: f64,
    pub refresh_reads_per_service: f64,
    pub refresh_gets_per_service: f64,
    pub project_iam_writes: usize,
    pub provider_peak_rss_kib: Option<u64>,
    /// `terraform destroy -refresh=false` after the plan (so its refresh is not counted).
    pub destroy_ok: bool,
    pub destroy_wall_seconds: f64,
    pub destroy_calls: Calls,
    pub destroy_calls_per_service: f64,
}

/// The fault run and its clean twin.
#[derive(Debug, Clone, Serialize)]
pub struct Faults {
    pub services: usize,
    pub rate: f64,
    pub apply_exit: Option<i32>,
    pub services_created: usize,
    pub success_rate: f64,
    pub calls: Calls,
    pub clean_calls: usize,
    pub extra_calls: i64,
    pub injected: usize,
    pub wall_seconds: f64,
    pub clean_wall_seconds: f64,
    pub wall_ratio: f64,
    /// Terraform's error lines when the apply failed.
    pub errors: Vec<String>,
}

/// Everything one bench run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub options: Options,
    pub terraform: String,
    pub efficiency: Vec<Efficiency>,
    pub scale: Vec<Scale>,
    pub footprint: Option<Footprint>,
    pub faults: Option<Faults>,
}

/// Saves `run`'s request log as `<logs>/<name>.jsonl` when `--logs` was given.
fn keep_log(o: &Options, name: &str, run: &Run) -> Result<()> {
    let Some(dir) = &o.logs else { return Ok(()) };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let lines: String = run.log.iter().map(|e| format!("{e}\n")).collect();
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, lines).with_context(|| format!("writing {}", path.display()))
}

fn median(values: &[f64]) -> Summary {
    Summary::of(values)
}

/// Orchestration efficiency of one create (`new_grant`: the account's binding is added by it).
pub fn efficiency(o: &Options, provider_dir: &Path, new_grant: bool) -> Result<Efficiency> {
    let d = Durations::EMULATOR;
    let critical_path = graph::csmrun_critical_path(&d, new_grant);
    let anchor_chain = graph::anchor_chain(&d);
    let seed = world::seed(o.time_scale, !new_grant);
    let mut work = Vec::new();
    let mut walls = Vec::new();
    let mut anchors: Vec<AnchorRun> = Vec::new();
    let mut create_calls = 0;
    for _ in 0..o.repeats.max(1) {
        let bench = Bench::new(&seed, provider_dir)?;
        bench.config(&world::config(o.time_scale, 1))?;
        let run = bench.apply()?;
        ensure_ok(&run, "efficiency apply")?;
        keep_log(
            o,
            &format!("efficiency-grant-{new_grant}-{}", walls.len()),
            &run,
        )?;
        work.push(Calls::of(&run.log).span_seconds);
        walls.push(run.wall.as_secs_f64());
        create_calls = run.log.len();
        let fresh = TestEmulator::start(&seed)?;
        anchors.push(anchor::run(&fresh, &run.log, o.time_scale)?);
    }
    let work = median(&work);
    let anchor_secs: Vec<f64> = anchors.iter().map(|a| a.seconds).collect();
    let anchor_seconds = median(&anchor_secs);
    let anchor_parts = anchors
        .iter()
        .find(|a| a.seconds == anchor_seconds.median)
        .map(|a| a.parts.clone())
        .unwrap_or_default();
    let bound_seconds = critical_path.seconds * o.time_scale;
    Ok(Efficiency {
        new_grant,
        bound_seconds,
        efficiency: ratio(bound_seconds, work.median),
        provider_work_seconds: work,
        apply_wall_seconds: median(&walls),
        create_calls,
        anchor_bound_seconds: anchor_chain.seconds * o.time_scale,
        speedup_over_anchor: ratio(anchor_seconds.median, work.median),
        anchor_seconds,
        anchor_parts,
        anchor_chain,
        critical_path,
    })
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn ensure_ok(run: &Run, what: &str) -> Result<()> {
    anyhow::ensure!(
        run.success(),
        "{what} exited {:?}:\n{}",
        run.code,
        tail(&run.output, 60)
    );
    Ok(())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `count` services sharing mesh, domain and account: apply, then a refreshing plan.
pub fn scale(o: &Options, provider_dir: &Path, count: usize) -> Result<Scale> {
    let bench = Bench::new(&world::seed(o.time_scale, false), provider_dir)?;
    bench.config(&world::config(o.time_scale, count))?;
    let apply = bench.apply()?;
    let services_in_state = bench.services_in_state()?;
    let plan = bench.plan()?;
    let destroy = bench.destroy()?;
    keep_log(o, &format!("scale-{count}-apply"), &apply)?;
    keep_log(o, &format!("scale-{count}-plan"), &plan)?;
    keep_log(o, &format!("scale-{count}-destroy"), &destroy)?;
    let apply_calls = Calls::of(&apply.log);
    let refresh_calls = Calls::of(&plan.log);
    let destroy_calls = Calls::of(&destroy.log);
    let n = count.max(1) as f64;
    Ok(Scale {
        services: count,
        apply_ok: apply.success(),
        services_in_state,
        apply_wall_seconds: apply.wall.as_secs_f64(),
        create_calls_per_service: apply_calls.total as f64 / n,
        project_iam_writes: apply_calls.project_iam_writes,
        apply_calls,
        refresh_wall_seconds: plan.wall.as_secs_f64(),
        refresh_plan_exit: plan.code,
        refresh_calls_per_service: refresh_calls.total as f64 / n,
        refresh_reads_per_service: refresh_calls.reads as f64 / n,
        refresh_gets_per_service: refresh_calls.gets as f64 / n,
        refresh_calls,
        provider_peak_rss_kib: apply
            .provider_peak_kib
            .max(plan.provider_peak_kib)
            .max(destroy.provider_peak_kib),
        destroy_ok: destroy.success(),
        destroy_wall_seconds: destroy.wall.as_secs_f64(),
        destroy_calls_per_service: destroy_calls.total as f64 / n,
        destroy_calls,
    })
}

/// The `count`-service apply with `rate` of API calls answered 429 or 503, against a clean twin.
pub fn faults(o: &Options, provider_dir: &Path, clean: Option<&Scale>) -> Result<Faults> {
    let count = o.fault_services;
    let clean = match clean {
        Some(c) => c.clone(),
        None => scale(o, provider_dir, count)?,
    };
    let bench = Bench::new(&world::seed(o.time_scale, false), provider_dir)?;
    bench.config(&world::config(o.time_scale, count))?;
    let half = o.fault_rate / 2.0;
    // The second rule sees only calls the first let through, so its rate is raised to keep the
    // total at `rate` with 429 and 503 equally likely.
    let second = if half < 1.0 { half / (1.0 - half) } else { 1.0 };
    bench
        .emu
        .add_faults(&json!({"rules": [
            {"code": 429, "rate": half},
            {"code": 503, "rate": second}
        ], "seed": 7}))
        .context("arming the faults")?;
    let run = bench.apply()?;
    bench.emu.clear_faults()?;
    keep_log(o, &format!("faults-{count}-apply"), &run)?;
    let created = bench.services_in_state()?;
    let calls = Calls::of(&run.log);
    let errors = run
        .output
        .lines()
        .filter(|l| l.starts_with("Error:"))
        .map(str::to_string)
        .collect();
    Ok(Faults {
        services: count,
        rate: o.fault_rate,
        apply_exit: run.code,
        services_created: created,
        success_rate: created as f64 / count.max(1) as f64,
        clean_calls: clean.apply_calls.total,
        extra_calls: calls.total as i64 - clean.apply_calls.total as i64,
        injected: calls.throttled,
        wall_seconds: run.wall.as_secs_f64(),
        clean_wall_seconds: clean.apply_wall_seconds,
        wall_ratio: ratio(run.wall.as_secs_f64(), clean.apply_wall_seconds),
        calls,
        errors,
    })
}

/// The footprint of the provider binary in `provider_dir`.
pub fn footprint(o: &Options, provider_dir: &Path) -> Result<Footprint> {
    footprint::measure(
        &provider_dir.join(PROVIDER_BINARY),
        o.footprint_starts,
        o.schema_calls,
    )
}

/// Runs everything `o` asks for, reporting progress on stderr.
pub fn run_all(o: &Options, provider_dir: &Path) -> Result<Figures> {
    let terraform = crate::terraform::Terraform::find()?;
    let version = std::process::Command::new(terraform.path())
        .arg("version")
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let mut figures = Figures {
        options: o.clone(),
        terraform: version,
        efficiency: Vec::new(),
        scale: Vec::new(),
        footprint: None,
        faults: None,
    };
    for new_grant in [false, true] {
        eprintln!("bench: efficiency, new IAM grant = {new_grant}");
        figures
            .efficiency
            .push(efficiency(o, provider_dir, new_grant)?);
    }
    for &count in &o.scales {
        eprintln!("bench: scale, {count} services");
        figures.scale.push(scale(o, provider_dir, count)?);
    }
    if o.footprint_starts > 0 {
        eprintln!("bench: footprint");
        figures.footprint = Some(footprint(o, provider_dir)?);
    }
    if o.fault_services > 0 {
        eprintln!(
            "bench: {} services with {:.0}% 429/503",
            o.fault_services,
            o.fault_rate * 100.0
        );
        let clean = figures
            .scale
            .iter()
            .find(|s| s.services == o.fault_services)
            .cloned();
        figures.faults = Some(faults(o, provider_dir, clean.as_ref())?);
    }
    Ok(figures)
}
