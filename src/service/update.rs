//! Update in place as a sequence run by the one runner (`super::runner`, [`Graph::sequence`]): every part ensured
//! in dependency order, renamed parts built new, swapped in, and only then the old ones deleted; on failure the
//! runner's journal of what this update changed ([`Change`], each step's record) is undone newest first. The steps
//! run in order but none needs another for its undo: each puts back its own part, so one undo failing does not
//! keep the others.
//!
//! # Guarantees
//! - Before the commit point (the route ensured), every change that would otherwise be left unnamed is journaled:
//!   parts created (under new names or repaired), project roles added, the old route deleted for a rename, the
//!   backend service re-pointed at a renamed NEG, the wildcard record removed for a new address, the registration
//!   in the users registry of a domain the service moves to (`dns::join`; undone by `dns::leave`). On failure they
//!   are undone newest first (a new NEG is deleted only after the backend service points back at the old one).
//! - After the commit point the old parts of a rename are deleted; one that cannot be is named in private state
//!   ([`Leftover`]) and removed by the next update or the destroy.
//! - A new part whose undo failed is named in private state the same way; nothing is left that Terraform does not
//!   know about. Undo runs on contexts that Ctrl-C does not cancel.
//!
//! # Assumptions
//! - Each part's `ensure` is idempotent, so undoing a swap is ensuring the old spec again.
//! - In-place changes of the service itself (image, env, ...) are not reverted: the caller refreshes the prior
//!   state from the cloud, so the state it returns says what is there. A change of `service_account` is the
//!   exception ([`Change::ServiceAccountChanged`]): the grants in private state belong to the old account.
//!
//! # Errors
//! - [`UpdateEnd::RolledBack`]: the first error; everything journaled was undone.
//! - [`UpdateEnd::Incomplete`]: the first error, the undo errors, the parts that remain.
//! - [`UpdateEnd::Done`] with `cleanup_error`: the update took effect, an old part could not be deleted.

use std::sync::Arc;

use async_trait::async_trait;

use super::leftover::{self, Kind, Leftover};
use super::parts::dns;
use super::parts::iam;
use super::parts::{
    self, neg, BackendServicePart, CloudRun, Invokers, Made, Neg, Part as _, Route,
};
use super::runner::{DynStep, Failed, Graph, GraphEnd, Step};
use super::steps::{preflight, Ctx, Node, Record, StepError};

/// A change this update made that rollback must revert: the record of one step of the sequence, journaled by the
/// runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Nothing to revert (a check, an in-place change, a part that existed).
    Nothing,
    /// Project roles added for the (new) service account.
    RolesAdded(Vec<String>),
    /// A part created under the new spec's name.
    Created(Node),
    /// The wildcard record deleted so that it can be recreated with the new address.
    RecordRemoved,
    /// The backend service (same name) patched to the new spec, which may point it at a new NEG.
    BackendChanged,
    /// The old route deleted because the route is renamed.
    RouteRemoved,
    /// Registered as a user of a domain (zone) the service did not use before: undone by unregistering, which
    /// also removes the record and zone if nobody else uses them.
    Joined,
    /// The service deployed to run as another account. Reverted by deploying the old spec: Cloud Run keeps
    /// traffic on the last Ready revision, which runs as the old account, so a refreshed template would say the new
    /// account while the old one is still in use, and the old account's grants would lose their owner.
    ServiceAccountChanged,
}

/// The contexts of one update: the new and old specs, and the same pair for undo (not cancelled by Ctrl-C).
#[derive(Clone)]
pub struct Contexts {
    pub new: Arc<Ctx>,
    pub old: Arc<Ctx>,
    pub undo_new: Arc<Ctx>,
    pub undo_old: Arc<Ctx>,
}

/// How an update ended.
#[derive(Debug)]
pub enum UpdateEnd {
    /// The update took effect; `leftovers` are owned parts still to delete (named in private state).
    Done {
        cleanup_error: Option<StepError>,
        leftovers: Vec<Leftover>,
    },
    /// It failed and everything it had built was removed again.
    RolledBack { error: StepError },
    /// It failed and the undo failed too: `leftovers` and `roles_kept` still exist.
    Incomplete {
        error: StepError,
        undo_errors: Vec<StepError>,
        leftovers: Vec<Leftover>,
        roles_kept: Vec<String>,
    },
}

