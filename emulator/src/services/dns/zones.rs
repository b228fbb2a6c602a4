//! Managed zones: create (with their NS and SOA records), get, list, patch/update, delete, operations.

use super::{invalid, missing, page, project_id, zone};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::services::{Call, Reply};
use crate::world::{collections, World};
use serde_json::{json, Value};

const PUBLIC_NAME_SERVERS: [&str; 4] = [
    "ns-cloud-a1.googledomains.com.",
    "ns-cloud-a2.googledomains.com.",
    "ns-cloud-a3.googledomains.com.",
    "ns-cloud-a4.googledomains.com.",
];
const PRIVATE_NAME_SERVER: &str = "ns-gcp-private.googledomains.com.";

fn valid_zone_name(name: &str) -> bool {
    let mut chars = name.chars();
    (1..=63).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// Network URLs of a private zone must name existing networks.
fn check_networks(world: &World, zone: &Value) -> Result<(), ApiError> {
    let networks = zone["privateVisibilityConfig"]["networks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, n) in networks.iter().enumerate() {
        let url = n["networkUrl"].as_str().unwrap_or_default();
        let tail = url
            .split("/compute/v1/")
            .nth(1)
            .or_else(|| url.strip_prefix("projects/").map(|_| url));
        let known = tail.is_some_and(|t| {
            let key = world.normalise_name(t);
            world.get(collections::NETWORKS, &key).is_some()
        });
        if !known {
            return Err(invalid(
                &format!("entity.managedZone.privateVisibilityConfig.networks[{i}].networkUrl"),
                url,
            ));
        }
    }
    Ok(())
}

/// The zone document as Google returns it, with `kind`s on nested config blocks.
fn render(mut zone: Value) -> Value {
    zone["kind"] = json!("dns#managedZone");
    if let Some(pvc) = zone
        .get_mut("privateVisibilityConfig")
        .and_then(Value::as_object_mut)
    {
        pvc.insert(
            "kind".into(),
            json!("dns#managedZonePrivateVisibilityConfig"),
        );
        if let Some(nets) = pvc.get_mut("networks").and_then(Value::as_array_mut) {
            for n in nets {
                n["kind"] = json!("dns#managedZonePrivateVisibilityConfigNetwork");
            }
        }
    }
    zone
}

pub fn create(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let body = &call.body;
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if !valid_zone_name(&name) {
        return Err(invalid("entity.managedZone.name", &name));
    }
    let dns_name = body["dnsName"].as_str().unwrap_or_default().to_string();
    if dns_name.is_empty() || !dns_name.ends_with('.') || dns_name.starts_with('.') {
        return Err(invalid("entity.managedZone.dnsName", &dns_name));
    }
    if body["description"].as_str().is_some_and(|d| d.len() > 1024) {
        return Err(invalid("entity.managedZone.description", "…"));
    }
    let key = format!("projects/{project}/managedZones/{name}");
    if world.get(collections::DNS_ZONES, &key).is_some() {
        return Err(ApiError::already_exists(format!(
            "The resource 'entity.managedZone' named '{name}' already exists"
        )));
    }
    let private = body["visibility"] == "private";
    if private {
        check_networks(world, body)?;
    }
    let mut zone = body.as_object().cloned().unwrap_or_default();
    let id = world.next_numeric_id();
    let now = world.now();
    zone.insert("id".into(), json!(id));
    zone.insert("creationTime".into(), json!(rfc3339(now)));
    zone.insert(
        "visibility".into(),
        json!(if private { "private" } else { "public" }),
    );
    zone.insert(
        "description".into(),
        json!(body["description"].as_str().unwrap_or_default()),
    );
    zone.insert(
        "cloudLoggingConfig".into(),
        json!({"kind": "dns#managedZoneCloudLoggingConfig"}),
    );
    if !private {
        zone.remove("privateVisibilityConfig");
    }
    let servers: Vec<&str> = if private {
        vec![PRIVATE_NAME_SERVER]
    } else {
        PUBLIC_NAME_SERVERS.to_vec()
    };
    zone.insert("nameServers".into(), json!(servers));
    let zone = render(Value::Object(zone));
    world.put(collections::DNS_ZONES, &key, zone.clone());
    // Google creates the apex NS and SOA records with every zone.
    let soa = format!(
        "{} cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300",
        servers[0]
    );
    for (ty, rrdatas) in [("NS", json!(servers)), ("SOA", json!([soa]))] {
        let record = json!({"kind": "dns#resourceRecordSet", "name": dns_name, "type": ty, "ttl": 21600,
                            "rrdatas": rrdatas, "signatureRrdatas": []});
        world.put(
            collections::DNS_RRSETS,
            &format!("{key}/rrsets/{dns_name}/{ty}"),
            record,
        );
    }
    super::changes::record_creation(world, &key, now);
    Ok(Reply::json(zone))
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    Ok(Reply::json(zone(world, call)?.1))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let mut zones: Vec<Value> = world
        .list(
            collections::DNS_ZONES,
            &format!("projects/{project}/managedZones/"),
        )
        .into_iter()
        .map(|(_, z)| z)
        .collect();
    if let Some(dns_name) = call.query("dnsName") {
        zones.retain(|z| z["dnsName"] == dns_name);
    }
    let (items, next) = page(call, zones);
    let mut out = json!({"kind": "dns#managedZonesListResponse", "managedZones": items});
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(out))
}

