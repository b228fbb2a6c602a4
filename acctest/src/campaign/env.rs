//! Where the campaign finds the provider binary, and a [`Stack`] built from it, for both the tests (binary
//! under `target/<profile>/deps`) and `csmrun-campaign` (binary under `target/<profile>`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::consistency::Baseline;
use crate::emulator::TestEmulator;
use crate::hcl::ProviderSettings;
use crate::stack::Stack;
use crate::terraform::Terraform;

const BINARY: &str = "terraform-provider-csmrun";

/// `CSMRUN_PROVIDER_DIR`, else the directory of this executable or its parent (whichever holds the
/// provider binary).
pub fn provider_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CSMRUN_PROVIDER_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().context("locating this executable")?;
    exe.ancestors()
        .skip(1)
        .take(2)
        .find(|d| d.join(BINARY).is_file())
        .map(PathBuf::from)
        .with_context(|| {
            format!("{BINARY} not found next to {}: run `cargo build -p terraform-provider-csmrun` or set CSMRUN_PROVIDER_DIR", exe.display())
        })
}

/// A stack like [`Stack::new`] with the provider from [`provider_dir`].
pub fn stack(seed: &Value) -> Result<Stack> {
    let emu = TestEmulator::start(seed)?;
    let mut wd = Terraform::find()?.workdir()?;
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
