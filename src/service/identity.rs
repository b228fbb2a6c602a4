//! Before a destroy or an update changes or deletes a part its state names, the part is read and checked to be this
//! service's, not merely one of that name: a state edited by hand (or copied from another resource) can name, in a
//! valid name, an object of someone else.
//!
//! What makes a part this service's, for each (the predicates are beside their parts):
//! - the Cloud Run service: the `uid` recorded at create or import ([`cloud_run::is_this_services`]; csmrun's
//!   label or marker for a state that recorded none; the marker and the state's NEG serving it for a service csmrun
//!   recreated after the uid was recorded);
//! - the NEG: it serves the service ([`neg::is_this_services`]); a NEG that this service's backend service,
//!   carrying the service's marker, uses is known to be without a read (csmrun put it there after that check);
//! - the backend service: the service's marker, or one of its backends is the service's NEG;
//! - the HTTPRoute: the service's marker, or it is the route import would choose for the backend service;
//! - the DNS zone: it serves the service's domain (the users registry decides whether the service still uses it);
//! - a part left over from a rename (private state) by the same rules.
//!
//! Imported parts carry no marker until an update touches them, so the references are what tells them apart. All
//! parts are read before anything is changed, so a state with one wrong name changes nothing at all. A part that
//! is gone is fine: it is reported absent and not deleted.

use futures::future::try_join_all;

use super::leftover::{Kind, Leftover};
use super::parts::{backend_service, cloud_run, dns, neg, route};
use super::resource::Private;
use super::steps::{not_ours, Ctx, StepError};
use super::update::Contexts;

/// The parts the state names that exist (each checked to be this service's); a part `false` here is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    pub route: bool,
    pub backend_service: bool,
    /// Unknown (`true`) when the NEG was not read: the backend service vouched for it.
    pub neg: bool,
    pub service: bool,
    /// The leftovers that still exist.
    pub leftovers: Vec<Leftover>,
}

/// Reads every part the state of `c` names and the `leftovers` of its private state, and checks that each one that
/// exists is this service's; `uid` is the Cloud Run service's, recorded at create or import. The first part found
/// not to be is the error, in the order service, NEG, backend service, route, zone (a wrong `name` also makes the
/// NEG look foreign, a wrong `neg_name` the backend service: the part named first is the one the state got wrong).
pub async fn check(
    c: &Ctx,
    uid: Option<&str>,
    leftovers: &[Leftover],
) -> Result<Present, StepError> {
    let s = &c.spec;
    let (service, backend, route, zone) = tokio::try_join!(
        c.data.shared_reads.service_for_identity(c),
        c.data
            .shared_reads
            .backend_service_for_identity(c, &s.backend_service_name),
        c.data.shared_reads.route_for_identity(c, &s.route_name),
        c.data.shared_reads.zone_for_identity(c),
    )?;
    let named = |kind: Kind| leftovers.iter().filter(move |l| l.kind == kind);
    let negs: Vec<&str> = std::iter::once(s.neg_name.as_str())
        .chain(named(Kind::Neg).map(|l| l.name.as_str()))
        .collect();
    let backends: Vec<&str> = std::iter::once(s.backend_service_name.as_str())
        .chain(named(Kind::BackendService).map(|l| l.name.as_str()))
        .collect();
    let vouched = backend
        .as_ref()
        .is_some_and(|b| backend_service::vouches_for_neg(b, s));
    let neg = if vouched {
        None
    } else {
        neg::get(c, &s.neg_name).await?
    };
    let neg_serves = vouched || neg.as_ref().is_some_and(|n| neg::is_this_services(n, s));
    if let Some(svc) = &service {
        if !cloud_run::is_this_services(svc, s, uid, neg_serves) {
            return Err(cloud_run::not_this_services(s, uid));
        }
    }
    if let Some(n) = &neg {
        if !neg::is_this_services(n, s) {
            return Err(neg::not_this_services(n, "neg_name", s));
        }
    }
    let neg_present = vouched || neg.is_some();
    if let Some(b) = &backend {
        if !backend_service::is_this_services(b, s, &negs) {
            return Err(backend_service::not_this_services(
                b,
                "backend_service_name",
                s,
            ));
        }
    }
    if let Some(r) = &route {
        if !route::is_this_services(r, s, &backends) {
            return Err(route::not_this_services(r, "route_name", s));
        }
    }
    if let Some(z) = &zone {
        if !dns::zone_is_this_services(z, s) {
            return Err(dns::zone_not_this_services(s));
        }
    }
    let present_leftovers = check_leftovers(c, leftovers, &negs, &backends).await?;
    Ok(Present {
        route: route.is_some(),
        backend_service: backend.is_some(),
        neg: neg_present,
        service: service.is_some(),
        leftovers: present_leftovers,
    })
}

