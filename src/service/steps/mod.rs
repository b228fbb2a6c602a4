//! The parts of a `csmrun_service`, each with ensure / undo / read, and their adapter to the runner's `Step`.

pub mod insert;
pub mod preflight;
pub mod project;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::explain::Explanation;
use super::parts::{self, dns, iam, neg, BackendServicePart, CloudRun, Made, Part as _, Route};
use super::runner::{CancelledError, CreateSteps, DynStep, Failed, Graph, Step};
use super::spec::Spec;
use super::waits;
use crate::config::ProviderData;

/// How a step failed: refused (by Google or by a check; trying again will not help by itself), or cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Refused,
    /// Ctrl-C, or a failed sibling step of the create graph.
    Cancelled,
    /// The resource's timeout ran out.
    TimedOut,
    /// Another writer changed the object between csmrun's read and write, more often than the retries allow
    /// (etag/fingerprint conflicts, 409 `ABORTED`, 412): nothing is wrong with the configuration, and applying again
    /// once the other writer has stopped succeeds.
    Conflict,
}

/// An error of a step: its kind, for the runner and the retry loops, and its explanation, for the user (boxed:
/// errors travel in every `Result` of every step, and the explanation is a dozen strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub kind: ErrorKind,
    pub explanation: Box<Explanation>,
}

impl StepError {
    /// A refusal, explained.
    pub fn refused(explanation: Explanation) -> Self {
        StepError {
            kind: ErrorKind::Refused,
            explanation: Box::new(explanation),
        }
    }

    /// True when the step was cut short (cancelled or timed out) rather than refused or outraced.
    pub fn is_interrupted(&self) -> bool {
        matches!(self.kind, ErrorKind::Cancelled | ErrorKind::TimedOut)
    }

    /// True when another writer kept changing the object (see [`ErrorKind::Conflict`]).
    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Conflict
    }

    /// Another writer kept changing `what` between csmrun's reads and writes (`how`: what answered so).
    pub fn conflict(what: impl Into<String>, how: &str) -> Self {
        StepError {
            kind: ErrorKind::Conflict,
            explanation: Box::new(
                Explanation::new(what, "keeps changing")
                    .why(format!(
                        "another writer changed it between every read and write of csmrun's ({how})"
                    ))
                    .fix("apply again once the other writer has stopped"),
            ),
        }
    }

    /// True when Ctrl-C (or a failed sibling step) cut the step short.
    pub fn is_cancelled(&self) -> bool {
        self.kind == ErrorKind::Cancelled
    }

    /// The resource's timeout ran out while `doing`.
    pub fn timed_out(doing: &str) -> Self {
        StepError {
            kind: ErrorKind::TimedOut,
            explanation: Box::new(
                Explanation::new("", format!("timed out while {doing}"))
                    .why(format!("the resource's timeout ran out while csmrun was {doing}"))
                    .fix("raise the resource's `timeouts` if the operation needs longer, then apply again"),
            ),
        }
    }

    /// A failed API call: what was being done, Google's status in the summary and its message once.
    pub fn api(doing: &str, e: &gcp::Error) -> Self {
        if e.is_cancelled() {
            return Self::cancelled();
        }
        if e.is_deadline() {
            let mut t = Self::timed_out(&format!("trying to {doing}"));
            t.explanation.google = Some(e.to_string());
            return t;
        }
        let status = e
            .status()
            .or(e.reason())
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        let mut x =
            Explanation::new("", format!("could not {doing}{status}")).google(e.to_string());
        if e.is_conflict() {
            x = x.fix(
                "another writer changed the object between csmrun's read and its write; apply again once the \
                 other writer has stopped",
            );
            return StepError {
                kind: ErrorKind::Conflict,
                explanation: Box::new(x),
            };
        }
        if e.http_status() == Some(403) {
            x = x.fix(
                "the credentials csmrun runs with lack the permission Google names above; grant it to the \
                 deployer (README: the deployer's roles), then apply again",
            );
        }
        StepError::refused(x)
    }

    /// "PART: CAUSE".
    pub fn summary(&self) -> String {
        self.explanation.summary()
    }

    /// The labelled lines of [`Explanation::detail`].
    pub fn detail(&self) -> String {
        self.explanation.detail()
    }

    /// The same error, saying what the failure left behind.
    pub fn with_left(mut self, left: impl Into<String>) -> Self {
        self.explanation.left = Some(left.into());
        self
    }
}

