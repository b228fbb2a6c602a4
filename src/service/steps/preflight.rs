//! Pre-flight checks before anything is created (PRODUCT §3): mesh exists (its age noted for the settle wait),
//! subnet with Private Google Access, network and subnet exist, hostname free on the mesh, and on a create every
//! name the service would take is free or already ours (Cloud Run service, NEG, backend service, HTTPRoute) and the
//! shared DNS zone and wildcard record, when they exist, are ones this service can use. All read-only, all
//! concurrent; the first failure ends them, so a doomed create fails having created nothing.
//!
//! The later steps read the same objects again: between the check and the step another writer may have changed
//! them, and each step must decide on what it reads itself (a check here only moves a refusal earlier). Two
//! exceptions save a read each and stay safe: a name found free is created without a second look (a 409 then
//! reads), and the zone read is handed to the zone step ([`Found`], through `steps::Edges`).
//!
//! Reads of the shared objects (mesh, subnetwork, zone and record) are kept a few seconds per provider process
//! (`crate::service::shared_reads`), so the creates of one apply share one read; a kept answer may only let a check
//! pass, never fail it: an answer that fails a check is not kept, and the next check reads again.

use std::time::Duration;

use super::{Ctx, Node, StepError};
use crate::service::explain::Explanation;
use crate::service::parts::dns;
use crate::service::parts::{BackendServicePart, CloudRun, Free, Neg, Part as _};
use crate::service::spec::Spec;
use crate::service::waits::Wait;

/// The pre-flight's read of the shared zone and its wildcard record.
#[derive(Debug, Clone, Default)]
pub struct ZoneRead {
    pub zone: Option<gcp::dns::ManagedZone>,
    pub record: Option<gcp::dns::ResourceRecordSet>,
}

/// What the checks learned that the steps after them use (handed on through `steps::Edges`).
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// On a create, the parts whose names were found free: their steps create without reading first.
    pub absent: Vec<Node>,
    /// The shared zone as read on a create (`None`: not read; the zone step reads).
    pub zone: Option<ZoneRead>,
}

impl Found {
    /// What the pre-flight found under `part`'s name (`None`: not checked).
    pub fn free(&self, part: Node) -> Option<Free> {
        self.absent.contains(&part).then_some(Free::Absent)
    }
}

/// The checks, then the settle wait (the update path, where nothing overlaps).
pub async fn run(c: &Ctx) -> Result<(), StepError> {
    checks(c).await?;
    settle(c).await
}

