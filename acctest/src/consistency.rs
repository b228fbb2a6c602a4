//! The one check every acceptance test ends with: what the emulator holds is exactly what
//! Terraform's state says exists.
//!
//! Both directions: every `csmrun_service` in `terraform show -json` has all its parts in the
//! emulator with the configured values, and everything in the emulator that was not there at the
//! start of the test (the [`Baseline`]) belongs to some `csmrun_service` in the state.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Collections that record how a write was made, not what exists.
const BOOKKEEPING_SUFFIXES: &[&str] = &["requestIds", "operations"];

/// Project roles csmrun grants; bindings of other roles belong to other writers.
const PROJECT_ROLES: &[&str] = &["roles/trafficdirector.client", "roles/cloudtrace.agent"];

/// The first label of the record set in which csmrun lists the services using a zone's domain (one quoted
/// `csmrun:<project>/<region>/<name>` per rrdata); it is part of the shared DNS, like the wildcard record.
pub const REGISTRY_LABEL: &str = "_csmrun-users";

/// What existed before Terraform ran: resources and project IAM bindings.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    resources: BTreeSet<(String, String)>,
    bindings: BTreeSet<(String, String, String)>,
    /// (registry record set key, listed marker): services listed before, such as one abandoned on purpose.
    registered: BTreeSet<(String, String)>,
}

impl Baseline {
    /// Everything in `state` (an `/_emulator/state` document) counts as pre-existing.
    pub fn capture(state: &Value) -> Baseline {
        Baseline {
            resources: resource_keys(state).collect(),
            bindings: project_bindings(state).collect(),
            registered: registries(state)
                .into_iter()
                .flat_map(|(key, listed)| listed.into_iter().map(move |m| (key.clone(), m)))
                .collect(),
        }
    }
}

/// Every zone's users registry: (registry record set key, listed markers).
fn registries(state: &Value) -> Vec<(String, BTreeSet<String>)> {
    let zones = state["resources"]["dns.managedZones"].as_object();
    zones
        .into_iter()
        .flatten()
        .map(|(zone_key, zone)| registry_of(state, zone_key, zone))
        .collect()
}

/// The users registry of one zone: its head's record set key and the markers it and its shards
/// (`_csmrun-users-<k>.<domain>.`, named by the head's `"shards:…"` rrdata) list.
fn registry_of(state: &Value, zone_key: &str, zone: &Value) -> (String, BTreeSet<String>) {
    let dns_name = zone["dnsName"].as_str().unwrap_or("");
    let key = format!("{zone_key}/rrsets/{REGISTRY_LABEL}.{dns_name}/TXT");
    let prefix = format!("{zone_key}/rrsets/{REGISTRY_LABEL}");
    let suffix = format!(".{dns_name}/TXT");
    let listed = state["resources"]["dns.rrsets"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(&prefix) && k.ends_with(&suffix))
        .flat_map(|(_, r)| str_set(&r["rrdatas"]))
        .map(|d| d.trim_matches('"').to_string())
        .filter(|d| !d.starts_with("shards:"))
        .collect();
    (key, listed)
}

fn resource_keys(state: &Value) -> impl Iterator<Item = (String, String)> + '_ {
    state["resources"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.iter())
        .filter(|(c, _)| !BOOKKEEPING_SUFFIXES.iter().any(|s| c.ends_with(s)))
        .flat_map(|(c, items)| {
            items
                .as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .map(move |k| (c.clone(), k.clone()))
        })
}

/// (project, role, member) of every project policy binding.
fn project_bindings(state: &Value) -> impl Iterator<Item = (String, String, String)> + '_ {
    state["projects"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| {
            let project = p["id"].as_str().unwrap_or("").to_string();
            p["iamPolicy"]["bindings"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(move |b| {
                    let role = b["role"].as_str().unwrap_or("").to_string();
                    let project = project.clone();
                    b["members"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m.as_str())
                        .map(move |m| (project.clone(), role.clone(), m.to_string()))
                })
        })
}

