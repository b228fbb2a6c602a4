//! Regional serverless network endpoint groups: insert checks and the document Google stores.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::errors;
use super::refs;
use crate::clock::compute_timestamp;
use crate::error::ApiError;

pub const COLLECTION: &str = "networkEndpointGroups";
pub const KIND: &str = "compute#networkEndpointGroup";

/// Fields a client may set on a NEG; everything else Google either fills or ignores.
const INPUT_FIELDS: &[&str] = &[
    "name",
    "description",
    "networkEndpointType",
    "cloudRun",
    "appEngine",
    "cloudFunction",
    "serverlessDeployment",
    "annotations",
    "defaultPort",
    "network",
    "subnetwork",
];

/// The serverless targets; exactly one must be set on a SERVERLESS NEG.
const SERVERLESS_TARGETS: &[&str] = &[
    "cloudRun",
    "appEngine",
    "cloudFunction",
    "serverlessDeployment",
];

/// Checks an insert body and returns the stored NEG with its output-only fields filled
/// (`id`, `kind`, `selfLink`, `creationTimestamp`, `region`, `size`).
pub fn build(
    body: &Value,
    project: &str,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let input = body.as_object().ok_or_else(|| errors::required("name"))?;
    let name = match input.get("name").and_then(Value::as_str) {
        None | Some("") => return Err(errors::required("name")),
        Some(n) => n,
    };
    if !refs::is_valid_name(name) {
        return Err(errors::invalid(
            "name",
            name,
            &format!("Must be a match of regex '{}'", refs::NAME_REGEX),
        ));
    }
    let endpoint_type = input
        .get("networkEndpointType")
        .and_then(Value::as_str)
        .unwrap_or("GCE_VM_IP_PORT");
    if endpoint_type != "SERVERLESS" {
        return Err(errors::invalid(
            "networkEndpointType",
            endpoint_type,
            "csmrun-emulator models regional network endpoint groups of type SERVERLESS only.",
        ));
    }
    check_serverless_target(input)?;

    let mut doc = Map::new();
    for field in INPUT_FIELDS {
        if let Some(v) = input.get(*field) {
            doc.insert((*field).to_string(), v.clone());
        }
    }
    doc.insert("networkEndpointType".into(), Value::from("SERVERLESS"));
    doc.insert("id".into(), Value::from(id));
    doc.insert("kind".into(), Value::from(KIND));
    doc.insert(
        "creationTimestamp".into(),
        Value::from(compute_timestamp(now)),
    );
    doc.insert(
        "region".into(),
        Value::from(refs::region_url(project, region)),
    );
    doc.insert(
        "selfLink".into(),
        Value::from(refs::regional_url(project, region, COLLECTION, name)),
    );
    doc.insert("size".into(), Value::from(0));
    Ok(Value::Object(doc))
}

fn check_serverless_target(input: &Map<String, Value>) -> Result<(), ApiError> {
    let set: Vec<&str> = SERVERLESS_TARGETS
        .iter()
        .copied()
        .filter(|f| input.get(*f).is_some_and(|v| !v.is_null()))
        .collect();
    match set.as_slice() {
        [] => Err(errors::invalid(
            "networkEndpointType",
            "SERVERLESS",
            "A serverless network endpoint group must specify exactly one of cloudRun, appEngine, cloudFunction or serverlessDeployment.",
        )),
        [one] => {
            if *one == "cloudRun" {
                let run = input.get("cloudRun").and_then(Value::as_object);
                let has = |k: &str| {
                    run.and_then(|r| r.get(k))
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty())
                };
                if !has("service") && !has("urlMask") {
                    return Err(errors::invalid(
                        "cloudRun",
                        "",
                        "Either cloudRun.service or cloudRun.urlMask must be specified.",
                    ));
                }
            }
            Ok(())
        }
        many => Err(errors::invalid(
            "networkEndpointType",
            "SERVERLESS",
            &format!(
                "Only one of cloudRun, appEngine, cloudFunction or serverlessDeployment may be specified; got {}.",
                many.join(", ")
            ),
        )),
    }
}

/// Whether a stored NEG is serverless (backend services treat those specially).
pub fn is_serverless(neg: &Value) -> bool {
    neg.get("networkEndpointType").and_then(Value::as_str) == Some("SERVERLESS")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn output_only_fields_are_filled_and_client_copies_ignored() {
        let body = json!({
            "name": "svc-neg", "networkEndpointType": "SERVERLESS",
            "cloudRun": {"service": "svc"},
            "region": "projects/p/global/regions/us-central1", "size": 9
        });
        let neg = build(&body, "p", "us-central1", "123", now()).unwrap();
        assert_eq!(
            neg["selfLink"],
            "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1/networkEndpointGroups/svc-neg"
        );
        assert_eq!(
            neg["region"],
            "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1"
        );
        assert_eq!(neg["size"], 0);
        assert_eq!(neg["kind"], KIND);
        assert_eq!(neg["id"], "123");
        assert_eq!(neg["cloudRun"]["service"], "svc");
    }

    #[test]
    fn serverless_neg_needs_exactly_one_target() {
        let none = json!({"name": "n", "networkEndpointType": "SERVERLESS"});
        assert_eq!(build(&none, "p", "r", "1", now()).unwrap_err().code, 400);
        let two = json!({"name": "n", "networkEndpointType": "SERVERLESS",
            "cloudRun": {"service": "s"}, "appEngine": {"service": "a"}});
        assert_eq!(build(&two, "p", "r", "1", now()).unwrap_err().code, 400);
        let empty_run = json!({"name": "n", "networkEndpointType": "SERVERLESS", "cloudRun": {}});
        assert_eq!(
            build(&empty_run, "p", "r", "1", now()).unwrap_err().reason,
            "invalid"
        );
    }

    #[test]
    fn a_missing_name_is_a_required_field_error() {
        let err = build(
            &json!({"networkEndpointType": "SERVERLESS"}),
            "p",
            "r",
            "1",
            now(),
        )
        .unwrap_err();
        assert_eq!(err.reason, "required");
    }
}
