//! Delete as an order of deletes run by the one runner (`super::runner`, [`Graph::sequence`]): every part the state
//! names checked to be this service's first (`identity::check`: reads only, so a state naming someone else's object
//! deletes nothing), then owned parts in reverse order of their create, then the shared ones by the rules of
//! PRODUCT §2; a part the check found gone is not deleted again.
//!
//! DNS and the grants are released before the Cloud Run service is deleted: refresh drops the resource once the
//! service is gone, so a destroy cut short (crash, kill) after that point would leave them with nobody to release
//! them. What the first grant release keeps because another service of the account is listed is handed to a second
//! release after the delete (two services leaving at once each see the other first; `iam::release`).
//!
//! A delete cannot be undone: its steps record nothing, so on a failure the runner stops, rolls back nothing, and
//! the next destroy starts again from the identity check (every delete is idempotent: 404 is success).

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::identity;
use super::leftover::{self, Leftover};
use super::parts::{cloud_run, dns, iam, BackendServicePart, Neg, Part as _, Route};
use super::resource::Private;
use super::runner::{DynStep, Failed, Graph, GraphEnd, Step};
use super::steps::{Ctx, Handoff, StepError};

/// How a destroy failed.
#[derive(Debug)]
pub(crate) enum DeleteFailed {
    /// A part the state names is not this service's (`identity`): nothing was deleted.
    NotThisServices(StepError),
    /// A delete failed after others had been done.
    PartWay(StepError),
}

/// Deletes the service `c` names and releases what it shared; `private` is its private state.
pub(crate) async fn delete_parts(c: &Arc<Ctx>, private: &Private) -> Result<(), DeleteFailed> {
    let present = identity::check(c, private.service_uid.as_deref(), &private.leftovers)
        .await
        .map_err(DeleteFailed::NotThisServices)?;
    let kept = Arc::new(Handoff::default());
    let mut order: Vec<(&'static str, Delete)> = Vec::new();
    if present.route {
        order.push(("HTTPRoute", Delete::Route));
    }
    if present.backend_service {
        order.push(("backend service", Delete::BackendService));
    }
    if present.neg {
        order.push(("serverless NEG", Delete::Neg));
    }
    order.push(("leftovers", Delete::Leftovers(present.leftovers)));
    order.push(("DNS users registry", Delete::LeaveDomain));
    order.push(("project IAM", Delete::Release(private.iam_owned.clone())));
    if present.service {
        order.push(("Cloud Run service", Delete::Service));
    }
    order.push(("project IAM kept", Delete::ReleaseKept));
    let steps = order
        .into_iter()
        .map(|(name, delete)| {
            let step: DynStep<(), StepError> = Arc::new(DeleteStep {
                c: Arc::clone(c),
                delete,
                kept: Arc::clone(&kept),
            });
            (name, step)
        })
        .collect();
    match Graph::sequence(steps).run(&c.cancel).await {
        GraphEnd::Done(_) => Ok(()),
        GraphEnd::RolledBack { error, .. } | GraphEnd::Incomplete { error, .. } => {
            Err(DeleteFailed::PartWay(error))
        }
    }
}

/// One delete of the order.
enum Delete {
    Route,
    BackendService,
    Neg,
    /// Owned parts named only in private state (an earlier update's).
    Leftovers(Vec<Leftover>),
    /// Unregisters from the domain's users; the last user also removes the record and csmrun's zone.
    LeaveDomain,
    /// The first release of the roles the state owns; hands on what it kept.
    Release(Vec<String>),
    Service,
    /// The second release: what the first kept.
    ReleaseKept,
}

struct DeleteStep {
    c: Arc<Ctx>,
    delete: Delete,
    /// First release → second release: the roles kept, and for which user seen then.
    kept: Arc<Handoff<iam::Kept>>,
}

#[async_trait]
impl Step for DeleteStep {
    type Record = ();
    type Error = StepError;

    async fn ensure(&self, _: CancellationToken) -> Result<(), Failed<(), StepError>> {
        let (c, s) = (&*self.c, &self.c.spec);
        let r = match &self.delete {
            Delete::Route => Route::delete(c, &s.route_name).await,
            Delete::BackendService => BackendServicePart::delete(c, &s.backend_service_name).await,
            Delete::Neg => Neg::delete(c, &s.neg_name).await,
            Delete::Leftovers(parts) => match leftover::delete_all(c, parts.clone()).await {
                (_, Some(e)) => Err(e),
                (_, None) => Ok(()),
            },
            Delete::LeaveDomain => dns::leave(c).await.map(drop),
            Delete::Release(owned) => iam::release_before_delete(c, owned)
                .await
                .map(|kept| self.kept.put(kept)),
            Delete::Service => cloud_run::delete(c).await,
            Delete::ReleaseKept => {
                let kept = self.kept.get().unwrap_or_default();
                iam::release_after_delete(c, &kept).await.map(drop)
            }
        };
        r.map_err(Failed::clean)
    }

    /// A delete is not undone.
    async fn undo(&self, _: &()) -> Result<(), StepError> {
        Ok(())
    }

    fn is_noop(&self, _: &()) -> bool {
        true
    }
}