/// Runs the update; `leftovers` are those the prior private state named.
pub async fn run(cx: &Contexts, leftovers: &[Leftover], prior_roles: &[String]) -> UpdateEnd {
    match plan(cx).run(&cx.new.cancel).await {
        GraphEnd::Done(_) => {
            let (cleanup_error, leftovers) = cleanup(cx, leftovers, prior_roles).await;
            UpdateEnd::Done {
                cleanup_error,
                leftovers,
            }
        }
        GraphEnd::RolledBack { error, .. } => UpdateEnd::RolledBack { error },
        GraphEnd::Incomplete {
            error,
            undo_errors,
            remaining,
            ..
        } => {
            let (s, old) = (&cx.undo_new.spec, &cx.undo_old.spec);
            let mut left = Vec::new();
            let mut roles_kept = Vec::new();
            for entry in remaining {
                let part = match entry.record {
                    Change::RolesAdded(roles) => {
                        roles_kept.extend(roles);
                        continue;
                    }
                    Change::Created(Node::Neg) => Leftover::new(Kind::Neg, &s.neg_name),
                    Change::Created(Node::BackendService) => {
                        Leftover::new(Kind::BackendService, &s.backend_service_name)
                    }
                    Change::Created(Node::Route) => Leftover::new(Kind::Route, &s.route_name),
                    _ => continue,
                };
                // A part under the old name is the one the returned state names anyway.
                if !part.is_named_by(old) {
                    left.push(part);
                }
            }
            left.extend(leftovers.iter().cloned());
            UpdateEnd::Incomplete {
                error,
                undo_errors: undo_errors.into_iter().map(|(_, e)| e).collect(),
                leftovers: left,
                roles_kept,
            }
        }
    }
}

/// One step of the update's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Iam,
    DnsZone,
    /// Registered before the record is ensured and the route made, so no leaver removes them meanwhile. A service
    /// staying in its domain stays registered on rollback (it still uses the domain); one that never registered
    /// (made before the registry, or imported) is registered by its first update.
    Join,
    /// The wildcard record of the old address removed (a new `dns_address` in the same zone and domain).
    Readdress,
    DnsRecord,
    Neg,
    BackendService,
    /// A renamed route would collide with its own hostname: the old one goes first.
    RouteRemoved,
    Checks,
    Service,
    Invokers,
    /// The commit point.
    Route,
}

/// The update as a sequence for the runner, up to the commit point: every part ensured in dependency order.
fn plan(cx: &Contexts) -> Graph<Change, StepError> {
    let (old, new) = (&cx.old.spec, &cx.new.spec);
    let readdress = old.dns_address != new.dns_address
        && old.dns_zone_name == new.dns_zone_name
        && old.domain == new.domain;
    let stages = [
        (Stage::Iam, "project IAM", true),
        (Stage::DnsZone, "DNS zone", true),
        (Stage::Join, "DNS users registry", true),
        (Stage::Readdress, "old DNS record", readdress),
        (Stage::DnsRecord, "DNS record", true),
        (Stage::Neg, "serverless NEG", true),
        (Stage::BackendService, "backend service", true),
        (
            Stage::RouteRemoved,
            "old HTTPRoute",
            old.route_name != new.route_name,
        ),
        (Stage::Checks, "pre-flight checks", true),
        (Stage::Service, "Cloud Run service", true),
        (Stage::Invokers, "invoker policy", true),
        (Stage::Route, "HTTPRoute", true),
    ];
    Graph::sequence(
        stages
            .into_iter()
            .filter(|(_, _, wanted)| *wanted)
            .map(|(stage, name, _)| {
                let step: DynStep<Change, StepError> = Arc::new(UpdateStep {
                    stage,
                    cx: cx.clone(),
                    readdress,
                });
                (name, step)
            })
            .collect(),
    )
}

