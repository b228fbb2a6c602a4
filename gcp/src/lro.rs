//! One poller over the operation shapes: `google.longrunning.Operation` (Cloud Run, Network Services) and
//! Compute's `Operation` (and Cloud DNS's, which has the same status idea).

mod shapes;

pub use shapes::*;

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::time::Instant;

use crate::api::Api;
use crate::error::Error;
use crate::transport::{Request, Transport};

/// What the poller needs to know about an operation.
/// [`Transport::send`] for a call that starts or polls an operation: an answer that decodes but is not an
/// operation (no name to poll) fails at once instead of being polled until the deadline. Here rather than in the
/// transport, which knows nothing of operations.
pub async fn send<O: Operation>(t: &Transport, req: Request) -> Result<O, Error> {
    t.send_checked(req, |op: &O| {
        op.malformed()
            .map(|why| format!("JSON that is not an operation ({why})"))
    })
    .await
}

pub trait Operation: DeserializeOwned + Send {
    /// Finished, successfully or not.
    fn is_done(&self) -> bool;
    /// The error of a finished operation, if it failed.
    fn failure(&self) -> Option<Error>;
    /// Why this value, though it decoded, is not an operation we can poll or trust (e.g. `{}` decodes with
    /// every field defaulted: no name, not done); `None` when it is one.
    fn malformed(&self) -> Option<String> {
        None
    }
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
    /// The API's blocking `wait` method, if it has one; GET polling is the fallback.
    pub long_poll: Option<LongPoll>,
}

/// A server-side wait that returns when the operation finishes (or after a while, still running). It saves the
/// gap between the end of an operation and the next poll; servers may answer early, so the loop still backs off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongPoll {
    /// `POST {name}:wait` with `{"timeout": "<n>s"}` (Cloud Run v2).
    AipWait,
    /// `POST {operation}/wait`, which blocks up to about two minutes (Compute).
    ComputeWait,
}

/// How long one AIP `:wait` asks the server to block.
const AIP_WAIT: Duration = Duration::from_secs(60);
/// Compute's `wait` blocks up to ~2 minutes; the request may take that long.
const COMPUTE_WAIT: Duration = Duration::from_secs(130);
/// Margin over the server-side wait for the HTTP exchange itself.
const WAIT_MARGIN: Duration = Duration::from_secs(10);
/// A wait answered faster than this without finishing is treated as a plain poll (and backed off).
const EARLY_ANSWER: Duration = Duration::from_secs(1);

/// Waits for a `google.longrunning.Operation` of `api` (Cloud Run v2, Network Services), polled at its name.
pub(crate) async fn wait_long_running(
    t: &Transport,
    op: LongRunningOperation,
    api: Api,
    call: &'static str,
    resource: &str,
    long_poll: Option<LongPoll>,
) -> Result<LongRunningOperation, Error> {
    let target = PollTarget {
        api,
        path: op.name.clone(),
        call,
        resource: resource.to_string(),
        long_poll,
    };
    wait(t, op, &target).await
}

/// Sends `req`, which starts a `google.longrunning.Operation`, and waits for it; errors name the request's call
/// and resource.
pub(crate) async fn start_long_running(
    t: &Transport,
    req: Request,
    long_poll: Option<LongPoll>,
) -> Result<LongRunningOperation, Error> {
    let (api, call, resource) = (req.api, req.call, req.resource.clone());
    let op: LongRunningOperation = send(t, req).await?;
    wait_long_running(t, op, api, call, &resource, long_poll).await
}

/// [`start_long_running`], then the finished operation's `response` decoded.
pub(crate) async fn start_long_running_for<T: DeserializeOwned>(
    t: &Transport,
    req: Request,
    long_poll: Option<LongPoll>,
) -> Result<T, Error> {
    let (api, call, resource) = (req.api, req.call, req.resource.clone());
    let op = start_long_running(t, req, long_poll).await?;
    op.response()
        .map_err(|e| e.with_context(api, call, &resource))
}

/// Polls `op` (the first answer) at `target` with the transport's poll backoff until it is done, the transport's
/// deadline (or the default wait) passes, or the transport is cancelled. A failed operation becomes an
/// [`Error`] with [`Error::is_operation_failure`] carrying its code and message.
pub async fn wait<O: Operation>(t: &Transport, mut op: O, target: &PollTarget) -> Result<O, Error> {
    let ctx = |e: Error| e.with_context(target.api, target.call, &target.resource);
    // Polling an operation without a name would ask the API's root until the deadline.
    if let Some(why) = op.malformed() {
        return Err(ctx(Error::body(format!(
            "cannot wait for operation at {:?}: the answer is not an operation ({why})",
            target.path
        ))));
    }
    let deadline = t.deadline().unwrap_or_else(|| {
        let now = Instant::now();
        now.checked_add(t.options().default_wait).unwrap_or(now)
    });
    let backoff = t.options().poll.clone();
    let mut long_poll = target.long_poll;
    let mut polls: u32 = 0;
    while !op.is_done() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ctx(Error::deadline(format!(
                "operation {} still running at the deadline",
                target.path
            ))));
        }
        if let Some(kind) = long_poll {
            let started = Instant::now();
            match send::<O>(t, wait_request(kind, target, left)).await {
                Ok(next) => {
                    op = next;
                    if !op.is_done() && started.elapsed() < EARLY_ANSWER {
                        t.pause(backoff.delay(polls).min(left)).await.map_err(ctx)?;
                        polls = polls.saturating_add(1);
                    }
                    continue;
                }
                Err(e) if wait_unsupported(&e) => {
                    tracing::debug!(path = %target.path, error = %e, "operation wait unsupported; polling");
                    long_poll = None;
                    continue;
                }
                Err(e) => return Err(ctx(e)),
            }
        }
        // The last wait is shortened so one final poll happens right at the deadline.
        t.pause(backoff.delay(polls).min(left)).await.map_err(ctx)?;
        polls = polls.saturating_add(1);
        let req = Request::new(target.api, Method::GET, target.path.clone(), target.call)
            .resource(target.resource.clone())
            .poll();
        op = send(t, req).await.map_err(ctx)?;
    }
    match op.failure() {
        Some(e) => Err(ctx(e)),
        None => Ok(op),
    }
}

fn wait_request(kind: LongPoll, target: &PollTarget, left: Duration) -> Request {
    let (path, server_wait) = match kind {
        LongPoll::AipWait => (format!("{}:wait", target.path), AIP_WAIT.min(left)),
        LongPoll::ComputeWait => (format!("{}/wait", target.path), COMPUTE_WAIT),
    };
    let mut req = Request::new(target.api, Method::POST, path, target.call)
        .resource(target.resource.clone())
        .timeout((server_wait + WAIT_MARGIN).min(left));
    if kind == LongPoll::AipWait {
        req = req.body(json!({ "timeout": format!("{}s", server_wait.as_secs().max(1)) }));
    }
    req
}

/// The server has no usable `wait` (not implemented, not routed, or rejects the request): poll with GET instead.
fn wait_unsupported(e: &Error) -> bool {
    !e.is_operation_failure() && matches!(e.http_status(), Some(400 | 404 | 405 | 501))
}
