//! `backendServices` handlers: insert, get, list, patch, update (PUT), delete.

use chrono::Duration;
use serde_json::Value;

use super::backend_service::{self, Identity};
use super::neg_api::compute_op_error;
use super::operations::{self, Target};
use super::refs::{self, ResourceRef, Scope};
use super::{errors, list, project_id, BACKEND_SERVICES, NEGS};
use crate::error::ApiError;
use crate::operations::{OpError, Outcome};
use crate::services::{Call, Reply};
use crate::world::World;

/// Backend service writes take around ten seconds in Google Cloud.
const BACKEND_SERVICE_OPERATION: Duration = Duration::seconds(10);

fn key(project: &str, name: &str) -> String {
    format!(
        "projects/{project}/global/{}/{name}",
        backend_service::COLLECTION
    )
}

fn neg_lookup(world: &World) -> impl Fn(&ResourceRef) -> Option<Value> + '_ {
    move |r: &ResourceRef| {
        let Scope::Region(region) = &r.scope else {
            return None;
        };
        let project = world.project(&r.project)?.id.clone();
        let key = format!(
            "projects/{project}/regions/{region}/{}/{}",
            r.collection, r.name
        );
        world.get(NEGS, &key).cloned()
    }
}

// A write-unique salt so every write gets a new fingerprint.
fn salt(world: &mut World) -> u64 {
    world.next_numeric_id().parse().unwrap_or_default()
}

/// Re-checks, when the operation completes, that every backend NEG still exists.
fn missing_neg(world: &World, doc: &Value) -> Option<String> {
    let lookup = neg_lookup(world);
    backend_service::backend_groups(doc)
        .into_iter()
        .find_map(|g| {
            let r = refs::parse(&g, "")?;
            lookup(&r).is_none().then(|| r.path())
        })
}

/// The document to store for backend service `name`: `source` with the server-set fields filled in.
fn build(
    world: &mut World,
    source: &Value,
    project: &str,
    name: &str,
    id: &str,
    created: &str,
) -> Result<Value, ApiError> {
    let salt = salt(world);
    let who = Identity {
        project,
        name,
        id,
        created,
    };
    backend_service::build(source, &who, &neg_lookup(world), salt)
}

/// The last step of an insert or update: stores `doc` unless a backend NEG went away meanwhile.
fn store_if_negs_exist(w: &mut World, key: &str, doc: Value) -> Outcome {
    if let Some(path) = missing_neg(w, &doc) {
        return Outcome::err(compute_op_error(
            5,
            "RESOURCE_NOT_FOUND",
            format!("The resource '{path}' was not found"),
        ));
    }
    w.put(BACKEND_SERVICES, key, doc);
    Outcome::ok(Value::Null)
}

pub fn insert(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    if let Some(op) = operations::replay(world, call, &project)? {
        return Ok(Reply::json(op));
    }
    let name = backend_service::check_name(&call.body)?;
    let key = key(&project, &name);
    if world.get(BACKEND_SERVICES, &key).is_some() {
        return Err(errors::already_exists(&key));
    }
    let id = world.next_numeric_id();
    let created = crate::clock::compute_timestamp(world.now());
    let doc = build(world, &call.body, &project, &name, &id, &created)?;
    let target = target(&project, &name, &id, "insert");
    let completion = Box::new(move |w: &mut World, injected: Option<OpError>| {
        if injected.is_some() {
            return Outcome::ok(Value::Null);
        }
        if w.get(BACKEND_SERVICES, &key).is_some() {
            return Outcome::err(compute_op_error(
                6,
                "RESOURCE_ALREADY_EXISTS",
                format!("The resource '{key}' already exists"),
            ));
        }
        store_if_negs_exist(w, &key, doc)
    });
    Ok(Reply::json(operations::start(
        world, call, target, completion,
    )))
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let key = key(&project, call.param("backendService")?);
    world
        .get(BACKEND_SERVICES, &key)
        .cloned()
        .map(Reply::json)
        .ok_or_else(|| errors::not_found(&key))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let path = format!("projects/{project}/global/{}", backend_service::COLLECTION);
    let items = world
        .list(BACKEND_SERVICES, &format!("{path}/"))
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    list::reply(call, "compute#backendServiceList", &path, items)
}

