//! `regionNetworkEndpointGroups` handlers: insert, get, list, delete.

use chrono::Duration;
use serde_json::Value;

use super::operations::{self, Target};
use super::refs::{self, Scope};
use super::{backend_services_using_neg, errors, list, neg, project_id, region, NEGS};
use crate::error::ApiError;
use crate::operations::{OpError, Outcome};
use crate::services::{Call, Reply};
use crate::world::World;

/// A serverless NEG takes a few seconds to create or delete in Google Cloud.
const NEG_OPERATION: Duration = Duration::seconds(5);

fn key(project: &str, region: &str, name: &str) -> String {
    format!(
        "projects/{project}/regions/{region}/{}/{name}",
        neg::COLLECTION
    )
}

pub fn insert(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let region = region(call, &project)?;
    if let Some(op) = operations::replay(world, call, &project)? {
        return Ok(Reply::json(op));
    }
    let id = world.next_numeric_id();
    let doc = neg::build(&call.body, &project, &region, &id, world.now())?;
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let key = key(&project, &region, &name);
    if world.get(NEGS, &key).is_some() {
        return Err(errors::already_exists(&key));
    }
    let target = Target {
        project: &project,
        scope: Scope::Region(region.clone()),
        operation_type: "compute.regionNetworkEndpointGroups.insert",
        target_link: refs::regional_url(&project, &region, neg::COLLECTION, &name),
        target_id: id,
        nominal: NEG_OPERATION,
    };
    let completion = Box::new(move |w: &mut World, injected: Option<OpError>| {
        if injected.is_some() {
            return Outcome::ok(Value::Null);
        }
        // Another insert of the same name may have finished while this one ran.
        if w.get(NEGS, &key).is_some() {
            return Outcome::err(compute_op_error(
                6,
                "RESOURCE_ALREADY_EXISTS",
                format!("The resource '{key}' already exists"),
            ));
        }
        w.put(NEGS, &key, doc);
        Outcome::ok(Value::Null)
    });
    Ok(Reply::json(operations::start(
        world, call, target, completion,
    )))
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let region = region(call, &project)?;
    let key = key(&project, &region, call.param("networkEndpointGroup")?);
    world
        .get(NEGS, &key)
        .cloned()
        .map(Reply::json)
        .ok_or_else(|| errors::not_found(&key))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let region = region(call, &project)?;
    let path = format!("projects/{project}/regions/{region}/{}", neg::COLLECTION);
    let items = world
        .list(NEGS, &format!("{path}/"))
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    list::reply(call, "compute#networkEndpointGroupList", &path, items)
}

pub fn delete(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let region = region(call, &project)?;
    if let Some(op) = operations::replay(world, call, &project)? {
        return Ok(Reply::json(op));
    }
    let name = call.param("networkEndpointGroup")?.to_string();
    let key = key(&project, &region, &name);
    let Some(existing) = world.get(NEGS, &key) else {
        return Err(errors::not_found(&key));
    };
    let id = existing
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let url = refs::regional_url(&project, &region, neg::COLLECTION, &name);
    if let Some(user) = backend_services_using_neg(world, &project, &url).first() {
        return Err(errors::in_use("network_endpoint_group", &key, user));
    }
    let target = Target {
        project: &project,
        scope: Scope::Region(region.clone()),
        operation_type: "compute.regionNetworkEndpointGroups.delete",
        target_link: url.clone(),
        target_id: id,
        nominal: NEG_OPERATION,
    };
    let completion = Box::new(move |w: &mut World, injected: Option<OpError>| {
        if injected.is_some() {
            return Outcome::ok(Value::Null);
        }
        let project = key.split('/').nth(1).unwrap_or_default().to_string();
        // A backend service may have started using the NEG while the delete ran.
        if let Some(user) = backend_services_using_neg(w, &project, &url).first() {
            return Outcome::err(compute_op_error(
                9,
                "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
                format!(
                    "The network_endpoint_group resource '{key}' is already being used by '{user}'"
                ),
            ));
        }
        w.remove(NEGS, &key);
        Outcome::ok(Value::Null)
    });
    Ok(Reply::json(operations::start(
        world, call, target, completion,
    )))
}

/// A failed Compute operation: rpc `code` (for the HTTP class) and Compute's `errors[].code`.
pub(super) fn compute_op_error(code: i64, compute_code: &str, message: String) -> OpError {
    OpError {
        code,
        message,
        compute_code: Some(compute_code.to_string()),
    }
}
