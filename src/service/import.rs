//! Import by discovery (PRODUCT §4): the parts are found by reference, never guessed from default names.

use super::explain::Explanation;
use gcp::network_services::HttpRoute;

use super::defaults;
use super::model::{
    DestinationBlock, FaultInjectionBlock, HeaderBlock, RetryBlock, RouteBlock, RuleBlock,
    ServiceModel,
};
use super::names;
use super::parts::dns::DnsZone;
use super::parts::{BackendServicePart, CloudRun, Invokers, Neg, Part as _, Place, Route};
use super::steps::StepError;
use super::val::Val;
use super::validate::{check_project, check_region};
use tfplug::Diagnostic;

/// `(project, region, name)` from `projects/P/locations/R/services/NAME`, `P/R/NAME`, `R/NAME` or `NAME`.
///
/// Each part becomes a segment of the requests that discover the service, so what the ID gives is held to the
/// configuration's formats (the provider's defaults, which are not, to one path segment): an ID cannot carry a
/// query (`?alt=json`), a fragment or another path.
pub fn parse_id(
    id: &str,
    project: Option<&str>,
    region: Option<&str>,
) -> Result<(String, String, String), String> {
    let parts: Vec<&str> = id.split('/').collect();
    // (value, whether the ID gave it)
    let (p, r, n) = match parts.as_slice() {
        ["projects", p, "locations", r, "services", n] => ((Some(*p), true), (Some(*r), true), *n),
        [p, r, n] => ((Some(*p), true), (Some(*r), true), *n),
        [r, n] => ((project, false), (Some(*r), true), *n),
        [n] => ((project, false), (region, false), *n),
        _ => return Err(format!("{id:?} is not an import id")),
    };
    let forms = "projects/P/locations/R/services/NAME, P/R/NAME, R/NAME or NAME";
    let (p, p_in_id) = (p.0.filter(|s| !s.is_empty()), p.1);
    let (r, r_in_id) = (r.0.filter(|s| !s.is_empty()), r.1);
    let p =
        p.ok_or_else(|| format!("no project in {id:?} and no provider `project`; use {forms}"))?;
    let r =
        r.ok_or_else(|| format!("no region in {id:?} and no provider `region`; use {forms}"))?;
    if n.is_empty() {
        return Err(format!("no service name in {id:?}; use {forms}"));
    }
    let checks = [
        (
            "project",
            p,
            if p_in_id {
                check_project(p)
            } else {
                names::check_id_segment(p)
            },
        ),
        (
            "region",
            r,
            if r_in_id {
                check_region(r)
            } else {
                names::check_id_segment(r)
            },
        ),
        ("service name", n, names::check_service_name(n)),
    ];
    for (what, v, check) in checks {
        if let Err(e) = check {
            let mut shown: String = v.chars().take(80).collect();
            if shown.len() < v.len() {
                shown.push_str("...");
            }
            return Err(format!(
                "the {what} {shown:?} of the import id {e}. Use {forms}, e.g. \
                 projects/my-project/locations/asia-northeast1/services/target."
            ));
        }
    }
    Ok((p.to_string(), r.to_string(), n.to_string()))
}

fn k(s: impl Into<String>) -> Val<String> {
    Val::Known(s.into())
}

fn last(s: &str) -> &str {
    s.trim_end_matches('/').rsplit('/').next().unwrap_or(s)
}

/// What import found.
#[derive(Debug)]
pub struct Discovered {
    /// The state to hand to read.
    pub model: ServiceModel,
    /// The project roles the service's annotation says csmrun granted for its account (so the last user still
    /// releases them).
    pub iam_owned: Vec<String>,
    /// A warning when the route was one of several equally likely.
    pub warning: Option<Diagnostic>,
    /// The Cloud Run service's `uid`: later destroys and updates check that the service of the name is still this
    /// one (`identity`).
    pub service_uid: Option<String>,
}

