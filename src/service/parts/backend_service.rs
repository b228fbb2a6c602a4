//! The global INTERNAL_SELF_MANAGED backend service whose one backend is the NEG.
//!
//! Compute's PATCH is a JSON merge patch, which cannot remove a setting; csmrun owns `circuit_breaker` and
//! `outlier_detection` whole, so drift is repaired with a full update (PUT) carrying the current fingerprint, and a
//! 412 (someone wrote between our read and write) reads again.

use async_trait::async_trait;
use gcp::compute::{Backend, BackendService, CircuitBreakers, OutlierDetection};

use super::{Ensured, Free, Made, Part, Place};
use crate::service::runner::Failed;
use crate::service::snapshot;
use crate::service::spec::Spec;
use crate::service::steps::insert::{self, Insert};
use crate::service::steps::{
    self, found, gone, is_marked, not_ours, project, Ctx, Node, StepError,
};

/// The backend service part.
pub struct BackendServicePart;

#[async_trait]
impl Part for BackendServicePart {
    type Body = BackendService;
    type Input = ();
    type Record = Made;
    /// The backend service exists as the spec says (ownership markers aside).
    type Observed = bool;
    /// The NEG's name.
    type Clue = str;
    type Found = BackendService;

    fn body(s: &Spec, _: &()) -> BackendService {
        body(s)
    }

    async fn free(c: &Ctx) -> Result<Free, StepError> {
        let s = &c.spec;
        match read(c).await? {
            Some(b) if !is_marked(b.description.as_deref(), s) => Err(not_ours(
                "backend service",
                &s.backend_service_name,
                "backend_service_name",
                s,
            )),
            found => Ok(Free::of(&found)),
        }
    }

    /// Ensures the backend service exists as the spec says (repairing drift with a full update, swapping in a
    /// renamed NEG). A failure after the insert was sent says the backend service may exist.
    async fn ensure(c: &Ctx) -> Ensured<Made> {
        ensure_from(c, None).await
    }

    /// Settles an insert this run sent (its answer may have been lost), then deletes the backend service.
    async fn undo(sent: &Ctx, cleanup: &Ctx, made: &Made) -> Result<(), StepError> {
        if !made.created {
            return Ok(());
        }
        insert::settle(sent, cleanup, Node::BackendService).await?;
        Self::delete(cleanup, &cleanup.spec.backend_service_name).await
    }

    async fn delete(c: &Ctx, name: &str) -> Result<(), StepError> {
        let r = c
            .clients
            .compute()
            .delete_backend_service(&c.spec.project, name)
            .await;
        gone(r, &format!("backend service {name}"))
    }

    async fn observe(c: &Ctx) -> Result<bool, StepError> {
        observed(c, read(c).await?).await
    }

    /// The backend service of the project whose backends include the NEG `neg` (of the service's region).
    async fn discover(
        clients: &gcp::Clients,
        at: &Place,
        neg: &str,
    ) -> Result<Option<BackendService>, StepError> {
        let all = clients
            .compute()
            .list_backend_services(&at.project)
            .await
            .map_err(|e| StepError::api("list backend services", &e))?;
        let suffix = format!("/regions/{}/networkEndpointGroups/{neg}", at.region);
        Ok(all
            .into_iter()
            .find(|b| b.backends.iter().any(|x| x.group.ends_with(&suffix))))
    }
}

