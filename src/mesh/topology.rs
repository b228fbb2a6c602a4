//! The mesh's topology from the API objects, with no I/O: routes of the mesh → backend services → serverless
//! NEGs → Cloud Run services, and invokers → who may call whom. Parts that cannot be followed (a backend service
//! that is gone, a NEG that is not serverless) stay in the answer with what is known, so the diagram shows a
//! broken link rather than hiding it.

use std::collections::{BTreeMap, BTreeSet};

use gcp::compute::{link_name, link_path, BackendService, NetworkEndpointGroup};
use gcp::network_services::{HttpRoute, RouteMatch};

use super::model::{Call, Destination, Hostname, Rule, Service, Topology};

const INVOKER: &str = "roles/run.invoker";

/// A Cloud Run service as the read found it: region, name, runtime account, mesh, invokers.
#[derive(Debug, Clone, PartialEq)]
pub struct RunService {
    pub region: String,
    pub name: String,
    /// The `run.app` URL.
    pub uri: Option<String>,
    pub service_account: Option<String>,
    /// The `serviceMesh.mesh` of its revision template.
    pub mesh: Option<String>,
    pub invokers: Vec<String>,
}

/// Whether `link` (`projects/P/locations/global/meshes/M`, by project id or number) names mesh `mesh` of this
/// project. Routes name the mesh by project id or number, so only the mesh name and the shape are compared.
pub fn names_mesh(link: &str, mesh: &str) -> bool {
    let path = link.trim_start_matches("//networkservices.googleapis.com/");
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(parts.as_slice(), [.., "locations", "global", "meshes", m] if *m == mesh)
}

/// The routes of the mesh, by name.
pub fn mesh_routes<'a>(routes: &'a [HttpRoute], mesh: &str) -> Vec<&'a HttpRoute> {
    let mut out: Vec<&HttpRoute> = routes
        .iter()
        .filter(|r| r.meshes.iter().any(|m| names_mesh(m, mesh)))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `(region, name)` of the serverless NEG a backend's `group` link names.
fn neg_key(group: &str) -> Option<(String, String)> {
    let path = link_path(group)?;
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["projects", _, "regions", region, "networkEndpointGroups", name] => {
            Some(((*region).to_string(), (*name).to_string()))
        }
        _ => None,
    }
}

/// One match as a person reads it; the forms mirror `HttpRouteRouteMatch` and `HttpRouteHeaderMatch`.
pub fn describe_match(m: &RouteMatch) -> String {
    let mut parts = Vec::new();
    let case = if m.ignore_case == Some(true) {
        " (any case)"
    } else {
        ""
    };
    if let Some(p) = &m.full_path_match {
        parts.push(format!("path = {p}{case}"));
    }
    if let Some(p) = &m.prefix_match {
        parts.push(format!("path prefix {p}{case}"));
    }
    if let Some(p) = &m.regex_match {
        parts.push(format!("path ~ {p}{case}"));
    }
    for h in &m.headers {
        let not = if h.invert_match == Some(true) {
            "not "
        } else {
            ""
        };
        let test = if let Some(v) = &h.exact_match {
            format!("= {v}")
        } else if let Some(v) = &h.prefix_match {
            format!("prefix {v}")
        } else if let Some(v) = &h.regex_match {
            format!("~ {v}")
        } else if let Some(v) = h.extra.get("suffixMatch").and_then(|v| v.as_str()) {
            format!("suffix {v}")
        } else if h.present_match == Some(true) {
            "present".to_string()
        } else {
            "(other test)".to_string()
        };
        parts.push(format!("{not}header {} {test}", h.header));
    }
    if m.extra.contains_key("queryParameters") {
        parts.push("query parameters".to_string());
    }
    if parts.is_empty() {
        "any request".to_string()
    } else {
        parts.join(" and ")
    }
}

