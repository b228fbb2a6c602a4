//! The only network code: one HTTP client, bearer token, user agent, per-request deadline, and the retry loop.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::auth::{Auth, USER_PROJECT_HEADER};
use crate::body::{self, MAX_ERROR_BODY, MAX_SUCCESS_BODY};
use crate::endpoints::Endpoints;
use crate::error::Error;
use crate::retry::{Backoff, RetryPolicy, Sleep};

/// The user agent prefix; a caller may append its own part after a space.
pub const USER_AGENT_PRODUCT: &str = "terraform-provider-csmrun";

/// Knobs of the transport.
#[derive(Clone, Debug)]
pub struct TransportOptions {
    pub user_agent: String,
    /// Upper bound for one HTTP exchange (the provider's `request_timeout`).
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Backoff between operation polls; the default is Google's client-library default for long-running
    /// operations ([`google_lro_poll`]).
    pub poll: Backoff,
    /// Bound for an operation wait when the caller set no deadline.
    pub default_wait: Duration,
    pub sleep: Sleep,
    /// Which project, if any, requests name in `x-goog-user-project`.
    pub user_project: UserProject,
}

/// The quota project requests carry in `x-goog-user-project`, with the google provider's semantics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum UserProject {
    /// `user_project_override` unset or false: the credentials' `quota_project_id` when they carry one, else
    /// no header (the API bills the resource's project or the credentials' own).
    #[default]
    FromCredentials,
    /// `user_project_override = true`: `billing_project` when set, else the project the request is about.
    Override { billing_project: Option<String> },
}

impl UserProject {
    /// The header value for a request to `path` (`projects/<p>/...`) authorized by credentials whose quota
    /// project is `quota_project`.
    pub fn for_request(&self, path: &str, quota_project: Option<String>) -> Option<String> {
        match self {
            UserProject::FromCredentials => quota_project,
            UserProject::Override { billing_project } => billing_project
                .clone()
                .or_else(|| project_of(path).map(str::to_string))
                .or(quota_project),
        }
    }
}

/// The project a request path is about: `projects/<p>/...` or `projects/<p>:method`.
fn project_of(path: &str) -> Option<&str> {
    let rest = path.trim_start_matches('/').strip_prefix("projects/")?;
    let end = rest.find(['/', ':']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|p| !p.is_empty())
}

/// The poll schedule of Google's generated client libraries for long-running operations: the defaults of
/// `google.api.MethodSettings.LongRunning` (googleapis `google/api/client.proto`: "initial_poll_delay ... Default
/// value: 5 seconds", "poll_delay_multiplier ... Default value: 1.5", "max_poll_delay ... Default value: 45
/// seconds"). It is only paid where an API has no blocking `wait` (Network Services, Cloud DNS changes); Cloud Run
/// and Compute operations are long-polled (`lro::LongPoll`).
pub fn google_lro_poll() -> Backoff {
    Backoff::new(Duration::from_secs(5), Duration::from_secs(45), 1.5)
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            user_agent: format!("{USER_AGENT_PRODUCT}/{}", env!("CARGO_PKG_VERSION")),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            poll: google_lro_poll(),
            default_wait: Duration::from_secs(20 * 60),
            sleep: Sleep::tokio(),
            user_project: UserProject::FromCredentials,
        }
    }
}

/// A request to one API, relative to its base URL.
#[derive(Clone, Debug)]
pub struct Request {
    pub api: Api,
    pub method: Method,
    /// Path below the API's base URL, e.g. `projects/p/global/backendServices/x`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// The call in discovery naming, for errors: `backendServices.insert`.
    pub call: &'static str,
    /// The resource the call is about, for errors.
    pub resource: String,
    /// This is a poll of an operation: a 404 is retried (operations can be briefly invisible after creation).
    pub poll: bool,
    /// Overrides the transport's `request_timeout` (a server-side wait legitimately takes longer).
    pub timeout: Option<Duration>,
}

