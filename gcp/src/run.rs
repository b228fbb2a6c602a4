//! Cloud Run Admin API v2: services, revisions, service IAM, operations.

mod model;

pub use model::*;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::Api;
use crate::error::Error;
use crate::iam::Policy;
use crate::lro::{self, LongPoll, LongRunningOperation};
use crate::page;
use crate::path::seg;
use crate::transport::{Request, Transport};
use crate::wire::to_json;

const API: Api = Api::Run;

/// `projects/{project}/locations/{region}`.
pub fn location_name(project: &str, region: &str) -> String {
    format!("projects/{}/locations/{}", seg(project), seg(region))
}

/// `projects/{project}/locations/{region}/services/{service}`.
pub fn service_name(project: &str, region: &str, service: &str) -> String {
    format!(
        "{}/services/{}",
        location_name(project, region),
        seg(service)
    )
}

/// Options of [`Client::patch_service`].
#[derive(Clone, Debug, Default)]
pub struct PatchOptions {
    /// Create the service if it does not exist (an idempotent upsert).
    pub allow_missing: bool,
    /// Comma-separated field paths; `None` replaces the whole service.
    pub update_mask: Option<String>,
    /// Make a new revision even if nothing in the template changed (a redeploy).
    pub force_new_revision: bool,
}

/// Cloud Run v2 client. Methods that start an operation wait for it and return its result.
#[derive(Clone, Debug)]
pub struct Client {
    t: Transport,
}

impl Client {
    pub fn new(t: Transport) -> Self {
        Client { t }
    }

    /// `services.create` with `serviceId`; waits for the operation; returns the service as the operation reports
    /// it (re-read it for readiness).
    pub async fn create_service(
        &self,
        parent: &str,
        service_id: &str,
        service: &Service,
    ) -> Result<Service, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("{parent}/services"),
            "services.create",
        )
        .query("serviceId", service_id)
        .body(to_json(service)?)
        .resource(format!("{parent}/services/{}", seg(service_id)));
        self.operation_response(req).await
    }

    /// `services.get`.
    pub async fn get_service(&self, name: &str) -> Result<Service, Error> {
        self.t
            .send(Request::new(API, Method::GET, name, "services.get"))
            .await
    }

    /// `services.list` of one region, all pages (Cloud Run v2 refuses location `-`).
    pub async fn list_services(&self, parent: &str) -> Result<Vec<Service>, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("{parent}/services"),
            "services.list",
        )
        .query("pageSize", "500");
        page::collect(&self.t, req, "services").await
    }

    /// `services.patch`; waits for the operation.
    pub async fn patch_service(
        &self,
        name: &str,
        service: &Service,
        options: &PatchOptions,
    ) -> Result<Service, Error> {
        let mut req =
            Request::new(API, Method::PATCH, name, "services.patch").body(to_json(service)?);
        if options.allow_missing {
            req = req.query("allowMissing", "true");
        }
        if options.force_new_revision {
            req = req.query("forceNewRevision", "true");
        }
        req = req.query_opt("updateMask", options.update_mask.clone());
        self.operation_response(req).await
    }

    /// `services.delete`; waits for the operation.
    pub async fn delete_service(&self, name: &str) -> Result<(), Error> {
        let req = Request::new(API, Method::DELETE, name, "services.delete");
        self.run_operation(req).await.map(|_| ())
    }

    /// `revisions.get` (`name` as in `Service::latest_created_revision`, or a full revision name).
    pub async fn get_revision(&self, name: &str) -> Result<Revision, Error> {
        self.t
            .send(Request::new(API, Method::GET, name, "revisions.get"))
            .await
    }

    /// `services.getIamPolicy` (GET, `options.requestedPolicyVersion=3`).
    pub async fn get_iam_policy(&self, resource: &str) -> Result<Policy, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("{resource}:getIamPolicy"),
            "services.getIamPolicy",
        )
        .query("options.requestedPolicyVersion", "3")
        .resource(resource);
        self.t.send(req).await
    }

    /// `services.setIamPolicy` with the policy's etag (stale → [`Error::is_conflict`]).
    pub async fn set_iam_policy(&self, resource: &str, policy: &Policy) -> Result<Policy, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("{resource}:setIamPolicy"),
            "services.setIamPolicy",
        )
        .body(json!({ "policy": to_json(&policy.for_write())? }))
        .resource(resource);
        self.t.send(req).await
    }

    /// `operations.get`.
    pub async fn get_operation(&self, name: &str) -> Result<LongRunningOperation, Error> {
        crate::lro::send(
            &self.t,
            Request::new(API, Method::GET, name, "operations.get"),
        )
        .await
    }

    /// Waits for an operation (e.g. one found by [`Client::get_operation`] after a restart).
    pub async fn wait_operation(
        &self,
        op: LongRunningOperation,
        call: &'static str,
        resource: &str,
    ) -> Result<LongRunningOperation, Error> {
        lro::wait_long_running(&self.t, op, API, call, resource, Some(LongPoll::AipWait)).await
    }

    /// Sends `req`, which starts an operation, and waits for it.
    async fn run_operation(&self, req: Request) -> Result<LongRunningOperation, Error> {
        lro::start_long_running(&self.t, req, Some(LongPoll::AipWait)).await
    }

    /// [`Client::run_operation`], then the operation's `response` decoded.
    async fn operation_response<T: DeserializeOwned>(&self, req: Request) -> Result<T, Error> {
        lro::start_long_running_for(&self.t, req, Some(LongPoll::AipWait)).await
    }
}
