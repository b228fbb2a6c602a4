//! The `/_emulator/` control plane for tests: reset, state, seed, faults, requests, clock, settings.

use crate::clock::parse_duration;
use crate::faults::Rule;
use crate::seed::Seed;
use crate::server::Shared;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Shared_ = State<Arc<Shared>>;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/state", get(state))
        .route("/_emulator/seed", post(seed))
        .route(
            "/_emulator/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/_emulator/requests", get(requests).delete(clear_requests))
        .route("/_emulator/clock", get(clock).post(set_clock))
        .route("/_emulator/settings", post(settings))
        .merge(crate::mesh::control::routes())
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.into()})),
    )
        .into_response()
}

/// Back to the initial seed (the clock keeps running; the request log is kept).
async fn reset(State(shared): Shared_) -> Response {
    let mut world = shared.world();
    let clock = world.clock.clone();
    match shared.fresh_world(clock) {
        Ok(fresh) => *world = fresh,
        Err(e) => return bad(e.to_string()),
    }
    drop(world);
    shared.mesh.reset();
    shared.changed.notify_waiters();
    Json(json!({"reset": true})).into_response()
}

async fn state(State(shared): Shared_) -> Response {
    let mut world = shared.world();
    world.tick();
    Json(world.dump()).into_response()
}

