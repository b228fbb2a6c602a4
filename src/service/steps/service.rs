//! The Cloud Run service: deploy, wait until Ready, diagnose mesh failures, redeploy or recreate; and its invokers.

use std::time::Duration;

use gcp::run::{PatchOptions, Service};

use super::{not_ours, Ctx, Record, StepError};
use crate::service::bodies;
use crate::service::diagnose::{self, Attempts, Checks, Diagnosis, Failure, Remedy};
use crate::service::explain::Explanation;
use crate::service::names;
use crate::service::runner::Failed;
use crate::service::spec::RUN_INVOKER;

/// How long to wait between readiness polls while the service reconciles.
const POLL: Duration = Duration::from_secs(2);
/// Shortest first pause between redeploys. A new revision takes Cloud Run seconds to start, and every redeploy
/// or recreate is a write against the project's Cloud Run Admin API per-region write quota: with a zero
/// `iam_propagation_wait` (or a grant someone else made a moment ago) a 100 ms pause once sent 117 writes in
/// 41 s. Seconds, doubling, keep a sidecar failure to a handful of writes a minute.
const MIN_REDEPLOY_PAUSE: Duration = Duration::from_secs(5);
/// The pauses grow to at least this much.
const MIN_REDEPLOY_CAP: Duration = Duration::from_secs(60);

/// Pauses between redeploys of a failed service: a sixth of `iam_propagation_wait`, doubling up to four thirds
/// of it (the default 90 s gives 15, 30, 60, 120, 120 s ...), never shorter than 5 s first and 60 s at the cap.
/// What a redeploy waits for is the same IAM propagation, so the schedule scales with that setting.
pub fn redeploy_pauses(iam_propagation_wait: Duration) -> impl Iterator<Item = Duration> {
    let first = (iam_propagation_wait / 6).max(MIN_REDEPLOY_PAUSE);
    let cap = (iam_propagation_wait.saturating_mul(4) / 3)
        .max(MIN_REDEPLOY_CAP)
        .max(first);
    std::iter::successors(Some(first), move |d| Some(d.saturating_mul(2).min(cap)))
}

/// The service carries csmrun's label or this service's marker.
pub fn is_ours(svc: &Service, c: &Ctx) -> bool {
    svc.labels.get(names::MANAGED_BY_KEY).map(String::as_str) == Some(names::MANAGED_BY_VALUE)
        || super::is_marked(svc.description.as_deref(), &c.spec)
}

/// Reads the service; `None` when it does not exist.
pub async fn get(c: &Ctx) -> Result<Option<Service>, StepError> {
    match c.clients.run().get_service(&c.spec.service_path()).await {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(StepError::api(
            &format!("read Cloud Run service {}", c.spec.name),
            &e,
        )),
    }
}

/// Deploys (creating or patching) and returns the operation's error, if the operation failed.
async fn deploy(
    c: &Ctx,
    exists: bool,
    force_new_revision: bool,
) -> Result<Option<gcp::Error>, StepError> {
    let s = &c.spec;
    let run = c.clients.run();
    let body = bodies::service(s, &c.facts().iam_owned);
    let result = if exists {
        let opts = PatchOptions {
            allow_missing: true,
            force_new_revision,
            ..Default::default()
        };
        run.patch_service(&s.service_path(), &body, &opts).await
    } else {
        // A create that fails after Google accepted it (its operation's wait failed) has made the service: only a
        // refusal leaves nothing for rollback to delete (see `ensure`).
        let created = super::sent(
            c,
            super::Part::Service,
            run.create_service(
                &gcp::run::location_name(&s.project, &s.region),
                &s.name,
                &body,
            ),
        )
        .await;
        match created {
            // A crashed earlier run created it: upsert instead.
            Err(e) if e.is_already_exists() => {
                run.patch_service(
                    &s.service_path(),
                    &body,
                    &PatchOptions {
                        allow_missing: true,
                        ..Default::default()
                    },
                )
                .await
            }
            other => other,
        }
    };
    match result {
        Ok(_) => Ok(None),
        Err(e) if e.is_operation_failure() => Ok(Some(e)),
        Err(e) => Err(StepError::api(
            &format!("deploy Cloud Run service {}", s.name),
            &e,
        )),
    }
}

