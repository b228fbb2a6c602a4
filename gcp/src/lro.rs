//! One poller over the operation shapes: `google.longrunning.Operation` (Cloud Run, Network Services) and
//! Compute's `Operation` (and Cloud DNS's, which has the same status idea).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::api::Api;
use crate::body::rpc_code;
use crate::error::Error;
use crate::transport::{Request, Transport};

/// What the poller needs to know about an operation.
pub trait Operation: DeserializeOwned + Send {
    /// Finished, successfully or not.
    fn is_done(&self) -> bool;
    /// The error of a finished operation, if it failed.
    fn failure(&self) -> Option<Error>;
}

/// Where to poll an operation and what to call it in errors.
#[derive(Clone, Debug)]
pub struct PollTarget {
    pub api: Api,
    /// Path of the operation below the API's base URL.
    pub path: String,
    /// The call that started the operation (`services.create`), for errors.
    pub call: &'static str,
    /// The resource the operation works on, for errors.
    pub resource: String,
}

/// Polls `op` (the first answer) at `target` with the transport's poll backoff until it is done, the transport's
/// deadline (or the default wait) passes, or the transport is cancelled. A failed operation becomes an
/// [`Error`] with [`Error::is_operation_failure`] carrying its code and message.
pub async fn wait<O: Operation>(t: &Transport, mut op: O, target: &PollTarget) -> Result<O, Error> {
    let ctx = |e: Error| e.with_context(target.api, target.call, &target.resource);
    let deadline = t
        .deadline()
        .unwrap_or_else(|| Instant::now() + t.options().default_wait);
    let backoff = t.options().poll.clone();
    let mut polls: u32 = 0;
    while !op.is_done() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ctx(Error::deadline(format!(
                "operation {} still running at the deadline",
                target.path
            ))));
        }
        // The last wait is shortened so one final poll happens right at the deadline.
        t.pause(backoff.delay(polls).min(left)).await.map_err(ctx)?;
        polls = polls.saturating_add(1);
        let req = Request::new(
            target.api,
            reqwest::Method::GET,
            target.path.clone(),
            target.call,
        )
        .resource(target.resource.clone())
        .poll();
        op = t.send(req).await.map_err(ctx)?;
    }
    match op.failure() {
        Some(e) => Err(ctx(e)),
        None => Ok(op),
    }
}

/// `google.longrunning.Operation`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LongRunningOperation {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

/// `google.rpc.Status` as carried in an operation.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RpcStatus {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
}

impl Operation for LongRunningOperation {
    fn is_done(&self) -> bool {
        self.done
    }

    fn failure(&self) -> Option<Error> {
        let err = self.error.as_ref()?;
        if err.code == 0 && err.message.is_empty() {
            return None;
        }
        let (name, http) = rpc_code(err.code);
        let reasons = err
            .details
            .iter()
            .filter_map(|d| d.get("reason")?.as_str().map(str::to_string))
            .collect();
        let message = if err.message.is_empty() {
            format!("operation failed with code {}", err.code)
        } else {
            err.message.clone()
        };
        Some(
            Error::operation(http, name.map(str::to_string), reasons, message)
                .with_operation_code(err.code),
        )
    }
}

impl LongRunningOperation {
    /// The typed `response` of a finished operation (`{}` when it carries none, e.g. a delete returning Empty).
    pub fn response<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let mut v = self
            .response
            .clone()
            .unwrap_or(Value::Object(Default::default()));
        if let Value::Object(m) = &mut v {
            m.remove("@type");
        }
        serde_json::from_value(v).map_err(|e| {
            Error::body(format!(
                "could not decode the response of operation {}: {e}",
                self.name
            ))
        })
    }
}

/// Compute's `Operation` (regional or global).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComputeOperation {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// `PENDING`, `RUNNING` or `DONE`.
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Link of the region for regional operations; absent for global ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ComputeOperationErrors>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_error_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComputeOperationErrors {
    #[serde(default)]
    pub errors: Vec<ComputeOperationError>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComputeOperationError {
    /// e.g. `RESOURCE_IN_USE_BY_ANOTHER_RESOURCE`.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Operation for ComputeOperation {
    fn is_done(&self) -> bool {
        self.status == "DONE"
    }

    fn failure(&self) -> Option<Error> {
        let errors = &self.error.as_ref()?.errors;
        if errors.is_empty() {
            return None;
        }
        let reasons = errors
            .iter()
            .map(|e| e.code.clone())
            .filter(|c| !c.is_empty())
            .collect();
        let message = errors
            .iter()
            .map(|e| e.message.as_str())
            .filter(|m| !m.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        let message = if message.is_empty() {
            self.http_error_message
                .clone()
                .unwrap_or_else(|| "operation failed".into())
        } else {
            message
        };
        Some(Error::operation(
            self.http_error_status_code,
            None,
            reasons,
            message,
        ))
    }
}
