//! Cloud Run Admin v2: services, revisions, IAM and operations, with the mesh sidecar readiness model.

mod deploy;
mod iam;
mod limits;
mod mesh;
mod operations;
mod revision;
mod service;
mod shape;
mod spec;

use crate::error::ApiError;
use crate::services::Registry;
use crate::world::World;

/// Registers this API's handlers.
pub fn register(r: &mut Registry) {
    r.add("run.projects.locations.services.create", service::create);
    r.add("run.projects.locations.services.get", service::get);
    r.add("run.projects.locations.services.list", service::list);
    r.add("run.projects.locations.services.patch", service::patch);
    r.add("run.projects.locations.services.delete", service::delete);
    r.add(
        "run.projects.locations.services.revisions.get",
        revision::get,
    );
    r.add(
        "run.projects.locations.services.revisions.list",
        revision::list,
    );
    r.add(
        "run.projects.locations.services.getIamPolicy",
        iam::get_iam_policy,
    );
    r.add(
        "run.projects.locations.services.setIamPolicy",
        iam::set_iam_policy,
    );
    r.add(
        "run.projects.locations.services.testIamPermissions",
        iam::test_iam_permissions,
    );
    r.add("run.projects.locations.operations.get", operations::get);
    r.add("run.projects.locations.operations.wait", operations::wait);
    r.add("run.projects.locations.operations.list", operations::list);
    r.add(
        "run.projects.locations.operations.delete",
        operations::delete,
    );
}

/// A parsed `projects/{p}/locations/{r}[/services/{s}[/revisions/{rev}]]` name with the project as its id.
#[derive(Clone, Debug)]
struct Name {
    project: String,
    number: String,
    region: String,
    service: Option<String>,
    revision: Option<String>,
}

impl Name {
    fn parse(world: &World, name: &str) -> Result<Name, ApiError> {
        let parts: Vec<&str> = name.split('/').collect();
        if parts.len() < 4 || parts[0] != "projects" || parts[2] != "locations" {
            return Err(ApiError::invalid_argument(format!(
                "Invalid resource name '{name}'."
            )));
        }
        let project = world.project(parts[1]).ok_or_else(|| {
            ApiError::permission_denied(format!(
                "Permission denied on resource project {}.",
                parts[1]
            ))
        })?;
        let pick = |i: usize, kind: &str| -> Option<String> {
            (parts.len() > i + 1 && parts[i] == kind).then(|| parts[i + 1].to_string())
        };
        Ok(Name {
            project: project.id.clone(),
            number: project.number.clone(),
            region: parts[3].to_string(),
            service: pick(4, "services"),
            revision: pick(6, "revisions"),
        })
    }

    fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.region)
    }

    fn service_name(&self) -> String {
        format!(
            "{}/services/{}",
            self.parent(),
            self.service.as_deref().unwrap_or_default()
        )
    }

    /// Cloud Run's 404 wording.
    fn not_found(&self, kind: &str, id: &str) -> ApiError {
        ApiError::not_found(format!(
            "Resource '{id}' of kind '{kind}' in region '{}' in project '{}' does not exist.",
            self.region, self.project
        ))
    }
}