/// Polls until the service is Ready (`Ok(None)`) or failed (`Ok(Some(failure))`).
async fn settle(c: &Ctx, op_error: Option<gcp::Error>) -> Result<Option<Failure>, StepError> {
    loop {
        let svc = get(c).await?;
        let Some(svc) = svc else {
            let message = op_error
                .as_ref()
                .map(|e| e.message().to_string())
                .unwrap_or_else(|| "the service disappeared".into());
            return Ok(Some(Failure {
                message,
                code: op_error.as_ref().and_then(rpc_code),
                ..Default::default()
            }));
        };
        if svc.is_ready() {
            return Ok(None);
        }
        if svc.has_failed() || (op_error.is_some() && svc.reconciling != Some(true)) {
            return Ok(Some(failure_of(c, &svc, op_error.as_ref()).await));
        }
        c.sleep(POLL).await?;
    }
}

fn rpc_code(e: &gcp::Error) -> Option<i32> {
    match e.status()? {
        "FAILED_PRECONDITION" => Some(9),
        "INVALID_ARGUMENT" => Some(3),
        "INTERNAL" => Some(13),
        "DEADLINE_EXCEEDED" => Some(4),
        _ => None,
    }
}

async fn failure_of(c: &Ctx, svc: &Service, op_error: Option<&gcp::Error>) -> Failure {
    let message = op_error
        .map(|e| e.message().to_string())
        .or_else(|| {
            svc.terminal_condition
                .as_ref()
                .and_then(|t| t.message.clone())
        })
        .unwrap_or_else(|| "the service did not become ready".into());
    let mut f = Failure {
        message,
        code: op_error.and_then(rpc_code),
        ..Default::default()
    };
    if let Some(rev) = &svc.latest_created_revision {
        let full = if rev.contains('/') {
            rev.clone()
        } else {
            format!("{}/revisions/{rev}", c.spec.service_path())
        };
        f.revision = Some(rev.rsplit('/').next().unwrap_or(rev).to_string());
        if let Ok(r) = c.clients.run().get_revision(&full).await {
            f.revision_messages = r
                .conditions
                .iter()
                .filter_map(|k| k.message.clone())
                .collect();
            f.log_uri = r.log_uri;
        }
    }
    f
}

fn checks(c: &Ctx, redeploys: u32) -> Checks {
    let facts = c.facts();
    Checks {
        project: c.spec.project.clone(),
        region: c.spec.region.clone(),
        service: c.spec.name.clone(),
        mesh: c
            .spec
            .mesh
            .rsplit('/')
            .next()
            .unwrap_or(&c.spec.mesh)
            .to_string(),
        has_mesh: true,
        mesh_age: facts
            .mesh_created
            .and_then(|t| (chrono::Utc::now() - t).to_std().ok()),
        mesh_settle_time: c.data.mesh_settle_time,
        subnet_pga: facts.subnet_pga,
        subnet: c.spec.subnetwork.clone(),
        egress_all_traffic: true,
        grant: facts.grant(),
        service_account: c.spec.service_account.clone(),
        redeploys,
    }
}

/// The diagnosis as the step's error, with what was tried and, when a deadline or Ctrl-C cut the retries short,
/// what was interrupted: the mesh diagnosis must survive the timeout, not give way to it.
fn diag_error(
    d: &Diagnosis,
    attempts: &Attempts,
    interrupted: Option<(&StepError, &str)>,
) -> StepError {
    let then = interrupted.map(|(e, doing)| {
        if e.is_cancelled() {
            format!("the apply was interrupted (Ctrl-C) while csmrun was {doing}.")
        } else {
            format!(
                "the resource's timeout ran out while csmrun was {doing}: raise `timeouts` to give the retries \
                 longer."
            )
        }
    });
    StepError::refused(d.explanation(attempts, then))
}

