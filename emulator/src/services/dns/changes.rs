//! Changes: atomic batches of additions and deletions, reported `pending` until done.
//!
//! A change is checked against, and recorded into, the zone's stored record sets at once (Google: "The current
//! state of the ManagedZone is the sum effect of applying all Change elements in the Changes collection in
//! sequence"), so a second change that deletes what the first added is accepted, and one that deletes what the
//! first removed is refused (412). Reads of record sets (`resourceRecordSets.get`/`list`) and the emptiness check
//! of a zone delete see a change only once it is `done`: until then they see the zone with the pending changes
//! undone ([`served_rrset`], [`served_rrsets`]). Changes finish in the order they were made.

use std::collections::BTreeMap;

use super::rrsets::{already_exists, checked, key};
use super::{invalid, missing, page, zone};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::services::{Call, Reply};
use crate::world::{collections, World};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Google's per-change and per-zone limits (cloud.google.com/dns/quotas, "Resource limits"); the records per
/// record set come from the settings (default 100).
pub(super) const RRSETS_PER_ZONE: usize = 10_000;
pub(super) const ADDITIONS_PER_CHANGE: usize = 1_000;
pub(super) const DELETIONS_PER_CHANGE: usize = 1_000;
pub(super) const RRDATA_BYTES_PER_CHANGE: usize = 100_000;

/// The key under a zone's changes that holds the id of its newest change (not a change; never listed).
fn latest_key(zone_key: &str) -> String {
    format!("{zone_key}/changes/~latest")
}

fn change_key(zone_key: &str, id: u64) -> String {
    format!("{zone_key}/changes/{id}")
}

fn latest_id(world: &World, zone_key: &str) -> Option<u64> {
    world
        .get(collections::DNS_CHANGES, &latest_key(zone_key))
        .and_then(|v| v["id"].as_u64())
}

