//! Compute Engine v1: regional serverless NEGs (and their project-wide aggregated list), global backend services, subnetworks, networks, operations.

mod model;

pub use model::*;

use reqwest::Method;
use url::Url;

use crate::api::Api;
use crate::error::Error;
use crate::lro::{self, ComputeOperation, LongPoll, PollTarget};
use crate::page;
use crate::path::seg;
use crate::transport::{Request, Transport};
use crate::wire::to_json;

const API: Api = Api::Compute;
const VERSION_ROOT: &str = "compute/v1/";

/// The path of a Compute link below the version root: `https://www.googleapis.com/compute/v1/projects/p/...`
/// → `projects/p/...`. Links name Google's public host even when we talk to another endpoint, so the host is
/// never used; a link that is already a relative path is returned as is.
pub fn link_path(link: &str) -> Option<&str> {
    if let Some(i) = link.find(VERSION_ROOT) {
        return Some(&link[i + VERSION_ROOT.len()..]);
    }
    let rel = link.trim_start_matches('/');
    rel.starts_with("projects/").then_some(rel)
}

/// The last path segment of a link or name (`.../regions/us-central1` → `us-central1`).
pub fn link_name(link: &str) -> &str {
    link.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(link)
}

/// `https://www.googleapis.com/compute/v1/<path>`: the canonical link form other resources store
/// (e.g. `Backend::group`).
pub fn canonical_link(path: &str) -> String {
    format!(
        "https://www.googleapis.com/compute/v1/{}",
        path.trim_start_matches('/')
    )
}

/// `projects/{p}/regions/{r}`.
fn region_path(project: &str, region: &str) -> String {
    format!("projects/{}/regions/{}", seg(project), seg(region))
}

/// `projects/{p}/global`.
fn global_path(project: &str) -> String {
    format!("projects/{}/global", seg(project))
}

/// `projects/{p}/regions/{r}/networkEndpointGroups/{neg}`.
pub fn neg_path(project: &str, region: &str, name: &str) -> String {
    format!(
        "{}/networkEndpointGroups/{}",
        region_path(project, region),
        seg(name)
    )
}

/// `projects/{p}/global/backendServices/{bs}`.
pub fn backend_service_path(project: &str, name: &str) -> String {
    format!("{}/backendServices/{}", global_path(project), seg(name))
}

/// Compute v1 client. Mutations send a fresh `requestId` (so transport retries are idempotent), wait for the
/// operation and return it finished.
#[derive(Clone, Debug)]
pub struct Client {
    t: Transport,
}

impl Client {
    pub fn new(t: Transport) -> Self {
        Client { t }
    }

    /// The URL on the configured endpoint for a Compute link (never the link's own host).
    pub fn link_url(&self, link: &str) -> Result<Url, Error> {
        let path = link_path(link)
            .ok_or_else(|| Error::config(format!("not a Compute v1 link: {link}")))?;
        self.t.endpoints().url(API, path)
    }

