//! The invoker policy of the Cloud Run service: `roles/run.invoker` holds exactly `invokers`.
//!
//! csmrun owns the role's members whole (an empty list removes every invoker) and leaves the policy's other roles
//! alone; an etag conflict reads again.

use async_trait::async_trait;

use super::{iam, Ensured, Free, Part, Place};
use crate::service::runner::Failed;
use crate::service::spec::{Spec, RUN_INVOKER};
use crate::service::steps::{Ctx, StepError};

/// The invoker policy part.
pub struct Invokers;

#[async_trait]
impl Part for Invokers {
    /// The members of `roles/run.invoker`.
    type Body = Vec<String>;
    type Input = ();
    /// Nothing to undo: the service it belongs to is undone (deleted) or refreshed from the cloud.
    type Record = ();
    /// The members of `roles/run.invoker`, sorted.
    type Observed = Vec<String>;
    type Clue = ();
    type Found = Vec<String>;

    fn body(s: &Spec, _: &()) -> Vec<String> {
        s.invokers.clone()
    }

    /// The policy belongs to the service, whose name [`super::CloudRun::free`] checks.
    async fn free(_: &Ctx) -> Result<Free, StepError> {
        Ok(Free::Ours)
    }

    async fn ensure(c: &Ctx) -> Ensured<()> {
        ensure(c).await.map_err(Failed::clean)
    }

    async fn undo(_: &Ctx, _: &Ctx, _: &()) -> Result<(), StepError> {
        Ok(())
    }

    /// Goes with the service.
    async fn delete(_: &Ctx, _: &str) -> Result<(), StepError> {
        Ok(())
    }

    async fn observe(c: &Ctx) -> Result<Vec<String>, StepError> {
        read(c).await
    }

    /// The service's invokers: known even when empty (the cloud has no "unset" policy, and a known `[]` plans no
    /// change against either `invokers = []` or no `invokers` in the configuration, see `plan::invokers`).
    async fn discover(
        clients: &gcp::Clients,
        at: &Place,
        _: &(),
    ) -> Result<Option<Vec<String>>, StepError> {
        let path = gcp::run::service_name(&at.project, &at.region, &at.name);
        let mut invokers: Vec<String> = clients
            .run()
            .get_iam_policy(&path)
            .await
            .map_err(|e| StepError::api(&format!("read the IAM policy of {path}"), &e))?
            .members(RUN_INVOKER)
            .into_iter()
            .map(str::to_string)
            .collect();
        invokers.sort();
        invokers.dedup();
        Ok(Some(invokers))
    }
}

/// [`Part::ensure`] of the create graph: a service the Service step has just created (`new_service`) has an empty
/// IAM policy (Cloud Run: "By default, only project owners and editors can invoke services"; no binding is made
/// on create), so with no invokers configured there is nothing to read or write.
pub async fn ensure_after_deploy(c: &Ctx, new_service: bool) -> Result<(), StepError> {
    if new_service && c.spec.invokers.is_empty() {
        return Ok(());
    }
    ensure(c).await
}

/// Makes `roles/run.invoker` on the service exactly `invokers`; etag conflicts re-read and retry after the same
/// jittered pause as the project policy's ([`iam::etag_backoff`]: writers of one policy must not retry in step).
async fn ensure(c: &Ctx) -> Result<(), StepError> {
    let path = c.spec.service_path();
    let run = c.clients.run();
    for attempt in 0..8 {
        let mut policy = run
            .get_iam_policy(&path)
            .await
            .map_err(|e| StepError::api("read the service's IAM policy", &e))?;
        if !policy.set_role_members(RUN_INVOKER, &c.spec.invokers) {
            return Ok(());
        }
        match run.set_iam_policy(&path, &policy).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() => c.sleep(iam::etag_backoff().delay(attempt)).await?,
            Err(e) => {
                return Err(StepError::api(
                    "set the service's invokers (roles/run.invoker)",
                    &e,
                ))
            }
        }
    }
    Err(StepError::conflict(
        format!("IAM policy of Cloud Run service {}", c.spec.name),
        "an etag conflict on every write",
    ))
}

/// The current invokers.
async fn read(c: &Ctx) -> Result<Vec<String>, StepError> {
    let policy = c
        .clients
        .run()
        .get_iam_policy(&c.spec.service_path())
        .await
        .map_err(|e| StepError::api("read the service's IAM policy", &e))?;
    let mut m: Vec<String> = policy
        .members(RUN_INVOKER)
        .into_iter()
        .map(str::to_string)
        .collect();
    m.sort();
    m.dedup();
    Ok(m)
}
