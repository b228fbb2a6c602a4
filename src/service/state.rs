//! Refresh: what exists in the cloud, mapped onto the state; parts missing or changed out of band are marked so
//! the next plan repairs them in place.

use std::collections::BTreeMap;

use gcp::run::Service;

use super::model::ServiceModel;
use super::names;
use super::parts::dns;
use super::parts::iam;
use super::parts::{
    backend_service, cloud_run, neg, route, BackendServicePart, Invokers, Neg, Part as _, Route,
};
use super::spec::{ingress_from_api, Spec};
use super::steps::{Ctx, StepError};
use super::val::Val;

/// What a refresh found.
#[derive(Debug, Clone)]
pub struct Observed {
    pub service: Service,
    pub invokers: Vec<String>,
    pub neg_ok: bool,
    pub backend_ok: bool,
    pub route_ok: bool,
    pub dns_ok: bool,
    /// Project roles the account needs but no longer has (removed out of band).
    pub missing_roles: Vec<String>,
}

/// Where a refresh reads the parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// One GET per part (the refresh after a failed update: one service, while this process writes).
    Gets,
    /// The process's read snapshot (`service::snapshot`), shared by the refreshes of one walk: `ReadResource`.
    Snapshot,
}

/// Reads every part; `None` when the Cloud Run service is gone (then the whole resource is gone). Both ways compare
/// the same fields: each part's list item and GET answer go through one comparison.
pub async fn observe(c: &Ctx, via: Via) -> Result<Option<Observed>, StepError> {
    let svc = match via {
        Via::Gets => cloud_run::get(c).await?,
        Via::Snapshot => cloud_run::get_listed(c).await?,
    };
    let Some(svc) = svc else {
        return Ok(None);
    };
    let (invokers, neg_ok, backend_ok, route_ok, dns_ok, missing_roles) = match via {
        Via::Gets => tokio::try_join!(
            Invokers::observe(c),
            Neg::observe(c),
            BackendServicePart::observe(c),
            Route::observe(c),
            dns::is_in_place(c),
            iam::missing_roles_on_refresh(c),
        )?,
        // The invoker policy cannot be listed: it stays the one read of each service's own.
        Via::Snapshot => tokio::try_join!(
            Invokers::observe(c),
            neg::observe_listed(c),
            backend_service::observe_listed(c),
            route::observe_listed(c),
            dns::is_in_place_listed(c),
            iam::missing_roles_listed(c),
        )?,
    };
    Ok(Some(Observed {
        service: svc,
        invokers,
        neg_ok,
        backend_ok,
        route_ok,
        dns_ok,
        missing_roles,
    }))
}

/// A collection that is empty in the cloud stays null when it was null before.
fn collection<T: PartialEq>(prior: &Val<T>, now: T, empty: bool) -> Val<T> {
    if empty && prior.is_null() {
        Val::Null
    } else {
        Val::Known(now)
    }
}

/// Keeps the prior spelling of a reference when it names the same resource (`vpc` vs its self link).
fn same_ref(prior: &Val<String>, cloud: Option<&str>) -> Val<String> {
    let Some(cloud) = cloud.filter(|c| !c.is_empty()) else {
        return prior.clone();
    };
    let last = |s: &str| {
        s.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(s)
            .to_string()
    };
    match prior {
        Val::Known(p) if last(p) == last(cloud) => prior.clone(),
        _ => Val::Known(gcp::compute::link_path(cloud).unwrap_or(cloud).to_string()),
    }
}

