//! The crate's one error type: opaque, asked questions instead of matched on.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::api::Api;
use crate::body::ServiceError;

/// An error from a Google Cloud call: an HTTP error answer, a failed long-running operation, a network failure,
/// a deadline, a cancellation, an authentication failure, or a response that could not be understood.
///
/// Cheap to clone (one failure can be reported to every waiter of a coalesced call). Display reads like
/// `Compute: backendServices.insert projects/p/global/backendServices/x: 409 alreadyExists: The resource ... already exists`.
#[derive(Clone)]
pub struct Error(Box<Inner>);

#[derive(Clone)]
struct Inner {
    kind: Kind,
    api: Option<Api>,
    call: Option<String>,
    resource: Option<String>,
    http_status: Option<u16>,
    /// google.rpc status name (`ALREADY_EXISTS`), from `error.status` or an operation's numeric code.
    status: Option<String>,
    /// Reasons from `error.errors[].reason`, `ErrorInfo.reason` or Compute operation error codes.
    reasons: Vec<String>,
    message: String,
    /// The numeric google.rpc code of a failed google.longrunning operation.
    operation_code: Option<i64>,
    /// The HTTP error came with Google's JSON envelope (not an HTML page from a proxy or an unknown URL).
    google_body: bool,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Google answered with an HTTP error.
    Service,
    /// A long-running operation finished with an error.
    Operation,
    /// The request never got an HTTP answer (connect, reset, per-request timeout).
    Network {
        timeout: bool,
    },
    /// The overall deadline passed while waiting or retrying.
    Deadline,
    Cancelled,
    Auth,
    /// A 2xx answer whose body could not be read or decoded.
    Body,
    Config,
}

