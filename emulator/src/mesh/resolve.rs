//! From names to things, in the world as the APIs left it: the caller (a Cloud Run service and its running
//! revision), the HTTPRoute for a hostname on the caller's mesh, and a destination backend service down to the
//! serverless NEG, the Cloud Run service and its ready revision. Also who may invoke whom.

use super::matching::host_score;
use crate::services::compute::{self, refs};
use crate::services::network_services::HTTP_ROUTES;
use crate::world::{collections, World};
use serde_json::Value;

/// The service a proxy user names, as it runs now.
#[derive(Clone, Debug)]
pub struct Caller {
    /// `projects/P/locations/R/services/S`.
    pub key: String,
    pub name: String,
    pub project: String,
    pub region: String,
    /// The runtime service account of the serving revision.
    pub account: String,
    /// The mesh (world key) its serving revision joins, if any.
    pub mesh: Option<String>,
    /// The serving (latest ready) revision's full name; None when nothing of it runs.
    pub revision: Option<String>,
}

impl Caller {
    /// `NAME.REGION.PROJECT`, the proxy user that names exactly this service.
    pub fn qualified(&self) -> String {
        format!("{}.{}.{}", self.name, self.region, self.project)
    }
}

/// Why a proxy user names no single service.
#[derive(Debug)]
pub enum CallerError {
    Unknown(String),
    Ambiguous(String, Vec<String>),
}

/// A Cloud Run service a destination leads to, with the revision that serves it.
#[derive(Clone, Debug)]
pub struct Target {
    pub key: String,
    pub name: String,
    pub project: String,
    pub region: String,
    /// The ready revision's full name and its id.
    pub revision: String,
    pub revision_id: String,
    /// The service's run.app URL (the audience of the identity token).
    pub uri: String,
    /// The backend service (world key) the destination named.
    pub backend_service: String,
    pub invoker_iam_disabled: bool,
}

fn parts(key: &str) -> Option<(String, String, String)> {
    let p: Vec<&str> = key.split('/').collect();
    match p.as_slice() {
        ["projects", project, "locations", region, "services", name] => {
            Some((project.to_string(), region.to_string(), name.to_string()))
        }
        _ => None,
    }
}

/// Every document of a collection, borrowed (`World::list` clones each one; the proxy looks on every call).
fn all<'a>(world: &'a World, collection: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    world.resources.get(collection).into_iter().flatten()
}

/// The caller named `user`: `NAME`, or `NAME.REGION.PROJECT` when the name alone is ambiguous.
pub fn caller(world: &World, user: &str) -> Result<Caller, CallerError> {
    let mut pieces = user.splitn(3, '.');
    let name = pieces.next().unwrap_or_default();
    let region = pieces.next();
    let project = pieces.next().map(|p| {
        world
            .project(p)
            .map(|pr| pr.id.clone())
            .unwrap_or_else(|| p.to_string())
    });
    let found: Vec<(&String, &Value)> = all(world, collections::RUN_SERVICES)
        .filter(|(key, _)| {
            parts(key).is_some_and(|(p, r, n)| {
                n == name
                    && region.is_none_or(|want| want == r)
                    && project.as_deref().is_none_or(|want| want == p)
            })
        })
        .collect();
    match found.as_slice() {
        [] => Err(CallerError::Unknown(user.to_string())),
        [(key, service)] => Ok(describe_caller(world, key, service)),
        many => Err(CallerError::Ambiguous(
            user.to_string(),
            many.iter()
                .filter_map(|(k, _)| parts(k).map(|(p, r, n)| format!("{n}.{r}.{p}")))
                .collect(),
        )),
    }
}

fn describe_caller(world: &World, key: &str, service: &Value) -> Caller {
    let (project, region, name) = parts(key).unwrap_or_default();
    let revision = service["latestReadyRevision"].as_str().map(str::to_string);
    let running = revision
        .as_deref()
        .and_then(|r| world.get(collections::RUN_REVISIONS, r));
    let template = running.unwrap_or(&service["template"]);
    let number = world
        .project(&project)
        .map(|p| p.number.clone())
        .unwrap_or_default();
    let account = template["serviceAccount"]
        .as_str()
        .map(str::to_string)
        // Cloud Run's default runtime identity: the Compute Engine default service account.
        .unwrap_or_else(|| format!("{number}-compute@developer.gserviceaccount.com"));
    let mesh = template["serviceMesh"]["mesh"]
        .as_str()
        .and_then(|m| mesh_key(world, m));
    Caller {
        key: key.to_string(),
        name,
        project,
        region,
        account,
        mesh,
        revision,
    }
}

