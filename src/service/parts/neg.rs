//! The regional serverless NEG that points at the Cloud Run service (immutable: renamed by create-swap-delete).
//!
//! In the create graph the NEG is made in two steps: [`accept`] (the insert sent and accepted by Google, its
//! operation not yet done) and [`wait`] (that operation awaited). The NEG's description names the project roles the
//! create is about to grant (`iam-grants=…`), so from the moment Google accepts the insert the grant is known to be
//! csmrun's whatever happens to this process; the grant step starts then, with what [`accept`] hands it
//! ([`Accepted::grants`]), and the operation is awaited beside the propagation wait.

use async_trait::async_trait;
use gcp::compute::{CloudRunTarget, NetworkEndpointGroup};
use gcp::lro::ComputeOperation;

pub use super::Made;
use super::{Ensured, Free, Part, Place};
use crate::service::explain::Explanation;
use crate::service::names;
use crate::service::parts::iam;
use crate::service::runner::Failed;
use crate::service::snapshot;
use crate::service::spec::Spec;
use crate::service::steps::insert::{self, Insert};
use crate::service::steps::{self, found, gone, is_marked, not_ours, Ctx, Node, StepError};

/// The serverless NEG part.
pub struct Neg;

/// The project roles a NEG's description names as csmrun's grants: what the grant step needs from the NEG step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grants {
    /// Roles this create's NEG records as about to be granted (the account lacked them when it was made): if the
    /// grant is cut short, the write may still have landed, and rollback releases them.
    pub granting: Vec<String>,
    /// Roles an earlier create of this service recorded on the NEG this create adopted (that create was killed):
    /// csmrun made those grants.
    pub claimed: Vec<String>,
    /// The project policy the NEG step read to find `granting`: the grant step's read-modify-write starts from it
    /// (a stale etag is refused by Google and read again).
    pub policy: Option<iam::Known>,
}

/// What [`accept`] hands the steps after it in the create graph.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    /// The insert's operation, accepted but not yet done (awaited by [`wait`]).
    pub operation: Option<ComputeOperation>,
    /// For the grant step.
    pub grants: Grants,
}

#[async_trait]
impl Part for Neg {
    type Body = NetworkEndpointGroup;
    /// The project roles the create is about to add: written down before the grant, so a create that is killed
    /// during the propagation wait is known, by the next create that adopts this NEG, to have made them.
    type Input = [String];
    type Record = Made;
    /// The NEG exists and targets the service.
    type Observed = bool;
    /// The Cloud Run service's name.
    type Clue = str;
    /// The NEG's name.
    type Found = String;