    pub async fn insert_network_endpoint_group(
        &self,
        project: &str,
        region: &str,
        neg: &NetworkEndpointGroup,
    ) -> Result<ComputeOperation, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("{}/networkEndpointGroups", region_path(project, region)),
            "regionNetworkEndpointGroups.insert",
        )
        .body(to_json(neg)?)
        .resource(neg_path(project, region, &neg.name));
        self.mutate(project, req).await
    }

    pub async fn get_network_endpoint_group(
        &self,
        project: &str,
        region: &str,
        name: &str,
    ) -> Result<NetworkEndpointGroup, Error> {
        let req = Request::new(
            API,
            Method::GET,
            neg_path(project, region, name),
            "regionNetworkEndpointGroups.get",
        );
        self.t.send(req).await
    }

    pub async fn list_network_endpoint_groups(
        &self,
        project: &str,
        region: &str,
    ) -> Result<Vec<NetworkEndpointGroup>, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("{}/networkEndpointGroups", region_path(project, region)),
            "regionNetworkEndpointGroups.list",
        );
        page::collect(&self.t, req, "items").await
    }

    /// Every NEG of the project with its scope (`regions/us-central1`, `zones/...`, `global`), from
    /// `networkEndpointGroups.aggregatedList` (one call per 500 NEGs). Scopes without NEGs answer a warning in
    /// place of the list and add nothing. A page naming `unreachables` is an error: the answer would be partial.
    pub async fn aggregated_list_network_endpoint_groups(
        &self,
        project: &str,
    ) -> Result<Vec<(String, NetworkEndpointGroup)>, Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Scoped {
            #[serde(default)]
            network_endpoint_groups: Vec<NetworkEndpointGroup>,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            items: std::collections::BTreeMap<String, Scoped>,
            #[serde(default)]
            next_page_token: Option<String>,
            #[serde(default)]
            unreachables: Vec<String>,
        }
        let req = Request::new(
            API,
            Method::GET,
            format!("projects/{project}/aggregated/networkEndpointGroups"),
            "networkEndpointGroups.aggregatedList",
        );
        let fail = |why: String| Error::body(why).with_context(req.api, req.call, &req.resource);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..page::MAX_PAGES {
            let mut r = req.clone();
            if let Some(tok) = &token {
                r = r.query("pageToken", tok.clone());
            }
            let v: serde_json::Value = self.t.send(r).await?;
            let page: Page = serde_json::from_value(v)
                .map_err(|e| fail(format!("could not decode a page of NEGs: {e}")))?;
            if !page.unreachables.is_empty() {
                return Err(fail(format!(
                    "the NEG list could not reach {}",
                    page.unreachables.join(", ")
                )));
            }
            for (scope, scoped) in page.items {
                out.extend(
                    scoped
                        .network_endpoint_groups
                        .into_iter()
                        .map(|n| (scope.clone(), n)),
                );
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(out),
            }
        }
        Err(fail(format!("more than {} pages of NEGs", page::MAX_PAGES)))
    }

    pub async fn delete_network_endpoint_group(
        &self,
        project: &str,
        region: &str,
        name: &str,
    ) -> Result<ComputeOperation, Error> {
        let req = Request::new(
            API,
            Method::DELETE,
            neg_path(project, region, name),
            "regionNetworkEndpointGroups.delete",
        );
        self.mutate(project, req).await
    }

    pub async fn insert_backend_service(
        &self,
        project: &str,
        bs: &BackendService,
    ) -> Result<ComputeOperation, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("{}/backendServices", global_path(project)),
            "backendServices.insert",
        )
        .body(to_json(bs)?)
        .resource(backend_service_path(project, &bs.name));
        self.mutate(project, req).await
    }

    pub async fn get_backend_service(
        &self,
        project: &str,
        name: &str,
    ) -> Result<BackendService, Error> {
        let req = Request::new(
            API,
            Method::GET,
            backend_service_path(project, name),
            "backendServices.get",
        );
        self.t.send(req).await
    }

    pub async fn list_backend_services(&self, project: &str) -> Result<Vec<BackendService>, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("{}/backendServices", global_path(project)),
            "backendServices.list",
        );
        page::collect(&self.t, req, "items").await
    }

    /// JSON merge patch; `bs.fingerprint` must be current ([`Error::is_conflict`] otherwise).
    pub async fn patch_backend_service(
        &self,
        project: &str,
        name: &str,
        bs: &BackendService,
    ) -> Result<ComputeOperation, Error> {
        self.write_backend_service(Method::PATCH, "backendServices.patch", project, name, bs)
            .await
    }

    /// Full replace (PUT); send the object as read (unknown fields kept) with its current fingerprint.
    pub async fn update_backend_service(
        &self,
        project: &str,
        name: &str,
        bs: &BackendService,
    ) -> Result<ComputeOperation, Error> {
        self.write_backend_service(Method::PUT, "backendServices.update", project, name, bs)
            .await
    }

    pub async fn delete_backend_service(
        &self,
        project: &str,
        name: &str,
    ) -> Result<ComputeOperation, Error> {
        let req = Request::new(
            API,
            Method::DELETE,
            backend_service_path(project, name),
            "backendServices.delete",
        );
        self.mutate(project, req).await
    }

    pub async fn get_subnetwork(
        &self,
        project: &str,
        region: &str,
        name: &str,
    ) -> Result<Subnetwork, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("{}/subnetworks/{}", region_path(project, region), seg(name)),
            "subnetworks.get",
        );
        self.t.send(req).await
    }

    pub async fn get_network(&self, project: &str, name: &str) -> Result<Network, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("{}/networks/{}", global_path(project), seg(name)),
            "networks.get",
        );
        self.t.send(req).await
    }

    /// Waits for a Compute operation of `project`; regional or global by its `region` field.
    pub async fn wait_operation(
        &self,
        project: &str,
        op: ComputeOperation,
        call: &'static str,
        resource: &str,
    ) -> Result<ComputeOperation, Error> {
        let target = PollTarget {
            api: API,
            path: operation_path(project, &op),
            call,
            resource: resource.to_string(),
            long_poll: Some(LongPoll::ComputeWait),
        };
        lro::wait(&self.t, op, &target).await
    }

    /// Sends `bs` as the body of a patch or update of backend service `name`.
    async fn write_backend_service(
        &self,
        method: Method,
        call: &'static str,
        project: &str,
        name: &str,
        bs: &BackendService,
    ) -> Result<ComputeOperation, Error> {
        let req =
            Request::new(API, method, backend_service_path(project, name), call).body(to_json(bs)?);
        self.mutate(project, req).await
    }

    async fn mutate(&self, project: &str, req: Request) -> Result<ComputeOperation, Error> {
        let req = req.query("requestId", uuid::Uuid::new_v4().to_string());
        let (call, resource) = (req.call, req.resource.clone());
        let op: ComputeOperation = crate::lro::send(&self.t, req).await?;
        self.wait_operation(project, op, call, &resource).await
    }
}

