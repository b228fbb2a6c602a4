//! API handlers, one module per Google API, registered by discovery method id.
//!
//! # How a service module plugs in
//!
//! Every request under a base URL is first matched by the core (`router`) to a discovery method of the API's
//! document in `emulator/discovery/`, its query and JSON body are checked against the method's schema
//! (`validate`), the bearer token and fault rules are applied, the world is `tick`ed (due operations complete),
//! and only then is the handler registered for that method id called, under the world lock:
//!
//! ```text
//! // emulator/src/services/compute/mod.rs
//! use crate::services::{Call, Registry, Reply};
//! use crate::{error::ApiError, world::World};
//!
//! pub fn register(r: &mut Registry) {
//!     r.add("compute.backendServices.get", get_backend_service);
//! }
//!
//! fn get_backend_service(world: &mut World, call: &Call) -> Result<Reply, ApiError> {
//!     let project = call.param("project")?;           // path parameter by discovery name
//!     let name = call.param("backendService")?;
//!     // ... read world.get(collection, full_name), or Err(ApiError::not_found(..)) ...
//!     Ok(Reply::json(serde_json::json!({})))
//! }
//! ```
//!
//! - `Call::param` gives path parameters under both the `path` template names (`name`, `parent`, `project`,
//!   `backendService`, ...) and the `flatPath` names (`projectsId`, `locationsId`, ...), percent-decoded.
//!   `Call::query` holds query parameters (already checked against the method), `Call::body` the JSON body
//!   (already checked against the request schema; `Value::Null` when there is none).
//! - Errors: return `ApiError` (see `error.rs`); the core renders it in the API's format (Compute/DNS
//!   `errors[]` + reason, others `status` + `details`). Pick the legacy reason with `with_reason`.
//! - State: `World` (see `world.rs`) stores resources as JSON documents by collection and full name
//!   (`world::collections`); names always use the project id — normalise with `World::project` /
//!   `World::normalise_name` because callers may use the number. Each module owns its own wire structs.
//! - Long-running work: `World::start_operation(NewOperation, completion)` where the completion is applied when
//!   the clock passes `due` (use `world.settings.scaled(nominal)` for durations) and receives any injected
//!   operation failure (`call.injected_operation_error`); it returns the operation rendered. For a `wait`
//!   method return `Reply::Wait { operation, timeout }` and the core blocks until done or timeout.
//! - Register the module's `register` in `registry()` below (done for every module already).
//! - References across APIs (an HTTPRoute naming a backend service) are answered through [`referrers`]: the
//!   module whose resources hold a reference contributes a lookup to [`REFERENCES`], and the module whose
//!   delete must refuse a resource in use asks [`referrers`], so neither imports the other.
pub mod compute;
pub mod dns;
pub mod network_services;
pub mod pages;
pub mod resource_manager;
pub mod run;

use crate::api::Api;
use crate::error::ApiError;
use crate::operations::OpError;
use crate::world::World;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// One API call as a handler sees it.
#[derive(Debug)]
pub struct Call {
    pub api: Api,
    pub method_id: String,
    pub http_method: String,
    /// The request path as received, e.g. `/run/v2/projects/p/locations/r/services`.
    pub path: String,
    pub params: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub body: Value,
    /// An operation failure injected by a fault rule for the operation this call starts, if any.
    pub injected_operation_error: Option<OpError>,
}

impl Call {
    /// A path parameter; a missing one is a routing bug, reported as 400.
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::invalid_argument(format!("missing path parameter '{name}'")))
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// A boolean query parameter (`true`/`false`); absent = false.
    pub fn query_flag(&self, name: &str) -> bool {
        self.query(name).is_some_and(|v| v == "true" || v == "1")
    }
}

/// A handler's answer.
#[derive(Debug)]
pub enum Reply {
    /// 200 with this JSON body.
    Json(Value),
    /// Another status with a JSON body.
    Status(u16, Value),
    /// Block until the operation is done or `timeout` passes, then answer with the operation.
    Wait {
        operation: String,
        timeout: std::time::Duration,
    },
}

impl Reply {
    pub fn json(body: Value) -> Reply {
        Reply::Json(body)
    }
}

/// A handler for one discovery method; runs under the world lock after validation and faults.
pub type Handler = fn(&mut World, &Call) -> Result<Reply, ApiError>;

/// Handlers by discovery method id.
#[derive(Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
}

impl Registry {
    pub fn add(&mut self, method_id: &'static str, handler: Handler) {
        self.handlers.insert(method_id, handler);
    }

    pub fn get(&self, method_id: &str) -> Option<Handler> {
        self.handlers.get(method_id).copied()
    }

    pub fn method_ids(&self) -> impl Iterator<Item = &&'static str> {
        self.handlers.keys()
    }
}

/// A lookup of the resources (full names) whose documents refer to the document of `key` in one collection.
pub type Referrers = fn(&World, &str) -> Vec<String>;

/// The reference index: for a collection, each lookup of who refers to one of its documents.
const REFERENCES: &[(&str, Referrers)] = &[(
    compute::BACKEND_SERVICES,
    network_services::routes_using_backend_service,
)];

/// Every resource (full name) that refers to the document `key` of `collection`, in any API.
pub fn referrers(world: &World, collection: &str, key: &str) -> Vec<String> {
    REFERENCES
        .iter()
        .filter(|(c, _)| *c == collection)
        .flat_map(|(_, lookup)| lookup(world, key))
        .collect()
}

/// Every module's handlers.
pub fn registry() -> Registry {
    let mut r = Registry::default();
    run::register(&mut r);
    compute::register(&mut r);
    network_services::register(&mut r);
    dns::register(&mut r);
    resource_manager::register(&mut r);
    r
}
