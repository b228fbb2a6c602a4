//! Replays the Compute and Network Services requests of recorded real Google Cloud traffic against the
//! emulator and compares the SHAPE of each answer (status code, field names, JSON types; not values).
//!
//! Placeholders of the normalised recordings are mapped to live values: `${projectId}` to the demo project,
//! `${operationID}` to the operation the emulator last returned, a resource placeholder to the resource the
//! replay created for it, and a recorded fingerprint to the one the emulator last returned (a client sends
//! what it read). Calls to APIs outside this module's scope (Cloud Run, network security, gateways) and
//! polls of their operations are skipped.

mod common;

use common::Env;
use csmrun_emulator::Config;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

const PROJECT: &str = "demo-project";
const NUMBER: &str = "123456789012";
/// Resource placeholders that stand for a different resource after each create: placeholder, the
/// collection whose insert creates one, and the name prefix used for it.
const RESOURCE_PLACEHOLDERS: [(&str, &str, &str); 2] = [
    ("${backendServiceID}", "/backendServices", "bs"),
    ("${networkEndpointGroupID}", "/networkEndpointGroups", "neg"),
];

/// One request/answer pair of a recording.
struct Exchange {
    method: String,
    url: String,
    body: Option<Value>,
    status: u16,
    answer: Option<Value>,
}

fn transcript(rel: &str) -> Vec<Exchange> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split("\n---\n")
        .filter(|b| !b.trim().is_empty())
        .map(parse_block)
        .collect()
}

fn parse_block(block: &str) -> Exchange {
    let lines: Vec<&str> = block.trim_matches('\n').lines().collect();
    let (method, url) = lines[0].split_once(' ').expect("request line");
    let mut i = 1;
    while i < lines.len() && !lines[i].trim().is_empty() {
        i += 1; // request headers
    }
    let is_status = |l: &str| {
        l.len() >= 4 && l[..3].bytes().all(|b| b.is_ascii_digit()) && l.as_bytes()[3] == b' '
    };
    let body_start = i + 1;
    let mut j = body_start;
    while j < lines.len() && !is_status(lines[j]) {
        j += 1;
    }
    let body_text = lines[body_start.min(j)..j].join("\n");
    let status: u16 = lines[j][..3].parse().expect("status code");
    let mut k = j + 1;
    while k < lines.len() && !lines[k].trim().is_empty() {
        k += 1; // response headers
    }
    let answer_text = lines[(k + 1).min(lines.len())..].join("\n");
    Exchange {
        method: method.to_string(),
        url: url.to_string(),
        body: parse_json(&body_text),
        status,
        answer: parse_json(&answer_text),
    }
}

fn parse_json(text: &str) -> Option<Value> {
    let text = text.trim();
    (!text.is_empty()).then(|| serde_json::from_str(text).expect("JSON body in transcript"))
}

/// Live values for the recording's placeholders.
#[derive(Default)]
struct Placeholders {
    /// Created resources per placeholder, newest last; deletes pop.
    stacks: BTreeMap<&'static str, Vec<String>>,
    created: usize,
    last_operation: Option<String>,
    last_fingerprint: Option<String>,
}

