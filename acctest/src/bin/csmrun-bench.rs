//! `csmrun-bench`: runs the benchmarks of BENCHMARKS.md (real terraform, csmrun-emulator) and prints the figures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use csmrun_acctest::bench::{env, report, scenarios, schema_cache};

const USAGE: &str = "usage: csmrun-bench [--time-scale F] [--repeats N] [--scales 1,20,50,100] \
[--fault-services N] [--fault-rate F] [--footprint-starts N] [--schema-calls N] [--out DIR] [--logs DIR] [--quick]
       csmrun-bench --schema-cache [--time-scale F] [--repeats N]

Runs real terraform (TF_ACC_TERRAFORM_PATH or .tools/bin/terraform) against csmrun-emulator with the
terraform-provider-csmrun binary next to this one (or in CSMRUN_PROVIDER_DIR). --quick: one repeat,
scales 1 and 20, 20 services under faults, 5 cold starts. Writes DIR/latest.json, DIR/latest.txt and
DIR/bench-<time>.json (DIR defaults to target/bench); --logs keeps each scale and fault run's\nrequest log there.
--schema-cache: only GetProviderSchema calls and wall time per plan and apply of one service, with and
without protocol 6.4's schema caching, on a Terraform >= 1.8 (TF_ACC_TERRAFORM_MODERN_PATH, else PATH).";

fn value<T: std::str::FromStr>(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<T> {
    let v = args
        .next()
        .with_context(|| format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| anyhow::anyhow!("{flag}: {v:?} is not a valid value"))
}

/// What the command line asks for.
struct Args {
    options: scenarios::Options,
    out: PathBuf,
    schema_cache: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>> {
    let mut o = scenarios::Options::default();
    let mut out = csmrun_acctest::terraform::workspace_root().join("target/bench");
    let mut schema_cache = false;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--schema-cache" => schema_cache = true,
            "--time-scale" => o.time_scale = value(&mut args, &flag)?,
            "--repeats" => o.repeats = value(&mut args, &flag)?,
            "--scales" => {
                let list: String = value(&mut args, &flag)?;
                o.scales = list
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse().with_context(|| format!("--scales: {s:?}")))
                    .collect::<Result<_>>()?;
            }
            "--fault-services" => o.fault_services = value(&mut args, &flag)?,
            "--fault-rate" => o.fault_rate = value(&mut args, &flag)?,
            "--footprint-starts" => o.footprint_starts = value(&mut args, &flag)?,
            "--schema-calls" => o.schema_calls = value(&mut args, &flag)?,
            "--logs" => o.logs = Some(PathBuf::from(value::<String>(&mut args, &flag)?)),
            "--out" => out = PathBuf::from(value::<String>(&mut args, &flag)?),
            "--quick" => {
                o.repeats = 1;
                o.scales = vec![1, 20];
                o.fault_services = 20;
                o.footprint_starts = 5;
                o.schema_calls = 50;
            }
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if o.time_scale.is_nan() || o.time_scale <= 0.0 {
        bail!("--time-scale must be above 0 (0 would make every operation instant)");
    }
    Ok(Some(Args {
        options: o,
        out,
        schema_cache,
    }))
}

/// `--schema-cache`: both modes on a modern Terraform, printed as a table.
fn schema_cache(o: &scenarios::Options, provider_dir: &std::path::Path) -> Result<()> {
    let min = csmrun_acctest::stack::MODERN;
    let tf = csmrun_acctest::terraform::Terraform::at_least(min)?.with_context(|| {
        format!("no Terraform >= {min}: set TF_ACC_TERRAFORM_MODERN_PATH or put one on PATH")
    })?;
    let version = tf.version()?;
    eprintln!("bench: schema caching on and off, in turns, Terraform {version}");
    let figures = schema_cache::measure(&tf, provider_dir, 1, o.repeats, o.time_scale)?;
    print!(
        "{}",
        schema_cache::table(&format!("Terraform {version}"), &figures)
    );
    Ok(())
}

fn run() -> Result<()> {
    let Some(Args {
        options,
        out,
        schema_cache: only_schema_cache,
    }) = parse(std::env::args().skip(1))?
    else {
        println!("{USAGE}");
        return Ok(());
    };
    let provider_dir = env::provider_dir()?;
    if only_schema_cache {
        return schema_cache(&options, &provider_dir);
    }
    let figures = scenarios::run_all(&options, &provider_dir)?;
    print!("{}", report::table(&figures));
    let path = report::save(&figures, &out)?;
    println!("\nfigures: {}", path.display());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("csmrun-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
