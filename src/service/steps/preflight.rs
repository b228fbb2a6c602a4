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
//! Reads of the shared objects (mesh, subnetwork, zone and record) are kept [`KEEP`] per provider process
//! ([`Kept`]), so the creates of one apply share one read; a kept answer may only let a check pass, never fail it:
//! an answer that fails a check is not kept, and the next check reads again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{Ctx, Node, StepError};
use crate::service::explain::Explanation;
use crate::service::parts::dns;
use crate::service::parts::{BackendServicePart, CloudRun, Free, Neg, Part as _};
use crate::service::spec::Spec;
use crate::service::waits::Wait;

/// How long a read of a shared object that passed its check serves the checks of the same provider process.
pub const KEEP: Duration = Duration::from_secs(10);

/// Per-process answers of reads that passed their check, by key, each kept [`KEEP`]. Concurrent readers of one key
/// wait for the first one's read and take its answer, if it passed.
pub struct Kept<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
}

/// One key's kept answer and when it was read; its lock makes concurrent readers share one read.
type Slot<T> = Arc<tokio::sync::Mutex<Option<(Instant, T)>>>;

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> Kept<T> {
    /// The kept answer for `key` if it is younger than [`KEEP`], else `fetch`'s, kept only when `passes`.
    pub async fn read<F, Fut>(
        &self,
        key: &str,
        passes: impl Fn(&T) -> bool,
        fetch: F,
    ) -> Result<T, StepError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StepError>>,
    {
        let slot = {
            let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(key.to_string()).or_default())
        };
        let mut kept = slot.lock().await;
        if let Some((at, v)) = &*kept {
            if at.elapsed() < KEEP && passes(v) {
                return Ok(v.clone());
            }
        }
        *kept = None;
        let v = fetch().await?;
        if passes(&v) {
            *kept = Some((Instant::now(), v.clone()));
        }
        Ok(v)
    }

    /// Forgets `key` (this process changed the object).
    pub fn forget(&self, key: &str) {
        let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

/// The shared objects' kept reads of one provider process (in `ProviderData`).
#[derive(Default)]
pub struct SharedReads {
    mesh: Kept<Option<gcp::network_services::Mesh>>,
    subnet: Kept<Option<gcp::compute::Subnetwork>>,
    /// The zone and, when it exists, the wildcard record.
    zone: Kept<ZoneRead>,
    /// The zone as a destroy's or update's identity check reads it.
    identity_zone: Kept<Option<gcp::dns::ManagedZone>>,
    /// The identity checks' listings of the project's backend services and HTTPRoutes, shared by concurrent checks.
    backend_services:
        crate::service::coalesce::SharedReads<Vec<gcp::compute::BackendService>, StepError>,
    routes: crate::service::coalesce::SharedReads<Vec<gcp::network_services::HttpRoute>, StepError>,
    /// `services.list` of one region, shared by concurrent identity checks and grant releases.
    run_services: crate::service::coalesce::SharedReads<Vec<gcp::run::Service>, gcp::Error>,
    /// The last answer of `run_services` per region, and when it came.
    last_run_services: Mutex<HashMap<String, Listed>>,
}

/// A region's `services.list` answer and when it came.
type Listed = (Instant, Arc<Vec<gcp::run::Service>>);

impl SharedReads {
    /// `services.list` of `parent` (`projects/P/locations/R`), shared with the concurrent callers of this process;
    /// every answer starts after its callers asked.
    pub async fn run_services(
        &self,
        clients: &gcp::Clients,
        parent: &str,
    ) -> Result<Arc<Vec<gcp::run::Service>>, gcp::Error> {
        let listed = self
            .run_services
            .read(parent, || {
                let run = clients.run();
                async move { run.list_services(parent).await }
            })
            .await?;
        let mut last = self
            .last_run_services
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        last.insert(parent.to_string(), (Instant::now(), Arc::clone(&listed)));
        Ok(listed)
    }

    /// The last `services.list` answer of `parent` this process had, if younger than [`KEEP`].
    pub fn recent_run_services(&self, parent: &str) -> Option<Arc<Vec<gcp::run::Service>>> {
        let last = self
            .last_run_services
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        last.get(parent)
            .filter(|(at, _)| at.elapsed() < KEEP)
            .map(|(_, l)| Arc::clone(l))
    }

    /// The spec's Cloud Run service for the identity check: from the region's shared listing; one missing there is
    /// read with a GET (a service being deleted is left out of `services.list` but still answered by
    /// `services.get`).
    pub async fn service_for_identity(
        &self,
        c: &Ctx,
    ) -> Result<Option<gcp::run::Service>, StepError> {
        let s = &c.spec;
        let parent = gcp::run::location_name(&s.project, &s.region);
        let listed = self
            .run_services(&c.clients, &parent)
            .await
            .map_err(|e| StepError::api(&format!("list Cloud Run services in {}", s.region), &e))?;
        let own = format!("/services/{}", s.name);
        match listed
            .iter()
            .find(|x| x.name.as_deref().is_some_and(|n| n.ends_with(&own)))
        {
            Some(svc) => Ok(Some(svc.clone())),
            None => crate::service::parts::cloud_run::get(c).await,
        }
    }

    /// The spec's backend service named `name`, for the identity check: from a listing of the project's backend
    /// services that concurrent checks share (each listing starts after its callers asked; listed items are what
    /// `backendServices.get` answers, compute.v1.json `BackendServiceList.items`).
    pub async fn backend_service_for_identity(
        &self,
        c: &Ctx,
        name: &str,
    ) -> Result<Option<gcp::compute::BackendService>, StepError> {
        let project = &c.spec.project;
        let all = self
            .backend_services
            .read(project, || async {
                c.clients
                    .compute()
                    .list_backend_services(project)
                    .await
                    .map_err(|e| StepError::api("list backend services", &e))
            })
            .await?;
        Ok(all.iter().find(|b| b.name == name).cloned())
    }

    /// The spec's HTTPRoute named `name`, for the identity check: from a shared listing, as
    /// [`SharedReads::backend_service_for_identity`] (networkservices.v1.json, `ListHttpRoutesResponse.httpRoutes`).
    pub async fn route_for_identity(
        &self,
        c: &Ctx,
        name: &str,
    ) -> Result<Option<gcp::network_services::HttpRoute>, StepError> {
        let project = &c.spec.project;
        let all = self
            .routes
            .read(project, || crate::service::parts::route::list(c))
            .await?;
        let own = format!("/httpRoutes/{name}");
        Ok(all.iter().find(|r| r.name.ends_with(&own)).cloned())
    }

    /// The spec's zone for the identity check before a destroy or update writes (`identity::check`): kept like the
    /// pre-flight's reads, only while it passes that check (absent, or serving the spec's domain), so the destroys
    /// of one apply share one read.
    pub async fn zone_for_identity(
        &self,
        c: &Ctx,
    ) -> Result<Option<gcp::dns::ManagedZone>, StepError> {
        let s = &c.spec;
        let passes = |z: &Option<gcp::dns::ManagedZone>| {
            z.as_ref().is_none_or(|z| dns::zone_is_this_services(z, s))
        };
        self.identity_zone
            .read(
                &format!("{}/{}", s.project, s.dns_zone_name),
                passes,
                || dns::get_zone(c),
            )
            .await
    }
}

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
