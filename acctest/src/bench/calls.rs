//! Counting a run's API calls from the emulator's request log: reads, writes, polls, project IAM writes, faults.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::requests::{is_write, time};

/// What a request log says about one terraform command.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Calls {
    pub total: usize,
    /// GETs and read-only POSTs (`getIamPolicy`, operation `wait`).
    pub reads: usize,
    pub writes: usize,
    /// HTTP GETs only.
    pub gets: usize,
    /// Reads of an operation (polls and `wait`).
    pub operation_polls: usize,
    /// `setIamPolicy` on a project (one read-modify-write each, conflicts included).
    pub project_iam_writes: usize,
    /// Answers with status 429 or 503.
    pub throttled: usize,
    /// Answers with any other status ≥ 400.
    pub other_errors: usize,
    /// Calls per API (first path segment).
    pub per_api: BTreeMap<String, usize>,
    /// First to last answer, seconds.
    pub span_seconds: f64,
}

fn path(entry: &Value) -> &str {
    entry["path"].as_str().unwrap_or("")
}

/// `run`, `compute`, … from `/run/v2/...`.
pub fn api(entry: &Value) -> String {
    path(entry)
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_string()
}

/// True for a read of a long-running operation (Cloud Run, Compute, Network Services) or DNS change.
pub fn is_operation_poll(entry: &Value) -> bool {
    let p = path(entry);
    !is_write(entry) && (p.contains("/operations/") || p.contains("/changes/"))
}

/// True for `projects.setIamPolicy` of Resource Manager (not a Cloud Run service's policy).
pub fn is_project_iam_write(entry: &Value) -> bool {
    let p = path(entry);
    api(entry) == "cloudresourcemanager" && p.ends_with(":setIamPolicy")
}

/// Time between the first and the last answer of `log`.
pub fn span(log: &[Value]) -> Duration {
    let times: Vec<_> = log.iter().filter_map(time).collect();
    match (times.iter().min(), times.iter().max()) {
        (Some(a), Some(b)) => (*b - *a).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

impl Calls {
    pub fn of(log: &[Value]) -> Calls {
        let mut c = Calls {
            total: log.len(),
            span_seconds: span(log).as_secs_f64(),
            ..Calls::default()
        };
        for e in log {
            if e["method"] == "GET" {
                c.gets += 1;
            }
            if is_write(e) {
                c.writes += 1;
            } else {
                c.reads += 1;
            }
            if is_operation_poll(e) {
                c.operation_polls += 1;
            }
            if is_project_iam_write(e) {
                c.project_iam_writes += 1;
            }
            match e["status"].as_u64().unwrap_or(0) {
                429 | 503 => c.throttled += 1,
                s if s >= 400 => c.other_errors += 1,
                _ => {}
            }
            *c.per_api.entry(api(e)).or_default() += 1;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(method: &str, path: &str, status: u64, time: &str) -> Value {
        json!({"method": method, "path": path, "status": status, "time": time, "query": {}})
    }

    #[test]
    fn counts_reads_writes_polls_iam_writes_and_faults() {
        let log = vec![
            entry(
                "GET",
                "/run/v2/projects/p/locations/r/services/a",
                404,
                "2026-01-01T00:00:00Z",
            ),
            entry(
                "POST",
                "/run/v2/projects/p/locations/r/services",
                200,
                "2026-01-01T00:00:00.1Z",
            ),
            entry(
                "GET",
                "/run/v2/projects/p/locations/r/operations/x",
                503,
                "2026-01-01T00:00:00.2Z",
            ),
            entry(
                "POST",
                "/cloudresourcemanager/v1/projects/p:getIamPolicy",
                200,
                "2026-01-01T00:00:00.3Z",
            ),
            entry(
                "POST",
                "/cloudresourcemanager/v1/projects/p:setIamPolicy",
                429,
                "2026-01-01T00:00:00.4Z",
            ),
            entry(
                "POST",
                "/run/v2/projects/p/locations/r/services/a:setIamPolicy",
                200,
                "2026-01-01T00:00:01.5Z",
            ),
        ];
        let c = Calls::of(&log);
        assert_eq!(c.total, 6);
        assert_eq!(c.reads, 3);
        assert_eq!(c.writes, 3);
        assert_eq!(c.gets, 2);
        assert_eq!(c.operation_polls, 1);
        assert_eq!(c.project_iam_writes, 1);
        assert_eq!(c.throttled, 2);
        assert_eq!(c.other_errors, 1);
        assert_eq!(c.per_api["run"], 4);
        assert!((c.span_seconds - 1.5).abs() < 1e-9);
    }
}
