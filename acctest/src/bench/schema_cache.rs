//! What protocol 6.4's schema caching saves (`csmrun-bench --schema-cache`): GetProviderSchema
//! calls and wall time per `terraform plan` and per `terraform apply` on a Terraform >= 1.8, with
//! `get_provider_schema_optional` advertised (tfplug's default) and withheld
//! (`TFPLUG_NO_SCHEMA_CACHE=1`, the switch tfplug has for this measurement only).
//!
//! The two modes run in turns, each in its own emulator and work dir. Calls are counted from the
//! provider's own DEBUG log line for each GetProviderSchema it
//! answers (`TF_LOG_PROVIDER=DEBUG`, `TF_LOG_PATH`), in runs of their own, so that logging does
//! not weigh on the timed runs.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde::Serialize;

use super::env::{Bench, Run};
use super::stats::Summary;
use super::world;
use crate::terraform::Terraform;

/// One mode's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaCache {
    /// `get_provider_schema_optional` advertised.
    pub cached: bool,
    pub services: usize,
    /// GetProviderSchema calls the provider answered during one `terraform apply` (create).
    pub apply_schema_calls: usize,
    /// ... during one `terraform plan` with nothing to change.
    pub plan_schema_calls: usize,
    /// Provider processes Terraform started for that plan (one stderr stream each).
    pub plan_provider_processes: usize,
    pub apply_wall_seconds: Summary,
    pub plan_wall_seconds: Summary,
}

/// The provider's log line for one GetProviderSchema it answered, as Terraform writes it to
/// `TF_LOG_PATH` (`[DEBUG] provider.terraform-provider-csmrun: GetProviderSchema: ...`).
fn is_schema_call(line: &str) -> bool {
    line.contains("provider.terraform-provider-csmrun: GetProviderSchema")
}

/// Terraform's line when a provider process it started has exited.
fn is_process_exit(line: &str) -> bool {
    line.contains("plugin process exited") && line.contains("terraform-provider-csmrun")
}

/// Runs `args` with provider (and core) logging into a fresh file; returns the run and the log.
fn logged(bench: &mut Bench, name: &str, args: &[&str]) -> Result<(Run, String)> {
    let path = bench.wd.path().join(format!("{name}.log"));
    bench.wd.set_env("TF_LOG_PROVIDER", "DEBUG");
    bench.wd.set_env("TF_LOG_CORE", "DEBUG");
    bench.wd.set_env("TF_LOG_PATH", &path.display().to_string());
    let run = bench.terraform(args);
    for key in ["TF_LOG_PROVIDER", "TF_LOG_CORE", "TF_LOG_PATH"] {
        bench.wd.remove_env(key);
    }
    let run = run?;
    let log =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((run, log))
}

fn ok(run: Run, what: &str, codes: &[i32]) -> Result<Run> {
    ensure!(
        run.code.is_some_and(|c| codes.contains(&c)),
        "{what} exited {:?}:\n{}",
        run.code,
        run.output
    );
    Ok(run)
}

