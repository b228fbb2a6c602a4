//! Resource Manager v1: projects get, getIamPolicy, setIamPolicy (with propagation delay), testIamPermissions.

use crate::error::ApiError;
use crate::services::{Call, Registry, Reply};
use crate::world::World;
use serde_json::{json, Value};

/// Registers this API's handlers.
pub fn register(r: &mut Registry) {
    r.add("cloudresourcemanager.projects.get", get_project);
    r.add("cloudresourcemanager.projects.getIamPolicy", get_iam_policy);
    r.add("cloudresourcemanager.projects.setIamPolicy", set_iam_policy);
    r.add(
        "cloudresourcemanager.projects.testIamPermissions",
        test_iam_permissions,
    );
}

/// Google answers 403 for projects that do not exist, so their existence is not revealed.
fn denied() -> ApiError {
    ApiError::permission_denied("The caller does not have permission")
}

fn project_param<'a>(call: &'a Call, name: &str) -> Result<&'a str, ApiError> {
    let raw = call.param(name)?;
    Ok(raw.strip_prefix("projects/").unwrap_or(raw))
}

fn get_project(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let id = project_param(call, "projectId")?;
    let p = world.project(id).ok_or_else(denied)?;
    Ok(Reply::json(json!({
        "projectNumber": p.number,
        "projectId": p.id,
        "lifecycleState": "ACTIVE",
        "name": p.id,
        "createTime": crate::clock::rfc3339(p.create_time),
    })))
}

fn requested_version(body: &Value) -> i64 {
    let v = &body["options"]["requestedPolicyVersion"];
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

fn get_iam_policy(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let id = project_param(call, "resource")?;
    let p = world.project(id).ok_or_else(denied)?;
    Ok(Reply::json(p.policy.render(requested_version(&call.body))))
}

fn set_iam_policy(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let id = project_param(call, "resource")?.to_string();
    let policy = call
        .body
        .get("policy")
        .filter(|p| p.is_object())
        .ok_or_else(|| ApiError::invalid_argument("Request contains an invalid argument."))?;
    crate::iam::check_members(world, policy, false)?;
    let effective_at = world.now() + world.settings.scaled(world.settings.iam_propagation_delay);
    let mask = call
        .body
        .get("updateMask")
        .and_then(Value::as_str)
        .map(str::to_string);
    let project = world.project_mut(&id).ok_or_else(denied)?;
    let resource = format!("projects/{}", project.id);
    let rendered = project
        .policy
        .set(&resource, policy, mask.as_deref(), effective_at)?;
    Ok(Reply::json(rendered))
}

/// The emulator grants every permission to any authenticated caller on an existing project.
fn test_iam_permissions(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let id = project_param(call, "resource")?;
    world.project(id).ok_or_else(denied)?;
    let permissions = call
        .body
        .get("permissions")
        .cloned()
        .unwrap_or_else(|| json!([]));
    Ok(Reply::json(json!({ "permissions": permissions })))
}
