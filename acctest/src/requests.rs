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
