//! Global backend services: insert/patch/update checks, Google's defaults, and the fingerprint.

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::errors;
use super::neg;
use super::refs::{self, ResourceRef, Scope};
use crate::error::ApiError;

pub const COLLECTION: &str = "backendServices";
pub const KIND: &str = "compute#backendService";

/// Fields Google fills and ignores when a client sends them.
const OUTPUT_ONLY: &[&str] = &[
    "id",
    "kind",
    "selfLink",
    "creationTimestamp",
    "region",
    "usedBy",
    "securityPolicy",
    "edgeSecurityPolicy",
    "fingerprint",
];

/// Limits on a backend that make no sense for a serverless NEG; Google rejects them.
const CAPACITY_FIELDS: &[&str] = &[
    "maxUtilization",
    "maxRate",
    "maxRatePerInstance",
    "maxRatePerEndpoint",
    "maxConnections",
    "maxConnectionsPerInstance",
    "maxConnectionsPerEndpoint",
];

/// Looks a NEG up by reference; the handler answers from the world store.
pub type NegLookup<'a> = &'a dyn Fn(&ResourceRef) -> Option<Value>;

/// What the stored document is built from: who the resource is and when it was made.
pub struct Identity<'a> {
    pub project: &'a str,
    pub name: &'a str,
    pub id: &'a str,
    /// `creationTimestamp`, already in Compute's format (kept as-is across updates).
    pub created: &'a str,
}

