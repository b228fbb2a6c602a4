//! The regional serverless NEG that points at the Cloud Run service (immutable: renamed by create-swap-delete).

use super::insert::Insert;
use super::{found, gone, iam, is_marked, not_ours, Ctx, Part, Record, StepError};
use crate::service::explain::Explanation;
use crate::service::{bodies, names};

/// Ensures the NEG named in the spec exists, points at the service, and is ours (its insert done).
pub async fn ensure(c: &Ctx) -> Result<Record, StepError> {
    let record = accept(c).await?;
    wait(c).await?;
    Ok(record)
}

/// Waits for the NEG insert [`accept`] left running, if any.
pub async fn wait(c: &Ctx) -> Result<(), StepError> {
    let Some(op) = c.facts.lock().ok().and_then(|mut f| f.neg_operation.take()) else {
        return Ok(());
    };
    let insert = c.facts().inserts.into_iter().find(|i| i.part == Part::Neg);
    let Some(insert) = insert else {
        return Ok(());
    };
    insert
        .wait(c, op)
        .await
        .map(drop)
        .map_err(|e| StepError::api(&format!("create serverless NEG {}", c.spec.neg_name), &e))
}

/// [`ensure`] up to the point where Google has accepted the insert (its operation returned, not yet done): from
/// then on the NEG, and the `iam-grants=` marker in its description, will exist even if this process dies, so
/// the IAM grant may start while the insert completes ([`wait`]).
pub async fn accept(c: &Ctx) -> Result<Record, StepError> {
    let s = &c.spec;
    let compute = c.clients.compute();
    let doing = format!("create serverless NEG {}", s.neg_name);
    let what = format!("serverless NEG {}", s.neg_name);
    let existing = found(
        compute
            .get_network_endpoint_group(&s.project, &s.region, &s.neg_name)
            .await,
        &what,
    )?;
    let mut grants = Vec::new();
    if existing.is_none() {
        // A create records the roles the IAM step (which runs after this one) is about to add, so that they are
        // known to be csmrun's even if the provider is killed before the service carries its annotation.
        if !c.existing {
            grants = iam::missing_roles(c).await?;
            let granting = grants.clone();
            c.note(|f| f.granting = granting);
        }
        c.note(|f| f.creating.push(Part::Neg));
    }
    let neg = match existing {
        None => match Insert::neg(c, &bodies::neg(s, &grants))?.send(c).await {
            Ok(op) => {
                c.note(|f| f.neg_operation = Some(op));
                return Ok(Record::Neg { created: true });
            }
            Err(e) if e.is_already_exists() => compute
                .get_network_endpoint_group(&s.project, &s.region, &s.neg_name)
                .await
                .map_err(|e| StepError::api(&doing, &e))?,
            Err(e) => return Err(StepError::api(&doing, &e)),
        },
        Some(n) => n,
    };
    if !c.existing && !is_marked(neg.description.as_deref(), s) {
        return Err(not_ours("serverless NEG", &s.neg_name, "neg_name", s));
    }
    if !c.existing {
        let claimed = names::grants_in(neg.description.as_deref().unwrap_or(""));
        c.note(|f| f.claimed_roles = claimed);
    }
    let target = neg.cloud_run.as_ref().and_then(|r| r.service.as_deref());
    if target != Some(s.name.as_str()) {
        return Err(taken(&s.neg_name, target.unwrap_or(""), &s.name));
    }
    // Adopted after a crash (ours, but this run did not see it being made): rollback removes it too.
    Ok(Record::Neg {
        created: !c.existing,
    })
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

/// Deletes a NEG; one that is already gone is fine.
pub async fn delete(c: &Ctx, name: &str) -> Result<(), StepError> {
    let r = c
        .clients
        .compute()
        .delete_network_endpoint_group(&c.spec.project, &c.spec.region, name)
        .await;
    gone(r, &format!("serverless NEG {name}"))
}

/// Whether the NEG exists and targets the service.
pub async fn is_in_place(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let r = c
        .clients
        .compute()
        .get_network_endpoint_group(&s.project, &s.region, &s.neg_name)
        .await;
    let neg = found(r, &format!("serverless NEG {}", s.neg_name))?;
    Ok(neg.is_some_and(|n| {
        n.cloud_run.as_ref().and_then(|r| r.service.as_deref()) == Some(s.name.as_str())
    }))
}