/// PATCH: JSON merge patch onto the stored resource; needs the current fingerprint.
pub fn patch(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    write(world, call, "patch")
}

/// PUT: full replacement; needs the current fingerprint.
pub fn update(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    write(world, call, "update")
}

fn write(world: &mut World, call: &Call, verb: &'static str) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    if let Some(op) = operations::replay(world, call, &project)? {
        return Ok(Reply::json(op));
    }
    let name = call.param("backendService")?.to_string();
    let key = key(&project, &name);
    let Some(current) = world.get(BACKEND_SERVICES, &key).cloned() else {
        return Err(errors::not_found(&key));
    };
    backend_service::check_fingerprint(&current, &call.body)?;
    let source = if verb == "patch" {
        let mut merged = current.clone();
        backend_service::merge_patch(&mut merged, &call.body);
        merged
    } else {
        call.body.clone()
    };
    let field = |k: &str| {
        current
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (id, created, checked) = (
        field("id"),
        field("creationTimestamp"),
        field("fingerprint"),
    );
    let doc = build(world, &source, &project, &name, &id, &created)?;
    let target = target(&project, &name, &id, verb);
    let completion = Box::new(move |w: &mut World, injected: Option<OpError>| {
        if injected.is_some() {
            return Outcome::ok(Value::Null);
        }
        let now_fingerprint = w
            .get(BACKEND_SERVICES, &key)
            .and_then(|d| d.get("fingerprint"))
            .and_then(Value::as_str)
            .map(str::to_string);
        match now_fingerprint {
            None => {
                return Outcome::err(compute_op_error(
                    5,
                    "RESOURCE_NOT_FOUND",
                    format!("The resource '{key}' was not found"),
                ));
            }
            // Another write landed between this request and its completion.
            Some(f) if f != checked => {
                return Outcome::err(compute_op_error(
                    9,
                    "CONDITION_NOT_MET",
                    "Invalid fingerprint.".to_string(),
                ));
            }
            Some(_) => {}
        }
        store_if_negs_exist(w, &key, doc)
    });
    Ok(Reply::json(operations::start(
        world, call, target, completion,
    )))
}

pub fn delete(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    if let Some(op) = operations::replay(world, call, &project)? {
        return Ok(Reply::json(op));
    }
    let name = call.param("backendService")?.to_string();
    let key = key(&project, &name);
    let Some(current) = world.get(BACKEND_SERVICES, &key) else {
        return Err(errors::not_found(&key));
    };
    let id = current
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(route) = crate::services::referrers(world, BACKEND_SERVICES, &key).first() {
        return Err(errors::in_use("backend_service", &key, route));
    }
    let target = target(&project, &name, &id, "delete");
    let completion = Box::new(move |w: &mut World, injected: Option<OpError>| {
        if injected.is_some() {
            return Outcome::ok(Value::Null);
        }
        if let Some(route) = crate::services::referrers(w, BACKEND_SERVICES, &key).first() {
            return Outcome::err(compute_op_error(
                9,
                "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
                format!("The backend_service resource '{key}' is already being used by '{route}'"),
            ));
        }
        w.remove(BACKEND_SERVICES, &key);
        Outcome::ok(Value::Null)
    });
    Ok(Reply::json(operations::start(
        world, call, target, completion,
    )))
}

fn target<'a>(project: &'a str, name: &str, id: &str, verb: &'a str) -> Target<'a> {
    Target {
        project,
        scope: Scope::Global,
        operation_type: verb,
        target_link: refs::global_url(project, backend_service::COLLECTION, name),
        target_id: id.to_string(),
        nominal: BACKEND_SERVICE_OPERATION,
    }
}
