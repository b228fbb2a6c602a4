//! The `csmrun-emulator` binary: flags, the first stdout line, the demo seed and seed files.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_csmrun-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    (Running { child, base }, line)
}

fn get(url: &str) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(url)
            .bearer_auth("t")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

#[test]
fn first_stdout_line_names_the_listening_url() {
    let (running, line) = start(&["--listen", "127.0.0.1:0"]);
    let re =
        regex::Regex::new(r"^csmrun-emulator listening on http://127\.0\.0\.1:\d+\n$").unwrap();
    assert!(re.is_match(&line), "{line:?}");
    assert!(running.base.starts_with("http://127.0.0.1:"));
}

#[test]
fn no_seed_flag_serves_the_meshapps_demo_infrastructure() {
    let (running, _) = start(&[]);
    let (status, project) = get(&format!(
        "{}/cloudresourcemanager/v1/projects/demo-project",
        running.base
    ));
    assert_eq!(status, 200);
    assert_eq!(project["projectNumber"], "123456789012");
    let base = &running.base;
    let (status, subnet) = get(&format!(
        "{base}/compute/v1/projects/demo-project/regions/asia-northeast1/subnetworks/mesh-subnet"
    ));
    assert_eq!(status, 200, "{subnet}");
    assert_eq!(subnet["privateIpGoogleAccess"], true);
    assert!(subnet["network"]
        .as_str()
        .unwrap()
        .ends_with("/global/networks/mesh-vpc"));
    let (status, mesh) = get(&format!(
        "{base}/networkservices/v1/projects/demo-project/locations/global/meshes/meshapps"
    ));
    assert_eq!(status, 200, "{mesh}");
    assert_eq!(mesh["createTime"], "2026-01-01T00:00:00.000000Z");
    let (_, state) = get(&format!("{base}/_emulator/state"));
    let accounts = state["projects"][0]["serviceAccounts"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(accounts, 6);
}

#[test]
fn seed_file_replaces_the_demo_project() {
    let dir = std::env::temp_dir().join(format!("csmrun-emulator-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    std::fs::write(
        &seed,
        r#"{"timeScale": 0, "projects": [{"id": "p1", "number": "111"}]}"#,
    )
    .unwrap();
    let (running, _) = start(&["--seed", seed.to_str().unwrap(), "--time-scale", "0.5"]);
    assert_eq!(
        get(&format!(
            "{}/cloudresourcemanager/v1/projects/p1",
            running.base
        ))
        .0,
        200
    );
    assert_eq!(
        get(&format!(
            "{}/cloudresourcemanager/v1/projects/demo-project",
            running.base
        ))
        .0,
        403
    );
    let (_, state) = get(&format!("{}/_emulator/state", running.base));
    assert_eq!(state["settings"]["timeScale"], 0.5);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_seed_file_stops_the_binary_with_a_message() {
    let dir = std::env::temp_dir().join(format!("csmrun-emulator-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    std::fs::write(&seed, r#"{"projectz": []}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_csmrun-emulator"))
        .args(["--seed", seed.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("seed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}