impl CancelledError for StepError {
    fn cancelled() -> Self {
        StepError {
            kind: ErrorKind::Cancelled,
            explanation: Box::new(Explanation::new("", "cancelled").why(
                "the apply was interrupted (Ctrl-C), or another part of this create failed first",
            )),
        }
    }
}

/// Everything a step needs.
pub struct Ctx {
    pub clients: gcp::Clients,
    pub spec: Spec,
    pub data: Arc<ProviderData>,
    /// Ctrl-C or the end of the apply: interrupts requests and waits.
    pub cancel: CancellationToken,
    /// A child of `cancel`, also cancelled when a sibling step of the create graph fails: ends waits only, so
    /// requests already sent complete and what they made is journaled (see `runner`).
    pub stop: CancellationToken,
    /// Results handed from one step to the steps after it.
    pub edges: Edges,
    /// This resource's share of the project grants (the project-grants part's own ledger).
    pub grants: iam::Ledger,
    /// Creates sent whose answer may be lost, for rollback.
    pub sent: insert::Sent,
    /// The waits made on purpose, told to the user as warnings.
    pub waits: waits::Log,
    /// The resource already exists in Terraform state (update, repair, delete): parts with the spec's names are
    /// ours even without ownership markers (imported parts get them on the next update that touches them).
    pub existing: bool,
    /// End of the resource's timeout; waits end there too.
    pub deadline: Instant,
}

impl Ctx {
    pub fn new(
        data: Arc<ProviderData>,
        spec: Spec,
        cancel: CancellationToken,
        timeout: Duration,
        existing: bool,
    ) -> Arc<Ctx> {
        let deadline = crate::service::duration::deadline_after(Instant::now(), timeout);
        let clients = data
            .clients
            .with_cancel(cancel.clone())
            .with_deadline(deadline);
        Arc::new(Ctx {
            clients,
            spec,
            data,
            stop: cancel.child_token(),
            cancel,
            edges: Edges::default(),
            grants: iam::Ledger::default(),
            sent: insert::Sent::default(),
            waits: waits::Log::default(),
            existing,
            deadline,
        })
    }

    /// Sleeps unless stopped (cancelled, or a sibling step failed) or past the deadline first.
    pub async fn sleep(&self, d: Duration) -> Result<(), StepError> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = tokio::time::sleep_until(self.deadline) => Err(StepError::timed_out("waiting")),
            _ = self.stop.cancelled() => Err(StepError::cancelled()),
        }
    }
}

/// What a step did, so rollback can revert exactly that.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Project roles this run added for the service account.
    Iam {
        added: Vec<String>,
    },
    DnsZone {
        created: bool,
    },
    /// The wildcard record; `registered`: the service registered as a user of the domain
    /// ([`dns::ensure_users_and_record`]), so undo unregisters it, which removes the record only with the last user.
    DnsRecord {
        created: bool,
        registered: bool,
    },
    Neg {
        created: bool,
    },
    BackendService {
        created: bool,
    },
    /// Nothing changed: a read-only check or a wait.
    Preflight,
    Service {
        created: bool,
    },
    Invokers,
    Route {
        created: bool,
    },
}

/// A result one step hands the steps that run after it (an edge of the create graph, or the next step of an
/// update's sequence): written by its one producer, read by its dependents, which the runner starts only after the
/// producer succeeded (read before, it is `None`).
pub struct Handoff<T>(Mutex<Option<T>>);

impl<T> Default for Handoff<T> {
    fn default() -> Self {
        Handoff(Mutex::new(None))
    }
}

impl<T: Clone> Handoff<T> {
    /// Hands `value` on.
    pub fn put(&self, value: T) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(value);
        }
    }

    /// What was handed on; `None` before (or without) the producer.
    pub fn get(&self) -> Option<T> {
        self.0.lock().ok().and_then(|g| g.clone())
    }
}

