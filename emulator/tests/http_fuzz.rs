//! A bounded HTTP fuzz of every route and the control plane: random methods, paths built from every discovery
//! method's template with hostile segments, random headers and bodies (JSON of every shape, broken JSON, bytes).
//! Whatever comes in, the emulator answers (no dropped connection, no empty reply), answers API errors in Google's
//! error format, keeps its memory bounded, and still serves a normal request afterwards.
//!
//! Seeded, so a failure can be replayed: `CSMRUN_FUZZ_SEED=N cargo test -p csmrun-emulator --test http_fuzz`;
//! `CSMRUN_FUZZ_CASES` raises the number of requests (default 2,000: seconds in CI).

mod common;

use common::*;
use csmrun_emulator::api::Api;
use csmrun_emulator::discovery;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{json, Value};

const SEGMENTS: &[&str] = &[
    "demo-project",
    "asia-northeast1",
    "global",
    "meshapps",
    "x",
    "",
    "..",
    "%2e%2e",
    "a%2Fb",
    "%00",
    "%ZZ",
    "?alt=json",
    "#frag",
    "-",
    "*",
    "名前",
    "\u{202e}evil",
    "a b",
];

fn segment(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0 => "z".repeat(rng.random_range(1..5000)),
        1 => (0..rng.random_range(1..40))
            .map(|_| char::from(rng.random_range(0x21u8..0x7f)))
            .filter(|c| !matches!(c, '/' | '?' | '#' | '%'))
            .collect(),
        _ => SEGMENTS[rng.random_range(0..SEGMENTS.len())].to_string(),
    }
}

/// Every served method's path template, as the emulator's URL (prefix + template).
fn templates() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for api in Api::ALL {
        let doc = discovery::document(api);
        for m in &doc.methods {
            let rel = m.def["flatPath"]
                .as_str()
                .or(m.def["path"].as_str())
                .unwrap_or("");
            let url = match api {
                Api::Run => format!("/run/{rel}"),
                Api::Compute => format!("/compute/v1/{rel}"),
                Api::NetworkServices => format!("/networkservices/{rel}"),
                Api::Dns => format!("/dns/{}", rel.trim_start_matches("dns/")),
                Api::ResourceManager => format!("/cloudresourcemanager/{rel}"),
            };
            out.push((m.http_method.clone(), url));
        }
    }
    out
}

/// The template with each `{var}` / `{+var}` replaced by a random (often hostile) segment.
fn fill(template: &str, rng: &mut StdRng) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&segment(rng));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn json_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 6 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random::<f64>() * 1e300),
        4 => json!(segment(rng)),
        5 => Value::Array(
            (0..rng.random_range(0..5))
                .map(|_| json_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "name",
                "labels",
                "template",
                "rules",
                "hostnames",
                "meshes",
                "policy",
                "etag",
                "rrdatas",
                "additions",
                "deletions",
                "backends",
                "cloudRun",
                "description",
                "advance",
                "rate",
                "rules",
                "timeScale",
                "method",
                "status",
                "faults",
            ];
            Value::Object(
                (0..rng.random_range(0..6))
                    .map(|_| {
                        (
                            keys[rng.random_range(0..keys.len())].to_string(),
                            json_value(rng, depth + 1),
                        )
                    })
                    .collect(),
            )
        }
    }
}