impl Error {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            api: None,
            call: None,
            resource: None,
            http_status: None,
            status: None,
            reasons: Vec::new(),
            message: message.into(),
            operation_code: None,
            google_body: false,
            source: None,
        }))
    }

    /// Builds the error Google's answer `body` with HTTP `status` means; the body may be anything (JSON error
    /// envelope in either style, an HTML page, truncated text). Public so callers can build realistic errors in tests.
    pub fn from_http(api: Api, status: u16, body: &[u8]) -> Self {
        let parsed = ServiceError::parse(status, body);
        let mut e = Error::new(Kind::Service, parsed.message);
        e.0.api = Some(api);
        e.0.http_status = Some(status);
        e.0.status = parsed.status;
        e.0.reasons = parsed.reasons;
        e.0.google_body = parsed.is_google;
        e
    }

    /// A failed long-running operation: `code` is the HTTP status class, `status` the rpc name if known,
    /// `reasons` e.g. Compute's `RESOURCE_IN_USE_BY_ANOTHER_RESOURCE`.
    pub(crate) fn operation(
        http_status: Option<u16>,
        status: Option<String>,
        reasons: Vec<String>,
        message: String,
    ) -> Self {
        let mut e = Error::new(Kind::Operation, message);
        e.0.http_status = http_status;
        e.0.status = status;
        e.0.reasons = reasons;
        e
    }

    pub(crate) fn network(err: reqwest::Error) -> Self {
        let timeout = err.is_timeout();
        let what = if timeout {
            "request timed out"
        } else if err.is_connect() {
            "could not connect"
        } else {
            "network error"
        };
        let mut e = Error::new(
            Kind::Network { timeout },
            format!("{what}: {}", chain(&err)),
        );
        e.0.source = Some(Arc::new(err));
        e
    }

    pub(crate) fn deadline(what: impl Into<String>) -> Self {
        Error::new(Kind::Deadline, what)
    }

    pub(crate) fn cancelled() -> Self {
        Error::new(Kind::Cancelled, "cancelled")
    }

    pub(crate) fn auth(message: impl Into<String>) -> Self {
        Error::new(Kind::Auth, message)
    }

    pub(crate) fn body(message: impl Into<String>) -> Self {
        Error::new(Kind::Body, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(Kind::Config, message)
    }

    /// Fills in which API, call and resource this was about, keeping what is already set.
    pub(crate) fn with_context(mut self, api: Api, call: &str, resource: &str) -> Self {
        self.0.api.get_or_insert(api);
        if self.0.call.is_none() && !call.is_empty() {
            self.0.call = Some(call.to_string());
        }
        if self.0.resource.is_none() && !resource.is_empty() {
            self.0.resource = Some(resource.to_string());
        }
        self
    }

    /// The resource does not exist (404, `notFound`, `NOT_FOUND`). A 404 HTML page (wrong endpoint, proxy) is
    /// not an answer about the resource, so it does not count: treating it as "gone" would drop real resources.
    pub fn is_not_found(&self) -> bool {
        (self.0.http_status == Some(404) && (self.0.google_body || self.0.kind != Kind::Service))
            || self.status_is("NOT_FOUND")
            || self.has_reason(&["notFound", "RESOURCE_NOT_FOUND"])
    }

    /// A create found the name taken (409 `alreadyExists` / `ALREADY_EXISTS`).
    pub fn is_already_exists(&self) -> bool {
        self.status_is("ALREADY_EXISTS")
            || self.has_reason(&["alreadyExists", "RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"])
    }

    /// A concurrent writer won: stale etag (409 `ABORTED`, or 400 `FAILED_PRECONDITION` about the etag) or stale
    /// fingerprint (412 `conditionNotMet`). The fix is to re-read and retry the whole read-modify-write.
    pub fn is_conflict(&self) -> bool {
        if self.0.http_status == Some(412) || self.has_reason(&["conditionNotMet"]) {
            return true;
        }
        if self.status_is("ABORTED") {
            return true;
        }
        self.status_is("FAILED_PRECONDITION")
            && self.0.kind == Kind::Service
            && self.0.message.to_ascii_lowercase().contains("etag")
    }

    /// The resource is used by another one (400 `resourceInUseByAnotherResource`) or is not empty
    /// (400 `containerNotEmpty`).
    pub fn is_in_use(&self) -> bool {
        self.has_reason(&[
            "resourceInUseByAnotherResource",
            "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
            "containerNotEmpty",
        ])
    }

    /// Sending the same request again may succeed: exactly the classes Google's own clients retry, listed with
    /// their sources in [`crate::retry`]. Never true for a failed operation, a deadline or a cancellation.
    pub fn is_retryable(&self) -> bool {
        self.retry_class().is_some()
    }

    /// Which retried class this error belongs to (see [`crate::retry`]), named after the google provider's
    /// predicate or the client library setting it comes from; `None` when it must not be retried.
    pub fn retry_class(&self) -> Option<&'static str> {
        match self.0.kind {
            Kind::Network { timeout: true } => Some("isNetworkTimeoutError"),
            Kind::Network { timeout: false } => Some("isNetworkTemporaryError"),
            Kind::Service => self.service_retry_class(),
            _ => None,
        }
    }

    fn service_retry_class(&self) -> Option<&'static str> {
        let status = self.0.http_status?;
        match status {
            429 | 500 | 502 | 503 => Some("isCommonRetryableErrorCode"),
            504 => Some("DEADLINE_EXCEEDED (compute_grpc_service_config.json)"),
            409 if self.has_reason(&["operationInProgress"])
                || self.0.message.contains("operationInProgress") =>
            {
                Some("is409OperationInProgressError")
            }
            403 if self.has_reason(&["CONCURRENT_OPERATIONS_QUOTA_EXCEEDED"]) => {
                Some("is403ConcurrentOperationsQuotaError")
            }
            403 if is_quota_per_minute(&self.0.message) => Some("is403QuotaExceededPerMinuteError"),
            403 if self.0.api.is_some_and(Api::uses_403_rate_limits)
                && self.has_reason(&["rateLimitExceeded", "userRateLimitExceeded"]) =>
            {
                Some("rateLimitExceeded (Compute/DNS usageLimits)")
            }
            400 if self.has_reason(&["resourceNotReady"])
                && self.0.message.contains("networks") =>
            {
                Some("isNetworkUnreadyError/isSubnetworkUnreadyError")
            }
            400 if self.is_iam_policy_call() && is_service_account_missing(&self.0.message) => {
                Some("IamServiceAccountNotFound")
            }
            _ => None,
        }
    }

    /// `*.setIamPolicy` / `*.getIamPolicy`: where IAM refuses a member whose service account it does not see yet.
    fn is_iam_policy_call(&self) -> bool {
        self.0
            .call
            .as_deref()
            .is_some_and(|c| c.ends_with(".setIamPolicy") || c.ends_with(".getIamPolicy"))
    }

    /// The overall deadline (resource timeout) passed.
    pub fn is_deadline(&self) -> bool {
        self.0.kind == Kind::Deadline
    }

    /// A single request got no answer within `request_timeout`.
    pub fn is_timeout(&self) -> bool {
        matches!(self.0.kind, Kind::Network { timeout: true }) || self.0.kind == Kind::Deadline
    }

    /// The caller's cancellation token fired.
    pub fn is_cancelled(&self) -> bool {
        self.0.kind == Kind::Cancelled
    }

    /// Credentials could not be loaded or a token could not be obtained.
    pub fn is_auth(&self) -> bool {
        self.0.kind == Kind::Auth
    }

    /// A long-running operation finished with this error (as opposed to the call being refused).
    pub fn is_operation_failure(&self) -> bool {
        self.0.kind == Kind::Operation
    }

    /// The numeric google.rpc code a failed `google.longrunning.Operation` carried (9 = FAILED_PRECONDITION).
    pub fn operation_code(&self) -> Option<i64> {
        self.0.operation_code
    }

    pub(crate) fn with_operation_code(mut self, code: i64) -> Self {
        self.0.operation_code = Some(code);
        self
    }

    /// The HTTP status of Google's answer (for an operation failure: the status its code maps to).
    pub fn http_status(&self) -> Option<u16> {
        self.0.http_status
    }

    /// The most specific reason: `error.errors[0].reason` (`alreadyExists`), else the rpc status (`ALREADY_EXISTS`).
    pub fn reason(&self) -> Option<&str> {
        self.0
            .reasons
            .first()
            .or(self.0.status.as_ref())
            .map(String::as_str)
    }

    /// The google.rpc status name (`ABORTED`, `NOT_FOUND`, ...) when Google sent one.
    pub fn status(&self) -> Option<&str> {
        self.0.status.as_deref()
    }

    /// Google's message, unchanged (or this crate's description for non-HTTP failures).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Which API the call went to.
    pub fn api(&self) -> Option<Api> {
        self.0.api
    }

    /// The call, in discovery naming (`backendServices.insert`).
    pub fn call(&self) -> Option<&str> {
        self.0.call.as_deref()
    }

    /// The resource the call was about (`projects/p/global/backendServices/x`).
    pub fn resource(&self) -> Option<&str> {
        self.0.resource.as_deref()
    }

    fn status_is(&self, name: &str) -> bool {
        self.0.status.as_deref() == Some(name)
    }

    fn has_reason(&self, any: &[&str]) -> bool {
        self.0.reasons.iter().any(|r| any.contains(&r.as_str()))
    }
}

