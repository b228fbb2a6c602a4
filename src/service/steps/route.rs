//! The HTTPRoute: created last, once the service is Ready, so the hostname goes live only when it works.

use super::{found, gone, is_marked, not_ours, project, Ctx, Part, Record, StepError};
use crate::service::bodies;

/// Ensures the route exists as the spec says. The shared DNS zone and record need no second look: the service
/// registered as a user of its domain before this (`dns::join`), and from then on no leaver, in this process or
/// another, removes them.
pub async fn ensure(c: &Ctx) -> Result<Record, StepError> {
    ensure_route(c).await
}

async fn ensure_route(c: &Ctx) -> Result<Record, StepError> {
    let s = &c.spec;
    let ns = c.clients.network_services();
    let want = bodies::http_route(s);
    let path = s.route_path();
    let what = format!("HTTPRoute {}", s.route_name);
    let have = found(ns.get_http_route(&path).await, &what)?;
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
                    .map_err(|e| StepError::api(&format!("read {what}"), &e))?,
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
        return Err(not_ours("HTTPRoute", &s.route_name, "route_name", s));
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

/// Every HTTPRoute of the project (hostname checks and users of the shared DNS zone).
pub async fn list(c: &Ctx) -> Result<Vec<gcp::network_services::HttpRoute>, StepError> {
    c.clients
        .network_services()
        .list_http_routes(&gcp::network_services::global_parent(&c.spec.project))
        .await
        .map_err(|e| StepError::api("list HTTPRoutes", &e))
}

/// Deletes a route; one that is already gone is fine.
pub async fn delete(c: &Ctx, name: &str) -> Result<(), StepError> {
    let path = gcp::network_services::http_route_name(&c.spec.project, name);
    let r = c.clients.network_services().delete_http_route(&path).await;
    gone(r, &format!("HTTPRoute {name}"))
}

/// Whether the route exists as the spec says (ownership markers aside).
pub async fn is_in_place(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let r = c
        .clients
        .network_services()
        .get_http_route(&s.route_path())
        .await;
    let Some(r) = found(r, &format!("HTTPRoute {}", s.route_name))? else {
        return Ok(false);
    };
    let mut want = bodies::http_route(s);
    want.description = None;
    want.labels.clear();
    Ok(project::holds_in(c, &want, &r).await)
}
