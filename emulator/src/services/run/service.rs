//! Services: create, get, list (one region: `locations/-` is refused as by Google), patch (incl. `allowMissing`),
//! delete.

use super::deploy::{
    deploy, new_operation, operation_name, with_type, CREATE_SECONDS, DELETE_SECONDS, STICKY,
    UPDATE_SECONDS,
};
use super::shape;
use super::spec::{check_spec, invalid, is_spec_field, spec, valid_service_id};
use super::Name;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::operations::{OpError, Outcome};
use crate::services::{pages, Call, Reply};
use crate::world::{collections, World};
use chrono::Duration;
use serde_json::{json, Value};

/// Builds a new service document (generation 1) from a spec.
fn new_service(world: &mut World, name: &Name, body: &Value) -> Value {
    let now = rfc3339(world.now());
    let mut service = spec(body, name);
    service.insert("name".into(), json!(name.service_name()));
    service.insert("uid".into(), json!(world.next_uuid()));
    service.insert("generation".into(), json!("1"));
    service.insert("createTime".into(), json!(now));
    service.insert("updateTime".into(), json!(now));
    service.insert("creator".into(), json!(shape::CALLER));
    service.insert("lastModifier".into(), json!(shape::CALLER));
    service.insert(
        "terminalCondition".into(),
        json!({"state": "CONDITION_PENDING"}),
    );
    service.insert("urls".into(), json!([shape::deterministic_url(name)]));
    Value::Object(service)
}

fn create_named(
    world: &mut World,
    call: &Call,
    name: &Name,
    body: &Value,
) -> Result<Reply, ApiError> {
    let id = name.service.clone().unwrap_or_default();
    if !valid_service_id(&id) {
        return Err(invalid("service_id", &format!(
            "'{id}' must begin with a letter, contain only lowercase letters, digits and hyphens, not end with a \
             hyphen and have fewer than 50 characters")));
    }
    check_spec(world, name, body)?;
    if world
        .get(collections::RUN_SERVICES, &name.service_name())
        .is_some()
    {
        return Err(ApiError::already_exists(format!(
            "Resource '{id}' already exists."
        )));
    }
    let service = new_service(world, name, body);
    if call.query_flag("validateOnly") {
        return Ok(Reply::json(
            json!({"name": operation_name(world, name), "metadata": with_type(&service),
                                     "done": true, "response": with_type(&service)}),
        ));
    }
    world.remove(STICKY, &name.service_name());
    Ok(Reply::json(deploy(
        world,
        call,
        name,
        service,
        true,
        CREATE_SECONDS,
    )))
}

pub fn create(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let mut name = Name::parse(world, call.param("parent")?)?;
    if name.region == "-" {
        return Err(ApiError::invalid_argument(
            "A location is required to create a service; '-' is not allowed.",
        ));
    }
    let id = match call.query("serviceId") {
        Some(id) => id.to_string(),
        None => format!(
            "service-{}",
            World::token(&world.next_uuid(), 8).replace(|c: char| c.is_ascii_digit(), "s")
        ),
    };
    name.service = Some(id);
    create_named(world, call, &name, &call.body)
}

fn existing(world: &World, call: &Call) -> Result<(Name, Value), ApiError> {
    let name = Name::parse(world, call.param("name")?)?;
    let id = name.service.clone().unwrap_or_default();
    let service = world
        .get(collections::RUN_SERVICES, &name.service_name())
        .cloned()
        .ok_or_else(|| name.not_found("SERVICE", &id))?;
    Ok((name, service))
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    Ok(Reply::json(existing(world, call)?.1))
}

/// A page of `items` by `pageSize`/`pageToken` (the token is the index of the next item).
pub fn page(call: &Call, items: Vec<Value>) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let start: usize = match call.query("pageToken").filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::invalid_argument(format!("Invalid page token '{t}'.")))?,
        None => 0,
    };
    let size: usize = call
        .query("pageSize")
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(100);
    Ok(pages::slice(items, start, size))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = Name::parse(world, call.param("parent")?)?;
    // run.v2.json, `parent` of services.list: "Location must be a valid Google Cloud region, and cannot be the
    // "-" wildcard."
    if name.region == "-" {
        return Err(invalid(
            "parent",
            "Location must be a valid Google Cloud region, and cannot be the \"-\" wildcard.",
        ));
    }
    let services: Vec<Value> = world
        .list(
            collections::RUN_SERVICES,
            &format!("{}/services/", name.parent()),
        )
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| call.query_flag("showDeleted") || s.get("deleteTime").is_none())
        .collect();
    let (items, next) = page(call, services)?;
    let mut out = json!({});
    if !items.is_empty() {
        out["services"] = json!(items);
    }
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(out))
}

