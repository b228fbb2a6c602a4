//! HTTPRoute checks against the rest of the world: meshes and backend services exist, hostnames unique per mesh.

use serde_json::Value;

use super::HTTP_ROUTES;
use crate::error::ApiError;
use crate::services::compute;
use crate::world::{collections, World};

/// Every `serviceName` in the route (destinations and mirror destinations), with the field path.
pub fn service_names(route: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rules = route.get("rules").and_then(Value::as_array);
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let Some(action) = rule.get("action") else {
            continue;
        };
        let dests = action.get("destinations").and_then(Value::as_array);
        for (j, d) in dests.into_iter().flatten().enumerate() {
            if let Some(s) = d.get("serviceName").and_then(Value::as_str) {
                out.push((
                    format!("rules[{i}].action.destinations[{j}].serviceName"),
                    s.to_string(),
                ));
            }
        }
        let mirror = action
            .pointer("/requestMirrorPolicy/destination/serviceName")
            .and_then(Value::as_str);
        if let Some(s) = mirror {
            out.push((
                format!("rules[{i}].action.requestMirrorPolicy.destination.serviceName"),
                s.to_string(),
            ));
        }
    }
    out
}

/// The world key of a mesh reference (`projects/P/locations/L/meshes/M`, on any host, id or number),
/// or None when it is not a mesh reference.
pub fn mesh_key(world: &World, reference: &str) -> Option<String> {
    let rest = &reference[reference.find("projects/")?..];
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "locations", l, "meshes", m] if !m.is_empty() && !l.is_empty() => {
            let project = world
                .project(p)
                .map(|p| p.id.clone())
                .unwrap_or_else(|| p.to_string());
            Some(format!("projects/{project}/locations/{l}/meshes/{m}"))
        }
        _ => None,
    }
}

/// The meshes a route is attached to, as world keys (unparseable references are skipped).
pub fn attached_meshes(world: &World, route: &Value) -> Vec<String> {
    route
        .get("meshes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|m| mesh_key(world, m))
        .collect()
}

/// Checks that every mesh and backend service the route names exists, and that no other route on the
/// same mesh already serves one of its hostnames. `self_key` is the route's own key (skipped).
pub fn check(world: &World, route: &Value, self_key: &str) -> Result<(), ApiError> {
    let project = self_key.split('/').nth(1).unwrap_or_default();
    let meshes = route.get("meshes").and_then(Value::as_array);
    for (i, m) in meshes.into_iter().flatten().enumerate() {
        let text = m.as_str().unwrap_or_default();
        let key = mesh_key(world, text).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "Invalid value for field 'meshes[{i}]': '{text}' is not a mesh reference of the form \
                 projects/*/locations/*/meshes/*."
            ))
        })?;
        if world.get(collections::MESHES, &key).is_none() {
            return Err(ApiError::invalid_argument(format!(
                "Invalid value for field 'meshes[{i}]': mesh '{key}' does not exist."
            )));
        }
    }
    for (field, reference) in service_names(route) {
        let key = compute::backend_service_key(world, &reference, project).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "Invalid value for field '{field}': '{reference}' is not a backend service reference of the \
                 form projects/*/locations/global/backendServices/*."
            ))
        })?;
        if world.get(compute::BACKEND_SERVICES, &key).is_none() {
            return Err(ApiError::invalid_argument(format!(
                "Invalid value for field '{field}': backend service '{key}' does not exist."
            )));
        }
    }
    check_hostnames_unique(world, route, self_key)
}

fn check_hostnames_unique(world: &World, route: &Value, self_key: &str) -> Result<(), ApiError> {
    let mine = attached_meshes(world, route);
    if mine.is_empty() {
        return Ok(());
    }
    let hostnames: Vec<&str> = route
        .get("hostnames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (other_key, other) in world.list(HTTP_ROUTES, "projects/") {
        if other_key == self_key {
            continue;
        }
        let shared_mesh = attached_meshes(world, &other)
            .into_iter()
            .find(|m| mine.contains(m));
        let Some(mesh) = shared_mesh else { continue };
        let taken = other
            .get("hostnames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|h| hostnames.contains(h));
        if let Some(host) = taken {
            return Err(ApiError::invalid_argument(format!(
                "Hostname '{host}' is already used by HttpRoute '{other_key}' attached to mesh '{mesh}'; \
                 routes attached to the same mesh must have unique hostnames."
            )));
        }
    }
    Ok(())
}
