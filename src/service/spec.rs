//! The desired parts, resolved from a planned `csmrun_service` (defaults applied, references made full).

use std::collections::BTreeMap;
use std::time::Duration;

use tfplug::{Diagnostic, Diagnostics};

use super::defaults;
use super::duration;
use super::model::{DestinationBlock, ServiceModel};
use super::names::{self, parse_ref};
use super::val::Val;

/// One weighted destination: a backend service path and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Dest {
    pub backend_service: String,
    pub weight: i32,
}

/// One match-first rule of the route.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub path_prefix: Option<String>,
    pub headers: Vec<Header>,
    /// Empty: this service's own backend.
    pub destinations: Vec<Dest>,
}

/// A header match.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub name: String,
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub regex: Option<String>,
    pub present: Option<bool>,
}

/// Route settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RouteSpec {
    pub timeout: Option<String>,
    pub own_weight: Option<i32>,
    pub retry: Option<(Option<i32>, Option<String>, Vec<String>)>,
    pub delay: Option<(String, i32)>,
    pub abort: Option<(i32, i32)>,
    pub destinations: Vec<Dest>,
    pub rules: Vec<Rule>,
}

/// Everything the steps need, fully known.
#[derive(Debug, Clone)]
pub struct Spec {
    pub project: String,
    pub region: String,
    pub name: String,
    pub image: String,
    /// `projects/P/locations/global/meshes/M`.
    pub mesh: String,
    pub domain: String,
    pub network_project: String,
    pub network: String,
    pub subnet_project: String,
    pub subnet_region: String,
    pub subnetwork: String,
    pub service_account: String,
    pub hostname: String,
    pub port: i64,
    pub env: BTreeMap<String, String>,
    pub cpu: String,
    pub memory: String,
    pub min_instances: i64,
    pub max_instances: i64,
    pub ingress: String,
    pub invokers: Vec<String>,
    pub trace: bool,
    /// Effective labels, `managed-by = csmrun` included.
    pub labels: BTreeMap<String, String>,
    pub dns_address: String,
    pub neg_name: String,
    pub backend_service_name: String,
    pub route_name: String,
    pub dns_zone_name: String,
    pub route: RouteSpec,
    pub circuit_breaker: Option<[Option<i64>; 4]>,
    pub outlier: Option<Outlier>,
    pub deletion_policy: String,
    pub timeouts: Timeouts,
}

/// Resolved `outlier_detection`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outlier {
    pub consecutive_errors: Option<i64>,
    pub interval: Option<Duration>,
    pub base_ejection_time: Option<Duration>,
    pub max_ejection_percent: Option<i64>,
}

/// Resolved `timeouts`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

fn need<T: Clone>(v: &Val<T>, name: &str) -> Result<T, Diagnostic> {
    v.known().cloned().ok_or_else(|| {
        Diagnostic::error(
            "Value not known",
            format!("`{name}` is not known at apply time. This is a bug in the provider's plan."),
        )
    })
}

fn opt_i32(v: &Val<i64>) -> Option<i32> {
    v.known().and_then(|n| i32::try_from(*n).ok())
}

fn dests(blocks: &[DestinationBlock]) -> Result<Vec<Dest>, Diagnostic> {
    blocks
        .iter()
        .map(|d| {
            let raw = need(&d.backend_service, "destination.backend_service")?;
            let r = parse_ref(&raw, "backendServices", &["global", "locations/global"]).map_err(
                |e| Diagnostic::error("Invalid backend service reference", format!("{raw:?} {e}")),
            )?;
            Ok(Dest {
                backend_service: format!(
                    "projects/{}/global/backendServices/{}",
                    r.project.unwrap_or_default(),
                    r.name
                ),
                weight: opt_i32(&d.weight).unwrap_or(0),
            })
        })
        // A bare-name reference has no project yet ("projects//..."); `build` fills it in.
        .collect::<Result<Vec<_>, _>>()
}

/// [`parse_ref`], except that an empty reference (an imported service without a mesh or VPC access, whose state
/// says `""` until the next update sets it) resolves to an empty name instead of failing the refresh.
fn lenient_ref(raw: &str, collection: &str, scopes: &[&str]) -> Result<names::ResourceRef, String> {
    if raw.is_empty() {
        return Ok(names::ResourceRef {
            project: None,
            location: None,
            name: String::new(),
        });
    }
    parse_ref(raw, collection, scopes)
}

/// The API's ingress enum for the schema's value.
pub fn ingress_to_api(s: &str) -> &'static str {
    match s {
        "all" => "INGRESS_TRAFFIC_ALL",
        "internal-and-cloud-load-balancing" => "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        _ => "INGRESS_TRAFFIC_INTERNAL_ONLY",
    }
}

/// The schema's value for the API's ingress enum.
pub fn ingress_from_api(s: &str) -> Option<&'static str> {
    match s {
        "INGRESS_TRAFFIC_ALL" => Some("all"),
        "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" => Some("internal-and-cloud-load-balancing"),
        "INGRESS_TRAFFIC_INTERNAL_ONLY" => Some("internal"),
        _ => None,
    }
}

