//! Questions about the emulator's request log (`/_emulator/requests`).

use serde_json::Value;

/// Read-only calls that Google's APIs spell as POST.
const READ_ONLY_POSTS: &[&str] = &[":getIamPolicy", ":testIamPermissions", ":wait", "/wait"];

/// True for a call that can change something (create, update, delete, setIamPolicy).
pub fn is_write(entry: &Value) -> bool {
    let method = entry["method"].as_str().unwrap_or("");
    let path = entry["path"].as_str().unwrap_or("");
    match method {
        "GET" | "HEAD" => false,
        "POST" => !READ_ONLY_POSTS.iter().any(|s| path.ends_with(s)),
        _ => true,
    }
}

/// `METHOD path` of every write, for messages.
pub fn writes(log: &[Value]) -> Vec<String> {
    log.iter().filter(|e| is_write(e)).map(describe).collect()
}

/// `METHOD path -> status`.
pub fn describe(entry: &Value) -> String {
    format!(
        "{} {} -> {}",
        entry["method"].as_str().unwrap_or(""),
        entry["path"].as_str().unwrap_or(""),
        entry["status"]
    )
}

/// Entries whose method is `method` and whose path ends with `suffix`.
pub fn matching<'a>(log: &'a [Value], method: &str, suffix: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|e| e["method"] == method && e["path"].as_str().unwrap_or("").ends_with(suffix))
        .collect()
}

/// The `time` of an entry.
pub fn time(entry: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(entry["time"].as_str()?)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Writes that succeeded (2xx) and create something: POST to a collection (Cloud Run, Compute,
/// Network Services, DNS) or an upsert PATCH with `allowMissing`.
pub fn successful_creates(log: &[Value]) -> Vec<String> {
    log.iter()
        .filter(|e| {
            let ok = e["status"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s));
            let path = e["path"].as_str().unwrap_or("");
            let last = path.rsplit('/').next().unwrap_or("");
            let post_to_collection = e["method"] == "POST" && !last.contains(':') && last != "wait";
            let upsert = e["method"] == "PATCH" && e["query"]["allowMissing"] == "true";
            ok && (post_to_collection || upsert)
        })
        .map(describe)
        .collect()
}

/// Collections whose member names differ per service or per operation: a path's segment after one of these is
/// written `{id}` by [`shape`] (a `:verb` suffix is kept).
const PER_OBJECT_COLLECTIONS: &[&str] = &[
    "services",
    "operations",
    "networkEndpointGroups",
    "backendServices",
    "httpRoutes",
    "changes",
];

/// `METHOD path` with the names of per-service objects and operations replaced by `{id}`, so the calls of many
/// services group by kind (`GET /compute/v1/projects/p/global/backendServices/{id}`).
pub fn shape(entry: &Value) -> String {
    let path = entry["path"].as_str().unwrap_or("");
    let mut out: Vec<String> = Vec::new();
    let mut templated = false;
    for seg in path.split('/') {
        let after_collection = out
            .last()
            .is_some_and(|prev| PER_OBJECT_COLLECTIONS.contains(&prev.as_str()));
        if after_collection && !templated {
            let verb = seg.find(':').map(|i| &seg[i..]).unwrap_or("");
            out.push(format!("{{id}}{verb}"));
            templated = true;
        } else {
            out.push(seg.to_string());
            templated = false;
        }
    }
    format!(
        "{} {}",
        entry["method"].as_str().unwrap_or(""),
        out.join("/")
    )
}

/// The calls of `log` grouped by [`shape`], most frequent first: `  37  GET /run/v2/.../services/{id}`.
pub fn grouped(log: &[Value]) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for e in log {
        *counts.entry(shape(e)).or_default() += 1;
    }
    let mut rows: Vec<(String, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows.iter()
        .map(|(s, n)| format!("{n:>5}  {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `log` for a failure message: grouped by kind ([`grouped`]), then every call in order ([`describe`]).
pub fn listing(log: &[Value]) -> String {
    format!(
        "by kind:\n{}\n\nin order:\n{}",
        grouped(log),
        log.iter().map(describe).collect::<Vec<_>>().join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shape_names_per_object_segments_and_keeps_verbs_and_shared_names() {
        let e = |m: &str, p: &str| json!({"method": m, "path": p});
        assert_eq!(
            shape(&e(
                "POST",
                "/run/v2/projects/p/locations/r/services/svc-01:getIamPolicy"
            )),
            "POST /run/v2/projects/p/locations/r/services/{id}:getIamPolicy"
        );
        assert_eq!(
            shape(&e(
                "POST",
                "/compute/v1/projects/p/regions/r/operations/op-1/wait"
            )),
            "POST /compute/v1/projects/p/regions/r/operations/{id}/wait"
        );
        assert_eq!(
            shape(&e("GET", "/dns/v1/projects/p/managedZones/z/changes/7")),
            "GET /dns/v1/projects/p/managedZones/z/changes/{id}"
        );
        assert_eq!(
            shape(&e("GET", "/compute/v1/projects/p/global/networks/n")),
            "GET /compute/v1/projects/p/global/networks/n"
        );
        let log = vec![
            e("GET", "/x/services/a"),
            e("GET", "/x/services/b"),
            e("POST", "/x/services"),
        ];
        assert_eq!(
            grouped(&log),
            "    2  GET /x/services/{id}\n    1  POST /x/services"
        );
    }
}
