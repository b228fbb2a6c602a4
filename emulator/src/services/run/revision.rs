//! Revisions: built from a service's template at each deploy; get and list.

use super::shape::{condition, etag, CALLER};
use super::{mesh, Name};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::services::{Call, Reply};
use crate::world::{collections, World};
use serde_json::{json, Map, Value};

/// Creates the revision for the service's current template and returns its full name.
pub fn create(world: &mut World, name: &Name, service: &Value) -> String {
    let generation: u64 = service["generation"]
        .as_str()
        .and_then(|g| g.parse().ok())
        .unwrap_or(1);
    let service_id = name.service.clone().unwrap_or_default();
    let template = service["template"].as_object().cloned().unwrap_or_default();
    let revision_id = match template.get("revision").and_then(Value::as_str) {
        Some(explicit) => explicit.to_string(),
        None => {
            let seed = world.next_uuid();
            format!(
                "{service_id}-{generation:05}-{}",
                World::token(&seed, 3).replace(|c: char| c.is_ascii_digit(), "x")
            )
        }
    };
    let full = format!("{}/revisions/{revision_id}", name.service_name());
    let now = world.now();
    let mut rev = Map::new();
    rev.insert("name".into(), json!(full));
    rev.insert("uid".into(), json!(world.next_uuid()));
    rev.insert("generation".into(), json!("1"));
    // A revision carries the template's fields that also exist on Revision (the discovery schema decides).
    let revision_fields = crate::discovery::document(crate::api::Api::Run)
        .schema("GoogleCloudRunV2Revision")
        .and_then(|s| s["properties"].as_object());
    for (k, v) in &template {
        let on_revision = revision_fields.is_some_and(|p| p.contains_key(k));
        if on_revision && !matches!(k.as_str(), "labels" | "annotations") {
            rev.insert(k.clone(), v.clone());
        }
    }
    rev.insert(
        "labels".into(),
        template.get("labels").cloned().unwrap_or_else(|| json!({})),
    );
    rev.insert(
        "annotations".into(),
        template
            .get("annotations")
            .cloned()
            .unwrap_or_else(|| json!({})),
    );
    rev.insert("createTime".into(), json!(rfc3339(now)));
    rev.insert("updateTime".into(), json!(rfc3339(now)));
    rev.insert("creator".into(), json!(CALLER));
    rev.insert("launchStage".into(), service["launchStage"].clone());
    rev.insert("service".into(), json!(name.service_name()));
    rev.insert("reconciling".into(), json!(true));
    rev.insert("observedGeneration".into(), json!("1"));
    rev.insert(
        "conditions".into(),
        json!([condition("Ready", "CONDITION_RECONCILING", now)]),
    );
    rev.insert(
        "logUri".into(),
        json!(mesh::log_uri(name, &service_id, &revision_id)),
    );
    rev.insert("scalingStatus".into(), json!({}));
    rev.insert("etag".into(), json!(etag(world)));
    world.put(collections::RUN_REVISIONS, &full, Value::Object(rev));
    full
}

pub fn mark_ready(world: &mut World, revision: &str) {
    let now = world.now();
    if let Some(rev) = world.get_mut(collections::RUN_REVISIONS, revision) {
        rev["reconciling"] = json!(false);
        rev["conditions"] = json!([
            condition("Ready", "CONDITION_SUCCEEDED", now),
            condition("ContainerHealthy", "CONDITION_SUCCEEDED", now),
            condition("ResourcesAvailable", "CONDITION_SUCCEEDED", now),
        ]);
    }
}

/// Marks the revision failed; a mesh failure shows the proxy's probe message, other failures `message`.
pub fn mark_failed(world: &mut World, revision: &str, message: &str, mesh_failure: bool) {
    let now = world.now();
    let detail = if mesh_failure {
        mesh::proxy_probe_failure()
    } else {
        message.to_string()
    };
    if let Some(rev) = world.get_mut(collections::RUN_REVISIONS, revision) {
        let mut ready = condition("Ready", "CONDITION_FAILED", now);
        ready["message"] = json!(detail);
        ready["revisionReason"] = json!("HEALTH_CHECK_CONTAINER_ERROR");
        let mut healthy = condition("ContainerHealthy", "CONDITION_FAILED", now);
        healthy["message"] = json!(detail);
        healthy["revisionReason"] = json!("HEALTH_CHECK_CONTAINER_ERROR");
        rev["reconciling"] = json!(false);
        rev["conditions"] = json!([
            ready,
            healthy,
            condition("ResourcesAvailable", "CONDITION_SUCCEEDED", now)
        ]);
    }
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = Name::parse(world, call.param("name")?)?;
    let id = name.revision.clone().unwrap_or_default();
    let key = format!("{}/revisions/{id}", name.service_name());
    world
        .get(collections::RUN_REVISIONS, &key)
        .cloned()
        .map(Reply::json)
        .ok_or_else(|| name.not_found("REVISION", &id))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = Name::parse(world, call.param("parent")?)?;
    let service = name.service.clone().unwrap_or_default();
    if world
        .get(collections::RUN_SERVICES, &name.service_name())
        .is_none()
    {
        return Err(name.not_found("SERVICE", &service));
    }
    let mut revisions: Vec<Value> = world
        .list(
            collections::RUN_REVISIONS,
            &format!("{}/revisions/", name.service_name()),
        )
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    // Newest first, as Cloud Run lists them.
    revisions.reverse();
    let (items, next) = super::service::page(call, revisions)?;
    let mut out = json!({"revisions": items});
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(out))
}
