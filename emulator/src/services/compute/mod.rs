//! Compute Engine v1: serverless NEGs (regional, and the project-wide aggregated list), global backend services, networks, subnetworks and operations.

mod backend_service;
mod backend_service_api;
mod errors;
pub mod filter;
mod list;
mod neg;
mod neg_api;
mod network_api;
mod operations;
pub mod refs;

pub use operations::is_request_uuid;

use crate::error::ApiError;
use crate::services::{Call, Registry};
use crate::world::World;

/// World collection of regional NEGs, keyed `projects/{id}/regions/{r}/networkEndpointGroups/{n}`.
pub const NEGS: &str = "compute.networkEndpointGroups";
/// World collection of global backend services, keyed `projects/{id}/global/backendServices/{b}`.
pub const BACKEND_SERVICES: &str = "compute.backendServices";

/// Registers this API's handlers.
pub fn register(r: &mut Registry) {
    r.add(
        "compute.regionNetworkEndpointGroups.insert",
        neg_api::insert,
    );
    r.add("compute.regionNetworkEndpointGroups.get", neg_api::get);
    r.add("compute.regionNetworkEndpointGroups.list", neg_api::list);
    r.add(
        "compute.networkEndpointGroups.aggregatedList",
        neg_api::aggregated_list,
    );
    r.add(
        "compute.regionNetworkEndpointGroups.delete",
        neg_api::delete,
    );
    r.add(
        "compute.backendServices.insert",
        backend_service_api::insert,
    );
    r.add("compute.backendServices.get", backend_service_api::get);
    r.add("compute.backendServices.list", backend_service_api::list);
    r.add("compute.backendServices.patch", backend_service_api::patch);
    r.add(
        "compute.backendServices.update",
        backend_service_api::update,
    );
    r.add(
        "compute.backendServices.delete",
        backend_service_api::delete,
    );
    r.add("compute.networks.get", network_api::get_network);
    r.add("compute.networks.list", network_api::list_networks);
    r.add("compute.subnetworks.get", network_api::get_subnetwork);
    r.add("compute.subnetworks.list", network_api::list_subnetworks);
    r.add("compute.regionOperations.get", operations::get);
    r.add("compute.regionOperations.wait", operations::wait);
    r.add("compute.globalOperations.get", operations::get);
    r.add("compute.globalOperations.wait", operations::wait);
}

/// The project id for the `project` path parameter (id or number); 404 like Google when unknown.
fn project_id(world: &World, call: &Call) -> Result<String, ApiError> {
    let given = call.param("project")?;
    world
        .project(given)
        .map(|p| p.id.clone())
        .ok_or_else(|| errors::not_found(&format!("projects/{given}")))
}

/// The `region` path parameter, which must look like a Google region (`asia-northeast1`).
fn region(call: &Call, project: &str) -> Result<String, ApiError> {
    let region = call.param("region")?;
    let plausible = region.split_once('-').is_some_and(|(area, rest)| {
        !area.is_empty()
            && area.bytes().all(|b| b.is_ascii_lowercase())
            && rest.bytes().last().is_some_and(|b| b.is_ascii_digit())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if plausible {
        Ok(region.to_string())
    } else {
        Err(errors::not_found(&format!(
            "projects/{project}/regions/{region}"
        )))
    }
}

/// Every backend service in `project` whose backends include the NEG at `neg_url`.
pub fn backend_services_using_neg(world: &World, project: &str, neg_url: &str) -> Vec<String> {
    world
        .list(BACKEND_SERVICES, &format!("projects/{project}/"))
        .into_iter()
        .filter(|(_, bs)| {
            backend_service::backend_groups(bs)
                .iter()
                .any(|g| g == neg_url)
        })
        .map(|(key, _)| key)
        .collect()
}

/// The world key of the backend service a reference points at (as HTTPRoute destinations write it),
/// or None when the reference is malformed or names an unknown project. Existence is not checked.
pub fn backend_service_key(
    world: &World,
    reference: &str,
    default_project: &str,
) -> Option<String> {
    let r = refs::parse(reference, default_project)?;
    if r.collection != backend_service::COLLECTION || r.scope != refs::Scope::Global {
        return None;
    }
    let project = world.project(&r.project)?.id.clone();
    Some(format!(
        "projects/{project}/global/{}/{}",
        r.collection, r.name
    ))
}
