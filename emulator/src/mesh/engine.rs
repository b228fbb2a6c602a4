//! One hop through the mesh: from a caller's request to the answer its sidecar gives back (see `mesh` for the
//! order of things and how time is counted).

use super::matching::{first_rule, RequestView};
use super::policy::{Action, HeaderModifier, Retry};
use super::resolve::{self, Caller, CallerError, Target};
use super::trace::{self, Span};
use super::workload::FailKind;
use crate::clock::rfc3339;
use crate::server::Shared;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Largest request or response body the proxy carries (Cloud Run's HTTP/1 request limit).
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// Most hops one call chain may take before the proxy calls it a loop.
pub const MAX_HOPS: u32 = 16;
/// Most hosts in one built-in `/call/HOST/...` chain.
pub const MAX_CHAIN: usize = 16;
/// How long a call waits for a mesh hostname that the caller cannot resolve (it is not a mesh client).
pub const CONNECT_TIMEOUT_SECS: i64 = 10;
/// A call without a route timeout still ends after this long.
pub const MAX_CALL_SECS: i64 = 300;

/// Carries the hop count between hops, so a loop of calls ends.
pub const HOPS_HEADER: &str = "x-csmrun-hops";

pub use super::call::{Answer, Call};

/// What one attempt at the workload came to.
pub(super) enum Outcome {
    Answer(Answer),
    ConnectFailure,
    Reset,
    /// The attempt ran out of time; `by_route` when the route timeout (not the per-try one) ended it.
    TimedOut {
        by_route: bool,
    },
}

/// Headers that belong to one connection and are never forwarded (RFC 9110 §7.6.1), plus the proxy's own.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    for h in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(h);
    }
}

fn modify(headers: &mut HeaderMap, m: &HeaderModifier) {
    for name in &m.remove {
        headers.remove(name.as_str());
    }
    for (k, v) in &m.set {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            headers.insert(k, v);
        }
    }
    for (k, v) in &m.add {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            headers.append(k, v);
        }
    }
}

pub(super) fn std_duration(d: Duration) -> std::time::Duration {
    d.to_std().unwrap_or_default()
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.num_milliseconds() as f64 / 1000.0)
}

/// Waits a modelled duration: `d x timeScale` of real time (see `mesh`), or until the emulator stops.
async fn wait_modelled(shared: &Shared, d: Duration) {
    if d <= Duration::zero() {
        return;
    }
    let scaled = shared.world().settings.scaled(d);
    let real = std_duration(scaled).min(std::time::Duration::from_secs(3600));
    if real.is_zero() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(real) => {}
        _ = shared.stopping.cancelled() => {}
    }
}

/// One hop; boxed because the built-in workload calls onwards through it.
pub fn call(shared: Arc<Shared>, call: Call) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
    Box::pin(async move { hop(shared, call).await })
}

/// The span being filled in during a hop.
struct Hop {
    span: Span,
    start: DateTime<Utc>,
    elapsed: Duration,
}

