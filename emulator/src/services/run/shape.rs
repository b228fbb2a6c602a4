//! How Cloud Run fills a service: defaults for omitted fields, URLs, conditions and traffic status.

use super::Name;
use crate::clock::rfc3339;
use crate::world::World;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

pub const SERVICE_TYPE: &str = "type.googleapis.com/google.cloud.run.v2.Service";

/// The caller identity reported in `creator`/`lastModifier` (the emulator does not resolve tokens).
pub const CALLER: &str = "user@example.com";

/// Server defaults Cloud Run applies to a submitted service (as seen in recorded responses).
pub fn apply_defaults(service: &mut Map<String, Value>, name: &Name) {
    service
        .entry("ingress")
        .or_insert(json!("INGRESS_TRAFFIC_ALL"));
    // Output reports the least stable stage the spec actually uses (a BETA input without preview features
    // reads back as GA), which is what makes naive providers show a permanent launch-stage diff.
    let declared = service
        .get("launchStage")
        .and_then(Value::as_str)
        .unwrap_or("GA")
        .to_string();
    let needs_beta = service
        .get("template")
        .is_some_and(|t| t.get("serviceMesh").is_some());
    let observed = match declared.as_str() {
        "ALPHA" | "BETA" if needs_beta => "BETA",
        "ALPHA" | "BETA" => "GA",
        other => other,
    };
    service.insert("launchStage".into(), json!(observed));
    service
        .entry("scaling")
        .or_insert(json!({"maxInstanceCount": 100}));
    service
        .entry("traffic")
        .or_insert(json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]));
    let Some(template) = service.get_mut("template").and_then(Value::as_object_mut) else {
        return;
    };
    // run.v2.json, maxInstanceRequestConcurrency: "If not specified or 0, concurrency defaults to 80 when requested
    // `CPU >= 1` and defaults to 1 when requested `CPU < 1`."
    let fractional = template["containers"][0]["resources"]["limits"]["cpu"]
        .as_str()
        .and_then(super::limits::millicpu)
        .is_some_and(|m| m < 1000);
    let concurrency = template
        .entry("maxInstanceRequestConcurrency")
        .or_insert(json!(0));
    if concurrency.as_i64().is_none_or(|c| c == 0) {
        *concurrency = json!(if fractional { 1 } else { 80 });
    }
    template.entry("timeout").or_insert(json!("300s"));
    template.entry("serviceAccount").or_insert(json!(format!(
        "{}-compute@developer.gserviceaccount.com",
        name.number
    )));
    if let Some(containers) = template.get_mut("containers").and_then(Value::as_array_mut) {
        let single = containers.len() == 1;
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            let port = c
                .get("ports")
                .and_then(|p| p[0]["containerPort"].as_i64())
                .unwrap_or(8080);
            // Only the ingress container gets a port and a default startup probe.
            if single || c.contains_key("ports") {
                c.entry("ports")
                    .or_insert(json!([{"containerPort": 8080, "name": "http1"}]));
                c.entry("startupProbe").or_insert(json!({
                    "failureThreshold": 1, "periodSeconds": 240, "timeoutSeconds": 240, "tcpSocket": {"port": port}
                }));
            }
            c.entry("resources")
                .or_insert(json!({"cpuIdle": true, "limits": {"cpu": "1000m", "memory": "512Mi"}}));
        }
    }
}

/// Two-letter region code used in `*.a.run.app` hosts.
fn region_code(region: &str) -> String {
    let known = [
        ("us-central1", "uc"),
        ("us-east1", "ue"),
        ("us-east4", "uk"),
        ("us-west1", "uw"),
        ("europe-west1", "ew"),
        ("europe-west4", "ez"),
        ("europe-north1", "lz"),
        ("asia-east1", "de"),
        ("asia-northeast1", "an"),
        ("asia-northeast2", "dt"),
        ("asia-southeast1", "as"),
        ("australia-southeast1", "ts"),
    ];
    known
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| {
            region
                .split('-')
                .filter_map(|p| p.chars().next())
                .take(2)
                .collect()
        })
}

/// The deterministic URL (`NAME-NUMBER.REGION.run.app`) known as soon as the service exists.
pub fn deterministic_url(name: &Name) -> String {
    format!(
        "https://{}-{}.{}.run.app",
        name.service.as_deref().unwrap_or_default(),
        name.number,
        name.region
    )
}

/// The `uri`: `https://NAME-<hash>-<region code>.a.run.app`.
pub fn uri(name: &Name) -> String {
    let hash = World::token(&format!("{}-{}", name.project, name.number), 10)
        .replace(|c: char| c.is_ascii_digit(), "q");
    format!(
        "https://{}-{hash}-{}.a.run.app",
        name.service.as_deref().unwrap_or_default(),
        region_code(&name.region)
    )
}

pub fn condition(kind: &str, state: &str, at: DateTime<Utc>) -> Value {
    json!({"type": kind, "state": state, "lastTransitionTime": rfc3339(at)})
}

/// The service as it looks once its latest revision is serving.
pub fn mark_ready(service: &mut Value, name: &Name, revision: &str, at: DateTime<Utc>) {
    service["reconciling"] = json!(false);
    service["observedGeneration"] = service["generation"].clone();
    service["latestReadyRevision"] = json!(revision);
    service["terminalCondition"] = condition("Ready", "CONDITION_SUCCEEDED", at);
    service["conditions"] = json!([
        condition("RoutesReady", "CONDITION_SUCCEEDED", at),
        condition("ConfigurationsReady", "CONDITION_SUCCEEDED", at),
    ]);
    service["trafficStatuses"] = traffic_statuses(service);
    service["uri"] = json!(uri(name));
    service["urls"] = json!([deterministic_url(name), uri(name)]);
}

/// The service after its latest revision failed: traffic stays where it was.
pub fn mark_failed(service: &mut Value, message: &str, at: DateTime<Utc>) {
    service["reconciling"] = json!(false);
    service["observedGeneration"] = service["generation"].clone();
    let mut failed = condition("Ready", "CONDITION_FAILED", at);
    failed["message"] = json!(message);
    failed["reason"] = json!("REVISION_FAILED");
    service["terminalCondition"] = failed.clone();
    let mut config = condition("ConfigurationsReady", "CONDITION_FAILED", at);
    config["message"] = json!(message);
    config["reason"] = json!("REVISION_FAILED");
    let routes = if service.get("latestReadyRevision").is_some() {
        condition("RoutesReady", "CONDITION_SUCCEEDED", at)
    } else {
        let mut c = condition("RoutesReady", "CONDITION_FAILED", at);
        c["message"] = json!(message);
        c["reason"] = json!("REVISION_FAILED");
        c
    };
    service["conditions"] = json!([routes, config]);
}

fn traffic_statuses(service: &Value) -> Value {
    let statuses: Vec<Value> = service["traffic"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let mut s = Map::new();
            for key in ["type", "revision", "percent", "tag"] {
                if let Some(v) = t.get(key) {
                    s.insert(key.into(), v.clone());
                }
            }
            Value::Object(s)
        })
        .collect();
    Value::Array(statuses)
}

/// A fresh etag for a written service or revision.
pub fn etag(world: &mut World) -> String {
    let seed = world.next_uuid();
    format!("{}=", World::token(&seed, 15))
}
