//! The planned state: defaults filled, derived ids computed, computed values unknown only when they will change.

use std::collections::BTreeMap;

use super::defaults;
use super::model::ServiceModel;
use super::names;
use super::spec;
use super::val::Val;

/// Provider settings the plan needs.
#[derive(Debug, Clone, Default)]
pub struct PlanDefaults {
    pub project: Option<String>,
    pub region: Option<String>,
    pub default_labels: BTreeMap<String, String>,
}

fn or_default<T: Clone>(v: &Val<T>, d: T) -> Val<T> {
    match v {
        Val::Null => Val::Known(d),
        other => other.clone(),
    }
}

/// `f` of two known values; unknown if either is unknown; null stays null.
fn derive2(a: &Val<String>, b: &Val<String>, f: impl Fn(&str, &str) -> String) -> Val<String> {
    match (a, b) {
        (Val::Known(a), Val::Known(b)) => Val::Known(f(a, b)),
        (Val::Null, _) | (_, Val::Null) => Val::Null,
        _ => Val::Unknown,
    }
}

fn derive1(a: &Val<String>, f: impl Fn(&str) -> String) -> Val<String> {
    match a {
        Val::Known(a) => Val::Known(f(a)),
        Val::Null => Val::Null,
        Val::Unknown => Val::Unknown,
    }
}

/// A part name: configured, else the prior one (keeps discovered names after import), else the default.
fn part_name(
    config: &Val<String>,
    prior: Option<&Val<String>>,
    default: Val<String>,
) -> Val<String> {
    match (config, prior) {
        (Val::Null, Some(Val::Known(p))) if !p.is_empty() => Val::Known(p.clone()),
        (Val::Null, _) => default,
        (c, _) => c.clone(),
    }
}

