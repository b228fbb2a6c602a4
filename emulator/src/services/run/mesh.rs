//! The mesh sidecar model: whether a revision that joins a mesh can become Ready, and the messages Cloud Run
//! shows when it cannot.
//!
//! A revision with `serviceMesh` starts Cloud Run's `cloud-run-mesh-proxy` (Envoy). Envoy only becomes ready
//! once it gets its configuration from Traffic Director, which needs, at deploy time: the mesh to exist and have
//! settled; the runtime service account's `roles/trafficdirector.client` project binding to be effective; and,
//! when all egress goes through the VPC, Private Google Access on the subnet. Cloud Run then reports only the
//! generic start-up failure on the operation; the proxy's probe failure shows up on the revision.

use super::Name;
use crate::world::{collections, World};
use chrono::DateTime;
use serde_json::Value;

/// Why the sidecar could not start (for the state dump and tests; never shown by the API itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    MeshMissing(String),
    MeshNotSettled(String),
    ClientRoleNotEffective(String),
    NoPrivateGoogleAccess(String),
    StickyFailure,
}

impl Cause {
    pub fn describe(&self) -> String {
        match self {
            Cause::MeshMissing(m) => format!("mesh {m} does not exist"),
            Cause::MeshNotSettled(m) => format!("mesh {m} has not settled yet"),
            Cause::ClientRoleNotEffective(sa) => {
                format!("roles/trafficdirector.client is not effective for {sa}")
            }
            Cause::NoPrivateGoogleAccess(s) => {
                format!("subnetwork {s} has no Private Google Access")
            }
            Cause::StickyFailure => "the service failed before and sticky failures are on".into(),
        }
    }
}

/// The mesh a template joins, with its project normalised to the id.
pub fn mesh_of(world: &World, template: &Value) -> Option<String> {
    template["serviceMesh"]["mesh"]
        .as_str()
        .map(|m| world.normalise_name(m))
}

/// The subnetwork key (`projects/p/regions/r/subnetworks/s`) a template's Direct VPC egress uses.
pub fn subnetwork_of(world: &World, name: &Name, template: &Value) -> Option<String> {
    let nic = &template["vpcAccess"]["networkInterfaces"][0];
    let short = |v: &str| v.rsplit('/').next().unwrap_or(v).to_string();
    let subnet = nic["subnetwork"].as_str().or(nic["network"].as_str())?;
    if subnet.contains("/subnetworks/") {
        let tail = subnet.split("/compute/v1/").last().unwrap_or(subnet);
        return Some(world.normalise_name(tail));
    }
    Some(format!(
        "projects/{}/regions/{}/subnetworks/{}",
        name.project,
        name.region,
        short(subnet)
    ))
}

/// Everything that keeps the template's sidecar from starting now, first cause first.
pub fn causes(world: &World, name: &Name, template: &Value) -> Vec<Cause> {
    let Some(mesh) = mesh_of(world, template) else {
        return Vec::new();
    };
    let now = world.now();
    let mut out = Vec::new();
    match world.get(collections::MESHES, &mesh) {
        None => out.push(Cause::MeshMissing(mesh.clone())),
        Some(doc) => {
            let created = doc["createTime"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            let settle = world.settings.scaled(world.settings.mesh_settle_time);
            if created.is_none_or(|c| c + settle > now) {
                out.push(Cause::MeshNotSettled(mesh.clone()));
            }
        }
    }
    let sa = template["serviceAccount"].as_str().unwrap_or_default();
    let member = format!("serviceAccount:{sa}");
    let effective = world.project(&name.project).is_some_and(|p| {
        p.policy
            .is_effective("roles/trafficdirector.client", &member, now)
    });
    if !effective {
        out.push(Cause::ClientRoleNotEffective(sa.to_string()));
    }
    if template["vpcAccess"]["egress"] == "ALL_TRAFFIC" {
        if let Some(subnet) = subnetwork_of(world, name, template) {
            let pga = world
                .get(collections::SUBNETWORKS, &subnet)
                .is_some_and(|s| s["privateIpGoogleAccess"] == true);
            if !pga {
                out.push(Cause::NoPrivateGoogleAccess(subnet));
            }
        }
    }
    out
}

/// The operation error Cloud Run reports for a revision that never became ready.
pub fn generic_failure(name: &Name, revision: &str, port: i64) -> String {
    let service = name.service.as_deref().unwrap_or_default();
    format!(
        "Revision '{revision}' is not ready and cannot serve traffic. The user-provided container failed to start \
         and listen on the port defined provided by the PORT={port} environment variable within the allocated \
         timeout. This can happen when the container port is misconfigured or if the timeout is too short. The \
         health check timeout can be extended. Logs for this revision might contain more information.\n\n\
         Logs URL: {}\nFor more troubleshooting guidance, see \
         https://cloud.google.com/run/docs/troubleshooting#container-failed-to-start",
        log_uri(name, service, revision)
    )
}

/// The `cloud-run-mesh-proxy` startup-probe failure shown on the revision.
pub fn proxy_probe_failure() -> String {
    "Container 'cloud-run-mesh-proxy' failed the Default STARTUP HTTP probe on port 15020 path /healthz: the \
     probe failed 200 times. Last response: HTTP 503, body \"Envoy not ready, \
     phase=ENVOY_PHASE_SERVER_STATE_PRE_INITIALIZING\"."
        .to_string()
}

/// The revision's Cloud Logging URL.
pub fn log_uri(name: &Name, service: &str, revision: &str) -> String {
    format!(
        "https://console.cloud.google.com/logs/viewer?project={}&resource=cloud_run_revision/service_name/{service}/\
         revision_name/{revision}&advancedFilter=resource.type%3D%22cloud_run_revision%22%0Aresource.labels.\
         service_name%3D%22{service}%22%0Aresource.labels.revision_name%3D%22{revision}%22",
        name.project
    )
}
