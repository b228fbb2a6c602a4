//! Google's error envelopes, rendered once per API format.

use crate::api::Api;
use serde_json::{json, Value};

/// An API error as Google reports it; `render` gives the body in the answering API's format.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// google.rpc.Code name, e.g. `NOT_FOUND`.
    pub status: &'static str,
    pub message: String,
    /// Legacy `errors[].reason` (Compute, DNS), e.g. `notFound`.
    pub reason: &'static str,
    /// Legacy `errors[].domain`.
    pub domain: &'static str,
    /// `details[]` of the modern envelope.
    pub details: Vec<Value>,
    /// Errors produced by Google's front end (auth, JSON parsing) carry `status` even for Compute and DNS.
    pub front_end: bool,
}

impl ApiError {
    pub fn new(
        code: u16,
        status: &'static str,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            code,
            status,
            message: message.into(),
            reason,
            domain: "global",
            details: Vec::new(),
            front_end: false,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "NOT_FOUND", "notFound", message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(409, "ALREADY_EXISTS", "alreadyExists", message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_ARGUMENT", "invalid", message)
    }

    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::new(400, "FAILED_PRECONDITION", "failedPrecondition", message)
    }

    /// AIP-154: a stale etag is ABORTED (409).
    pub fn aborted(message: impl Into<String>) -> Self {
        Self::new(409, "ABORTED", "aborted", message)
    }

    /// Compute's stale fingerprint answer.
    pub fn condition_not_met(message: impl Into<String>) -> Self {
        Self::new(412, "FAILED_PRECONDITION", "conditionNotMet", message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(403, "PERMISSION_DENIED", "forbidden", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "INTERNAL", "backendError", message)
    }

    pub fn unimplemented(message: impl Into<String>) -> Self {
        Self::new(501, "UNIMPLEMENTED", "notImplemented", message)
    }

    /// What Google's front end answers when no credential is sent.
    pub fn unauthenticated(api: Api) -> Self {
        let mut e = Self::new(
            401,
            "UNAUTHENTICATED",
            "required",
            "Request is missing required authentication credential. Expected OAuth 2 access token, \
             login cookie or other valid authentication credential. \
             See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        );
        e.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "CREDENTIALS_MISSING",
            "domain": "googleapis.com",
            "metadata": {"service": api.host()}
        }));
        e.front_end = true;
        e
    }

    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }

    pub fn with_domain(mut self, domain: &'static str) -> Self {
        self.domain = domain;
        self
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.details.push(detail);
        self
    }

    pub fn from_front_end(mut self) -> Self {
        self.front_end = true;
        self
    }

    /// The JSON body in `api`'s format: `{"error":{code,message,status,details}}` for AIP APIs,
    /// `{"error":{code,message,errors:[{message,domain,reason}]}}` for Compute and DNS.
    pub fn render(&self, api: Api) -> Value {
        let mut error = serde_json::Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if api.legacy_errors() {
            error.insert(
                "errors".into(),
                json!([{"message": self.message, "domain": self.domain, "reason": self.reason}]),
            );
            if self.front_end {
                error.insert("status".into(), json!(self.status));
            }
        } else {
            error.insert("status".into(), json!(self.status));
        }
        if !self.details.is_empty() {
            error.insert("details".into(), Value::Array(self.details.clone()));
        }
        json!({ "error": error })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// google.rpc.Code number for a status name (used in LRO `error.code`).
pub fn rpc_code(status: &str) -> i64 {
    match status {
        "CANCELLED" => 1,
        "UNKNOWN" => 2,
        "INVALID_ARGUMENT" => 3,
        "DEADLINE_EXCEEDED" => 4,
        "NOT_FOUND" => 5,
        "ALREADY_EXISTS" => 6,
        "PERMISSION_DENIED" => 7,
        "RESOURCE_EXHAUSTED" => 8,
        "FAILED_PRECONDITION" => 9,
        "ABORTED" => 10,
        "OUT_OF_RANGE" => 11,
        "UNIMPLEMENTED" => 12,
        "INTERNAL" => 13,
        "UNAVAILABLE" => 14,
        "DATA_LOSS" => 15,
        "UNAUTHENTICATED" => 16,
        _ => 2,
    }
}

/// The google.rpc.Code name and usual HTTP status for an rpc code number.
pub fn rpc_status(code: i64) -> (&'static str, u16) {
    match code {
        0 => ("OK", 200),
        1 => ("CANCELLED", 499),
        3 => ("INVALID_ARGUMENT", 400),
        4 => ("DEADLINE_EXCEEDED", 504),
        5 => ("NOT_FOUND", 404),
        6 => ("ALREADY_EXISTS", 409),
        7 => ("PERMISSION_DENIED", 403),
        8 => ("RESOURCE_EXHAUSTED", 429),
        9 => ("FAILED_PRECONDITION", 400),
        10 => ("ABORTED", 409),
        11 => ("OUT_OF_RANGE", 400),
        12 => ("UNIMPLEMENTED", 501),
        13 => ("INTERNAL", 500),
        14 => ("UNAVAILABLE", 503),
        15 => ("DATA_LOSS", 500),
        16 => ("UNAUTHENTICATED", 401),
        _ => ("UNKNOWN", 500),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_errors_carry_reason_and_no_status() {
        let body = ApiError::not_found("gone").render(Api::Compute);
        assert_eq!(body["error"]["errors"][0]["reason"], "notFound");
        assert!(body["error"].get("status").is_none());
    }

    #[test]
    fn run_errors_carry_status_and_no_errors_array() {
        let body = ApiError::aborted("stale").render(Api::Run);
        assert_eq!(body["error"]["status"], "ABORTED");
        assert!(body["error"].get("errors").is_none());
    }
}
