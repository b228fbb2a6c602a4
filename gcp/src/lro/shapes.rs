//! The two operation shapes: `google.longrunning.Operation` and Compute's `Operation`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Operation;
use crate::body::rpc_code;
use crate::error::Error;

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

    /// AIP-151 operations always carry their `name`, finished or not; without it there is nothing to poll.
    fn malformed(&self) -> Option<String> {
        self.name
            .is_empty()
            .then(|| "it has no operation `name`".to_string())
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

    /// Compute operations always carry their `name` and one of three statuses; anything else would be polled
    /// (at a path without a name) until the deadline.
    fn malformed(&self) -> Option<String> {
        if self.name.is_empty() {
            return Some("it has no operation `name`".into());
        }
        if !matches!(self.status.as_str(), "PENDING" | "RUNNING" | "DONE") {
            return Some(format!(
                "status {:?} is not PENDING, RUNNING or DONE",
                self.status
            ));
        }
        None
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
