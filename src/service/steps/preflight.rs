//! Pre-flight checks before anything is created (PRODUCT §3): mesh exists (its age noted for the settle wait),
//! subnet with Private Google Access, network and subnet exist, hostname free on the mesh, and on a create every
//! name the service would take is free or already ours (Cloud Run service, NEG, backend service, HTTPRoute) and the
//! shared DNS zone and wildcard record, when they exist, are ones this service can use. All read-only, all
//! concurrent; the first failure ends them, so a doomed create fails having created nothing.
//!
//! The later steps read the same objects again: between the check and the step another writer may have changed
//! them, and each step must decide on what it reads itself (a check here only moves a refusal earlier).

use std::time::Duration;

use super::{Ctx, StepError};
use crate::service::explain::Explanation;
use crate::service::parts::dns;
use crate::service::parts::{BackendServicePart, CloudRun, Neg, Part as _, Route};
use crate::service::spec::Spec;
use crate::service::waits::Wait;

/// The checks, then the settle wait (the update path, where nothing overlaps).
pub async fn run(c: &Ctx) -> Result<(), StepError> {
    checks(c).await?;
    settle(c).await
}

/// The read-only checks, concurrently; the first failure ends them.
pub async fn checks(c: &Ctx) -> Result<(), StepError> {
    tokio::try_join!(
        mesh(c),
        network(c),
        subnet(c),
        hostname(c),
        names_free(c),
        shared_dns(c)
    )
    .map(|_| ())
}

/// Waits out the rest of `mesh_settle_time` for a young mesh (its age was noted by [`checks`]).
pub async fn settle(c: &Ctx) -> Result<(), StepError> {
    let Some(created) = c.edges.mesh_created.get() else {
        return Ok(());
    };
    let age = (chrono::Utc::now() - created)
        .to_std()
        .unwrap_or(Duration::ZERO);
    if age < c.data.mesh_settle_time {
        let rest = c.data.mesh_settle_time - age;
        tracing::info!(mesh = c.spec.mesh, wait = ?rest, "mesh created recently; waiting for it to settle");
        c.sleep(rest).await?;
        c.waits.push(Wait::Mesh {
            mesh: c.spec.mesh.clone(),
            age,
            waited: rest,
            setting: c.data.mesh_settle_time,
        });
    }
    Ok(())
}

async fn mesh(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    let mesh = match c.clients.network_services().get_mesh(&s.mesh).await {
        Ok(m) => m,
        Err(e) if e.is_not_found() => return Err(mesh_not_found(s)),
        Err(e) => return Err(StepError::api(&format!("read mesh {}", s.mesh), &e)),
    };
    let Some(created) = mesh
        .create_time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    else {
        return Ok(());
    };
    // The wait itself is [`settle`], a step of its own, so the other parts are made meanwhile.
    let created = created.with_timezone(&chrono::Utc);
    c.edges.mesh_created.put(created);
    Ok(())
}

async fn network(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    match c
        .clients
        .compute()
        .get_network(&s.network_project, &s.network)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(network_not_found(s)),
        Err(e) => Err(StepError::api(&format!("read network {}", s.network), &e)),
    }
}

async fn subnet(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    let sub = match c
        .clients
        .compute()
        .get_subnetwork(&s.subnet_project, &s.subnet_region, &s.subnetwork)
        .await
    {
        Ok(x) => x,
        Err(e) if e.is_not_found() => return Err(subnet_not_found(s)),
        Err(e) => {
            return Err(StepError::api(
                &format!("read subnetwork {}", s.subnetwork),
                &e,
            ))
        }
    };
    let pga = sub.private_ip_google_access.unwrap_or(false);
    c.edges.subnet_pga.put(pga);
    if !pga {
        return Err(no_private_google_access(s));
    }
    Ok(())
}