/// [`Part::ensure`] after the pre-flight's look at the name (`free`): found absent, the first read is skipped and
/// the insert sent at once (a 409 reads then).
pub async fn ensure_from(c: &Ctx, free: Option<Free>) -> Ensured<Made> {
    let s = &c.spec;
    let compute = c.clients.compute();
    let want = body(s);
    let mut sent = false;
    let failed = |sent: bool, error: StepError| Failed {
        error,
        partial: sent.then_some(Made { created: true }),
    };
    let mut absent = free == Some(Free::Absent);
    for _attempt in 0..5 {
        let read = if std::mem::take(&mut absent) {
            Ok(None)
        } else {
            match compute
                .get_backend_service(&s.project, &s.backend_service_name)
                .await
            {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        };
        let have = match read {
            Ok(Some(b)) => b,
            Ok(None) => {
                let insert = backend_insert(c, &want).map_err(|e| failed(sent, e))?;
                sent = true;
                let done = match insert.send(c).await {
                    Ok(op) => insert.wait(c, op).await,
                    Err(e) => Err(e),
                };
                match done {
                    Ok(_) => return Ok(Made { created: true }),
                    Err(e) if e.is_already_exists() => continue,
                    Err(e) => {
                        return Err(failed(
                            sent,
                            StepError::api(
                                &format!("create backend service {}", s.backend_service_name),
                                &e,
                            ),
                        ))
                    }
                }
            }
            Err(e) => {
                return Err(failed(
                    sent,
                    StepError::api(
                        &format!("read backend service {}", s.backend_service_name),
                        &e,
                    ),
                ))
            }
        };
        if !c.existing && !is_marked(have.description.as_deref(), s) {
            // Found, not made: someone else's, whatever the insert that ran into it.
            return Err(Failed::clean(not_ours(
                "backend service",
                &s.backend_service_name,
                "backend_service_name",
                s,
            )));
        }
        let created = !c.existing;
        if in_place(c, &want, &have).await {
            return Ok(Made { created });
        }
        // A full update, not a merge patch: only it removes a setting the configuration no longer has.
        let update = update_body(&want, &have);
        match compute
            .update_backend_service(&s.project, &s.backend_service_name, &update)
            .await
        {
            Ok(_) => return Ok(Made { created }),
            // Someone changed it between our read and write: read again.
            Err(e) if e.is_conflict() => continue,
            Err(e) => {
                return Err(failed(
                    sent,
                    StepError::api(
                        &format!("update backend service {}", s.backend_service_name),
                        &e,
                    ),
                ))
            }
        }
    }
    Err(failed(
        sent,
        StepError::conflict(
            format!("backend service {}", s.backend_service_name),
            "412 on the fingerprint",
        ),
    ))
}

/// Whether the backend service read for a refresh is as the spec says (ownership markers aside).
async fn observed(c: &Ctx, have: Option<BackendService>) -> Result<bool, StepError> {
    match have {
        Some(b) => Ok(in_place(c, &without_marker(body(&c.spec)), &b).await),
        None => Ok(false),
    }
}

/// [`Part::observe`] from the project's `backendServices.list` in the process's read snapshot
/// (`service::snapshot`); a backend service not listed there is read directly before it is called missing.
pub async fn observe_listed(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let have = snapshot::listed_or_get(
        &c.data.reads,
        &format!("compute.backendServices.list {}", s.project),
        || async { c.clients.compute().list_backend_services(&s.project).await },
        |b| Some(b.name.as_str()),
        &s.backend_service_name,
        || read(c),
    )
    .await?;
    observed(c, have).await
}

/// The spec's backend service, if it exists.
async fn read(c: &Ctx) -> Result<Option<BackendService>, StepError> {
    get(c, &c.spec.backend_service_name).await
}

/// The backend service `name` of the spec's project, if it exists.
pub async fn get(c: &Ctx, name: &str) -> Result<Option<BackendService>, StepError> {
    let r = c
        .clients
        .compute()
        .get_backend_service(&c.spec.project, name)
        .await;
    found(r, &format!("backend service {name}"))
}

/// Whether `b`, a backend service the state names, is this service's: it carries the service's marker, or (imported,
/// so without one) one of its backends is a NEG of the service, `negs` (the one the state names and any left over
/// from a rename), of the spec's region. The project part of the link is not compared: Google writes it as the
/// project's id or its number.
pub fn is_this_services(b: &BackendService, s: &Spec, negs: &[&str]) -> bool {
    is_marked(b.description.as_deref(), s) || uses_neg(b, s, negs)
}

/// Whether one of `b`'s backends is one of `negs`, of the spec's region.
fn uses_neg(b: &BackendService, s: &Spec, negs: &[&str]) -> bool {
    b.backends.iter().any(|x| {
        negs.iter().any(|n| {
            x.group
                .ends_with(&format!("/regions/{}/networkEndpointGroups/{n}", s.region))
        })
    })
}

/// Whether `b`, read as the backend service the state names, says the state's NEG is this service's without the NEG
/// being read: it carries the service's marker and uses that NEG. csmrun puts a NEG into its backend service only
/// after checking that it serves the service, and a NEG cannot be deleted (so replaced) while a backend service
/// uses it.
pub fn vouches_for_neg(b: &BackendService, s: &Spec) -> bool {
    is_marked(b.description.as_deref(), s) && uses_neg(b, s, &[s.neg_name.as_str()])
}

/// The refusal to change or delete `b`, named by the state's `attr`, which is not this service's.
pub fn not_this_services(b: &BackendService, attr: &str, s: &Spec) -> StepError {
    let reason = format!("it does not use serverless NEG {}", s.neg_name);
    steps::not_this_services("backend service", &b.name, attr, &reason, s)
}

/// `backendServices.insert` of `bs` in the spec's project, with a kept `requestId`.
fn backend_insert(c: &Ctx, bs: &BackendService) -> Result<Insert, StepError> {
    let s = &c.spec;
    Insert::new(
        Node::BackendService,
        format!("projects/{}/global/backendServices", s.project),
        "backendServices.insert",
        gcp::compute::backend_service_path(&s.project, &bs.name),
        bs,
    )
}

/// `have` holds everything `want` asks for, and the settings csmrun owns whole hold nothing more.
async fn in_place(c: &Ctx, want: &BackendService, have: &BackendService) -> bool {
    same_owned_settings(want, have) && project::holds_in(c, want, have).await
}

/// Missing ownership markers on imported parts are not drift (PRODUCT §4).
fn without_marker(mut b: BackendService) -> BackendService {
    b.description = None;
    b
}

/// The global INTERNAL_SELF_MANAGED backend service with the NEG as its one backend ([`Part::body`]).
fn body(s: &Spec) -> BackendService {
    let dur = |d: std::time::Duration| gcp::compute::Duration {
        seconds: i64::try_from(d.as_secs()).ok(),
        nanos: Some(d.subsec_nanos() as i32).filter(|n| *n != 0),
    };
    let i32_of = |v: Option<i64>| v.and_then(|n| i32::try_from(n).ok());
    BackendService {
        name: s.backend_service_name.clone(),
        description: Some(s.marker()),
        load_balancing_scheme: Some("INTERNAL_SELF_MANAGED".into()),
        protocol: Some("HTTP".into()),
        backends: vec![Backend {
            group: gcp::compute::canonical_link(&s.neg_path()),
            ..Default::default()
        }],
        circuit_breakers: s.circuit_breaker.map(|c| CircuitBreakers {
            max_requests: i32_of(c[0]),
            max_pending_requests: i32_of(c[1]),
            max_connections: i32_of(c[2]),
            max_retries: i32_of(c[3]),
            ..Default::default()
        }),
        outlier_detection: s.outlier.map(|o| OutlierDetection {
            consecutive_errors: i32_of(o.consecutive_errors),
            interval: o.interval.map(dur),
            base_ejection_time: o.base_ejection_time.map(dur),
            max_ejection_percent: i32_of(o.max_ejection_percent),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The whole object `backendServices.update` (PUT) replaces `have` with: `have` as read, so fields csmrun does not
/// manage stay as they are, with csmrun's fields from `want` and `have`'s fingerprint (Compute refuses an update
/// without the current one). Compute's PATCH is a JSON merge patch: a field it omits is kept, so it cannot remove
/// a circuit breaker, an outlier detection or one of their fields; a full update can.
pub fn update_body(want: &BackendService, have: &BackendService) -> BackendService {
    let mut b = have.clone();
    b.name = want.name.clone();
    b.description = want.description.clone();
    b.load_balancing_scheme = want.load_balancing_scheme.clone();
    b.protocol = want.protocol.clone();
    b.backends = want
        .backends
        .iter()
        .map(|w| {
            have.backends
                .iter()
                .find(|h| same_group(&h.group, &w.group))
                .cloned()
                .unwrap_or_else(|| w.clone())
        })
        .collect();
    b.circuit_breakers = want.circuit_breakers.clone();
    b.outlier_detection = want.outlier_detection.clone();
    b.fingerprint = have.fingerprint.clone();
    // Output only: Google ignores them on input, so they are not sent.
    b.id = None;
    b.self_link = None;
    b.creation_timestamp = None;
    b.used_by.clear();
    b.extra.remove("kind");
    b
}

fn same_group(a: &str, b: &str) -> bool {
    gcp::compute::link_path(a).is_some() && gcp::compute::link_path(a) == gcp::compute::link_path(b)
}

/// Whether the settings csmrun owns whole, `circuit_breaker` and `outlier_detection`, are in `have` exactly as
/// `want` says: a setting found in the cloud that the configuration does not have (added out of band, or left
/// by a merge patch) is drift too. Durations compare by value, an empty object as none.
pub fn same_owned_settings(want: &BackendService, have: &BackendService) -> bool {
    circuit_breakers_key(want.circuit_breakers.as_ref())
        == circuit_breakers_key(have.circuit_breakers.as_ref())
        && outlier_key(want.outlier_detection.as_ref())
            == outlier_key(have.outlier_detection.as_ref())
}

type CircuitBreakersKey = ([Option<i32>; 5], serde_json::Map<String, serde_json::Value>);

fn circuit_breakers_key(c: Option<&CircuitBreakers>) -> Option<CircuitBreakersKey> {
    c.filter(|c| **c != CircuitBreakers::default()).map(|c| {
        (
            [
                c.max_requests,
                c.max_pending_requests,
                c.max_connections,
                c.max_retries,
                c.max_requests_per_connection,
            ],
            c.extra.clone(),
        )
    })
}

type OutlierKey = (
    Option<i32>,
    Option<(i64, i32)>,
    Option<(i64, i32)>,
    Option<i32>,
    serde_json::Map<String, serde_json::Value>,
);

fn outlier_key(o: Option<&OutlierDetection>) -> Option<OutlierKey> {
    let value = |d: &gcp::compute::Duration| (d.seconds.unwrap_or(0), d.nanos.unwrap_or(0));
    o.filter(|o| **o != OutlierDetection::default()).map(|o| {
        (
            o.consecutive_errors,
            o.interval.as_ref().map(value),
            o.base_ejection_time.as_ref().map(value),
            o.max_ejection_percent,
            o.extra.clone(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::validate_table;

    fn spec() -> Spec {
        validate_table::planned(&validate_table::valid()).1
    }

    #[test]
    fn the_backend_service_is_internal_self_managed_with_the_neg_and_no_health_check() {
        let b = body(&spec());
        assert_eq!(
            b.load_balancing_scheme.as_deref(),
            Some("INTERNAL_SELF_MANAGED")
        );
        assert_eq!(b.protocol.as_deref(), Some("HTTP"));
        assert!(b.health_checks.is_empty());
        assert_eq!(b.backends.len(), 1);
        assert!(b.backends[0]
            .group
            .ends_with("/projects/p/regions/r/networkEndpointGroups/target-neg"));
        assert_eq!(b.circuit_breakers.and_then(|c| c.max_requests), Some(1000));
    }

    #[test]
    fn the_backend_service_update_carries_csmrun_fields_whole_and_keeps_the_rest() {
        let s = spec();
        let mut want = body(&s);
        want.circuit_breakers = None;
        if let Some(o) = want.outlier_detection.as_mut() {
            o.interval = None;
        }
        let mut have = body(&spec());
        have.fingerprint = Some("fp==".into());
        have.id = Some("42".into());
        have.timeout_sec = Some(30);
        have.backends[0].balancing_mode = Some("UTILIZATION".into());
        have.extra.insert(
            "securitySettings".into(),
            serde_json::json!({"subjectAltNames": ["x"]}),
        );
        let put = update_body(&want, &have);
        assert_eq!(
            put.circuit_breakers, None,
            "a removed circuit breaker is not sent"
        );
        assert_eq!(
            put.outlier_detection
                .as_ref()
                .and_then(|o| o.interval.as_ref()),
            None
        );
        assert_eq!(put.fingerprint.as_deref(), Some("fp=="));
        assert_eq!(put.id, None);
        assert_eq!(
            put.timeout_sec,
            Some(30),
            "fields csmrun does not manage are kept"
        );
        assert!(put.extra.contains_key("securitySettings"));
        assert_eq!(
            put.backends[0].balancing_mode.as_deref(),
            Some("UTILIZATION")
        );
        assert!(same_owned_settings(&want, &put));
        assert!(!same_owned_settings(&want, &have));
    }

    #[test]
    fn owned_settings_found_in_the_cloud_but_not_configured_are_drift() {
        let mut want = body(&spec());
        want.circuit_breakers = None;
        let mut have = want.clone();
        assert!(same_owned_settings(&want, &have));
        have.circuit_breakers = Some(CircuitBreakers {
            max_connections: Some(7),
            ..Default::default()
        });
        assert!(
            !same_owned_settings(&want, &have),
            "a circuit breaker added out of band"
        );
        have.circuit_breakers = Some(CircuitBreakers::default());
        assert!(same_owned_settings(&want, &have), "an empty one is none");
        let mut more = want.clone();
        if let Some(o) = more.outlier_detection.as_mut() {
            o.extra
                .insert("enforcingSuccessRate".into(), serde_json::json!(100));
        }
        assert!(
            !same_owned_settings(&want, &more),
            "an outlier field csmrun never set"
        );
        let mut respelled = want.clone();
        if let Some(d) = respelled
            .outlier_detection
            .as_mut()
            .and_then(|o| o.interval.as_mut())
        {
            d.nanos = Some(d.nanos.unwrap_or(0));
        }
        assert!(
            same_owned_settings(&want, &respelled),
            "nanos 0 is no nanos"
        );
    }
}