/// The `values` of every `csmrun_service` in a `terraform show -json` document.
pub fn services_in_state(show: &Value) -> Vec<Value> {
    show["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == "csmrun_service" && r["mode"] == "managed")
        .map(|r| r["values"].clone())
        .collect()
}

/// `projects/...` from a resource name or a full self link.
pub fn relative(name: &str) -> &str {
    name.find("projects/").map_or(name, |i| &name[i..])
}

fn get<'a>(state: &'a Value, collection: &str, key: &str) -> Option<&'a Value> {
    state["resources"][collection].get(key)
}

fn str_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Every disagreement between Terraform's state and the emulator's (empty when they agree).
pub fn disagreements(show: &Value, state: &Value, baseline: &Baseline) -> Vec<String> {
    let mut problems = Vec::new();
    let services = services_in_state(show);
    let mut claimed_exact: BTreeSet<(String, String)> = BTreeSet::new();
    let mut claimed_prefix: Vec<(String, String)> = Vec::new();
    let mut accounts: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut zone_users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in &services {
        check_service(v, state, &mut problems);
        let id = v["id"].as_str().unwrap_or("").to_string();
        let zone = v["dns_zone"].as_str().unwrap_or("").to_string();
        for (c, k) in [
            ("run.services", &id),
            (
                "compute.networkEndpointGroups",
                &v["neg"].as_str().unwrap_or("").to_string(),
            ),
            (
                "compute.backendServices",
                &v["backend_service"].as_str().unwrap_or("").to_string(),
            ),
            (
                "networkservices.httpRoutes",
                &v["http_route"].as_str().unwrap_or("").to_string(),
            ),
            ("dns.managedZones", &zone),
        ] {
            claimed_exact.insert((c.to_string(), k.clone()));
        }
        zone_users.entry(zone.clone()).or_default().insert(format!(
            "csmrun:{}/{}/{}",
            v["project"].as_str().unwrap_or(""),
            v["region"].as_str().unwrap_or(""),
            v["name"].as_str().unwrap_or("")
        ));
        claimed_prefix.push(("run.revisions".into(), format!("{id}/revisions/")));
        claimed_prefix.push(("dns.rrsets".into(), format!("{zone}/")));
        claimed_prefix.push(("dns.changes".into(), format!("{zone}/")));
        let project = v["project"].as_str().unwrap_or("").to_string();
        let member = format!(
            "serviceAccount:{}",
            v["service_account"].as_str().unwrap_or("")
        );
        accounts
            .entry((project.clone(), "roles/trafficdirector.client".into()))
            .or_default()
            .insert(member.clone());
        if v["trace"] == true {
            accounts
                .entry((project, "roles/cloudtrace.agent".into()))
                .or_default()
                .insert(member);
        }
    }
    // A zone without csmrun's label was made by someone else; csmrun only ever shares it
    // (PRODUCT §2), so it and its records may outlive every csmrun_service.
    let foreign_zones: Vec<String> = state["resources"]["dns.managedZones"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, z)| z["labels"]["managed-by"] != "csmrun")
        .map(|(k, _)| format!("{k}/"))
        .collect();
    for (c, k) in resource_keys(state) {
        if baseline.resources.contains(&(c.clone(), k.clone())) {
            continue;
        }
        let foreign = c.starts_with("dns.")
            && foreign_zones
                .iter()
                .any(|z| format!("{k}/").starts_with(z.as_str()));
        if foreign {
            continue;
        }
        let claimed = claimed_exact.contains(&(c.clone(), k.clone()))
            || claimed_prefix
                .iter()
                .any(|(pc, prefix)| pc == &c && k.starts_with(prefix.as_str()));
        if !claimed {
            problems.push(format!(
                "{c} {k} exists in the emulator but no csmrun_service in Terraform's state owns it"
            ));
        }
    }
    registry_problems(state, &zone_users, baseline, &mut problems);
    let bindings: BTreeSet<_> = project_bindings(state).collect();
    for (project, role, member) in &bindings {
        if baseline
            .bindings
            .contains(&(project.clone(), role.clone(), member.clone()))
            || !PROJECT_ROLES.contains(&role.as_str())
        {
            continue;
        }
        let wanted = accounts
            .get(&(project.clone(), role.clone()))
            .is_some_and(|m| m.contains(member));
        if !wanted {
            problems.push(format!(
                "project {project} IAM binding {role} {member} exists but no csmrun_service in state runs as it"
            ));
        }
    }
    for ((project, role), members) in &accounts {
        for m in members {
            if !bindings.contains(&(project.clone(), role.clone(), m.clone())) {
                problems.push(format!(
                    "project {project} lacks {role} for {m}, which a csmrun_service in state needs"
                ));
            }
        }
    }
    problems
}

