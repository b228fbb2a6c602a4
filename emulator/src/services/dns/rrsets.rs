//! Resource record sets through the per-record REST methods, and the record checks shared with changes.

use super::changes::{check_records_per_rrset, served_rrset, served_rrsets};
use super::{invalid, missing, page, zone};
use crate::error::ApiError;
use crate::services::{Call, Reply};
use crate::world::{collections, World};
use serde_json::{json, Value};

const TYPES: [&str; 17] = [
    "A", "AAAA", "CAA", "CNAME", "DNSKEY", "DS", "HTTPS", "IPSECKEY", "MX", "NAPTR", "NS", "PTR",
    "SOA", "SPF", "SRV", "SVCB", "TXT",
];

/// Checks a record against its zone and returns it as stored (`kind` and `signatureRrdatas` filled).
/// `field` names the record in error messages, e.g. `entity.rrset` or `entity.change.additions[0]`.
pub(super) fn checked(zone: &Value, record: &Value, field: &str) -> Result<Value, ApiError> {
    let apex = zone["dnsName"].as_str().unwrap_or_default();
    let name = record["name"].as_str().unwrap_or_default();
    if name.is_empty()
        || !name.ends_with('.')
        || !(name == apex || name.ends_with(&format!(".{apex}")))
    {
        return Err(invalid(&format!("{field}.name"), name));
    }
    let ty = record["type"].as_str().unwrap_or_default();
    if !TYPES.contains(&ty) {
        return Err(invalid(&format!("{field}.type"), ty));
    }
    if let Some(ttl) = record.get("ttl") {
        if ttl.as_i64().is_none_or(|t| t < 0) {
            return Err(invalid(&format!("{field}.ttl"), &ttl.to_string()));
        }
    }
    let rrdatas = record["rrdatas"].as_array().cloned().unwrap_or_default();
    if rrdatas.is_empty() && record.get("routingPolicy").is_none() {
        return Err(ApiError::invalid_argument(format!(
            "The 'entity.{}.rrdata' field is required.",
            field.trim_start_matches("entity.")
        ))
        .with_reason("required"));
    }
    for (i, data) in rrdatas.iter().enumerate() {
        let text = data.as_str().unwrap_or_default();
        let ok = match ty {
            "A" => text.parse::<std::net::Ipv4Addr>().is_ok(),
            "AAAA" => text.parse::<std::net::Ipv6Addr>().is_ok(),
            _ => !text.is_empty(),
        };
        if !ok {
            return Err(invalid(&format!("{field}.rrdata[{i}]"), text));
        }
    }
    if ty == "CNAME" && rrdatas.len() > 1 {
        return Err(invalid(
            &format!("{field}.rrdata"),
            "more than one CNAME target",
        ));
    }
    let mut out = record.as_object().cloned().unwrap_or_default();
    out.insert("kind".into(), json!("dns#resourceRecordSet"));
    out.insert(
        "signatureRrdatas".into(),
        record
            .get("signatureRrdatas")
            .cloned()
            .unwrap_or_else(|| json!([])),
    );
    Ok(Value::Object(out))
}

pub(super) fn key(zone_key: &str, name: &str, ty: &str) -> String {
    format!("{zone_key}/rrsets/{name}/{ty}")
}

pub(super) fn already_exists(name: &str, ty: &str) -> ApiError {
    ApiError::already_exists(format!(
        "The resource 'entity.rrset' named '{name} ({ty})' already exists"
    ))
}

pub fn create(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (zone_key, zone) = zone(world, call)?;
    let record = checked(&zone, &call.body, "entity.rrset")?;
    let name = record["name"].as_str().unwrap_or_default().to_string();
    let ty = record["type"].as_str().unwrap_or_default().to_string();
    let k = key(&zone_key, &name, &ty);
    if world.get(collections::DNS_RRSETS, &k).is_some() {
        return Err(already_exists(&name, &ty));
    }
    check_records_per_rrset(world, &record)?;
    world.put(collections::DNS_RRSETS, &k, record.clone());
    Ok(Reply::json(record))
}

fn existing(world: &World, call: &Call) -> Result<(String, Value, Value), ApiError> {
    let (zone_key, zone) = zone(world, call)?;
    let name = call.param("name")?;
    let ty = call.param("type")?;
    let k = key(&zone_key, name, ty);
    let record = world
        .get(collections::DNS_RRSETS, &k)
        .cloned()
        .ok_or_else(|| missing("name", &format!("{name} ({ty})")))?;
    Ok((k, zone, record))
}

/// A read sees a record set as the done changes left it.
pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (zone_key, _) = zone(world, call)?;
    let name = call.param("name")?;
    let ty = call.param("type")?;
    served_rrset(world, &zone_key, &key(&zone_key, name, ty))
        .map(Reply::json)
        .ok_or_else(|| missing("name", &format!("{name} ({ty})")))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (zone_key, _) = zone(world, call)?;
    let name = call.query("name");
    let ty = call.query("type");
    if ty.is_some() && name.is_none() {
        return Err(ApiError::invalid_argument(
            "Type can only be specified if name is also specified.",
        )
        .with_reason("invalid"));
    }
    let mut records: Vec<Value> = served_rrsets(world, &zone_key)
        .into_values()
        .filter(|r| name.is_none_or(|n| r["name"] == n) && ty.is_none_or(|t| r["type"] == t))
        .collect();
    // Google lists the apex NS and SOA first, then the rest by name.
    records.sort_by_key(|r| {
        (
            r["type"] != "NS" && r["type"] != "SOA",
            r["name"].as_str().map(str::to_string),
        )
    });
    let (items, next) = page(call, records);
    let mut out = json!({"kind": "dns#resourceRecordSetsListResponse", "rrsets": items});
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(out))
}

pub fn patch(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (k, zone, old) = existing(world, call)?;
    let mut merged = old.as_object().cloned().unwrap_or_default();
    for (field, v) in call.body.as_object().cloned().unwrap_or_default() {
        merged.insert(field, v);
    }
    let merged = Value::Object(merged);
    if merged["name"] != old["name"] || merged["type"] != old["type"] {
        return Err(invalid(
            "entity.rrset.name",
            merged["name"].as_str().unwrap_or_default(),
        ));
    }
    let record = checked(&zone, &merged, "entity.rrset")?;
    check_records_per_rrset(world, &record)?;
    world.put(collections::DNS_RRSETS, &k, record.clone());
    Ok(Reply::json(record))
}

pub fn delete(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (k, zone, record) = existing(world, call)?;
    if record["name"] == zone["dnsName"] && (record["type"] == "SOA" || record["type"] == "NS") {
        return Err(ApiError::invalid_argument(format!(
            "The resource record set 'entity.rrset' of type '{}' at the zone apex cannot be deleted.",
            record["type"].as_str().unwrap_or_default()
        ))
        .with_reason("invalid"));
    }
    world.remove(collections::DNS_RRSETS, &k);
    Ok(Reply::json(json!({})))
}
