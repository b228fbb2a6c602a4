//! The API objects each part should look like, built from a [`Spec`]; also used to detect drift on read.

use std::collections::BTreeMap;

use gcp::compute::{
    Backend, BackendService, CircuitBreakers, CloudRunTarget, NetworkEndpointGroup,
    OutlierDetection,
};
use gcp::dns::{ManagedZone, PrivateVisibilityConfig, ResourceRecordSet, VisibleNetwork};
use gcp::network_services::{
    Destination, FaultAbort, FaultDelay, FaultInjectionPolicy, HeaderMatch, HttpRoute, RetryPolicy,
    RouteAction, RouteMatch, RouteRule,
};
use gcp::run::{
    Container, ContainerPort, EnvVar, NetworkInterface, ResourceRequirements, RevisionScaling,
    RevisionTemplate, Service, ServiceMesh, VpcAccess,
};

use super::defaults;
use super::names;
use super::spec::{Dest, Spec};

/// The Cloud Run v2 service; `owned_roles` are the project roles csmrun granted for its account.
pub fn service(s: &Spec, owned_roles: &[String]) -> Service {
    let container = Container {
        image: s.image.clone(),
        env: s
            .env
            .iter()
            .map(|(k, v)| EnvVar {
                name: k.clone(),
                value: Some(v.clone()),
                ..Default::default()
            })
            .collect(),
        resources: Some(ResourceRequirements {
            limits: BTreeMap::from([
                ("cpu".to_string(), s.cpu.clone()),
                ("memory".to_string(), s.memory.clone()),
            ]),
            // Below one CPU Cloud Run requires request-based billing (CPU only during requests), and with
            // resources given the API takes CPU as always allocated unless told (run.v2.json, `cpuIdle`: "if
            // ResourceRequirements is set, the caller must explicitly set this field to true").
            cpu_idle: super::validate::parse_cpu(&s.cpu)
                .is_ok_and(|c| c < 1.0)
                .then_some(true),
            ..Default::default()
        }),
        ports: vec![ContainerPort {
            name: Some("http1".into()),
            container_port: i32::try_from(s.port).ok(),
        }],
        ..Default::default()
    };
    Service {
        description: Some(s.marker()),
        labels: s.labels.clone(),
        annotations: if owned_roles.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(
                super::steps::iam::OWNED_ROLES_ANNOTATION.to_string(),
                owned_roles.join(","),
            )])
        },
        ingress: Some(s.ingress.clone()),
        // serviceMesh is a preview feature; the API refuses it under GA.
        launch_stage: Some("BETA".into()),
        template: Some(RevisionTemplate {
            service_account: Some(s.service_account.clone()),
            containers: vec![container],
            scaling: Some(RevisionScaling {
                min_instance_count: i32::try_from(s.min_instances).ok(),
                max_instance_count: i32::try_from(s.max_instances).ok(),
                ..Default::default()
            }),
            vpc_access: Some(VpcAccess {
                egress: Some("ALL_TRAFFIC".into()),
                network_interfaces: vec![NetworkInterface {
                    network: Some(format!(
                        "projects/{}/global/networks/{}",
                        s.network_project, s.network
                    )),
                    subnetwork: Some(format!(
                        "projects/{}/regions/{}/subnetworks/{}",
                        s.subnet_project, s.subnet_region, s.subnetwork
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            service_mesh: Some(ServiceMesh {
                mesh: Some(s.mesh.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The regional serverless NEG pointing at the service.
///
/// `grants` are the project roles the create is about to add: written down before the grant, so a create that is
/// killed during the propagation wait is known, by the next create that adopts this NEG, to have made them.
pub fn neg(s: &Spec, grants: &[String]) -> NetworkEndpointGroup {
    NetworkEndpointGroup {
        name: s.neg_name.clone(),
        description: Some(names::description_with_grants(
            &s.marker(),
            grants,
            &s.service_account,
        )),
        network_endpoint_type: Some("SERVERLESS".into()),
        cloud_run: Some(CloudRunTarget {
            service: Some(s.name.clone()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The global INTERNAL_SELF_MANAGED backend service with the NEG as its one backend.
pub fn backend_service(s: &Spec) -> BackendService {
    let dur = |d: std::time::Duration| gcp::compute::Duration {
        seconds: i64::try_from(d.as_secs()).ok(),
        nanos: Some(d.subsec_nanos() as i32).filter(|n| *n != 0),
    };
    let i32_of = |v: Option<i64>| v.and_then(|n| i32::try_from(n).ok());
    BackendService {
        name: s.backend_service_name.clone(),
        description: Some(s.marker()),
        load_balancing_scheme: Some("INTERNAL_SELF_MANAGED".into()),
        protocol: Some("HTTP".into()),
        backends: vec![Backend {
            group: gcp::compute::canonical_link(&s.neg_path()),
            ..Default::default()
        }],
        circuit_breakers: s.circuit_breaker.map(|c| CircuitBreakers {
            max_requests: i32_of(c[0]),
            max_pending_requests: i32_of(c[1]),
            max_connections: i32_of(c[2]),
            max_retries: i32_of(c[3]),
            ..Default::default()
        }),
        outlier_detection: s.outlier.map(|o| OutlierDetection {
            consecutive_errors: i32_of(o.consecutive_errors),
            interval: o.interval.map(dur),
            base_ejection_time: o.base_ejection_time.map(dur),
            max_ejection_percent: i32_of(o.max_ejection_percent),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The whole object `backendServices.update` (PUT) replaces `have` with: `have` as read, so fields csmrun does not
/// manage stay as they are, with csmrun's fields from `want` and `have`'s fingerprint (Compute refuses an update
/// without the current one). Compute's PATCH is a JSON merge patch: a field it omits is kept, so it cannot remove
/// a circuit breaker, an outlier detection or one of their fields; a full update can.
pub fn backend_service_update(want: &BackendService, have: &BackendService) -> BackendService {
    let mut b = have.clone();
    b.name = want.name.clone();
    b.description = want.description.clone();
    b.load_balancing_scheme = want.load_balancing_scheme.clone();
    b.protocol = want.protocol.clone();
    b.backends = want
        .backends
        .iter()
        .map(|w| {
            have.backends
                .iter()
                .find(|h| same_group(&h.group, &w.group))
                .cloned()
                .unwrap_or_else(|| w.clone())
        })
        .collect();
    b.circuit_breakers = want.circuit_breakers.clone();
    b.outlier_detection = want.outlier_detection.clone();
    b.fingerprint = have.fingerprint.clone();
    // Output only: Google ignores them on input, so they are not sent.
    b.id = None;
    b.self_link = None;
    b.creation_timestamp = None;
    b.used_by.clear();
    b.extra.remove("kind");
    b
}

fn same_group(a: &str, b: &str) -> bool {
    gcp::compute::link_path(a).is_some() && gcp::compute::link_path(a) == gcp::compute::link_path(b)
}

/// Whether the settings csmrun owns whole, `circuit_breaker` and `outlier_detection`, are in `have` exactly as
/// `want` says: a setting found in the cloud that the configuration does not have (added out of band, or left
/// by a merge patch) is drift too. Durations compare by value, an empty object as none.
pub fn same_owned_settings(want: &BackendService, have: &BackendService) -> bool {
    circuit_breakers_key(want.circuit_breakers.as_ref())
        == circuit_breakers_key(have.circuit_breakers.as_ref())
        && outlier_key(want.outlier_detection.as_ref())
            == outlier_key(have.outlier_detection.as_ref())
}

type CircuitBreakersKey = ([Option<i32>; 5], serde_json::Map<String, serde_json::Value>);

fn circuit_breakers_key(c: Option<&CircuitBreakers>) -> Option<CircuitBreakersKey> {
    c.filter(|c| **c != CircuitBreakers::default()).map(|c| {
        (
            [
                c.max_requests,
                c.max_pending_requests,
                c.max_connections,
                c.max_retries,
                c.max_requests_per_connection,
            ],
            c.extra.clone(),
        )
    })
}

type OutlierKey = (
    Option<i32>,
    Option<(i64, i32)>,
    Option<(i64, i32)>,
    Option<i32>,
    serde_json::Map<String, serde_json::Value>,
);

fn outlier_key(o: Option<&OutlierDetection>) -> Option<OutlierKey> {
    let value = |d: &gcp::compute::Duration| (d.seconds.unwrap_or(0), d.nanos.unwrap_or(0));
    o.filter(|o| **o != OutlierDetection::default()).map(|o| {
        (
            o.consecutive_errors,
            o.interval.as_ref().map(value),
            o.base_ejection_time.as_ref().map(value),
            o.max_ejection_percent,
            o.extra.clone(),
        )
    })
}

/// Destinations of a split: this service's own backend (unless `include_own` is false or its weight is 0) plus
/// `extra`; with no `extra`, the own backend alone.
fn destinations(
    s: &Spec,
    include_own: bool,
    own_weight: Option<i32>,
    extra: &[Dest],
) -> Vec<Destination> {
    let mut out = Vec::new();
    if extra.is_empty() {
        out.push(Destination {
            service_name: s.backend_service_path(),
            weight: None,
            ..Default::default()
        });
        return out;
    }
    if include_own && own_weight != Some(0) {
        out.push(Destination {
            service_name: s.backend_service_path(),
            weight: Some(own_weight.unwrap_or(100)),
            ..Default::default()
        });
    }
    for d in extra {
        out.push(Destination {
            service_name: d.backend_service.clone(),
            weight: Some(d.weight),
            ..Default::default()
        });
    }
    out
}

/// The HTTPRoute: match-first rules, then the default split with the route-wide settings.
pub fn http_route(s: &Spec) -> HttpRoute {
    let r = &s.route;
    let action = |dests: Vec<Destination>| RouteAction {
        destinations: dests,
        timeout: r
            .timeout
            .as_ref()
            .and_then(|t| super::duration::parse(t).ok())
            .map(super::duration::to_google),
        retry_policy: r.retry.as_ref().map(|(n, per_try, conds)| RetryPolicy {
            retry_conditions: conds.clone(),
            num_retries: *n,
            per_try_timeout: per_try
                .as_ref()
                .and_then(|t| super::duration::parse(t).ok())
                .map(super::duration::to_google),
        }),
        fault_injection_policy: (r.delay.is_some() || r.abort.is_some()).then(|| {
            FaultInjectionPolicy {
                delay: r.delay.as_ref().map(|(d, p)| FaultDelay {
                    fixed_delay: super::duration::parse(d)
                        .ok()
                        .map(super::duration::to_google),
                    percentage: Some(*p),
                }),
                abort: r.abort.map(|(st, p)| FaultAbort {
                    http_status: Some(st),
                    percentage: Some(p),
                }),
            }
        }),
        ..Default::default()
    };
    let mut rules: Vec<RouteRule> = r
        .rules
        .iter()
        .map(|rule| RouteRule {
            matches: vec![RouteMatch {
                prefix_match: rule.path_prefix.clone(),
                headers: rule
                    .headers
                    .iter()
                    .map(|h| HeaderMatch {
                        header: h.name.clone(),
                        exact_match: h.exact.clone(),
                        prefix_match: h.prefix.clone(),
                        regex_match: h.regex.clone(),
                        present_match: h.present,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            action: Some(action(destinations(s, false, None, &rule.destinations))),
            ..Default::default()
        })
        .collect();
    rules.push(RouteRule {
        action: Some(action(destinations(s, true, r.own_weight, &r.destinations))),
        ..Default::default()
    });
    HttpRoute {
        name: s.route_path(),
        description: Some(s.marker()),
        labels: s.labels.clone(),
        hostnames: vec![s.hostname.clone()],
        meshes: vec![s.mesh.clone()],
        rules,
        ..Default::default()
    }
}

/// The network URL DNS wants in `privateVisibilityConfig`.
pub fn network_url(s: &Spec) -> String {
    format!(
        "https://www.googleapis.com/compute/v1/projects/{}/global/networks/{}",
        s.network_project, s.network
    )
}

/// The shared private zone for the domain.
pub fn zone(s: &Spec) -> ManagedZone {
    ManagedZone {
        name: s.dns_zone_name.clone(),
        dns_name: format!("{}.", s.domain),
        description: Some(format!(
            "csmrun: private zone for {} (shared by every csmrun_service of the domain)",
            s.domain
        )),
        visibility: Some("private".into()),
        private_visibility_config: Some(PrivateVisibilityConfig {
            networks: vec![VisibleNetwork {
                network_url: network_url(s),
                ..Default::default()
            }],
            ..Default::default()
        }),
        labels: BTreeMap::from([(
            names::MANAGED_BY_KEY.to_string(),
            names::MANAGED_BY_VALUE.to_string(),
        )]),
        ..Default::default()
    }
}

/// The shared wildcard record `*.<domain>.`.
pub fn wildcard_record(s: &Spec) -> ResourceRecordSet {
    ResourceRecordSet {
        name: format!("*.{}.", s.domain),
        kind: "A".into(),
        ttl: i32::try_from(defaults::DNS_TTL).ok(),
        rrdatas: vec![s.dns_address.clone()],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::validate_table;

    fn spec() -> Spec {
        validate_table::planned(&validate_table::valid()).1
    }

    #[test]
    fn the_service_joins_the_mesh_with_all_traffic_egress_and_carries_the_markers() {
        let s = spec();
        let svc = service(&s, &["roles/trafficdirector.client".to_string()]);
        let t = svc.template.unwrap();
        assert_eq!(
            t.service_mesh.unwrap().mesh.as_deref(),
            Some("projects/p/locations/global/meshes/meshapps")
        );
        let vpc = t.vpc_access.unwrap();
        assert_eq!(vpc.egress.as_deref(), Some("ALL_TRAFFIC"));
        assert_eq!(
            vpc.network_interfaces[0].subnetwork.as_deref(),
            Some("projects/p/regions/r/subnetworks/mesh-subnet")
        );
        assert_eq!(
            svc.labels.get("managed-by").map(String::as_str),
            Some("csmrun")
        );
        assert_eq!(svc.description.as_deref(), Some("csmrun:p/r/target"));
        assert_eq!(
            svc.ingress.as_deref(),
            Some("INGRESS_TRAFFIC_INTERNAL_ONLY")
        );
        assert_eq!(
            svc.annotations
                .get(crate::service::steps::iam::OWNED_ROLES_ANNOTATION)
                .map(String::as_str),
            Some("roles/trafficdirector.client")
        );
    }

    #[test]
    fn the_backend_service_is_internal_self_managed_with_the_neg_and_no_health_check() {
        let b = backend_service(&spec());
        assert_eq!(
            b.load_balancing_scheme.as_deref(),
            Some("INTERNAL_SELF_MANAGED")
        );
        assert_eq!(b.protocol.as_deref(), Some("HTTP"));
        assert!(b.health_checks.is_empty());
        assert_eq!(b.backends.len(), 1);
        assert!(b.backends[0]
            .group
            .ends_with("/projects/p/regions/r/networkEndpointGroups/target-neg"));
        assert_eq!(b.circuit_breakers.and_then(|c| c.max_requests), Some(1000));
    }

    #[test]
    fn the_backend_service_update_carries_csmrun_fields_whole_and_keeps_the_rest() {
        let s = spec();
        let mut want = backend_service(&s);
        want.circuit_breakers = None;
        if let Some(o) = want.outlier_detection.as_mut() {
            o.interval = None;
        }
        let mut have = backend_service(&spec());
        have.fingerprint = Some("fp==".into());
        have.id = Some("42".into());
        have.timeout_sec = Some(30);
        have.backends[0].balancing_mode = Some("UTILIZATION".into());
        have.extra.insert(
            "securitySettings".into(),
            serde_json::json!({"subjectAltNames": ["x"]}),
        );
        let put = backend_service_update(&want, &have);
        assert_eq!(
            put.circuit_breakers, None,
            "a removed circuit breaker is not sent"
        );
        assert_eq!(
            put.outlier_detection
                .as_ref()
                .and_then(|o| o.interval.as_ref()),
            None
        );
        assert_eq!(put.fingerprint.as_deref(), Some("fp=="));
        assert_eq!(put.id, None);
        assert_eq!(
            put.timeout_sec,
            Some(30),
            "fields csmrun does not manage are kept"
        );
        assert!(put.extra.contains_key("securitySettings"));
        assert_eq!(
            put.backends[0].balancing_mode.as_deref(),
            Some("UTILIZATION")
        );
        assert!(same_owned_settings(&want, &put));
        assert!(!same_owned_settings(&want, &have));
    }

    #[test]
    fn owned_settings_found_in_the_cloud_but_not_configured_are_drift() {
        let mut want = backend_service(&spec());
        want.circuit_breakers = None;
        let mut have = want.clone();
        assert!(same_owned_settings(&want, &have));
        have.circuit_breakers = Some(CircuitBreakers {
            max_connections: Some(7),
            ..Default::default()
        });
        assert!(
            !same_owned_settings(&want, &have),
            "a circuit breaker added out of band"
        );
        have.circuit_breakers = Some(CircuitBreakers::default());
        assert!(same_owned_settings(&want, &have), "an empty one is none");
        let mut more = want.clone();
        if let Some(o) = more.outlier_detection.as_mut() {
            o.extra
                .insert("enforcingSuccessRate".into(), serde_json::json!(100));
        }
        assert!(
            !same_owned_settings(&want, &more),
            "an outlier field csmrun never set"
        );
        let mut respelled = want.clone();
        if let Some(d) = respelled
            .outlier_detection
            .as_mut()
            .and_then(|o| o.interval.as_mut())
        {
            d.nanos = Some(d.nanos.unwrap_or(0));
        }
        assert!(
            same_owned_settings(&want, &respelled),
            "nanos 0 is no nanos"
        );
    }

    #[test]
    fn the_route_puts_rules_first_and_the_weighted_default_split_last() {
        let r = http_route(&spec());
        assert_eq!(r.hostnames, vec!["target.meshapps.internal".to_string()]);
        assert_eq!(r.rules.len(), 2);
        assert!(
            r.rules[1].matches.is_empty(),
            "the default split matches everything, so it goes last"
        );
        let split = &r.rules[1].action.as_ref().unwrap().destinations;
        let weights: Vec<(String, Option<i32>)> = split
            .iter()
            .map(|d| (d.service_name.clone(), d.weight))
            .collect();
        assert_eq!(
            weights,
            vec![
                (
                    "projects/p/global/backendServices/target-backend".to_string(),
                    Some(99)
                ),
                (
                    "projects/p/global/backendServices/target-green-backend".to_string(),
                    Some(1)
                ),
            ]
        );
    }

    #[test]
    fn the_shared_dns_parts_are_a_private_zone_and_a_wildcard_record() {
        let s = spec();
        let z = zone(&s);
        assert_eq!(
            (z.name.as_str(), z.dns_name.as_str()),
            ("csmrun-meshapps-internal", "meshapps.internal.")
        );
        assert_eq!(z.visibility.as_deref(), Some("private"));
        let rr = wildcard_record(&s);
        assert_eq!(
            (rr.name.as_str(), rr.kind.as_str()),
            ("*.meshapps.internal.", "A")
        );
        assert_eq!(rr.rrdatas, vec!["10.0.0.1".to_string()]);
    }
}
