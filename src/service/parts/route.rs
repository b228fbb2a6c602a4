//! The HTTPRoute: created last, once the service is Ready, so the hostname goes live only when it works.
//!
//! The shared DNS zone and record need no second look when the route is made: the service registered as a user of
//! its domain before this (`dns::join`), and from then on no leaver, in this process or another, removes them.
//! Import finds the route by reference (the routes that send to the service's backend service), never by name.

use async_trait::async_trait;
use gcp::network_services::{
    Destination, FaultAbort, FaultDelay, FaultInjectionPolicy, HeaderMatch, HttpRoute, RetryPolicy,
    RouteAction, RouteMatch, RouteRule,
};
use tfplug::Diagnostic;

use super::{Ensured, Free, Made, Part, Place};
use crate::service::duration;
use crate::service::names;
use crate::service::runner::Failed;
use crate::service::snapshot;
use crate::service::spec::{Dest, Spec};
use crate::service::steps::{self, found, gone, is_marked, not_ours, project, Ctx, StepError};

/// The HTTPRoute part.
pub struct Route;

/// The route import took for the service, and a warning when it was one of several equally likely.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub route: HttpRoute,
    pub warning: Option<Diagnostic>,
}

#[async_trait]
impl Part for Route {
    type Body = HttpRoute;
    type Input = ();
    type Record = Made;
    /// The route exists as the spec says (ownership markers aside).
    type Observed = bool;
    /// The backend service's name.
    type Clue = str;
    type Found = Discovered;

    fn body(s: &Spec, _: &()) -> HttpRoute {
        body(s)
    }

    async fn free(c: &Ctx) -> Result<Free, StepError> {
        free_as(c, read(c).await?.as_ref())
    }

    /// Ensures the route exists as the spec says. A failure after the create was sent says the route may exist.
    async fn ensure(c: &Ctx) -> Ensured<Made> {
        ensure_from(c, None).await
    }

    async fn undo(_sent: &Ctx, cleanup: &Ctx, made: &Made) -> Result<(), StepError> {
        if !made.created {
            return Ok(());
        }
        Route::delete(cleanup, &cleanup.spec.route_name).await
    }

    async fn delete(c: &Ctx, name: &str) -> Result<(), StepError> {
        let path = gcp::network_services::http_route_name(&c.spec.project, name);
        let r = c.clients.network_services().delete_http_route(&path).await;
        gone(r, &format!("HTTPRoute {name}"))
    }

    async fn observe(c: &Ctx) -> Result<bool, StepError> {
        Ok(in_place(c, read(c).await?.as_ref()).await)
    }

    /// The service's own route among those of the project ([`choose_route`]).
    async fn discover(
        clients: &gcp::Clients,
        at: &Place,
        backend_service: &str,
    ) -> Result<Option<Discovered>, StepError> {
        let routes = clients
            .network_services()
            .list_http_routes(&gcp::network_services::global_parent(&at.project))
            .await
            .map_err(|e| StepError::api("list HTTPRoutes", &e))?;
        let suffix = format!("/backendServices/{backend_service}");
        let marker = names::owner_marker(&at.project, &at.region, &at.name);
        let choice = choose_route(&routes, &at.name, &suffix, &marker);
        Ok(choice.chosen.map(|r| Discovered {
            route: r.clone(),
            warning: choice.warning,
        }))
    }
}

/// Whether `found`, the route of the spec's name if there is one, leaves the name to this service.
fn free_as(c: &Ctx, found: Option<&HttpRoute>) -> Result<Free, StepError> {
    let s = &c.spec;
    match found {
        Some(r) if !is_marked(r.description.as_deref(), s) => {
            Err(not_ours("HTTPRoute", &s.route_name, "route_name", s))
        }
        Some(_) => Ok(Free::Ours),
        None => Ok(Free::Absent),
    }
}

/// [`Part::free`] answered from the project's route listing (the pre-flight's hostname check lists them anyway):
/// no second read of the name.
pub fn free_in(c: &Ctx, routes: &[HttpRoute]) -> Result<Free, StepError> {
    let own = format!("/httpRoutes/{}", c.spec.route_name);
    free_as(c, routes.iter().find(|r| r.name.ends_with(&own)))
}

