//! Issue 15's end-to-end test in one stack: `examples/meshapps` applied with the real Terraform plus a
//! `data "csmrun_mesh"`, whose outputs (hostnames, weights, invokers, the Mermaid text) are asserted, then the
//! talk's calls through the emulator's mesh proxy with curl: client -> target23 answered by both targets,
//! client -> target1 refused (403), client -> proxy -> target1 allowed, and `end-user: jason` sent to green.

use std::collections::BTreeMap;
use std::process::Command;

use csmrun_acctest::consistency::Baseline;
use csmrun_acctest::emulator::TestEmulator;
use csmrun_acctest::hcl::ProviderSettings;
use csmrun_acctest::seed::TIME_SCALE;
use csmrun_acctest::stack::{provider_dir, Stack};
use csmrun_acctest::terraform::{self, Terraform};
use serde_json::{json, Value};

/// The example's resource labels, which the data source waits for.
const LABELS: &[&str] = &[
    "client",
    "proxy",
    "target1",
    "target2",
    "target3",
    "target",
    "target_green",
];

/// The data source and its outputs, read once the services exist (`depends_on`: else Terraform reads it at
/// plan time, before the apply made anything).
fn mesh_tf() -> String {
    let deps: Vec<String> = LABELS
        .iter()
        .map(|l| format!("csmrun_service.{l}"))
        .collect();
    format!(
        r#"
data "csmrun_mesh" "meshapps" {{
  mesh       = "meshapps"
  depends_on = [{}]
}}

output "mesh_id" {{
  value = data.csmrun_mesh.meshapps.id
}}

output "mesh_hostnames" {{
  value = data.csmrun_mesh.meshapps.hostnames
}}

output "mesh_services" {{
  value = data.csmrun_mesh.meshapps.services
}}

output "mesh_calls" {{
  value = data.csmrun_mesh.meshapps.calls
}}

output "mesh_mermaid" {{
  value = data.csmrun_mesh.meshapps.mermaid
}}
"#,
        deps.join(", ")
    )
}

/// The provider's wait after a new `roles/trafficdirector.client` grant, as `scripts/demo` sets it.
fn iam_wait() -> String {
    let secs = (90.0 * TIME_SCALE * 1.5).ceil().max(1.0);
    format!("{secs}s")
}

/// The example applied with the data source on a demo-project emulator.
fn applied() -> Stack {
    let emu = TestEmulator::start_demo(TIME_SCALE).expect("starting the demo emulator");
    let tf = Terraform::find().expect("the pinned Terraform (TF_ACC_TERRAFORM_PATH)");
    let mut wd = tf.workdir().expect("a Terraform work dir");
    wd.dev_override(
        "csmrun/csmrun",
        &provider_dir().expect("the built provider"),
    )
    .expect("dev_overrides");
    wd.set_env("CSMRUN_EMULATOR_HOST", &emu.host());
    let dir = terraform::workspace_root().join("examples/meshapps");
    for entry in
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
    {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|x| x == "tf") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            wd.write(&name, &text).expect("writing the example");
        }
    }
    wd.write("mesh.tf", &mesh_tf()).expect("writing mesh.tf");
    wd.write(
        "terraform.tfvars",
        &format!("iam_propagation_wait = \"{}\"\n", iam_wait()),
    )
    .expect("writing terraform.tfvars");
    let baseline = Baseline::capture(&emu.state().expect("emulator state"));
    let stack = Stack {
        emu,
        wd,
        provider: ProviderSettings::default(),
        baseline,
    };
    stack.apply_ok();
    stack.assert_empty_plan("the applied example with the data source");
    stack
}

fn outputs(stack: &Stack) -> Value {
    let out = stack.tf(&["output", "-json"]);
    out.assert_success("terraform output -json");
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("output -json: {e}: {}", out.stdout))
}

/// `(status, body)` of one GET through the mesh proxy as `caller`'s sidecar, with extra `headers`.
fn call(proxy: &str, caller: &str, url: &str, headers: &[&str]) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "30", "-w", "\n%{http_code}", "-x"])
        .arg(format!("http://{caller}@{proxy}"));
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().expect("running curl (install curl)");
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        status
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("curl status {status:?}: {e}")),
        body.to_string(),
    )
}

fn served_by(body: &str) -> String {
    let v: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("workload answer {body:?}: {e}"));
    v["service"].as_str().unwrap_or_default().to_string()
}

