//! Update in place as a journal: every part ensured in dependency order, renamed parts built new, swapped in, and
//! only then the old ones deleted; on failure what this update built is undone in reverse order.
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

use super::leftover::{self, Kind, Leftover};
use super::parts::dns;
use super::parts::iam;
use super::parts::{
    self, neg, BackendServicePart, CloudRun, Invokers, Made, Neg, Part as _, Route,
};
use super::runner::Failed;
use super::steps::{preflight, Ctx, Node, Record, StepError};

/// A change this update made that rollback must revert.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
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
    let mut journal = Vec::new();
    match apply(cx, &mut journal).await {
        Ok(()) => {
            let (cleanup_error, leftovers) = cleanup(cx, leftovers, prior_roles).await;
            UpdateEnd::Done {
                cleanup_error,
                leftovers,
            }
        }
        Err(error) => {
            let (undo_errors, mut remaining, roles_kept) = rollback(cx, journal).await;
            if undo_errors.is_empty() {
                return UpdateEnd::RolledBack { error };
            }
            remaining.extend(leftovers.iter().cloned());
            UpdateEnd::Incomplete {
                error,
                undo_errors,
                leftovers: remaining,
                roles_kept,
            }
        }
    }
}

/// Journals a part created by this update, also when its create was cut short after being sent.
fn note_created(
    journal: &mut Vec<Change>,
    c: &Ctx,
    part: Node,
    result: Result<Record, StepError>,
) -> Result<(), StepError> {
    let created = match &result {
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
    if created {
        journal.push(Change::Created(part));
    }
    result.map(|_| ())
}

/// Journals a part created by this update, also when its create failed after being sent.
fn note_made(
    journal: &mut Vec<Change>,
    part: Node,
    result: parts::Ensured<Made>,
) -> Result<(), StepError> {
    let made = match &result {
        Ok(m) => Some(*m),
        Err(f) => f.partial,
    };
    if made.is_some_and(|m| m.created) {
        journal.push(Change::Created(part));
    }
    result.map(drop).map_err(|f| f.error)
}

/// Everything up to the commit point, journaled.
async fn apply(cx: &Contexts, journal: &mut Vec<Change>) -> Result<(), StepError> {
    let (c, old, new) = (&*cx.new, &cx.old.spec, &cx.new.spec);
    match iam::ensure(c, &neg::Grants::default()).await {
        Ok(Record::Iam { added }) if !added.is_empty() => journal.push(Change::RolesAdded(added)),
        Ok(_) => {}
        Err(Failed { error, partial }) => {
            if let Some(Record::Iam { added }) = partial {
                journal.push(Change::RolesAdded(added));
            }
            return Err(error);
        }
    }
    note_created(journal, c, Node::DnsZone, dns::ensure_zone(c).await)?;
    // Registered before the record is ensured and the route made, so no leaver removes them meanwhile. A service
    // staying in its domain stays registered on rollback (it still uses the domain); one that never registered
    // (made before the registry, or imported) is registered by its first update.
    if moves_zone(old, new) {
        journal.push(Change::Joined);
    }
    dns::join(c).await?;
    if old.dns_address != new.dns_address
        && old.dns_zone_name == new.dns_zone_name
        && old.domain == new.domain
    {
        journal.push(Change::RecordRemoved);
        dns::readdress(c, &old.dns_address).await?;
    }
    note_created(journal, c, Node::DnsRecord, dns::ensure_record(c).await)?;
    note_made(journal, Node::Neg, Neg::ensure(c).await)?;
    if old.backend_service_name == new.backend_service_name {
        journal.push(Change::BackendChanged);
    }
    note_made(
        journal,
        Node::BackendService,
        BackendServicePart::ensure(c).await,
    )?;
    // A renamed route would collide with its own hostname: the old one goes first.
    if old.route_name != new.route_name {
        journal.push(Change::RouteRemoved);
        Route::delete(c, &old.route_name).await?;
    }
    preflight::run(c).await?;
    if old.service_account != new.service_account {
        journal.push(Change::ServiceAccountChanged);
    }
    CloudRun::ensure(c).await.map_err(|f| f.error)?;
    Invokers::ensure(c).await.map_err(|f| f.error)?;
    note_made(journal, Node::Route, Route::ensure(c).await)
}

/// Whether the update moves the service to another zone or domain (joining the new one, leaving the old one).
fn moves_zone(old: &super::spec::Spec, new: &super::spec::Spec) -> bool {
    old.dns_zone_name != new.dns_zone_name || old.domain != new.domain || old.project != new.project
}

/// Undoes `journal` newest first; returns the undo errors, the new parts that remain and the roles kept.
async fn rollback(
    cx: &Contexts,
    journal: Vec<Change>,
) -> (Vec<StepError>, Vec<Leftover>, Vec<String>) {
    let (u, u_old) = (&*cx.undo_new, &*cx.undo_old);
    let (s, old) = (&u.spec, &u_old.spec);
    let mut errors = Vec::new();
    let mut remaining = Vec::new();
    let mut roles_kept = Vec::new();
    let joined = journal.contains(&Change::Joined);
    let readdressed = journal.contains(&Change::RecordRemoved);
    for change in journal.into_iter().rev() {
        let (result, left) = match &change {
            // Unregistering removes the record if nobody else uses it; another user's record stays.
            Change::Created(Node::DnsRecord) if joined => (Ok(()), None),
            Change::Joined => (dns::leave(u).await.map(drop), None),
            Change::RolesAdded(roles) => (iam::release(u, roles).await.map(|_| ()), None),
            // A zone another service registered in meanwhile is not empty: its delete is refused and it stays.
            Change::Created(Node::DnsZone) => (dns::delete_zone(u).await, None),
            // Made for a new address: removed so that the old one can be put back (the service was the domain's
            // only user). Otherwise the service stays in its domain and keeps using the record it made.
            Change::Created(Node::DnsRecord) if readdressed => (dns::delete_record(u).await, None),
            Change::Created(Node::DnsRecord) => (Ok(()), None),
            Change::Created(Node::Neg) => (
                Neg::undo(&cx.new, u, &Made { created: true }).await,
                Some(Leftover::new(Kind::Neg, &s.neg_name)),
            ),
            Change::Created(Node::BackendService) => (
                BackendServicePart::undo(&cx.new, u, &Made { created: true }).await,
                Some(Leftover::new(Kind::BackendService, &s.backend_service_name)),
            ),
            Change::Created(Node::Route) => (
                Route::delete(u, &s.route_name).await,
                Some(Leftover::new(Kind::Route, &s.route_name)),
            ),
            Change::Created(_) => (Ok(()), None),
            Change::RecordRemoved => (dns::ensure_record(u_old).await.map(drop), None),
            Change::BackendChanged => (
                BackendServicePart::ensure(u_old)
                    .await
                    .map(drop)
                    .map_err(|f| f.error),
                None,
            ),
            Change::RouteRemoved => (
                Route::ensure(u_old).await.map(drop).map_err(|f| f.error),
                None,
            ),
            Change::ServiceAccountChanged => (
                CloudRun::ensure(u_old).await.map(drop).map_err(|f| f.error),
                None,
            ),
        };
        match result {
            Ok(()) => tracing::debug!(?change, "update undone"),
            Err(e) => {
                tracing::warn!(?change, error = ?e, "undo of an update failed");
                errors.push(e);
                if let Change::RolesAdded(roles) = &change {
                    roles_kept.extend(roles.iter().cloned());
                }
                // A part under the old name is the one the returned state names anyway.
                remaining.extend(left.filter(|l| !l.is_named_by(old)));
            }
        }
    }
    (errors, remaining, roles_kept)
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
