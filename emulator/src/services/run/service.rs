//! Services: create, get, list (incl. `locations/-`), patch (incl. `allowMissing`), delete; each deploy starts
//! an operation whose completion decides readiness through the mesh model.

use super::mesh::{self, Cause};
use super::shape::{self, apply_defaults, SERVICE_TYPE};
use super::{revision, Name};
use crate::api::Api;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::operations::{NewOperation, OpError, Outcome, Style};
use crate::services::{Call, Reply};
use crate::world::{collections, World};
use chrono::Duration;
use serde_json::{json, Map, Value};

/// Nominal durations of Cloud Run operations (scaled by the time scale).
const CREATE_SECONDS: i64 = 20;
const UPDATE_SECONDS: i64 = 15;
const DELETE_SECONDS: i64 = 8;
/// Services that failed while sticky failures were on (value: the failed generation).
const STICKY: &str = "run.stickyFailures";

const RESERVED_PREFIXES: [&str; 4] = [
    "run.googleapis.com",
    "cloud.googleapis.com",
    "serving.knative.dev",
    "autoscaling.knative.dev",
];

fn valid_service_id(id: &str) -> bool {
    id.len() < 50
        && id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
}

fn invalid(field: &str, description: &str) -> ApiError {
    ApiError::invalid_argument(format!("Violation in {field}: {description}"))
        .with_detail(json!({"@type": "type.googleapis.com/google.rpc.BadRequest",
                            "fieldViolations": [{"field": field, "description": description}]}))
}

/// The checks Cloud Run makes before accepting a service spec.
fn check_spec(world: &World, name: &Name, body: &Value) -> Result<(), ApiError> {
    let template = body
        .get("template")
        .filter(|t| t.is_object())
        .ok_or_else(|| invalid("service.template", "missing required field"))?;
    let containers = template["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if containers.is_empty() {
        return Err(invalid(
            "service.template.containers",
            "at least one container is required",
        ));
    }
    for (i, c) in containers.iter().enumerate() {
        if c["image"].as_str().is_none_or(str::is_empty) {
            return Err(invalid(
                &format!("service.template.containers[{i}].image"),
                "missing required field",
            ));
        }
    }
    for (where_, map) in [
        ("labels", &body["labels"]),
        ("annotations", &body["annotations"]),
        ("template.labels", &template["labels"]),
        ("template.annotations", &template["annotations"]),
    ] {
        for key in map.as_object().into_iter().flat_map(|m| m.keys()) {
            if RESERVED_PREFIXES
                .iter()
                .any(|p| key.starts_with(&format!("{p}/")))
            {
                return Err(invalid(&format!("service.{where_}"), &format!(
                    "Unsupported key '{key}': the prefixes run.googleapis.com, cloud.googleapis.com, \
                     serving.knative.dev and autoscaling.knative.dev are reserved in the v2 API.")));
            }
        }
    }
    if let Some(mesh) = template.get("serviceMesh") {
        let stage = body["launchStage"].as_str().unwrap_or("GA");
        if !matches!(stage, "BETA" | "ALPHA") {
            return Err(ApiError::invalid_argument(format!(
                "The feature 'Service Mesh' is not supported in the declared launch stage on resource {}. The launch \
                 stage annotation should be specified at least as BETA. Please visit \
                 https://cloud.google.com/run/docs/troubleshooting#launch-stage-validation for in-depth \
                 troubleshooting documentation.",
                name.service_name()
            )));
        }
        let m = mesh["mesh"].as_str().unwrap_or_default();
        let parts: Vec<&str> = m.split('/').collect();
        if !(parts.len() == 6
            && parts[0] == "projects"
            && parts[2] == "locations"
            && parts[3] == "global"
            && parts[4] == "meshes")
        {
            return Err(invalid("service.template.service_mesh.mesh", &format!("'{m}' is not a mesh name of the form projects/PROJECT/locations/global/meshes/MESH")));
        }
    }
    if template["vpcAccess"]["networkInterfaces"]
        .as_array()
        .is_some_and(|n| n.len() > 1)
    {
        return Err(invalid(
            "service.template.vpc_access.network_interfaces",
            "only one network interface is supported",
        ));
    }
    if let Some(subnet) = mesh::subnetwork_of(world, name, template) {
        if world.get(collections::SUBNETWORKS, &subnet).is_none() {
            return Err(ApiError::invalid_argument(format!(
                "The subnetwork '{subnet}' does not exist or is not in region {}.",
                name.region
            )));
        }
    }
    if let Some(sa) = template["serviceAccount"].as_str() {
        let project = sa
            .split_once('@')
            .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"));
        if let Some(p) = project.and_then(|p| world.project(p)) {
            if !p.service_accounts.contains(sa) {
                return Err(ApiError::invalid_argument(format!(
                    "Service account {sa} does not exist."
                )));
            }
        }
    }
    Ok(())
}

