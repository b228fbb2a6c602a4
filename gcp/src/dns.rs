//! Cloud DNS v1: managed zones, record sets, atomic changes and the project's quota. Zones and the per-record
//! methods are synchronous; zone patch returns an operation, and a change is `pending` until it is `done`.

mod model;

pub use model::*;

use reqwest::Method;

use crate::api::Api;
use crate::error::Error;
use crate::lro::{self, PollTarget};
use crate::page;
use crate::path::seg;
use crate::transport::{Request, Transport};
use crate::wire::to_json;

const API: Api = Api::Dns;

fn zone_path(project: &str, zone: &str) -> String {
    format!("projects/{}/managedZones/{}", seg(project), seg(zone))
}

fn rrset_path(project: &str, zone: &str, name: &str, kind: &str) -> String {
    format!(
        "{}/rrsets/{}/{}",
        zone_path(project, zone),
        seg(name),
        seg(kind)
    )
}

/// Cloud DNS v1 client.
#[derive(Clone, Debug)]
pub struct Client {
    t: Transport,
}

impl Client {
    pub fn new(t: Transport) -> Self {
        Client { t }
    }

    pub async fn create_managed_zone(
        &self,
        project: &str,
        zone: &ManagedZone,
    ) -> Result<ManagedZone, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("projects/{}/managedZones", seg(project)),
            "managedZones.create",
        )
        .body(to_json(zone)?)
        .resource(zone_path(project, &zone.name));
        self.t.send(req).await
    }

    pub async fn get_managed_zone(&self, project: &str, zone: &str) -> Result<ManagedZone, Error> {
        let req = Request::new(
            API,
            Method::GET,
            zone_path(project, zone),
            "managedZones.get",
        );
        self.t.send(req).await
    }

    /// All zones of the project, or only those for `dns_name` (with its trailing dot).
    pub async fn list_managed_zones(
        &self,
        project: &str,
        dns_name: Option<&str>,
    ) -> Result<Vec<ManagedZone>, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("projects/{}/managedZones", seg(project)),
            "managedZones.list",
        )
        .query_opt("dnsName", dns_name);
        page::collect(&self.t, req, "managedZones").await
    }

    /// Patches a zone (e.g. adds a network to `privateVisibilityConfig`) and waits for the DNS operation.
    pub async fn patch_managed_zone(
        &self,
        project: &str,
        zone: &str,
        patch: &ManagedZone,
    ) -> Result<DnsOperation, Error> {
        let path = zone_path(project, zone);
        let req = Request::new(API, Method::PATCH, path.clone(), "managedZones.patch")
            .body(to_json(patch)?);
        let op: DnsOperation = crate::lro::send(&self.t, req).await?;
        let target = PollTarget {
            api: API,
            path: format!("{path}/operations/{}", seg(&op.id)),
            call: "managedZones.patch",
            resource: path,
            long_poll: None,
        };
        lro::wait(&self.t, op, &target).await
    }

    /// Deletes a zone; a zone with records other than NS/SOA gives [`Error::is_in_use`] (`containerNotEmpty`).
    pub async fn delete_managed_zone(&self, project: &str, zone: &str) -> Result<(), Error> {
        let req = Request::new(
            API,
            Method::DELETE,
            zone_path(project, zone),
            "managedZones.delete",
        );
        // Its discovery entry declares no response (Google answers 204), unlike resourceRecordSets.delete.
        self.t.send_without_response(req).await
    }

    pub async fn create_rrset(
        &self,
        project: &str,
        zone: &str,
        rrset: &ResourceRecordSet,
    ) -> Result<ResourceRecordSet, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("{}/rrsets", zone_path(project, zone)),
            "resourceRecordSets.create",
        )
        .body(to_json(rrset)?)
        .resource(rrset_path(project, zone, &rrset.name, &rrset.kind));
        self.t.send(req).await
    }

    /// Sends `change` (`changes.create`), which Google applies atomically: a deletion that does not match the
    /// record set as it is fails with 412 ([`Error::is_conflict`]), an addition of an existing record set with 409
    /// ([`Error::is_already_exists`]), a missing zone with 404, a change over a limit of the project's quota
    /// with 403 `quotaExceeded`; nothing is applied then.
    ///
    /// The answer is usually `pending`: the change is accepted (later changes are checked against it) but
    /// reads of the record sets, and a zone delete's emptiness check, may not show it until it is `done`. A caller
    /// whose next step depends on the change waits for it ([`Client::wait_change`], or [`Client::apply_change`]).
    pub async fn create_change(
        &self,
        project: &str,
        zone: &str,
        change: &Change,
    ) -> Result<Change, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("{}/changes", zone_path(project, zone)),
            "changes.create",
        )
        .body(to_json(change)?)
        .resource(zone_path(project, zone));
        self.t.send(req).await
    }

    /// Polls an accepted change (`changes.get`) with the transport's poll backoff until it is `done`, bounded by
    /// the transport's deadline and ended by its cancellation.
    pub async fn wait_change(
        &self,
        project: &str,
        zone: &str,
        accepted: Change,
    ) -> Result<Change, Error> {
        let id = accepted.id.clone().unwrap_or_default();
        let target = PollTarget {
            api: API,
            path: format!("{}/changes/{}", zone_path(project, zone), seg(&id)),
            call: "changes.get",
            resource: zone_path(project, zone),
            long_poll: None,
        };
        lro::wait(&self.t, accepted, &target).await
    }

    /// [`Client::create_change`], then [`Client::wait_change`]: the change's effect is visible on return.
    pub async fn apply_change(
        &self,
        project: &str,
        zone: &str,
        change: &Change,
    ) -> Result<Change, Error> {
        let accepted = self.create_change(project, zone, change).await?;
        self.wait_change(project, zone, accepted).await
    }

    /// The project as Cloud DNS sees it (`projects.get`), with its [`Quota`].
    pub async fn get_project(&self, project: &str) -> Result<DnsProject, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("projects/{}", seg(project)),
            "projects.get",
        );
        self.t.send(req).await
    }

    pub async fn get_rrset(
        &self,
        project: &str,
        zone: &str,
        name: &str,
        kind: &str,
    ) -> Result<ResourceRecordSet, Error> {
        let req = Request::new(
            API,
            Method::GET,
            rrset_path(project, zone, name, kind),
            "resourceRecordSets.get",
        );
        self.t.send(req).await
    }

    /// Record sets of a zone, optionally only `name` (and `kind`).
    pub async fn list_rrsets(
        &self,
        project: &str,
        zone: &str,
        name: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<ResourceRecordSet>, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("{}/rrsets", zone_path(project, zone)),
            "resourceRecordSets.list",
        )
        .query_opt("name", name)
        .query_opt("type", kind);
        page::collect(&self.t, req, "rrsets").await
    }

    pub async fn patch_rrset(
        &self,
        project: &str,
        zone: &str,
        name: &str,
        kind: &str,
        rrset: &ResourceRecordSet,
    ) -> Result<ResourceRecordSet, Error> {
        let req = Request::new(
            API,
            Method::PATCH,
            rrset_path(project, zone, name, kind),
            "resourceRecordSets.patch",
        )
        .body(to_json(rrset)?);
        self.t.send(req).await
    }

    pub async fn delete_rrset(
        &self,
        project: &str,
        zone: &str,
        name: &str,
        kind: &str,
    ) -> Result<(), Error> {
        let req = Request::new(
            API,
            Method::DELETE,
            rrset_path(project, zone, name, kind),
            "resourceRecordSets.delete",
        );
        // Returns ResourceRecordSetsDeleteResponse, an empty message that Google sends as `{}` (or 204): an
        // empty 200 is not that answer and fails (see `body::decode_success`).
        self.t.send::<serde_json::Value>(req).await.map(|_| ())
    }
}