/// The edges of one apply that carry results, each with its producer and its consumers.
#[derive(Default)]
pub struct Edges {
    /// NEG insert accepted → grant step (the roles the NEG names), NEG operation step (the operation).
    pub neg: Handoff<neg::Accepted>,
    /// Pre-flight checks (the mesh's `createTime`) → mesh settle wait, and the deploy's diagnosis (its age).
    pub mesh_created: Handoff<chrono::DateTime<chrono::Utc>>,
    /// Pre-flight checks (the subnet's Private Google Access) → the deploy's diagnosis.
    pub subnet_pga: Handoff<bool>,
    /// Pre-flight checks → every step: names found free, the zone as read.
    pub preflight: Handoff<preflight::Found>,
    /// Service step → invokers step (a new service), and the state after the create (the Ready service).
    pub service: Handoff<parts::cloud_run::Deployed>,
}

/// Which part a [`PartStep`] handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Iam,
    DnsZone,
    DnsRecord,
    Neg,
    /// The NEG insert's operation, awaited apart from the insert (see [`neg::accept`]).
    NegOperation,
    BackendService,
    Checks,
    MeshSettle,
    Service,
    Invokers,
    Route,
}

/// One part of the create graph.
pub struct PartStep {
    pub part: Node,
    pub ctx: Arc<Ctx>,
    /// Used by undo: not cancelled by Ctrl-C, so rollback still runs.
    pub cleanup: Arc<Ctx>,
}

type Ensured = Result<Record, Failed<Record, StepError>>;

#[async_trait]
impl Step for PartStep {
    type Record = Record;
    type Error = StepError;

    async fn ensure(&self, stop: CancellationToken) -> Ensured {
        // The runner's token ends this step's waits; its requests stay bound to the context's own token.
        let ctx_stop = self.ctx.stop.clone();
        let forward = async move {
            stop.cancelled().await;
            ctx_stop.cancel();
            std::future::pending::<std::convert::Infallible>().await
        };
        tokio::select! {
            r = self.ensure_part() => r,
            never = forward => match never {},
        }
    }

    fn is_noop(&self, record: &Record) -> bool {
        match record {
            Record::Iam { added } => self.ctx.grants.roles_to_release(added).is_empty(),
            Record::DnsRecord {
                created,
                registered,
            } => !created && !registered,
            Record::DnsZone { created }
            | Record::Neg { created }
            | Record::BackendService { created }
            | Record::Service { created }
            | Record::Route { created } => !created,
            Record::Preflight | Record::Invokers => true,
        }
    }

    async fn undo(&self, record: &Record) -> Result<(), StepError> {
        let c = &self.cleanup;
        match record {
            Record::Iam { .. } => iam::ProjectGrants::undo(&self.ctx, c, record).await,
            Record::DnsZone { created } => {
                dns::DnsZone::undo(&self.ctx, c, &Made { created: *created }).await
            }
            Record::DnsRecord {
                registered: true, ..
            } => dns::leave(c).await.map(drop),
            Record::DnsRecord { created: true, .. } => dns::delete_record(c).await,
            Record::Neg { created } => {
                parts::Neg::undo(&self.ctx, c, &neg::Made { created: *created }).await
            }
            Record::BackendService { created } => {
                BackendServicePart::undo(&self.ctx, c, &Made { created: *created }).await
            }
            Record::Service { created } => {
                CloudRun::undo(&self.ctx, c, &Made { created: *created }).await
            }
            Record::Route { created } => {
                Route::undo(&self.ctx, c, &Made { created: *created }).await
            }
            _ => Ok(()),
        }
    }
}

impl PartStep {
    /// The step of `part` in a graph of its own (no results handed in).
    pub fn new(part: Node, ctx: Arc<Ctx>, cleanup: Arc<Ctx>) -> Self {
        PartStep { part, ctx, cleanup }
    }