fn body(rng: &mut StdRng) -> Option<Vec<u8>> {
    match rng.random_range(0..6) {
        0 => None,
        1 => Some(b"{\"name\": ".to_vec()),
        2 => {
            let mut b = vec![0u8; rng.random_range(0..4096)];
            rng.fill_bytes(&mut b);
            Some(b)
        }
        3 => Some(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
        _ => Some(json_value(rng, 0).to_string().into_bytes()),
    }
}

const CONTROL: &[&str] = &[
    "state", "requests", "clock", "faults", "settings", "reset", "x", "", "../state",
];

fn request(rng: &mut StdRng, templates: &[(String, String)]) -> (String, String) {
    let methods = [
        "GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD", "FROB",
    ];
    match rng.random_range(0..10) {
        0 => (
            methods[rng.random_range(0..methods.len())].to_string(),
            format!("/_emulator/{}", CONTROL[rng.random_range(0..CONTROL.len())]),
        ),
        1 => (
            methods[rng.random_range(0..methods.len())].to_string(),
            format!("/{}/{}", segment(rng), segment(rng)),
        ),
        _ => {
            let (m, t) = &templates[rng.random_range(0..templates.len())];
            let method = if rng.random_bool(0.8) {
                m.clone()
            } else {
                methods[rng.random_range(0..methods.len())].to_string()
            };
            let mut path = fill(t, rng);
            if rng.random_bool(0.2) {
                path.push_str(&format!("?{}={}", segment(rng), segment(rng)));
            }
            (method, path)
        }
    }
}

/// Resident memory of this process, from /proc (the emulator runs in it).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// An answer of a Google API in its error format: `{"error": {"code": STATUS, "message": ...}}`, or the
/// front end's HTML page that Google serves for bodies it cannot parse or that are too large.
fn is_google_error(status: u16, text: &str) -> bool {
    if text.trim_start().starts_with("<!DOCTYPE html>") || text.trim_start().starts_with("<html") {
        return matches!(status, 400 | 404 | 405 | 411 | 413);
    }
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    v["error"]["code"].as_u64() == Some(u64::from(status)) && v["error"]["message"].is_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_to_every_route_are_answered_in_googles_formats_with_bounded_memory() {
    let seed: u64 = std::env::var("CSMRUN_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261201);
    let cases: usize = std::env::var("CSMRUN_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let env = Env::start().await;
    let templates = templates();
    assert!(templates.len() > 50, "every served method's template");
    let mut rng = StdRng::seed_from_u64(seed);
    let rss_before = rss_bytes();
    let mut problems = Vec::new();
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    let mut slowest: Vec<(std::time::Duration, String)> = Vec::new();
    for case in 0..cases {
        let (method, path) = request(&mut rng, &templates);
        let Ok(m) = reqwest::Method::from_bytes(method.as_bytes()) else {
            continue;
        };
        let mut req = env
            .http
            .request(m, env.url(&path))
            .timeout(std::time::Duration::from_secs(60));
        match rng.random_range(0..4) {
            0 => {}
            1 => req = req.bearer_auth("fuzz-token"),
            2 => req = req.header("authorization", segment(&mut rng)),
            _ => req = req.bearer_auth("test-token"),
        }
        if rng.random_bool(0.3) {
            req = req.header("content-type", segment(&mut rng));
        } else {
            req = req.header("content-type", "application/json");
        }
        if let Some(b) = body(&mut rng) {
            req = req.body(b);
        }
        let sent = std::time::Instant::now();
        let resp = match req.send().await {
            Ok(r) => r,
            // reqwest refuses some URLs or headers itself (they never reach the emulator).
            Err(e) if e.is_builder() => continue,
            Err(e) => {
                problems.push(format!("case {case}: {method} {path}: no answer: {e}"));
                continue;
            }
        };
        let status = resp.status().as_u16();
        *by_status.entry(status).or_default() += 1;
        let text = resp.text().await.unwrap_or_default();
        slowest.push((sent.elapsed(), format!("{method} {path:.100} -> {status}")));
        slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        slowest.truncate(5);
        let api = Api::route(&path).is_some();
        // 501: a method of Google's documents the emulator does not serve (answered in Google's format, below);
        // 503: an injected fault. Any other 5xx is the emulator failing.
        if status >= 500 && !matches!(status, 501 | 503) {
            problems.push(format!(
                "case {case}: {method} {path:.120}: {status} {text:.200}"
            ));
        } else if api && status >= 400 && method != "HEAD" && !is_google_error(status, &text) {
            problems.push(format!(
                "case {case}: {method} {path:.120}: {status} not in Google's error format: {text:.200}"
            ));
        }
    }
    eprintln!(
        "seed {seed}, {cases} cases, answers by status: {by_status:?}; slowest: {slowest:#?}"
    );
    assert!(
        problems.is_empty(),
        "{} problems: {problems:#?}",
        problems.len()
    );
    // Still serving, in the normal way.
    let (status, text) = env.control("POST", "reset", None).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = env
        .call_text(
            "GET",
            &format!("/cloudresourcemanager/v1/projects/{P}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    if let (Some(before), Some(after)) = (rss_before, rss_bytes()) {
        let grown = after.saturating_sub(before);
        assert!(
            grown < 512 * 1024 * 1024,
            "memory grew by {} MiB over {cases} requests",
            grown / (1024 * 1024)
        );
    }
}