/// Two spellings of one reference (`vpc`, `projects/p/global/networks/vpc`, a self link): same name, and the same
/// project where both name one.
fn same_resource(a: &str, b: &str) -> bool {
    let last = |s: &str| {
        s.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let project = |s: &str| {
        let parts: Vec<&str> = s.split('/').collect();
        parts
            .iter()
            .position(|p| *p == "projects")
            .and_then(|i| parts.get(i + 1))
            .map(|p| p.to_string())
    };
    last(a) == last(b)
        && match (project(a), project(b)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

/// Keeps the prior spelling when the configuration names the same resource (no diff for a change of form).
fn keep_form(config: &Val<String>, prior: Option<&Val<String>>) -> Val<String> {
    match (config, prior) {
        (Val::Known(c), Some(Val::Known(p))) if same_resource(c, p) => Val::Known(p.clone()),
        _ => config.clone(),
    }
}

/// True when anything that makes a new revision changes between `prior` and `planned`.
fn template_changes(prior: &ServiceModel, planned: &ServiceModel) -> bool {
    prior.image != planned.image
        || prior.env != planned.env
        || prior.cpu != planned.cpu
        || prior.memory != planned.memory
        || prior.port != planned.port
        || prior.min_instances != planned.min_instances
        || prior.max_instances != planned.max_instances
        || prior.service_account != planned.service_account
        || prior.mesh != planned.mesh
        || prior.network != planned.network
        || prior.subnetwork != planned.subnetwork
}

/// No `invokers` in the configuration means nobody, as `[]` does: a prior empty list (an import reads the policy
/// as it is, `[]` when nobody may invoke) is kept rather than planned away as a change to null; a prior non-empty
/// list plans null, which removes the members.
fn invokers(config: &Val<Vec<Val<String>>>, prior: Option<&ServiceModel>) -> Val<Vec<Val<String>>> {
    match (config, prior.map(|p| &p.invokers)) {
        (Val::Null, Some(Val::Known(p))) if p.is_empty() => Val::Known(Vec::new()),
        (Val::Null, _) => Val::Null,
        (c, _) => c.clone(),
    }
}

/// Plans the new state from the configuration and the prior state (`None` on create).
pub fn plan(config: &ServiceModel, prior: Option<&ServiceModel>, d: &PlanDefaults) -> ServiceModel {
    let mut p = config.clone();
    let from_provider = |v: &Val<String>,
                         provider: &Option<String>,
                         prior: Option<&Val<String>>| match (v, provider) {
        (Val::Null, Some(x)) => Val::Known(x.clone()),
        (Val::Null, None) => prior.cloned().unwrap_or(Val::Null),
        (v, _) => v.clone(),
    };
    p.invokers = invokers(&config.invokers, prior);
    p.project = from_provider(&config.project, &d.project, prior.map(|x| &x.project));
    p.region = from_provider(&config.region, &d.region, prior.map(|x| &x.region));
    p.mesh = keep_form(&config.mesh, prior.map(|x| &x.mesh));
    p.network = keep_form(&config.network, prior.map(|x| &x.network));
    p.subnetwork = keep_form(&config.subnetwork, prior.map(|x| &x.subnetwork));
    p.hostname = match &config.hostname {
        Val::Null => derive2(&config.name, &config.domain, names::default_hostname),
        h => h.clone(),
    };
    p.port = or_default(&config.port, defaults::PORT);
    p.cpu = or_default(&config.cpu, defaults::CPU.to_string());
    p.memory = or_default(&config.memory, defaults::MEMORY.to_string());
    p.min_instances = or_default(&config.min_instances, defaults::MIN_INSTANCES);
    p.max_instances = or_default(&config.max_instances, defaults::MAX_INSTANCES);
    p.ingress = or_default(&config.ingress, defaults::INGRESS.to_string());
    p.trace = or_default(&config.trace, defaults::TRACE);
    p.dns_address = or_default(&config.dns_address, defaults::DNS_ADDRESS.to_string());
    p.deletion_policy = or_default(
        &config.deletion_policy,
        defaults::DELETION_POLICY.to_string(),
    );
    p.neg_name = part_name(
        &config.neg_name,
        prior.map(|x| &x.neg_name),
        derive1(&config.name, names::default_neg_name),
    );
    p.backend_service_name = part_name(
        &config.backend_service_name,
        prior.map(|x| &x.backend_service_name),
        derive1(&config.name, names::default_backend_service_name),
    );
    p.route_name = part_name(
        &config.route_name,
        prior.map(|x| &x.route_name),
        derive1(&config.name, names::default_route_name),
    );
    let same_domain = prior.is_some_and(|x| x.domain == config.domain);
    p.dns_zone_name = part_name(
        &config.dns_zone_name,
        prior.filter(|_| same_domain).map(|x| &x.dns_zone_name),
        derive1(&config.domain, names::default_dns_zone_name),
    );

    let with_name = |a: &Val<String>, f: &dyn Fn(&str, &str, &str) -> String| match (
        &p.project, &p.region, a,
    ) {
        (Val::Known(x), Val::Known(y), Val::Known(z)) => Val::Known(f(x, y, z)),
        _ => Val::Unknown,
    };
    p.id = with_name(&p.name, &|pr, r, n| gcp::run::service_name(pr, r, n));
    p.neg = with_name(&p.neg_name, &|pr, r, n| gcp::compute::neg_path(pr, r, n));
    p.backend_service = with_name(&p.backend_service_name, &|pr, _, n| {
        gcp::compute::backend_service_path(pr, n)
    });
    p.http_route = with_name(&p.route_name, &|pr, _, n| {
        gcp::network_services::http_route_name(pr, n)
    });
    p.dns_zone = with_name(&p.dns_zone_name, &|pr, _, n| {
        format!("projects/{pr}/managedZones/{n}")
    });
    p.url = derive1(&p.hostname, |h| format!("http://{h}"));
    p.effective_labels = match &config.labels {
        Val::Unknown => Val::Unknown,
        Val::Known(m) if m.values().any(Val::is_unknown) => Val::Unknown,
        l => Val::Known(
            spec::effective_labels(&d.default_labels, l)
                .into_iter()
                .map(|(k, v)| (k, Val::Known(v)))
                .collect(),
        ),
    };
    match prior {
        Some(prior) => {
            p.uri = match &prior.uri {
                Val::Known(u) if !u.is_empty() => prior.uri.clone(),
                _ => Val::Unknown,
            };
            let broken = matches!(&prior.latest_ready_revision, Val::Known(r) if r.is_empty());
            p.latest_ready_revision = if broken || template_changes(prior, &p) {
                Val::Unknown
            } else {
                prior.latest_ready_revision.clone()
            };
        }
        None => {
            p.uri = Val::Unknown;
            p.latest_ready_revision = Val::Unknown;
        }
    }
    p
}

/// Attributes whose change replaces the resource, if they change between `prior` and `planned`.
pub fn replaced(prior: &ServiceModel, planned: &ServiceModel) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (name, a, b) in [
        ("name", &prior.name, &planned.name),
        ("project", &prior.project, &planned.project),
        ("region", &prior.region, &planned.region),
    ] {
        if a != b {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Val<String> {
        Val::Known(s.to_string())
    }

    fn config() -> ServiceModel {
        ServiceModel {
            name: k("target"),
            image: k("nginx:1"),
            mesh: k("meshapps"),
            domain: k("meshapps.internal"),
            network: k("vpc"),
            subnetwork: k("sub"),
            service_account: k("sa@p.iam.gserviceaccount.com"),
            ..Default::default()
        }
    }

    fn defaults() -> PlanDefaults {
        PlanDefaults {
            project: Some("p".into()),
            region: Some("r".into()),
            default_labels: BTreeMap::new(),
        }
    }

    #[test]
    fn create_fills_defaults_and_derived_ids() {
        let p = plan(&config(), None, &defaults());
        assert_eq!(p.hostname, k("target.meshapps.internal"));
        assert_eq!(p.url, k("http://target.meshapps.internal"));
        assert_eq!(p.neg_name, k("target-neg"));
        assert_eq!(p.dns_zone_name, k("csmrun-meshapps-internal"));
        assert_eq!(p.id, k("projects/p/locations/r/services/target"));
        assert_eq!(
            p.backend_service,
            k("projects/p/global/backendServices/target-backend")
        );
        assert_eq!(p.port, Val::Known(8080));
        assert_eq!(
            (p.uri, p.latest_ready_revision),
            (Val::Unknown, Val::Unknown)
        );
    }

    #[test]
    fn an_unchanged_configuration_plans_the_prior_state() {
        let mut prior = plan(&config(), None, &defaults());
        prior.uri = k("https://target-x.a.run.app");
        prior.latest_ready_revision = k("target-00001");
        assert_eq!(plan(&config(), Some(&prior), &defaults()), prior);
    }

    #[test]
    fn an_image_change_makes_only_the_revision_unknown() {
        let mut prior = plan(&config(), None, &defaults());
        prior.uri = k("https://target-x.a.run.app");
        prior.latest_ready_revision = k("target-00001");
        let mut c = config();
        c.image = k("nginx:2");
        let p = plan(&c, Some(&prior), &defaults());
        assert_eq!(p.latest_ready_revision, Val::Unknown);
        assert_eq!(p.uri, prior.uri);
        assert!(replaced(&prior, &p).is_empty());
    }

    #[test]
    fn discovered_part_names_survive_and_missing_parts_plan_a_repair() {
        let mut prior = plan(&config(), None, &defaults());
        prior.neg_name = k("hand-made-neg");
        prior.neg = k("");
        prior.uri = k("u");
        prior.latest_ready_revision = k("r1");
        let p = plan(&config(), Some(&prior), &defaults());
        assert_eq!(p.neg_name, k("hand-made-neg"));
        assert_eq!(
            p.neg,
            k("projects/p/regions/r/networkEndpointGroups/hand-made-neg")
        );
        assert_ne!(p, prior, "the missing NEG shows up as a change");
    }

    #[test]
    fn another_spelling_of_the_same_mesh_is_not_a_change() {
        let mut prior = plan(&config(), None, &defaults());
        prior.mesh = k("projects/p/locations/global/meshes/meshapps");
        prior.uri = k("u");
        prior.latest_ready_revision = k("r1");
        let p = plan(&config(), Some(&prior), &defaults());
        assert_eq!(p, prior);
        let mut other = config();
        other.mesh = k("projects/q/locations/global/meshes/meshapps");
        assert_eq!(plan(&other, Some(&prior), &defaults()).mesh, other.mesh);
    }

    #[test]
    fn no_invokers_and_an_empty_list_plan_no_change_against_an_imported_empty_policy() {
        let mut prior = plan(&config(), None, &defaults());
        prior.uri = k("u");
        prior.latest_ready_revision = k("r1");
        prior.invokers = Val::Known(vec![]);
        assert_eq!(plan(&config(), Some(&prior), &defaults()), prior);
        let mut empty = config();
        empty.invokers = Val::Known(vec![]);
        assert_eq!(plan(&empty, Some(&prior), &defaults()), prior);
        // A service created without `invokers` keeps null; dropping members still removes them.
        let mut none = prior.clone();
        none.invokers = Val::Null;
        assert_eq!(plan(&config(), Some(&none), &defaults()), none);
        let mut some = prior.clone();
        some.invokers = Val::Known(vec![k("user:a@example.com")]);
        assert_eq!(
            plan(&config(), Some(&some), &defaults()).invokers,
            Val::Null
        );
    }

    #[test]
    fn unknown_name_leaves_derived_values_unknown() {
        let mut c = config();
        c.name = Val::Unknown;
        let p = plan(&c, None, &defaults());
        assert_eq!(p.hostname, Val::Unknown);
        assert_eq!(p.id, Val::Unknown);
    }
}