    async fn ensure_part(&self) -> Ensured {
        let c = &self.ctx;
        let part = self.part;
        // A create call cut short by cancellation or the timeout may still have created the part.
        let clean = |r: Result<Record, StepError>| {
            r.map_err(|error| {
                let partial = c
                    .sent
                    .contains(part)
                    .then(|| created_record(part))
                    .flatten();
                Failed { error, partial }
            })
        };
        let found = c.edges.preflight.get().unwrap_or_default();
        match part {
            Node::Iam => {
                let grants = c.edges.neg.get().unwrap_or_default().grants;
                iam::ensure(c, &grants).await
            }
            Node::DnsZone => clean(dns::ensure_zone_from(c, found.zone).await),
            Node::DnsRecord => clean(dns::ensure_users_and_record(c).await),
            Node::Neg => {
                let accepted =
                    neg::accept_from(c, found.free(Node::Neg))
                        .await
                        .map(|(made, accepted)| {
                            c.edges.neg.put(accepted);
                            made
                        });
                made(accepted, |created| Record::Neg { created })
            }
            Node::NegOperation => {
                let operation = c.edges.neg.get().and_then(|a| a.operation);
                clean(neg::wait(c, operation).await.map(|_| Record::Preflight))
            }
            Node::BackendService => made(
                parts::backend_service::ensure_from(c, found.free(Node::BackendService)).await,
                |created| Record::BackendService { created },
            ),
            Node::Checks => clean(preflight::checks(c).await.map(|found| {
                c.edges.preflight.put(found);
                Record::Preflight
            })),
            Node::MeshSettle => clean(preflight::settle(c).await.map(|_| Record::Preflight)),
            Node::Service => {
                let deployed = parts::cloud_run::ensure_from(c, found.free(Node::Service))
                    .await
                    .map(|(made, deployed)| {
                        c.edges.service.put(deployed);
                        made
                    });
                made(deployed, |created| Record::Service { created })
            }
            Node::Invokers => {
                let new_service = c.edges.service.get().is_some_and(|d| d.created_now);
                parts::invokers::ensure_after_deploy(c, new_service)
                    .await
                    .map(|()| Record::Invokers)
                    .map_err(Failed::clean)
            }
            Node::Route => made(
                parts::route::ensure_from(c, found.free(Node::Route)).await,
                |created| Record::Route { created },
            ),
        }
    }
}

/// The create graph of PRODUCT §4 over the parts; `cleanup` is the context undo uses.
pub fn create_graph(c: &Arc<Ctx>, cleanup: &Arc<Ctx>) -> Graph<Record, StepError> {
    let step = |part: Node| -> DynStep<Record, StepError> {
        Arc::new(PartStep {
            part,
            ctx: Arc::clone(c),
            cleanup: Arc::clone(cleanup),
        })
    };
    CreateSteps {
        checks: step(Node::Checks),
        iam: step(Node::Iam),
        dns_zone: step(Node::DnsZone),
        dns_record: step(Node::DnsRecord),
        neg: step(Node::Neg),
        neg_operation: step(Node::NegOperation),
        backend_service: step(Node::BackendService),
        mesh_settle: step(Node::MeshSettle),
        service: step(Node::Service),
        invokers: step(Node::Invokers),
        route: step(Node::Route),
    }
    .into_graph()
}

/// The record of a part created by this run, for parts whose create can be cut short.
fn created_record(part: Node) -> Option<Record> {
    match part {
        Node::DnsZone => Some(Record::DnsZone { created: true }),
        // The record step registers first: what it may have done is undone by unregistering.
        Node::DnsRecord => Some(Record::DnsRecord {
            created: true,
            registered: true,
        }),
        _ => None,
    }
}

/// A part's own result as the graph's record.
fn made(r: parts::Ensured<Made>, record: impl Fn(bool) -> Record) -> Ensured {
    r.map(|m| record(m.created)).map_err(|f| Failed {
        error: f.error,
        partial: f.partial.map(|m| record(m.created)),
    })
}

/// Sends a create of `part`, noting first that it may exist (for rollback if the answer is lost, see
/// [`created_record`]); a refusal, which made nothing, takes the note back.
pub async fn sent<T>(
    c: &Ctx,
    part: Node,
    create: impl std::future::Future<Output = Result<T, gcp::Error>>,
) -> Result<T, gcp::Error> {
    c.sent.mark(part);
    let r = create.await;
    if r.as_ref().is_err_and(insert::is_refusal) {
        c.sent.unmark(part);
    }
    r
}

