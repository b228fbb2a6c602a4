//! The campaign's invariants: no orphans, no shared part lost, Terraform's state equal to the emulator's.
//!
//! Orphans and state equality come from [`crate::consistency`]; shared-part losses are checked on the
//! emulator alone, so they can be watched while runs are in flight.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::consistency::{disagreements, Baseline};

/// Phrases of [`disagreements`] that mean "exists in the cloud, unknown to Terraform".
const ORPHAN_MARKERS: &[&str] = &[
    "but no csmrun_service in Terraform's state owns it",
    "but no csmrun_service in state runs as it",
];

/// Parts in the emulator that no `csmrun_service` in state accounts for (the rollback check: after a failed
/// run, whatever it made must be undone or recorded).
pub fn orphans(show: &Value, state: &Value, baseline: &Baseline) -> Vec<String> {
    disagreements(show, state, baseline)
        .into_iter()
        .filter(|p| ORPHAN_MARKERS.iter().any(|m| p.contains(m)))
        .collect()
}

/// Every disagreement in either direction (state == reality).
pub fn state_vs_reality(show: &Value, state: &Value, baseline: &Baseline) -> Vec<String> {
    disagreements(show, state, baseline)
}

/// Shared parts missing while something still uses them, judged from the emulator alone:
/// - an HTTPRoute hostname under a domain whose csmrun zone or wildcard record is gone;
/// - a Ready mesh Cloud Run service (not being deleted, still behind its NEG) whose account lacks
///   `roles/trafficdirector.client`;
/// - a project binding that existed before the campaign (in `baseline_bindings`) that is gone.
pub fn shared_part_losses(
    state: &Value,
    baseline_bindings: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut losses = Vec::new();
    let bindings = bindings(state);
    for (role, member) in baseline_bindings {
        if !bindings.contains(&(role.clone(), member.clone())) {
            losses.push(format!("pre-existing binding {role} {member} was removed"));
        }
    }
    for (key, route) in items(state, "networkservices.httpRoutes") {
        for host in route["hostnames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !zone_serves(state, host) {
                losses.push(format!(
                    "HTTPRoute {key} serves {host} but no csmrun zone with a wildcard record covers it"
                ));
            }
        }
    }
    // A service is in the mesh while a serverless NEG puts it behind a backend service; a destroy removes the
    // NEG first, so a service whose NEG is gone is leaving and may lose its grant before its own delete.
    let behind_neg: BTreeSet<(String, String)> = items(state, "compute.networkEndpointGroups")
        .into_iter()
        .filter_map(|(_, neg)| {
            let service = neg["cloudRun"]["service"].as_str()?;
            let region = neg["region"].as_str()?.rsplit('/').next()?;
            Some((region.to_string(), service.to_string()))
        })
        .collect();
    for (key, svc) in items(state, "run.services") {
        let mesh = !svc["template"]["serviceMesh"].is_null();
        // A service being deleted (deleteTime set) no longer needs its grant.
        let ready = svc["terminalCondition"]["state"] == "CONDITION_SUCCEEDED"
            && svc["deleteTime"].is_null()
            && in_mesh(key, &behind_neg);
        let account = svc["template"]["serviceAccount"].as_str().unwrap_or("");
        let member = format!("serviceAccount:{account}");
        if mesh
            && ready
            && !bindings.contains(&("roles/trafficdirector.client".into(), member.clone()))
        {
            losses.push(format!(
                "Cloud Run service {key} is a Ready mesh client but {member} lacks roles/trafficdirector.client"
            ));
        }
    }
    losses
}

/// Whether the Cloud Run service `key` (`…/locations/R/services/S`) is behind one of the NEGs.
fn in_mesh(key: &str, behind_neg: &BTreeSet<(String, String)>) -> bool {
    let mut parts = key.rsplit('/');
    let (Some(service), Some(_), Some(region)) = (parts.next(), parts.next(), parts.next()) else {
        return true;
    };
    behind_neg.contains(&(region.to_string(), service.to_string()))
}

/// (role, member) of every project binding (the campaign works in one project).
pub fn bindings(state: &Value) -> BTreeSet<(String, String)> {
    state["projects"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| {
            p["iamPolicy"]["bindings"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|b| {
            let role = b["role"].as_str().unwrap_or("").to_string();
            b["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(move |m| m.as_str().map(|m| (role.clone(), m.to_string())))
        })
        .collect()
}

fn items<'a>(state: &'a Value, collection: &str) -> Vec<(&'a String, &'a Value)> {
    state["resources"][collection]
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// True when some zone whose DNS name is a suffix of `host` holds the wildcard A record for it.
fn zone_serves(state: &Value, host: &str) -> bool {
    let fqdn = format!("{host}.");
    items(state, "dns.managedZones")
        .into_iter()
        .any(|(key, zone)| {
            let dns_name = zone["dnsName"].as_str().unwrap_or("");
            !dns_name.is_empty()
                && fqdn.ends_with(&format!(".{dns_name}"))
                && state["resources"]["dns.rrsets"]
                    .get(format!("{key}/rrsets/*.{dns_name}/A"))
                    .is_some()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn world(with_zone: bool, with_binding: bool) -> Value {
        let zone = "projects/p/managedZones/csmrun-d-internal";
        let mut resources = json!({
            "networkservices.httpRoutes": {"r": {"hostnames": ["a.d.internal"]}},
            "run.services": {"projects/p/locations/r1/services/s": {
                "template": {"serviceMesh": {"mesh": "m"}, "serviceAccount": "a@p"},
                "terminalCondition": {"state": "CONDITION_SUCCEEDED"}}},
            "compute.networkEndpointGroups": {"projects/p/regions/r1/networkEndpointGroups/s-neg": {
                "region": "https://www.googleapis.com/compute/v1/projects/p/regions/r1",
                "cloudRun": {"service": "s"}}}
        });
        if with_zone {
            resources["dns.managedZones"] = json!({zone: {"dnsName": "d.internal."}});
            resources["dns.rrsets"] = json!({format!("{zone}/rrsets/*.d.internal./A"): {}});
        }
        let bindings = if with_binding {
            json!([{"role": "roles/trafficdirector.client", "members": ["serviceAccount:a@p"]}])
        } else {
            json!([])
        };
        json!({"projects": [{"id": "p", "iamPolicy": {"bindings": bindings}}], "resources": resources})
    }

    #[test]
    fn a_route_without_its_zone_and_a_mesh_service_without_its_grant_are_losses() {
        assert!(shared_part_losses(&world(true, true), &BTreeSet::new()).is_empty());
        let losses = shared_part_losses(&world(false, false), &BTreeSet::new());
        assert_eq!(losses.len(), 2, "{losses:?}");
        assert!(losses[0].contains("a.d.internal"));
        assert!(losses[1].contains("lacks roles/trafficdirector.client"));
    }

    #[test]
    fn a_service_whose_neg_is_gone_is_leaving_the_mesh_and_may_lose_its_grant() {
        let mut w = world(true, false);
        assert_eq!(shared_part_losses(&w, &BTreeSet::new()).len(), 1);
        w["resources"]["compute.networkEndpointGroups"] = json!({});
        assert!(shared_part_losses(&w, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn a_removed_pre_existing_binding_is_a_loss() {
        let before = BTreeSet::from([("roles/x".to_string(), "user:u".to_string())]);
        let losses = shared_part_losses(&world(true, true), &before);
        assert_eq!(
            losses,
            vec!["pre-existing binding roles/x user:u was removed".to_string()]
        );
    }
}
