//! `regionNetworkEndpointGroups` handlers: insert, get, list, delete; and the project-wide
//! `networkEndpointGroups.aggregatedList`.

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

/// `networkEndpointGroups.aggregatedList`: the project's NEGs grouped by scope (`regions/R`). Scopes without a NEG
/// answer Google's `NO_RESULTS_ON_PAGE` warning; the emulator knows no region list of its own, so those are the
/// regions of the project's subnetworks (Google lists every region and zone).
pub fn aggregated_list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let region_of = |key: &str| key.split('/').nth(3).unwrap_or_default().to_string();
    let scoped: Vec<(String, Value)> = world
        .list(NEGS, &format!("projects/{project}/regions/"))
        .into_iter()
        .map(|(k, v)| (format!("regions/{}", region_of(&k)), v))
        .collect();
    let mut scopes: Vec<String> = world
        .list(
            crate::world::collections::SUBNETWORKS,
            &format!("projects/{project}/regions/"),
        )
        .into_iter()
        .map(|(k, _)| format!("regions/{}", region_of(&k)))
        .chain(scoped.iter().map(|(s, _)| s.clone()))
        .collect();
    scopes.sort();
    scopes.dedup();
    list::aggregated_reply(
        call,
        "compute#networkEndpointGroupAggregatedList",
        &format!("projects/{project}/aggregated/{}", neg::COLLECTION),
        "networkEndpointGroups",
        &scopes,
        scoped,
    )
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