struct UpdateStep {
    stage: Stage,
    cx: Contexts,
    /// The sequence removes the old address's record ([`Stage::Readdress`]).
    readdress: bool,
}

type Changed = Result<Change, Failed<Change, StepError>>;

/// `change` journaled whether `r` succeeded or not: it is recorded before the call that makes it.
fn recorded<T>(change: Change, r: Result<T, StepError>) -> Changed {
    match r {
        Ok(_) => Ok(change),
        Err(error) => Err(Failed {
            error,
            partial: Some(change),
        }),
    }
}

/// `change` if the part was created, also when its create failed after being sent.
fn if_made(change: Change, r: parts::Ensured<Made>) -> Changed {
    let pick = |m: Option<Made>| {
        if m.is_some_and(|m| m.created) {
            change.clone()
        } else {
            Change::Nothing
        }
    };
    match r {
        Ok(m) => Ok(pick(Some(m))),
        Err(f) => Err(Failed {
            error: f.error,
            partial: Some(pick(f.partial)),
        }),
    }
}

/// `change` if a create of `part` was made or sent by `r`'s step.
fn if_created(c: &Ctx, part: Node, change: Change, r: Result<Record, StepError>) -> Changed {
    let created = match &r {
        Ok(
            Record::DnsZone { created }
            | Record::DnsRecord { created, .. }
            | Record::Neg { created }
            | Record::BackendService { created }
            | Record::Route { created },
        ) => *created,
        Ok(_) => false,
        Err(_) => c.sent.contains(part),
    };
    let change = if created { change } else { Change::Nothing };
    match r {
        Ok(_) => Ok(change),
        Err(error) => Err(Failed {
            error,
            partial: Some(change),
        }),
    }
}

#[async_trait]
impl Step for UpdateStep {
    type Record = Change;
    type Error = StepError;

    async fn ensure(&self, _: tokio_util::sync::CancellationToken) -> Changed {
        let (c, old, new) = (&*self.cx.new, &self.cx.old.spec, &self.cx.new.spec);
        match self.stage {
            Stage::Iam => match iam::ensure(c, &neg::Grants::default()).await {
                Ok(Record::Iam { added }) if !added.is_empty() => Ok(Change::RolesAdded(added)),
                Ok(_) => Ok(Change::Nothing),
                Err(Failed { error, partial }) => Err(Failed {
                    error,
                    partial: match partial {
                        Some(Record::Iam { added }) => Some(Change::RolesAdded(added)),
                        _ => None,
                    },
                }),
            },
            Stage::DnsZone => if_created(
                c,
                Node::DnsZone,
                Change::Created(Node::DnsZone),
                dns::ensure_zone(c).await,
            ),
            Stage::Join => {
                let change = if moves_zone(old, new) {
                    Change::Joined
                } else {
                    Change::Nothing
                };
                recorded(change, dns::join(c).await)
            }
            Stage::Readdress => recorded(
                Change::RecordRemoved,
                dns::readdress(c, &old.dns_address).await,
            ),
            // Made for a new address, the record is removed on rollback so that the old one can be put back (the
            // service was the domain's only user). A service that joined the domain unregisters instead, which
            // removes the record if nobody else uses it; otherwise the service stays in its domain and keeps
            // using the record it made.
            Stage::DnsRecord => {
                let change = if self.readdress && !moves_zone(old, new) {
                    Change::Created(Node::DnsRecord)
                } else {
                    Change::Nothing
                };
                if_created(c, Node::DnsRecord, change, dns::ensure_record(c).await)
            }
            Stage::Neg => if_made(Change::Created(Node::Neg), Neg::ensure(c).await),
            Stage::BackendService => {
                let r = BackendServicePart::ensure(c).await;
                if old.backend_service_name == new.backend_service_name {
                    recorded(Change::BackendChanged, r.map_err(|f| f.error))
                } else {
                    if_made(Change::Created(Node::BackendService), r)
                }
            }
            Stage::RouteRemoved => recorded(
                Change::RouteRemoved,
                Route::delete(c, &old.route_name).await,
            ),
            Stage::Checks => recorded(Change::Nothing, preflight::run(c).await),
            Stage::Service => {
                let change = if old.service_account != new.service_account {
                    Change::ServiceAccountChanged
                } else {
                    Change::Nothing
                };
                recorded(change, CloudRun::ensure(c).await.map_err(|f| f.error))
            }
            Stage::Invokers => recorded(
                Change::Nothing,
                Invokers::ensure(c).await.map_err(|f| f.error),
            ),
            Stage::Route => if_made(Change::Created(Node::Route), Route::ensure(c).await),
        }
    }

