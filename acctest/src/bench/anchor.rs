//! The anchors' unit as a sequential chain, replayed against a fresh emulator with the bodies csmrun sent.
//!
//! The google-provider composition (project IAM member, `time_sleep` 90 s, Cloud Run service, NEG,
//! backend service, DNS zone, record set through the Changes API, HTTPRoute) creates the same parts
//! one after another. Replaying csmrun's own create requests in that order, each operation waited
//! for with a 10 ms poll, gives the chain's best case: the parts are identical and no poll backoff is
//! charged, so only the orchestration differs.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

use super::world::{member, scaled, IAM_PROPAGATION_SECONDS, TRAFFIC_DIRECTOR_CLIENT};
use crate::emulator::TestEmulator;

/// Poll period of the replay: short, so the chain is measured at its best.
const POLL: Duration = Duration::from_millis(10);
/// Guard against an operation that never finishes (not a figure).
const OPERATION_GUARD: Duration = Duration::from_secs(300);

/// One timed part of the chain.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    pub name: &'static str,
    pub seconds: f64,
}

/// The whole chain.
#[derive(Debug, Clone, Serialize)]
pub struct AnchorRun {
    pub parts: Vec<Part>,
    pub seconds: f64,
}

/// The create request of `log` whose method is `method` and whose path ends with `suffix`.
fn create_request<'a>(log: &'a [Value], method: &str, suffix: &str) -> Result<&'a Value> {
    log.iter()
        .find(|e| {
            e["method"] == method
                && e["path"].as_str().is_some_and(|p| p.ends_with(suffix))
                && e["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
        })
        .with_context(|| format!("csmrun's create log has no successful {method} …{suffix}"))
}

/// `path?query` of a logged request.
fn target(entry: &Value) -> String {
    let path = entry["path"].as_str().unwrap_or("");
    let query: Vec<String> = entry["query"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", encode(v.as_str().unwrap_or(""))))
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends a logged request again and returns the answer.
fn replay(emu: &TestEmulator, entry: &Value) -> Result<Value> {
    let method = entry["method"].as_str().unwrap_or("POST");
    let body: Option<Value> = entry["body"]
        .as_str()
        .filter(|b| !b.trim().is_empty())
        .map(serde_json::from_str)
        .transpose()
        .context("logged request body")?;
    emu.api(method, &target(entry), body.as_ref())
}

/// `/compute/v1/...` of a Compute `selfLink`.
fn local_path(link: &str, api_root: &str) -> Result<String> {
    link.find(api_root)
        .map(|i| link[i..].to_string())
        .with_context(|| format!("{link:?} has no {api_root}"))
}

/// Polls `path` until `done(answer)`; fails on an operation error.
fn poll(emu: &TestEmulator, path: &str, done: impl Fn(&Value) -> bool) -> Result<()> {
    let start = Instant::now();
    loop {
        let answer = emu.api("GET", path, None)?;
        if !answer["error"].is_null() {
            bail!("{path} failed: {}", answer["error"]);
        }
        if done(&answer) {
            return Ok(());
        }
        if start.elapsed() > OPERATION_GUARD {
            bail!("{path} still running after {OPERATION_GUARD:?}");
        }
        std::thread::sleep(POLL);
    }
}

/// A `google.longrunning.Operation` answer waited for.
fn wait_longrunning(emu: &TestEmulator, api_root: &str, op: &Value) -> Result<()> {
    let name = op["name"].as_str().context("operation without a name")?;
    poll(emu, &format!("{api_root}{name}"), |o| o["done"] == true)
}

/// A Compute operation answer waited for.
fn wait_compute(emu: &TestEmulator, op: &Value) -> Result<()> {
    let link = op["selfLink"]
        .as_str()
        .context("Compute operation without selfLink")?;
    poll(emu, &local_path(link, "/compute/v1/")?, |o| {
        o["status"] == "DONE"
    })
}

/// Runs the anchors' chain for the unit csmrun created in `log` against `emu` (a fresh world with
/// the same seed). `time_scale` scales the blind sleep as the emulator scales its delays.
pub fn run(emu: &TestEmulator, log: &[Value], time_scale: f64) -> Result<AnchorRun> {
    let project = {
        let e = create_request(log, "POST", ":getIamPolicy")?;
        let p = e["path"].as_str().unwrap_or("");
        p.trim_start_matches("/cloudresourcemanager/v1/projects/")
            .trim_end_matches(":getIamPolicy")
            .to_string()
    };
    let service = create_request(log, "POST", "/services")?;
    let neg = create_request(log, "POST", "/networkEndpointGroups")?;
    let backend = create_request(log, "POST", "/backendServices")?;
    let zone = create_request(log, "POST", "/managedZones")?;
    let record = create_request(log, "POST", "/rrsets")?;
    let route = create_request(log, "POST", "/httpRoutes")?;

    let chain_start = Instant::now();
    let mut parts = Vec::new();
    let mut timed = |name: &'static str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let t = Instant::now();
        f().with_context(|| format!("anchor chain: {name}"))?;
        parts.push(Part {
            name,
            seconds: t.elapsed().as_secs_f64(),
        });
        Ok(())
    };

    timed("project iam member", &mut || {
        let base = format!("/cloudresourcemanager/v1/projects/{project}");
        let mut policy = emu.api(
            "POST",
            &format!("{base}:getIamPolicy"),
            Some(&json!({"options": {"requestedPolicyVersion": 3}})),
        )?;
        let who = member();
        let bindings = policy["bindings"].as_array().cloned().unwrap_or_default();
        let present = bindings.iter().any(|b| {
            b["role"] == TRAFFIC_DIRECTOR_CLIENT
                && b["condition"].is_null()
                && b["members"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|x| x == &json!(who)))
        });
        if !present {
            let mut bindings = bindings;
            bindings.push(json!({"role": TRAFFIC_DIRECTOR_CLIENT, "members": [who]}));
            policy["bindings"] = Value::Array(bindings);
            policy["version"] = json!(3);
            emu.api(
                "POST",
                &format!("{base}:setIamPolicy"),
                Some(&json!({"policy": policy})),
            )?;
        }
        Ok(())
    })?;
    timed("time_sleep", &mut || {
        std::thread::sleep(scaled(IAM_PROPAGATION_SECONDS, time_scale));
        Ok(())
    })?;
    timed("cloud run service", &mut || {
        let op = replay(emu, service)?;
        wait_longrunning(emu, "/run/v2/", &op)
    })?;
    timed("neg", &mut || wait_compute(emu, &replay(emu, neg)?))?;
    timed("backend service", &mut || {
        wait_compute(emu, &replay(emu, backend)?)
    })?;
    timed("dns zone", &mut || replay(emu, zone).map(|_| ()))?;
    timed("dns record", &mut || {
        let rrset: Value = serde_json::from_str(record["body"].as_str().unwrap_or(""))
            .context("logged record set")?;
        let changes = format!(
            "{}/changes",
            record["path"]
                .as_str()
                .unwrap_or("")
                .trim_end_matches("/rrsets")
        );
        let change = emu.api("POST", &changes, Some(&json!({"additions": [rrset]})))?;
        let id = change["id"].as_str().context("DNS change without id")?;
        poll(emu, &format!("{changes}/{id}"), |c| c["status"] == "done")
    })?;
    timed("http route", &mut || {
        let op = replay(emu, route)?;
        wait_longrunning(emu, "/networkservices/v1/", &op)
    })?;
    Ok(AnchorRun {
        seconds: chain_start.elapsed().as_secs_f64(),
        parts,
    })
}