async fn hostname(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    let routes = crate::service::parts::route::list(c).await?;
    let mesh_suffix = format!("/meshes/{}", s.mesh.rsplit('/').next().unwrap_or(""));
    let own = format!("/httpRoutes/{}", s.route_name);
    if let Some(other) = routes.iter().find(|r| {
        !r.name.ends_with(&own)
            && r.hostnames.iter().any(|h| h == &s.hostname)
            && r.meshes.iter().any(|m| m.ends_with(&mesh_suffix))
    }) {
        return Err(hostname_taken(s, &other.name));
    }
    Ok(())
}

/// On a create, every name the service would take is free, or carries this service's marker (an earlier create
/// of it was killed: the steps adopt those parts). An existing resource owns its names already.
async fn names_free(c: &Ctx) -> Result<(), StepError> {
    if c.existing {
        return Ok(());
    }
    tokio::try_join!(
        CloudRun::free(c),
        Neg::free(c),
        BackendServicePart::free(c),
        Route::free(c)
    )
    .map(|_| ())
}

/// On a create, the shared zone, if it exists, serves the service's domain, and its wildcard record, if it exists, points
/// at the service's `dns_address` (csmrun never overwrites a shared record).
async fn shared_dns(c: &Ctx) -> Result<(), StepError> {
    // An update that changes `dns_address` moves the record itself (`dns::readdress`).
    if c.existing {
        return Ok(());
    }
    let s = &c.spec;
    let dns_client = c.clients.dns();
    let r = dns_client
        .get_managed_zone(&s.project, &s.dns_zone_name)
        .await;
    let Some(zone) = super::found(r, &format!("DNS zone {}", s.dns_zone_name))? else {
        return Ok(());
    };
    dns::check_zone_domain(&zone, s)?;
    let want = crate::service::parts::dns::wildcard_record(s);
    let r = dns_client
        .get_rrset(&s.project, &s.dns_zone_name, &want.name, "A")
        .await;
    match super::found(r, &format!("DNS record {}", want.name))? {
        Some(have) => dns::check_record(s, &want, &have),
        None => Ok(()),
    }
}

pub fn mesh_not_found(s: &Spec) -> StepError {
    StepError::refused(
        Explanation::new(format!("mesh {}", s.mesh), "not found")
            .why("csmrun uses a mesh and never creates one")
            .fix("create the mesh first, or fix `mesh`"),
    )
}

pub fn network_not_found(s: &Spec) -> StepError {
    StepError::refused(
        Explanation::new(format!("VPC network {}", s.network), "not found")
            .why(format!(
                "project {} has no VPC network of that name",
                s.network_project
            ))
            .fix("fix `network`"),
    )
}

pub fn subnet_not_found(s: &Spec) -> StepError {
    StepError::refused(
        Explanation::new(format!("subnetwork {}", s.subnetwork), "not found")
            .why(format!(
                "project {} has no subnetwork of that name in region {}",
                s.subnet_project, s.subnet_region
            ))
            .fix("fix `subnetwork`"),
    )
}

pub fn no_private_google_access(s: &Spec) -> StepError {
    StepError::refused(
        Explanation::new(format!("subnetwork {}", s.subnetwork), "no Private Google Access")
            .why(
                "with Direct VPC egress of ALL_TRAFFIC the mesh sidecar reaches trafficdirector.googleapis.com \
                 through this subnet, so the service would fail to start",
            )
            .fix(format!(
                "`gcloud compute networks subnets update {} --region {} --project {} \
                 --enable-private-ip-google-access`, then apply again",
                s.subnetwork, s.subnet_region, s.subnet_project
            ))
            .next_time("keep Private Google Access on for every subnet a mesh service egresses through"),
    )
}

pub fn hostname_taken(s: &Spec, route: &str) -> StepError {
    StepError::refused(
        Explanation::new(format!("hostname {}", s.hostname), "already used on the mesh")
            .why(format!(
                "the HTTPRoute {route} serves it on mesh {}, and two routes on one mesh cannot share a hostname",
                s.mesh
            ))
            .fix("set another `hostname` (or `name`), or remove that route"),
    )
}
