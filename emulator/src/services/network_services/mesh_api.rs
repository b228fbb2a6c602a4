//! `meshes` handlers: create (`meshId`), get, list, delete.

use chrono::Duration;
use serde_json::{Map, Value};

use super::operations::{self, op_error, Job};
use super::{
    already_exists, check_id, not_found, paging, parent, proto_json, route_refs, with_self_link,
    HTTP_ROUTES,
};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::services::{Call, Reply};
use crate::world::{collections::MESHES, World};

const MESH_TYPE: &str = "type.googleapis.com/google.cloud.networkservices.v1.Mesh";
const WRITABLE: &[&str] = &["description", "labels", "interceptionPort", "envoyHeaders"];
/// Creating or deleting a mesh takes a few seconds.
const MESH_OPERATION: Duration = Duration::seconds(5);

pub fn create(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let location = parent(world, call)?;
    let id = check_id(call.query("meshId"), "meshId")?;
    let name = format!("{location}/meshes/{id}");
    if world.get(MESHES, &name).is_some() {
        return Err(already_exists(&name));
    }
    let input = call.body.as_object().cloned().unwrap_or_default();
    check_fields(&input)?;
    let now = rfc3339(world.now());
    let mut doc: Map<String, Value> = WRITABLE
        .iter()
        .filter_map(|k| input.get(*k).map(|v| ((*k).to_string(), v.clone())))
        .collect();
    doc.insert("name".into(), Value::from(name.clone()));
    doc.insert("createTime".into(), Value::from(now.clone()));
    doc.insert("updateTime".into(), Value::from(now));
    let mut doc = Value::Object(doc);
    proto_json::strip_defaults(&mut doc);
    proto_json::encode(&mut doc, "Mesh");
    let key = name.clone();
    let work = Box::new(move |w: &mut World| {
        if w.get(MESHES, &key).is_some() {
            return Err(op_error(6, format!("Resource '{key}' already exists")));
        }
        w.put(MESHES, &key, doc.clone());
        Ok(Some(doc))
    });
    let job = Job {
        location: &location,
        target: &name,
        verb: "create",
        response_type: MESH_TYPE,
        nominal: MESH_OPERATION,
    };
    Ok(Reply::json(operations::start(world, call, job, work)))
}

fn check_fields(input: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(d) = input.get("description").and_then(Value::as_str) {
        if d.chars().count() > 1024 {
            return Err(ApiError::invalid_argument(
                "Invalid value for field 'description': it must be at most 1024 characters.",
            ));
        }
    }
    if let Some(p) = input.get("interceptionPort").and_then(Value::as_i64) {
        if !(0..=65535).contains(&p) {
            return Err(ApiError::invalid_argument(format!(
                "Invalid value for field 'interceptionPort': {p} is not a TCP port (1-65535)."
            )));
        }
    }
    Ok(())
}

pub fn get(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let name = format!(
        "{}/meshes/{}",
        parent(world, call)?,
        call.param("meshesId")?
    );
    let doc = world
        .get(MESHES, &name)
        .cloned()
        .ok_or_else(|| not_found(&name))?;
    Ok(Reply::json(with_self_link(doc, &name)))
}

pub fn list(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let location = parent(world, call)?;
    let items = world
        .list(MESHES, &format!("{location}/meshes/"))
        .into_iter()
        .map(|(k, v)| with_self_link(v, &k))
        .collect();
    Ok(Reply::json(paging::page(call, "meshes", items)?))
}

pub fn delete(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let location = parent(world, call)?;
    let name = format!("{location}/meshes/{}", call.param("meshesId")?);
    if world.get(MESHES, &name).is_none() {
        return Err(not_found(&name));
    }
    if let Some(route) = routes_on_mesh(world, &name).first() {
        return Err(ApiError::failed_precondition(format!(
            "Mesh '{name}' is still referenced by HttpRoute '{route}'; delete the route or detach it from the mesh first."
        )));
    }
    let key = name.clone();
    let work = Box::new(move |w: &mut World| {
        if let Some(route) = routes_on_mesh(w, &key).first() {
            return Err(op_error(
                9,
                format!("Mesh '{key}' is still referenced by HttpRoute '{route}'."),
            ));
        }
        w.remove(MESHES, &key);
        Ok(None)
    });
    let job = Job {
        location: &location,
        target: &name,
        verb: "delete",
        response_type: MESH_TYPE,
        nominal: MESH_OPERATION,
    };
    Ok(Reply::json(operations::start(world, call, job, work)))
}

fn routes_on_mesh(world: &World, mesh: &str) -> Vec<String> {
    world
        .list(HTTP_ROUTES, "projects/")
        .into_iter()
        .filter(|(_, r)| {
            route_refs::attached_meshes(world, r)
                .iter()
                .any(|m| m == mesh)
        })
        .map(|(k, _)| k)
        .collect()
}
