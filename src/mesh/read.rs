//! Reading the mesh through the gcp clients. Every list follows its pages up to the clients' page bound, and
//! per-service calls (one IAM policy each) are made only for services of the mesh, so a read is bounded by
//! what the project holds. The Cloud Run regions read are those of the serverless NEGs plus the provider's.

use std::collections::BTreeSet;

use gcp::compute::link_name;
use gcp::network_services::{global_parent, mesh_name};
use tfplug::Diagnostics;

use crate::config::ProviderData;
use crate::service::explain::Explanation;

use super::model::Topology;
use super::topology::{self, names_mesh, RunService};

/// A failed call as a diagnostic: the API call and the part in the summary, Google's message and the fix below.
fn failed(part: &str, e: &gcp::Error, fix: &str) -> Diagnostics {
    let why = if e.is_auth() || e.status() == Some("PERMISSION_DENIED") {
        "the credentials may not read it"
    } else if e.is_not_found() {
        "it does not exist"
    } else {
        "the call failed"
    };
    let x = Explanation::new(part, format!("could not be read: {why}"))
        .google(e.message().to_string())
        .fix(fix);
    let mut d = Diagnostics::new();
    d.error(x.summary(), x.detail());
    d
}

/// Reads mesh `mesh` (a name) of `project`.
pub async fn read(data: &ProviderData, project: &str, mesh: &str) -> Result<Topology, Diagnostics> {
    let ns = data.clients.network_services();
    let compute = data.clients.compute();
    let run = data.clients.run();
    let viewer = "grant the provider's credentials `roles/networkservices.viewer`, `roles/compute.viewer` and \
                  `roles/run.viewer` on the project";

    let full = mesh_name(project, mesh);
    ns.get_mesh(&full).await.map_err(|e| {
        failed(
            &format!("Network Services meshes.get of mesh {mesh} in project {project}"),
            &e,
            &format!("check `mesh` and `project`, or {viewer}"),
        )
    })?;
    let routes = ns
        .list_http_routes(&global_parent(project))
        .await
        .map_err(|e| {
            failed(
                &format!("Network Services httpRoutes.list of project {project}"),
                &e,
                viewer,
            )
        })?;
    let backends = compute.list_backend_services(project).await.map_err(|e| {
        failed(
            &format!("Compute backendServices.list of project {project}"),
            &e,
            viewer,
        )
    })?;
    let negs: Vec<_> = compute
        .aggregated_list_network_endpoint_groups(project)
        .await
        .map_err(|e| {
            failed(
                &format!("Compute networkEndpointGroups.aggregatedList of project {project}"),
                &e,
                viewer,
            )
        })?
        .into_iter()
        .map(|(_, n)| n)
        .collect();

    let mut regions: BTreeSet<String> = negs
        .iter()
        .filter(|n| n.cloud_run.is_some())
        .filter_map(|n| n.region.as_deref().map(|r| link_name(r).to_string()))
        .collect();
    if let Some(r) = &data.region {
        regions.insert(r.clone());
    }
    // Which services the routes reach: only those (and the mesh clients) get an IAM read.
    let reached = topology::build(mesh, &routes, &backends, &negs, &[]);
    let routed: BTreeSet<(String, String)> = reached
        .hostnames
        .iter()
        .flat_map(|h| &h.rules)
        .flat_map(|r| &r.destinations)
        .filter_map(|d| Some((d.region.clone()?, d.service.clone()?)))
        .collect();

    let mut services = Vec::new();
    for region in &regions {
        let listed = run
            .list_services(&gcp::run::location_name(project, region))
            .await
            .map_err(|e| {
                failed(
                    &format!("Cloud Run services.list of project {project} in {region}"),
                    &e,
                    viewer,
                )
            })?;
        for s in listed {
            let Some(full_name) = s.name.clone() else {
                continue;
            };
            let name = link_name(&full_name).to_string();
            let template = s.template.as_ref();
            let mesh_of = template
                .and_then(|t| t.service_mesh.as_ref())
                .and_then(|m| m.mesh.clone());
            let is_client = mesh_of.as_deref().is_some_and(|m| names_mesh(m, mesh));
            if !is_client && !routed.contains(&(region.clone(), name.clone())) {
                continue;
            }
            let policy = run.get_iam_policy(&full_name).await.map_err(|e| {
                failed(
                    &format!("Cloud Run services.getIamPolicy of service {name} in {region}"),
                    &e,
                    "grant the provider's credentials `roles/run.viewer` (it includes `run.services.getIamPolicy`)",
                )
            })?;
            services.push(RunService {
                region: region.clone(),
                name,
                uri: s.uri.clone(),
                service_account: template.and_then(|t| t.service_account.clone()),
                mesh: mesh_of,
                invokers: topology::invokers(&policy),
            });
        }
    }
    Ok(topology::build(mesh, &routes, &backends, &negs, &services))
}