/// The stored form of a submitted spec: client-settable fields only, then defaults.
fn spec(body: &Value, name: &Name) -> Map<String, Value> {
    let output_only = [
        "uid",
        "generation",
        "createTime",
        "updateTime",
        "deleteTime",
        "expireTime",
        "creator",
        "lastModifier",
        "observedGeneration",
        "terminalCondition",
        "conditions",
        "latestReadyRevision",
        "latestCreatedRevision",
        "trafficStatuses",
        "uri",
        "urls",
        "reconciling",
        "satisfiesPzs",
        "threatDetectionEnabled",
        "etag",
        "name",
    ];
    let mut out: Map<String, Value> = body
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !output_only.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    apply_defaults(&mut out, name);
    out
}

fn with_type(service: &Value) -> Value {
    let mut out = Map::new();
    out.insert("@type".into(), json!(SERVICE_TYPE));
    for (k, v) in service.as_object().into_iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

fn operation_name(world: &mut World, name: &Name) -> String {
    format!("{}/operations/{}", name.parent(), world.next_uuid())
}

/// Stores the service, creates a revision when the template changed, and starts the deploy operation.
fn deploy(
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
                (None, Some(rev)) if mesh_failure => {
                    let id = rev.rsplit('/').next().unwrap_or(rev);
                    Some(OpError::new(9, mesh::generic_failure(&name, id, port)))
                }
                _ => None,
            };
            match (&failure, &revision) {
                (Some(e), Some(rev)) => revision::mark_failed(
                    world,
                    rev,
                    &e.message,
                    mesh_failure && injected.is_none(),
                ),
                (None, Some(rev)) => revision::mark_ready(world, rev),
                _ => {}
            }
            match &failure {
                Some(e) => {
                    shape::mark_failed(&mut service, &e.message, now);
                    if world.settings.sticky_mesh_failures && mesh_failure {
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
    world.start_operation(
        NewOperation {
            name: op_name.clone(),
            api: Api::Run,
            style: Style::Longrunning,
            method_id: call.method_id.clone(),
            doc: with_type(&service),
            created: now,
            due,
            injected: call.injected_operation_error.clone(),
        },
        completion,
    );
    world
        .operations
        .get(&op_name)
        .map(|o| o.render())
        .unwrap_or(Value::Null)
}

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
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((
        items
            .into_iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect(),
        next,
    ))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = Name::parse(world, call.param("parent")?)?;
    let prefix = format!("projects/{}/locations/", name.project);
    let services: Vec<Value> = world
        .list(collections::RUN_SERVICES, &prefix)
        .into_iter()
        .filter(|(k, _)| {
            name.region == "-" || k.starts_with(&format!("{}/services/", name.parent()))
        })
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

/// Fields a client may set (everything not output-only); dropped from the stored spec on a full update.
fn is_spec_field(key: &str) -> bool {
    matches!(
        key,
        "description"
            | "labels"
            | "annotations"
            | "client"
            | "clientVersion"
            | "ingress"
            | "launchStage"
            | "binaryAuthorization"
            | "template"
            | "traffic"
            | "scaling"
            | "invokerIamDisabled"
            | "defaultUriDisabled"
            | "customAudiences"
            | "buildConfig"
            | "iapEnabled"
            | "multiRegionSettings"
            | "functionalType"
            | "sshEnabled"
    )
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
    world.start_operation(
        NewOperation {
            name: op_name.clone(),
            api: Api::Run,
            style: Style::Longrunning,
            method_id: call.method_id.clone(),
            doc: with_type(&service),
            created: now,
            due,
            injected: call.injected_operation_error.clone(),
        },
        completion,
    );
    Ok(Reply::json(
        world
            .operations
            .get(&op_name)
            .map(|o| o.render())
            .unwrap_or(Value::Null),
    ))
}
