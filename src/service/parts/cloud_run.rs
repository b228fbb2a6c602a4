//! The Cloud Run service: deploy, wait until Ready, diagnose mesh failures, redeploy or recreate.
//!
//! Its invoker policy is a part of its own (`super::invokers`). Refresh drops the whole resource when this service
//! is gone (see `state`), so it is deleted last on destroy, after the grants it shows are released.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use gcp::run::{
    Container, ContainerPort, EnvVar, NetworkInterface, PatchOptions, ResourceRequirements,
    RevisionScaling, RevisionTemplate, Service, ServiceMesh, VpcAccess,
};

use super::{Ensured, Free, Made, Part, Place};
use crate::service::diagnose::{self, Attempts, Checks, Diagnosis, Failure, Remedy};
use crate::service::names;
use crate::service::parts::iam;
use crate::service::runner::Failed;
use crate::service::snapshot;
use crate::service::spec::Spec;
use crate::service::steps::insert::is_refusal;
use crate::service::steps::{is_marked, not_ours, Ctx, StepError};

/// The Cloud Run service part.
pub struct CloudRun;

#[async_trait]
impl Part for CloudRun {
    type Body = Service;
    /// The project roles csmrun granted for the service's account (shown as an annotation).
    type Input = [String];
    type Record = Made;
    /// The service as the cloud has it; `None` when it is gone (then the whole resource is).
    type Observed = Option<Service>;
    type Clue = ();
    type Found = Service;

    fn body(s: &Spec, owned_roles: &[String]) -> Service {
        body(s, owned_roles)
    }

    async fn free(c: &Ctx) -> Result<Free, StepError> {
        match get(c).await? {
            Some(svc) if !is_ours(&svc, c) => {
                Err(not_ours("Cloud Run service", &c.spec.name, "name", &c.spec))
            }
            found => Ok(Free::of(&found)),
        }
    }

    async fn ensure(c: &Ctx) -> Ensured<Made> {
        ensure(c).await
    }

    /// Releases the grants the create owns while the service still shows its claim, as a destroy does
    /// (`iam::release`; the IAM step's own undo, later, releases again after the delete), then deletes it.
    async fn undo(sent: &Ctx, cleanup: &Ctx, made: &Made) -> Result<(), StepError> {
        if !made.created {
            return Ok(());
        }
        let roles = sent.grants.roles_to_release(&sent.grants.added());
        iam::release(cleanup, &roles).await?;
        delete(cleanup).await
    }

    async fn delete(c: &Ctx, name: &str) -> Result<(), StepError> {
        let path = gcp::run::service_name(&c.spec.project, &c.spec.region, name);
        match c.clients.run().delete_service(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(StepError::api(
                &format!("delete Cloud Run service {name}"),
                &e,
            )),
        }
    }

    async fn observe(c: &Ctx) -> Result<Option<Service>, StepError> {
        get(c).await
    }

    /// The service of the import id.
    async fn discover(
        clients: &gcp::Clients,
        at: &Place,
        _: &(),
    ) -> Result<Option<Service>, StepError> {
        let path = gcp::run::service_name(&at.project, &at.region, &at.name);
        match clients.run().get_service(&path).await {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(StepError::api(
                &format!("read Cloud Run service {path}"),
                &e,
            )),
        }
    }
}

