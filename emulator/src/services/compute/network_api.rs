//! Seeded `networks` and `subnetworks`: get and list (read-only; csmrun never changes them).

use serde_json::{json, Value};

use super::refs;
use super::{errors, list, project_id, region};
use crate::error::ApiError;
use crate::services::{Call, Reply};
use crate::world::{collections, World};

pub fn get_network(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let name = call.param("network")?;
    let key = format!("projects/{project}/global/networks/{name}");
    let doc = world
        .get(collections::NETWORKS, &key)
        .ok_or_else(|| errors::not_found(&key))?;
    Ok(Reply::json(network_view(world, &project, name, doc)))
}

pub fn list_networks(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let path = format!("projects/{project}/global/networks");
    let items = world
        .list(collections::NETWORKS, &format!("{path}/"))
        .into_iter()
        .map(|(k, doc)| {
            let name = k.rsplit('/').next().unwrap_or_default().to_string();
            network_view(world, &project, &name, &doc)
        })
        .collect();
    list::reply(call, "compute#networkList", &path, items)
}

pub fn get_subnetwork(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let region = region(call, &project)?;
    let name = call.param("subnetwork")?;
    let key = format!("projects/{project}/regions/{region}/subnetworks/{name}");
    let doc = world
        .get(collections::SUBNETWORKS, &key)
        .ok_or_else(|| errors::not_found(&key))?;
    Ok(Reply::json(subnetwork_view(&project, &region, name, doc)))
}

pub fn list_subnetworks(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
    let project = project_id(world, call)?;
    let region = region(call, &project)?;
    let path = format!("projects/{project}/regions/{region}/subnetworks");
    let items = world
        .list(collections::SUBNETWORKS, &format!("{path}/"))
        .into_iter()
        .map(|(k, doc)| {
            let name = k.rsplit('/').next().unwrap_or_default().to_string();
            subnetwork_view(&project, &region, &name, &doc)
        })
        .collect();
    list::reply(call, "compute#subnetworkList", &path, items)
}

// The seed may hold only the user-facing fields; Google always answers with these output fields.
fn network_view(world: &World, project: &str, name: &str, doc: &Value) -> Value {
    let mut out = doc.as_object().cloned().unwrap_or_default();
    let subnets: Vec<Value> = world
        .list(
            collections::SUBNETWORKS,
            &format!("projects/{project}/regions/"),
        )
        .into_iter()
        .filter(|(_, s)| {
            s.get("network")
                .and_then(Value::as_str)
                .and_then(|n| refs::parse(n, project))
                .is_some_and(|n| n.name == name)
        })
        .map(|(k, _)| json!(format!("{}{k}", refs::CANONICAL_PREFIX)))
        .collect();
    let defaults = [
        ("kind", json!("compute#network")),
        ("name", json!(name)),
        ("selfLink", json!(refs::network_url(project, name))),
        ("autoCreateSubnetworks", json!(false)),
        ("subnetworks", json!(subnets)),
    ];
    for (k, v) in defaults {
        out.entry(k.to_string()).or_insert(v);
    }
    Value::Object(out)
}

fn subnetwork_view(project: &str, region: &str, name: &str, doc: &Value) -> Value {
    let mut out = doc.as_object().cloned().unwrap_or_default();
    // Compute v1 `Subnetwork` has no `selfLinkWithId` (only `Network` does); never answer with it.
    out.remove("selfLinkWithId");
    let defaults = [
        ("kind", json!("compute#subnetwork")),
        ("name", json!(name)),
        ("region", json!(refs::region_url(project, region))),
        (
            "selfLink",
            json!(refs::regional_url(project, region, "subnetworks", name)),
        ),
        ("privateIpGoogleAccess", json!(false)),
    ];
    for (k, v) in defaults {
        out.entry(k.to_string()).or_insert(v);
    }
    Value::Object(out)
}
