//! `cargo xtask mesh-map`: the mesh as `terraform show -json` records it — hostnames, weights, invokers, URLs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The resource type the map is drawn from.
const SERVICE_TYPE: &str = "csmrun_service";

/// One `csmrun_service` instance, reduced to what the map shows.
#[derive(Debug, Clone, PartialEq)]
struct Service {
    address: String,
    name: String,
    hostname: String,
    uri: String,
    backend_service: String,
    service_account: String,
    invokers: Vec<String>,
    route: Option<Route>,
}

#[derive(Debug, Clone, PartialEq)]
struct Route {
    weight: Option<u64>,
    destinations: Vec<Destination>,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
struct Destination {
    backend_service: String,
    weight: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    matches: Vec<String>,
    destinations: Vec<Destination>,
}

/// Renders the map from the JSON of `terraform show -json` (state, not plan).
pub fn render(show_json: &str) -> Result<String> {
    let doc: Value =
        serde_json::from_str(show_json).context("parsing `terraform show -json` output")?;
    let Some(root) = doc.pointer("/values/root_module") else {
        bail!("the state is empty: `terraform show -json` has no values.root_module (run terraform apply first)");
    };
    let mut services = Vec::new();
    collect(root, &mut services)?;
    if services.is_empty() {
        bail!("no {SERVICE_TYPE} resources in the state");
    }
    services.sort_by(|a, b| a.name.cmp(&b.name).then(a.address.cmp(&b.address)));
    Ok(draw(&services))
}

fn collect(module: &Value, out: &mut Vec<Service>) -> Result<()> {
    for resource in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let is_service = resource.get("type").and_then(Value::as_str) == Some(SERVICE_TYPE)
            && resource.get("mode").and_then(Value::as_str) == Some("managed");
        if is_service {
            out.push(service(resource)?);
        }
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect(child, out)?;
    }
    Ok(())
}

fn service(resource: &Value) -> Result<Service> {
    let address = str_at(resource, "address");
    let values = resource
        .get("values")
        .with_context(|| format!("{address} has no values"))?;
    let name = str_at(values, "name");
    let hostname = match str_at(values, "hostname") {
        h if h.is_empty() => format!("{name}.{}", str_at(values, "domain")),
        h => h,
    };
    let route = values
        .get("route")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .map(|r| Route {
            weight: r.get("weight").and_then(Value::as_u64),
            destinations: destinations(r.get("destination")),
            rules: r
                .get("rule")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|rule| Rule {
                    matches: rule_matches(rule),
                    destinations: destinations(rule.get("destination")),
                })
                .collect(),
        });
    Ok(Service {
        name,
        hostname,
        uri: str_at(values, "uri"),
        backend_service: str_at(values, "backend_service"),
        service_account: str_at(values, "service_account"),
        invokers: values
            .get("invokers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        route,
        address,
    })
}

fn str_at(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn destinations(value: Option<&Value>) -> Vec<Destination> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| Destination {
            backend_service: str_at(d, "backend_service"),
            weight: d.get("weight").and_then(Value::as_u64),
        })
        .collect()
}

fn rule_matches(rule: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let prefix = str_at(rule, "path_prefix");
    if !prefix.is_empty() {
        out.push(format!("path {prefix}*"));
    }
    for header in rule
        .get("header")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_at(header, "name");
        let how = ["exact", "prefix", "regex"]
            .iter()
            .find_map(|k| {
                header
                    .get(*k)
                    .and_then(Value::as_str)
                    .map(|v| format!("{k} {v:?}"))
            })
            .unwrap_or_else(|| "present".to_string());
        out.push(format!("header {name} {how}"));
    }
    out
}

fn draw(services: &[Service]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Mesh map: {} csmrun_service(s)\n", services.len());

    out.push_str("Hostnames (what a mesh client dials -> who answers):\n");
    let mut by_host: Vec<&Service> = services.iter().collect();
    by_host.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    for s in by_host {
        let _ = writeln!(out, "  http://{}", s.hostname);
        for (weight, target) in split(s, services) {
            let _ = writeln!(out, "    {weight:>5}  {target}");
        }
        for rule in s.route.iter().flat_map(|r| &r.rules) {
            let targets: Vec<String> = shares(&rule.destinations, None, &s.name, services)
                .into_iter()
                .map(|(w, t)| format!("{w} {t}"))
                .collect();
            let _ = writeln!(
                out,
                "    first, when {}: {}",
                rule.matches.join(" and "),
                targets.join(", ")
            );
        }
    }

    out.push_str("\nWho may invoke whom (roles/run.invoker from `invokers`):\n");
    let mut callees_of: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut uncallable = Vec::new();
    for callee in services {
        if callee.invokers.is_empty() {
            uncallable.push(callee.name.as_str());
        }
        for member in &callee.invokers {
            callees_of
                .entry(caller_name(member, services))
                .or_default()
                .push(&callee.name);
        }
    }
    for (caller, callees) in &callees_of {
        let _ = writeln!(out, "  {caller} may call {}", callees.join(", "));
    }
    if !uncallable.is_empty() {
        let _ = writeln!(out, "  nobody may call {}", uncallable.join(", "));
    }

    out.push_str(
        "\nrun.app URLs (ingress as configured; the mesh hostnames above are the way in):\n",
    );
    for s in services {
        let uri = if s.uri.is_empty() {
            "(not known yet)"
        } else {
            &s.uri
        };
        let _ = writeln!(out, "  {:<14} {uri}", s.name);
    }
    out
}