/// Deploys the service and waits until it is Ready, redeploying or recreating while the diagnosis says that
/// time will fix it (IAM propagation, young mesh), until the timeout.
pub async fn ensure(c: &Ctx) -> Result<Record, Failed<Record, StepError>> {
    let s = &c.spec;
    let existing = get(c).await.map_err(Failed::clean)?;
    if let Some(svc) = &existing {
        if !c.existing && !is_ours(svc, c) {
            return Err(Failed::clean(not_ours(
                "Cloud Run service",
                &s.name,
                "name",
                s,
            )));
        }
    }
    // From here on the service exists (or may): a failure leaves something for rollback to remove.
    let record = Record::Service {
        created: !c.existing,
    };
    let partial = |error: StepError| Failed {
        error,
        partial: Some(record.clone()),
    };
    let mut exists = existing.is_some();
    // A service that is not Ready gets a new revision even if its template did not change.
    let mut force = existing.as_ref().is_some_and(|s| s.has_failed());
    let mut redeploys = 0u32;
    let mut recreated = false;
    let mut pauses = redeploy_pauses(c.data.iam_propagation_wait);
    let started = tokio::time::Instant::now();
    let mut first_failure: Option<tokio::time::Instant> = None;
    let mut attempts = Attempts::default();
    // The latest diagnosis: once there is one, an interrupted retry reports it, then what was interrupted.
    let mut last: Option<Diagnosis> = None;
    let explain =
        |e: StepError, doing: &str, last: &Option<Diagnosis>, attempts: &Attempts| match last {
            Some(d) if e.is_interrupted() => {
                let mut attempts = *attempts;
                attempts.elapsed = started.elapsed();
                diag_error(d, &attempts, Some((&e, doing)))
            }
            _ => e,
        };
    loop {
        attempts.deploys = attempts.deploys.saturating_add(1);
        let op_error = match deploy(c, exists, force).await {
            Ok(e) => e,
            // A refused create made nothing; one cut short, or whose operation could not be followed, may have
            // made the service: rollback tries to delete it.
            Err(e)
                if !exists
                    && !e.is_interrupted()
                    && !c.facts().creating.contains(&super::Part::Service) =>
            {
                return Err(Failed::clean(e))
            }
            Err(e) => return Err(partial(explain(e, "deploying again", &last, &attempts))),
        };
        exists = true;
        let failure = match settle(c, op_error).await {
            Ok(None) => {
                // Another writer may have released a grant this service found in place at its IAM step.
                super::iam::recheck(c)
                    .await
                    .map_err(|e| partial(explain(e, "checking the grants", &last, &attempts)))?;
                return Ok(record);
            }
            Ok(Some(f)) => f,
            Err(e) => {
                let doing = "waiting for the new revision to become ready";
                return Err(partial(explain(e, doing, &last, &attempts)));
            }
        };
        // A sidecar that cannot start may lack a grant another writer removed since the IAM step: granted again
        // here, it counts as new in the diagnosis below, which then redeploys once it has propagated.
        super::iam::recheck(c)
            .await
            .map_err(|e| partial(explain(e, "checking the grants", &last, &attempts)))?;
        let mut d = diagnose::diagnose(failure, &checks(c, redeploys));
        if d.remedy == Remedy::Recreate && recreated && d.unexplained {
            d.remedy = Remedy::Fail;
        }
        let failing_since = *first_failure.get_or_insert_with(tokio::time::Instant::now);
        // A grant "from before this run" may be seconds old: made by a run that crashed before Terraform saved
        // its state, or by another writer. Give it one propagation window before calling the cause unknown.
        if d.remedy == Remedy::Fail
            && d.unexplained
            && matches!(c.facts().grant(), diagnose::Grant::Existing)
            && failing_since.elapsed() < c.data.iam_propagation_wait
        {
            d.remedy = Remedy::Redeploy;
        }
        tracing::warn!(service = s.name, cause = ?d.cause, remedy = ?d.remedy, deploys = attempts.deploys,
            recreates = attempts.recreates, "Cloud Run deploy failed");
        attempts.elapsed = started.elapsed();
        if d.remedy == Remedy::Fail {
            return Err(partial(diag_error(&d, &attempts, None)));
        }
        let remedy = d.remedy;
        last = Some(d);
        let pause = pauses.next().unwrap_or(MIN_REDEPLOY_PAUSE);
        // Pause before the next write: a recreate deletes at once otherwise, and its create follows the delete.
        c.sleep(pause).await.map_err(|e| {
            partial(explain(
                e,
                "pausing before the next deploy",
                &last,
                &attempts,
            ))
        })?;
        match remedy {
            Remedy::Redeploy => {
                redeploys += 1;
                force = true;
            }
            Remedy::Recreate => {
                delete(c).await.map_err(|e| {
                    partial(explain(
                        e,
                        "deleting the service to recreate it",
                        &last,
                        &attempts,
                    ))
                })?;
                attempts.recreates = attempts.recreates.saturating_add(1);
                exists = false;
                force = false;
                redeploys = 0;
                recreated = true;
            }
            Remedy::Fail => {}
        }
        if tokio::time::Instant::now() >= c.deadline {
            let e = StepError::timed_out("about to deploy again");
            return Err(partial(explain(
                e,
                "about to deploy again",
                &last,
                &attempts,
            )));
        }
    }
}

