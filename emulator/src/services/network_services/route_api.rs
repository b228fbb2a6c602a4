//! `httpRoutes` handlers: create (`httpRouteId`, `requestId`), get, list, patch (`updateMask`), delete.

use chrono::Duration;
use serde_json::{Map, Value};

use super::operations::{self, op_error, Job};
use super::{
    already_exists, check_id, not_found, paging, parent, proto_json, route_refs, route_shape,
    with_self_link, HTTP_ROUTES,
};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::services::compute::filter::Filter;
use crate::services::{Call, Reply};
use crate::world::World;

const ROUTE_TYPE: &str = "type.googleapis.com/google.cloud.networkservices.v1.HttpRoute";
const WRITABLE: &[&str] = &[
    "description",
    "labels",
    "hostnames",
    "meshes",
    "gateways",
    "rules",
];
/// Route writes are pushed to the mesh's proxies; about ten seconds in Google Cloud.
const ROUTE_WRITE: Duration = Duration::seconds(10);
const ROUTE_DELETE: Duration = Duration::seconds(5);

pub fn create(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let location = parent(world, call)?;
    if let Some(op) = operations::replay(world, call, &location)? {
        return Ok(Reply::json(op));
    }
    let id = check_id(call.query("httpRouteId"), "httpRouteId")?;
    let name = format!("{location}/httpRoutes/{id}");
    if world.get(HTTP_ROUTES, &name).is_some() {
        return Err(already_exists(&name));
    }
    let input = call.body.as_object().cloned().unwrap_or_default();
    let mut doc: Map<String, Value> = WRITABLE
        .iter()
        .filter_map(|k| input.get(*k).map(|v| ((*k).to_string(), v.clone())))
        .collect();
    let now = rfc3339(world.now());
    doc.insert("name".into(), Value::from(name.clone()));
    doc.insert("createTime".into(), Value::from(now.clone()));
    doc.insert("updateTime".into(), Value::from(now));
    start_write(
        world,
        call,
        &location,
        &name,
        Value::Object(doc),
        Write::Create,
    )
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = route_name(world, call)?;
    let doc = world
        .get(HTTP_ROUTES, &name)
        .cloned()
        .ok_or_else(|| not_found(&name))?;
    Ok(Reply::json(with_self_link(doc, &name)))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let location = parent(world, call)?;
    let filter = match call
        .query("filter")
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        Some(text) => Some(Filter::parse(text).map_err(|why| {
            ApiError::invalid_argument(format!("Invalid filter '{text}': {why}."))
        })?),
        None => None,
    };
    let items = world
        .list(HTTP_ROUTES, &format!("{location}/httpRoutes/"))
        .into_iter()
        .map(|(k, v)| with_self_link(v, &k))
        .filter(|route| filter.as_ref().is_none_or(|f| f.matches(route)))
        .collect();
    Ok(Reply::json(paging::page(call, "httpRoutes", items)?))
}

/// PATCH with `updateMask` (top-level fields, camelCase or snake_case, `*` for all); without a mask every
/// writable field is replaced by the body's.
pub fn patch(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let location = parent(world, call)?;
    let name = route_name(world, call)?;
    let Some(current) = world.get(HTTP_ROUTES, &name).cloned() else {
        return Err(not_found(&name));
    };
    let fields = mask(call.query("updateMask"))?;
    let mut doc = current.as_object().cloned().unwrap_or_default();
    for field in &fields {
        match call.body.get(field.as_str()) {
            Some(v) => doc.insert(field.clone(), v.clone()),
            None => doc.remove(field.as_str()),
        };
    }
    doc.insert("updateTime".into(), Value::from(rfc3339(world.now())));
    start_write(
        world,
        call,
        &location,
        &name,
        Value::Object(doc),
        Write::Update,
    )
}

/// Which write an operation does: it decides whether the route must already exist when the work runs.
#[derive(Clone, Copy)]
enum Write {
    Create,
    Update,
}

/// Validates `doc` now and starts the operation that stores it as route `name`.
fn start_write(
    world: &mut World,
    call: &Call,
    location: &str,
    name: &str,
    doc: Value,
    write: Write,
) -> Result<Reply, ApiError> {
    validate(world, &doc, name)?;
    let doc = stored(doc);
    let key = name.to_string();
    let work = Box::new(move |w: &mut World| {
        match (write, w.get(HTTP_ROUTES, &key).is_some()) {
            (Write::Create, true) => {
                return Err(op_error(6, format!("Resource '{key}' already exists")))
            }
            (Write::Update, false) => {
                return Err(op_error(5, format!("Resource '{key}' was not found")))
            }
            _ => {}
        }
        // The world may have changed while the operation ran (a concurrent route took a hostname).
        route_refs::check(w, &doc, &key).map_err(|e| op_error(3, e.message))?;
        w.put(HTTP_ROUTES, &key, doc.clone());
        Ok(Some(doc))
    });
    let job = Job {
        location,
        target: name,
        verb: match write {
            Write::Create => "create",
            Write::Update => "update",
        },
        response_type: ROUTE_TYPE,
        nominal: ROUTE_WRITE,
    };
    Ok(Reply::json(operations::start(world, call, job, work)))
}

pub fn delete(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let location = parent(world, call)?;
    let name = route_name(world, call)?;
    if world.get(HTTP_ROUTES, &name).is_none() {
        return Err(not_found(&name));
    }
    let key = name.clone();
    let work = Box::new(move |w: &mut World| {
        w.remove(HTTP_ROUTES, &key);
        Ok(None)
    });
    let job = Job {
        location: &location,
        target: &name,
        verb: "delete",
        response_type: ROUTE_TYPE,
        nominal: ROUTE_DELETE,
    };
    Ok(Reply::json(operations::start(world, call, job, work)))
}

fn route_name(world: &World, call: &Call) -> Result<String, ApiError> {
    Ok(format!(
        "{}/httpRoutes/{}",
        parent(world, call)?,
        call.param("httpRoutesId")?
    ))
}

fn validate(world: &World, doc: &Value, key: &str) -> Result<(), ApiError> {
    route_shape::check(doc)?;
    route_refs::check(world, doc, key)
}

/// What Google stores and answers: proto3 JSON, so default-valued fields disappear and durations, timestamps
/// and 64-bit integers take their canonical spelling (`"1.5s"` comes back `"1.500s"`).
fn stored(mut doc: Value) -> Value {
    proto_json::strip_defaults(&mut doc);
    proto_json::encode(&mut doc, "HttpRoute");
    doc
}

fn mask(text: Option<&str>) -> Result<Vec<String>, ApiError> {
    let all = || WRITABLE.iter().map(|s| (*s).to_string()).collect();
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(all());
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part == "*" {
            return Ok(all());
        }
        let camel = camel_case(part);
        if !WRITABLE.contains(&camel.as_str()) {
            return Err(ApiError::invalid_argument(format!(
                "Invalid update mask path '{part}': HttpRoute fields that can be updated are {}.",
                WRITABLE.join(", ")
            )));
        }
        out.push(camel);
    }
    Ok(out)
}

fn camel_case(s: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