/// Discovers every part of the service `name`.
pub async fn discover(
    clients: &gcp::Clients,
    project: &str,
    region: &str,
    name: &str,
) -> Result<Discovered, StepError> {
    let place = Place {
        project: project.to_string(),
        region: region.to_string(),
        name: name.to_string(),
    };
    let path = gcp::run::service_name(project, region, name);
    let svc = match CloudRun::discover(clients, &place, &()).await? {
        Some(s) => s,
        None => {
            return Err(StepError::refused(
                Explanation::new(
                    format!("Cloud Run service {path}"),
                    "cannot import: not found",
                )
                .why("there is no Cloud Run service of that name in that project and region")
                .fix("check the import ID: projects/PROJECT/locations/REGION/services/NAME"),
            ))
        }
    };
    let neg_name = Neg::discover(clients, &place, name).await?;
    let bs = match &neg_name {
        Some(nn) => BackendServicePart::discover(clients, &place, nn).await?,
        None => None,
    };
    let bs_name = bs.as_ref().map(|b| b.name.clone());
    let (route, route_warning) = match &bs_name {
        Some(bn) => match Route::discover(clients, &place, bn).await? {
            Some(found) => (Some(found.route), found.warning),
            None => (None, None),
        },
        None => (None, None),
    };
    let invokers = Invokers::discover(clients, &place, &())
        .await?
        .unwrap_or_default();
    let t = svc.template.clone().unwrap_or_default();
    let mut m = ServiceModel {
        invokers: Val::Known(invokers.into_iter().map(Val::Known).collect()),
        name: k(name),
        project: k(project),
        region: k(region),
        deletion_policy: k(defaults::DELETION_POLICY),
        trace: Val::Known(defaults::TRACE),
        dns_address: k(defaults::DNS_ADDRESS),
        image: k(t
            .containers
            .first()
            .map(|c| c.image.clone())
            .unwrap_or_default()),
        service_account: k(t.service_account.clone().unwrap_or_default()),
        mesh: k(t
            .service_mesh
            .as_ref()
            .and_then(|m| m.mesh.clone())
            .unwrap_or_default()),
        ..Default::default()
    };
    if let Some(ni) = t
        .vpc_access
        .as_ref()
        .and_then(|v| v.network_interfaces.first())
    {
        m.network = k(last(ni.network.as_deref().unwrap_or("")));
        m.subnetwork = k(last(ni.subnetwork.as_deref().unwrap_or("")));
    }
    m.neg_name = k(neg_name.unwrap_or_else(|| super::names::default_neg_name(name)));
    m.backend_service_name = k(bs_name
        .clone()
        .unwrap_or_else(|| super::names::default_backend_service_name(name)));
    if let Some(b) = &bs {
        if let Some(cb) = &b.circuit_breakers {
            m.circuit_breaker = vec![super::model::CircuitBreakerBlock {
                max_requests: cb
                    .max_requests
                    .map(i64::from)
                    .map(Val::Known)
                    .unwrap_or_default(),
                max_pending_requests: cb
                    .max_pending_requests
                    .map(i64::from)
                    .map(Val::Known)
                    .unwrap_or_default(),
                max_connections: cb
                    .max_connections
                    .map(i64::from)
                    .map(Val::Known)
                    .unwrap_or_default(),
                max_retries: cb
                    .max_retries
                    .map(i64::from)
                    .map(Val::Known)
                    .unwrap_or_default(),
            }];
        }
        if let Some(od) = &b.outlier_detection {
            let d = |x: &Option<gcp::compute::Duration>| {
                x.as_ref()
                    .map(|d| {
                        super::duration::to_google(std::time::Duration::new(
                            u64::try_from(d.seconds.unwrap_or(0)).unwrap_or(0),
                            u32::try_from(d.nanos.unwrap_or(0)).unwrap_or(0),
                        ))
                    })
                    .map(Val::Known)
                    .unwrap_or_default()
            };
            m.outlier_detection = vec![super::model::OutlierDetectionBlock {
                consecutive_errors: od
                    .consecutive_errors
                    .map(i64::from)
                    .map(Val::Known)
                    .unwrap_or_default(),
                interval: d(&od.interval),
                base_ejection_time: d(&od.base_ejection_time),
                max_ejection_percent: od
                    .max_ejection_percent
                    .map(i64::from)
                    .map(Val::Known)
                    .unwrap_or_default(),
            }];
        }
    }
    match &route {
        Some(r) => {
            m.route_name = k(last(&r.name));
            if let Some(h) = super::parts::route::own_hostname(r, name)
                .or(r.hostnames.first().map(String::as_str))
            {
                m.hostname = k(h);
                if let Some((_, domain)) = h.split_once('.') {
                    m.domain = k(domain);
                }
            }
            if let Some(mesh) = r
                .meshes
                .first()
                .filter(|_| m.mesh.known().is_some_and(String::is_empty))
            {
                m.mesh = k(mesh.clone());
            }
            let own = format!("/backendServices/{}", bs_name.clone().unwrap_or_default());
            m.route = route_blocks(r, &own);
        }
        None => m.route_name = k(super::names::default_route_name(name)),
    }
    if let Val::Known(domain) = m.domain.clone() {
        match DnsZone::discover(clients, &place, &domain).await? {
            Some((zone, address)) => {
                if let Some(a) = address {
                    m.dns_address = k(a);
                }
                m.dns_zone_name = k(zone);
            }
            None => m.dns_zone_name = k(super::names::default_dns_zone_name(&domain)),
        }
    } else {
        m.domain = k("");
        m.dns_zone_name = k("");
    }
    m.hostname = match m.hostname {
        Val::Known(h) => Val::Known(h),
        _ => k(""),
    };
    let owned = svc
        .annotations
        .get(super::parts::iam::OWNED_ROLES_ANNOTATION)
        .map(|v| {
            v.split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Discovered {
        model: m,
        iam_owned: owned,
        warning: route_warning,
        service_uid: svc.uid.clone(),
    })
}

/// The `route` block a hand-built HTTPRoute corresponds to; none for a plain route to the service alone.
fn route_blocks(r: &HttpRoute, own_suffix: &str) -> Vec<RouteBlock> {
    let Some(default) = r.rules.iter().rev().find(|x| x.matches.is_empty()) else {
        return vec![];
    };
    let Some(action) = &default.action else {
        return vec![];
    };
    let dests =
        |ds: &[gcp::network_services::Destination], skip_own: bool| -> Vec<DestinationBlock> {
            ds.iter()
                .filter(|d| !(skip_own && d.service_name.ends_with(own_suffix)))
                .map(|d| DestinationBlock {
                    backend_service: k(
                        gcp::compute::link_path(&d.service_name).unwrap_or(&d.service_name)
                    ),
                    weight: Val::Known(i64::from(d.weight.unwrap_or(0))),
                })
                .collect()
        };
    let mut block = RouteBlock {
        timeout: action.timeout.clone().map(Val::Known).unwrap_or_default(),
        destination: dests(&action.destinations, true),
        ..Default::default()
    };
    if !block.destination.is_empty() {
        let own = action
            .destinations
            .iter()
            .find(|d| d.service_name.ends_with(own_suffix));
        block.weight = Val::Known(own.and_then(|d| d.weight).map(i64::from).unwrap_or(0));
    }
    if let Some(rp) = &action.retry_policy {
        block.retry = vec![RetryBlock {
            attempts: rp
                .num_retries
                .map(i64::from)
                .map(Val::Known)
                .unwrap_or_default(),
            per_try_timeout: rp
                .per_try_timeout
                .clone()
                .map(Val::Known)
                .unwrap_or_default(),
            conditions: if rp.retry_conditions.is_empty() {
                Val::Null
            } else {
                Val::Known(
                    rp.retry_conditions
                        .iter()
                        .cloned()
                        .map(Val::Known)
                        .collect(),
                )
            },
        }];
    }
    if let Some(f) = &action.fault_injection_policy {
        let mut fb = FaultInjectionBlock::default();
        if let Some(d) = &f.delay {
            fb.delay = d.fixed_delay.clone().map(Val::Known).unwrap_or_default();
            fb.delay_percent = d
                .percentage
                .map(i64::from)
                .map(Val::Known)
                .unwrap_or_default();
        }
        if let Some(a) = &f.abort {
            fb.abort_status = a
                .http_status
                .map(i64::from)
                .map(Val::Known)
                .unwrap_or_default();
            fb.abort_percent = a
                .percentage
                .map(i64::from)
                .map(Val::Known)
                .unwrap_or_default();
        }
        block.fault_injection = vec![fb];
    }
    for rule in r.rules.iter().filter(|x| !x.matches.is_empty()) {
        let Some(mt) = rule.matches.first() else {
            continue;
        };
        let ds = rule
            .action
            .as_ref()
            .map(|a| a.destinations.as_slice())
            .unwrap_or(&[]);
        let only_own = ds.len() == 1 && ds[0].service_name.ends_with(own_suffix);
        block.rule.push(RuleBlock {
            path_prefix: mt.prefix_match.clone().map(Val::Known).unwrap_or_default(),
            header: mt
                .headers
                .iter()
                .map(|h| HeaderBlock {
                    name: k(h.header.clone()),
                    exact: h.exact_match.clone().map(Val::Known).unwrap_or_default(),
                    prefix: h.prefix_match.clone().map(Val::Known).unwrap_or_default(),
                    regex: h.regex_match.clone().map(Val::Known).unwrap_or_default(),
                    present: h.present_match.map(Val::Known).unwrap_or_default(),
                })
                .collect(),
            destination: if only_own { vec![] } else { dests(ds, false) },
        });
    }
    let plain = block == RouteBlock::default();
    if plain {
        vec![]
    } else {
        vec![block]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::validate_table;

    #[test]
    fn a_route_built_from_a_route_block_is_discovered_as_the_same_block() {
        let (planned, spec) = validate_table::planned(&validate_table::valid());
        let own = format!("/backendServices/{}", spec.backend_service_name);
        assert_eq!(route_blocks(&Route::body(&spec, &()), &own), planned.route);
    }

    #[test]
    fn a_plain_route_is_discovered_as_no_route_block() {
        let mut m = validate_table::valid();
        m.route.clear();
        let (_, spec) = validate_table::planned(&m);
        let own = format!("/backendServices/{}", spec.backend_service_name);
        assert_eq!(route_blocks(&Route::body(&spec, &()), &own), vec![]);
    }

    #[test]
    fn import_ids_accept_the_four_forms() {
        let want = Ok((
            "my-project".to_string(),
            "asia-east1".to_string(),
            "s".to_string(),
        ));
        assert_eq!(
            parse_id(
                "projects/my-project/locations/asia-east1/services/s",
                None,
                None
            ),
            want
        );
        assert_eq!(parse_id("my-project/asia-east1/s", None, None), want);
        assert_eq!(parse_id("asia-east1/s", Some("my-project"), None), want);
        assert_eq!(parse_id("s", Some("my-project"), Some("asia-east1")), want);
        assert!(parse_id("s", None, Some("r")).is_err());
        assert!(parse_id("a/b/c/d", Some("p"), Some("r")).is_err());
    }

    #[test]
    fn an_import_id_with_a_query_fragment_or_bad_name_is_refused() {
        for id in [
            "projects/my-project/locations/asia-east1/services/s?alt=json",
            "my-project/asia-east1/s#x",
            "my-project/asia-east1/s%2Fx",
            "projects/my-project?alt=json/locations/asia-east1/services/s",
            "projects/my-project/locations/../services/s",
            "s?alt=json",
        ] {
            let e = parse_id(id, Some("my-project"), Some("asia-east1")).unwrap_err();
            assert!(e.contains("of the import id"), "{id}: {e}");
        }
        // Provider defaults are only held to one path segment (the provider block is not validated like a
        // resource), so short test projects still work.
        assert!(parse_id("s", Some("p"), Some("r")).is_ok());
        assert!(parse_id("s", Some("p/x"), Some("r")).is_err());
    }
}