/// The Cloud Run v2 service; `owned_roles` are the project roles csmrun granted for its account.
fn body(s: &Spec, owned_roles: &[String]) -> Service {
    let container = Container {
        image: s.image.clone(),
        env: s
            .env
            .iter()
            .map(|(k, v)| EnvVar {
                name: k.clone(),
                value: Some(v.clone()),
                ..Default::default()
            })
            .collect(),
        resources: Some(ResourceRequirements {
            limits: BTreeMap::from([
                ("cpu".to_string(), s.cpu.clone()),
                ("memory".to_string(), s.memory.clone()),
            ]),
            // Below one CPU Cloud Run requires request-based billing (CPU only during requests), and with
            // resources given the API takes CPU as always allocated unless told (run.v2.json, `cpuIdle`: "if
            // ResourceRequirements is set, the caller must explicitly set this field to true").
            cpu_idle: crate::service::validate::parse_cpu(&s.cpu)
                .is_ok_and(|c| c < 1.0)
                .then_some(true),
            ..Default::default()
        }),
        ports: vec![ContainerPort {
            name: Some("http1".into()),
            container_port: i32::try_from(s.port).ok(),
        }],
        ..Default::default()
    };
    Service {
        description: Some(s.marker()),
        labels: s.labels.clone(),
        annotations: if owned_roles.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(
                crate::service::parts::iam::OWNED_ROLES_ANNOTATION.to_string(),
                owned_roles.join(","),
            )])
        },
        ingress: Some(s.ingress.clone()),
        // serviceMesh is a preview feature; the API refuses it under GA.
        launch_stage: Some("BETA".into()),
        template: Some(RevisionTemplate {
            service_account: Some(s.service_account.clone()),
            containers: vec![container],
            scaling: Some(RevisionScaling {
                min_instance_count: i32::try_from(s.min_instances).ok(),
                max_instance_count: i32::try_from(s.max_instances).ok(),
                ..Default::default()
            }),
            vpc_access: Some(VpcAccess {
                egress: Some("ALL_TRAFFIC".into()),
                network_interfaces: vec![NetworkInterface {
                    network: Some(format!(
                        "projects/{}/global/networks/{}",
                        s.network_project, s.network
                    )),
                    subnetwork: Some(format!(
                        "projects/{}/regions/{}/subnetworks/{}",
                        s.subnet_project, s.subnet_region, s.subnetwork
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            service_mesh: Some(ServiceMesh {
                mesh: Some(s.mesh.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

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
    carries_markers(svc, &c.spec)
}

fn carries_markers(svc: &Service, s: &Spec) -> bool {
    svc.labels.get(names::MANAGED_BY_KEY).map(String::as_str) == Some(names::MANAGED_BY_VALUE)
        || is_marked(svc.description.as_deref(), s)
}

/// Whether `svc`, the service the state names, is this service's: the one csmrun created or imported, by the `uid`
/// recorded then (run.v2: a UUID4, "guaranteed to remain unchanged until the resource is deleted"). The marker
/// names the service by its name, so it cannot tell a state pointed at another csmrun service: alone it is the test
/// only for a state that recorded no uid (written by an earlier version, or by a create that did not finish).
///
/// Another uid is still this service when csmrun recreated it after the uid was recorded (a recreate the state did
/// not see: the provider killed during an update's deploy, or a failed update whose refresh failed too): it carries
/// the service's marker, and `neg_serves`, the NEG the state names serves it. A state pointed at another csmrun
/// service fails that second test, as the NEG csmrun made for this service serves this one.
pub fn is_this_services(svc: &Service, s: &Spec, uid: Option<&str>, neg_serves: bool) -> bool {
    match uid {
        Some(uid) if svc.uid.as_deref() == Some(uid) => true,
        Some(_) => is_marked(svc.description.as_deref(), s) && neg_serves,
        None => carries_markers(svc, s),
    }
}

/// The refusal to change or delete the service the state's `name` names, which is not this service's.
pub fn not_this_services(s: &Spec, uid: Option<&str>) -> StepError {
    let reason = match uid {
        Some(_) => "it is another service than the one csmrun created or imported: its uid differs",
        None => "it carries no csmrun label or marker",
    };
    crate::service::steps::not_this_services("Cloud Run service", &s.name, "name", reason, s)
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

/// [`get`] for a refresh: the service from its region's `services.list` in the process's read snapshot
/// (`service::snapshot`), else (not listed, or no snapshot) [`get`], which decides absence: a service being deleted
/// is left out of the list but still answered by a GET.
pub async fn get_listed(c: &Ctx) -> Result<Option<Service>, StepError> {
    let s = &c.spec;
    let parent = gcp::run::location_name(&s.project, &s.region);
    snapshot::listed_or_get(
        &c.data.reads,
        &format!("run.services.list {parent}"),
        || async { c.clients.run().list_services(&parent).await },
        |x| x.name.as_deref(),
        &s.name,
        || get(c),
    )
    .await
}

/// What one deploy's operation answered: its error if it failed, else the service it finished with.
struct Deploy {
    op_error: Option<gcp::Error>,
    answer: Option<Service>,
    /// This call's create made the service (not a 409 turned into an upsert, not a patch).
    created_now: bool,
}

/// Deploys (creating or patching) and returns what the operation answered.
///
/// `sent` says whether a create may have made the service (sent and not refused), also when it then failed. A
/// create answered 409 (the pre-flight found the name free, and someone made it since) reads the service and
/// upserts it only if it is ours.
async fn deploy(
    c: &Ctx,
    exists: bool,
    force_new_revision: bool,
    sent: &mut bool,
) -> Result<Deploy, StepError> {
    let s = &c.spec;
    let run = c.clients.run();
    let body = body(s, &c.grants.owned());
    let mut created_now = false;
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
        let created = run
            .create_service(
                &gcp::run::location_name(&s.project, &s.region),
                &s.name,
                &body,
            )
            .await;
        *sent = !created.as_ref().is_err_and(is_refusal);
        match created {
            // A crashed earlier run created it (or another writer did since the pre-flight): upsert it if it is
            // ours.
            Err(e) if e.is_already_exists() => {
                if let Some(svc) = get(c).await? {
                    if !c.existing && !is_ours(&svc, c) {
                        *sent = false;
                        return Err(not_ours("Cloud Run service", &s.name, "name", s));
                    }
                }
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
            other => {
                created_now = other.is_ok();
                other
            }
        }
    };
    match result {
        Ok(svc) => Ok(Deploy {
            op_error: None,
            answer: Some(svc),
            created_now,
        }),
        Err(e) if e.is_operation_failure() => Ok(Deploy {
            op_error: Some(e),
            answer: None,
            created_now: false,
        }),
        Err(e) => Err(StepError::api(
            &format!("deploy Cloud Run service {}", s.name),
            &e,
        )),
    }
}

/// Polls until the service is Ready (`Ok(Ok(service))`) or failed (`Ok(Err(failure))`). A deploy whose operation
/// answered a Ready service needs no read: the operation's `response` is the Service (run.v2.json,
/// `GoogleLongrunningOperation.response`; `services.create` "returns google.longrunning.Operation" whose response
/// type is `Service`), as it finished.
async fn settle(
    c: &Ctx,
    op_error: Option<gcp::Error>,
    answer: Option<Service>,
) -> Result<Result<Service, Failure>, StepError> {
    if let Some(svc) = answer.filter(|s| op_error.is_none() && s.is_ready()) {
        return Ok(Ok(svc));
    }
    loop {
        let svc = get(c).await?;
        let Some(svc) = svc else {
            let message = op_error
                .as_ref()
                .map(|e| e.message().to_string())
                .unwrap_or_else(|| "the service disappeared".into());
            return Ok(Err(Failure {
                message,
                code: op_error.as_ref().and_then(rpc_code),
                ..Default::default()
            }));
        };
        if svc.is_ready() {
            return Ok(Ok(svc));
        }
        if svc.has_failed() || (op_error.is_some() && svc.reconciling != Some(true)) {
            return Ok(Err(failure_of(c, &svc, op_error.as_ref()).await));
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
        mesh_age: c
            .edges
            .mesh_created
            .get()
            .and_then(|t| (chrono::Utc::now() - t).to_std().ok()),
        mesh_settle_time: c.data.mesh_settle_time,
        subnet_pga: c.edges.subnet_pga.get(),
        subnet: c.spec.subnetwork.clone(),
        egress_all_traffic: true,
        grant: c.grants.grant(),
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
pub async fn ensure(c: &Ctx) -> Ensured<Made> {
    ensure_from(c, None).await.map(|(made, _)| made)
}

/// The service as the create step left it, for the steps and the state after it.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The Ready service as last answered (by the deploy's operation or a read).
    pub service: Service,
    /// The last deploy created it (a new service: its IAM policy is empty).
    pub created_now: bool,
}

/// [`ensure`] after the pre-flight's look at the name (`free`): found absent, the service is created without
/// reading it first; it also returns the Ready service.
pub async fn ensure_from(
    c: &Ctx,
    free: Option<Free>,
) -> Result<(Made, Deployed), Failed<Made, StepError>> {
    let s = &c.spec;
    let existing = if free == Some(Free::Absent) {
        None
    } else {
        get(c).await.map_err(Failed::clean)?
    };
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
    let record = Made {
        created: !c.existing,
    };
    let partial = |error: StepError| Failed {
        error,
        partial: Some(record),
    };
    let mut sent = false;
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
        let deployed = match deploy(c, exists, force, &mut sent).await {
            Ok(d) => d,
            // A refused create made nothing; one cut short, or whose operation could not be followed, may have
            // made the service: rollback tries to delete it.
            Err(e) if !exists && !e.is_interrupted() && !sent => return Err(Failed::clean(e)),
            Err(e) => return Err(partial(explain(e, "deploying again", &last, &attempts))),
        };
        exists = true;
        let failure = match settle(c, deployed.op_error, deployed.answer).await {
            Ok(Ok(service)) => {
                // Another writer may have released a grant this service found in place at its IAM step.
                iam::recheck(c)
                    .await
                    .map_err(|e| partial(explain(e, "checking the grants", &last, &attempts)))?;
                return Ok((
                    record,
                    Deployed {
                        service,
                        created_now: deployed.created_now,
                    },
                ));
            }
            Ok(Err(f)) => f,
            Err(e) => {
                let doing = "waiting for the new revision to become ready";
                return Err(partial(explain(e, doing, &last, &attempts)));
            }
        };
        // A sidecar that cannot start may lack a grant another writer removed since the IAM step: granted again
        // here, it counts as new in the diagnosis below, which then redeploys once it has propagated.
        iam::recheck(c)
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
            && matches!(c.grants.grant(), diagnose::Grant::Existing)
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
    use crate::service::validate_table;

    fn spec() -> Spec {
        validate_table::planned(&validate_table::valid()).1
    }

    #[test]
    fn the_service_joins_the_mesh_with_all_traffic_egress_and_carries_the_markers() {
        let s = spec();
        let svc = body(&s, &["roles/trafficdirector.client".to_string()]);
        let t = svc.template.unwrap();
        assert_eq!(
            t.service_mesh.unwrap().mesh.as_deref(),
            Some("projects/p/locations/global/meshes/meshapps")
        );
        let vpc = t.vpc_access.unwrap();
        assert_eq!(vpc.egress.as_deref(), Some("ALL_TRAFFIC"));
        assert_eq!(
            vpc.network_interfaces[0].subnetwork.as_deref(),
            Some("projects/p/regions/r/subnetworks/mesh-subnet")
        );
        assert_eq!(
            svc.labels.get("managed-by").map(String::as_str),
            Some("csmrun")
        );
        assert_eq!(svc.description.as_deref(), Some("csmrun:p/r/target"));
        assert_eq!(
            svc.ingress.as_deref(),
            Some("INGRESS_TRAFFIC_INTERNAL_ONLY")
        );
        assert_eq!(
            svc.annotations
                .get(crate::service::parts::iam::OWNED_ROLES_ANNOTATION)
                .map(String::as_str),
            Some("roles/trafficdirector.client")
        );
    }

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