/// Maps what was observed onto the prior state.
pub fn refresh(
    prior: &ServiceModel,
    spec: &Spec,
    o: &Observed,
    default_labels: &BTreeMap<String, String>,
) -> ServiceModel {
    let mut m = prior.clone();
    let svc = &o.service;
    if let Some(t) = &svc.template {
        m.service_account = t
            .service_account
            .clone()
            .map(Val::Known)
            .unwrap_or(m.service_account);
        m.mesh = same_ref(
            &m.mesh,
            t.service_mesh.as_ref().and_then(|x| x.mesh.as_deref()),
        );
        if let Some(ni) = t
            .vpc_access
            .as_ref()
            .and_then(|v| v.network_interfaces.first())
        {
            m.network = same_ref(&m.network, ni.network.as_deref());
            m.subnetwork = same_ref(&m.subnetwork, ni.subnetwork.as_deref());
        }
        if let Some(sc) = &t.scaling {
            if let Some(n) = sc.min_instance_count {
                m.min_instances = Val::Known(i64::from(n));
            }
            if let Some(n) = sc.max_instance_count {
                m.max_instances = Val::Known(i64::from(n));
            }
        }
        if let Some(c) = t.containers.first() {
            m.image = Val::Known(c.image.clone());
            let env: BTreeMap<String, Val<String>> = c
                .env
                .iter()
                .map(|e| {
                    (
                        e.name.clone(),
                        Val::Known(e.value.clone().unwrap_or_default()),
                    )
                })
                .collect();
            let empty = env.is_empty();
            m.env = collection(&prior.env, env, empty);
            if let Some(limits) = c.resources.as_ref().map(|r| &r.limits) {
                if let Some(cpu) = limits.get("cpu") {
                    let same = m
                        .cpu
                        .known()
                        .and_then(|p| super::validate::parse_cpu(p).ok())
                        == super::validate::parse_cpu(cpu).ok();
                    if !same {
                        m.cpu = Val::Known(cpu.clone());
                    }
                }
                if let Some(mem) = limits.get("memory") {
                    let same = m
                        .memory
                        .known()
                        .and_then(|p| super::validate::parse_memory(p).ok())
                        == super::validate::parse_memory(mem).ok();
                    if !same {
                        m.memory = Val::Known(mem.clone());
                    }
                }
            }
            if let Some(port) = c.ports.first().and_then(|p| p.container_port) {
                m.port = Val::Known(i64::from(port));
            }
        }
    }
    if let Some(i) = svc.ingress.as_deref().and_then(ingress_from_api) {
        m.ingress = Val::Known(i.to_string());
    }
    let prior_label_keys: Vec<String> = prior
        .labels
        .known()
        .map(|l| l.keys().cloned().collect())
        .unwrap_or_default();
    let labels: BTreeMap<String, Val<String>> = svc
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != names::MANAGED_BY_KEY)
        .filter(|(k, _)| !default_labels.contains_key(*k) || prior_label_keys.contains(k))
        .map(|(k, v)| (k.clone(), Val::Known(v.clone())))
        .collect();
    let empty = labels.is_empty();
    m.labels = collection(&prior.labels, labels, empty);
    // The labels the service has, the ownership marker included only when it is there: an imported service
    // without it shows the marker's addition in the next plan, and that update adds it.
    m.effective_labels = Val::Known(
        svc.labels
            .iter()
            .map(|(k, v)| (k.clone(), Val::Known(v.clone())))
            .collect(),
    );
    let invokers: Vec<Val<String>> = o.invokers.iter().cloned().map(Val::Known).collect();
    let empty = invokers.is_empty();
    m.invokers = collection(&prior.invokers, invokers, empty);
    if let Some(u) = &svc.uri {
        m.uri = Val::Known(u.clone());
    }
    // A service that is not Ready is shown without a ready revision, so the plan redeploys it.
    // A failed service, or one whose account lost its mesh roles, is shown without a ready revision: the plan
    // then redeploys it, and the update grants the roles again first.
    m.latest_ready_revision = Val::Known(if svc.has_failed() || !o.missing_roles.is_empty() {
        String::new()
    } else {
        svc.latest_ready_revision
            .as_deref()
            .map(last_segment)
            .unwrap_or_default()
    });
    let part = |ok: bool, path: String| Val::Known(if ok { path } else { String::new() });
    m.neg = part(o.neg_ok, spec.neg_path());
    m.backend_service = part(o.backend_ok, spec.backend_service_path());
    m.http_route = part(o.route_ok, spec.route_path());
    m.dns_zone = part(o.dns_ok, spec.zone_path());
    m.id = Val::Known(spec.service_path());
    m
}

fn last_segment(s: &str) -> String {
    s.rsplit('/').next().unwrap_or(s).to_string()
}

/// The state of a resource an incomplete create left without its Cloud Run service: kept as it is, shown without
/// a ready revision so that a plan that does not replace it (after `terraform untaint`) still redeploys it.
pub fn unfinished(prior: &ServiceModel) -> ServiceModel {
    let mut m = prior.clone();
    m.latest_ready_revision = Val::Known(String::new());
    m
}

