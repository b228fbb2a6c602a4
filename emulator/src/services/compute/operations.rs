//! Compute `Operation`s: starting one (with `requestId` idempotency) and regional/global get and wait.

use chrono::Duration;
use serde_json::{json, Value};

use super::errors;
use super::refs::{self, Scope, CANONICAL_PREFIX};
use crate::api::Api;
use crate::error::ApiError;
use crate::operations::{Completion, NewOperation, Style};
use crate::services::{Call, Reply};
use crate::world::World;

/// `requestId` → operation name, per project: a retried insert gets the first operation back.
const REQUEST_IDS: &str = "compute.requestIds";

/// Who Compute operations are attributed to (`user`); the emulator does not resolve token identities.
pub const OPERATION_USER: &str = "user@example.com";

/// How long `wait` blocks at most before answering with a still-running operation (Google: about 2 min).
const WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// What an operation acts on.
pub struct Target<'a> {
    pub project: &'a str,
    pub scope: Scope,
    /// `insert`, `patch`, ... or the fully qualified `compute.regionNetworkEndpointGroups.insert`.
    pub operation_type: &'a str,
    pub target_link: String,
    pub target_id: String,
    /// The nominal duration, scaled by the world's time scale.
    pub nominal: Duration,
}

/// The operation a retried request (same `requestId`) already started, rendered; a `requestId` that is
/// not a non-zero UUID is rejected as Google rejects it.
pub fn replay(world: &World, call: &Call, project: &str) -> Result<Option<Value>, ApiError> {
    let Some(request_id) = call.query("requestId") else {
        return Ok(None);
    };
    if !is_request_uuid(request_id) {
        return Err(ApiError::invalid_argument(format!(
            "Invalid value for field 'requestId': '{request_id}'. The request ID must be a valid UUID with \
             the exception that zero UUID is not supported (00000000-0000-0000-0000-000000000000)."
        )));
    }
    let key = format!("projects/{project}/requestIds/{request_id}");
    Ok(world
        .get(REQUEST_IDS, &key)
        .and_then(Value::as_str)
        .and_then(|name| world.operations.get(name))
        .map(|op| op.render()))
}

/// Google's rule for `requestId` (Compute and Network Services): a UUID, but not the zero UUID.
pub fn is_request_uuid(text: &str) -> bool {
    uuid::Uuid::try_parse(text).is_ok_and(|u| !u.is_nil())
}

/// Starts a Compute operation whose `completion` changes the world when it is due; returns it rendered.
pub fn start(world: &mut World, call: &Call, target: Target<'_>, completion: Completion) -> Value {
    let now = world.now();
    let token = world.next_uuid().replace('-', "");
    let name = format!(
        "operation-{}-{}-{}-{}",
        now.timestamp_millis(),
        &token[..13],
        &token[13..21],
        &token[21..29]
    );
    let (self_link, region) = match &target.scope {
        Scope::Global => (
            format!(
                "{CANONICAL_PREFIX}projects/{}/global/operations/{name}",
                target.project
            ),
            None,
        ),
        Scope::Region(r) => (
            refs::regional_url(target.project, r, "operations", &name),
            Some(refs::region_url(target.project, r)),
        ),
    };
    let stamp = crate::clock::compute_timestamp(now);
    let mut doc = json!({
        "kind": "compute#operation",
        "id": world.next_numeric_id(),
        "name": name,
        "operationType": target.operation_type,
        "targetLink": target.target_link,
        "targetId": target.target_id,
        "selfLink": self_link,
        "insertTime": stamp,
        "startTime": stamp,
        "user": OPERATION_USER,
    });
    if let (Some(region), Some(obj)) = (region, doc.as_object_mut()) {
        obj.insert("region".into(), Value::from(region));
    }
    if let (Some(request_id), Some(obj)) = (call.query("requestId"), doc.as_object_mut()) {
        obj.insert("clientOperationId".into(), Value::from(request_id));
        let key = format!("projects/{}/requestIds/{request_id}", target.project);
        world.put(REQUEST_IDS, &key, Value::from(name.clone()));
    }
    let due = now + world.settings.scaled(target.nominal);
    world.start_operation(
        NewOperation {
            name: name.clone(),
            api: Api::Compute,
            style: Style::Compute,
            method_id: call.method_id.clone(),
            doc,
            created: now,
            due,
            injected: call.injected_operation_error.clone(),
        },
        completion,
    )
}

/// `regionOperations.get`, `globalOperations.get`.
pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (name, _) = find(world, call)?;
    let op = world
        .operations
        .get(&name)
        .ok_or_else(|| ApiError::internal("operation vanished"))?;
    Ok(Reply::json(op.render()))
}

/// `regionOperations.wait`, `globalOperations.wait`: blocks until done or about two minutes.
pub fn wait(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let (operation, _) = find(world, call)?;
    Ok(Reply::Wait {
        operation,
        timeout: WAIT_TIMEOUT,
    })
}

/// The operation named in the path, if it belongs to that project and scope.
fn find(world: &World, call: &Call) -> Result<(String, String), ApiError> {
    let project_param = call.param("project")?;
    let name = call.param("operation")?;
    let project = world
        .project(project_param)
        .map(|p| p.id.clone())
        .ok_or_else(|| errors::not_found(&format!("projects/{project_param}")))?;
    let path = match call.params.get("region") {
        Some(r) => format!("projects/{project}/regions/{r}/operations/{name}"),
        None => format!("projects/{project}/global/operations/{name}"),
    };
    let expected_link = format!("{CANONICAL_PREFIX}{path}");
    let belongs = world
        .operations
        .get(name)
        .filter(|op| op.api == Api::Compute)
        .is_some_and(|op| op.doc.get("selfLink").and_then(Value::as_str) == Some(&expected_link));
    if !belongs {
        return Err(errors::not_found(&path));
    }
    Ok((name.to_string(), path))
}