impl Hop {
    fn finish(mut self, shared: &Shared, mut answer: Answer) -> Answer {
        answer.elapsed = self.elapsed;
        self.span.status = answer.status;
        let end = self
            .start
            .checked_add_signed(self.elapsed)
            .unwrap_or(self.start);
        self.span.end = rfc3339(end);
        if self.span.error.is_none() && answer.status >= 400 {
            self.span.error = answer
                .headers
                .get("x-csmrun-reason")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
        let tp = trace::traceparent(&self.span.trace_id, &self.span.span_id);
        if let Ok(v) = HeaderValue::from_str(&tp) {
            answer.headers.insert("traceparent", v);
        }
        if let (Some(service), Some(revision)) = (&self.span.service, &self.span.revision) {
            if let (Ok(s), Ok(r)) = (
                HeaderValue::from_str(service),
                HeaderValue::from_str(revision),
            ) {
                answer.headers.insert("x-csmrun-served-by", s);
                answer.headers.insert("x-csmrun-revision", r);
            }
        }
        shared.mesh.record(self.span);
        answer
    }
}

/// The routing decision taken under the world lock.
enum Plan {
    Answer(Answer),
    NotMeshClient(Box<Caller>),
    Routed(Box<Routed>),
}

struct Routed {
    caller: Caller,
    route: String,
    rule: usize,
    action: Action,
}

fn plan(shared: &Shared, call: &Call) -> Plan {
    let mut world = shared.world();
    world.tick();
    let caller = match resolve::caller(&world, &call.caller) {
        Ok(c) => c,
        Err(CallerError::Unknown(user)) => {
            return Plan::Answer(proxy_auth_required(&format!(
                "no Cloud Run service is named '{user}': the proxy user names the calling service \
                 (HTTP_PROXY=http://SERVICE@HOST:PORT)"
            )))
        }
        Err(CallerError::Ambiguous(user, all)) => {
            return Plan::Answer(proxy_auth_required(&format!(
                "'{user}' names several Cloud Run services; name one as NAME.REGION.PROJECT: {}",
                all.join(", ")
            )))
        }
    };
    if caller.revision.is_none() {
        return Plan::Answer(Answer::local(
            503,
            "no healthy upstream",
            &format!(
                "the caller {} has no ready revision, so no sidecar of it runs to make this call",
                caller.qualified()
            ),
        ));
    }
    let Some(mesh) = caller.mesh.clone() else {
        return Plan::NotMeshClient(Box::new(caller));
    };
    let Some((route_key, route)) = resolve::route_for(&world, &mesh, &call.host) else {
        // Envoy answers a host no virtual host matches with 404 and an empty body.
        return Plan::Answer(Answer::local(
            404,
            "",
            &format!(
                "no HTTPRoute attached to mesh {mesh} has hostname {}",
                call.host
            ),
        ));
    };
    let view = RequestView {
        path: &call.path,
        query: call.query.as_deref().unwrap_or(""),
        headers: &call.headers,
    };
    let Some(rule) = first_rule(&route, &view) else {
        return Plan::Answer(Answer::local(
            404,
            "",
            &format!(
                "no rule of HTTPRoute {route_key} matches {} {}",
                call.method, call.path
            ),
        ));
    };
    let action = Action::parse(&route["rules"][rule]["action"]);
    Plan::Routed(Box::new(Routed {
        caller,
        route: route_key,
        rule,
        action,
    }))
}

fn proxy_auth_required(why: &str) -> Answer {
    let mut a = Answer::local(407, why, why);
    a.headers.insert(
        http::header::PROXY_AUTHENTICATE,
        HeaderValue::from_static(
            "Basic realm=\"csmrun mesh: the user is the calling Cloud Run service\"",
        ),
    );
    a
}

async fn hop(shared: Arc<Shared>, call: Call) -> Answer {
    let start = call.at.unwrap_or_else(|| shared.world().now());
    let trace_id = call
        .context
        .as_ref()
        .map(|c| c.trace_id.clone())
        .unwrap_or_else(|| shared.mesh.new_id(2));
    let mut hop = Hop {
        span: Span {
            trace_id,
            span_id: shared.mesh.new_id(1),
            parent_span_id: call.context.as_ref().and_then(|c| c.parent_span_id.clone()),
            caller: call.caller.clone(),
            service: None,
            revision: None,
            host: call.host.clone(),
            method: call.method.to_string(),
            path: call.path.clone(),
            route: None,
            rule: None,
            destination: None,
            status: 0,
            start: rfc3339(start),
            end: rfc3339(start),
            retries: 0,
            fault: None,
            error: None,
        },
        start,
        elapsed: Duration::zero(),
    };
    if call.hops >= MAX_HOPS {
        let why = format!(
            "the call has taken {} hops; a loop of calls is stopped at {MAX_HOPS}",
            call.hops
        );
        return hop.finish(&shared, Answer::local(508, "loop detected", &why));
    }
    let Ok(_permit) = shared.mesh.in_flight.try_acquire() else {
        let why = format!(
            "{} calls are in flight; the proxy serves at most that many at once",
            super::MAX_IN_FLIGHT
        );
        return hop.finish(&shared, Answer::local(503, "overloaded", &why));
    };
    let (caller, route, rule, action) = match plan(&shared, &call) {
        Plan::Answer(a) => return hop.finish(&shared, a),
        Plan::NotMeshClient(caller) => {
            hop.span.caller = caller.name.clone();
            let timeout = Duration::seconds(CONNECT_TIMEOUT_SECS);
            wait_modelled(&shared, timeout).await;
            hop.elapsed = timeout;
            let why = format!(
                "connecting to {}:80 timed out after {CONNECT_TIMEOUT_SECS}s: {} is not a mesh client (its \
                 revision has no serviceMesh), so it gets no routes from the mesh and the hostname leads \
                 nowhere; deploy the caller with serviceMesh (csmrun_service.mesh) to call mesh hostnames",
                call.host,
                caller.qualified()
            );
            return hop.finish(
                &shared,
                Answer::local(504, "upstream connect timeout", &why),
            );
        }
        Plan::Routed(r) => (r.caller, r.route, r.rule, r.action),
    };
    hop.span.caller = caller.name.clone();
    hop.span.route = Some(route.clone());
    hop.span.rule = Some(rule);
    if let Some((status, body)) = &action.direct_response {
        return hop.finish(&shared, Answer::text(*status, body.clone()));
    }
    let weights = action.weights();
    let chosen = match weights.len() {
        0 => None,
        1 => (weights[0] > 0).then_some(0),
        _ => shared.mesh.draw(|r| r.weighted(&weights)),
    };
    let Some(destination) = chosen.and_then(|i| action.destinations.get(i)).cloned() else {
        let why = format!("rule {rule} of {route} has no destination with a weight above 0");
        return hop.finish(&shared, Answer::local(503, "no healthy upstream", &why));
    };
    hop.span.destination = Some(destination.service_name.clone());
    // "timeout and retry_policy will be ignored by clients that are configured with a fault_injection_policy"
    let (retry, route_timeout) = match &action.fault {
        Some(_) => (None, None),
        None => (action.retry.clone(), action.timeout),
    };
    if let Some(fault) = &action.fault {
        let mut seen = serde_json::Map::new();
        if let Some(delay) = &fault.delay {
            if shared.mesh.draw(|r| r.percent(delay.percent)) {
                // Bounded like a call without a route timeout.
                let fixed = delay.fixed.min(Duration::seconds(MAX_CALL_SECS));
                wait_modelled(&shared, fixed).await;
                hop.elapsed += fixed;
                seen.insert("delay".into(), json!(seconds(fixed)));
            }
        }
        let aborted = fault
            .abort
            .as_ref()
            .filter(|abort| shared.mesh.draw(|r| r.percent(abort.percent)));
        if let Some(abort) = aborted {
            seen.insert("abort".into(), json!(abort.status));
        }
        if !seen.is_empty() {
            hop.span.fault = Some(Value::Object(seen));
        }
        if let Some(abort) = aborted {
            let why = format!("fault injection of rule {rule} of {route} aborted the call");
            return hop.finish(
                &shared,
                Answer::local(abort.status, "fault filter abort", &why),
            );
        }
    }
    let route_project = route.split('/').nth(1).unwrap_or_default().to_string();
    let target = {
        let world = shared.world();
        resolve::target(
            &world,
            &destination.service_name,
            &route_project,
            &caller.region,
        )
    };
    let target = match target {
        Ok(t) => t,
        Err(why) => return hop.finish(&shared, Answer::local(503, "no healthy upstream", &why)),
    };
    hop.span.service = Some(target.name.clone());
    hop.span.revision = Some(target.revision_id.clone());
    let mut headers = call.headers.clone();
    strip_hop_by_hop(&mut headers);
    modify(&mut headers, &action.request_headers);
    modify(&mut headers, &destination.request_headers);
    let request = Forward {
        caller: &caller,
        target: &target,
        call: &call,
        headers,
        trace_id: hop.span.trace_id.clone(),
        span_id: hop.span.span_id.clone(),
        start: hop.start,
    };
    let (mut answer, retries) = attempts(
        &shared,
        &request,
        retry.as_ref(),
        route_timeout,
        &mut hop.elapsed,
    )
    .await;
    hop.span.retries = retries;
    strip_hop_by_hop(&mut answer.headers);
    modify(&mut answer.headers, &action.response_headers);
    modify(&mut answer.headers, &destination.response_headers);
    hop.finish(&shared, answer)
}

/// Everything an attempt needs to reach the workload.
pub(super) struct Forward<'a> {
    pub(super) caller: &'a Caller,
    pub(super) target: &'a Target,
    pub(super) call: &'a Call,
    pub(super) headers: HeaderMap,
    pub(super) trace_id: String,
    pub(super) span_id: String,
    /// The hop's start in mesh time.
    pub(super) start: DateTime<Utc>,
}

