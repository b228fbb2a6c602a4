//! A test's whole setup: its own emulator, a Terraform work dir whose CLI config serves
//! `csmrun/csmrun` from the built provider binary (dev_overrides), and the pre-test baseline.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::consistency::{self, Baseline};
use crate::emulator::TestEmulator;
use crate::hcl::ProviderSettings;
use crate::terraform::{Output, Running, Terraform, Version, WorkDir};

/// Longest a single terraform command may take before the test calls it hung (a guard, not a
/// performance assertion).
pub const GUARD: Duration = Duration::from_secs(300);

/// The directory holding `terraform-provider-csmrun`: the cargo profile directory this test
/// binary was built into (`target/debug/deps/<test>` → `target/debug`).
pub fn provider_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test binary")?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("the test binary is not under target/<profile>/deps")?
        .to_path_buf();
    let bin = dir.join("terraform-provider-csmrun");
    anyhow::ensure!(
        bin.is_file(),
        "{} is missing: run `cargo build -p terraform-provider-csmrun` first (scripts/test does)",
        bin.display()
    );
    Ok(dir)
}

/// The oldest Terraform the tests of post-6.0 protocol features run on: 1.8 has every RPC csmrun
/// serves beyond 6.0 (plan_destroy 6.3, schema caching 6.4, MoveResourceState 6.5).
pub const MODERN: Version = Version::new(1, 8, 0);

/// A Terraform >= [`MODERN`] for `test`: `TF_ACC_TERRAFORM_MODERN_PATH`, else the first one on
/// `PATH`. When there is none the test is skipped, and says so on stderr past the test harness's
/// output capture, so a run without one never reads as a pass of these tests. A set
/// `TF_ACC_TERRAFORM_MODERN_PATH` that is missing or too old fails instead.
pub fn modern_terraform(test: &str) -> Option<Terraform> {
    match Terraform::at_least(MODERN) {
        Ok(Some(tf)) => Some(tf),
        Ok(None) => {
            let mut err = std::io::stderr();
            let _ = writeln!(
                err,
                "SKIPPED {test}: no Terraform >= {MODERN} on PATH (or TF_ACC_TERRAFORM_MODERN_PATH)"
            );
            None
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

/// An emulator, a work dir pointed at it, and the provider settings for `main.tf`.
pub struct Stack {
    pub emu: TestEmulator,
    pub wd: WorkDir,
    pub provider: ProviderSettings,
    pub baseline: Baseline,
}

impl Stack {
    /// A stack over an emulator seeded with `seed`.
    pub fn new(seed: &Value) -> Stack {
        Stack::try_new(seed).unwrap_or_else(|e| panic!("setting up the acceptance stack: {e:#}"))
    }

    /// A stack over an emulator seeded with `seed`, driven by `tf` instead of the pinned
    /// Terraform (see [`modern_terraform`]).
    pub fn with_terraform(seed: &Value, tf: Terraform) -> Stack {
        Stack::try_with(seed, tf)
            .unwrap_or_else(|e| panic!("setting up the acceptance stack: {e:#}"))
    }

    fn try_new(seed: &Value) -> Result<Stack> {
        Stack::try_with(seed, Terraform::find()?)
    }

    fn try_with(seed: &Value, tf: Terraform) -> Result<Stack> {
        let emu = TestEmulator::start(seed)?;
        let mut wd = tf.workdir()?;
        wd.dev_override("csmrun/csmrun", &provider_dir()?)?;
        wd.set_env("CSMRUN_EMULATOR_HOST", &emu.host());
        let baseline = Baseline::capture(&emu.state()?);
        Ok(Stack {
            emu,
            wd,
            provider: ProviderSettings::default(),
            baseline,
        })
    }

    /// Writes `main.tf`: the provider block, then `resources` (HCL).
    pub fn config(&self, resources: &str) {
        let text = format!("{}\n{resources}", self.provider.render());
        self.wd.write("main.tf", &text).expect("writing main.tf");
    }

    /// `terraform ARGS` with `-no-color`, to completion.
    pub fn tf(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.push("-no-color");
        let running = self.wd.spawn(&all).expect("starting terraform");
        running
            .wait(GUARD)
            .unwrap_or_else(|e| panic!("terraform {}: {e}", args.join(" ")))
    }

    /// `terraform ARGS -no-color` in the background.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut all: Vec<&str> = args.to_vec();
        all.push("-no-color");
        self.wd.spawn(&all).expect("starting terraform")
    }

    /// `terraform apply -auto-approve`, whatever its outcome.
    pub fn apply(&self) -> Output {
        self.tf(&["apply", "-auto-approve"])
    }

    /// `terraform apply -auto-approve`, which must succeed.
    pub fn apply_ok(&self) -> Output {
        let out = self.apply();
        out.assert_success("apply");
        out
    }

    /// `terraform destroy -auto-approve`, which must succeed.
    pub fn destroy_ok(&self) -> Output {
        let out = self.tf(&["destroy", "-auto-approve"]);
        out.assert_success("destroy");
        out
    }

    /// `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes.
    pub fn plan(&self) -> Output {
        self.tf(&["plan", "-detailed-exitcode"])
    }

    /// Asserts the next plan is empty (exit code 0).
    pub fn assert_empty_plan(&self, when: &str) {
        let out = self.plan();
        assert_eq!(
            out.code,
            Some(0),
            "{when}: expected an empty plan (exit 0), got {:?}:\n{}",
            out.code,
            out.combined()
        );
    }

    /// `terraform show -json`.
    pub fn show(&self) -> Value {
        self.wd.show_json().expect("terraform show -json")
    }

    /// The state `values` of `csmrun_service.<label>`, which must exist.
    pub fn values(&self, label: &str) -> Value {
        let address = format!("csmrun_service.{label}");
        crate::terraform::find_resource(&self.show(), &address)
            .unwrap_or_else(|| panic!("{address} is not in Terraform's state"))
    }

    /// `/_emulator/state`.
    pub fn state(&self) -> Value {
        self.emu.state().expect("GET /_emulator/state")
    }

    /// The request log.
    pub fn requests(&self) -> Vec<Value> {
        self.emu.requests().expect("GET /_emulator/requests")
    }

    /// The Google API calls logged after the first `from` entries (the emulator's own control calls left out).
    pub fn api_calls_since(&self, from: usize) -> Vec<Value> {
        self.requests()
            .into_iter()
            .skip(from)
            .filter(|e| !e["path"].as_str().unwrap_or("").starts_with("/_emulator"))
            .collect()
    }

    /// The emulator resource `collection`/`key`, if present.
    pub fn resource(&self, collection: &str, key: &str) -> Option<Value> {
        self.state()["resources"][collection].get(key).cloned()
    }

    /// The check every test ends with: the emulator holds exactly what Terraform's state says
    /// exists (relative to the baseline taken at setup).
    pub fn assert_consistent(&self) {
        consistency::assert_agree(&self.show(), &self.state(), &self.baseline);
    }

    /// Makes everything the emulator holds now part of the baseline (for parts that exist
    /// outside Terraform on purpose: built by hand, or abandoned).
    pub fn rebaseline(&mut self) {
        self.baseline = Baseline::capture(&self.state());
    }
}