#[test]
fn meshapps_data_source_describes_the_mesh_the_proxy_routes() {
    let stack = applied();
    let out = outputs(&stack);

    // The data source: hostnames with their rules, weights and destination services.
    assert_eq!(
        out["mesh_id"]["value"],
        "projects/demo-project/locations/global/meshes/meshapps"
    );
    let hostnames = out["mesh_hostnames"]["value"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let by_host: BTreeMap<String, Value> = hostnames
        .iter()
        .map(|h| {
            (
                h["hostname"].as_str().unwrap_or_default().to_string(),
                h["rules"].clone(),
            )
        })
        .collect();
    assert_eq!(
        by_host.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "client.meshapps.internal",
            "proxy.meshapps.internal",
            "target-green.meshapps.internal",
            "target.meshapps.internal",
            "target1.meshapps.internal",
            "target23.meshapps.internal",
            "target3.meshapps.internal"
        ]
    );
    let split = |host: &str, rule: usize| -> Vec<(String, Value)> {
        by_host[host][rule]["destinations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                (
                    d["service"].as_str().unwrap_or("?").to_string(),
                    d["weight"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        split("target23.meshapps.internal", 0),
        [
            ("target2".to_string(), json!(50)),
            ("target3".to_string(), json!(50))
        ]
    );
    let target = &by_host["target.meshapps.internal"];
    assert_eq!(target[0]["matches"], json!(["header end-user = jason"]));
    assert_eq!(
        split("target.meshapps.internal", 0),
        [("target-green".to_string(), json!(100))]
    );
    assert_eq!(
        split("target.meshapps.internal", 1),
        [
            ("target".to_string(), json!(99)),
            ("target-green".to_string(), json!(1))
        ]
    );

    // Invokers and who may call whom.
    let services = out["mesh_services"]["value"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let target1 = services
        .iter()
        .find(|s| s["name"] == "target1")
        .unwrap_or_else(|| panic!("target1 not among {services:?}"));
    assert_eq!(
        target1["invokers"],
        json!(["serviceAccount:meshapps-proxy@demo-project.iam.gserviceaccount.com"])
    );
    assert!(
        services.iter().all(|s| s["mesh_client"] == true),
        "{services:?}"
    );
    assert!(
        target1["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://target1-")),
        "{target1}"
    );
    let calls: Vec<(String, String)> = out["mesh_calls"]["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["caller"].as_str().unwrap_or_default().into(),
                c["service"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        calls,
        [
            pair("client", "proxy"),
            pair("client", "target"),
            pair("client", "target-green"),
            pair("client", "target2"),
            pair("client", "target3"),
            pair("proxy", "target1")
        ]
    );
    let mermaid = out["mesh_mermaid"]["value"].as_str().unwrap_or_default();
    for line in [
        "flowchart LR",
        "  host_target23_meshapps_internal -->|\"weight 50\"| svc_target2",
        "  host_target_meshapps_internal -->|\"header end-user = jason\"| svc_target_green",
        "  host_target_meshapps_internal -->|\"rule 2: any request, weight 99\"| svc_target",
        "  svc_proxy -.-> svc_target1",
    ] {
        assert!(
            mermaid.lines().any(|l| l == line),
            "mermaid lacks {line:?}:\n{mermaid}"
        );
    }
    assert!(
        !mermaid.contains("svc_client -.-> svc_target1"),
        "{mermaid}"
    );

    // The same mesh, called through the proxy. The invoker grants take effect after IAM propagation: move the
    // clock past it; a seed makes the weighted draws repeatable.
    stack
        .emu
        .clock(&json!({"advance": "120s"}))
        .expect("advancing the clock");
    stack
        .emu
        .settings(&json!({"meshSeed": 2029}))
        .expect("seeding the mesh");
    let proxy = stack.emu.mesh_proxy_addr();
    let mut served: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..10 {
        let (status, body) = call(&proxy, "client", "http://target23.meshapps.internal/", &[]);
        assert_eq!(status, 200, "client -> target23: {body}");
        *served.entry(served_by(&body)).or_default() += 1;
    }
    assert_eq!(
        served.keys().map(String::as_str).collect::<Vec<_>>(),
        ["target2", "target3"],
        "both targets answer target23: {served:?}"
    );
    let (status, body) = call(&proxy, "client", "http://target1.meshapps.internal/", &[]);
    assert_eq!(status, 403, "client -> target1 must be refused: {body}");
    let (status, body) = call(
        &proxy,
        "client",
        "http://proxy.meshapps.internal/call/target1.meshapps.internal",
        &[],
    );
    assert_eq!(status, 200, "client -> proxy -> target1: {body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert_eq!(v["message"], "client <- proxy <- target1");
    for _ in 0..5 {
        let (status, body) = call(
            &proxy,
            "client",
            "http://target.meshapps.internal/",
            &["end-user: jason"],
        );
        assert_eq!(status, 200, "jason -> target: {body}");
        assert_eq!(
            served_by(&body),
            "target-green",
            "end-user: jason goes to green"
        );
    }
}
