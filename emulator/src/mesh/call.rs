//! A call as it enters the mesh and the answer that comes back (the proxy port and `RunningEmulator::mesh_get`
//! make them; `engine` routes them).

use super::trace::Context;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;

/// A request entering the mesh from a caller.
pub struct Call {
    /// The proxy user: `NAME` or `NAME.REGION.PROJECT` of the calling Cloud Run service.
    pub caller: String,
    pub method: Method,
    /// Lower case, without a port.
    pub host: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub hops: u32,
    pub context: Option<Context>,
    /// Mesh time at which the hop starts, for a call a workload makes part way through its own hop (so a
    /// child span starts after the parent's modelled waits); None: now.
    pub at: Option<DateTime<Utc>>,
}

/// What the caller gets back, and how much mesh time it took.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub elapsed: Duration,
}

impl Answer {
    pub(super) fn text(status: u16, body: impl Into<String>) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Answer {
            status,
            headers,
            body: Bytes::from(body.into()),
            elapsed: Duration::zero(),
        }
    }

    pub(super) fn json(status: u16, body: &Value) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Answer {
            status,
            headers,
            body: Bytes::from(body.to_string()),
            elapsed: Duration::zero(),
        }
    }

    /// An answer the sidecar makes itself, with Envoy's body and the emulator's explanation in a header.
    pub(super) fn local(status: u16, envoy_body: &str, reason: &str) -> Answer {
        let mut a = Answer::text(status, envoy_body);
        if let Ok(v) = HeaderValue::from_str(&reason.replace(['\r', '\n'], " ")) {
            a.headers.insert("x-csmrun-reason", v);
        }
        a
    }
}
