//! The HTTPRoute: created last, once the service is Ready, so the hostname goes live only when it works.

use super::{is_marked, not_ours, project, Ctx, Part, Record, StepError};
use crate::service::bodies;

/// Ensures the route exists as the spec says.
pub async fn ensure(c: &Ctx) -> Result<Record, StepError> {
    let s = &c.spec;
    let ns = c.clients.network_services();
    let want = bodies::http_route(s);
    let path = s.route_path();
    let have = match ns.get_http_route(&path).await {
        Ok(r) => Some(r),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            return Err(StepError::api(
                &format!("read HTTPRoute {}", s.route_name),
                &e,
            ))
        }
    };
    let have = match have {
        Some(h) => h,
        None => {
            c.note(|f| f.creating.push(Part::Route));
            let parent = gcp::network_services::global_parent(&s.project);
            match ns.create_http_route(&parent, &s.route_name, &want).await {
                Ok(_) => return Ok(Record::Route { created: true }),
                Err(e) if e.is_already_exists() => ns
                    .get_http_route(&path)
                    .await
                    .map_err(|e| StepError::api(&format!("read HTTPRoute {}", s.route_name), &e))?,
                Err(e) => {
                    return Err(StepError::api(
                        &format!("create HTTPRoute {}", s.route_name),
                        &e,
                    ))
                }
            }
        }
    };
    if !c.existing && !is_marked(have.description.as_deref(), s) {
        return Err(not_ours("HTTPRoute", &s.route_name, s));
    }
    if !project::holds_in(c, &want, &have).await {
        ns.patch_http_route(&path, &want, None)
            .await
            .map_err(|e| StepError::api(&format!("update HTTPRoute {}", s.route_name), &e))?;
    }
    Ok(Record::Route {
        created: !c.existing,
    })
}

/// Deletes a route; one that is already gone is fine.
pub async fn delete(c: &Ctx, name: &str) -> Result<(), StepError> {
    let path = gcp::network_services::http_route_name(&c.spec.project, name);
    match c.clients.network_services().delete_http_route(&path).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(StepError::api(&format!("delete HTTPRoute {name}"), &e)),
    }
}

/// Whether the route exists as the spec says (ownership markers aside).
pub async fn is_in_place(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    match c
        .clients
        .network_services()
        .get_http_route(&s.route_path())
        .await
    {
        Ok(r) => {
            let mut want = bodies::http_route(s);
            want.description = None;
            want.labels.clear();
            Ok(project::holds_in(c, &want, &r).await)
        }
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(StepError::api(
            &format!("read HTTPRoute {}", s.route_name),
            &e,
        )),
    }
}
