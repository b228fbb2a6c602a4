//! The mesh's part of the `/_emulator/` control plane (behind the same origin guard): workloads and traces.

use super::workload::WorkloadBody;
use crate::server::Shared;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_emulator/workloads",
            get(list_workloads)
                .post(set_workload)
                .delete(clear_workloads),
        )
        .route("/_emulator/traces", get(traces).delete(clear_traces))
}

fn bad(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}

async fn list_workloads(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({"workloads": shared.mesh.workloads()})).into_response()
}

/// `{"service": NAME, "project"?, "region"?, "upstream"?, "failPercent"?, "failStatus"?, "failKind"?,
/// "latency"?}`: replaces that service's settings.
async fn set_workload(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let parsed: WorkloadBody = match serde_json::from_str(&body) {
        Ok(b) => b,
        Err(e) => return bad(format!("workload: {e}")),
    };
    let workload = match parsed.into_workload() {
        Ok(w) => w,
        Err(e) => return bad(e),
    };
    let rendered = workload.render();
    match shared.mesh.set_workload(workload) {
        Ok(()) => Json(rendered).into_response(),
        Err(e) => bad(e),
    }
}

async fn clear_workloads(State(shared): State<Arc<Shared>>) -> Response {
    shared.mesh.clear_workloads();
    Json(json!({"workloads": []})).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TraceQuery {
    #[serde(default)]
    trace_id: Option<String>,
}

/// The spans as JSON lines, oldest first; `?traceId=` keeps one trace.
async fn traces(State(shared): State<Arc<Shared>>, Query(q): Query<TraceQuery>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        shared.mesh.traces(q.trace_id.as_deref()),
    )
        .into_response()
}

async fn clear_traces(State(shared): State<Arc<Shared>>) -> Response {
    shared.mesh.clear_traces();
    Json(json!({"cleared": true})).into_response()
}