    fn body(s: &Spec, grants: &[String]) -> NetworkEndpointGroup {
        NetworkEndpointGroup {
            name: s.neg_name.clone(),
            description: Some(names::description_with_grants(
                &s.marker(),
                grants,
                &s.service_account,
            )),
            network_endpoint_type: Some("SERVERLESS".into()),
            cloud_run: Some(CloudRunTarget {
                service: Some(s.name.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    async fn free(c: &Ctx) -> Result<Free, StepError> {
        let s = &c.spec;
        let Some(n) = read(c).await? else {
            return Ok(Free::Absent);
        };
        if is_marked(n.description.as_deref(), s) {
            return Ok(Free::Ours);
        }
        match target(&n) {
            Some(target) if target != s.name => Err(taken(&s.neg_name, target, &s.name)),
            _ => Err(not_ours("serverless NEG", &s.neg_name, "neg_name", s)),
        }
    }

    /// Ensures the NEG named in the spec exists, points at the service, and is ours (its insert done).
    async fn ensure(c: &Ctx) -> Ensured<Made> {
        let (made, accepted) = accept(c).await?;
        wait(c, accepted.operation).await.map_err(|error| Failed {
            error,
            partial: Some(made),
        })?;
        Ok(made)
    }

    /// Settles an insert this run sent (its answer may have been lost), then deletes the NEG.
    async fn undo(sent: &Ctx, cleanup: &Ctx, made: &Made) -> Result<(), StepError> {
        if !made.created {
            return Ok(());
        }
        insert::settle(sent, cleanup, Node::Neg).await?;
        Neg::delete(cleanup, &cleanup.spec.neg_name).await
    }

    async fn delete(c: &Ctx, name: &str) -> Result<(), StepError> {
        let r = c
            .clients
            .compute()
            .delete_network_endpoint_group(&c.spec.project, &c.spec.region, name)
            .await;
        gone(r, &format!("serverless NEG {name}"))
    }

    async fn observe(c: &Ctx) -> Result<bool, StepError> {
        Ok(in_place(c, read(c).await?.as_ref()))
    }

    /// The NEG of the region that targets the service.
    async fn discover(
        clients: &gcp::Clients,
        at: &Place,
        service: &str,
    ) -> Result<Option<String>, StepError> {
        let negs = clients
            .compute()
            .list_network_endpoint_groups(&at.project, &at.region)
            .await
            .map_err(|e| StepError::api("list serverless NEGs", &e))?;
        Ok(negs
            .into_iter()
            .find(|n| target(n) == Some(service))
            .map(|n| n.name))
    }
}

/// Whether the NEG read for a refresh is the spec's: it points at the service.
fn in_place(c: &Ctx, have: Option<&NetworkEndpointGroup>) -> bool {
    have.is_some_and(|n| target(n) == Some(c.spec.name.as_str()))
}

/// [`Part::observe`] from the region's `regionNetworkEndpointGroups.list` in the process's read snapshot
/// (`service::snapshot`); a NEG not listed there is read directly before it is called missing.
pub async fn observe_listed(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let have = snapshot::listed_or_get(
        &c.data.reads,
        &format!(
            "compute.regionNetworkEndpointGroups.list {}/{}",
            s.project, s.region
        ),
        || async {
            c.clients
                .compute()
                .list_network_endpoint_groups(&s.project, &s.region)
                .await
        },
        |n| Some(n.name.as_str()),
        &s.neg_name,
        || read(c),
    )
    .await?;
    Ok(in_place(c, have.as_ref()))
}

/// The Cloud Run service a NEG points at.
pub fn target(n: &NetworkEndpointGroup) -> Option<&str> {
    n.cloud_run.as_ref().and_then(|r| r.service.as_deref())
}

/// The spec's NEG, if it exists.
async fn read(c: &Ctx) -> Result<Option<NetworkEndpointGroup>, StepError> {
    get(c, &c.spec.neg_name).await
}

/// The NEG `name` of the spec's project and region, if it exists.
pub async fn get(c: &Ctx, name: &str) -> Result<Option<NetworkEndpointGroup>, StepError> {
    let s = &c.spec;
    let r = c
        .clients
        .compute()
        .get_network_endpoint_group(&s.project, &s.region, name)
        .await;
    found(r, &format!("serverless NEG {name}"))
}

/// Whether `n`, a NEG the state names, is this service's: it serves the service. A NEG's target cannot change, and
/// it is all that an imported NEG, which carries no csmrun marker, says about its owner.
pub fn is_this_services(n: &NetworkEndpointGroup, s: &Spec) -> bool {
    target(n) == Some(s.name.as_str())
}

/// The refusal to change or delete `n`, named by the state's `attr`, which serves another Cloud Run service.
pub fn not_this_services(n: &NetworkEndpointGroup, attr: &str, s: &Spec) -> StepError {
    let reason = match target(n) {
        Some(t) => format!("it serves Cloud Run service {t:?}"),
        None => "it serves no Cloud Run service".to_string(),
    };
    steps::not_this_services("serverless NEG", &n.name, attr, &reason, s)
}

/// Waits for the NEG insert [`accept`] left running, if any.
pub async fn wait(c: &Ctx, operation: Option<ComputeOperation>) -> Result<(), StepError> {
    let Some(op) = operation else {
        return Ok(());
    };
    let insert = c.sent.last_insert(Node::Neg);
    let Some(insert) = insert else {
        return Ok(());
    };
    insert
        .wait(c, op)
        .await
        .map(drop)
        .map_err(|e| StepError::api(&format!("create serverless NEG {}", c.spec.neg_name), &e))
}

/// [`Neg::ensure`] up to the point where Google has accepted the insert (its operation returned, not yet done):
/// from then on the NEG, and the `iam-grants=` marker in its description, will exist even if this process dies,
/// so the IAM grant may start while the insert completes ([`wait`]). A failure after the insert was sent (its
/// answer lost, or cut short) says the NEG may exist, so rollback settles and deletes it.
pub async fn accept(c: &Ctx) -> Result<(Made, Accepted), Failed<Made, StepError>> {
    accept_from(c, None).await
}

/// [`accept`] after the pre-flight's look at the name (`free`): found absent, the NEG is not read again before the
/// insert (a 409 reads it then).
pub async fn accept_from(
    c: &Ctx,
    free: Option<Free>,
) -> Result<(Made, Accepted), Failed<Made, StepError>> {
    let s = &c.spec;
    let compute = c.clients.compute();
    let doing = format!("create serverless NEG {}", s.neg_name);
    let existing = if free == Some(Free::Absent) {
        None
    } else {
        read(c).await.map_err(Failed::clean)?
    };
    let mut accepted = Accepted::default();
    let neg = match existing {
        Some(n) => n,
        None => {
            // A create records the roles the IAM step (which runs after this one) is about to add, so that they
            // are known to be csmrun's even if the provider is killed before the service carries its annotation.
            if !c.existing {
                let writes_before = c.data.iam.writes_so_far();
                let policy = iam::read_policy(c).await.map_err(Failed::clean)?;
                accepted.grants.granting = iam::missing_from(&policy, c);
                accepted.grants.policy = Some(iam::Known {
                    writes_before,
                    policy,
                });
            }
            let sent = |error| Failed {
                error,
                partial: Some(Made { created: true }),
            };
            let body = Neg::body(s, &accepted.grants.granting);
            let insert = neg_insert(c, &body).map_err(Failed::clean)?;
            match insert.send(c).await {
                Ok(op) => {
                    accepted.operation = Some(op);
                    return Ok((Made { created: true }, accepted));
                }
                Err(e) if e.is_already_exists() => compute
                    .get_network_endpoint_group(&s.project, &s.region, &s.neg_name)
                    .await
                    .map_err(|e| sent(StepError::api(&doing, &e)))?,
                Err(e) => return Err(sent(StepError::api(&doing, &e))),
            }
        }
    };
    if !c.existing && !is_marked(neg.description.as_deref(), s) {
        return Err(Failed::clean(not_ours(
            "serverless NEG",
            &s.neg_name,
            "neg_name",
            s,
        )));
    }
    if !c.existing {
        accepted.grants.claimed = names::grants_in(neg.description.as_deref().unwrap_or(""));
    }
    let t = target(&neg);
    if t != Some(s.name.as_str()) {
        return Err(Failed::clean(taken(&s.neg_name, t.unwrap_or(""), &s.name)));
    }
    // Adopted after a crash (ours, but this run did not see it being made): rollback removes it too.
    Ok((
        Made {
            created: !c.existing,
        },
        accepted,
    ))
}

/// `regionNetworkEndpointGroups.insert` of `neg` in the spec's project and region, with a kept `requestId`.
fn neg_insert(c: &Ctx, neg: &NetworkEndpointGroup) -> Result<Insert, StepError> {
    let s = &c.spec;
    Insert::new(
        Node::Neg,
        format!(
            "projects/{}/regions/{}/networkEndpointGroups",
            s.project, s.region
        ),
        "regionNetworkEndpointGroups.insert",
        gcp::compute::neg_path(&s.project, &s.region, &neg.name),
        neg,
    )
}

/// The error for a NEG of the spec's name that serves another Cloud Run service: NEGs cannot be changed, and it
/// is someone else's, so the way out is another name.
pub fn taken(neg: &str, target: &str, service: &str) -> StepError {
    StepError::refused(
        Explanation::new(
            format!("serverless NEG {neg}"),
            format!("name taken by Cloud Run service {target:?}"),
        )
        .why(format!(
            "the NEG {neg:?} serves Cloud Run service {target:?}, not {service:?}, and a NEG's target cannot be \
             changed"
        ))
        .fix(format!(
            "choose another `neg_name` (for example \"{neg}-2\"); if this service already had the NEG, csmrun \
             builds the new one, swaps it into the backend service and deletes the old one"
        )),
    )
}
