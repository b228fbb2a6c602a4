//! The real Terraform 1.0.3 binary against the example provider, in both ways Terraform can
//! reach a provider: started by Terraform with AutoMTLS (dev_overrides) and started by hand
//! in debug mode (TF_REATTACH_PROVIDERS). Terraform is found through TF_ACC_TERRAFORM_PATH
//! or `.tools/bin/terraform`; without it these tests fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;
use tftest::{DebugProvider, Output, Terraform, WorkDir};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-tfplugexample");
const ADDRESS: &str = "tfplugexample_thing.a";

/// Guards against a hung Terraform; not performance assertions.
const GUARD: Duration = Duration::from_secs(180);

/// Words Terraform uses when a provider breaks the protocol's rules.
const PROTOCOL_COMPLAINTS: &[&str] = &[
    "inconsistent",
    "Provider produced invalid",
    "invalid result object",
    "panic",
    "Unrecognized remote plugin message",
];

struct Env {
    wd: WorkDir,
    root: tempfile::TempDir,
    /// The debug-mode provider in reattach mode (killed on drop).
    _provider: Option<DebugProvider>,
}

fn setup(reattach: bool) -> Env {
    let tf = Terraform::find()
        .expect("terraform binary (set TF_ACC_TERRAFORM_PATH or run scripts/install-terraform)");
    let mut wd = tf.workdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let provider = if reattach {
        let provider = DebugProvider::start(Path::new(BIN), &[], GUARD)
            .expect("start the provider in debug mode");
        wd.reattach(provider.reattach());
        Some(provider)
    } else {
        let dir = Path::new(BIN).parent().unwrap();
        wd.dev_override("tfplug/tfplugexample", dir).unwrap();
        None
    };
    Env {
        wd,
        root,
        _provider: provider,
    }
}

impl Env {
    fn config(&self, body: &str) {
        let config = format!(
            "terraform {{\n  required_providers {{\n    tfplugexample = {{ source = \"tfplug/tfplugexample\" }}\n  }}\n}}\n\n\
             provider \"tfplugexample\" {{\n  root_dir = {:?}\n}}\n\n{body}\n",
            self.root.path().display().to_string()
        );
        self.wd.write("main.tf", &config).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.wd.run(args).unwrap();
        let text = out.combined();
        for complaint in PROTOCOL_COMPLAINTS {
            assert!(
                !text.contains(complaint),
                "`terraform {}` output mentions {complaint:?}:\n{text}",
                out.args
            );
        }
        out
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        out.assert_success(&args.join(" "));
        out
    }

    fn plan_exit_code(&self) -> (Option<i32>, String) {
        let out = self.run(&["plan", "-detailed-exitcode", "-no-color"]);
        (out.code, out.combined())
    }

    fn state(&self) -> Option<Json> {
        self.wd.resource_values(ADDRESS).unwrap()
    }

    fn thing_file(&self, id: &str) -> PathBuf {
        self.root.path().join(format!("{id}.json"))
    }
}

fn thing(name: &str, size: i64, extra: &str) -> String {
    format!(
        "resource \"tfplugexample_thing\" \"a\" {{\n  name = {name:?}\n  size = {size}\n  tags = {{ env = \"test\" }}\n{extra}\n  rule {{\n    port = 80\n  }}\n}}\n"
    )
}

const ECHO: &str = "data \"tfplugexample_echo\" \"e\" {\n  input = \"hello\"\n}\n\noutput \"echo\" {\n  value = data.tfplugexample_echo.e.output\n}\n";

