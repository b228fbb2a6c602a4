//! A workload that is a real local process: the attempt forwarded over HTTP with the caller's identity token and
//! the trace context, its answer read back within the attempt's time and the body limit.

use super::engine::{std_duration, Forward, Outcome, HOPS_HEADER, MAX_BODY};
use super::trace;
use super::Answer;
use crate::server::Shared;
use bytes::Bytes;
use chrono::Duration;
use http::HeaderValue;
use std::sync::Arc;

/// Forwards the attempt to a real local process, within `limit` of real time.
pub(super) async fn upstream_call(
    shared: &Arc<Shared>,
    f: &Forward<'_>,
    upstream: &url::Url,
    token: &str,
    limit: Duration,
    spent: &mut Duration,
) -> Outcome {
    let mut url = format!("{}{}", upstream.as_str().trim_end_matches('/'), f.call.path);
    if let Some(q) = &f.call.query {
        url.push('?');
        url.push_str(q);
    }
    let mut headers = f.headers.clone();
    let auth = HeaderValue::from_str(&format!("Bearer {token}"));
    let tp = HeaderValue::from_str(&trace::traceparent(&f.trace_id, &f.span_id));
    let host = HeaderValue::from_str(&f.call.host);
    if let (Ok(auth), Ok(tp), Ok(host)) = (auth, tp, host) {
        headers.insert(http::header::AUTHORIZATION, auth);
        headers.insert("traceparent", tp);
        headers.insert("x-forwarded-host", host);
    }
    headers.remove("x-cloud-trace-context");
    headers.insert(
        HOPS_HEADER,
        HeaderValue::from(f.call.hops.saturating_add(1)),
    );
    let before = *spent;
    let began = std::time::Instant::now();
    let request = shared
        .mesh
        .client
        .request(f.call.method.clone(), url)
        .headers(headers)
        .body(f.call.body.clone());
    let exchange = async {
        let mut resp = request.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len().saturating_add(chunk.len()) > MAX_BODY {
                return Ok::<_, reqwest::Error>(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some((status, headers, body)))
    };
    let result = tokio::select! {
        r = tokio::time::timeout(std_duration(limit), exchange) => r,
        _ = shared.stopping.cancelled() => return Outcome::Reset,
    };
    *spent = before
        + Duration::from_std(began.elapsed())
            .unwrap_or(limit)
            .min(limit);
    match result {
        Err(_) => {
            *spent = before + limit;
            Outcome::TimedOut { by_route: false }
        }
        Ok(Err(e)) if e.is_connect() => Outcome::ConnectFailure,
        Ok(Err(_)) => Outcome::Reset,
        Ok(Ok(None)) => Outcome::Answer(Answer::local(
            502,
            "upstream response too large",
            &format!(
                "{}'s workload answered more than {MAX_BODY} bytes",
                f.target.name
            ),
        )),
        Ok(Ok(Some((status, headers, body)))) => Outcome::Answer(Answer {
            status,
            headers,
            body: Bytes::from(body),
            elapsed: Duration::zero(),
        }),
    }
}
