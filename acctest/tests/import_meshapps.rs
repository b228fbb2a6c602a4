//! The meshapps example (`examples/meshapps/`, what `scripts/demo` applies) applied in one directory,
//! then imported service by service into another with the same configuration: every service gets its
//! own parts back (target3 its own route, not target2's route that splits 50:50 to it; target-green
//! its own, not target's 99:1 canary) and the first plan is empty.

use std::path::PathBuf;

use csmrun_acctest::consistency::{self, Baseline};
use csmrun_acctest::emulator::TestEmulator;
use csmrun_acctest::hcl::ProviderSettings;
use csmrun_acctest::seed::TIME_SCALE;
use csmrun_acctest::stack::{provider_dir, Stack, GUARD};
use csmrun_acctest::terraform::{self, Output, Terraform, WorkDir};
use serde_json::{json, Value};

/// `(resource label, service name)` of every service of the example.
const SERVICES: &[(&str, &str)] = &[
    ("client", "client"),
    ("proxy", "proxy"),
    ("target1", "target1"),
    ("target2", "target2"),
    ("target3", "target3"),
    ("target", "target"),
    ("target_green", "target-green"),
];

/// The provider's wait after a new `roles/trafficdirector.client` grant, as `scripts/demo` sets it: 1.5 times
/// the emulator's scaled 90 s propagation delay, at least 1 s.
fn iam_wait() -> String {
    let secs = (90.0 * TIME_SCALE * 1.5).ceil().max(1.0);
    format!("{secs}s")
}

/// The example's `.tf` files.
fn example_files() -> Vec<(String, String)> {
    let dir = terraform::workspace_root().join("examples/meshapps");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            (name, text)
        })
        .collect();
    files.sort();
    assert!(
        files.iter().any(|(n, _)| n == "main.tf"),
        "examples/meshapps has no main.tf"
    );
    files
}

/// A work dir of `tf` whose provider is the built one and points at `emu`, holding `files` and the
/// demo's variables.
fn workdir(tf: &Terraform, emu: &TestEmulator, files: &[(String, String)]) -> WorkDir {
    let mut wd = tf.workdir().expect("a Terraform work dir");
    wd.dev_override(
        "csmrun/csmrun",
        &provider_dir().expect("the built provider"),
    )
    .expect("dev_overrides");
    wd.set_env("CSMRUN_EMULATOR_HOST", &emu.host());
    for (name, text) in files {
        wd.write(name, text).expect("writing the configuration");
    }
    wd.write(
        "terraform.tfvars",
        &format!("iam_propagation_wait = \"{}\"\n", iam_wait()),
    )
    .expect("writing terraform.tfvars");
    wd
}

/// `terraform ARGS -no-color` in `wd`, to completion.
fn run(wd: &WorkDir, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.push("-no-color");
    wd.spawn(&all)
        .expect("starting terraform")
        .wait(GUARD)
        .unwrap_or_else(|e| panic!("terraform {}: {e}", args.join(" ")))
}

/// The example applied on a demo-project emulator, with the baseline taken before the apply.
fn applied_example() -> Stack {
    let emu = TestEmulator::start_demo(TIME_SCALE).expect("starting the demo emulator");
    let tf = Terraform::find().expect("the pinned Terraform (TF_ACC_TERRAFORM_PATH)");
    let wd = workdir(&tf, &emu, &example_files());
    let baseline = Baseline::capture(&emu.state().expect("emulator state"));
    let stack = Stack {
        emu,
        wd,
        provider: ProviderSettings::default(),
        baseline,
    };
    stack.apply_ok();
    stack.assert_empty_plan("the applied example");
    stack
}

fn values(wd: &WorkDir, label: &str) -> Value {
    let address = format!("csmrun_service.{label}");
    wd.resource_values(&address)
        .expect("terraform show -json")
        .unwrap_or_else(|| panic!("{address} is not in the importing directory's state"))
}