/// Where to poll `op`: `regions/{r}/operations` when it has a region, else `global/operations`.
pub fn operation_path(project: &str, op: &ComputeOperation) -> String {
    match op.region.as_deref().filter(|r| !r.is_empty()) {
        Some(region) => format!(
            "{}/operations/{}",
            region_path(project, link_name(region)),
            seg(&op.name)
        ),
        None => format!("{}/operations/{}", global_path(project), seg(&op.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_paths_ignore_the_host() {
        assert_eq!(
            link_path("https://www.googleapis.com/compute/v1/projects/p/global/backendServices/b"),
            Some("projects/p/global/backendServices/b")
        );
        assert_eq!(
            link_path("http://127.0.0.1:9/compute/v1/projects/p/regions/r/networkEndpointGroups/n"),
            Some("projects/p/regions/r/networkEndpointGroups/n")
        );
        assert_eq!(
            link_path("projects/p/global/networks/v"),
            Some("projects/p/global/networks/v")
        );
        assert_eq!(link_path("https://example.com/x"), None);
        assert_eq!(
            link_name("https://www.googleapis.com/compute/v1/projects/p/regions/us-east1"),
            "us-east1"
        );
    }

    #[test]
    fn operation_scope_follows_the_region_field() {
        let mut op = ComputeOperation {
            name: "op".into(),
            region: Some(
                "https://www.googleapis.com/compute/v1/projects/p/regions/eu-west1".into(),
            ),
            ..Default::default()
        };
        assert_eq!(
            operation_path("p", &op),
            "projects/p/regions/eu-west1/operations/op"
        );
        op.region = None;
        assert_eq!(operation_path("p", &op), "projects/p/global/operations/op");
    }
}