pub fn patch(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = Name::parse(world, call.param("name")?)?;
    let Some(old) = world
        .get(collections::RUN_SERVICES, &name.service_name())
        .cloned()
    else {
        if call.query_flag("allowMissing") {
            return create_named(world, call, &name, &call.body);
        }
        return Err(name.not_found("SERVICE", name.service.as_deref().unwrap_or_default()));
    };
    if old.get("deleteTime").is_some() {
        return Err(ApiError::failed_precondition(format!(
            "Service '{}' is being deleted.",
            name.service_name()
        )));
    }
    if let Some(etag) = call.body["etag"].as_str().filter(|e| !e.is_empty()) {
        if old["etag"] != etag {
            return Err(ApiError::aborted(format!(
                "The etag '{etag}' does not match the current etag of '{}'; read the service again and retry.",
                name.service_name())));
        }
    }
    check_spec(world, &name, &call.body)?;
    let mut service = old.as_object().cloned().unwrap_or_default();
    let new_spec = spec(&call.body, &name);
    // The v2 update replaces the whole spec; an update mask limits it to the listed top-level fields.
    let mask: Option<Vec<String>> = call
        .query("updateMask")
        .map(|m| m.split(',').map(|f| f.trim().to_string()).collect());
    match &mask {
        Some(fields) => {
            for f in fields {
                let top = f.split('.').next().unwrap_or(f);
                match new_spec.get(top) {
                    Some(v) => service.insert(top.to_string(), v.clone()),
                    None => service.remove(top),
                };
            }
        }
        None => {
            let spec_keys: Vec<String> = service
                .keys()
                .filter(|k| new_spec.contains_key(*k) || is_spec_field(k))
                .cloned()
                .collect();
            for k in spec_keys {
                service.remove(&k);
            }
            service.extend(new_spec);
        }
    }
    let template_changed = service.get("template") != old.get("template");
    let new_revision = template_changed || call.query_flag("forceNewRevision");
    let generation: u64 = old["generation"]
        .as_str()
        .and_then(|g| g.parse().ok())
        .unwrap_or(1);
    service.insert("generation".into(), json!((generation + 1).to_string()));
    service.insert("updateTime".into(), json!(rfc3339(world.now())));
    service.insert("lastModifier".into(), json!(shape::CALLER));
    service.insert(
        "terminalCondition".into(),
        json!({"type": "Ready", "state": "CONDITION_RECONCILING"}),
    );
    let service = Value::Object(service);
    if call.query_flag("validateOnly") {
        return Ok(Reply::json(
            json!({"name": operation_name(world, &name), "metadata": with_type(&service),
                                     "done": true, "response": with_type(&service)}),
        ));
    }
    Ok(Reply::json(deploy(
        world,
        call,
        &name,
        service,
        new_revision,
        UPDATE_SECONDS,
    )))
}

pub fn delete(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (name, mut service) = existing(world, call)?;
    if let Some(etag) = call.query("etag").filter(|e| !e.is_empty()) {
        if service["etag"] != etag {
            return Err(ApiError::aborted(format!(
                "The etag '{etag}' does not match the current etag of '{}'; read the service again and retry.",
                name.service_name())));
        }
    }
    if call.query_flag("validateOnly") {
        return Ok(Reply::json(
            json!({"name": operation_name(world, &name), "metadata": with_type(&service),
                                     "done": true, "response": with_type(&service)}),
        ));
    }
    let now = world.now();
    service["deleteTime"] = json!(rfc3339(now));
    service["expireTime"] = json!(rfc3339(now + Duration::days(30)));
    service["reconciling"] = json!(true);
    let key = name.service_name();
    world.put(collections::RUN_SERVICES, &key, service.clone());
    let op_name = operation_name(world, &name);
    let due = now + world.settings.scaled(Duration::seconds(DELETE_SECONDS));
    let completion = Box::new(
        move |world: &mut World, injected: Option<OpError>| -> Outcome {
            let snapshot = world
                .get(collections::RUN_SERVICES, &key)
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(e) = injected {
                if let Some(s) = world.get_mut(collections::RUN_SERVICES, &key) {
                    if let Some(o) = s.as_object_mut() {
                        o.remove("deleteTime");
                        o.remove("expireTime");
                    }
                    s["reconciling"] = json!(false);
                }
                return Outcome::err(e).with_metadata(with_type(&snapshot));
            }
            world.remove(collections::RUN_SERVICES, &key);
            for (k, _) in world.list(collections::RUN_REVISIONS, &format!("{key}/revisions/")) {
                world.remove(collections::RUN_REVISIONS, &k);
            }
            world.resource_policies.remove(&key);
            world.remove(STICKY, &key);
            let typed = with_type(&snapshot);
            Outcome::ok(typed.clone()).with_metadata(typed)
        },
    );
    Ok(Reply::json(world.start_operation(
        new_operation(call, op_name, &service, now, due),
        completion,
    )))
}
