//! Replays the Cloud Run, Cloud DNS and Resource Manager requests of recorded real Google Cloud traffic
//! (`tests/transcripts/`) against the emulator and compares the SHAPE of every answer with Google's: the status
//! code, every field Google returned (present, same JSON type, recursively), and the exact key set of error
//! objects. Values are not compared; fields the emulator adds beyond Google's answer are allowed here (the
//! conformance test checks them against the discovery schemas).
//!
//! Placeholders of the normalised recordings map to live values: `${projectId}`/`${projectNumber}` to the replay
//! project, `${operationID}` to the operation the emulator last returned, an etag in a request body to the etag
//! the emulator last returned (a client sends what it read), and an empty DNS change id (a normaliser artifact)
//! to the change the emulator last returned. Zone calls recorded on DNS `v1beta2` are replayed on `v1` (same
//! resource shape). Calls to other APIs are skipped.

use csmrun_emulator::seed::Seed;
mod common;

use common::Env;
use csmrun_emulator::{Config, SeedSource};
use serde_json::Value;
use std::path::PathBuf;

/// The replay project: one binding so project policies have `bindings` like the recorded project's, and the
/// recorded project's own service account (setIamPolicy refuses unknown accounts of the project).
const SEED: &str = r#"{"projects": [{"id": "fidelity-project", "number": "987654321098",
    "networks": [{"name": "default", "subnetworks": []}],
    "serviceAccounts": ["app@fidelity-project.iam.gserviceaccount.com",
                        "overseer-kcc-tester@fidelity-project.iam.gserviceaccount.com"],
    "iamBindings": [{"role": "roles/viewer",
                     "members": ["serviceAccount:app@fidelity-project.iam.gserviceaccount.com"]}]}]}"#;
const PROJECT: &str = "fidelity-project";
const NUMBER: &str = "987654321098";

struct Exchange {
    method: String,
    url: String,
    body: Option<Value>,
    status: u16,
    answer: Option<Value>,
}

fn json_or_none(text: &str) -> Option<Value> {
    let text = text.trim();
    if text.is_empty() {
        None
    } else {
        Some(
            serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("transcript JSON: {e}: {text:.200}")),
        )
    }
}

/// Splits one `---` block: request line, headers, blank, body, status line, headers, blank, body.
fn exchange(block: &str) -> Option<Exchange> {
    let lines: Vec<&str> = block.trim_matches('\n').lines().collect();
    let (method, url) = lines.first()?.split_once(' ')?;
    let status_at = lines.iter().position(|l| {
        l.len() > 4 && l.as_bytes()[..3].iter().all(u8::is_ascii_digit) && l.as_bytes()[3] == b' '
    })?;
    let request_blank = lines
        .iter()
        .position(|l| l.trim().is_empty())
        .unwrap_or(status_at);
    let body = json_or_none(&lines[request_blank.min(status_at)..status_at].join("\n"));
    let response_blank = lines[status_at..]
        .iter()
        .position(|l| l.trim().is_empty())
        .map(|i| i + status_at);
    let answer = response_blank.and_then(|b| json_or_none(&lines[b..].join("\n")));
    Some(Exchange {
        method: method.to_string(),
        url: url.to_string(),
        body,
        status: lines[status_at][..3].parse().ok()?,
        answer,
    })
}

fn transcript(rel: &str) -> Vec<Exchange> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split("\n---\n").filter_map(exchange).collect()
}

/// The emulator path for a recorded URL of one of this test's APIs (query kept), or None to skip it.
fn emulator_path(url: &str) -> Option<String> {
    let url = url
        .replace("${projectId}", PROJECT)
        .replace("${projectNumber}", NUMBER)
        .replace("${uniqueId}", "fid1");
    if let Some(rest) = url.strip_prefix("https://run.googleapis.com/") {
        return Some(format!("/run/{rest}"));
    }
    if let Some(rest) = url.strip_prefix("https://dns.googleapis.com/dns/") {
        return Some(format!("/dns/{}", rest.replacen("v1beta2/", "v1/", 1)));
    }
    url.strip_prefix("https://cloudresourcemanager.googleapis.com/")
        .map(|rest| format!("/cloudresourcemanager/{rest}"))
}