/// The google provider's `is403QuotaExceededPerMinuteError` pattern: "Quota exceeded for quota metric '<m>' and
/// limit '<l> per minute' of service ...". Per-day or absolute quotas do not clear by waiting a few seconds.
fn is_quota_per_minute(message: &str) -> bool {
    let Some(rest) = message
        .split_once("Quota exceeded for quota metric '")
        .map(|(_, r)| r)
    else {
        return false;
    };
    let Some((_, after_metric)) = rest.split_once("' and limit '") else {
        return false;
    };
    after_metric
        .split_once("' of service")
        .is_some_and(|(limit, _)| limit.ends_with(" per minute"))
}

/// `IamServiceAccountNotFound`: a 400 whose body says "Service account ... does not exist".
fn is_service_account_missing(message: &str) -> bool {
    message
        .split_once("Service account")
        .is_some_and(|(_, rest)| rest.contains("does not exist"))
}

fn chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        let mut head = Vec::new();
        if let Some(api) = i.api {
            head.push(format!("{api}:"));
        }
        if let Some(call) = &i.call {
            head.push(call.clone());
        }
        if let Some(res) = &i.resource {
            head.push(format!("{res}:"));
        } else if let Some(last) = head.last_mut() {
            if !last.ends_with(':') {
                last.push(':');
            }
        }
        if i.kind == Kind::Operation {
            head.push("operation failed:".to_string());
        }
        let mut status = Vec::new();
        if let Some(code) = i.http_status {
            status.push(code.to_string());
        }
        if let Some(reason) = self.reason() {
            status.push(reason.to_string());
        }
        if !status.is_empty() {
            head.push(format!("{}:", status.join(" ")));
        }
        head.push(i.message.clone());
        f.write_str(&head.join(" "))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        f.debug_struct("gcp::Error")
            .field("kind", &i.kind)
            .field("api", &i.api)
            .field("call", &i.call)
            .field("resource", &i.resource)
            .field("http_status", &i.http_status)
            .field("status", &i.status)
            .field("reasons", &i.reasons)
            .field("message", &i.message)
            .field("operation_code", &i.operation_code)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_can_cross_threads_and_be_shared() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Error>();
    }

    #[test]
    fn display_without_a_resource_still_reads_well() {
        let e = Error::cancelled().with_context(Api::Dns, "managedZones.get", "");
        assert_eq!(e.to_string(), "Cloud DNS: managedZones.get: cancelled");
        assert_eq!(Error::deadline("too slow").to_string(), "too slow");
    }

    #[test]
    fn context_is_filled_once_and_not_overwritten() {
        let e = Error::from_http(Api::Run, 404, b"")
            .with_context(
                Api::Run,
                "services.get",
                "projects/p/locations/r/services/a",
            )
            .with_context(Api::Compute, "other.call", "other");
        assert_eq!(e.api(), Some(Api::Run));
        assert_eq!(e.call(), Some("services.get"));
        assert_eq!(e.resource(), Some("projects/p/locations/r/services/a"));
    }
}
