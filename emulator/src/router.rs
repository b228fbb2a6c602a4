//! The API request pipeline: route by discovery, authenticate, validate, inject faults, dispatch, wait.

use crate::api::Api;
use crate::discovery::document;
use crate::error::ApiError;
use crate::server::Shared;
use crate::services::{Call, Reply};
use crate::validate;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An API request as received.
pub struct Incoming {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl Incoming {
    /// A copy for the pipeline, so the original body stays available for the request log.
    pub fn clone_body(&self) -> Incoming {
        Incoming {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            authorization: self.authorization.clone(),
            body: self.body.clone(),
        }
    }
}

/// The answer: status and body (JSON, or Google's HTML page for unknown URLs).
pub enum Answer {
    Json(u16, Value),
    Html(u16, String),
}

impl Answer {
    pub fn status(&self) -> u16 {
        match self {
            Answer::Json(s, _) | Answer::Html(s, _) => *s,
        }
    }
}

fn error(api: Api, e: &ApiError) -> Answer {
    Answer::Json(e.code, e.render(api))
}

/// Google's front end answers unknown URLs with an HTML page, not a JSON error.
fn not_found_page(path: &str) -> Answer {
    front_end_page(
        404,
        "Not Found",
        &format!("The requested URL <code>{path}</code> was not found on this server."),
    )
}

/// The HTML error page of Google's front end, which answers before any API does (unknown URL, a body too large
/// or malformed).
pub fn front_end_page(code: u16, title: &str, message: &str) -> Answer {
    Answer::Html(
        code,
        format!(
            "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error {code} ({title})!!1</title>\n  \
             <p><b>{code}.</b> <ins>That’s an error.</ins>\n  <p>{message}  <ins>That’s all we know.</ins>\n"
        ),
    )
}

pub async fn handle(shared: &Arc<Shared>, req: Incoming) -> Answer {
    let Some((api, rel)) = Api::route(&req.path) else {
        return not_found_page(&req.path);
    };
    let rel = percent_encoding::percent_decode_str(&rel)
        .decode_utf8_lossy()
        .into_owned();
    let doc = document(api);
    let Some((method, params)) = doc.find(&req.method, &rel) else {
        return not_found_page(&req.path);
    };

    let token = req
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    if token.is_none_or(str::is_empty) {
        return error(api, &ApiError::unauthenticated(api));
    }

    let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("Invalid JSON payload received. {e}.");
                return error(api, &ApiError::invalid_argument(msg).from_front_end());
            }
        }
    };
    // Cloud Run create and update carry a whole Service, so its documented required fields must be there.
    let whole_service = matches!(
        method.id.as_str(),
        "run.projects.locations.services.create" | "run.projects.locations.services.patch"
    );
    if whole_service {
        if let Err(e) = validate::required(doc, method, &body, "service") {
            return error(api, &e);
        }
    }
    if let Err(e) =
        validate::query(doc, method, &req.query).and_then(|_| validate::body(doc, method, &body))
    {
        return error(api, &e);
    }

    let decision = shared.world().faults.decide(api, &method.id);
    if let Some(latency) = decision.latency {
        tokio::time::sleep(latency).await;
    }
    if let Some(e) = decision.error {
        return error(api, &e);
    }
    let Some(handler) = shared.registry.get(&method.id) else {
        return error(
            api,
            &ApiError::unimplemented(format!(
                "Method {} is not implemented by csmrun-emulator.",
                method.id
            )),
        );
    };
    let call = Call {
        api,
        method_id: method.id.clone(),
        http_method: req.method.clone(),
        path: req.path.clone(),
        params,
        query: req.query,
        body,
        injected_operation_error: decision.operation_error,
    };
    let reply = {
        let mut world = shared.world();
        world.tick();
        // A bug in one handler becomes a 500 naming the method instead of a dropped connection.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&mut world, &call)))
            .unwrap_or_else(|_| {
                Err(ApiError::internal(format!(
                    "csmrun-emulator bug: the handler of {} panicked; see its stderr.",
                    call.method_id
                )))
            })
    };
    shared.changed.notify_waiters();
    match reply {
        Ok(Reply::Json(v)) => Answer::Json(200, v),
        Ok(Reply::Status(s, v)) => Answer::Json(s, v),
        Ok(Reply::Wait { operation, timeout }) => wait(shared, api, &operation, timeout).await,
        Err(e) => error(api, &e),
    }
}

/// Blocks until the operation is done or `timeout` passes (returns at once when the clock is frozen, since
/// only a control-plane call can move it; Google documents wait as best effort).
async fn wait(shared: &Arc<Shared>, api: Api, name: &str, timeout: std::time::Duration) -> Answer {
    // Handlers cap the timeout; the sum is checked anyway, so no handler can make it panic.
    let now = tokio::time::Instant::now();
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(3600));
    loop {
        let nap = {
            let mut world = shared.world();
            world.tick();
            let Some(op) = world.operations.get(name) else {
                return error(
                    api,
                    &ApiError::not_found(format!("Operation '{name}' not found.")),
                );
            };
            if op.done() {
                return Answer::Json(200, op.render());
            }
            match world.clock.real_time_until(op.due) {
                Some(d) => d,
                None => return Answer::Json(200, op.render()),
            }
        };
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return match shared.world().operations.get(name) {
                Some(op) => Answer::Json(200, op.render()),
                None => error(
                    api,
                    &ApiError::not_found(format!("Operation '{name}' not found.")),
                ),
            };
        }
        let nap = nap.min(deadline - now) + std::time::Duration::from_millis(1);
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = shared.changed.notified() => {}
            _ = shared.stopping.cancelled() => {
                return match shared.world().operations.get(name) {
                    Some(op) => Answer::Json(200, op.render()),
                    None => error(api, &ApiError::not_found(format!("Operation '{name}' not found."))),
                };
            }
        }
    }
}

/// The request log entry for one call.
pub fn log_entry(
    req_method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
    answer: &Answer,
) -> Value {
    let response = match answer {
        Answer::Json(_, v) => v.clone(),
        Answer::Html(_, s) => json!(s),
    };
    json!({
        "time": crate::clock::rfc3339(chrono::Utc::now()),
        "method": req_method,
        "path": path,
        "query": query,
        "body": String::from_utf8_lossy(body),
        "status": answer.status(),
        "response": response,
    })
}