/// The read-only checks, concurrently; the first failure ends them.
pub async fn checks(c: &Ctx) -> Result<Found, StepError> {
    let (_, _, route_free, names, zone) = tokio::try_join!(
        mesh(c),
        subnet_and_network(c),
        hostname_and_route_name(c),
        names_free(c),
        shared_dns(c)
    )?;
    let mut absent: Vec<Node> = names
        .into_iter()
        .filter(|(_, f)| *f == Free::Absent)
        .map(|(n, _)| n)
        .collect();
    if route_free == Some(Free::Absent) {
        absent.push(Node::Route);
    }
    Ok(Found { absent, zone })
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
    let read = c
        .data
        .shared_reads
        .mesh
        .read(&s.mesh, Option::is_some, || async {
            super::found(
                c.clients.network_services().get_mesh(&s.mesh).await,
                &format!("mesh {}", s.mesh),
            )
        })
        .await?;
    let Some(mesh) = read else {
        return Err(mesh_not_found(s));
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

/// The subnetwork exists with Private Google Access, and the network exists: answered by the subnetwork's own
/// `network` when it is the spec's (compute.v1.json, `Subnetwork.network`: "The URL of the network to which this
/// subnetwork belongs"; a subnetwork cannot outlive its network), else read.
async fn subnet_and_network(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    let key = format!("{}/{}/{}", s.subnet_project, s.subnet_region, s.subnetwork);
    let pga = |x: &Option<gcp::compute::Subnetwork>| {
        x.as_ref()
            .is_some_and(|x| x.private_ip_google_access == Some(true))
    };
    let read = c
        .data
        .shared_reads
        .subnet
        .read(&key, pga, || async {
            super::found(
                c.clients
                    .compute()
                    .get_subnetwork(&s.subnet_project, &s.subnet_region, &s.subnetwork)
                    .await,
                &format!("subnetwork {}", s.subnetwork),
            )
        })
        .await?;
    let Some(sub) = read else {
        return Err(subnet_not_found(s));
    };
    let pga = sub.private_ip_google_access.unwrap_or(false);
    c.edges.subnet_pga.put(pga);
    if !pga {
        return Err(no_private_google_access(s));
    }
    let own = format!(
        "projects/{}/global/networks/{}",
        s.network_project, s.network
    );
    if sub.network.as_deref().is_some_and(|n| n.ends_with(&own)) {
        return Ok(());
    }
    network(c).await
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

/// The hostname is not served by another route on the mesh; on a create, the route's name is free too (from the
/// same listing).
async fn hostname_and_route_name(c: &Ctx) -> Result<Option<Free>, StepError> {
    let s = &c.spec;
    let routes = crate::service::parts::route::list(c).await?;
    let free = if c.existing {
        None
    } else {
        Some(crate::service::parts::route::free_in(c, &routes)?)
    };
    let mesh_suffix = format!("/meshes/{}", s.mesh.rsplit('/').next().unwrap_or(""));
    let own = format!("/httpRoutes/{}", s.route_name);
    if let Some(other) = routes.iter().find(|r| {
        !r.name.ends_with(&own)
            && r.hostnames.iter().any(|h| h == &s.hostname)
            && r.meshes.iter().any(|m| m.ends_with(&mesh_suffix))
    }) {
        return Err(hostname_taken(s, &other.name));
    }
    Ok(free)
}

/// On a create, every name the service would take is free, or carries this service's marker (an earlier create
/// of it was killed: the steps adopt those parts). An existing resource owns its names already.
async fn names_free(c: &Ctx) -> Result<Vec<(Node, Free)>, StepError> {
    if c.existing {
        return Ok(Vec::new());
    }
    let (service, neg, backend) =
        tokio::try_join!(CloudRun::free(c), Neg::free(c), BackendServicePart::free(c),)?;
    Ok(vec![
        (Node::Service, service),
        (Node::Neg, neg),
        (Node::BackendService, backend),
    ])
}

/// On a create, the shared zone, if it exists, serves the service's domain, and its wildcard record, if it exists, points
/// at the service's `dns_address` (csmrun never overwrites a shared record).
async fn shared_dns(c: &Ctx) -> Result<Option<ZoneRead>, StepError> {
    // An update that changes `dns_address` moves the record itself (`dns::readdress`).
    if c.existing {
        return Ok(None);
    }
    let s = &c.spec;
    let want = crate::service::parts::dns::wildcard_record(s);
    // Only a zone that exists and passes is kept: a missing zone is read again by the next check, until one of
    // the creates has made it.
    let passes = |r: &ZoneRead| {
        r.zone.as_ref().is_some_and(|z| {
            dns::check_zone_domain(z, s).is_ok()
                && r.record
                    .as_ref()
                    .is_none_or(|have| dns::check_record(s, &want, have).is_ok())
        })
    };
    let key = format!("{}/{}", s.project, s.dns_zone_name);
    let read = c
        .data
        .shared_reads
        .zone
        .read(&key, passes, || async {
            let dns_client = c.clients.dns();
            let r = dns_client
                .get_managed_zone(&s.project, &s.dns_zone_name)
                .await;
            let Some(zone) = super::found(r, &format!("DNS zone {}", s.dns_zone_name))? else {
                return Ok(ZoneRead::default());
            };
            if dns::check_zone_domain(&zone, s).is_err() {
                return Ok(ZoneRead {
                    zone: Some(zone),
                    record: None,
                });
            }
            let r = dns_client
                .get_rrset(&s.project, &s.dns_zone_name, &want.name, "A")
                .await;
            let record = super::found(r, &format!("DNS record {}", want.name))?;
            Ok(ZoneRead {
                zone: Some(zone),
                record,
            })
        })
        .await?;
    if let Some(zone) = &read.zone {
        dns::check_zone_domain(zone, s)?;
        if let Some(have) = &read.record {
            dns::check_record(s, &want, have)?;
        }
    }
    Ok(Some(read))
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