/// The default split of a hostname: the service's own share and its extra destinations, as percentages.
fn split(service: &Service, services: &[Service]) -> Vec<(String, String)> {
    match &service.route {
        None => vec![("100%".to_string(), service.name.clone())],
        Some(route) if route.destinations.is_empty() => {
            vec![("100%".to_string(), service.name.clone())]
        }
        Some(route) => shares(
            &route.destinations,
            Some(route.weight),
            &service.name,
            services,
        ),
    }
}

/// Percentages of a weighted list; `own` is the owning service's weight when it takes part in the split.
fn shares(
    dests: &[Destination],
    own: Option<Option<u64>>,
    owner: &str,
    services: &[Service],
) -> Vec<(String, String)> {
    let mut entries: Vec<(Option<u64>, String)> = Vec::new();
    if let Some(weight) = own {
        entries.push((weight, owner.to_string()));
    }
    for d in dests {
        entries.push((d.weight, backend_owner(&d.backend_service, services)));
    }
    let total: u64 = entries.iter().filter_map(|(w, _)| *w).sum();
    entries
        .into_iter()
        .map(|(w, target)| {
            let label = match w {
                Some(w) if total > 0 => percent(w, total),
                _ => "?".to_string(),
            };
            (label, target)
        })
        .collect()
}

fn percent(weight: u64, total: u64) -> String {
    let tenths = (weight * 1000 + total / 2) / total;
    if tenths.is_multiple_of(10) {
        format!("{}%", tenths / 10)
    } else {
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

/// The service whose backend service this is (ids, self links and bare names all match by the last segment).
fn backend_owner(backend: &str, services: &[Service]) -> String {
    let tail = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    services
        .iter()
        .find(|s| !s.backend_service.is_empty() && tail(&s.backend_service) == tail(backend))
        .map(|s| s.name.clone())
        .unwrap_or_else(|| backend.to_string())
}

/// `serviceAccount:x@p.iam.gserviceaccount.com` -> the services running as x (else the member as written).
fn caller_name(member: &str, services: &[Service]) -> String {
    let account = member.strip_prefix("serviceAccount:").unwrap_or(member);
    let names: Vec<&str> = services
        .iter()
        .filter(|s| s.service_account == account)
        .map(|s| s.name.as_str())
        .collect();
    if names.is_empty() {
        member.to_string()
    } else {
        names.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESHAPPS: &str = include_str!("../fixtures/terraform-show-meshapps.json");

    /// The lines of the map under the hostname `host`, up to the next hostname or section.
    fn block_of(map: &str, host: &str) -> Vec<String> {
        let header = format!("  http://{host}");
        map.lines()
            .skip_while(|l| *l != header)
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn target23_splits_half_and_half_between_target2_and_target3() {
        let map = render(MESHAPPS).unwrap();
        assert_eq!(
            block_of(&map, "target23.meshapps.internal"),
            ["50% target2", "50% target3"]
        );
    }

    #[test]
    fn target_canary_sends_one_percent_to_green_and_ab_rule_first() {
        let map = render(MESHAPPS).unwrap();
        assert_eq!(
            block_of(&map, "target.meshapps.internal"),
            [
                "99% target",
                "1% target-green",
                "first, when path /api/v2* and header end-user exact \"jason\": 100% target-green"
            ]
        );
    }

    #[test]
    fn a_service_without_route_serves_its_hostname_alone() {
        let map = render(MESHAPPS).unwrap();
        assert_eq!(
            block_of(&map, "target1.meshapps.internal"),
            ["100% target1"]
        );
    }

    #[test]
    fn only_the_proxy_may_call_target1_and_nobody_the_client() {
        let map = render(MESHAPPS).unwrap();
        assert!(map.contains("  proxy may call target1\n"), "{map}");
        assert!(
            map.contains("  client may call proxy, target, target-green, target2, target3\n"),
            "{map}"
        );
        assert!(map.contains("  nobody may call client\n"), "{map}");
    }

    #[test]
    fn lists_every_run_app_url() {
        let map = render(MESHAPPS).unwrap();
        assert!(
            map.contains("target-green   https://target-green-q7lmdzk3ha-an.a.run.app"),
            "{map}"
        );
        assert_eq!(map.matches(".a.run.app").count(), 7);
    }

    #[test]
    fn unknown_invoker_and_backend_are_shown_as_written() {
        let mut doc: Value = serde_json::from_str(MESHAPPS).unwrap();
        let resources = doc
            .pointer_mut("/values/root_module/resources")
            .unwrap()
            .as_array_mut()
            .unwrap();
        for r in resources.iter_mut() {
            match r["name"].as_str().unwrap() {
                "target1" => {
                    r["values"]["invokers"] =
                        serde_json::json!(["user:ops@demo-project.iam.gserviceaccount.com"])
                }
                "target2" => {
                    r["values"]["route"][0]["destination"][0]["backend_service"] =
                        "projects/other/global/backendServices/elsewhere".into()
                }
                _ => {}
            }
        }
        let map = render(&doc.to_string()).unwrap();
        assert!(
            map.contains("user:ops@demo-project.iam.gserviceaccount.com may call target1"),
            "{map}"
        );
        assert!(
            block_of(&map, "target23.meshapps.internal")[1].ends_with("backendServices/elsewhere"),
            "{map}"
        );
    }

    #[test]
    fn weights_that_do_not_sum_to_100_are_shown_as_shares() {
        let doc = MESHAPPS.replace("\"weight\": 99", "\"weight\": 2");
        let map = render(&doc).unwrap();
        assert_eq!(
            block_of(&map, "target.meshapps.internal")[..2],
            ["66.7% target", "33.3% target-green"]
        );
    }

    #[test]
    fn empty_state_is_an_error_that_says_to_apply_first() {
        let err = render(r#"{"format_version":"0.2"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("terraform apply"), "{err}");
        let err = render(r#"{"values":{"root_module":{}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no csmrun_service"), "{err}");
    }
}