/// [`Part::ensure`] after the pre-flight's look at the name (`free`): found absent, the route is created without
/// reading it first (a 409 reads it then).
pub async fn ensure_from(c: &Ctx, free: Option<Free>) -> Ensured<Made> {
    let s = &c.spec;
    let ns = c.clients.network_services();
    let want = body(s);
    let path = s.route_path();
    let what = format!("HTTPRoute {}", s.route_name);
    let sent = |error| Failed {
        error,
        partial: Some(Made { created: true }),
    };
    let known = if free == Some(Free::Absent) {
        None
    } else {
        read(c).await.map_err(Failed::clean)?
    };
    let (have, made_here) = match known {
        Some(h) => (h, false),
        None => {
            let parent = gcp::network_services::global_parent(&s.project);
            match ns.create_http_route(&parent, &s.route_name, &want).await {
                Ok(_) => return Ok(Made { created: true }),
                Err(e) if e.is_already_exists() => (
                    ns.get_http_route(&path)
                        .await
                        .map_err(|e| sent(StepError::api(&format!("read {what}"), &e)))?,
                    true,
                ),
                Err(e) => {
                    return Err(sent(StepError::api(
                        &format!("create HTTPRoute {}", s.route_name),
                        &e,
                    )))
                }
            }
        }
    };
    if !c.existing && !is_marked(have.description.as_deref(), s) {
        // Found, not made: someone else's, whatever the create that ran into it.
        return Err(Failed::clean(not_ours(
            "HTTPRoute",
            &s.route_name,
            "route_name",
            s,
        )));
    }
    if !project::holds_in(c, &want, &have).await {
        ns.patch_http_route(&path, &want, None).await.map_err(|e| {
            let error = StepError::api(&format!("update HTTPRoute {}", s.route_name), &e);
            if made_here {
                sent(error)
            } else {
                Failed::clean(error)
            }
        })?;
    }
    Ok(Made {
        created: !c.existing,
    })
}

/// Whether the route read for a refresh is as the spec says (ownership markers aside).
async fn in_place(c: &Ctx, have: Option<&HttpRoute>) -> bool {
    let Some(r) = have else {
        return false;
    };
    let mut want = body(&c.spec);
    want.description = None;
    want.labels.clear();
    project::holds_in(c, &want, r).await
}

/// [`Part::observe`] from the project's `httpRoutes.list` in the process's read snapshot (`service::snapshot`);
/// a route not listed there is read directly before it is called missing.
pub async fn observe_listed(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let parent = gcp::network_services::global_parent(&s.project);
    let have = snapshot::listed_or_get(
        &c.data.reads,
        &format!("networkservices.httpRoutes.list {parent}"),
        || async { c.clients.network_services().list_http_routes(&parent).await },
        |r| Some(r.name.as_str()),
        &s.route_name,
        || read(c),
    )
    .await?;
    Ok(in_place(c, have.as_ref()).await)
}

/// The spec's route, if it exists.
async fn read(c: &Ctx) -> Result<Option<HttpRoute>, StepError> {
    get(c, &c.spec.route_name).await
}

/// The HTTPRoute `name` of the spec's project, if it exists.
pub async fn get(c: &Ctx, name: &str) -> Result<Option<HttpRoute>, StepError> {
    let path = gcp::network_services::http_route_name(&c.spec.project, name);
    let r = c.clients.network_services().get_http_route(&path).await;
    found(r, &format!("HTTPRoute {name}"))
}

/// Whether `r`, a route the state names, is this service's: it carries the service's marker, or (imported, so
/// without one) it is the service's own route as import chooses it ([`choose_route`]) for one of `backends` (the
/// backend service the state names and any left over from a rename): its default traffic goes there, or it carries
/// the service's hostname and sends there. A route where the backend service is only an extra destination is
/// another service's.
pub fn is_this_services(r: &HttpRoute, s: &Spec, backends: &[&str]) -> bool {
    is_marked(r.description.as_deref(), s)
        || backends.iter().any(|b| {
            let own = format!("/backendServices/{b}");
            default_destination(r).is_some_and(|d| d.ends_with(&own))
                || (r.hostnames.contains(&s.hostname) && references(r, &own))
        })
}

/// The refusal to change or delete `r`, named by the state's `attr`, which is not this service's.
pub fn not_this_services(r: &HttpRoute, attr: &str, s: &Spec) -> StepError {
    let reason = format!(
        "it does not send to backend service {}",
        s.backend_service_name
    );
    steps::not_this_services("HTTPRoute", last(&r.name), attr, &reason, s)
}

/// Every HTTPRoute of the project (hostname checks and users of the shared DNS zone).
pub async fn list(c: &Ctx) -> Result<Vec<HttpRoute>, StepError> {
    c.clients
        .network_services()
        .list_http_routes(&gcp::network_services::global_parent(&c.spec.project))
        .await
        .map_err(|e| StepError::api("list HTTPRoutes", &e))
}

