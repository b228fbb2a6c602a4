//! The reads of shared objects one provider process makes for many services at once, of two kinds:
//!
//! - **Kept** ([`Kept`]): the pre-flight's reads of the mesh, subnetwork, zone and record, and the identity check's
//!   zone read, kept [`KEEP`] per process so the creates (or destroys) of one apply share one read. A kept answer may
//!   only let a check pass, never fail it: an answer that fails its check is not kept, and the next check reads
//!   again.
//! - **Fresh** ([`FreshReads`]): the identity checks' listings of backend services and routes and the region's
//!   `services.list`, shared by concurrent callers; each answer starts after its callers asked, so it is as fresh as
//!   a read of their own.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::coalesce::FreshReads;
use super::parts::dns;
use super::steps::preflight::ZoneRead;
use super::steps::{Ctx, StepError};

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
    pub(crate) mesh: Kept<Option<gcp::network_services::Mesh>>,
    pub(crate) subnet: Kept<Option<gcp::compute::Subnetwork>>,
    /// The zone and, when it exists, the wildcard record.
    pub(crate) zone: Kept<ZoneRead>,
    /// The zone as a destroy's or update's identity check reads it.
    identity_zone: Kept<Option<gcp::dns::ManagedZone>>,
    /// The identity checks' listings of the project's backend services and HTTPRoutes, shared by concurrent checks.
    backend_services: FreshReads<Vec<gcp::compute::BackendService>, StepError>,
    routes: FreshReads<Vec<gcp::network_services::HttpRoute>, StepError>,
    /// `services.list` of one region, shared by concurrent identity checks and grant releases.
    run_services: FreshReads<Vec<gcp::run::Service>, gcp::Error>,
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