/// The retry conditions an outcome meets, by the `HttpRouteRetryPolicy.retryConditions` descriptions.
fn conditions_met(outcome: &Outcome) -> &'static [&'static str] {
    match outcome {
        Outcome::Answer(a) if matches!(a.status, 502..=504) => &["5xx", "gateway-error"],
        Outcome::Answer(a) if (500..=599).contains(&a.status) => &["5xx"],
        Outcome::Answer(a) if a.status == 409 => &["retriable-4xx"],
        Outcome::Answer(_) => &[],
        Outcome::ConnectFailure => &["5xx", "connect-failure"],
        Outcome::Reset | Outcome::TimedOut { by_route: false } => &["5xx", "reset"],
        Outcome::TimedOut { by_route: true } => &[],
    }
}

/// The attempts of one hop; returns the answer and how many retries it took.
async fn attempts(
    shared: &Arc<Shared>,
    f: &Forward<'_>,
    retry: Option<&Retry>,
    route_timeout: Option<Duration>,
    elapsed: &mut Duration,
) -> (Answer, u32) {
    let route_limit = route_timeout.unwrap_or_else(|| Duration::seconds(MAX_CALL_SECS));
    let max_attempts = 1 + retry.map_or(0, |r| r.num_retries);
    let mut retries = 0;
    loop {
        let left = route_limit - *elapsed;
        let per_try = retry
            .and_then(|r| r.per_try_timeout)
            .filter(|p| *p > Duration::zero());
        let (limit, by_route) = match per_try {
            Some(p) if p < left => (p, false),
            _ => (left, true),
        };
        let mut spent = Duration::zero();
        let outcome = if limit <= Duration::zero() {
            Outcome::TimedOut { by_route: true }
        } else {
            let at = f.start.checked_add_signed(*elapsed).unwrap_or(f.start);
            attempt(shared, f, at, limit, by_route, &mut spent).await
        };
        *elapsed += spent;
        let retriable = retry.is_some_and(|r| {
            conditions_met(&outcome)
                .iter()
                .any(|c| r.conditions.iter().any(|want| want == c))
        });
        if retriable && retries + 1 < max_attempts && *elapsed < route_limit {
            retries += 1;
            continue;
        }
        let answer = match outcome {
            Outcome::Answer(a) => a,
            Outcome::ConnectFailure => Answer::local(
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
                &format!("nothing accepted the connection to {}'s workload", f.target.name),
            ),
            Outcome::Reset => Answer::local(
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
                &format!("{}'s workload closed the connection before answering", f.target.name),
            ),
            Outcome::TimedOut { by_route } => Answer::local(
                504,
                "upstream request timeout",
                &if by_route {
                    format!("the route timeout of {} ran out", seconds(route_limit))
                } else {
                    format!("the per-try timeout of {} ran out", seconds(limit))
                },
            ),
        };
        return (answer, retries);
    }
}

