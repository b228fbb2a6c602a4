//! The request log: one JSON object per API call, kept in memory and optionally appended to a file.

use serde_json::Value;
use std::io::Write;

/// The request headers a log entry records: only `x-goog-user-project` (which project a request bills), never
/// credentials.
pub const LOGGED_HEADERS: [&str; 1] = ["x-goog-user-project"];

/// The entry's `headers` object for `headers`, or `None` when the request sent none of [`LOGGED_HEADERS`].
pub fn logged_headers(headers: &axum::http::HeaderMap) -> Option<Value> {
    let mut out = serde_json::Map::new();
    for name in LOGGED_HEADERS {
        if let Some(v) = headers.get(name) {
            out.insert(
                name.to_string(),
                Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            );
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Request log entries (`time`, `method`, `path`, `query`, `body`, `status`, `response`, and `headers` when the
/// request sent one of [`LOGGED_HEADERS`]).
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Vec<Value>,
    file: Option<std::fs::File>,
}

impl RequestLog {
    /// A log that also appends to `path` (created or truncated).
    pub fn with_file(path: &std::path::Path) -> std::io::Result<RequestLog> {
        let file = std::fs::File::create(path)?;
        Ok(RequestLog {
            entries: Vec::new(),
            file: Some(file),
        })
    }

    pub fn push(&mut self, entry: Value) {
        if let Some(file) = &mut self.file {
            // A full disk must not fail the API call; the in-memory log still has the entry.
            let _ = writeln!(file, "{entry}").and_then(|_| file.flush());
        }
        self.entries.push(entry);
    }

    /// The log as JSON lines.
    pub fn json_lines(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&e.to_string());
            out.push('\n');
        }
        out
    }

    pub fn entries(&self) -> &[Value] {
        &self.entries
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