/// Builds the topology of `mesh` from what the read listed.
pub fn build(
    mesh: &str,
    routes: &[HttpRoute],
    backends: &[BackendService],
    negs: &[NetworkEndpointGroup],
    services: &[RunService],
) -> Topology {
    let backends: BTreeMap<&str, &BackendService> =
        backends.iter().map(|b| (b.name.as_str(), b)).collect();
    let negs: BTreeMap<(String, String), &NetworkEndpointGroup> = negs
        .iter()
        .filter_map(|n| {
            let region = link_name(n.region.as_deref()?).to_string();
            Some(((region, n.name.clone()), n))
        })
        .collect();
    // The Cloud Run service behind a backend service: its first serverless NEG naming one.
    let behind = |backend: &str| -> Option<(String, String)> {
        let bs = backends.get(link_name(backend))?;
        bs.backends.iter().find_map(|b| {
            let key = neg_key(&b.group)?;
            let neg = negs.get(&key)?;
            let service = neg.cloud_run.as_ref()?.service.clone()?;
            Some((service, key.0))
        })
    };

    let mut hostnames = Vec::new();
    let mut routed: BTreeSet<(String, String)> = BTreeSet::new();
    for route in mesh_routes(routes, mesh) {
        let rules: Vec<Rule> = route
            .rules
            .iter()
            .map(|r| Rule {
                matches: r.matches.iter().map(describe_match).collect(),
                destinations: r
                    .action
                    .iter()
                    .flat_map(|a| &a.destinations)
                    .map(|d| {
                        let found = behind(&d.service_name);
                        if let Some(f) = &found {
                            routed.insert((f.1.clone(), f.0.clone()));
                        }
                        Destination {
                            backend_service: link_name(&d.service_name).to_string(),
                            service: found.as_ref().map(|f| f.0.clone()),
                            region: found.map(|f| f.1),
                            weight: d.weight.map(i64::from),
                        }
                    })
                    .collect(),
            })
            .collect();
        for host in &route.hostnames {
            hostnames.push(Hostname {
                hostname: host.clone(),
                route: link_name(&route.name).to_string(),
                rules: rules.clone(),
            });
        }
    }
    hostnames.sort_by(|a, b| (&a.hostname, &a.route).cmp(&(&b.hostname, &b.route)));

    let mut members: Vec<Service> = services
        .iter()
        .filter_map(|s| {
            let mesh_client = s.mesh.as_deref().is_some_and(|m| names_mesh(m, mesh));
            let is_routed = routed.contains(&(s.region.clone(), s.name.clone()));
            (mesh_client || is_routed).then(|| Service {
                name: s.name.clone(),
                region: s.region.clone(),
                uri: s.uri.clone(),
                service_account: s.service_account.clone(),
                mesh_client,
                invokers: {
                    let mut i = s.invokers.clone();
                    i.sort();
                    i.dedup();
                    i
                },
            })
        })
        .collect();
    members.sort_by(|a, b| (&a.name, &a.region).cmp(&(&b.name, &b.region)));

    let mut calls = BTreeSet::new();
    for callee in &members {
        for caller in members.iter().filter(|c| c.mesh_client) {
            let may = callee.invokers.iter().any(|m| {
                m == "allUsers"
                    || m == "allAuthenticatedUsers"
                    || caller
                        .service_account
                        .as_deref()
                        .is_some_and(|sa| m == &format!("serviceAccount:{sa}"))
            });
            if may && (caller.name != callee.name || caller.region != callee.region) {
                calls.insert(Call {
                    caller: caller.name.clone(),
                    service: callee.name.clone(),
                });
            }
        }
    }
    Topology {
        mesh: mesh.to_string(),
        hostnames,
        services: members,
        calls: calls.into_iter().collect(),
    }
}

/// The `roles/run.invoker` members of a policy (unconditional and conditional alike: a condition may hold).
pub fn invokers(policy: &gcp::Policy) -> Vec<String> {
    policy
        .members(INVOKER)
        .into_iter()
        .map(str::to_string)
        .collect()
}