fn full_lifecycle(env: &Env) {
    // A validation error is reported on the attribute's own line.
    env.config(&thing("alpha", -1, ""));
    let out = env.run(&["plan", "-no-color"]);
    assert_ne!(out.code, Some(0));
    let text = out.combined();
    assert!(text.contains("Invalid size"), "{text}");
    assert!(
        text.contains("size = -1"),
        "the error points at the size line:\n{text}"
    );

    // Setting a computed-only attribute is rejected on that attribute.
    env.config(&thing("alpha", 1, "  fingerprint = \"x\""));
    let out = env.run(&["plan", "-no-color"]);
    assert_ne!(out.code, Some(0));
    let text = out.combined();
    assert!(
        text.contains("Invalid Configuration for Read-Only Attribute"),
        "{text}"
    );
    assert!(text.contains("fingerprint = \"x\""), "{text}");

    // Plan and apply a create, with a data source read alongside.
    env.config(&format!("{}{ECHO}", thing("alpha", 1, "")));
    let (code, text) = env.plan_exit_code();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("will be created"), "{text}");
    env.ok(&["apply", "-auto-approve", "-no-color"]);
    let created = env.state().expect("created");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("alpha-"));
    assert_eq!(created["rule"][0]["protocol"], "tcp");
    assert!(env.thing_file(&id).is_file());
    let show = env.wd.show_json().unwrap();
    assert_eq!(
        show["values"]["outputs"]["echo"]["value"], "HELLO",
        "ReadDataSource result"
    );

    // Nothing changed: the second plan is empty.
    env.config(&thing("alpha", 1, ""));
    env.ok(&["apply", "-auto-approve", "-no-color"]);
    let (code, text) = env.plan_exit_code();
    assert_eq!(code, Some(0), "second plan must be empty:\n{text}");

    // Update in place: id kept, fingerprint recomputed.
    env.config(&thing("alpha", 2, ""));
    let (code, text) = env.plan_exit_code();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("will be updated in-place"), "{text}");
    env.ok(&["apply", "-auto-approve", "-no-color"]);
    let updated = env.state().unwrap();
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["size"], 2);
    assert_ne!(updated["fingerprint"], created["fingerprint"]);
    assert_eq!(env.plan_exit_code().0, Some(0));

    // Changing the name forces replacement.
    env.config(&thing("beta", 2, ""));
    let (code, text) = env.plan_exit_code();
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("must be replaced") && text.contains("forces replacement"),
        "{text}"
    );
    env.ok(&["apply", "-auto-approve", "-no-color"]);
    let replaced = env.state().unwrap();
    let new_id = replaced["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert!(!env.thing_file(&id).exists(), "the old thing was deleted");
    assert_eq!(env.plan_exit_code().0, Some(0));

    // Refresh picks up a change made outside Terraform; the next plan corrects it.
    let path = env.thing_file(&new_id);
    let mut on_disk: Json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    on_disk["size"] = Json::from(7);
    std::fs::write(&path, serde_json::to_vec(&on_disk).unwrap()).unwrap();
    env.ok(&["refresh", "-no-color"]);
    assert_eq!(env.state().unwrap()["size"], 7);
    let (code, text) = env.plan_exit_code();
    assert_eq!(code, Some(2), "{text}");
    env.ok(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(env.plan_exit_code().0, Some(0));

    // Import brings an existing thing back under management with an empty plan.
    env.ok(&["state", "rm", ADDRESS]);
    assert!(env.state().is_none());
    env.ok(&["import", "-no-color", ADDRESS, &new_id]);
    assert_eq!(env.state().unwrap()["id"], new_id.as_str());
    let (code, text) = env.plan_exit_code();
    assert_eq!(code, Some(0), "plan after import must be empty:\n{text}");

    // Destroy removes it.
    env.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(env.state().is_none());
    assert!(!env.thing_file(&new_id).exists());
}

fn ctrl_c_during_slow_apply(env: &Env) {
    env.config(&thing("slow", 1, "  slow_ms = 600000"));
    let running = env
        .wd
        .spawn(&["apply", "-auto-approve", "-no-color"])
        .unwrap();
    running.wait_for_output("Creating...", GUARD).unwrap();
    running.interrupt().unwrap();
    let out = running
        .wait(GUARD)
        .expect("terraform exits after Ctrl-C instead of waiting out the slow apply");
    let text = out.combined();
    assert_ne!(out.code, Some(0), "{text}");
    assert!(
        text.contains("Interrupted"),
        "the provider's cancellation diagnostic is shown:\n{text}"
    );
    for complaint in PROTOCOL_COMPLAINTS {
        assert!(!text.contains(complaint), "{complaint:?} in:\n{text}");
    }
    assert!(env.state().is_none(), "nothing half-created in state");
    // The provider (and in reattach mode, the same process) keeps working afterwards.
    let (code, text) = env.plan_exit_code();
    assert_eq!(code, Some(2), "{text}");
}

#[test]
fn automtls_full_lifecycle() {
    full_lifecycle(&setup(false));
}

#[test]
fn reattach_full_lifecycle() {
    full_lifecycle(&setup(true));
}

#[test]
fn automtls_ctrl_c_during_slow_apply_ends_cleanly() {
    ctrl_c_during_slow_apply(&setup(false));
}

#[test]
fn reattach_ctrl_c_during_slow_apply_ends_cleanly() {
    ctrl_c_during_slow_apply(&setup(true));
}

#[test]
fn provider_logs_reach_tf_log_at_their_own_level() {
    let mut env = setup(false);
    env.config(&thing("logs", 1, ""));
    env.wd.set_env("TF_LOG", "DEBUG");
    let out = env.ok(&["plan", "-no-color"]);
    let provider_line = |level: &str, message: &str| {
        out.stderr.lines().any(|l| {
            l.contains(&format!("[{level}]"))
                && l.contains("provider.terraform-provider-tfplugexample: ")
                && l.contains(message)
        })
    };
    assert!(
        provider_line("DEBUG", "PlanResourceChange"),
        "{}",
        out.stderr
    );
    assert!(
        provider_line("INFO", "tfplug provider serving"),
        "{}",
        out.stderr
    );

    env.wd.set_env("TF_LOG", "INFO");
    let out = env.ok(&["plan", "-no-color"]);
    assert!(
        out.stderr.contains("tfplug provider serving"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("PlanResourceChange"),
        "debug events are filtered at INFO:\n{}",
        out.stderr
    );
}

#[test]
fn partial_create_is_saved_and_replaced_on_the_next_apply() {
    let env = setup(false);
    env.config(&thing("partial", 1, "  fail_after_create = true"));
    let out = env.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(out.code, Some(0));
    assert!(
        out.combined().contains("Failed after creating"),
        "{}",
        out.combined()
    );
    let saved = env.state().expect("Terraform saved the partial state");
    let first_id = saved["id"].as_str().unwrap().to_string();
    assert!(env.thing_file(&first_id).is_file());

    env.config(&thing("partial", 1, ""));
    let (code, text) = env.plan_exit_code();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("tainted"), "{text}");
    env.ok(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(env.state().unwrap()["id"], first_id.as_str());
    assert!(
        !env.thing_file(&first_id).exists(),
        "the tainted object was destroyed"
    );
    assert_eq!(env.plan_exit_code().0, Some(0));
}

#[test]
fn plaintext_managed_mode_works_with_tls_disabled() {
    let mut env = setup(false);
    env.wd.set_env("TF_DISABLE_PLUGIN_TLS", "1");
    env.wd.set_env("TF_LOG", "INFO");
    env.config(&thing("plain", 1, ""));
    let out = env.ok(&["apply", "-auto-approve", "-no-color"]);
    assert!(
        out.stderr.contains("auto_mtls=false"),
        "the provider served without TLS:\n{}",
        out.stderr
    );
    assert_eq!(env.plan_exit_code().0, Some(0));
    env.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(env.state().is_none());
}
