//! `csmrun-campaign`: the reliability campaign outside the test harness, for long soaks.
//!
//! ```text
//! csmrun-campaign [--soak N [--separate]] [--seed S] [--crash] [--concurrent N [--writers W] [--faults RATE] [--latency MS]] [--quiet]
//! ```
//! `--soak N` runs N applies/destroys of random configurations under random faults (services share two
//! accounts and two domains; `--separate` gives each its own); `--crash` kills the
//! provider at every write step of a create, an update and a delete (in flight and right after); `--concurrent N`
//! runs N rounds of W directories (`--writers`, default 2) applying and destroying at once in a mix drawn from the
//! seed, with injected 429/503 and latency at RATE (`--faults`, default none) and MS milliseconds added to every
//! Resource Manager and Cloud DNS call (`--latency`, Google's round trip; default none), and prints their etag
//! conflicts, retries per write and longest wait. Prints the figures; exits 1 on any
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
    writers: usize,
    faults: f64,
    latency: Option<std::time::Duration>,
    verbose: bool,
    separate: bool,
}

fn parse() -> Result<Args> {
    let mut a = Args {
        soak: 0,
        seed: 1,
        crash: false,
        concurrent: 0,
        writers: 2,
        faults: 0.0,
        latency: None,
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
            "--writers" => a.writers = value("--writers")?.parse().context("--writers W")?,
            "--faults" => a.faults = value("--faults")?.parse().context("--faults RATE")?,
            "--latency" => {
                let ms: u64 = value("--latency")?.parse().context("--latency MS")?;
                a.latency = Some(std::time::Duration::from_millis(ms));
            }
            "--crash" => a.crash = true,
            "--quiet" => a.verbose = false,
            "--separate" => a.separate = true,
            "-h" | "--help" => {
                println!(
                    "csmrun-campaign [--soak N [--separate]] [--seed S] [--crash] [--concurrent N [--writers W] [--faults RATE] [--latency MS]] [--quiet]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown flag {other} (see --help)"),
        }
    }
    if a.writers == 0 {
        bail!("--writers W needs at least one writer");
    }
    if !(0.0..=0.5).contains(&a.faults) {
        bail!("--faults RATE is a probability per request, from 0 to 0.5");
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
        let start = std::time::Instant::now();
        let rounds = concurrent::schedule(args.seed, args.writers, args.concurrent);
        let tally = concurrent::run(
            &stack,
            &rounds,
            concurrent::Options {
                writers: args.writers,
                faults: args.faults,
                latency: args.latency,
                seed: args.seed,
                verbose: args.verbose,
            },
        );
        println!(
            "== concurrent writers: {} writers, {} rounds, faults {}, latency {:?}, seed {}, {:.0?}\n{tally}",
            args.writers,
            args.concurrent,
            args.faults,
            args.latency.unwrap_or_default(),
            args.seed,
            start.elapsed()
        );
        clean &= tally.violations().is_empty();
    }
    Ok(clean)
}
