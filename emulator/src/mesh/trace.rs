//! Spans, one per hop through the mesh proxy, kept like Cloud Trace shows them: one trace id for a whole call
//! chain, carried between hops in the W3C `traceparent` header (https://www.w3.org/TR/trace-context/), which
//! Cloud Run and Cloud Trace accept beside Google's `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1`.

use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;

/// The most spans kept; older ones are dropped first.
pub const MAX_SPANS: usize = 10_000;

/// Where a hop sits in its trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits: the span that made this call, if any.
    pub parent_span_id: Option<String>,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

/// The context an incoming request carries: `traceparent` first, then `X-Cloud-Trace-Context`.
pub fn incoming(headers: &HeaderMap) -> Option<Context> {
    let traceparent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let p: Vec<&str> = v.trim().split('-').collect();
            match p.as_slice() {
                [version, trace, parent, _flags] if is_hex(version, 2) || *version == "00" => {
                    (is_hex(trace, 32) && is_hex(parent, 16)).then(|| Context {
                        trace_id: trace.to_string(),
                        parent_span_id: Some(parent.to_string()),
                    })
                }
                _ => None,
            }
        });
    traceparent.or_else(|| {
        let v = headers.get("x-cloud-trace-context")?.to_str().ok()?;
        let (trace, rest) = v.split_once('/').unwrap_or((v, ""));
        let trace = trace.to_ascii_lowercase();
        if !is_hex(&trace, 32) {
            return None;
        }
        let span = rest
            .split(';')
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| *s != 0)
            .map(|s| format!("{s:016x}"));
        Some(Context {
            trace_id: trace,
            parent_span_id: span,
        })
    })
}

/// The `traceparent` value naming `span_id` in `trace_id` (sampled).
pub fn traceparent(trace_id: &str, span_id: &str) -> String {
    format!("00-{trace_id}-{span_id}-01")
}

/// One hop: who called whom through which rule, and what happened.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub caller: String,
    pub service: Option<String>,
    pub revision: Option<String>,
    pub host: String,
    pub method: String,
    pub path: String,
    pub route: Option<String>,
    pub rule: Option<usize>,
    pub destination: Option<String>,
    pub status: u16,
    pub start: String,
    pub end: String,
    pub retries: u32,
    pub fault: Option<Value>,
    pub error: Option<String>,
}

/// The kept spans, oldest first.
#[derive(Debug, Default)]
pub struct Traces {
    spans: VecDeque<Span>,
}

impl Traces {
    pub fn push(&mut self, span: Span) {
        if self.spans.len() >= MAX_SPANS {
            self.spans.pop_front();
        }
        self.spans.push_back(span);
    }

    /// The spans as JSON lines, optionally of one trace.
    pub fn json_lines(&self, trace_id: Option<&str>) -> String {
        let mut out = String::new();
        for s in self
            .spans
            .iter()
            .filter(|s| trace_id.is_none_or(|t| s.trace_id == t))
        {
            if let Ok(line) = serde_json::to_string(s) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    pub fn clear(&mut self) {
        self.spans.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn traceparent_and_cloud_trace_context_are_read_and_garbage_is_not() {
        let mut h = HeaderMap::new();
        h.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        let c = incoming(&h).unwrap();
        assert_eq!(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(c.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        let mut h = HeaderMap::new();
        h.insert(
            "x-cloud-trace-context",
            HeaderValue::from_static("4BF92F3577B34DA6A3CE929D0E0E4736/255;o=1"),
        );
        let c = incoming(&h).unwrap();
        assert_eq!(c.parent_span_id.as_deref(), Some("00000000000000ff"));
        let mut h = HeaderMap::new();
        h.insert(
            "traceparent",
            HeaderValue::from_static("00-zz-00f067aa0ba902b7-01"),
        );
        assert_eq!(incoming(&h), None);
    }
}