/// Adds a seed (same format as `--seed`) to the current world.
async fn seed(State(shared): Shared_, body: String) -> Response {
    let seed = match Seed::from_json(&body) {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    let mut world = shared.world();
    match seed.apply(&mut world, None) {
        Ok(()) => Json(json!({"seeded": seed.projects.len()})).into_response(),
        Err(e) => bad(e.to_string()),
    }
}

async fn list_faults(State(shared): Shared_) -> Response {
    let world = shared.world();
    Json(json!({"rules": world.faults.dump()})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRules {
    rules: Vec<Rule>,
    #[serde(default)]
    seed: Option<u64>,
}

/// One rule or a list. Decided by hand: serde's untagged enums mis-read numbers under serde_json's
/// `arbitrary_precision` feature, which the workspace enables.
fn parse_faults(body: &str) -> Result<(Vec<Rule>, Option<u64>), String> {
    let value: Value = serde_json::from_str(body).map_err(|e| format!("fault rules: {e}"))?;
    if value.get("rules").is_some() {
        let many: FaultRules =
            serde_json::from_value(value).map_err(|e| format!("fault rules: {e}"))?;
        Ok((many.rules, many.seed))
    } else {
        let one: Rule = serde_json::from_value(value).map_err(|e| format!("fault rule: {e}"))?;
        Ok((vec![one], None))
    }
}

/// Adds one rule or `{"rules": [...], "seed": N}` (seed fixes the random sequence used by `rate`).
async fn add_faults(State(shared): Shared_, body: String) -> Response {
    let (rules, seed) = match parse_faults(&body) {
        Ok(parsed) => parsed,
        Err(e) => return bad(e),
    };
    let mut world = shared.world();
    if let Some(seed) = seed {
        world.faults.reseed(seed);
    }
    match world.faults.add(rules) {
        Ok(()) => Json(json!({"rules": world.faults.dump()})).into_response(),
        Err(e) => bad(e),
    }
}

async fn clear_faults(State(shared): Shared_) -> Response {
    let mut world = shared.world();
    world.faults.clear();
    Json(json!({"rules": []})).into_response()
}

/// The request log as JSON lines.
async fn requests(State(shared): Shared_) -> Response {
    let log = shared.log();
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        log.json_lines(),
    )
        .into_response()
}

async fn clear_requests(State(shared): Shared_) -> Response {
    let mut log = shared.log();
    log.clear();
    Json(json!({"cleared": true})).into_response()
}

fn clock_view(world: &crate::world::World) -> Value {
    json!({
        "now": crate::clock::rfc3339(world.now()),
        "rate": world.clock.rate(),
        "timeScale": world.settings.time_scale,
    })
}

async fn clock(State(shared): Shared_) -> Response {
    let world = shared.world();
    Json(clock_view(&world)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockBody {
    /// Moves virtual time forward, e.g. `"90s"`.
    #[serde(default)]
    advance: Option<String>,
    /// How fast time runs from now on: 0 freezes, 1 is real time.
    #[serde(default)]
    rate: Option<f64>,
    /// Multiplies modelled durations of operations started from now on.
    #[serde(default)]
    time_scale: Option<f64>,
}

/// An optional rate or time scale from a control body, range-checked ([`crate::clock::check_rate`]).
fn checked_rate(name: &str, value: Option<f64>) -> Result<Option<f64>, String> {
    value.map(|v| crate::clock::check_rate(name, v)).transpose()
}

async fn set_clock(State(shared): Shared_, body: String) -> Response {
    let parsed: ClockBody = match serde_json::from_str(&body) {
        Ok(p) => p,
        Err(e) => return bad(format!("clock: {e}")),
    };
    // Everything is checked before anything changes: a refused request leaves the clock as it was.
    let advance = match &parsed.advance {
        None => None,
        Some(text) => match parse_duration(text) {
            Some(d) if d >= chrono::Duration::zero() => Some(d),
            _ => {
                return bad(format!(
                    "advance: '{text}' is not a duration from 0s to {}s",
                    crate::clock::MAX_DURATION_SECS
                ))
            }
        },
    };
    let rate = match parsed
        .rate
        .map(|r| crate::clock::check_rate("rate", r))
        .transpose()
    {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let scale = match checked_rate("timeScale", parsed.time_scale) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let mut world = shared.world();
    if let Some(d) = advance {
        world.clock.advance(d);
    }
    if let Some(rate) = rate {
        world.clock.set_rate(rate);
    }
    if let Some(scale) = scale {
        world.settings.time_scale = scale;
    }
    world.tick();
    let view = clock_view(&world);
    drop(world);
    shared.changed.notify_waiters();
    Json(view).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsBody {
    #[serde(default)]
    sticky_mesh_failures: Option<bool>,
    #[serde(default)]
    iam_propagation_delay: Option<String>,
    #[serde(default)]
    mesh_settle_time: Option<String>,
    #[serde(default)]
    time_scale: Option<f64>,
    #[serde(default)]
    dns_change_pending_time: Option<String>,
    #[serde(default)]
    dns_records_per_rrset: Option<u32>,
    /// Restarts the mesh's random choices from this seed.
    #[serde(default)]
    mesh_seed: Option<u64>,
}

/// Changes model settings at run time (same keys as the seed).
async fn settings(State(shared): Shared_, body: String) -> Response {
    let parsed: SettingsBody = match serde_json::from_str(&body) {
        Ok(p) => p,
        Err(e) => return bad(format!("settings: {e}")),
    };
    let scale = match checked_rate("timeScale", parsed.time_scale) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let mut world = shared.world();
    if let Some(s) = parsed.sticky_mesh_failures {
        world.settings.sticky_mesh_failures = s;
    }
    if let Some(text) = &parsed.iam_propagation_delay {
        let Some(d) = parse_duration(text) else {
            return bad(format!("iamPropagationDelay: '{text}'"));
        };
        world.settings.iam_propagation_delay = d;
    }
    if let Some(text) = &parsed.mesh_settle_time {
        let Some(d) = parse_duration(text) else {
            return bad(format!("meshSettleTime: '{text}'"));
        };
        world.settings.mesh_settle_time = d;
    }
    if let Some(scale) = scale {
        world.settings.time_scale = scale;
    }
    if let Some(text) = &parsed.dns_change_pending_time {
        let Some(d) = parse_duration(text) else {
            return bad(format!("dnsChangePendingTime: '{text}'"));
        };
        world.settings.dns_change_pending_time = d;
    }
    if let Some(n) = parsed.dns_records_per_rrset {
        world.settings.dns_records_per_rrset = n.max(1);
    }
    let mut view = world.dump()["settings"].clone();
    drop(world);
    if let Some(seed) = parsed.mesh_seed {
        shared.mesh.reseed(seed);
    }
    view["meshSeed"] = json!(shared.mesh.seed());
    Json(view).into_response()
}