fn done_at(change: &Value) -> Option<DateTime<Utc>> {
    change["_doneAt"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The changes of a zone still pending, newest first.
fn pending(world: &World, zone_key: &str) -> Vec<Value> {
    let now = world.now();
    let mut out = Vec::new();
    let mut id = latest_id(world, zone_key);
    while let Some(i) = id {
        let Some(change) = world.get(collections::DNS_CHANGES, &change_key(zone_key, i)) else {
            break;
        };
        // Changes finish in order: the first done one (from the newest) means every older one is done too.
        if done_at(change).is_none_or(|t| t <= now) {
            break;
        }
        out.push(change.clone());
        id = i.checked_sub(1);
    }
    out
}

fn record_key(zone_key: &str, r: &Value) -> String {
    key(
        zone_key,
        r["name"].as_str().unwrap_or_default(),
        r["type"].as_str().unwrap_or_default(),
    )
}

/// The record set stored at `k` as reads see it (pending changes undone).
pub(super) fn served_rrset(world: &World, zone_key: &str, k: &str) -> Option<Value> {
    let mut current = world.get(collections::DNS_RRSETS, k).cloned();
    for change in pending(world, zone_key) {
        if change["additions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| record_key(zone_key, r) == k))
        {
            current = None;
        }
        if let Some(d) = change["deletions"]
            .as_array()
            .and_then(|d| d.iter().find(|r| record_key(zone_key, r) == k))
        {
            current = Some(d.clone());
        }
    }
    current
}

/// The zone's record sets as reads see them (pending changes undone), by key.
pub(super) fn served_rrsets(world: &World, zone_key: &str) -> BTreeMap<String, Value> {
    let mut view: BTreeMap<String, Value> = world
        .list(collections::DNS_RRSETS, &format!("{zone_key}/rrsets/"))
        .into_iter()
        .collect();
    for change in pending(world, zone_key) {
        for a in change["additions"].as_array().into_iter().flatten() {
            view.remove(&record_key(zone_key, a));
        }
        for d in change["deletions"].as_array().into_iter().flatten() {
            view.insert(record_key(zone_key, d), d.clone());
        }
    }
    view
}

/// The change Google records when a zone is created (id 0, done).
pub(super) fn record_creation(world: &mut World, zone_key: &str, now: DateTime<Utc>) {
    let apex: Vec<Value> = world
        .list(collections::DNS_RRSETS, &format!("{zone_key}/rrsets/"))
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let change = json!({"kind": "dns#change", "id": "0", "startTime": rfc3339(now), "status": "done",
                        "additions": apex, "deletions": [], "_doneAt": rfc3339(now)});
    world.put(collections::DNS_CHANGES, &change_key(zone_key, 0), change);
    world.put(
        collections::DNS_CHANGES,
        &latest_key(zone_key),
        json!({"id": 0}),
    );
}

fn render(world: &World, change: &Value) -> Value {
    let mut out = change.as_object().cloned().unwrap_or_default();
    let done = done_at(change).is_none_or(|t| t <= world.now());
    out.remove("_doneAt");
    out.insert(
        "status".into(),
        json!(if done { "done" } else { "pending" }),
    );
    Value::Object(out)
}

/// Cloud DNS's answer to a change over one of its limits: 403 `quotaExceeded` "The change would exceed quota
/// for <quota>." (the wording kubernetes-sigs/external-dns#1028 and DNSControl record for additions, deletions
/// and total rrdata size per change).
pub(super) fn quota_exceeded(quota: &str) -> ApiError {
    ApiError::new(
        403,
        "PERMISSION_DENIED",
        "quotaExceeded",
        format!("The change would exceed quota for {quota}."),
    )
}

/// Refuses a record set with more records than the project's `resourceRecordsPerRrset`.
pub(super) fn check_records_per_rrset(world: &World, record: &Value) -> Result<(), ApiError> {
    let n = record["rrdatas"].as_array().map_or(0, Vec::len);
    if n > world.settings.dns_records_per_rrset as usize {
        return Err(quota_exceeded("resource records per rrset"));
    }
    Ok(())
}

fn rrdata_bytes(records: &[Value]) -> usize {
    records
        .iter()
        .flat_map(|r| r["rrdatas"].as_array().into_iter().flatten())
        .map(|d| d.as_str().map_or(0, str::len))
        .sum()
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
    if additions.len() > ADDITIONS_PER_CHANGE {
        return Err(quota_exceeded("additions per change"));
    }
    if deletions.len() > DELETIONS_PER_CHANGE {
        return Err(quota_exceeded("deletions per change"));
    }
    if rrdata_bytes(&additions).saturating_add(rrdata_bytes(&deletions)) > RRDATA_BYTES_PER_CHANGE {
        return Err(quota_exceeded("total rrdata size per change"));
    }
    let mut checked_deletions = Vec::new();
    for (i, d) in deletions.iter().enumerate() {
        let record = checked(&zone, d, &format!("entity.change.deletions[{i}]"))?;
        let k = record_key(&zone_key, &record);
        let current = world.get(collections::DNS_RRSETS, &k).cloned();
        // A deletion must match the data (every accepted change applied) exactly.
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
        check_records_per_rrset(world, &record)?;
        checked_additions.push((k, record));
    }
    let stored = world
        .list(collections::DNS_RRSETS, &format!("{zone_key}/rrsets/"))
        .len();
    let after = (stored + checked_additions.len()).saturating_sub(checked_deletions.len());
    if after > RRSETS_PER_ZONE && checked_additions.len() > checked_deletions.len() {
        return Err(quota_exceeded("rrsets per managed zone"));
    }
    for (k, _) in &checked_deletions {
        world.remove(collections::DNS_RRSETS, k);
    }
    for (k, r) in &checked_additions {
        world.put(collections::DNS_RRSETS, k, r.clone());
    }
    let previous = latest_id(world, &zone_key);
    let next_id = previous.map_or(0, |i| i.saturating_add(1));
    let now = world.now();
    // Changes are applied in sequence: one is never done before the change made before it.
    let after_previous = previous
        .and_then(|i| world.get(collections::DNS_CHANGES, &change_key(&zone_key, i)))
        .and_then(done_at);
    let mut done = now
        + world
            .settings
            .scaled(world.settings.dns_change_pending_time);
    if let Some(t) = after_previous {
        done = done.max(t);
    }
    let change = json!({
        "kind": "dns#change",
        "id": next_id.to_string(),
        "startTime": rfc3339(now),
        "status": "pending",
        "additions": checked_additions.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
        "deletions": checked_deletions.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
        "_doneAt": rfc3339(done),
    });
    world.put(
        collections::DNS_CHANGES,
        &change_key(&zone_key, next_id),
        change.clone(),
    );
    world.put(
        collections::DNS_CHANGES,
        &latest_key(&zone_key),
        json!({"id": next_id}),
    );
    Ok(Reply::json(render(world, &change)))
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (zone_key, _) = zone(world, call)?;
    let id = call.param("changeId")?;
    let change = id
        .parse::<u64>()
        .ok()
        .and_then(|n| world.get(collections::DNS_CHANGES, &change_key(&zone_key, n)))
        .cloned()
        .ok_or_else(|| missing("changeId", id))?;
    Ok(Reply::json(render(world, &change)))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (zone_key, _) = zone(world, call)?;
    let mut changes: Vec<Value> = world
        .list(collections::DNS_CHANGES, &format!("{zone_key}/changes/"))
        .into_iter()
        .filter(|(_, c)| c["kind"] == "dns#change")
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