impl Placeholders {
    /// Decides this block's values once; returns them and the placeholder to pop after a delete.
    fn bind(&mut self, ex: &Exchange) -> (Vec<(&'static str, String)>, Option<&'static str>) {
        let path = ex.url.split('?').next().unwrap_or_default();
        let body = ex.body.as_ref().map(Value::to_string).unwrap_or_default();
        let mut bound = Vec::new();
        let mut pop = None;
        for (placeholder, collection, prefix) in RESOURCE_PLACEHOLDERS {
            if !path.contains(placeholder) && !body.contains(placeholder) {
                continue;
            }
            let stack = self.stacks.entry(placeholder).or_default();
            let absent = format!("{prefix}-absent");
            let value = if ex.method == "POST" && path.ends_with(collection) {
                self.created += 1;
                stack.push(format!("{prefix}-{}", self.created));
                stack.last().cloned()
            } else if ex.method == "GET" && ex.status == 404 && path.contains(placeholder) {
                None
            } else {
                if ex.method == "DELETE" && path.contains(placeholder) {
                    pop = Some(placeholder);
                }
                stack.last().cloned()
            };
            bound.push((placeholder, value.unwrap_or(absent)));
        }
        (bound, pop)
    }

    fn apply(&self, bound: &[(&str, String)], text: &str) -> String {
        let mut out = text
            .replace("${projectId}", PROJECT)
            .replace("${projectNumber}", NUMBER)
            .replace("${uniqueId}", "fid1");
        if let Some(op) = &self.last_operation {
            out = out.replace("${operationID}", op);
        }
        for (placeholder, value) in bound {
            out = out.replace(placeholder, value);
        }
        out
    }
}

/// Where a recorded URL is served by the emulator, or None for calls outside this module's scope.
fn emulator_path(url: &str) -> Option<String> {
    if url.contains("/gateways") {
        return None;
    }
    if let Some(rest) = url.strip_prefix("https://compute.googleapis.com/compute/v1/") {
        return Some(format!("/compute/v1/{rest}"));
    }
    url.strip_prefix("https://networkservices.googleapis.com/")
        .map(|rest| format!("/networkservices/{rest}"))
}

async fn replay(rel: &str) -> Vec<String> {
    // Time scale 0: operations finish at the next request, as the recorded polls show them finished.
    let env = Env::with(Config {
        time_scale: Some(0.0),
        ..Config::default()
    })
    .await;
    let mut names = Placeholders::default();
    let mut mismatches = Vec::new();
    let mut skipping_operations = false;
    let mut replayed = 0;
    for (i, ex) in transcript(rel).iter().enumerate() {
        let is_poll = ex.url.contains("/operations/");
        let Some(path) = emulator_path(&ex.url) else {
            skipping_operations = true;
            continue;
        };
        if is_poll && skipping_operations {
            continue;
        }
        skipping_operations = false;
        let (bound, pop) = names.bind(ex);
        let path = names.apply(&bound, &path);
        let mut body = ex.body.as_ref().map(|b| {
            let text = names.apply(&bound, &b.to_string());
            serde_json::from_str::<Value>(&text).expect("substituted body")
        });
        if let (Some(Value::Object(b)), Some(fp)) = (body.as_mut(), &names.last_fingerprint) {
            if b.contains_key("fingerprint") {
                b.insert("fingerprint".into(), Value::from(fp.clone()));
            }
        }
        let (status, text) = env.call_text(&ex.method, &path, body.as_ref()).await;
        let answer: Option<Value> = serde_json::from_str(&text).ok();
        replayed += 1;
        let at = format!("[{i}] {} {path}", ex.method);
        if status != ex.status {
            mismatches.push(format!(
                "{at}: status {status}, Google answered {}: {text}",
                ex.status
            ));
            continue;
        }
        match (&ex.answer, &answer) {
            (Some(want), Some(got)) => compare(want, got, "$", &at, &mut mismatches),
            (None, _) => {}
            (Some(_), None) => mismatches.push(format!("{at}: no JSON answer: {text}")),
        }
        if let Some(got) = &answer {
            if let Some(op) = got
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| n.contains("operation-"))
            {
                names.last_operation = op.rsplit('/').next().map(str::to_string);
            }
            if let Some(fp) = got.get("fingerprint").and_then(Value::as_str) {
                names.last_fingerprint = Some(fp.to_string());
            }
        }
        if let Some(placeholder) = pop {
            names.stacks.entry(placeholder).or_default().pop();
        }
    }
    assert!(replayed > 0, "{rel}: nothing replayed");
    env.emu.shutdown().await;
    mismatches
}

