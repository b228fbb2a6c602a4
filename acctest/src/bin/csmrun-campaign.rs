//! `csmrun-campaign`: the reliability campaign outside the test harness, for long soaks.
//!
//! ```text
//! csmrun-campaign [--soak N [--separate]] [--seed S] [--crash] [--concurrent N] [--quiet]
//! ```
//! `--soak N` runs N applies/destroys of random configurations under random faults (services share two
//! accounts and two domains; `--separate` gives each its own); `--crash` kills the
//! provider at every write step of a create, an update and a delete (in flight and right after); `--concurrent N`
//! runs N rounds of two directories applying and destroying at once. Prints the figures; exits 1 on any
//! violation. Needs terraform (`TF_ACC_TERRAFORM_PATH` or `.tools/bin/terraform`) and the provider binary
//! built next to this one (`cargo build -p terraform-provider-csmrun -p csmrun-acctest --bins`).

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use csmrun_acctest::campaign::crash::Moment;
use csmrun_acctest::campaign::sweep::{learn_steps, sweep, Phase};
use csmrun_acctest::campaign::{concurrent, env, soak};
use csmrun_acctest::seed::SeedBuilder;

struct Args {
    soak: usize,
    seed: u64,
    crash: bool,
    concurrent: usize,
    verbose: bool,
    separate: bool,
}

fn parse() -> Result<Args> {
    let mut a = Args {
        soak: 0,
        seed: 1,
        crash: false,
        concurrent: 0,
        verbose: true,
        separate: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--soak" => a.soak = value("--soak")?.parse().context("--soak N")?,
            "--seed" => a.seed = value("--seed")?.parse().context("--seed S")?,
            "--concurrent" => {
                a.concurrent = value("--concurrent")?.parse().context("--concurrent N")?
            }
            "--crash" => a.crash = true,
            "--quiet" => a.verbose = false,
            "--separate" => a.separate = true,
            "-h" | "--help" => {
                println!(
                    "csmrun-campaign [--soak N [--separate]] [--seed S] [--crash] [--concurrent N] [--quiet]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown flag {other} (see --help)"),
        }
    }
    if a.soak == 0 && !a.crash && a.concurrent == 0 {
        a.soak = 200;
    }
    Ok(a)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("csmrun-campaign: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    let args = parse()?;
    let mut clean = true;
    if args.soak > 0 {
        let stack = env::stack(&soak::seed())?;
        let start = std::time::Instant::now();
        let tally = soak::run(
            &stack,
            soak::Options {
                runs: args.soak,
                seed: args.seed,
                verbose: args.verbose,
                share: !args.separate,
            },
        );
        println!(
            "== fault soak: {} runs, seed {}, {:.0?}\n{tally}",
            args.soak,
            args.seed,
            start.elapsed()
        );
        clean &= tally.violations().is_empty();
    }
    if args.crash {
        for phase in [Phase::Create, Phase::Update, Phase::Delete] {
            let stack = env::stack(&soak::seed())?;
            let steps = learn_steps(&stack, phase);
            let tally = sweep(
                &stack,
                phase,
                &steps,
                &[Moment::InFlight, Moment::Applied],
                args.verbose,
            );
            println!(
                "== crash at every {phase:?} step ({} steps: {})\n{tally}",
                steps.len(),
                steps.join(", ")
            );
            clean &= tally.violations().is_empty();
        }
    }
    if args.concurrent > 0 {
        let stack = env::stack(&SeedBuilder::new().build())?;
        let tally = concurrent::run(
            &stack,
            concurrent::ROUNDS,
            args.concurrent,
            true,
            args.verbose,
        );
        println!("== concurrent writers: {} rounds\n{tally}", args.concurrent);
        // The zone's transient gap is an open defect the campaign reports but does not count as a violation
        // (RELIABILITY.md, open item 1); anything else the watcher saw does.
        let gaps = tally
            .shared_losses
            .iter()
            .filter(|l| concurrent::is_transient_dns_gap(l))
            .count();
        println!("transient DNS gaps        {gaps}");
        clean &= tally
            .violations()
            .iter()
            .all(|v| concurrent::is_transient_dns_gap(v));
    }
    Ok(clean)
}