impl Request {
    pub fn new(api: Api, method: Method, path: impl Into<String>, call: &'static str) -> Self {
        let path = path.into();
        Request {
            api,
            method,
            resource: path.clone(),
            path,
            query: Vec::new(),
            body: None,
            call,
            poll: false,
            timeout: None,
        }
    }

    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_string(), value.into()));
        self
    }

    pub fn query_opt(self, key: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Names the resource in errors when it differs from the path (e.g. a create names the new resource).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = resource.into();
        self
    }

    pub fn poll(mut self) -> Self {
        self.poll = true;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Sends requests with auth and retries. Cheap to clone; [`Transport::with_cancel`] and
/// [`Transport::with_deadline`] give views that share the connection pool.
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
    cancel: CancellationToken,
    deadline: Option<Instant>,
}

struct Shared {
    http: reqwest::Client,
    auth: Auth,
    endpoints: Endpoints,
    options: TransportOptions,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("auth", &self.shared.auth)
            .field("endpoints", &self.shared.endpoints)
            .field("options", &self.shared.options)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Transport {
    pub fn new(auth: Auth, endpoints: Endpoints, options: TransportOptions) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.request_timeout.min(Duration::from_secs(30)))
            .build()
            .map_err(|e| Error::config(format!("building the HTTP client: {e}")))?;
        Ok(Transport {
            shared: Arc::new(Shared {
                http,
                auth,
                endpoints,
                options,
            }),
            cancel: CancellationToken::new(),
            deadline: None,
        })
    }

    /// A view whose waits and retries stop promptly with [`Error::is_cancelled`] when `cancel` fires.
    pub fn with_cancel(&self, cancel: CancellationToken) -> Self {
        Transport {
            cancel,
            ..self.clone()
        }
    }

    /// A view whose requests, retries and operation waits all end by `deadline` ([`Error::is_deadline`]).
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        Transport {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.shared.endpoints
    }

    pub fn options(&self) -> &TransportOptions {
        &self.shared.options
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Sends `req`, retrying the retryable classes with jittered backoff, and decodes a 2xx body as `T`.
    /// A 2xx body that is not `T` (empty, truncated, not JSON, wrong types, too large) fails at once with
    /// an error naming the call: sending again would not change what the server answers, and waiting would
    /// only turn the decode error into a timeout.
    pub async fn send<T: DeserializeOwned>(&self, req: Request) -> Result<T, Error> {
        self.send_checked(req, |_: &T| None).await
    }

    /// Sends `req` for a method whose discovery document declares no response (Cloud DNS
    /// `managedZones.delete`): an empty 2xx body is success, as is any JSON one.
    pub async fn send_without_response(&self, req: Request) -> Result<(), Error> {
        let answer = self.send_raw(&req).await?;
        body::check_no_response(answer.status, &answer.body)
            .map_err(|m| Error::body(m).with_context(req.api, req.call, &req.resource))
    }

    /// Sends `req`, decodes the body as `T` and asks `check` what, if anything, makes the value unusable.
    pub(crate) async fn send_checked<T, F>(&self, req: Request, check: F) -> Result<T, Error>
    where
        T: DeserializeOwned,
        F: Fn(&T) -> Option<String>,
    {
        let answer = self.send_raw(&req).await?;
        let value =
            body::decode_success::<T>(answer.status, &answer.body).and_then(|v| match check(&v) {
                None => Ok(v),
                Some(what) => Err(format!(
                    "answered {} with {what}; body starts: {}",
                    answer.status,
                    body::snippet(&answer.body)
                )),
            });
        value.map_err(|m| Error::body(m).with_context(req.api, req.call, &req.resource))
    }

    async fn send_raw(&self, req: &Request) -> Result<Success, Error> {
        let ctx = |e: Error| e.with_context(req.api, req.call, &req.resource);
        let url = self.shared.endpoints.url(req.api, &req.path).map_err(ctx)?;
        let policy = &self.shared.options.retry;
        let mut attempt: u32 = 0;
        loop {
            let (err, retry_after) = match self.attempt(req, url.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(Failure { error, retry_after }) => (ctx(error), retry_after),
            };
            let retryable = err.is_retryable() || (req.poll && err.is_not_found());
            attempt += 1;
            if !retryable || attempt >= policy.max_attempts.max(1) {
                return Err(err);
            }
            // A server's Retry-After is honoured, but never beyond the policy's cap.
            let delay = policy
                .backoff
                .delay(attempt - 1)
                .max(retry_after.unwrap_or_default().min(policy.backoff.max));
            tracing::debug!(api = %req.api, call = req.call, attempt, ?delay, error = %err, "retrying");
            if let Some(deadline) = self.deadline {
                if Instant::now()
                    .checked_add(delay)
                    .is_none_or(|t| t >= deadline)
                {
                    return Err(ctx(Error::deadline(format!(
                        "deadline reached while retrying; last error: {err}"
                    ))));
                }
            }
            self.pause(delay).await.map_err(ctx)?;
        }
    }

    /// Sleeps through the injected sleep; returns early with a cancellation error.
    pub(crate) async fn pause(&self, delay: Duration) -> Result<(), Error> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Error::cancelled()),
            _ = self.shared.options.sleep.sleep(delay) => Ok(()),
        }
    }

    async fn attempt(&self, req: &Request, url: url::Url) -> Result<Success, Failure> {
        if self.cancel.is_cancelled() {
            return Err(Error::cancelled().into());
        }
        let mut timeout = req.timeout.unwrap_or(self.shared.options.request_timeout);
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::deadline("deadline reached before the request was sent").into());
            }
            timeout = timeout.min(left);
        }
        let exchange = async {
            let auth = self.shared.auth.authorize().await?;
            let mut rb = self
                .shared
                .http
                .request(req.method.clone(), url)
                .timeout(timeout)
                .bearer_auth(auth.token.expose())
                .header(reqwest::header::ACCEPT, "application/json");
            let user_project = self
                .shared
                .options
                .user_project
                .for_request(&req.path, auth.quota_project);
            if let Some(project) = user_project {
                // Checked here: an invalid value would otherwise surface as a (retried) network error.
                let value = reqwest::header::HeaderValue::from_str(&project).map_err(|_| {
                    Error::config(format!(
                        "the quota project {project:?} cannot be sent in {USER_PROJECT_HEADER}"
                    ))
                })?;
                rb = rb.header(USER_PROJECT_HEADER, value);
            }
            if !req.query.is_empty() {
                rb = rb.query(&req.query);
            }
            if let Some(b) = &req.body {
                rb = rb.json(b);
            }
            let resp = rb.send().await.map_err(Error::network)?;
            let status = resp.status();
            tracing::debug!(api = %req.api, call = req.call, method = %req.method, path = %req.path,
                status = status.as_u16(), "response");
            if status.is_success() {
                // A connection lost mid-body is a network error (retried); a body over the cap is not.
                let (bytes, truncated) = body::read_capped(resp, MAX_SUCCESS_BODY)
                    .await
                    .map_err(Error::network)?;
                if truncated {
                    return Err(Error::body(format!(
                        "answered {} with a body larger than the {} MiB cap; refusing to read it",
                        status.as_u16(),
                        MAX_SUCCESS_BODY / (1024 * 1024)
                    ))
                    .into());
                }
                Ok::<_, Failure>(Success {
                    status: status.as_u16(),
                    body: bytes,
                })
            } else {
                // A failure reading the error body still leaves the status, which decides retryability.
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let (bytes, _) = body::read_capped(resp, MAX_ERROR_BODY)
                    .await
                    .unwrap_or_default();
                Err(Failure {
                    error: Error::from_http(req.api, status.as_u16(), &bytes),
                    retry_after,
                })
            }
        };
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Error::cancelled().into()),
            r = exchange => r,
        }
    }
}

/// A 2xx answer, read whole.
struct Success {
    status: u16,
    body: Vec<u8>,
}

/// A failed attempt and the server's Retry-After, if it sent one (seconds form only).
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}