/// The users registry of every zone lists exactly the `csmrun_service`s in state that use the zone. A listed
/// service that is not in state is an orphan (it keeps the zone alive forever). A service in state that is not
/// listed is a disagreement only in a csmrun zone: one imported into a zone made by someone else, and not updated
/// since, has never registered.
fn registry_problems(
    state: &Value,
    zone_users: &BTreeMap<String, BTreeSet<String>>,
    baseline: &Baseline,
    problems: &mut Vec<String>,
) {
    let zones = state["resources"]["dns.managedZones"].as_object();
    for (zone_key, zone) in zones.into_iter().flatten() {
        let (key, listed) = registry_of(state, zone_key, zone);
        let users = zone_users.get(zone_key).cloned().unwrap_or_default();
        // One listed before the baseline (a service abandoned on purpose) is not this run's doing.
        let unknown = listed
            .difference(&users)
            .filter(|m| !baseline.registered.contains(&(key.clone(), (*m).clone())));
        for m in unknown {
            problems.push(format!(
                "dns.rrsets {key} lists {m} but no csmrun_service in Terraform's state owns it"
            ));
        }
        if zone["labels"]["managed-by"] == "csmrun" {
            for m in users.difference(&listed) {
                problems.push(format!(
                    "{m} is in state but the DNS users registry {key} does not list it"
                ));
            }
        }
    }
}

/// Panics with every disagreement, the Terraform state and the emulator resources.
pub fn assert_agree(show: &Value, state: &Value, baseline: &Baseline) {
    let problems = disagreements(show, state, baseline);
    assert!(
        problems.is_empty(),
        "the emulator does not match Terraform's state:\n  - {}\n\nterraform show -json: {}\n\nemulator resources: {}",
        problems.join("\n  - "),
        show["values"],
        state["resources"]
    );
}