/// Makes `roles/run.invoker` on the service exactly `invokers`; etag conflicts re-read and retry.
pub async fn ensure_invokers(c: &Ctx) -> Result<(), StepError> {
    let path = c.spec.service_path();
    let run = c.clients.run();
    for _ in 0..8 {
        let mut policy = run
            .get_iam_policy(&path)
            .await
            .map_err(|e| StepError::api("read the service's IAM policy", &e))?;
        if !policy.set_role_members(RUN_INVOKER, &c.spec.invokers) {
            return Ok(());
        }
        match run.set_iam_policy(&path, &policy).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() => c.sleep(Duration::from_millis(500)).await?,
            Err(e) => {
                return Err(StepError::api(
                    "set the service's invokers (roles/run.invoker)",
                    &e,
                ))
            }
        }
    }
    Err(StepError::refused(
        Explanation::new(
            format!("IAM policy of Cloud Run service {}", c.spec.name),
            "keeps changing",
        )
        .why("another writer changed the service's IAM policy between every read and write of csmrun's")
        .fix("apply again once the other writer has stopped"),
    ))
}

/// The current invokers.
pub async fn invokers(c: &Ctx) -> Result<Vec<String>, StepError> {
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

/// Deletes the service; one that is already gone is fine.
pub async fn delete(c: &Ctx) -> Result<(), StepError> {
    match c.clients.run().delete_service(&c.spec.service_path()).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(StepError::api(
            &format!("delete Cloud Run service {}", c.spec.name),
            &e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(v: &[f64]) -> Vec<Duration> {
        v.iter().map(|s| Duration::from_secs_f64(*s)).collect()
    }

    #[test]
    fn redeploy_pauses_keep_the_production_schedule_for_the_default_wait() {
        let got: Vec<Duration> = redeploy_pauses(Duration::from_secs(90)).take(6).collect();
        assert_eq!(got, secs(&[15.0, 30.0, 60.0, 120.0, 120.0, 120.0]));
    }

    #[test]
    fn redeploy_pauses_stay_seconds_apart_with_a_short_iam_propagation_wait() {
        let got: Vec<Duration> = redeploy_pauses(Duration::from_millis(600))
            .take(6)
            .collect();
        assert_eq!(got, secs(&[5.0, 10.0, 20.0, 40.0, 60.0, 60.0]));
        let zero: Vec<Duration> = redeploy_pauses(Duration::ZERO).take(2).collect();
        assert_eq!(zero, secs(&[5.0, 10.0]));
    }

    #[test]
    fn redeploy_pauses_do_not_overflow_on_a_huge_wait() {
        let got: Vec<Duration> = redeploy_pauses(Duration::MAX).take(3).collect();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|d| *d > Duration::from_secs(1)));
    }
}
