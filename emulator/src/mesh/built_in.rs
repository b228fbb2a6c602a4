//! The built-in workload: answers who served a call (`{"message": "CALLER <- SERVICE", ...}`), or, for
//! `/call/HOST[/HOST...]`, calls the first host through the mesh as itself, like the talk's demo app.

use super::engine::{call, Forward, Outcome, MAX_CHAIN};
use super::trace::{self, Context};
use super::{Answer, Call};
use crate::server::Shared;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Value};
use std::sync::Arc;

/// The built-in workload: says who served the call, or calls onwards for `/call/HOST[/HOST...]`.
pub(super) async fn built_in(
    shared: &Arc<Shared>,
    f: &Forward<'_>,
    at: DateTime<Utc>,
    spent: &mut Duration,
) -> Outcome {
    // The message comes first (the JSON keeps key order), as the demo app prints it.
    let me = json!({"message": "", "service": f.target.name, "revision": f.target.revision_id});
    let Some(rest) = f.call.path.strip_prefix("/call/") else {
        let mut body = me;
        body["message"] = json!(format!("{} <- {}", f.caller.name, f.target.name));
        return Outcome::Answer(Answer::json(200, &body));
    };
    let hosts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if hosts.is_empty() || hosts.len() > MAX_CHAIN {
        let mut body = me;
        body["message"] = json!(format!("{} <- {}", f.caller.name, f.target.name));
        body["error"] = json!(format!(
            "/call/ takes 1 to {MAX_CHAIN} hosts: /call/HOST[/HOST...]"
        ));
        return Outcome::Answer(Answer::json(400, &body));
    }
    let next = hosts[0].to_ascii_lowercase();
    let next_host = next.split(':').next().unwrap_or_default().to_string();
    let next_path = if hosts.len() == 1 {
        "/".to_string()
    } else {
        format!("/call/{}", hosts[1..].join("/"))
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&trace::traceparent(&f.trace_id, &f.span_id)) {
        headers.insert("traceparent", v);
    }
    let inner = call(
        shared.clone(),
        Call {
            caller: format!("{}.{}.{}", f.target.name, f.target.region, f.target.project),
            method: Method::GET,
            host: next_host.clone(),
            path: next_path,
            query: None,
            headers,
            body: Bytes::new(),
            hops: f.call.hops.saturating_add(1),
            context: Some(Context {
                trace_id: f.trace_id.clone(),
                parent_span_id: Some(f.span_id.clone()),
            }),
            at: Some(at),
        },
    )
    .await;
    *spent += inner.elapsed;
    let inner_json: Option<Value> = serde_json::from_slice(&inner.body).ok();
    let inner_message = inner_json
        .as_ref()
        .and_then(|v| v["message"].as_str())
        .map(str::to_string);
    let mut body = me;
    match inner_message {
        Some(m) if (200..300).contains(&inner.status) => {
            body["message"] = json!(format!("{} <- {m}", f.caller.name));
            body["next"] = inner_json.unwrap_or(Value::Null);
            Outcome::Answer(Answer::json(200, &body))
        }
        _ => {
            body["message"] = json!(format!(
                "{} <- {} -> {next_host}: {}",
                f.caller.name, f.target.name, inner.status
            ));
            body["next"] = inner_json.unwrap_or_else(|| {
                json!({"status": inner.status, "body": String::from_utf8_lossy(&inner.body).chars().take(2000).collect::<String>()})
            });
            // The demo app passes the onward call's failure back to its caller.
            Outcome::Answer(Answer::json(inner.status, &body))
        }
    }
}
