//! A deploy: store the service, cut a revision when the template changed, and start the operation whose
//! completion applies the mesh sidecar model.

use super::mesh::{self, Cause};
use super::shape::{self, SERVICE_TYPE};
use super::{revision, Name};
use crate::api::Api;
use crate::operations::{NewOperation, OpError, Outcome, Style};
use crate::services::Call;
use crate::world::{collections, World};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

/// Nominal durations of Cloud Run operations (scaled by the time scale).
pub(super) const CREATE_SECONDS: i64 = 20;
pub(super) const UPDATE_SECONDS: i64 = 15;
pub(super) const DELETE_SECONDS: i64 = 8;
/// Services that failed while sticky failures were on.
pub(super) const STICKY: &str = "run.stickyFailures";

pub(super) fn with_type(service: &Value) -> Value {
    let mut out = Map::new();
    out.insert("@type".into(), json!(SERVICE_TYPE));
    for (k, v) in service.as_object().into_iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

/// The operation `call` starts on `service` (its metadata), running from `created` until `due`.
pub(super) fn new_operation(
    call: &Call,
    name: String,
    service: &Value,
    created: DateTime<Utc>,
    due: DateTime<Utc>,
) -> NewOperation {
    NewOperation {
        name,
        api: Api::Run,
        style: Style::Longrunning,
        method_id: call.method_id.clone(),
        doc: with_type(service),
        created,
        due,
        injected: call.injected_operation_error.clone(),
    }
}

pub(super) fn operation_name(world: &mut World, name: &Name) -> String {
    format!("{}/operations/{}", name.parent(), world.next_uuid())
}

/// Stores the service, creates a revision when the template changed, and starts the deploy operation.
pub(super) fn deploy(
    world: &mut World,
    call: &Call,
    name: &Name,
    mut service: Value,
    new_revision: bool,
    seconds: i64,
) -> Value {
    let key = name.service_name();
    let revision = if new_revision {
        let rev = revision::create(world, name, &service);
        service["latestCreatedRevision"] = json!(rev);
        Some(rev)
    } else {
        None
    };
    let mut causes = match &revision {
        Some(_) => mesh::causes(world, name, &service["template"]),
        None => Vec::new(),
    };
    if world.settings.sticky_mesh_failures && world.get(STICKY, &key).is_some() {
        causes.push(Cause::StickyFailure);
    }
    let missing_traffic = missing_traffic_revision(world, &key, &service);
    service["reconciling"] = json!(true);
    service["etag"] = json!(shape::etag(world));
    world.put(collections::RUN_SERVICES, &key, service.clone());
    let op_name = operation_name(world, name);
    let now = world.now();
    let due = now + world.settings.scaled(Duration::seconds(seconds));
    let port = service["template"]["containers"][0]["ports"][0]["containerPort"]
        .as_i64()
        .unwrap_or(8080);
    let name = name.clone();
    let completion = Box::new(
        move |world: &mut World, injected: Option<OpError>| -> Outcome {
            let Some(mut service) = world.get(collections::RUN_SERVICES, &key).cloned() else {
                return Outcome::err(OpError::new(
                    13,
                    format!("Service '{key}' was deleted during the operation."),
                ));
            };
            let now = world.now();
            let mesh_failure = !causes.is_empty();
            let failure = match (&injected, &revision) {
                (Some(e), _) => Some(e.clone()),
                // Seen from Google as an INTERNAL operation error, not a 400 on the call.
                (None, _) if missing_traffic.is_some() => Some(OpError::new(
                    13,
                    format!(
                        "Revision '{}' does not exist or is deleted.",
                        missing_traffic.as_deref().unwrap_or_default()
                    ),
                )),
                (None, Some(rev)) if mesh_failure => {
                    let id = rev.rsplit('/').next().unwrap_or(rev);
                    Some(OpError::new(9, mesh::generic_failure(&name, id, port)))
                }
                _ => None,
            };
            match (&failure, &revision) {
                (Some(e), Some(rev)) if missing_traffic.is_none() || injected.is_some() => {
                    revision::mark_failed(
                        world,
                        rev,
                        &e.message,
                        mesh_failure && injected.is_none(),
                    )
                }
                (Some(_), Some(rev)) => revision::mark_ready(world, rev),
                (None, Some(rev)) => revision::mark_ready(world, rev),
                _ => {}
            }
            match &failure {
                Some(e) => {
                    shape::mark_failed(&mut service, &e.message, now);
                    if world.settings.sticky_mesh_failures
                        && mesh_failure
                        && missing_traffic.is_none()
                    {
                        world.put(STICKY, &key, json!({"causes": causes.iter().map(Cause::describe).collect::<Vec<_>>()}));
                    }
                }
                None => {
                    let ready = revision
                        .clone()
                        .or_else(|| service["latestReadyRevision"].as_str().map(str::to_string));
                    match ready {
                        Some(rev) => shape::mark_ready(&mut service, &name, &rev, now),
                        None => service["reconciling"] = json!(false),
                    }
                }
            }
            service["etag"] = json!(shape::etag(world));
            world.put(collections::RUN_SERVICES, &key, service.clone());
            let typed = with_type(&service);
            match failure {
                Some(e) => Outcome::err(e).with_metadata(typed),
                None => Outcome::ok(typed.clone()).with_metadata(typed),
            }
        },
    );
    world.start_operation(new_operation(call, op_name, &service, now, due), completion)
}

/// A revision named by a `TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION` target that this service does not have.
fn missing_traffic_revision(world: &World, key: &str, service: &Value) -> Option<String> {
    service["traffic"]
        .as_array()?
        .iter()
        .filter(|t| t["type"] == "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION")
        .filter_map(|t| t["revision"].as_str())
        .find(|rev| {
            world
                .get(
                    collections::RUN_REVISIONS,
                    &format!("{key}/revisions/{rev}"),
                )
                .is_none()
        })
        .map(str::to_string)
}