/// Builds the stored backend service from a request body (insert, update, or a patched copy).
pub fn build(
    body: &Value,
    who: &Identity<'_>,
    lookup_neg: NegLookup<'_>,
    salt: u64,
) -> Result<Value, ApiError> {
    let input = body.as_object().ok_or_else(|| errors::required("name"))?;
    let mut doc: Map<String, Value> = input
        .iter()
        .filter(|(k, _)| !OUTPUT_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    drop_empty_lists(&mut doc);
    apply_defaults(&mut doc);
    check_and_canonicalise_backends(&mut doc, who.project, lookup_neg)?;
    if let Some(Value::Object(iap)) = doc.get_mut("iap") {
        hash_iap_secret(iap);
    }
    doc.insert("name".into(), Value::from(who.name));
    doc.insert("id".into(), Value::from(who.id));
    doc.insert("kind".into(), Value::from(KIND));
    doc.insert("creationTimestamp".into(), Value::from(who.created));
    doc.insert(
        "selfLink".into(),
        Value::from(refs::global_url(who.project, COLLECTION, who.name)),
    );
    // Compute answers int64 fields (`Duration.seconds`, `id`) as JSON strings, whatever the client sent.
    let mut encoded = Value::Object(doc);
    crate::proto3::encode(
        crate::discovery::document(crate::api::Api::Compute),
        "BackendService",
        &mut encoded,
    );
    let Value::Object(mut doc) = encoded else {
        return Err(errors::required("name"));
    };
    let fingerprint = fingerprint_of(&doc, salt);
    doc.insert("fingerprint".into(), Value::from(fingerprint));
    Ok(Value::Object(doc))
}

/// Checks the name of an insert body.
pub fn check_name(body: &Value) -> Result<String, ApiError> {
    match body.get("name").and_then(Value::as_str) {
        None | Some("") => Err(errors::required("name")),
        Some(n) if !refs::is_valid_name(n) => Err(errors::invalid(
            "name",
            n,
            &format!("Must be a match of regex '{}'", refs::NAME_REGEX),
        )),
        Some(n) => Ok(n.to_string()),
    }
}

/// Patch and update must carry the current fingerprint; otherwise 412 `conditionNotMet`.
pub fn check_fingerprint(current: &Value, body: &Value) -> Result<(), ApiError> {
    let have = current.get("fingerprint").and_then(Value::as_str);
    let sent = body.get("fingerprint").and_then(Value::as_str);
    match (have, sent) {
        (Some(h), Some(s)) if h == s => Ok(()),
        _ => Err(errors::stale_fingerprint()),
    }
}

/// JSON merge patch (RFC 7396), which is what Compute's PATCH applies: objects merge, arrays and
/// scalars replace, `null` removes.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Canonical URLs of the NEGs (or other groups) this backend service sends traffic to.
pub fn backend_groups(bs: &Value) -> Vec<String> {
    bs.get("backends")
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .filter_map(|b| b.get("group").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

// Compute does not echo empty lists (`backends: []`, `healthChecks: []`): the transcripts show
// them sent on PUT and absent on the following GET.
fn drop_empty_lists(doc: &mut Map<String, Value>) {
    doc.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()));
}

// The defaults every recorded GET shows, whatever the scheme.
fn apply_defaults(doc: &mut Map<String, Value>) {
    let defaults: [(&str, Value); 8] = [
        ("affinityCookieTtlSec", Value::from(0)),
        ("description", Value::from("")),
        ("loadBalancingScheme", Value::from("EXTERNAL")),
        ("port", Value::from(80)),
        ("portName", Value::from("http")),
        ("protocol", Value::from("HTTP")),
        ("sessionAffinity", Value::from("NONE")),
        ("timeoutSec", Value::from(30)),
    ];
    for (k, v) in defaults {
        doc.entry(k.to_string()).or_insert(v);
    }
    doc.entry("connectionDraining".to_string())
        .or_insert_with(|| serde_json::json!({"drainingTimeoutSec": 0}));
    if doc.get("loadBalancingScheme").and_then(Value::as_str) == Some("EXTERNAL") {
        doc.entry("enableCDN".to_string())
            .or_insert(Value::from(false));
    }
}

fn check_and_canonicalise_backends(
    doc: &mut Map<String, Value>,
    project: &str,
    lookup_neg: NegLookup<'_>,
) -> Result<(), ApiError> {
    let has_health_checks = doc
        .get("healthChecks")
        .and_then(Value::as_array)
        .is_some_and(|h| !h.is_empty());
    let Some(Value::Array(backends)) = doc.get_mut("backends") else {
        return Ok(());
    };
    let mut seen: Vec<String> = Vec::new();
    for (i, backend) in backends.iter_mut().enumerate() {
        let Some(b) = backend.as_object_mut() else {
            return Err(errors::invalid(
                &format!("backends[{i}]"),
                "",
                "A backend must be an object.",
            ));
        };
        let field = format!("backends[{i}].group");
        let group = match b.get("group").and_then(Value::as_str) {
            None | Some("") => return Err(errors::required(&field)),
            Some(g) => g.to_string(),
        };
        let reference = refs::parse(&group, project)
            .filter(|r| r.collection == neg::COLLECTION && matches!(r.scope, Scope::Region(_)))
            .ok_or_else(|| errors::invalid(&field, &group, "The URL is malformed."))?;
        let target = lookup_neg(&reference).ok_or_else(|| errors::not_found(&reference.path()))?;
        // The NEG's own selfLink is canonical (project id, never the number the client may have used).
        let url = target
            .get("selfLink")
            .and_then(Value::as_str)
            .map_or_else(|| reference.url(), str::to_string);
        if seen.contains(&url) {
            return Err(errors::invalid(
                &field,
                &group,
                "Backend group is specified more than once in the backend service.",
            ));
        }
        seen.push(url.clone());
        b.insert("group".into(), Value::from(url));
        if neg::is_serverless(&target) {
            if has_health_checks {
                return Err(errors::invalid(
                    "healthChecks",
                    "",
                    "A backend service cannot have a healthcheck with Serverless network endpoint group backends.",
                ));
            }
            if let Some(bad) = CAPACITY_FIELDS.iter().find(|f| b.contains_key(**f)) {
                let value = b.get(*bad).map(Value::to_string).unwrap_or_default();
                return Err(errors::invalid(
                    &format!("backends[{i}].{bad}"),
                    &value,
                    "Capacity settings are not supported for Serverless network endpoint group backends.",
                ));
            }
        }
        b.entry("balancingMode".to_string())
            .or_insert(Value::from("UTILIZATION"));
        b.entry("capacityScaler".to_string())
            .or_insert(Value::from(1));
    }
    Ok(())
}

// Google stores only the SHA-256 of the OAuth client secret and echoes the hash.
fn hash_iap_secret(iap: &mut Map<String, Value>) {
    if let Some(secret) = iap.remove("oauth2ClientSecret") {
        let text = secret.as_str().unwrap_or_default();
        let digest = Sha256::digest(text.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        iap.insert("oauth2ClientSecretSha256".into(), Value::from(hex));
    }
}

/// An 8-byte base64 fingerprint of the content and a per-write salt, so it changes on every write.
pub fn fingerprint_of(doc: &Map<String, Value>, salt: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(Value::Object(doc.clone()).to_string().as_bytes());
    hasher.update(salt.to_be_bytes());
    let digest = hasher.finalize();
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn who() -> Identity<'static> {
        Identity {
            project: "p",
            name: "bs",
            id: "42",
            created: "2026-01-01T00:00:00.000-08:00",
        }
    }

    fn serverless_neg(_: &ResourceRef) -> Option<Value> {
        Some(json!({"networkEndpointType": "SERVERLESS"}))
    }

    fn no_neg(_: &ResourceRef) -> Option<Value> {
        None
    }

    #[test]
    fn defaults_match_what_google_returns_for_internal_self_managed() {
        let body = json!({"name": "bs", "loadBalancingScheme": "INTERNAL_SELF_MANAGED", "backends": [], "healthChecks": []});
        let bs = build(&body, &who(), &serverless_neg, 1).unwrap();
        assert_eq!(bs["protocol"], "HTTP");
        assert_eq!(bs["port"], 80);
        assert_eq!(bs["portName"], "http");
        assert_eq!(bs["timeoutSec"], 30);
        assert_eq!(bs["description"], "");
        assert_eq!(bs["connectionDraining"], json!({"drainingTimeoutSec": 0}));
        assert!(bs.get("enableCDN").is_none());
        assert!(bs.get("backends").is_none());
        assert_eq!(bs["fingerprint"].as_str().unwrap().len(), 12);
    }

    #[test]
    fn backend_groups_are_stored_as_canonical_urls() {
        let body = json!({"name": "bs", "backends": [{"group": "projects/p/regions/r/networkEndpointGroups/n"}]});
        let bs = build(&body, &who(), &serverless_neg, 1).unwrap();
        assert_eq!(
            bs["backends"][0]["group"],
            "https://www.googleapis.com/compute/v1/projects/p/regions/r/networkEndpointGroups/n"
        );
        assert_eq!(bs["backends"][0]["balancingMode"], "UTILIZATION");
    }

    #[test]
    fn a_backend_on_a_missing_neg_is_not_found() {
        let body = json!({"name": "bs", "backends": [{"group": "projects/p/regions/r/networkEndpointGroups/n"}]});
        let err = build(&body, &who(), &no_neg, 1).unwrap_err();
        assert_eq!((err.code, err.reason), (404, "notFound"));
        assert!(err
            .message
            .contains("projects/p/regions/r/networkEndpointGroups/n"));
    }

    #[test]
    fn a_malformed_group_url_is_invalid() {
        let body = json!({"name": "bs", "backends": [{"group": "not-a-url"}]});
        let err = build(&body, &who(), &serverless_neg, 1).unwrap_err();
        assert_eq!((err.code, err.reason), (400, "invalid"));
    }

    #[test]
    fn serverless_backends_reject_health_checks_and_max_utilization() {
        let hc = json!({"name": "bs", "healthChecks": ["x"], "backends": [{"group": "projects/p/regions/r/networkEndpointGroups/n"}]});
        assert_eq!(
            build(&hc, &who(), &serverless_neg, 1).unwrap_err().code,
            400
        );
        let mu = json!({"name": "bs", "backends": [{"group": "projects/p/regions/r/networkEndpointGroups/n", "maxUtilization": 0.8}]});
        assert_eq!(
            build(&mu, &who(), &serverless_neg, 1).unwrap_err().code,
            400
        );
    }

    #[test]
    fn the_fingerprint_changes_with_every_write_salt() {
        let body = json!({"name": "bs"});
        let a = build(&body, &who(), &no_neg, 1).unwrap();
        let b = build(&body, &who(), &no_neg, 2).unwrap();
        assert_ne!(a["fingerprint"], b["fingerprint"]);
    }

    #[test]
    fn a_missing_or_stale_fingerprint_is_a_condition_not_met() {
        let cur = json!({"fingerprint": "abc="});
        assert!(check_fingerprint(&cur, &json!({"fingerprint": "abc="})).is_ok());
        assert_eq!(
            check_fingerprint(&cur, &json!({"fingerprint": "old="}))
                .unwrap_err()
                .code,
            412
        );
        assert_eq!(
            check_fingerprint(&cur, &json!({})).unwrap_err().reason,
            "conditionNotMet"
        );
    }

    #[test]
    fn merge_patch_merges_objects_and_replaces_lists() {
        let mut t = json!({"a": {"x": 1, "y": 2}, "l": [1, 2], "d": "keep"});
        merge_patch(&mut t, &json!({"a": {"y": null, "z": 3}, "l": [3]}));
        assert_eq!(t, json!({"a": {"x": 1, "z": 3}, "l": [3], "d": "keep"}));
    }

    #[test]
    fn iap_secret_is_stored_as_its_sha256() {
        let body = json!({"name": "bs", "iap": {"enabled": false, "oauth2ClientId": "", "oauth2ClientSecret": ""}});
        let bs = build(&body, &who(), &no_neg, 1).unwrap();
        assert_eq!(
            bs["iap"]["oauth2ClientSecretSha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(bs["iap"].get("oauth2ClientSecret").is_none());
    }
}