/// A read where 404 means "absent": `Ok(None)`; other errors say what was being read.
pub fn found<T>(r: Result<T, gcp::Error>, what: &str) -> Result<Option<T>, StepError> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(StepError::api(&format!("read {what}"), &e)),
    }
}

/// A delete where 404 means "already gone", which is success (deletes are idempotent for rollback).
pub fn gone<T>(r: Result<T, gcp::Error>, what: &str) -> Result<(), StepError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(StepError::api(&format!("delete {what}"), &e)),
    }
}

/// The error for a part that exists but is not ours: `attr` is the setting that names it.
pub fn not_ours(kind: &str, name: &str, attr: &str, spec: &Spec) -> StepError {
    StepError::refused(
        Explanation::new(format!("{kind} {name}"), "exists and is not managed by csmrun")
            .why(format!(
                "the {kind} {name:?} exists but does not carry csmrun's ownership marker, so csmrun will not take \
                 it over"
            ))
            .fix(format!(
                "if it belongs to another service, choose another `{attr}`; if it is this service's, built by hand \
                 or with the google provider, import the whole service: `terraform import <address> \
                 projects/{}/locations/{}/services/{}`",
                spec.project, spec.region, spec.name
            )),
    )
}

/// The error for a part a resource's state names (in `attr`) that exists but is not the one the resource made or
/// imported: `reason` says what the read found. The state was edited by hand, or copied from another resource;
/// acting on it would change or delete someone else's object, so the way out is to rebuild the state from the
/// cloud, where import finds the parts by reference.
pub fn not_this_services(kind: &str, name: &str, attr: &str, reason: &str, s: &Spec) -> StepError {
    let named_in = if attr == "leftovers" {
        "its private state (a part left over by an earlier update)".to_string()
    } else {
        format!("`{attr}`")
    };
    let service = if attr == "name" {
        "<its Cloud Run service>".to_string()
    } else {
        s.name.clone()
    };
    StepError::refused(
        Explanation::new(format!("{kind} {name}"), format!("not this service's ({reason})"))
            .why(format!(
                "the state names the {kind} {name:?} in {named_in}, but {reason}: the state was changed by hand or \
                 belongs to another resource, and csmrun neither changes nor deletes a part that is not this \
                 service's"
            ))
            .fix(format!(
                "rebuild the state from the cloud: `terraform state rm <address>`, then `terraform import \
                 <address> projects/{}/locations/{}/services/{service}` (import finds the parts by reference)",
                s.project, s.region
            )),
    )
}

/// True when a description carries this service's ownership marker.
pub fn is_marked(description: Option<&str>, spec: &Spec) -> bool {
    description.is_some_and(|d| super::names::has_marker(d, &spec.marker()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, body: &[u8]) -> gcp::Error {
        gcp::Error::from_http(gcp::Api::ResourceManager, status, body)
    }

    #[test]
    fn an_etag_conflict_is_a_conflict_not_a_refusal_or_an_interruption() {
        let aborted = error(
            409,
            br#"{"error":{"code":409,"message":"There were concurrent policy changes.","status":"ABORTED"}}"#,
        );
        let e = StepError::api("grant roles/trafficdirector.client", &aborted);
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(e.is_conflict() && !e.is_interrupted());
        assert!(
            e.detail()
                .contains("apply again once the other writer has stopped"),
            "{}",
            e.detail()
        );
        let kept = StepError::conflict("backend service b", "412 on the fingerprint");
        assert!(kept.is_conflict() && !kept.is_interrupted());
        assert_eq!(kept.summary(), "Backend service b: keeps changing");

        let denied = error(
            403,
            br#"{"error":{"code":403,"message":"Permission denied.","status":"PERMISSION_DENIED"}}"#,
        );
        let e = StepError::api("grant roles/trafficdirector.client", &denied);
        assert_eq!(e.kind, ErrorKind::Refused);
        assert!(!e.is_conflict() && !e.is_interrupted());
        assert!(StepError::timed_out("waiting").is_interrupted());
    }
}
