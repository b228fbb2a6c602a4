//! Network Services v1: meshes, HTTPRoutes and their long-running operations.

mod mesh_api;
mod operations;
mod paging;
mod proto_json;
mod route_api;
mod route_refs;
mod route_shape;

use serde_json::Value;

use crate::error::ApiError;
use crate::services::{Call, Registry};
use crate::world::World;

/// World collection of HTTPRoutes, keyed `projects/{id}/locations/{l}/httpRoutes/{r}`.
pub const HTTP_ROUTES: &str = "networkservices.httpRoutes";

/// Registers this API's handlers.
pub fn register(r: &mut Registry) {
    r.add(
        "networkservices.projects.locations.meshes.create",
        mesh_api::create,
    );
    r.add(
        "networkservices.projects.locations.meshes.get",
        mesh_api::get,
    );
    r.add(
        "networkservices.projects.locations.meshes.list",
        mesh_api::list,
    );
    r.add(
        "networkservices.projects.locations.meshes.delete",
        mesh_api::delete,
    );
    r.add(
        "networkservices.projects.locations.httpRoutes.create",
        route_api::create,
    );
    r.add(
        "networkservices.projects.locations.httpRoutes.get",
        route_api::get,
    );
    r.add(
        "networkservices.projects.locations.httpRoutes.list",
        route_api::list,
    );
    r.add(
        "networkservices.projects.locations.httpRoutes.patch",
        route_api::patch,
    );
    r.add(
        "networkservices.projects.locations.httpRoutes.delete",
        route_api::delete,
    );
    r.add(
        "networkservices.projects.locations.operations.get",
        operations::get,
    );
}

/// Every HTTPRoute (by full name) with a destination on the backend service whose world key is `bs_key`
/// (`projects/{id}/global/backendServices/{b}`).
pub fn routes_using_backend_service(world: &World, bs_key: &str) -> Vec<String> {
    world
        .list(HTTP_ROUTES, "projects/")
        .into_iter()
        .filter(|(key, route)| {
            let project = key.split('/').nth(1).unwrap_or_default();
            route_refs::service_names(route).iter().any(|(_, s)| {
                crate::services::compute::backend_service_key(world, s, project).as_deref()
                    == Some(bs_key)
            })
        })
        .map(|(key, _)| key)
        .collect()
}

/// `projects/{id}/locations/{l}` from the path (`projectsId` may be the number).
fn parent(world: &World, call: &Call) -> Result<String, ApiError> {
    let given = call.param("projectsId")?;
    let project = world.project(given).map(|p| p.id.clone()).ok_or_else(|| {
        ApiError::permission_denied(format!("Permission denied on resource project {given}."))
    })?;
    Ok(format!(
        "projects/{project}/locations/{}",
        call.param("locationsId")?
    ))
}

/// Resource and collection ids: RFC 1035 labels, as Network Services requires.
fn check_id(id: Option<&str>, param: &str) -> Result<String, ApiError> {
    let id = id.unwrap_or_default();
    let b = id.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if ok {
        Ok(id.to_string())
    } else if id.is_empty() {
        Err(ApiError::invalid_argument(format!(
            "Required parameter '{param}' is missing."
        )))
    } else {
        Err(ApiError::invalid_argument(format!(
            "Invalid {param} '{id}': it must be 1-63 characters, start with a lower-case letter, \
             and contain only lower-case letters, digits and hyphens, and not end with a hyphen."
        )))
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Resource '{name}' was not found"))
}

fn already_exists(name: &str) -> ApiError {
    ApiError::already_exists(format!("Resource '{name}' already exists"))
}

/// Google's v1alpha1 `selfLink` quirk, as recorded in every real GET of a mesh or route.
fn with_self_link(mut doc: Value, name: &str) -> Value {
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "selfLink".into(),
            Value::from(format!(
                "https://networkservices.googleapis.com/v1alpha1/{name}"
            )),
        );
    }
    doc
}