/// One world per mode, measured in turns (each mode first every other repeat) so that load on the
/// machine weighs on both alike: per repeat, a timed create (destroyed again) in each mode; then a
/// counted create and plan in each; then, per repeat, a timed plan in each.
pub fn measure(
    tf: &Terraform,
    provider_dir: &Path,
    services: usize,
    repeats: usize,
    time_scale: f64,
) -> Result<Vec<SchemaCache>> {
    let mut worlds = Vec::new();
    for cached in [true, false] {
        let mut bench =
            Bench::with_terraform(&world::seed(time_scale, true), provider_dir, tf.clone())?;
        if !cached {
            bench.wd.set_env(tfplug::server::NO_SCHEMA_CACHE_ENV, "1");
        }
        bench.config(&world::config(time_scale, services))?;
        worlds.push(World {
            cached,
            bench,
            applies: Vec::new(),
            plans: Vec::new(),
        });
    }
    for r in 0..repeats {
        for i in turns(r) {
            let w = &mut worlds[i];
            w.applies
                .push(ok(w.bench.apply()?, "apply", &[0])?.wall.as_secs_f64());
            ok(
                w.bench.terraform(&["destroy", "-auto-approve"])?,
                "destroy",
                &[0],
            )?;
        }
    }
    let mut logs = Vec::new();
    for w in &mut worlds {
        let (_, apply_log) = logged(&mut w.bench, "apply", &["apply", "-auto-approve"])?;
        let (run, plan_log) = logged(&mut w.bench, "plan", &["plan", "-detailed-exitcode"])?;
        ok(run, "plan after apply", &[0])?;
        logs.push((apply_log, plan_log));
    }
    for r in 0..repeats {
        for i in turns(r) {
            let w = &mut worlds[i];
            w.plans
                .push(ok(w.bench.plan()?, "plan", &[0])?.wall.as_secs_f64());
        }
    }
    let mut figures = Vec::new();
    for (w, (apply_log, plan_log)) in worlds.into_iter().zip(logs) {
        ok(
            w.bench.terraform(&["destroy", "-auto-approve"])?,
            "destroy",
            &[0],
        )?;
        figures.push(SchemaCache {
            cached: w.cached,
            services,
            apply_schema_calls: apply_log.lines().filter(|l| is_schema_call(l)).count(),
            plan_schema_calls: plan_log.lines().filter(|l| is_schema_call(l)).count(),
            plan_provider_processes: plan_log.lines().filter(|l| is_process_exit(l)).count(),
            apply_wall_seconds: Summary::of(&w.applies),
            plan_wall_seconds: Summary::of(&w.plans),
        });
    }
    Ok(figures)
}

/// One mode's world and its timed samples.
struct World {
    cached: bool,
    bench: Bench,
    applies: Vec<f64>,
    plans: Vec<f64>,
}

/// The order of the two worlds in repeat `r`: each goes first every other time.
fn turns(r: usize) -> [usize; 2] {
    if r.is_multiple_of(2) {
        [0, 1]
    } else {
        [1, 0]
    }
}

/// Both modes, as a table.
pub fn table(terraform: &str, figures: &[SchemaCache]) -> String {
    let mut s = format!(
        "schema caching ({terraform}; wall seconds: median (min) of {} repeats)\n\
         {:<30} {:>13} {:>12} {:>14} {:>12} {:>12}\n",
        figures.first().map_or(0, |f| f.plan_wall_seconds.n),
        "mode",
        "apply fetches",
        "plan fetches",
        "plan processes",
        "apply wall",
        "plan wall"
    );
    for f in figures {
        let mode = if f.cached {
            "cached (6.4, the default)"
        } else {
            "not cached (NO_SCHEMA_CACHE=1)"
        };
        let wall = |w: &Summary| format!("{:.2} ({:.2})", w.median, w.min);
        s.push_str(&format!(
            "{mode:<30} {:>13} {:>12} {:>14} {:>12} {:>12}\n",
            f.apply_schema_calls,
            f.plan_schema_calls,
            f.plan_provider_processes,
            wall(&f.apply_wall_seconds),
            wall(&f.plan_wall_seconds),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_providers_own_schema_lines_only() {
        let log = "\
2026-12-02T00:00:00.000Z [DEBUG] provider.terraform-provider-csmrun: GetProviderSchema: @module=tfplug
2026-12-02T00:00:00.000Z [TRACE] GRPCProvider.v6: GetProviderSchema
2026-12-02T00:00:00.000Z [DEBUG] provider: plugin process exited: path=/x/terraform-provider-csmrun pid=1
2026-12-02T00:00:00.000Z [DEBUG] provider.terraform-provider-csmrun: ConfigureProvider: @module=tfplug";
        assert_eq!(log.lines().filter(|l| is_schema_call(l)).count(), 1);
        assert_eq!(log.lines().filter(|l| is_process_exit(l)).count(), 1);
    }
}