/// The state after a successful create or update: the plan, with the values only the apply could know.
pub fn after_apply(planned: &ServiceModel, svc: Option<&Service>) -> ServiceModel {
    let mut m = planned.clone();
    let fill = |v: &mut Val<String>, x: Option<String>| {
        if !v.is_known() {
            *v = Val::Known(x.unwrap_or_default());
        }
    };
    fill(&mut m.uri, svc.and_then(|s| s.uri.clone()));
    fill(
        &mut m.latest_ready_revision,
        svc.and_then(|s| s.latest_ready_revision.as_deref().map(last_segment)),
    );
    for v in [
        &mut m.id,
        &mut m.url,
        &mut m.neg,
        &mut m.backend_service,
        &mut m.http_route,
        &mut m.dns_zone,
    ] {
        fill(v, None);
    }
    if !m.effective_labels.is_known() {
        m.effective_labels = Val::Known(BTreeMap::new());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::parts::CloudRun;
    use crate::service::validate_table;

    #[test]
    fn refreshing_what_was_deployed_changes_nothing() {
        let (planned, spec) = validate_table::planned(&validate_table::valid());
        let mut svc = CloudRun::body(&spec, &[]);
        svc.uri = Some("https://target-x.a.run.app".into());
        svc.latest_ready_revision = Some(format!(
            "{}/revisions/target-00001-abc",
            spec.service_path()
        ));
        let prior = after_apply(&planned, Some(&svc));
        let o = Observed {
            service: svc,
            invokers: spec.invokers.clone(),
            neg_ok: true,
            backend_ok: true,
            route_ok: true,
            dns_ok: true,
            missing_roles: vec![],
        };
        assert_eq!(refresh(&prior, &spec, &o, &BTreeMap::new()), prior);
    }

    #[test]
    fn a_service_without_the_ownership_label_is_shown_without_it() {
        let (planned, spec) = validate_table::planned(&validate_table::valid());
        let mut svc = CloudRun::body(&spec, &[]);
        svc.labels.clear();
        let prior = after_apply(&planned, Some(&svc));
        let o = Observed {
            service: svc,
            invokers: spec.invokers.clone(),
            neg_ok: true,
            backend_ok: true,
            route_ok: true,
            dns_ok: true,
            missing_roles: vec![],
        };
        let now = refresh(&prior, &spec, &o, &BTreeMap::new());
        assert_eq!(now.effective_labels, Val::Known(BTreeMap::new()));
    }

    #[test]
    fn a_missing_part_and_a_changed_image_show_as_drift() {
        let (planned, spec) = validate_table::planned(&validate_table::valid());
        let mut svc = CloudRun::body(&spec, &[]);
        let prior = after_apply(&planned, Some(&svc));
        if let Some(c) = svc.template.as_mut().and_then(|t| t.containers.first_mut()) {
            c.image = "gcr.io/p/other:9".into();
        }
        let o = Observed {
            service: svc,
            invokers: spec.invokers.clone(),
            neg_ok: false,
            backend_ok: true,
            route_ok: true,
            dns_ok: true,
            missing_roles: vec![],
        };
        let now = refresh(&prior, &spec, &o, &BTreeMap::new());
        assert_eq!(now.neg, Val::Known(String::new()));
        assert_eq!(now.image, Val::Known("gcr.io/p/other:9".to_string()));
        assert_eq!(now.backend_service, prior.backend_service);
    }

    #[test]
    fn empty_collections_stay_null_and_references_keep_their_spelling() {
        assert_eq!(
            collection::<Vec<Val<String>>>(&Val::Null, vec![], true),
            Val::Null
        );
        assert_eq!(
            collection(
                &Val::Known(vec![]),
                vec![Val::Known("a".to_string())],
                false
            )
            .known()
            .map(Vec::len),
            Some(1)
        );
        let prior = Val::Known("mesh-vpc".to_string());
        assert_eq!(
            same_ref(&prior, Some("projects/p/global/networks/mesh-vpc")),
            prior
        );
        assert_eq!(
            same_ref(
                &prior,
                Some("https://www.googleapis.com/compute/v1/projects/p/global/networks/other")
            ),
            Val::Known("projects/p/global/networks/other".to_string())
        );
    }
}