/// Fields whose presence differs between recordings of the same call only by normaliser version
/// (`tests/transcripts/README.md`): `requestedCancellation`, and `done` while it is false.
fn normaliser_dependent(key: &str, v: Option<&Value>) -> bool {
    key == "requestedCancellation" || (key == "done" && v.is_none_or(|v| v == &Value::Bool(false)))
}

fn compare(want: &Value, got: &Value, at: &str, block: &str, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => {
                        if !normaliser_dependent(k, Some(wv)) {
                            compare(wv, gv, &format!("{at}.{k}"), block, out);
                        }
                    }
                    None if normaliser_dependent(k, Some(wv)) => {}
                    None => out.push(format!("{block}: {at}.{k} missing (Google: {wv})")),
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) && !normaliser_dependent(k, Some(gv)) {
                    out.push(format!(
                        "{block}: {at}.{k} not in Google's answer (emulator: {gv})"
                    ));
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.is_empty() != g.is_empty() {
                out.push(format!(
                    "{block}: {at} has {} items, Google {}",
                    g.len(),
                    w.len()
                ));
            }
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                compare(wv, gv, &format!("{at}[{i}]"), block, out);
            }
        }
        (w, g) if kind(w) == kind(g) => {}
        (w, g) => out.push(format!(
            "{block}: {at} is {} ({g}), Google {} ({w})",
            kind(g),
            kind(w)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn assert_same_shape(rel: &str, mismatches: Vec<String>) {
    assert!(
        mismatches.is_empty(),
        "{rel}: {} shape differences:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn backend_service_crud_by_gcloud_has_googles_shapes() {
    let rel = "compute/backendservice-global-crud-gcloud.mockgcptests.http.log";
    assert_same_shape(rel, replay(rel).await);
}

#[tokio::test]
async fn internal_self_managed_backend_service_updates_have_googles_shapes() {
    let rel =
        "compute/backendservice-global-internal-self-managed-securitysettings.kcc-pr9993.http.log";
    assert_same_shape(rel, replay(rel).await);
}

#[tokio::test]
async fn serverless_neg_insert_get_delete_have_googles_shapes() {
    let rel = "run/runservice-v2-plus-serverless-neg.kcc-pr9993.http.log";
    assert_same_shape(rel, replay(rel).await);
}

#[tokio::test]
async fn mesh_crud_by_gcloud_has_googles_shapes() {
    let rel = "networkservices/mesh-crud-gcloud.mockgcptests-pr5535.http.log";
    assert_same_shape(rel, replay(rel).await);
}

#[tokio::test]
async fn http_route_crud_by_gcloud_has_googles_shapes() {
    let rel = "networkservices/httproute-crud-gcloud.mockgcptests-pr5537.http.log";
    assert_same_shape(rel, replay(rel).await);
}

#[tokio::test]
async fn http_route_on_meshes_with_patch_has_googles_shapes() {
    let rel = "networkservices/httproute-with-meshes-gateways-ism-backendservices.kcc.http.log";
    assert_same_shape(rel, replay(rel).await);
}

#[test]
fn the_shape_comparison_reports_missing_extra_and_retyped_fields() {
    let mut out = Vec::new();
    let want =
        serde_json::json!({"a": 1, "b": "x", "c": [{"d": true}], "requestedCancellation": null});
    let got = serde_json::json!({"a": "1", "c": [{"d": true, "e": 2}], "f": null, "requestedCancellation": false});
    compare(&want, &got, "$", "t", &mut out);
    assert_eq!(out.len(), 4, "{out:#?}");
    assert!(out.iter().any(|m| m.contains("$.a is string")));
    assert!(out.iter().any(|m| m.contains("$.b missing")));
    assert!(out
        .iter()
        .any(|m| m.contains("$.c[0].e not in Google's answer")));
    assert!(out.iter().any(|m| m.contains("$.f not in Google's answer")));
}
