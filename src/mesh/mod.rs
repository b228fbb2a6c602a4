//! `csmrun_mesh`: the mesh as its sidecars route it, read from the APIs (not from csmrun's state), so it shows
//! routes, backend services and invokers made by hand or by other tools too.
//!
//! schema.rs declares it, read.rs makes the API calls (bounded: paged lists, one IAM read per service of the
//! mesh), topology.rs follows route → backend service → serverless NEG → Cloud Run service and invokers →
//! callers without I/O, mermaid.rs draws it.

pub mod mermaid;
pub mod model;
pub mod read;
pub mod schema;
pub mod topology;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use tfplug::data_source::{DataResult, DataSource};
use tfplug::schema::Schema;
use tfplug::{Context, Diagnostics};

use crate::config::ProviderData;
use model::MeshState;

pub struct MeshDataSource;

/// `projects/P/locations/global/meshes/M` or `M` → (project if given, mesh name).
fn parse_mesh(mesh: &str) -> Option<(Option<&str>, &str)> {
    let parts: Vec<&str> = mesh.split('/').collect();
    match parts.as_slice() {
        [m] if !m.is_empty() => Some((None, m)),
        ["projects", p, "locations", "global", "meshes", m] if !p.is_empty() && !m.is_empty() => {
            Some((Some(p), m))
        }
        _ => None,
    }
}

#[async_trait]
impl DataSource for MeshDataSource {
    type State = MeshState;
    type ProviderData = ProviderData;

    fn type_name(&self) -> String {
        "csmrun_mesh".into()
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    async fn read(&self, ctx: &Context<ProviderData>, config: MeshState) -> DataResult<MeshState> {
        let mut diags = Diagnostics::new();
        let Some((from_link, mesh)) = parse_mesh(&config.mesh) else {
            diags.error(
                "Invalid mesh",
                format!(
                    "`mesh` is {:?}: give a mesh name or `projects/P/locations/global/meshes/M`.",
                    config.mesh
                ),
            );
            return DataResult::failed(diags);
        };
        let Some(data) = ctx.provider_data() else {
            diags.error(
                "csmrun_mesh: the provider is not configured",
                "Configure the csmrun provider before reading csmrun_mesh.",
            );
            return DataResult::failed(diags);
        };
        let project = config
            .project
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| from_link.map(str::to_string))
            .or_else(|| data.project.clone());
        let Some(project) = project else {
            diags.error(
                "csmrun_mesh: no project",
                "Set `project` on the data source or the provider (or GOOGLE_PROJECT).",
            );
            return DataResult::failed(diags);
        };
        match read::read(data, &project, mesh).await {
            Ok(t) => DataResult::ok(MeshState {
                mesh: config.mesh.clone(),
                id: Some(gcp::network_services::mesh_name(&project, mesh)),
                project: Some(project),
                mermaid: Some(mermaid::render(&t)),
                hostnames: Some(t.hostnames),
                services: Some(t.services),
                calls: Some(t.calls),
            }),
            Err(d) => DataResult::failed(d),
        }
    }
}
