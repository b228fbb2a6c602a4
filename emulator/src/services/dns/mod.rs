//! Cloud DNS v1: managed zones (public and private), record sets, changes and the project's quota. Zones and
//! record sets made through their own methods exist as soon as the call returns; a change reports `pending`,
//! then `done`, and reads show it once it is done (`changes`).

mod changes;
mod rrsets;
mod zones;

use crate::error::ApiError;
use crate::services::{pages, Call, Registry, Reply};
use crate::world::{collections, World};
use serde_json::Value;

/// Registers this API's handlers.
pub fn register(r: &mut Registry) {
    r.add("dns.managedZones.create", zones::create);
    r.add("dns.managedZones.get", zones::get);
    r.add("dns.managedZones.list", zones::list);
    r.add("dns.managedZones.patch", zones::patch);
    r.add("dns.managedZones.update", zones::update);
    r.add("dns.managedZones.delete", zones::delete);
    r.add("dns.managedZoneOperations.get", zones::get_operation);
    r.add("dns.resourceRecordSets.create", rrsets::create);
    r.add("dns.resourceRecordSets.get", rrsets::get);
    r.add("dns.resourceRecordSets.list", rrsets::list);
    r.add("dns.resourceRecordSets.patch", rrsets::patch);
    r.add("dns.resourceRecordSets.delete", rrsets::delete);
    r.add("dns.changes.create", changes::create);
    r.add("dns.changes.get", changes::get);
    r.add("dns.changes.list", changes::list);
    r.add("dns.projects.get", project);
}

/// `projects.get`: the project with the limits Cloud DNS enforces (cloud.google.com/dns/quotas, "Resource
/// limits"); the records per record set follow the emulator's setting.
fn project(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let p = call.param("project")?;
    let project = world.project(p).ok_or_else(|| missing("project", p))?;
    Ok(Reply::json(serde_json::json!({
        "kind": "dns#project",
        "id": project.id,
        "number": project.number,
        "quota": {
            "kind": "dns#quota",
            "managedZones": 10_000,
            "rrsetsPerManagedZone": changes::RRSETS_PER_ZONE,
            "resourceRecordsPerRrset": world.settings.dns_records_per_rrset,
            "rrsetAdditionsPerChange": changes::ADDITIONS_PER_CHANGE,
            "rrsetDeletionsPerChange": changes::DELETIONS_PER_CHANGE,
            "totalRrdataSizePerChange": changes::RRDATA_BYTES_PER_CHANGE,
            "nameserversPerDelegation": 8,
        },
    })))
}

/// Cloud DNS's 404 wording: "The 'parameters.X' resource named 'Y' does not exist."
fn missing(parameter: &str, name: &str) -> ApiError {
    ApiError::not_found(format!(
        "The 'parameters.{parameter}' resource named '{name}' does not exist."
    ))
}

/// Cloud DNS's 400 wording for a bad field value.
fn invalid(field: &str, value: &str) -> ApiError {
    ApiError::invalid_argument(format!("Invalid value for '{field}': '{value}'"))
        .with_reason("invalid")
}

/// The project id for the `project` path parameter (id or number).
fn project_id(world: &World, call: &Call) -> Result<String, ApiError> {
    let p = call.param("project")?;
    world
        .project(p)
        .map(|p| p.id.clone())
        .ok_or_else(|| missing("project", p))
}

/// The stored key and document of the zone named (or numbered) by the `managedZone` parameter.
fn zone(world: &World, call: &Call) -> Result<(String, Value), ApiError> {
    let project = project_id(world, call)?;
    let wanted = call.param("managedZone")?;
    let prefix = format!("projects/{project}/managedZones/");
    world
        .list(collections::DNS_ZONES, &prefix)
        .into_iter()
        .find(|(_, z)| z["name"] == wanted || z["id"] == wanted)
        .ok_or_else(|| missing("managedZone", wanted))
}

/// An Ok reply of a page of items, honouring `maxResults`/`pageToken` (token = index of the next item).
fn page(call: &Call, items: Vec<Value>) -> (Vec<Value>, Option<String>) {
    let start: usize = call
        .query("pageToken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let size: usize = call
        .query("maxResults")
        .and_then(|t| t.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(usize::MAX);
    pages::slice(items, start, size)
}