fn timeout_of(
    v: &Option<super::model::TimeoutsBlock>,
    pick: fn(&super::model::TimeoutsBlock) -> &Val<String>,
) -> Duration {
    v.as_ref()
        .and_then(|t| pick(t).known().and_then(|s| duration::parse(s).ok()))
        .unwrap_or(defaults::TIMEOUT)
}

/// Resolved timeouts of a model (defaults where unset).
pub fn timeouts(m: &ServiceModel) -> Timeouts {
    Timeouts {
        create: timeout_of(&m.timeouts, |t| &t.create),
        update: timeout_of(&m.timeouts, |t| &t.update),
        delete: timeout_of(&m.timeouts, |t| &t.delete),
    }
}

/// Effective labels: provider defaults, then the resource's, then the ownership label.
pub fn effective_labels(
    default_labels: &BTreeMap<String, String>,
    labels: &Val<BTreeMap<String, Val<String>>>,
) -> BTreeMap<String, String> {
    let mut out = default_labels.clone();
    if let Val::Known(l) = labels {
        for (k, v) in l {
            if let Val::Known(v) = v {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert(names::MANAGED_BY_KEY.into(), names::MANAGED_BY_VALUE.into());
    out
}

impl Spec {
    /// Resolves a planned model whose inputs are known (the plan filled every default).
    pub fn from_model(
        m: &ServiceModel,
        default_labels: &BTreeMap<String, String>,
    ) -> Result<Spec, Diagnostics> {
        Self::build(m, default_labels).map_err(Diagnostics::from)
    }

    fn build(
        m: &ServiceModel,
        default_labels: &BTreeMap<String, String>,
    ) -> Result<Spec, Diagnostic> {
        let project = need(&m.project, "project")?;
        let region = need(&m.region, "region")?;
        let name = need(&m.name, "name")?;
        let bad = |what: &str, e: String| Diagnostic::error(format!("Invalid {what}"), e);
        let mesh_raw = need(&m.mesh, "mesh")?;
        let mesh =
            lenient_ref(&mesh_raw, "meshes", &["locations/global"]).map_err(|e| bad("mesh", e))?;
        let net_raw = need(&m.network, "network")?;
        let net = lenient_ref(&net_raw, "networks", &["global"]).map_err(|e| bad("network", e))?;
        let sub_raw = need(&m.subnetwork, "subnetwork")?;
        let sub = lenient_ref(&sub_raw, "subnetworks", &["regions/*"])
            .map_err(|e| bad("subnetwork", e))?;
        let domain = need(&m.domain, "domain")?.trim_end_matches('.').to_string();
        let fill = |mut d: Vec<Dest>| {
            for x in &mut d {
                if let Some(rest) = x.backend_service.strip_prefix("projects//") {
                    x.backend_service = format!("projects/{project}/{rest}");
                }
            }
            d
        };
        let mut route = RouteSpec::default();
        if let Some(r) = m.route.first() {
            route.timeout = r.timeout.known().cloned();
            route.own_weight = opt_i32(&r.weight);
            route.retry = r.retry.first().map(|rt| {
                let conds = rt
                    .conditions
                    .known()
                    .map(|c| c.iter().filter_map(|v| v.known().cloned()).collect())
                    .unwrap_or_default();
                (
                    opt_i32(&rt.attempts),
                    rt.per_try_timeout.known().cloned(),
                    conds,
                )
            });
            if let Some(f) = r.fault_injection.first() {
                if let (Val::Known(d), Some(p)) = (&f.delay, opt_i32(&f.delay_percent)) {
                    route.delay = Some((d.clone(), p));
                }
                if let (Some(s), Some(p)) = (opt_i32(&f.abort_status), opt_i32(&f.abort_percent)) {
                    route.abort = Some((s, p));
                }
            }
            route.destinations = fill(dests(&r.destination)?);
            for rule in &r.rule {
                route.rules.push(Rule {
                    path_prefix: rule.path_prefix.known().cloned(),
                    headers: rule
                        .header
                        .iter()
                        .map(|h| Header {
                            name: h.name.known().cloned().unwrap_or_default(),
                            exact: h.exact.known().cloned(),
                            prefix: h.prefix.known().cloned(),
                            regex: h.regex.known().cloned(),
                            present: h.present.known().copied(),
                        })
                        .collect(),
                    destinations: fill(dests(&rule.destination)?),
                });
            }
        }
        let env = m
            .env
            .known()
            .map(|e| {
                e.iter()
                    .filter_map(|(k, v)| v.known().map(|v| (k.clone(), v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let mut invokers: Vec<String> = m
            .invokers
            .known()
            .map(|i| i.iter().filter_map(|v| v.known().cloned()).collect())
            .unwrap_or_default();
        invokers.sort();
        invokers.dedup();
        let circuit_breaker = m.circuit_breaker.first().map(|c| {
            [
                c.max_requests.known().copied(),
                c.max_pending_requests.known().copied(),
                c.max_connections.known().copied(),
                c.max_retries.known().copied(),
            ]
        });
        let outlier = m.outlier_detection.first().map(|o| Outlier {
            consecutive_errors: o.consecutive_errors.known().copied(),
            interval: o.interval.known().and_then(|s| duration::parse(s).ok()),
            base_ejection_time: o
                .base_ejection_time
                .known()
                .and_then(|s| duration::parse(s).ok()),
            max_ejection_percent: o.max_ejection_percent.known().copied(),
        });
        Ok(Spec {
            mesh: gcp::network_services::mesh_name(
                &mesh.project.unwrap_or_else(|| project.clone()),
                &mesh.name,
            ),
            network_project: net.project.unwrap_or_else(|| project.clone()),
            network: net.name,
            subnet_project: sub.project.unwrap_or_else(|| project.clone()),
            subnet_region: sub.location.unwrap_or_else(|| region.clone()),
            subnetwork: sub.name,
            image: need(&m.image, "image")?,
            service_account: need(&m.service_account, "service_account")?,
            hostname: m
                .hostname
                .known()
                .cloned()
                .unwrap_or_else(|| names::default_hostname(&name, &domain)),
            port: m.port.known().copied().unwrap_or(defaults::PORT),
            env,
            cpu: m
                .cpu
                .known()
                .cloned()
                .unwrap_or_else(|| defaults::CPU.into()),
            memory: m
                .memory
                .known()
                .cloned()
                .unwrap_or_else(|| defaults::MEMORY.into()),
            min_instances: m
                .min_instances
                .known()
                .copied()
                .unwrap_or(defaults::MIN_INSTANCES),
            max_instances: m
                .max_instances
                .known()
                .copied()
                .unwrap_or(defaults::MAX_INSTANCES),
            ingress: ingress_to_api(
                m.ingress
                    .known()
                    .map(String::as_str)
                    .unwrap_or(defaults::INGRESS),
            )
            .into(),
            invokers,
            trace: m.trace.known().copied().unwrap_or(defaults::TRACE),
            labels: effective_labels(default_labels, &m.labels),
            dns_address: m
                .dns_address
                .known()
                .cloned()
                .unwrap_or_else(|| defaults::DNS_ADDRESS.into()),
            neg_name: m
                .neg_name
                .known()
                .cloned()
                .unwrap_or_else(|| names::default_neg_name(&name)),
            backend_service_name: m
                .backend_service_name
                .known()
                .cloned()
                .unwrap_or_else(|| names::default_backend_service_name(&name)),
            route_name: m
                .route_name
                .known()
                .cloned()
                .unwrap_or_else(|| names::default_route_name(&name)),
            dns_zone_name: m
                .dns_zone_name
                .known()
                .cloned()
                .unwrap_or_else(|| names::default_dns_zone_name(&domain)),
            route,
            circuit_breaker,
            outlier,
            deletion_policy: m
                .deletion_policy
                .known()
                .cloned()
                .unwrap_or_else(|| defaults::DELETION_POLICY.into()),
            timeouts: timeouts(m),
            domain,
            project,
            region,
            name,
        })
    }

    /// `projects/P/locations/R/services/NAME`.
    pub fn service_path(&self) -> String {
        gcp::run::service_name(&self.project, &self.region, &self.name)
    }

    /// The ownership marker for descriptions.
    pub fn marker(&self) -> String {
        names::owner_marker(&self.project, &self.region, &self.name)
    }

    /// The NEG id (Compute relative path).
    pub fn neg_path(&self) -> String {
        gcp::compute::neg_path(&self.project, &self.region, &self.neg_name)
    }

    /// The backend service id, as other services' `route.destination` take it.
    pub fn backend_service_path(&self) -> String {
        gcp::compute::backend_service_path(&self.project, &self.backend_service_name)
    }

    /// The HTTPRoute resource name.
    pub fn route_path(&self) -> String {
        gcp::network_services::http_route_name(&self.project, &self.route_name)
    }

    /// The DNS zone id.
    pub fn zone_path(&self) -> String {
        format!(
            "projects/{}/managedZones/{}",
            self.project, self.dns_zone_name
        )
    }

    /// `roles/trafficdirector.client`, plus `roles/cloudtrace.agent` with `trace`.
    pub fn project_roles(&self) -> Vec<&'static str> {
        let mut r = vec![TRAFFIC_DIRECTOR_CLIENT];
        if self.trace {
            r.push(CLOUDTRACE_AGENT);
        }
        r
    }

    /// `serviceAccount:<email>`.
    pub fn sa_member(&self) -> String {
        format!("serviceAccount:{}", self.service_account)
    }
}

pub const TRAFFIC_DIRECTOR_CLIENT: &str = "roles/trafficdirector.client";
pub const CLOUDTRACE_AGENT: &str = "roles/cloudtrace.agent";
pub const RUN_INVOKER: &str = "roles/run.invoker";
