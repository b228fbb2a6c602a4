//! IAM on Cloud Run services (`roles/run.invoker`): etag-checked read-modify-write policies.

use super::Name;
use crate::error::ApiError;
use crate::iam::Policy;
use crate::services::{Call, Reply};
use crate::world::{collections, World};
use serde_json::{json, Value};

fn service_key(world: &World, call: &Call) -> Result<String, ApiError> {
    let name = Name::parse(world, call.param("resource")?)?;
    let key = name.service_name();
    if world.get(collections::RUN_SERVICES, &key).is_none() {
        return Err(name.not_found("SERVICE", name.service.as_deref().unwrap_or_default()));
    }
    Ok(key)
}

fn policy<'a>(world: &'a mut World, key: &str) -> &'a mut Policy {
    let now = world.now();
    world
        .resource_policies
        .entry(key.to_string())
        .or_insert_with(|| Policy::seeded(key, Vec::new(), now))
}

pub fn get_iam_policy(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let key = service_key(world, call)?;
    let version = call
        .query("options.requestedPolicyVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(Reply::json(policy(world, &key).render(version)))
}

pub fn set_iam_policy(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let key = service_key(world, call)?;
    let new_policy = call
        .body
        .get("policy")
        .filter(|p| p.is_object())
        .cloned()
        .ok_or_else(|| ApiError::invalid_argument("Request contains an invalid argument."))?;
    crate::iam::check_members(world, &new_policy, true)?;
    let mask = call
        .body
        .get("updateMask")
        .and_then(Value::as_str)
        .map(str::to_string);
    let effective_at = world.now() + world.settings.scaled(world.settings.iam_propagation_delay);
    let rendered = policy(world, &key).set(&key, &new_policy, mask.as_deref(), effective_at)?;
    Ok(Reply::json(rendered))
}

/// Every permission is granted to any authenticated caller on an existing service.
pub fn test_iam_permissions(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    service_key(world, call)?;
    Ok(Reply::json(
        json!({"permissions": call.body.get("permissions").cloned().unwrap_or_else(|| json!([]))}),
    ))
}