/// The world key of a mesh reference (`projects/P/locations/L/meshes/M`, on any host, id or number).
pub fn mesh_key(world: &World, reference: &str) -> Option<String> {
    let rest = &reference[reference.find("projects/")?..];
    let p: Vec<&str> = rest.split('/').collect();
    match p.as_slice() {
        ["projects", _, "locations", l, "meshes", m] if !l.is_empty() && !m.is_empty() => {
            Some(world.normalise_name(rest))
        }
        _ => None,
    }
}

/// The route of `mesh` that serves `host` (the most specific hostname wins), as (world key, route).
pub fn route_for(world: &World, mesh: &str, host: &str) -> Option<(String, Value)> {
    all(world, HTTP_ROUTES)
        .filter(|(_, route)| {
            route["meshes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|m| mesh_key(world, m).as_deref() == Some(mesh))
        })
        .filter_map(|(key, route)| {
            let best = route["hostnames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|h| host_score(h, host))
                .max()?;
            Some((best, key, route))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, key, route)| (key.clone(), route.clone()))
}

/// Follows a destination's `serviceName` to the Cloud Run service that serves it. `Err` says why nothing can
/// (Envoy answers such a call 503 "no healthy upstream"). A backend service with several serverless NEGs
/// prefers the one in `near_region` (the caller's), as locality-aware load balancing does.
pub fn target(
    world: &World,
    service_name: &str,
    route_project: &str,
    near_region: &str,
) -> Result<Target, String> {
    let bs_key = compute::backend_service_key(world, service_name, route_project)
        .ok_or_else(|| format!("'{service_name}' is not a backend service reference"))?;
    let bs = world
        .get(compute::BACKEND_SERVICES, &bs_key)
        .ok_or_else(|| format!("backend service {bs_key} does not exist"))?;
    let bs_project = bs_key.split('/').nth(1).unwrap_or_default().to_string();
    let mut candidates: Vec<Target> = Vec::new();
    let mut why = format!("backend service {bs_key} has no serverless NEG backend");
    for group in bs["backends"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["group"].as_str())
    {
        let Some(r) = refs::parse(group, &bs_project) else {
            continue;
        };
        let refs::Scope::Region(neg_region) = &r.scope else {
            continue;
        };
        let Some(project) = world.project(&r.project).map(|p| p.id.clone()) else {
            continue;
        };
        let neg_key = format!(
            "projects/{project}/regions/{neg_region}/networkEndpointGroups/{}",
            r.name
        );
        let Some(neg) = world.get(compute::NEGS, &neg_key) else {
            why = format!("NEG {neg_key} does not exist");
            continue;
        };
        let Some(service) = neg["cloudRun"]["service"].as_str() else {
            why = format!("NEG {neg_key} does not name a Cloud Run service (cloudRun.service)");
            continue;
        };
        let key = format!("projects/{project}/locations/{neg_region}/services/{service}");
        let Some(doc) = world.get(collections::RUN_SERVICES, &key) else {
            why = format!("Cloud Run service {key} (NEG {neg_key}) does not exist");
            continue;
        };
        let Some(revision) = doc["latestReadyRevision"].as_str() else {
            why = format!("Cloud Run service {key} has no ready revision");
            continue;
        };
        candidates.push(Target {
            key: key.clone(),
            name: service.to_string(),
            project: project.clone(),
            region: neg_region.clone(),
            revision: revision.to_string(),
            revision_id: revision.rsplit('/').next().unwrap_or(revision).to_string(),
            uri: doc["uri"].as_str().unwrap_or_default().to_string(),
            backend_service: bs_key.clone(),
            invoker_iam_disabled: doc["invokerIamDisabled"] == true,
        });
    }
    let near = candidates.iter().position(|t| t.region == near_region);
    match near {
        Some(i) => Ok(candidates.swap_remove(i)),
        None => candidates.into_iter().next().ok_or(why),
    }
}

/// The role the Cloud Run front end checks for `run.routes.invoke`.
pub const INVOKER: &str = "roles/run.invoker";

/// Whether `account` may invoke `target` now: `roles/run.invoker` on the service or its project (IAM
/// inheritance), for the account or everyone, once propagated; or the service turned the check off.
pub fn may_invoke(world: &World, target: &Target, account: &str) -> bool {
    if target.invoker_iam_disabled {
        return true;
    }
    let now = world.now();
    let members = [
        format!("serviceAccount:{account}"),
        "allUsers".to_string(),
        "allAuthenticatedUsers".to_string(),
    ];
    let on_service = world.resource_policies.get(&target.key);
    let on_project = world.project(&target.project).map(|p| &p.policy);
    members.iter().any(|m| {
        on_service.is_some_and(|p| p.is_effective(INVOKER, m, now))
            || on_project.is_some_and(|p| p.is_effective(INVOKER, m, now))
    })
}