    fn is_noop(&self, change: &Change) -> bool {
        *change == Change::Nothing
    }

    async fn undo(&self, change: &Change) -> Result<(), StepError> {
        let (u, u_old) = (&*self.cx.undo_new, &*self.cx.undo_old);
        let s = &u.spec;
        let r = match change {
            Change::Nothing => Ok(()),
            Change::Joined => dns::leave(u).await.map(drop),
            Change::RolesAdded(roles) => iam::release(u, roles).await.map(drop),
            // A zone another service registered in meanwhile is not empty: its delete is refused and it stays.
            Change::Created(Node::DnsZone) => dns::delete_zone(u).await,
            Change::Created(Node::DnsRecord) => dns::delete_record(u).await,
            Change::Created(Node::Neg) => Neg::undo(&self.cx.new, u, &Made { created: true }).await,
            Change::Created(Node::BackendService) => {
                BackendServicePart::undo(&self.cx.new, u, &Made { created: true }).await
            }
            Change::Created(Node::Route) => Route::delete(u, &s.route_name).await,
            Change::Created(_) => Ok(()),
            Change::RecordRemoved => dns::ensure_record(u_old).await.map(drop),
            Change::BackendChanged => BackendServicePart::ensure(u_old)
                .await
                .map(drop)
                .map_err(|f| f.error),
            Change::RouteRemoved => Route::ensure(u_old).await.map(drop).map_err(|f| f.error),
            Change::ServiceAccountChanged => {
                CloudRun::ensure(u_old).await.map(drop).map_err(|f| f.error)
            }
        };
        match &r {
            Ok(()) => tracing::debug!(?change, "update undone"),
            Err(e) => tracing::warn!(?change, error = ?e, "undo of an update failed"),
        }
        r
    }
}

/// Whether the update moves the service to another zone or domain (joining the new one, leaving the old one).
fn moves_zone(old: &super::spec::Spec, new: &super::spec::Spec) -> bool {
    old.dns_zone_name != new.dns_zone_name || old.domain != new.domain || old.project != new.project
}

/// After the commit point: old parts of renames, earlier leftovers, and shared parts no longer used.
async fn cleanup(
    cx: &Contexts,
    leftovers: &[Leftover],
    prior_roles: &[String],
) -> (Option<StepError>, Vec<Leftover>) {
    let (c, old_c) = (&*cx.new, &*cx.old);
    let (old, new) = (&old_c.spec, &c.spec);
    let mut stale: Vec<Leftover> = leftovers
        .iter()
        .filter(|l| !l.is_named_by(new))
        .cloned()
        .collect();
    if old.backend_service_name != new.backend_service_name {
        stale.push(Leftover::new(
            Kind::BackendService,
            &old.backend_service_name,
        ));
    }
    if old.neg_name != new.neg_name {
        stale.push(Leftover::new(Kind::Neg, &old.neg_name));
    }
    let (kept, mut first) = leftover::delete_all(c, stale).await;
    if moves_zone(old, new) {
        if let Err(e) = dns::leave(old_c).await {
            first.get_or_insert(e);
        }
    }
    let released = if old.service_account != new.service_account {
        iam::release(old_c, prior_roles).await.map(|_| ())
    } else {
        // Roles no longer wanted (e.g. `trace` turned off) go the way they would on delete.
        let wanted = new.project_roles();
        let dropped: Vec<String> = prior_roles
            .iter()
            .filter(|r| !wanted.contains(&r.as_str()))
            .cloned()
            .collect();
        iam::release(c, &dropped).await.map(|_| ())
    };
    if let Err(e) = released {
        first.get_or_insert(e);
    }
    (first, kept)
}