/// Cloud Run's answer to a caller without `run.invoker` (the front end's page).
fn forbidden(path: &str) -> Answer {
    let mut a = Answer::text(
        403,
        format!(
            "<html><head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n\
             <title>403 Forbidden</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n\
             <h1>Error: Forbidden</h1>\n<h2>Your client does not have permission to get URL <code>{}</code> \
             from this server.</h2>\n<h2></h2>\n</body></html>\n",
            html_escape(path)
        ),
    );
    a.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    a
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One attempt: IAM at the destination's front end, then the workload, within `limit` of mesh time.
async fn attempt(
    shared: &Arc<Shared>,
    f: &Forward<'_>,
    at: DateTime<Utc>,
    limit: Duration,
    by_route: bool,
    spent: &mut Duration,
) -> Outcome {
    let (allowed, token) = {
        let mut world = shared.world();
        world.tick();
        let allowed = resolve::may_invoke(&world, f.target, &f.caller.account);
        let token = super::token::identity_token(&f.caller.account, &f.target.uri, world.now());
        (allowed, token)
    };
    if !allowed {
        let mut a = forbidden(&f.call.path);
        a.headers.insert(
            "x-csmrun-reason",
            HeaderValue::from_str(&format!(
                "serviceAccount:{} has no effective roles/run.invoker on {}",
                f.caller.account, f.target.key
            ))
            .unwrap_or_else(|_| HeaderValue::from_static("no roles/run.invoker")),
        );
        return Outcome::Answer(a);
    }
    let workload = shared
        .mesh
        .workload(&f.target.name, &f.target.project, &f.target.region);
    let failure = workload
        .as_ref()
        .filter(|w| w.fail_percent > 0.0)
        .filter(|w| shared.mesh.draw(|r| r.percent(w.fail_percent)))
        .cloned();
    if let Some(w) = &failure {
        match w.fail_kind {
            FailKind::ConnectFailure => return Outcome::ConnectFailure,
            FailKind::Reset => return Outcome::Reset,
            FailKind::Status => {}
        }
    }
    let latency = workload.as_ref().map_or(Duration::zero(), |w| w.latency);
    if latency >= limit {
        wait_modelled(shared, limit).await;
        *spent = limit;
        return Outcome::TimedOut { by_route };
    }
    wait_modelled(shared, latency).await;
    *spent = latency;
    if let Some(w) = &failure {
        return Outcome::Answer(Answer::json(
            w.fail_status,
            &json!({"error": "injected failure (POST /_emulator/workloads failPercent)",
                    "service": f.target.name, "revision": f.target.revision_id}),
        ));
    }
    let outcome = match workload.as_ref().and_then(|w| w.upstream.clone()) {
        Some(upstream) => {
            super::upstream::upstream_call(shared, f, &upstream, &token, limit - latency, spent)
                .await
        }
        None => {
            let at = at.checked_add_signed(latency).unwrap_or(at);
            super::built_in::built_in(shared, f, at, spent).await
        }
    };
    if matches!(outcome, Outcome::TimedOut { .. }) || *spent > limit {
        *spent = limit;
        return Outcome::TimedOut { by_route };
    }
    outcome
}
