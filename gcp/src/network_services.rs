//! Network Services v1: meshes (read) and HTTPRoutes.

mod model;

pub use model::*;

use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::api::Api;
use crate::error::Error;
use crate::lro::{self, LongRunningOperation};
use crate::page;
use crate::path::seg;
use crate::transport::{Request, Transport};
use crate::wire::to_json;

const API: Api = Api::NetworkServices;

/// `projects/{project}/locations/global`.
pub fn global_parent(project: &str) -> String {
    format!("projects/{}/locations/global", seg(project))
}

/// `projects/{project}/locations/global/meshes/{mesh}`.
pub fn mesh_name(project: &str, mesh: &str) -> String {
    format!("{}/meshes/{}", global_parent(project), seg(mesh))
}

/// `projects/{project}/locations/global/httpRoutes/{route}`.
pub fn http_route_name(project: &str, route: &str) -> String {
    format!("{}/httpRoutes/{}", global_parent(project), seg(route))
}

/// Network Services v1 client. Mutations wait for their operation.
#[derive(Clone, Debug)]
pub struct Client {
    t: Transport,
}

impl Client {
    pub fn new(t: Transport) -> Self {
        Client { t }
    }

    pub async fn get_mesh(&self, name: &str) -> Result<Mesh, Error> {
        self.t
            .send(Request::new(API, Method::GET, name, "meshes.get"))
            .await
    }

    pub async fn list_meshes(&self, parent: &str) -> Result<Vec<Mesh>, Error> {
        let req = Request::new(API, Method::GET, format!("{parent}/meshes"), "meshes.list");
        page::collect(&self.t, req, "meshes").await
    }

    /// `httpRoutes.create` with `httpRouteId`; waits; returns the route as the operation reports it.
    pub async fn create_http_route(
        &self,
        parent: &str,
        route_id: &str,
        route: &HttpRoute,
    ) -> Result<HttpRoute, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("{parent}/httpRoutes"),
            "httpRoutes.create",
        )
        .query("httpRouteId", route_id)
        // Makes a transport retry of this POST a no-op on the server if the first attempt got through.
        .query("requestId", uuid::Uuid::new_v4().to_string())
        .body(to_json(route)?)
        .resource(format!("{parent}/httpRoutes/{}", seg(route_id)));
        self.operation_response(req).await
    }

    pub async fn get_http_route(&self, name: &str) -> Result<HttpRoute, Error> {
        self.t
            .send(Request::new(API, Method::GET, name, "httpRoutes.get"))
            .await
    }

    pub async fn list_http_routes(&self, parent: &str) -> Result<Vec<HttpRoute>, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("{parent}/httpRoutes"),
            "httpRoutes.list",
        )
        .query("pageSize", "500");
        page::collect(&self.t, req, "httpRoutes").await
    }

    /// `httpRoutes.patch`; without `update_mask` every field is overwritten.
    pub async fn patch_http_route(
        &self,
        name: &str,
        route: &HttpRoute,
        update_mask: Option<&str>,
    ) -> Result<HttpRoute, Error> {
        let req = Request::new(API, Method::PATCH, name, "httpRoutes.patch")
            .query_opt("updateMask", update_mask)
            .body(to_json(route)?);
        self.operation_response(req).await
    }

    pub async fn delete_http_route(&self, name: &str) -> Result<(), Error> {
        let req = Request::new(API, Method::DELETE, name, "httpRoutes.delete");
        self.run_operation(req).await.map(|_| ())
    }

    /// Waits for an operation of this API.
    pub async fn wait_operation(
        &self,
        op: LongRunningOperation,
        call: &'static str,
        resource: &str,
    ) -> Result<LongRunningOperation, Error> {
        lro::wait_long_running(&self.t, op, API, call, resource, None).await
    }

    /// Sends `req`, which starts an operation, and waits for it.
    async fn run_operation(&self, req: Request) -> Result<LongRunningOperation, Error> {
        lro::start_long_running(&self.t, req, None).await
    }

    /// [`Client::run_operation`], then the operation's `response` decoded.
    async fn operation_response<T: DeserializeOwned>(&self, req: Request) -> Result<T, Error> {
        lro::start_long_running_for(&self.t, req, None).await
    }
}
