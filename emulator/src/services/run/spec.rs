//! What Cloud Run accepts in a service spec, and the stored form of an accepted one.

use super::shape::apply_defaults;
use super::{limits, mesh, Name};
use crate::error::ApiError;
use crate::world::{collections, World};
use serde_json::{json, Map, Value};

const RESERVED_PREFIXES: [&str; 4] = [
    "run.googleapis.com",
    "cloud.googleapis.com",
    "serving.knative.dev",
    "autoscaling.knative.dev",
];

pub(super) fn valid_service_id(id: &str) -> bool {
    id.len() < 50
        && id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
}

pub(super) fn invalid(field: &str, description: &str) -> ApiError {
    ApiError::invalid_argument(format!("Violation in {field}: {description}"))
        .with_detail(json!({"@type": "type.googleapis.com/google.rpc.BadRequest",
                            "fieldViolations": [{"field": field, "description": description}]}))
}

/// The checks Cloud Run makes before accepting a service spec.
pub(super) fn check_spec(world: &World, name: &Name, body: &Value) -> Result<(), ApiError> {
    let template = body
        .get("template")
        .filter(|t| t.is_object())
        .ok_or_else(|| invalid("service.template", "missing required field"))?;
    let containers = template["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if containers.is_empty() {
        return Err(invalid(
            "service.template.containers",
            "at least one container is required",
        ));
    }
    for (i, c) in containers.iter().enumerate() {
        if c["image"].as_str().is_none_or(str::is_empty) {
            return Err(invalid(
                &format!("service.template.containers[{i}].image"),
                "missing required field",
            ));
        }
        limits::check(template, i, c)?;
    }
    for (where_, map) in [
        ("labels", &body["labels"]),
        ("annotations", &body["annotations"]),
        ("template.labels", &template["labels"]),
        ("template.annotations", &template["annotations"]),
    ] {
        for key in map.as_object().into_iter().flat_map(|m| m.keys()) {
            if RESERVED_PREFIXES
                .iter()
                .any(|p| key.starts_with(&format!("{p}/")))
            {
                return Err(invalid(&format!("service.{where_}"), &format!(
                    "Unsupported key '{key}': the prefixes run.googleapis.com, cloud.googleapis.com, \
                     serving.knative.dev and autoscaling.knative.dev are reserved in the v2 API.")));
            }
        }
    }
    if let Some(mesh) = template.get("serviceMesh") {
        let stage = body["launchStage"].as_str().unwrap_or("GA");
        if !matches!(stage, "BETA" | "ALPHA") {
            return Err(ApiError::invalid_argument(format!(
                "The feature 'Service Mesh' is not supported in the declared launch stage on resource {}. The launch \
                 stage annotation should be specified at least as BETA. Please visit \
                 https://cloud.google.com/run/docs/troubleshooting#launch-stage-validation for in-depth \
                 troubleshooting documentation.",
                name.service_name()
            )));
        }
        let m = mesh["mesh"].as_str().unwrap_or_default();
        let parts: Vec<&str> = m.split('/').collect();
        if !(parts.len() == 6
            && parts[0] == "projects"
            && parts[2] == "locations"
            && parts[3] == "global"
            && parts[4] == "meshes")
        {
            return Err(invalid("service.template.service_mesh.mesh", &format!("'{m}' is not a mesh name of the form projects/PROJECT/locations/global/meshes/MESH")));
        }
    }
    if template["vpcAccess"]["networkInterfaces"]
        .as_array()
        .is_some_and(|n| n.len() > 1)
    {
        return Err(invalid(
            "service.template.vpc_access.network_interfaces",
            "only one network interface is supported",
        ));
    }
    if let Some(revision) = template["revision"].as_str() {
        let service = name.service.as_deref().unwrap_or_default();
        if !revision.starts_with(&format!("{service}-")) {
            return Err(invalid(
                "service.template.revision",
                &format!("'{revision}' must be prefixed by the service name '{service}-'"),
            ));
        }
    }
    if let Some(subnet) = mesh::subnetwork_of(world, name, template) {
        if world.get(collections::SUBNETWORKS, &subnet).is_none() {
            return Err(ApiError::invalid_argument(format!(
                "The subnetwork '{subnet}' does not exist or is not in region {}.",
                name.region
            )));
        }
    }
    if let Some(sa) = template["serviceAccount"].as_str() {
        let project = sa
            .split_once('@')
            .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"));
        if let Some(p) = project.and_then(|p| world.project(p)) {
            if !p.service_accounts.contains(sa) {
                return Err(ApiError::invalid_argument(format!(
                    "Service account {sa} does not exist."
                )));
            }
        }
    }
    Ok(())
}

/// The stored form of a submitted spec: client-settable fields only, then defaults.
pub(super) fn spec(body: &Value, name: &Name) -> Map<String, Value> {
    let output_only = [
        "uid",
        "generation",
        "createTime",
        "updateTime",
        "deleteTime",
        "expireTime",
        "creator",
        "lastModifier",
        "observedGeneration",
        "terminalCondition",
        "conditions",
        "latestReadyRevision",
        "latestCreatedRevision",
        "trafficStatuses",
        "uri",
        "urls",
        "reconciling",
        "satisfiesPzs",
        "threatDetectionEnabled",
        "etag",
        "name",
    ];
    let mut out: Map<String, Value> = body
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !output_only.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    apply_defaults(&mut out, name);
    // Stored as Google answers it: `template.timeout` "1.5s" comes back "1.500s", int64 fields as strings.
    let mut doc = Value::Object(out);
    crate::proto3::encode(
        crate::discovery::document(crate::api::Api::Run),
        "GoogleCloudRunV2Service",
        &mut doc,
    );
    match doc {
        Value::Object(out) => out,
        _ => Map::new(),
    }
}

/// Fields a client may set (everything not output-only); dropped from the stored spec on a full update.
pub(super) fn is_spec_field(key: &str) -> bool {
    matches!(
        key,
        "description"
            | "labels"
            | "annotations"
            | "client"
            | "clientVersion"
            | "ingress"
            | "launchStage"
            | "binaryAuthorization"
            | "template"
            | "traffic"
            | "scaling"
            | "invokerIamDisabled"
            | "defaultUriDisabled"
            | "customAudiences"
            | "buildConfig"
            | "iapEnabled"
            | "multiRegionSettings"
            | "functionalType"
            | "sshEnabled"
    )
}
