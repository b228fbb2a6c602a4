//! Network Services `google.longrunning.Operation`s: starting one and `operations.get`.

use chrono::Duration;
use serde_json::{json, Value};

use super::parent;
use crate::api::Api;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::operations::{Completion, NewOperation, OpError, Outcome, Style};
use crate::services::{Call, Reply};
use crate::world::World;

const METADATA_TYPE: &str = "type.googleapis.com/google.cloud.networkservices.v1.OperationMetadata";
const EMPTY_TYPE: &str = "type.googleapis.com/google.protobuf.Empty";

/// `requestId` → operation name, per project (only `httpRoutes.create` takes one).
const REQUEST_IDS: &str = "networkservices.requestIds";

/// The work an operation does when due: `Ok(Some(doc))` answers with a resource of `@type` `response_type`,
/// `Ok(None)` with `google.protobuf.Empty`.
pub type Work = Box<dyn FnOnce(&mut World) -> Result<Option<Value>, OpError> + Send>;

/// The operation a retried request (same `requestId`) already started, rendered; a `requestId` that is
/// not a non-zero UUID is rejected.
pub fn replay(world: &World, call: &Call, project_parent: &str) -> Result<Option<Value>, ApiError> {
    let Some(request_id) = call.query("requestId") else {
        return Ok(None);
    };
    if !crate::services::compute::is_request_uuid(request_id) {
        return Err(ApiError::invalid_argument(format!(
            "Invalid request_id '{request_id}': it must be a UUID other than the zero UUID."
        )));
    }
    let key = format!("{project_parent}/requestIds/{request_id}");
    Ok(world
        .get(REQUEST_IDS, &key)
        .and_then(Value::as_str)
        .and_then(|name| world.operations.get(name))
        .map(|op| op.render()))
}

/// What an operation is about.
pub struct Job<'a> {
    /// `projects/{id}/locations/{l}`: operations live under the location.
    pub location: &'a str,
    /// The full resource name the operation acts on.
    pub target: &'a str,
    /// `create`, `update` or `delete`.
    pub verb: &'static str,
    /// `@type` of the response when the work returns a resource.
    pub response_type: &'static str,
    /// Nominal duration, scaled by the world's time scale.
    pub nominal: Duration,
}

/// Starts an operation; `work` runs when it is due, unless a fault injected a failure.
pub fn start(world: &mut World, call: &Call, job: Job<'_>, work: Work) -> Value {
    let Job {
        location,
        target,
        verb,
        response_type,
        nominal,
    } = job;
    let now = world.now();
    let token = world.next_uuid().replace('-', "");
    let name = format!(
        "{location}/operations/operation-{}-{}-{}-{}",
        now.timestamp_millis(),
        &token[..13],
        &token[13..21],
        &token[21..29]
    );
    let metadata = json!({
        "@type": METADATA_TYPE,
        "createTime": rfc3339(now),
        "target": target,
        "verb": verb,
        "requestedCancellation": false,
        "apiVersion": "v1",
    });
    if let Some(request_id) = call.query("requestId") {
        let key = format!("{location}/requestIds/{request_id}");
        world.put(REQUEST_IDS, &key, Value::from(name.clone()));
    }
    let due = now + world.settings.scaled(nominal);
    let done_metadata = {
        let mut m = metadata.clone();
        if let Some(obj) = m.as_object_mut() {
            obj.insert("endTime".into(), Value::from(rfc3339(due)));
        }
        m
    };
    let completion: Completion = Box::new(move |w: &mut World, injected: Option<OpError>| {
        let outcome = match injected {
            Some(e) => Outcome::err(e),
            None => match work(w) {
                Ok(Some(doc)) => Outcome::ok(typed(response_type, doc)),
                Ok(None) => Outcome::ok(json!({"@type": EMPTY_TYPE})),
                Err(e) => Outcome::err(e),
            },
        };
        outcome.with_metadata(done_metadata)
    });
    let mut rendered = world.start_operation(
        NewOperation {
            name: name.clone(),
            api: Api::NetworkServices,
            style: Style::Longrunning,
            method_id: call.method_id.clone(),
            doc: metadata,
            created: now,
            due,
            injected: call.injected_operation_error.clone(),
        },
        completion,
    );
    // A running operation says so explicitly, as the recorded traffic shows.
    if let Some(obj) = rendered.as_object_mut() {
        obj.entry("done").or_insert(Value::Bool(false));
    }
    rendered
}

/// `{"@type": ..., <resource fields>}`.
fn typed(response_type: &str, doc: Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("@type".into(), Value::from(response_type));
    if let Value::Object(fields) = doc {
        out.extend(fields);
    }
    Value::Object(out)
}

/// `operations.get`.
pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let location = parent(world, call)?;
    let name = format!("{location}/operations/{}", call.param("operationsId")?);
    let op = world
        .operations
        .get(&name)
        .filter(|op| op.api == Api::NetworkServices)
        .ok_or_else(|| super::not_found(&name))?;
    let mut rendered = op.render();
    if let Some(obj) = rendered.as_object_mut() {
        obj.entry("done").or_insert(Value::Bool(false));
    }
    Ok(Reply::json(rendered))
}

/// A failed Network Services operation with an rpc code.
pub fn op_error(code: i64, message: impl Into<String>) -> OpError {
    OpError::new(code, message)
}
