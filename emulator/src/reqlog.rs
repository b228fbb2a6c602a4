//! The request log: one JSON object per API call, kept in memory and optionally appended to a file.
//!
//! Bounded, because anyone who can reach the port can fill it: a `body` or `response` longer than
//! [`MAX_FIELD_BYTES`] is cut there and ends with a marker saying how long it was, and when the entries kept
//! exceed [`MAX_ENTRIES`] or [`MAX_BYTES`] the oldest go first (`dropped` counts them). csmrun's own requests and
//! answers are a few KiB, so what it sent is always logged whole.

use serde_json::Value;
use std::collections::VecDeque;
use std::io::Write;

/// Longest `body` or `response` kept, in bytes of its JSON text.
pub const MAX_FIELD_BYTES: usize = 256 * 1024;
/// Most entries kept.
pub const MAX_ENTRIES: usize = 100_000;
/// Most bytes of entries (as JSON text) kept.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// The request headers a log entry records, never credentials: `x-goog-user-project` (which project a request
/// bills) and `user-agent` (which client sent it, as Cloud Audit Logs keep `callerSuppliedUserAgent`), so one log
/// of many concurrent clients can be split per client.
pub const LOGGED_HEADERS: [&str; 2] = ["x-goog-user-project", "user-agent"];

/// Longest logged header value, in bytes: the rest is cut, so a client cannot grow each entry by its headers.
pub const MAX_HEADER_BYTES: usize = 1024;

/// The entry's `headers` object for `headers`, or `None` when the request sent none of [`LOGGED_HEADERS`].
pub fn logged_headers(headers: &axum::http::HeaderMap) -> Option<Value> {
    let mut out = serde_json::Map::new();
    for name in LOGGED_HEADERS {
        if let Some(v) = headers.get(name) {
            let mut text = String::from_utf8_lossy(v.as_bytes()).into_owned();
            if text.len() > MAX_HEADER_BYTES {
                let mut cut = MAX_HEADER_BYTES;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            out.insert(name.to_string(), Value::String(text));
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Request log entries (`time`, `method`, `path`, `query`, `body`, `status`, `response`, and `headers` when the
/// request sent one of [`LOGGED_HEADERS`]).
#[derive(Debug, Default)]
pub struct RequestLog {
    /// Each entry as its JSON line: kept once, as text, so reading the log does not double it.
    entries: VecDeque<String>,
    bytes: usize,
    dropped: u64,
    file: Option<std::fs::File>,
}

/// Cuts a long field to [`MAX_FIELD_BYTES`] with a marker, at a character boundary.
fn truncate_field(v: &mut Value) {
    let text = match &*v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.len() <= MAX_FIELD_BYTES {
        return;
    }
    let mut cut = MAX_FIELD_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    *v = Value::String(format!(
        "{}...[truncated by csmrun-emulator: {} bytes in all]",
        &text[..cut],
        text.len()
    ));
}

impl RequestLog {
    /// A log that also appends to `path` (created or truncated).
    pub fn with_file(path: &std::path::Path) -> std::io::Result<RequestLog> {
        let file = std::fs::File::create(path)?;
        Ok(RequestLog {
            file: Some(file),
            ..RequestLog::default()
        })
    }

    pub fn push(&mut self, mut entry: Value) {
        for field in ["body", "response"] {
            if let Some(v) = entry.get_mut(field) {
                truncate_field(v);
            }
        }
        let line = entry.to_string();
        if let Some(file) = &mut self.file {
            // A full disk must not fail the API call; the in-memory log still has the entry.
            let _ = writeln!(file, "{line}").and_then(|_| file.flush());
        }
        self.bytes = self.bytes.saturating_add(line.len());
        self.entries.push_back(line);
        while self.entries.len() > MAX_ENTRIES || (self.bytes > MAX_BYTES && self.entries.len() > 1)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes = self.bytes.saturating_sub(old.len());
                self.dropped = self.dropped.saturating_add(1);
            }
        }
    }

    /// The log as JSON lines.
    pub fn json_lines(&self) -> String {
        let mut out = String::with_capacity(self.bytes.saturating_add(self.entries.len()));
        for line in &self.entries {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    pub fn entries(&self) -> Vec<Value> {
        self.entries
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// How many of the oldest entries were dropped to keep the log within its bounds.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_large_body_is_cut_with_a_marker_and_a_small_one_is_kept_whole() {
        let mut log = RequestLog::default();
        log.push(json!({"method": "POST", "body": "x".repeat(MAX_FIELD_BYTES * 4), "response": {"ok": 1}}));
        log.push(json!({"method": "GET", "body": "{\"a\":1}", "response": {"ok": 2}}));
        let entries = log.entries();
        let body = entries[0]["body"].as_str().unwrap();
        assert!(body.len() < MAX_FIELD_BYTES + 100, "{}", body.len());
        assert!(body.ends_with(&format!(
            "[truncated by csmrun-emulator: {} bytes in all]",
            MAX_FIELD_BYTES * 4
        )));
        assert_eq!(entries[1]["body"], "{\"a\":1}");
        assert_eq!(entries[1]["response"], json!({"ok": 2}));
    }

    #[test]
    fn a_huge_response_is_cut_too() {
        let mut log = RequestLog::default();
        let items: Vec<Value> = (0..50_000)
            .map(|i| json!({"name": format!("item-{i}")}))
            .collect();
        log.push(json!({"method": "GET", "response": {"items": items}}));
        let r = log.entries()[0]["response"].clone();
        assert!(r
            .as_str()
            .unwrap()
            .contains("[truncated by csmrun-emulator:"));
    }

    #[test]
    fn the_log_keeps_within_its_byte_bound_by_dropping_the_oldest() {
        let mut log = RequestLog::default();
        let big = "y".repeat(MAX_FIELD_BYTES);
        let n = MAX_BYTES / MAX_FIELD_BYTES + 50;
        for i in 0..n {
            log.push(json!({"seq": i, "body": big}));
        }
        assert!(log.bytes <= MAX_BYTES, "{}", log.bytes);
        assert!(log.dropped() >= 50);
        let entries = log.entries();
        assert_eq!(
            entries.last().unwrap()["seq"],
            json!(n - 1),
            "the newest is kept"
        );
    }
}
