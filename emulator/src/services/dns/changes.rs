//! Changes: atomic batches of additions and deletions, applied at once and reported `pending` until done.

use super::rrsets::{already_exists, checked, key};
use super::{invalid, missing, page, zone};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::services::{Call, Reply};
use crate::world::{collections, World};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

/// How long a change stays `pending` before it is `done` at nominal time scale.
const PROPAGATION: i64 = 5;

/// The change Google records when a zone is created (id 0, done).
pub(super) fn record_creation(world: &mut World, zone_key: &str, now: DateTime<Utc>) {
    let apex: Vec<Value> = world
        .list(collections::DNS_RRSETS, &format!("{zone_key}/rrsets/"))
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let change = json!({"kind": "dns#change", "id": "0", "startTime": rfc3339(now), "status": "done",
                        "additions": apex, "deletions": [], "_doneAt": rfc3339(now)});
    world.put(
        collections::DNS_CHANGES,
        &format!("{zone_key}/changes/0"),
        change,
    );
}

fn render(world: &World, change: &Value) -> Value {
    let mut out = change.as_object().cloned().unwrap_or_default();
    let done_at = out
        .remove("_doneAt")
        .and_then(|v| {
            v.as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        })
        .map(|t| t.with_timezone(&Utc));
    let done = done_at.is_none_or(|t| t <= world.now());
    out.insert(
        "status".into(),
        json!(if done { "done" } else { "pending" }),
    );
    Value::Object(out)
}

pub fn create(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (zone_key, zone) = zone(world, call)?;
    let additions = call.body["additions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let deletions = call.body["deletions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if additions.is_empty() && deletions.is_empty() {
        return Err(ApiError::invalid_argument(
            "The 'entity.change' resource must have at least one addition or deletion.",
        )
        .with_reason("required"));
    }
    let mut checked_deletions = Vec::new();
    for (i, d) in deletions.iter().enumerate() {
        let record = checked(&zone, d, &format!("entity.change.deletions[{i}]"))?;
        let k = key(
            &zone_key,
            record["name"].as_str().unwrap_or_default(),
            record["type"].as_str().unwrap_or_default(),
        );
        let current = world.get(collections::DNS_RRSETS, &k).cloned();
        // A deletion must match the current data exactly.
        let matches = current
            .as_ref()
            .is_some_and(|c| c["rrdatas"] == record["rrdatas"] && c["ttl"] == record["ttl"]);
        if !matches {
            let name = record["name"].as_str().unwrap_or_default();
            return Err(ApiError::new(
                412,
                "FAILED_PRECONDITION",
                "conditionNotMet",
                format!("The resource 'entity.change.deletions[{i}]' named '{name} ({})' does not exist.",
                    record["type"].as_str().unwrap_or_default()),
            ));
        }
        checked_deletions.push((k, record));
    }
    let mut checked_additions = Vec::new();
    for (i, a) in additions.iter().enumerate() {
        let record = checked(&zone, a, &format!("entity.change.additions[{i}]"))?;
        let name = record["name"].as_str().unwrap_or_default().to_string();
        let ty = record["type"].as_str().unwrap_or_default().to_string();
        let k = key(&zone_key, &name, &ty);
        let deleted = checked_deletions.iter().any(|(dk, _)| *dk == k);
        if world.get(collections::DNS_RRSETS, &k).is_some() && !deleted {
            return Err(already_exists(&name, &ty));
        }
        if record.get("ttl").is_none() {
            return Err(invalid(&format!("entity.change.additions[{i}].ttl"), ""));
        }
        checked_additions.push((k, record));
    }
    for (k, _) in &checked_deletions {
        world.remove(collections::DNS_RRSETS, k);
    }
    for (k, r) in &checked_additions {
        world.put(collections::DNS_RRSETS, k, r.clone());
    }
    let next_id = world
        .list(collections::DNS_CHANGES, &format!("{zone_key}/changes/"))
        .len();
    let now = world.now();
    let done_at = now + world.settings.scaled(Duration::seconds(PROPAGATION));
    let change = json!({
        "kind": "dns#change",
        "id": next_id.to_string(),
        "startTime": rfc3339(now),
        "status": "pending",
        "additions": checked_additions.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
        "deletions": checked_deletions.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
        "_doneAt": rfc3339(done_at),
    });
    world.put(
        collections::DNS_CHANGES,
        &format!("{zone_key}/changes/{next_id}"),
        change.clone(),
    );
    Ok(Reply::json(render(world, &change)))
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (zone_key, _) = zone(world, call)?;
    let id = call.param("changeId")?;
    let change = world
        .get(
            collections::DNS_CHANGES,
            &format!("{zone_key}/changes/{id}"),
        )
        .cloned()
        .ok_or_else(|| missing("changeId", id))?;
    Ok(Reply::json(render(world, &change)))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (zone_key, _) = zone(world, call)?;
    let mut changes: Vec<Value> = world
        .list(collections::DNS_CHANGES, &format!("{zone_key}/changes/"))
        .into_iter()
        .map(|(_, c)| render(world, &c))
        .collect();
    changes.sort_by_key(|c| c["id"].as_str().and_then(|s| s.parse::<u64>().ok()));
    if call.query("sortOrder") == Some("descending") {
        changes.reverse();
    }
    let (items, next) = page(call, changes);
    let mut out = json!({"kind": "dns#changesListResponse", "changes": items});
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(out))
}
