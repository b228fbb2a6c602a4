//! Names request-log entries by the discovery method id the emulator matched them to, so a fault rule can
//! target exactly the call a run made.

use csmrun_emulator::api::Api;
use csmrun_emulator::discovery::document;
use serde_json::Value;

use crate::requests::is_write;

/// The discovery method id of a logged call (`run.projects.locations.services.create`), if it is an API call.
pub fn method_id(entry: &Value) -> Option<String> {
    let path = entry["path"].as_str()?;
    let verb = entry["method"].as_str()?;
    let (api, rel) = Api::route(path)?;
    let rel = percent_encoding_decode(&rel);
    let (method, _) = document(api).find(verb, &rel)?;
    Some(method.id.clone())
}

fn percent_encoding_decode(s: &str) -> String {
    // The emulator decodes before matching; the few escapes csmrun's paths can carry are enough here.
    s.replace("%2F", "/")
        .replace("%2f", "/")
        .replace("%40", "@")
        .replace("%3A", ":")
}

/// The api name (`run`, `compute`, …) of a method id.
pub fn api_of(method_id: &str) -> &str {
    method_id.split('.').next().unwrap_or("")
}

/// Distinct method ids of the successful writes in `log`, in the order of their first occurrence: the
/// steps of the operation that produced the log.
pub fn write_steps(log: &[Value]) -> Vec<String> {
    let mut steps: Vec<String> = Vec::new();
    for e in log {
        let ok = e["status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s));
        if !ok || !is_write(e) {
            continue;
        }
        if let Some(id) = method_id(e) {
            if !steps.contains(&id) {
                steps.push(id);
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cloud_run_create_and_compute_insert_are_named_by_their_discovery_ids() {
        let create = json!({"method": "POST", "path": "/run/v2/projects/p/locations/r/services", "status": 200});
        assert_eq!(
            method_id(&create).as_deref(),
            Some("run.projects.locations.services.create")
        );
        let neg = json!({"method": "POST", "path": "/compute/v1/projects/p/regions/r/networkEndpointGroups", "status": 200});
        assert_eq!(
            method_id(&neg).as_deref(),
            Some("compute.regionNetworkEndpointGroups.insert")
        );
        let policy = json!({"method": "POST", "path": "/cloudresourcemanager/v1/projects/p:setIamPolicy", "status": 200});
        assert_eq!(
            method_id(&policy).as_deref(),
            Some("cloudresourcemanager.projects.setIamPolicy")
        );
    }

    #[test]
    fn write_steps_keep_first_occurrence_order_and_skip_reads_and_failures() {
        let log = vec![
            json!({"method": "GET", "path": "/run/v2/projects/p/locations/r/services/a", "status": 404}),
            json!({"method": "POST", "path": "/cloudresourcemanager/v1/projects/p:getIamPolicy", "status": 200}),
            json!({"method": "POST", "path": "/cloudresourcemanager/v1/projects/p:setIamPolicy", "status": 409}),
            json!({"method": "POST", "path": "/cloudresourcemanager/v1/projects/p:setIamPolicy", "status": 200}),
            json!({"method": "POST", "path": "/run/v2/projects/p/locations/r/services", "status": 200}),
            json!({"method": "POST", "path": "/cloudresourcemanager/v1/projects/p:setIamPolicy", "status": 200}),
        ];
        assert_eq!(
            write_steps(&log),
            vec![
                "cloudresourcemanager.projects.setIamPolicy".to_string(),
                "run.projects.locations.services.create".to_string()
            ]
        );
    }
}