/// PATCH merges the given fields; PUT replaces the mutable ones. Both answer with a done DNS Operation.
fn modify(world: &mut World, call: &Call, merge: bool) -> Result<Reply, ApiError> {
    let (key, old) = zone(world, call)?;
    let body = call.body.as_object().cloned().unwrap_or_default();
    for fixed in ["name", "dnsName", "visibility"] {
        if let Some(v) = body.get(fixed) {
            if *v != old[fixed] {
                return Err(invalid(
                    &format!("entity.managedZone.{fixed}"),
                    v.as_str().unwrap_or_default(),
                ));
            }
        }
    }
    let mut new = old.as_object().cloned().unwrap_or_default();
    if !merge {
        for mutable in [
            "description",
            "labels",
            "privateVisibilityConfig",
            "forwardingConfig",
            "peeringConfig",
            "dnssecConfig",
            "cloudLoggingConfig",
            "serviceDirectoryConfig",
        ] {
            new.remove(mutable);
        }
    }
    for (k, v) in body {
        if !matches!(k.as_str(), "id" | "creationTime" | "nameServers" | "kind") {
            new.insert(k, v);
        }
    }
    let new = render(Value::Object(new));
    if new["visibility"] == "private" {
        check_networks(world, &new)?;
    }
    world.put(collections::DNS_ZONES, &key, new.clone());
    let id = world.next_numeric_id();
    let op = json!({
        "kind": "dns#operation", "id": id, "startTime": rfc3339(world.now()), "status": "done", "type": "UPDATE",
        "user": "user@example.com", "zoneContext": {"oldValue": old, "newValue": new}
    });
    world.put(
        "dns.operations",
        &format!("{key}/operations/{id}"),
        op.clone(),
    );
    Ok(Reply::json(op))
}

pub fn patch(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    modify(world, call, true)
}

pub fn update(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    modify(world, call, false)
}

pub fn get_operation(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (key, _) = zone(world, call)?;
    let id = call.param("operation")?;
    world
        .get("dns.operations", &format!("{key}/operations/{id}"))
        .cloned()
        .map(Reply::json)
        .ok_or_else(|| missing("operation", id))
}

/// A zone holding records other than its apex NS and SOA cannot be deleted.
pub fn delete(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (key, zone) = zone(world, call)?;
    let apex = zone["dnsName"].as_str().unwrap_or_default().to_string();
    let records = world.list(collections::DNS_RRSETS, &format!("{key}/rrsets/"));
    let apex_only = |r: &Value| r["name"] == apex && (r["type"] == "NS" || r["type"] == "SOA");
    // Record sets that a pending change deletes are still there until it is done.
    let busy = records.iter().any(|(_, r)| !apex_only(r))
        || super::changes::served_rrsets(world, &key)
            .values()
            .any(|r| !apex_only(r));
    if busy {
        let name = zone["name"].as_str().unwrap_or_default();
        return Err(ApiError::new(
            400,
            "FAILED_PRECONDITION",
            "containerNotEmpty",
            format!("The resource named '{name}' cannot be deleted because it is not empty"),
        ));
    }
    for (k, _) in records {
        world.remove(collections::DNS_RRSETS, &k);
    }
    for (k, _) in world.list(collections::DNS_CHANGES, &format!("{key}/changes/")) {
        world.remove(collections::DNS_CHANGES, &k);
    }
    world.remove(collections::DNS_ZONES, &key);
    Ok(Reply::json(json!({})))
}
