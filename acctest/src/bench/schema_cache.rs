//! What protocol 6.4's schema caching saves (`csmrun-bench --schema-cache`): GetProviderSchema
//! calls and wall time per `terraform plan` and per `terraform apply` on a Terraform >= 1.8, with
//! `get_provider_schema_optional` advertised (tfplug's default) and withheld
//! (`TFPLUG_NO_SCHEMA_CACHE=1`, the switch tfplug has for this measurement only).
//!
//! Calls are counted from the provider's own DEBUG log line for each GetProviderSchema it
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

/// One mode: `repeats` timed creates (each destroyed again), then a counted create and plan, then
/// `repeats` timed plans.
pub fn measure(
    tf: &Terraform,
    provider_dir: &Path,
    cached: bool,
    services: usize,
    repeats: usize,
    time_scale: f64,
) -> Result<SchemaCache> {
    let mut bench =
        Bench::with_terraform(&world::seed(time_scale, true), provider_dir, tf.clone())?;
    if !cached {
        bench.wd.set_env(tfplug::server::NO_SCHEMA_CACHE_ENV, "1");
    }
    bench.config(&world::config(time_scale, services))?;
    let mut applies = Vec::new();
    for _ in 0..repeats {
        applies.push(ok(bench.apply()?, "apply", &[0])?.wall.as_secs_f64());
        ok(
            bench.terraform(&["destroy", "-auto-approve"])?,
            "destroy",
            &[0],
        )?;
    }
    let (_, apply_log) = logged(&mut bench, "apply", &["apply", "-auto-approve"])?;
    let (run, plan_log) = logged(&mut bench, "plan", &["plan", "-detailed-exitcode"])?;
    ok(run, "plan after apply", &[0])?;
    let mut plans = Vec::new();
    for _ in 0..repeats {
        plans.push(ok(bench.plan()?, "plan", &[0])?.wall.as_secs_f64());
    }
    ok(
        bench.terraform(&["destroy", "-auto-approve"])?,
        "destroy",
        &[0],
    )?;
    Ok(SchemaCache {
        cached,
        services,
        apply_schema_calls: apply_log.lines().filter(|l| is_schema_call(l)).count(),
        plan_schema_calls: plan_log.lines().filter(|l| is_schema_call(l)).count(),
        plan_provider_processes: plan_log.lines().filter(|l| is_process_exit(l)).count(),
        apply_wall_seconds: Summary::of(&applies),
        plan_wall_seconds: Summary::of(&plans),
    })
}

/// Both modes, as a table.
pub fn table(terraform: &str, figures: &[SchemaCache]) -> String {
    let mut s = format!(
        "schema caching ({terraform})\n{:<28} {:>14} {:>13} {:>17} {:>16} {:>15}\n",
        "mode",
        "apply fetches",
        "plan fetches",
        "plan processes",
        "apply wall (s)",
        "plan wall (s)"
    );
    for f in figures {
        let mode = if f.cached {
            "cached (6.4, default)"
        } else {
            "not cached (NO_SCHEMA_CACHE)"
        };
        s.push_str(&format!(
            "{mode:<28} {:>14} {:>13} {:>17} {:>16.2} {:>15.2}\n",
            f.apply_schema_calls,
            f.plan_schema_calls,
            f.plan_provider_processes,
            f.apply_wall_seconds.median,
            f.plan_wall_seconds.median
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