fn last(s: &str) -> &str {
    s.trim_end_matches('/').rsplit('/').next().unwrap_or(s)
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

/// The HTTPRoute: match-first rules, then the default split with the route-wide settings ([`Part::body`]).
fn body(s: &Spec) -> HttpRoute {
    let r = &s.route;
    let action = |dests: Vec<Destination>| RouteAction {
        destinations: dests,
        timeout: r
            .timeout
            .as_ref()
            .and_then(|t| duration::parse(t).ok())
            .map(duration::to_google),
        retry_policy: r.retry.as_ref().map(|(n, per_try, conds)| RetryPolicy {
            retry_conditions: conds.clone(),
            num_retries: *n,
            per_try_timeout: per_try
                .as_ref()
                .and_then(|t| duration::parse(t).ok())
                .map(duration::to_google),
        }),
        fault_injection_policy: (r.delay.is_some() || r.abort.is_some()).then(|| {
            FaultInjectionPolicy {
                delay: r.delay.as_ref().map(|(d, p)| FaultDelay {
                    fixed_delay: duration::parse(d).ok().map(duration::to_google),
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

/// The routes that send to a service's backend service, and which of them is the service's own.
#[derive(Debug)]
struct RouteChoice<'a> {
    chosen: Option<&'a HttpRoute>,
    warning: Option<Diagnostic>,
}

/// A hostname of `r` that is `<name>.<domain>`: the hostname csmrun gives the service when none is configured.
pub fn own_hostname<'a>(r: &'a HttpRoute, name: &str) -> Option<&'a str> {
    r.hostnames.iter().map(String::as_str).find(|h| {
        h.split_once('.')
            .is_some_and(|(first, domain)| first == name && !domain.is_empty())
    })
}

/// The destination unmatched traffic goes to: the first destination of the first rule without matches (a rule
/// without matches takes all traffic, so later ones are never reached).
fn default_destination(r: &HttpRoute) -> Option<&str> {
    r.rules
        .iter()
        .find(|rule| rule.matches.is_empty())
        .and_then(|rule| rule.action.as_ref())
        .and_then(|a| a.destinations.first())
        .map(|d| d.service_name.as_str())
}

/// Picks the service's own route among `routes` (PRODUCT §4: found by reference): first a route carrying the
/// service's hostname `<name>.<domain>`, then one whose default destination is the service's backend service
/// (`own_suffix`, `/backendServices/NAME`). A route where the backend service is only an extra weighted or rule
/// destination belongs to another service (`target2-route` splitting to target3) and is never chosen. Among
/// several equal candidates, the one carrying csmrun's `marker` for this service wins; if several still remain,
/// the first by name is chosen and the warning names them all.
fn choose_route<'a>(
    routes: &'a [HttpRoute],
    name: &str,
    own_suffix: &str,
    marker: &str,
) -> RouteChoice<'a> {
    let is_own = |d: &str| d.ends_with(own_suffix);
    let by_hostname: Vec<&HttpRoute> = routes
        .iter()
        .filter(|r| own_hostname(r, name).is_some() && references(r, own_suffix))
        .collect();
    let by_default: Vec<&HttpRoute> = routes
        .iter()
        .filter(|r| default_destination(r).is_some_and(is_own))
        .collect();
    let (tier, why) = if !by_hostname.is_empty() {
        (by_hostname, format!("carry the hostname `{name}.<domain>`"))
    } else {
        (
            by_default,
            "send their default traffic to this service's backend service".to_string(),
        )
    };
    let marked: Vec<&HttpRoute> = tier
        .iter()
        .copied()
        .filter(|r| {
            r.description
                .as_deref()
                .is_some_and(|d| names::has_marker(d, marker))
        })
        .collect();
    let mut left = if marked.is_empty() { tier } else { marked };
    left.sort_by(|a, b| a.name.cmp(&b.name));
    let chosen = left.first().copied();
    let warning = (left.len() > 1).then(|| {
        let names: Vec<String> = left.iter().map(|r| format!("`{}`", last(&r.name))).collect();
        Diagnostic::warning(
            "Several HTTPRoutes could be this service's route",
            format!(
                "The HTTPRoutes {} all {why} (backend service `{}`); import took `{}`, the first by name, as the \
                 route of csmrun_service `{name}` (its route_name). The import id names only the service \
                 (projects/P/locations/R/services/NAME, P/R/NAME, R/NAME or NAME), so to import another of them, \
                 make it the only one: give the route you want the hostname `{name}.<domain>` (or the marker \
                 `{marker}` in its description), or point the others' default destination elsewhere; then \
                 `terraform state rm` the resource and import it again.",
                names.join(", "),
                last(own_suffix),
                chosen.map(|r| last(&r.name)).unwrap_or_default(),
            ),
        )
    });
    RouteChoice { chosen, warning }
}

/// True when any rule of `r` sends to the backend service ending in `own_suffix`.
fn references(r: &HttpRoute, own_suffix: &str) -> bool {
    r.rules.iter().any(|rule| {
        rule.action.as_ref().is_some_and(|a| {
            a.destinations
                .iter()
                .any(|d| d.service_name.ends_with(own_suffix))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::validate_table;

    fn spec() -> Spec {
        validate_table::planned(&validate_table::valid()).1
    }

    #[test]
    fn the_route_puts_rules_first_and_the_weighted_default_split_last() {
        let r = body(&spec());
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

    const P: &str = "projects/p/global/backendServices";

    /// A route named `name` with `hostname`: `rules` are (matches?, destinations as backend service names).
    fn route(name: &str, hostname: &str, rules: &[(bool, &[&str])]) -> HttpRoute {
        use gcp::network_services::{Destination, RouteAction, RouteMatch, RouteRule};
        HttpRoute {
            name: format!("projects/p/locations/global/httpRoutes/{name}"),
            hostnames: vec![hostname.to_string()],
            rules: rules
                .iter()
                .map(|(matched, dests)| RouteRule {
                    matches: if *matched {
                        vec![RouteMatch {
                            prefix_match: Some("/api".into()),
                            ..Default::default()
                        }]
                    } else {
                        vec![]
                    },
                    action: Some(RouteAction {
                        destinations: dests
                            .iter()
                            .map(|d| Destination {
                                service_name: format!("{P}/{d}"),
                                weight: Some(50),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn chosen(routes: &[HttpRoute], name: &str) -> (Option<String>, Option<Diagnostic>) {
        let own = format!("/backendServices/{name}-backend");
        let c = choose_route(routes, name, &own, &format!("csmrun:p/r/{name}"));
        (c.chosen.map(|r| last(&r.name).to_string()), c.warning)
    }

    #[test]
    fn the_route_with_the_services_own_hostname_wins_over_one_splitting_to_it() {
        // The meshapps mesh: target2-route splits 50:50 to target3, which has its own route.
        let routes = [
            route(
                "target2-route",
                "target23.meshapps.internal",
                &[(false, &["target2-backend", "target3-backend"])],
            ),
            route(
                "target3-route",
                "target3.meshapps.internal",
                &[(false, &["target3-backend"])],
            ),
        ];
        assert_eq!(
            chosen(&routes, "target3"),
            (Some("target3-route".into()), None)
        );
        assert_eq!(
            chosen(&routes, "target2"),
            (Some("target2-route".into()), None)
        );
    }

    #[test]
    fn the_route_sending_default_traffic_to_the_service_wins_over_one_where_it_is_an_extra_destination(
    ) {
        let routes = [
            route(
                "a-canary",
                "shop.meshapps.internal",
                &[
                    (true, &["green-backend"]),
                    (false, &["blue-backend", "green-backend"]),
                ],
            ),
            route(
                "b-green",
                "green-alias.meshapps.internal",
                &[(true, &["blue-backend"]), (false, &["green-backend"])],
            ),
        ];
        assert_eq!(chosen(&routes, "green"), (Some("b-green".into()), None));
        assert_eq!(chosen(&routes, "blue"), (Some("a-canary".into()), None));
    }

    #[test]
    fn a_service_that_is_only_an_extra_or_rule_destination_has_no_route_of_its_own() {
        let routes = [route(
            "target-route",
            "target.meshapps.internal",
            &[
                (true, &["target-green-backend"]),
                (false, &["target-backend", "target-green-backend"]),
            ],
        )];
        assert_eq!(chosen(&routes, "target-green"), (None, None));
    }

    #[test]
    fn several_equal_candidates_take_the_marked_one_else_the_first_by_name_with_a_warning() {
        let mut routes = [
            route(
                "z-route",
                "api.meshapps.internal",
                &[(false, &["svc-backend"])],
            ),
            route(
                "m-route",
                "web.meshapps.internal",
                &[(false, &["svc-backend"])],
            ),
        ];
        let (name, warning) = chosen(&routes, "svc");
        assert_eq!(name, Some("m-route".into()));
        let w = warning.expect("a warning when two routes qualify");
        let text = format!("{w:?}");
        for needle in [
            "`m-route`",
            "`z-route`",
            "import took `m-route`",
            "svc.<domain>",
            "state rm",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        routes[0].description = Some("csmrun:p/r/svc".into());
        assert_eq!(chosen(&routes, "svc"), (Some("z-route".into()), None));
    }
}