/// Reads each leftover (there are rarely any) and checks it is this service's; returns those that exist.
async fn check_leftovers(
    c: &Ctx,
    leftovers: &[Leftover],
    negs: &[&str],
    backends: &[&str],
) -> Result<Vec<Leftover>, StepError> {
    let s = &c.spec;
    const WHERE: &str = "leftovers";
    let reads = leftovers.iter().map(|l| async move {
        let exists = match l.kind {
            Kind::Neg => match neg::get(c, &l.name).await? {
                Some(n) if !neg::is_this_services(&n, s) => {
                    return Err(neg::not_this_services(&n, WHERE, s))
                }
                found => found.is_some(),
            },
            Kind::BackendService => match backend_service::get(c, &l.name).await? {
                Some(b) if !backend_service::is_this_services(&b, s, negs) => {
                    return Err(backend_service::not_this_services(&b, WHERE, s))
                }
                found => found.is_some(),
            },
            Kind::Route => match route::get(c, &l.name).await? {
                Some(r) if !route::is_this_services(&r, s, backends) => {
                    return Err(route::not_this_services(&r, WHERE, s))
                }
                found => found.is_some(),
            },
        };
        Ok(exists.then(|| l.clone()))
    });
    Ok(try_join_all(reads).await?.into_iter().flatten().collect())
}

/// Before an update: the parts the prior state names are this service's ([`check`], on the old spec), and a part
/// the update renames goes to a name that is free or this service's by the same references (a name from the
/// configuration, so a refusal says to choose another one, as a create's would).
pub async fn check_update(cx: &Contexts, private: &Private) -> Result<(), StepError> {
    check(&cx.old, private.service_uid.as_deref(), &private.leftovers).await?;
    let (c, old, new) = (&*cx.new, &cx.old.spec, &cx.new.spec);
    if old.neg_name != new.neg_name {
        if let Some(n) = neg::get(c, &new.neg_name).await? {
            match neg::target(&n) {
                Some(t) if t != new.name => return Err(neg::taken(&new.neg_name, t, &new.name)),
                Some(_) => {}
                None => return Err(not_ours("serverless NEG", &new.neg_name, "neg_name", new)),
            }
        }
    }
    if old.backend_service_name != new.backend_service_name {
        let negs = [new.neg_name.as_str(), old.neg_name.as_str()];
        if let Some(b) = backend_service::get(c, &new.backend_service_name).await? {
            if !backend_service::is_this_services(&b, new, &negs) {
                return Err(not_ours(
                    "backend service",
                    &new.backend_service_name,
                    "backend_service_name",
                    new,
                ));
            }
        }
    }
    if old.route_name != new.route_name {
        let backends = [
            new.backend_service_name.as_str(),
            old.backend_service_name.as_str(),
        ];
        if let Some(r) = route::get(c, &new.route_name).await? {
            if !route::is_this_services(&r, new, &backends) {
                return Err(not_ours("HTTPRoute", &new.route_name, "route_name", new));
            }
        }
    }
    Ok(())
}