#[test]
fn every_meshapps_service_imported_one_by_one_gets_its_own_route_and_plans_empty() {
    let stack = applied_example();
    let tf = Terraform::find().expect("the pinned Terraform (TF_ACC_TERRAFORM_PATH)");
    // The same configuration without outputs.tf: import brings resources, not output values, so Terraform
    // would plan to record the outputs (exit 2) however exactly the resources were imported.
    let files: Vec<(String, String)> = example_files()
        .into_iter()
        .filter(|(name, _)| name != "outputs.tf")
        .collect();
    let other = workdir(&tf, &stack.emu, &files);
    for (label, name) in SERVICES {
        tf_ok(
            &other,
            &["import", &format!("csmrun_service.{label}"), name],
        );
    }
    // Each service's parts are its own, as the applying directory recorded them.
    for (label, _) in SERVICES {
        let want = stack.values(label);
        let got = values(&other, label);
        for key in [
            "route_name",
            "hostname",
            "url",
            "http_route",
            "neg_name",
            "backend_service_name",
            "domain",
            "dns_zone_name",
        ] {
            assert_eq!(got[key], want[key], "imported {label}: {key}");
        }
    }
    let target3 = values(&other, "target3");
    assert_eq!(target3["route_name"], "target3-route");
    assert_eq!(target3["hostname"], "target3.meshapps.internal");
    assert_eq!(
        target3["route"],
        json!([]),
        "target3 has no split of its own"
    );
    let green = values(&other, "target_green");
    assert_eq!(green["route_name"], "target-green-route");
    let target2 = values(&other, "target2");
    assert_eq!(target2["route_name"], "target2-route");
    assert_eq!(target2["route"][0]["weight"], 50);
    // `invokers = []` in the configuration and nobody in the policy: the same, so no `+ invokers = []`.
    assert_eq!(values(&other, "client")["invokers"], json!([]));

    let plan = run(&other, &["plan", "-detailed-exitcode"]);
    assert_eq!(
        plan.code,
        Some(0),
        "the first plan after importing every service must be empty:\n{}",
        plan.combined()
    );
    consistency::assert_agree(
        &other.show_json().expect("terraform show -json"),
        &stack.state(),
        &stack.baseline,
    );
    // The imported state names exactly the parts that exist: destroying from it leaves nothing behind.
    tf_ok(&other, &["destroy", "-auto-approve"]);
    consistency::assert_agree(
        &other.show_json().expect("terraform show -json"),
        &stack.state(),
        &stack.baseline,
    );
}

fn tf_ok(wd: &WorkDir, args: &[&str]) -> Output {
    let out = run(wd, args);
    out.assert_success(&args.join(" "));
    out
}

/// A Terraform with `import` blocks and `-generate-config-out` (>= 1.5): `TF_ACC_TERRAFORM_IMPORT_BLOCKS_PATH`,
/// else `terraform` on PATH.
fn terraform_with_import_blocks() -> Terraform {
    let path = std::env::var_os("TF_ACC_TERRAFORM_IMPORT_BLOCKS_PATH")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("terraform"))
                    .find(|p| p.is_file())
            })
        })
        .expect(
            "no Terraform >= 1.5 for import blocks: set TF_ACC_TERRAFORM_IMPORT_BLOCKS_PATH or put terraform on PATH",
        );
    let tf = Terraform::at(&path).expect("the Terraform for import blocks");
    let out = std::process::Command::new(tf.path())
        .arg("version")
        .output()
        .expect("terraform version");
    let version = String::from_utf8_lossy(&out.stdout).into_owned();
    let minor = version
        .strip_prefix("Terraform v1.")
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    assert!(
        minor.is_some_and(|m| m >= 5),
        "{} is {version:?}; import blocks need Terraform >= 1.5 (set TF_ACC_TERRAFORM_IMPORT_BLOCKS_PATH)",
        path.display()
    );
    tf
}

#[test]
fn an_import_block_generates_target3_with_its_own_route_not_the_split_that_reaches_it() {
    let stack = applied_example();
    let tf = terraform_with_import_blocks();
    // Only the provider and the variables: -generate-config-out writes the resource itself.
    let mut files: Vec<(String, String)> = example_files()
        .into_iter()
        .filter(|(name, _)| name == "versions.tf" || name == "variables.tf")
        .collect();
    files.push((
        "main.tf".into(),
        "provider \"csmrun\" {\n  project              = var.project\n  region               = var.region\n  \
         iam_propagation_wait = var.iam_propagation_wait\n  mesh_settle_time     = var.mesh_settle_time\n}\n\n\
         import {\n  to = csmrun_service.target3\n  id = \"target3\"\n}\n"
            .into(),
    ));
    let other = workdir(&tf, &stack.emu, &files);
    let plan = tf_ok(&other, &["plan", "-generate-config-out=generated.tf"]);
    let generated = std::fs::read_to_string(other.path().join("generated.tf"))
        .unwrap_or_else(|e| panic!("no generated.tf ({e}):\n{}", plan.combined()));
    let line = |key: &str, value: &str| {
        generated.lines().any(|l| {
            l.trim_start().strip_prefix(key).is_some_and(|rest| {
                rest.trim_start().strip_prefix('=').map(str::trim) == Some(value)
            })
        })
    };
    assert!(
        line("route_name", "\"target3-route\""),
        "generated config lacks target3's own route:\n{generated}"
    );
    assert!(
        line("hostname", "\"target3.meshapps.internal\""),
        "generated config lacks target3's own hostname:\n{generated}"
    );
    assert!(
        !generated.contains("route {") && !generated.contains("target2"),
        "target3 got target2's split:\n{generated}"
    );
    assert!(
        plan.stdout
            .contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "the import plan must change nothing:\n{}",
        plan.combined()
    );
    tf_ok(&other, &["apply", "-auto-approve"]);
    let after = run(&other, &["plan", "-detailed-exitcode"]);
    assert_eq!(
        after.code,
        Some(0),
        "the plan after importing with the generated config must be empty:\n{}",
        after.combined()
    );
}
