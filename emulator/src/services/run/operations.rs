//! Cloud Run operations: get, wait, list, delete.

use super::Name;
use crate::clock::parse_duration;
use crate::error::ApiError;
use crate::services::{Call, Reply};
use crate::world::World;
use serde_json::{json, Value};

/// Google caps a single wait; clients loop.
const MAX_WAIT_SECONDS: u64 = 60;

fn op_name(world: &World, call: &Call) -> Result<String, ApiError> {
    let raw = call.param("name")?;
    Name::parse(world, raw)?;
    let name = world.normalise_name(raw);
    if world.operations.get(&name).is_none() {
        return Err(ApiError::not_found(format!("Operation '{raw}' not found.")));
    }
    Ok(name)
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = op_name(world, call)?;
    Ok(Reply::json(
        world
            .operations
            .get(&name)
            .map(|o| o.render())
            .unwrap_or(Value::Null),
    ))
}

pub fn wait(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = op_name(world, call)?;
    let requested = call.body["timeout"]
        .as_str()
        .and_then(parse_duration)
        .and_then(|d| d.to_std().ok());
    let cap = std::time::Duration::from_secs(MAX_WAIT_SECONDS);
    let timeout = requested.map_or(cap, |t| t.min(cap));
    Ok(Reply::Wait {
        operation: name,
        timeout,
    })
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let parent = Name::parse(world, call.param("name")?)?;
    let prefix = format!("{}/operations/", parent.parent());
    let ops: Vec<Value> = world
        .operations
        .all()
        .filter(|o| o.api == crate::api::Api::Run && o.name.starts_with(&prefix))
        .map(|o| o.render())
        .collect();
    let (items, next) = super::service::page(call, ops)?;
    let mut out = json!({"operations": items});
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(out))
}

/// Deleting an operation only forgets it; Cloud Run answers with an empty object.
pub fn delete(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    op_name(world, call)?;
    Ok(Reply::json(json!({})))
}