fn check_service(v: &Value, state: &Value, problems: &mut Vec<String>) {
    let id = v["id"].as_str().unwrap_or("");
    let mut say = |what: String| problems.push(format!("{id}: {what}"));
    let Some(svc) = get(state, "run.services", id) else {
        say("the Cloud Run service is missing".into());
        return;
    };
    let container = &svc["template"]["containers"][0];
    if container["image"] != v["image"] {
        say(format!(
            "image is {} in the emulator, {} in state",
            container["image"], v["image"]
        ));
    }
    let env: BTreeMap<String, Value> = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or("").to_string(),
                e["value"].clone(),
            )
        })
        .collect();
    let want_env: BTreeMap<String, Value> = v["env"]
        .as_object()
        .map(|m| m.iter().map(|(k, x)| (k.clone(), x.clone())).collect())
        .unwrap_or_default();
    if env != want_env {
        say(format!(
            "env is {env:?} in the emulator, {want_env:?} in state"
        ));
    }
    if svc["template"]["serviceAccount"] != v["service_account"] {
        say(format!(
            "service account is {} in the emulator, {} in state",
            svc["template"]["serviceAccount"], v["service_account"]
        ));
    }
    let mesh = svc["template"]["serviceMesh"]["mesh"]
        .as_str()
        .unwrap_or("");
    let want_mesh = v["mesh"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    if !mesh.ends_with(&format!("/meshes/{want_mesh}")) {
        say(format!(
            "serviceMesh.mesh is {mesh:?}, state says {want_mesh:?}"
        ));
    }
    if svc["terminalCondition"]["state"] != "CONDITION_SUCCEEDED" {
        say(format!(
            "the service is not Ready: {}",
            svc["terminalCondition"]
        ));
    }
    let invokers: BTreeSet<String> = state["resourcePolicies"][id]["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["role"] == "roles/run.invoker")
        .flat_map(|b| str_set(&b["members"]))
        .collect();
    if invokers != str_set(&v["invokers"]) {
        say(format!(
            "run.invoker members are {invokers:?}, state says {}",
            v["invokers"]
        ));
    }
    let neg_key = v["neg"].as_str().unwrap_or("");
    match get(state, "compute.networkEndpointGroups", neg_key) {
        None => say(format!("NEG {neg_key} is missing")),
        Some(neg) if neg["cloudRun"]["service"] != v["name"] => say(format!(
            "NEG {neg_key} points at {}",
            neg["cloudRun"]["service"]
        )),
        Some(_) => {}
    }
    let be_key = v["backend_service"].as_str().unwrap_or("");
    match get(state, "compute.backendServices", be_key) {
        None => say(format!("backend service {be_key} is missing")),
        Some(be) => {
            let groups: Vec<String> = be["backends"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["group"].as_str().map(|g| relative(g).to_string()))
                .collect();
            if groups != [neg_key.to_string()] {
                say(format!(
                    "backend service {be_key} has backends {groups:?}, not the NEG {neg_key}"
                ));
            }
        }
    }
    let route_key = v["http_route"].as_str().unwrap_or("");
    match get(state, "networkservices.httpRoutes", route_key) {
        None => say(format!("HTTPRoute {route_key} is missing")),
        Some(route) => {
            if !str_set(&route["hostnames"]).contains(v["hostname"].as_str().unwrap_or("")) {
                say(format!(
                    "HTTPRoute {route_key} hostnames {} lack {}",
                    route["hostnames"], v["hostname"]
                ));
            }
            let got = default_split(route);
            let want = wanted_split(v);
            if got != want {
                say(format!(
                    "HTTPRoute {route_key} default split is {got:?}, state says {want:?}"
                ));
            }
        }
    }
    let zone_key = v["dns_zone"].as_str().unwrap_or("");
    if get(state, "dns.managedZones", zone_key).is_none() {
        say(format!("DNS zone {zone_key} is missing"));
    }
    let record = format!(
        "{zone_key}/rrsets/*.{}./A",
        v["domain"].as_str().unwrap_or("")
    );
    match get(state, "dns.rrsets", &record) {
        None => say(format!("wildcard record {record} is missing")),
        Some(r)
            if str_set(&r["rrdatas"])
                != BTreeSet::from([v["dns_address"].as_str().unwrap_or("").to_string()]) =>
        {
            say(format!(
                "wildcard record {record} has {} not {}",
                r["rrdatas"], v["dns_address"]
            ))
        }
        Some(_) => {}
    }
}

/// backend service → weight of the route's last (default) rule; weight 0 when unset.
pub fn default_split(route: &Value) -> BTreeMap<String, i64> {
    let rules = route["rules"].as_array().cloned().unwrap_or_default();
    let Some(last) = rules.last() else {
        return BTreeMap::new();
    };
    last["action"]["destinations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                relative(d["serviceName"].as_str().unwrap_or("")).to_string(),
                d["weight"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

fn wanted_split(v: &Value) -> BTreeMap<String, i64> {
    let own = v["backend_service"].as_str().unwrap_or("").to_string();
    let route = &v["route"][0];
    let dests = route["destination"].as_array().cloned().unwrap_or_default();
    if dests.is_empty() {
        return BTreeMap::from([(own, 0)]);
    }
    let mut m = BTreeMap::from([(own, route["weight"].as_i64().unwrap_or(0))]);
    for d in dests {
        m.insert(
            relative(d["backend_service"].as_str().unwrap_or("")).to_string(),
            d["weight"].as_i64().unwrap_or(0),
        );
    }
    m
}