/// Every way `ours` differs in shape from Google's `theirs`, as `where: what` lines.
fn shape_diff(theirs: &Value, ours: &Value, at: &str, out: &mut Vec<String>) {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if kind(theirs) != kind(ours) {
        out.push(format!(
            "{at}: Google has {}, emulator has {}",
            kind(theirs),
            kind(ours)
        ));
        return;
    }
    match (theirs, ours) {
        (Value::Object(t), Value::Object(o)) => {
            if at.ends_with(".error") {
                let tk: Vec<&String> = t.keys().filter(|k| *k != "details").collect();
                let ok: Vec<&String> = o.keys().filter(|k| *k != "details").collect();
                let (mut tk, mut ok) = (tk, ok);
                tk.sort();
                ok.sort();
                if tk != ok {
                    out.push(format!("{at}: error keys {tk:?}, emulator has {ok:?}"));
                }
            }
            for (k, tv) in t {
                match o.get(k) {
                    Some(ov) => shape_diff(tv, ov, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}: missing")),
                }
            }
        }
        (Value::Array(t), Value::Array(o)) => {
            for (i, (tv, ov)) in t.iter().zip(o.iter()).enumerate() {
                shape_diff(tv, ov, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[derive(Default)]
struct Live {
    operation: Option<String>,
    etag: Option<String>,
    change: Option<String>,
}

impl Live {
    fn learn(&mut self, answer: &Value) {
        if let Some(name) = answer["name"]
            .as_str()
            .filter(|n| n.contains("/operations/"))
        {
            self.operation = name.rsplit('/').next().map(str::to_string);
        }
        if let Some(etag) = answer["etag"].as_str() {
            self.etag = Some(etag.to_string());
        }
        if answer["kind"] == "dns#change" {
            self.change = answer["id"].as_str().map(str::to_string);
        }
    }

    fn path(&self, path: &str) -> String {
        let mut out = path.to_string();
        if let Some(op) = &self.operation {
            out = out.replace("${operationID}", op);
        }
        if let Some(change) = &self.change {
            out = out.replace("/changes/?", &format!("/changes/{change}?"));
        }
        out
    }

    fn body(&self, body: &Value) -> Value {
        let text = body
            .to_string()
            .replace("${projectId}", PROJECT)
            .replace("${projectNumber}", NUMBER)
            .replace("${uniqueId}", "fid1");
        let mut v: Value = serde_json::from_str(&text).expect("substituted body");
        if let (Some(etag), Some(policy)) = (&self.etag, v.get_mut("policy")) {
            if policy.get("etag").is_some() {
                policy["etag"] = Value::from(etag.clone());
            }
        }
        v
    }
}

async fn replay(rel: &str) -> (usize, Vec<String>) {
    let seed = Seed::from_json(SEED).unwrap();
    // Time scale 0: operations finish by the next request, as the recorded polls show them.
    let env = Env::with(Config {
        seed: SeedSource::Inline(seed),
        time_scale: Some(0.0),
        ..Config::default()
    })
    .await;
    let mut live = Live::default();
    let mut problems = Vec::new();
    let mut replayed = 0;
    for (i, ex) in transcript(rel).iter().enumerate() {
        let Some(path) = emulator_path(&ex.url) else {
            continue;
        };
        let path = live.path(&path);
        let body = ex.body.as_ref().map(|b| live.body(b));
        let (status, text) = env.call_text(&ex.method, &path, body.as_ref()).await;
        let ours: Option<Value> = serde_json::from_str(&text).ok();
        replayed += 1;
        let at = format!("{rel} [{i}] {} {path}", ex.method);
        if status != ex.status {
            problems.push(format!(
                "{at}: status {status}, Google answered {}: {text:.300}",
                ex.status
            ));
            continue;
        }
        match (&ex.answer, &ours) {
            (Some(theirs), Some(ours)) => {
                let mut diffs = Vec::new();
                shape_diff(theirs, ours, "", &mut diffs);
                problems.extend(diffs.into_iter().map(|d| format!("{at}: {d}")));
            }
            (Some(_), None) => problems.push(format!(
                "{at}: Google answered JSON, emulator answered {text:.200}"
            )),
            _ => {}
        }
        if let Some(ours) = &ours {
            live.learn(ours);
        }
    }
    env.emu.shutdown().await;
    (replayed, problems)
}

async fn assert_same_shapes(rel: &str, at_least: usize) {
    let (replayed, problems) = replay(rel).await;
    assert!(
        replayed >= at_least,
        "{rel}: only {replayed} exchanges replayed"
    );
    assert!(
        problems.is_empty(),
        "{} shape differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[tokio::test]
async fn cloud_run_service_lifecycle_answers_have_googles_shapes() {
    assert_same_shapes(
        "run/runservice-v2-plus-serverless-neg.kcc-pr9993.http.log",
        7,
    )
    .await;
}

#[tokio::test]
async fn dns_public_zone_lifecycle_answers_have_googles_shapes() {
    assert_same_shapes(
        "dns/managedzone-public-crud-gcloud.mockgcptests.http.log",
        4,
    )
    .await;
}

#[tokio::test]
async fn dns_rrsets_api_answers_have_googles_shapes() {
    assert_same_shapes(
        "dns/recordset-rrsets-api-crud-gcloud.mockgcptests.http.log",
        7,
    )
    .await;
}

#[tokio::test]
async fn dns_changes_api_answers_have_googles_shapes() {
    assert_same_shapes(
        "dns/recordset-changes-api-public-zone.kcc-pr9082.http.log",
        10,
    )
    .await;
}

#[tokio::test]
async fn project_iam_read_modify_write_answers_have_googles_shapes() {
    assert_same_shapes(
        "resourcemanager/project-iam-policymember-in-dataproc-simple.kcc-pr10821.http.log",
        8,
    )
    .await;
}

#[test]
fn shape_comparison_reports_missing_fields_type_changes_and_extra_error_keys() {
    let theirs = serde_json::json!({"a": {"b": 1}, "list": [{"c": "x"}], "error": {"code": 404, "message": "m"}});
    let ours = serde_json::json!({"a": {"b": "1"}, "list": [{}], "error": {"code": 404, "message": "m", "status": "NOT_FOUND"}});
    let mut diffs = Vec::new();
    shape_diff(&theirs, &ours, "", &mut diffs);
    assert_eq!(diffs.len(), 3, "{diffs:?}");
    let mut none = Vec::new();
    shape_diff(&theirs, &theirs, "", &mut none);
    assert!(none.is_empty());
}
