//! One benchmark world: a seeded emulator, a work dir serving the provider binary, timed terraform runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use super::rss::PeakSampler;
use crate::emulator::TestEmulator;
use crate::terraform::{Terraform, WorkDir};

/// Longest one terraform command may take before the bench calls it hung (a guard, not a figure).
const GUARD: Duration = Duration::from_secs(900);

/// The directory holding `terraform-provider-csmrun`: `CSMRUN_PROVIDER_DIR`, else the directory of
/// the running executable (`target/release` when run by `scripts/bench`), else its parent (a test
/// binary lives in `target/<profile>/deps`).
pub fn provider_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CSMRUN_PROVIDER_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().context("locating the running executable")?;
    let candidates = exe.ancestors().skip(1).take(2);
    for dir in candidates {
        if dir.join(PROVIDER_BINARY).is_file() {
            return Ok(dir.to_path_buf());
        }
    }
    anyhow::bail!(
        "{PROVIDER_BINARY} is not next to {}: build it with `cargo build --release -p terraform-provider-csmrun` \
         (scripts/bench does) or set CSMRUN_PROVIDER_DIR",
        exe.display()
    )
}

/// The provider's executable name.
pub const PROVIDER_BINARY: &str = "terraform-provider-csmrun";

/// What one terraform command cost.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub wall: Duration,
    /// Highest VmHWM of any provider process terraform started, KiB.
    pub provider_peak_kib: Option<u64>,
    /// The API calls the emulator answered during the command.
    pub log: Vec<Value>,
    pub output: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// An emulator and a terraform work dir pointed at it.
pub struct Bench {
    pub emu: TestEmulator,
    pub wd: WorkDir,
}

impl Bench {
    /// A world seeded with `seed`, serving the provider from `provider_dir`.
    pub fn new(seed: &Value, provider_dir: &Path) -> Result<Bench> {
        Bench::with_terraform(seed, provider_dir, Terraform::find()?)
    }

    /// The same world driven by `tf` instead of the pinned Terraform.
    pub fn with_terraform(seed: &Value, provider_dir: &Path, tf: Terraform) -> Result<Bench> {
        let emu = TestEmulator::start(seed)?;
        let mut wd = tf.workdir()?;
        wd.dev_override("csmrun/csmrun", provider_dir)?;
        wd.set_env("CSMRUN_EMULATOR_HOST", &emu.host());
        Ok(Bench { emu, wd })
    }

    /// Writes `main.tf`.
    pub fn config(&self, text: &str) -> Result<()> {
        self.wd.write("main.tf", text)?;
        Ok(())
    }

    /// Runs `terraform ARGS -no-color` with a clean request log, timing it and sampling the
    /// provider's peak RSS.
    pub fn terraform(&self, args: &[&str]) -> Result<Run> {
        self.emu.clear_requests()?;
        let mut all: Vec<&str> = args.to_vec();
        all.push("-no-color");
        let start = Instant::now();
        let running = self.wd.spawn(&all)?;
        let sampler = PeakSampler::start(running.pid(), PROVIDER_BINARY);
        let out = running
            .wait(GUARD)
            .with_context(|| format!("terraform {}", args.join(" ")))?;
        let wall = start.elapsed();
        let provider_peak_kib = sampler.stop();
        let log = self.emu.requests()?;
        Ok(Run {
            code: out.code,
            wall,
            provider_peak_kib,
            log,
            output: out.combined(),
        })
    }

    /// `terraform apply -auto-approve`.
    pub fn apply(&self) -> Result<Run> {
        self.terraform(&["apply", "-auto-approve"])
    }

    /// `terraform plan -detailed-exitcode` (refresh included): 0 no changes, 2 changes.
    pub fn plan(&self) -> Result<Run> {
        self.terraform(&["plan", "-detailed-exitcode"])
    }

    /// `terraform destroy -auto-approve -refresh=false`: the destroy's own calls, without a refresh.
    pub fn destroy(&self) -> Result<Run> {
        self.terraform(&["destroy", "-auto-approve", "-refresh=false"])
    }

    /// Number of `csmrun_service` resources in Terraform's state.
    pub fn services_in_state(&self) -> Result<usize> {
        let show = self.wd.show_json()?;
        let resources = show["values"]["root_module"]["resources"]
            .as_array()
            .map(|r| r.iter().filter(|r| r["type"] == "csmrun_service").count())
            .unwrap_or(0);
        Ok(resources)
    }
}
