//! Pre-flight checks before the Cloud Run deploy (PRODUCT §3): mesh settled, subnet with Private Google Access,
//! network and subnet exist, hostname free on the mesh. All read-only, all concurrent; the first failure ends them.

use std::time::Duration;

use super::{Ctx, StepError};

/// The checks, then the settle wait (the update path, where nothing overlaps).
pub async fn run(c: &Ctx) -> Result<(), StepError> {
    checks(c).await?;
    settle(c).await
}

/// The read-only checks, concurrently; the first failure ends them.
pub async fn checks(c: &Ctx) -> Result<(), StepError> {
    tokio::try_join!(mesh(c), network(c), subnet(c), hostname(c)).map(|_| ())
}

/// Waits out the rest of `mesh_settle_time` for a young mesh (its age was noted by [`checks`]).
pub async fn settle(c: &Ctx) -> Result<(), StepError> {
    let Some(created) = c.facts().mesh_created else {
        return Ok(());
    };
    let age = (chrono::Utc::now() - created)
        .to_std()
        .unwrap_or(Duration::ZERO);
    if age < c.data.mesh_settle_time {
        let rest = c.data.mesh_settle_time - age;
        tracing::info!(mesh = c.spec.mesh, wait = ?rest, "mesh created recently; waiting for it to settle");
        c.sleep(rest).await?;
    }
    Ok(())
}

async fn mesh(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    let mesh = match c.clients.network_services().get_mesh(&s.mesh).await {
        Ok(m) => m,
        Err(e) if e.is_not_found() => {
            return Err(StepError::new(
                "Mesh not found",
                format!("The mesh {} does not exist. Create it first (csmrun uses a mesh, never creates one), or fix `mesh`.", s.mesh),
            ))
        }
        Err(e) => return Err(StepError::api(&format!("read mesh {}", s.mesh), &e)),
    };
    let Some(created) = mesh
        .create_time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    else {
        return Ok(());
    };
    let created = created.with_timezone(&chrono::Utc);
    c.note(|f| f.mesh_created = Some(created));
    let age = (chrono::Utc::now() - created)
        .to_std()
        .unwrap_or(Duration::ZERO);
    if age < c.data.mesh_settle_time {
        let rest = c.data.mesh_settle_time - age;
        tracing::info!(mesh = s.mesh, wait = ?rest, "mesh created recently; waiting for it to settle");
        c.sleep(rest).await?;
    }
    Ok(())
}

async fn network(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    match c.clients.compute().get_network(&s.network_project, &s.network).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(StepError::new(
            "Network not found",
            format!(
                "The VPC network {} does not exist in project {}; fix `network`. Nothing was created.",
                s.network, s.network_project
            ),
        )),
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
        Err(e) if e.is_not_found() => {
            return Err(StepError::new(
                "Subnetwork not found",
                format!(
                    "The subnetwork {} does not exist in project {} region {}; fix `subnetwork`.",
                    s.subnetwork, s.subnet_project, s.subnet_region
                ),
            ))
        }
        Err(e) => {
            return Err(StepError::api(
                &format!("read subnetwork {}", s.subnetwork),
                &e,
            ))
        }
    };
    let pga = sub.private_ip_google_access.unwrap_or(false);
    c.note(|f| f.subnet_pga = Some(pga));
    if !pga {
        return Err(StepError::new(
            "Subnetwork without Private Google Access",
            format!(
                "The subnetwork {} has no Private Google Access. With Direct VPC egress of ALL_TRAFFIC the mesh \
                 sidecar reaches trafficdirector.googleapis.com through it, so the service would fail to start. \
                 Nothing was created. Fix: `gcloud compute networks subnets update {} --region {} --project {} \
                 --enable-private-ip-google-access` (in the google provider: `private_ip_google_access = true` on \
                 the subnetwork), then apply again.",
                s.subnetwork, s.subnetwork, s.subnet_region, s.subnet_project
            ),
        ));
    }
    Ok(())
}

async fn hostname(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    let routes = super::route::list(c).await?;
    let mesh_suffix = format!("/meshes/{}", s.mesh.rsplit('/').next().unwrap_or(""));
    let own = format!("/httpRoutes/{}", s.route_name);
    if let Some(other) = routes.iter().find(|r| {
        !r.name.ends_with(&own)
            && r.hostnames.iter().any(|h| h == &s.hostname)
            && r.meshes.iter().any(|m| m.ends_with(&mesh_suffix))
    }) {
        return Err(StepError::new(
            "Hostname already used on the mesh",
            format!(
                "The hostname {:?} is already served by the HTTPRoute {} on mesh {}; two routes on one mesh cannot \
                 share a hostname. Set another `hostname` (or `name`), or remove that route.",
                s.hostname, other.name, s.mesh
            ),
        ));
    }
    Ok(())
}
