//! Project IAM for the runtime account: add and remove by reference, coalesced per project, etag conflicts retried.
//!
//! Ownership of a project role binding (who may remove it): csmrun removes the account's membership in a role only if
//! csmrun added it, as one of these records says, and no other Cloud Run service with a `serviceMesh` runs as the
//! account. Cloud Run v2 cannot list across regions (`locations/-` is refused), so the account's services are looked
//! for in this service's region and in every region holding a serverless NEG (see [`list_services`]): every
//! csmrun service has its NEG from before its grant until its destroy, but a mesh service made outside csmrun in a
//! region without any serverless NEG is not seen. The records: the resource's private state; the `csmrun.dev/iam-roles` annotation of a service running as
//! the account; and `iam-grants=<roles>` in the description of the service's NEG. A service that finds the binding
//! already there owns it too when this provider process added it (another service's edit, coalesced into the same
//! policy write or made a moment earlier, whose service cannot carry the annotation yet): every service that shares a
//! binding csmrun added records it, so whichever is destroyed last removes it. A create reads the project policy, sends
//! the insert of the NEG naming the roles the account lacks, and grants them once Google has accepted that insert (its
//! operation returned): the NEG then exists whatever happens to this process, while its operation is awaited beside the
//! propagation wait, so the grant costs the critical path one request, not the NEG's operation time (in the create
//! graph IAM runs after the accepted NEG insert). A provider killed during the propagation wait, before the service
//! exists, thus leaves a NEG that says csmrun made the grant; the next create adopts the NEG (it carries the ownership
//! marker), takes the roles it names as its own, waits the full `iam_propagation_wait` again, and records them in
//! private state and the annotation; a rollback of that create releases them with the NEG. A binding already present
//! when the NEG was created is not named there and is never removed. An update that grants (new `service_account`,
//! `trace` turned on) and is killed before the service is patched leaves a role csmrun does not know it made: it stays
//! (never removing what csmrun cannot show it added).
//!
//! Other writers (another resource of the apply, another Terraform run) race a release, and the policy cannot be
//! changed on a condition about other resources, so each side checks again after its own change: a release lists the
//! account's services again after removing a role and grants it back if a service appeared; a deployed (or failing)
//! service reads the policy again and grants what went missing since its IAM step, owning it from then on. Destroy
//! and a create's rollback release before the service delete (its annotation still shows a joiner that csmrun made
//! the grant, and a destroy killed after the delete leaves nothing behind) and again after it for what was kept (two
//! last users leaving at once: after both deletes one of them sees nobody). A rollback releases every role the create
//! owns, inherited ones included; a release keeps what another service needs.
//! A service that joins an account while another run's create is in its propagation wait (grant made, no service
//! and so no annotation yet) learns that the grant is csmrun's from that create's NEG, whose description names the
//! roles and the account (`iam-grants=… iam-account=…`); only NEGs of its own region are read. What remains open
//! (RELIABILITY.md): the grant-in-flight case above across regions (the grant then stays after the last user goes;
//! never a loss).

use crate::service::explain::Explanation;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;

use super::{Ensured, Place};
use crate::service::coalesce::Coalescer;
use crate::service::diagnose::Grant;
use crate::service::names;
use crate::service::parts::neg::Grants;
use crate::service::runner::Failed;
use crate::service::spec::Spec;
use crate::service::spec::TRAFFIC_DIRECTOR_CLIENT;
use crate::service::steps::{Ctx, Record, StepError};
use crate::service::waits::{NewGrant, Wait};

/// Add or remove one member from one role's unconditional binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub add: bool,
    pub role: String,
    pub member: String,
}

/// A project policy a caller read already (the NEG step, for the roles the account lacks), with the count of this
/// process's policy writes taken before that read ([`IamCoalescer::writes_so_far`]). A read-modify-write starts from
/// it instead of reading again while this process has written no policy since: a write of another writer meanwhile
/// makes Google refuse the stale etag (409, read again), as it would a fresh read's.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub writes_before: u64,
    pub policy: gcp::Policy,
}

/// One caller's answer: per edit, whether it changed the policy.
type Changed = Result<Vec<bool>, Arc<gcp::Error>>;

/// The last policy read for refresh, and when; its lock also makes concurrent refreshes share one read.
type Snapshot = Arc<tokio::sync::Mutex<Option<(Instant, gcp::Policy)>>>;

/// How long one refresh's read of a project policy serves the other refreshes of the same plan (Terraform
/// refreshes each resource separately; every service of one account would otherwise read the same policy).
pub const REFRESH_SNAPSHOT: Duration = Duration::from_secs(10);

/// This process's project IAM: concurrent edits of one project's policy coalesced into one read-modify-write
/// ([`Coalescer`]), the refresh snapshot, and what this process granted or owns.
#[derive(Default)]
pub struct IamCoalescer {
    writes: Coalescer<(Vec<Edit>, Option<Known>), Changed>,
    /// How many policy writes this process has made (any project); a policy read before the last of them is not
    /// used in place of a read ([`Known`]).
    written: std::sync::atomic::AtomicU64,
    snapshots: Mutex<HashMap<String, Snapshot>>,
    /// How the etag-conflict backoff waits (tokio's timer; tests may pass another).
    pub sleep: gcp::Sleep,
    /// When this process added (project, role, member): a sibling resource that finds the binding already there
    /// must still wait out its propagation.
    granted: Mutex<HashMap<(String, String, String), Instant>>,
    /// (project, role, member) that a resource of this process owns by its private state (an update or destroy
    /// started): the binding is csmrun's even while no annotation shows it (the service is being moved to another
    /// account, or deleted), so a sibling joining the account shares it.
    claimed: Mutex<std::collections::HashSet<(String, String, String)>>,
    /// Concurrent listings of the services that may run as an account ([`list_services`]), per project and region:
    /// callers that queue while one runs share the next one, which starts after they asked (so a release still
    /// sees what happened before its own removal).
    listings: Coalescer<(), Listed>,
    /// Full names of the Cloud Run services this process is deleting (their grants released).
    leaving: Mutex<std::collections::HashSet<String>>,
}

/// One shared answer of [`list_services`].
type Listed = Result<Arc<Vec<gcp::run::Service>>, StepError>;

/// Reads and writes one project's policy; the seam that lets the coalescer be tested without HTTP.
#[async_trait::async_trait]
pub trait PolicyStore: Send + Sync {
    async fn get(&self, project: &str) -> Result<gcp::Policy, gcp::Error>;
    async fn set(&self, project: &str, policy: &gcp::Policy) -> Result<gcp::Policy, gcp::Error>;
}

#[async_trait::async_trait]
impl PolicyStore for gcp::resource_manager::Client {
    async fn get(&self, project: &str) -> Result<gcp::Policy, gcp::Error> {
        self.get_iam_policy(project).await
    }
    async fn set(&self, project: &str, policy: &gcp::Policy) -> Result<gcp::Policy, gcp::Error> {
        self.set_iam_policy(project, policy).await
    }
}

impl IamCoalescer {
    /// Applies `edits`; returns, per edit, whether it changed the policy (false: already so).
    ///
    /// Etag conflicts re-read and retry with jittered exponential backoff until the store's deadline ends them.
    pub async fn apply(
        &self,
        store: &dyn PolicyStore,
        project: &str,
        edits: Vec<Edit>,
    ) -> Result<Vec<bool>, Arc<gcp::Error>> {
        self.apply_from(store, project, edits, None).await
    }

    /// The count of this process's policy writes so far: taken before a read that is handed on as [`Known`].
    pub fn writes_so_far(&self) -> u64 {
        self.written.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// [`IamCoalescer::apply`] starting from `known`, a policy the caller read already, when this process has
    /// written no policy since that read.
    pub async fn apply_from(
        &self,
        store: &dyn PolicyStore,
        project: &str,
        edits: Vec<Edit>,
        known: Option<Known>,
    ) -> Result<Vec<bool>, Arc<gcp::Error>> {
        let snapshot = self.snapshot(project);
        let apply = |batch: Vec<(Vec<Edit>, Option<Known>)>| async move {
            let all: Vec<Edit> = batch.iter().flat_map(|(e, _)| e).cloned().collect();
            let now = self.writes_so_far();
            let first = batch
                .iter()
                .filter_map(|(_, k)| k.as_ref())
                .find(|k| k.writes_before == now)
                .map(|k| k.policy.clone());
            let result = read_modify_write(store, project, &all, first, &self.sleep)
                .await
                .map_err(Arc::new);
            if let Ok(changed) = &result {
                self.remember(project, &all, changed);
            }
            // A failed write may still have landed, so it invalidates the refresh snapshot too.
            let wrote = match &result {
                Ok(changed) => changed.iter().any(|c| *c),
                Err(_) => true,
            };
            if wrote {
                self.written
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                *snapshot.lock().await = None;
            }
            let mut offset = 0;
            batch
                .iter()
                .map(|(edits, _)| {
                    let n = edits.len();
                    let part = result
                        .as_ref()
                        .map(|r| r[offset..offset + n].to_vec())
                        .map_err(Arc::clone);
                    offset += n;
                    part
                })
                .collect()
        };
        self.writes
            .submit(project, (edits, known), apply)
            .await
            .unwrap_or_else(|| {
                let body = br#"{"error":{"code":500,"message":"the IAM batch writer stopped","status":"INTERNAL"}}"#;
                Err(Arc::new(gcp::Error::from_http(gcp::Api::ResourceManager, 500, body)))
            })
    }
}

impl IamCoalescer {
    fn snapshot(&self, project: &str) -> Snapshot {
        let mut map = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(project.to_string()).or_default())
    }

    /// The project's policy for a refresh: read at most once per [`REFRESH_SNAPSHOT`], and again after any
    /// write of this process to it.
    pub async fn policy_snapshot(
        &self,
        store: &dyn PolicyStore,
        project: &str,
    ) -> Result<gcp::Policy, gcp::Error> {
        let snapshot = self.snapshot(project);
        let mut snapshot = snapshot.lock().await;
        if let Some((at, policy)) = &*snapshot {
            if at.elapsed() < REFRESH_SNAPSHOT {
                return Ok(policy.clone());
            }
        }
        let policy = store.get(project).await?;
        *snapshot = Some((Instant::now(), policy.clone()));
        Ok(policy)
    }

    fn remember(&self, project: &str, edits: &[Edit], changed: &[bool]) {
        let now = Instant::now();
        let mut granted = self.granted.lock().unwrap_or_else(|p| p.into_inner());
        for (e, _) in edits.iter().zip(changed).filter(|(_, c)| **c) {
            let key = (project.to_string(), e.role.clone(), e.member.clone());
            if e.add {
                granted.insert(key, now);
            } else {
                granted.remove(&key);
            }
        }
    }

    /// Notes that a resource of this process owns `roles` for `member` (from its private state).
    pub fn claim(&self, project: &str, roles: &[String], member: &str) {
        let mut claimed = self.claimed.lock().unwrap_or_else(|p| p.into_inner());
        for r in roles {
            claimed.insert((project.to_string(), r.clone(), member.to_string()));
        }
    }

    /// Whether a resource of this process said it owns `member`'s `role` ([`IamCoalescer::claim`]).
    pub fn is_claimed(&self, project: &str, role: &str, member: &str) -> bool {
        let claimed = self.claimed.lock().unwrap_or_else(|p| p.into_inner());
        claimed.contains(&(project.to_string(), role.to_string(), member.to_string()))
    }

    /// When this process added `member` to `role` on `project`, if it did (and has not removed it since).
    pub fn granted_at(&self, project: &str, role: &str, member: &str) -> Option<Instant> {
        let granted = self.granted.lock().unwrap_or_else(|p| p.into_inner());
        granted
            .get(&(project.to_string(), role.to_string(), member.to_string()))
            .copied()
    }
}

/// The pause after an etag conflict before reading the policy again: jittered (many writers of one policy must not
/// retry in step), from 200-400 ms doubling to 5-10 s.
pub(crate) fn etag_backoff() -> gcp::Backoff {
    gcp::Backoff::new(Duration::from_millis(400), Duration::from_secs(10), 2.0)
}

async fn read_modify_write(
    store: &dyn PolicyStore,
    project: &str,
    edits: &[Edit],
    mut first: Option<gcp::Policy>,
    sleep: &gcp::Sleep,
) -> Result<Vec<bool>, gcp::Error> {
    let mut attempt: u32 = 0;
    loop {
        let mut policy = match first.take() {
            Some(p) => p,
            None => store.get(project).await?,
        };
        let changed: Vec<bool> = edits
            .iter()
            .map(|e| {
                if e.add {
                    policy.add_member(&e.role, &e.member)
                } else {
                    policy.remove_member(&e.role, &e.member)
                }
            })
            .collect();
        if !changed.iter().any(|c| *c) {
            return Ok(changed);
        }
        // Version 3 keeps conditional bindings intact.
        policy.version = Some(3);
        match store.set(project, &policy).await {
            Ok(_) => return Ok(changed),
            Err(e) if e.is_conflict() => {
                tracing::debug!(project, attempt, "IAM policy etag conflict; re-reading");
                sleep.sleep(etag_backoff().delay(attempt)).await;
                attempt = attempt.saturating_add(1);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The error of a failed grant. A deployer without the right to change the project's policy gets the role, the
/// permission it lacks and the way out, not only Google's 403.
fn grant_error(c: &Ctx, roles: &[&str], member: &str, e: &gcp::Error) -> StepError {
    let role = roles.first().copied().unwrap_or(TRAFFIC_DIRECTOR_CLIENT);
    let others = if roles.len() > 1 {
        " (and the same for each other role above)"
    } else {
        ""
    };
    let roles = roles.join(", ");
    if e.http_status() != Some(403) {
        return StepError::api(&format!("grant {roles} to {member}"), e);
    }
    permission_denied(&c.spec.project, &roles, role, member, others, e.message())
}

/// The grant refused with 403: the role, the account, the permission the deployer lacks, the way out.
pub fn permission_denied(
    project: &str,
    roles: &str,
    role: &str,
    member: &str,
    others: &str,
    google: &str,
) -> StepError {
    StepError::refused(
        Explanation::new(
            format!("IAM policy of project {project}"),
            format!("could not grant {roles} to {member}: permission denied"),
        )
        .google(google)
        .why(format!(
            "the credentials csmrun runs with may not change the project's IAM policy: they need \
             resourcemanager.projects.getIamPolicy and setIamPolicy on project {project}, for example through \
             roles/resourcemanager.projectIamAdmin"
        ))
        .fix(format!(
            "grant the deployer roles/resourcemanager.projectIamAdmin, or have an administrator grant the role \
             once: `gcloud projects add-iam-policy-binding {project} --member={member} --role={role}`{others}"
        ))
        .next_time(
            "with the role granted beforehand csmrun finds the binding, leaves the policy alone and does not wait \
             for propagation",
        ),
    )
}

/// This resource's share of the project grants, as one apply learns it: written by the IAM step ([`ensure`]) and
/// the deploy's [`recheck`] (an update seeds it from private state), read by the service body (its
/// `csmrun.dev/iam-roles` annotation), the deploy's diagnosis ([`Ledger::grant`]), rollback and the apply's result.
/// It belongs to the project-grants part alone: no other part writes it.
#[derive(Debug, Default)]
pub struct Ledger(Mutex<Shares>);

#[derive(Debug, Default, Clone)]
struct Shares {
    /// Roles this resource owns for its account: added by it, or inherited from another csmrun service that added
    /// them (so the last user removes them).
    owned: Vec<String>,
    /// The roles the IAM step says this run added.
    added: Vec<String>,
    /// Roles found missing after the deploy and granted again by this run ([`recheck`]).
    regranted: Vec<String>,
    /// When this run added (or saw a sibling add) the trafficdirector.client grant; `None` if it existed.
    granted_at: Option<Instant>,
    checked: bool,
}

impl Ledger {
    fn with<T>(&self, f: impl FnOnce(&mut Shares) -> T) -> Option<T> {
        self.0.lock().ok().map(|mut g| f(&mut g))
    }

    /// The roles this resource owns (sorted).
    pub fn owned(&self) -> Vec<String> {
        self.with(|s| s.owned.clone()).unwrap_or_default()
    }

    /// Seeds the owned roles (an update: from the prior private state).
    pub fn set_owned(&self, mut roles: Vec<String>) {
        roles.sort();
        roles.dedup();
        self.with(|s| s.owned = roles);
    }

    /// The roles the IAM step added in this run.
    pub fn added(&self) -> Vec<String> {
        self.with(|s| s.added.clone()).unwrap_or_default()
    }

    /// The roles [`recheck`] granted again in this run.
    pub fn regranted(&self) -> Vec<String> {
        self.with(|s| s.regranted.clone()).unwrap_or_default()
    }

    /// The grant as the diagnosis sees it now.
    pub fn grant(&self) -> Grant {
        match self.with(|s| (s.checked, s.granted_at)) {
            None | Some((false, _)) => Grant::Unchecked,
            Some((true, None)) => Grant::Existing,
            Some((true, Some(t))) => Grant::New { age: t.elapsed() },
        }
    }

    /// The roles a rollback of this create releases: every role it owns, not only those it added. A role it
    /// shares (inherited from a service that has since left, which kept it for this one) has no other owner
    /// once this create is undone; [`release`] keeps any role another service of the account still needs.
    pub fn roles_to_release(&self, recorded: &[String]) -> Vec<String> {
        let s = self.with(|s| s.clone()).unwrap_or_default();
        let mut roles: Vec<String> = recorded
            .iter()
            .chain(&s.regranted)
            .chain(&s.owned)
            .cloned()
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    fn regrant(&self, roles: &[String], td: bool) {
        self.with(|s| {
            for r in roles {
                if !s.owned.contains(r) {
                    s.owned.push(r.clone());
                }
                if !s.regranted.contains(r) {
                    s.regranted.push(r.clone());
                }
            }
            s.owned.sort();
            if td {
                s.granted_at = Some(Instant::now());
            }
        });
    }
}

/// Grants the project roles; if trafficdirector.client is new, waits `iam_propagation_wait` before returning.
/// `neg`: the roles the NEG step found recorded on the service's NEG (none on an update).
pub async fn ensure(c: &Ctx, neg: &Grants) -> Result<Record, Failed<Record, StepError>> {
    let member = c.spec.sa_member();
    let roles = c.spec.project_roles();
    let edits: Vec<Edit> = roles
        .iter()
        .map(|r| Edit {
            add: true,
            role: r.to_string(),
            member: member.clone(),
        })
        .collect();
    let rm = c.clients.resource_manager();
    let changed = c
        .data
        .iam
        .apply_from(&rm, &c.spec.project, edits, neg.policy.clone())
        .await
        .map_err(|e| {
            let error = grant_error(c, &roles, &member, &e);
            // Cut short, the write may still have landed: the roles the NEG recorded as about to be granted
            // (missing when it was made) may now be csmrun's, so rollback releases them.
            let partial =
                (error.is_interrupted() && !neg.granting.is_empty()).then(|| Record::Iam {
                    added: neg.granting.clone(),
                });
            Failed { error, partial }
        })?;
    let added: Vec<String> = roles
        .iter()
        .zip(&changed)
        .filter(|(_, ch)| **ch)
        .map(|(r, _)| r.to_string())
        .collect();
    let kept: Vec<String> = roles
        .iter()
        .zip(&changed)
        .filter(|(_, ch)| !**ch)
        .map(|(r, _)| r.to_string())
        .collect();
    // Roles a killed earlier create of this service wrote on its NEG before granting them (see the module doc of
    // `service`): csmrun made them, and this create, which adopted that NEG, carries on where it stopped.
    let claimed: Vec<String> = kept
        .iter()
        .filter(|r| neg.claimed.contains(r))
        .cloned()
        .collect();
    // From here on the grant exists: a failure must leave it in the journal.
    let with_grant = |error: StepError| Failed {
        error,
        partial: Some(Record::Iam {
            added: added.iter().chain(&claimed).cloned().collect(),
        }),
    };
    let mut owned: Vec<String> = added.clone();
    if !kept.is_empty() {
        let before = c.grants.owned();
        let inherited = inherited_roles(c).await.map_err(with_grant)?;
        let known = |r: &String| {
            before.contains(r)
                || inherited.contains(r)
                || claimed.contains(r)
                || granted_by_this_process(c, r, &member)
        };
        let unknown: Vec<String> = kept.iter().filter(|r| !known(r)).cloned().collect();
        // Only when a role is still unexplained: one more list call, not one per create.
        let in_flight = if unknown.is_empty() {
            Vec::new()
        } else {
            granting_in_region(c).await.map_err(with_grant)?
        };
        owned.extend(
            kept.into_iter()
                .filter(|r| known(r) || in_flight.contains(r)),
        );
    }
    owned.sort();
    c.grants.set_owned(owned);
    let new_td = added.iter().any(|r| r == TRAFFIC_DIRECTOR_CLIENT);
    // The killed create may have died inside its propagation wait: this one waits the whole time again.
    let resumed_td = claimed.iter().any(|r| r == TRAFFIC_DIRECTOR_CLIENT);
    // Rolling this create back removes the NEG that records the claimed grants, so it releases them too.
    let added: Vec<String> = added.into_iter().chain(claimed).collect();
    c.grants.with(|s| s.added = added.clone());
    // A binding another resource of this apply added a moment ago is as new as our own: the wait runs from its
    // grant (many services sharing one account otherwise deploy before it propagates and fail their sidecar).
    let wait = c.data.iam_propagation_wait;
    let granted_at = if new_td || resumed_td {
        Some(Instant::now())
    } else {
        c.data
            .iam
            .granted_at(&c.spec.project, TRAFFIC_DIRECTOR_CLIENT, &member)
            .filter(|t| t.elapsed() < wait)
    };
    c.grants.with(|s| {
        s.checked = true;
        s.granted_at = granted_at;
    });
    if let Some(t) = granted_at {
        let rest = wait.saturating_sub(t.elapsed());
        tracing::info!(member, wait = ?rest, sibling = !new_td && !resumed_td, resumed = resumed_td, "new trafficdirector.client grant; waiting for propagation");
        if let Err(error) = c.sleep(rest).await {
            // Cancelled during the wait: the grant exists, so rollback must see it.
            return Err(Failed {
                error,
                partial: Some(Record::Iam { added }),
            });
        }
        if !rest.is_zero() {
            let new = if resumed_td {
                NewGrant::Resumed
            } else if new_td {
                NewGrant::Added
            } else {
                NewGrant::Sibling {
                    ago: wait.saturating_sub(rest),
                }
            };
            c.waits.push(Wait::Grant {
                project: c.spec.project.clone(),
                service_account: c.spec.service_account.clone(),
                new,
                waited: rest,
                setting: wait,
            });
        }
    }
    Ok(Record::Iam { added })
}

/// Whether this provider process added `member` to `role` and has not removed it since, or a resource of this
/// process owns it by its private state: a binding csmrun made, even if another resource's edit made it (an edit
/// coalesced into the same write, or an earlier write of a sibling whose service does not exist yet to carry the
/// annotation) or its owner's service no longer shows it (moving to another account, being deleted). Sharing it
/// makes whichever user goes last remove it.
fn granted_by_this_process(c: &Ctx, role: &str, member: &str) -> bool {
    let iam = &c.data.iam;
    iam.granted_at(&c.spec.project, role, member).is_some()
        || iam.is_claimed(&c.spec.project, role, member)
}

/// The project roles the account needs but does not have (drift: a grant removed out of band).
pub async fn missing_roles(c: &Ctx) -> Result<Vec<String>, StepError> {
    read_policy(c).await.map(|p| missing_in(&p, c))
}

/// The project's IAM policy, read now.
pub async fn read_policy(c: &Ctx) -> Result<gcp::Policy, StepError> {
    c.clients
        .resource_manager()
        .get_iam_policy(&c.spec.project)
        .await
        .map_err(|e| StepError::api("read the project's IAM policy", &e))
}

/// The service's project roles that `policy` does not grant its account.
pub fn missing_from(policy: &gcp::Policy, c: &Ctx) -> Vec<String> {
    missing_in(policy, c)
}

/// The service's project roles that `policy` does not grant its account.
fn missing_in(policy: &gcp::Policy, c: &Ctx) -> Vec<String> {
    let member = c.spec.sa_member();
    c.spec
        .project_roles()
        .into_iter()
        .filter(|r| !policy.has_member(r, &member))
        .map(str::to_string)
        .collect()
}

/// [`missing_roles`] for a refresh: from the project policy snapshot that the refreshes of one plan share.
pub async fn missing_roles_on_refresh(c: &Ctx) -> Result<Vec<String>, StepError> {
    let policy = c
        .data
        .iam
        .policy_snapshot(&c.clients.resource_manager(), &c.spec.project)
        .await
        .map_err(|e| StepError::api("read the project's IAM policy", &e))?;
    Ok(missing_in(&policy, c))
}

/// [`missing_roles_on_refresh`] from the project policy read once per read snapshot (`service::snapshot`) for every
/// refresh of the walk; without a snapshot, as [`missing_roles_on_refresh`].
pub async fn missing_roles_listed(c: &Ctx) -> Result<Vec<String>, StepError> {
    let project = &c.spec.project;
    let policy = c
        .data
        .reads
        .get(
            &format!("cloudresourcemanager.projects.getIamPolicy {project}"),
            || async { c.clients.resource_manager().get_iam_policy(project).await },
        )
        .await;
    match policy {
        Some(policy) => Ok(missing_in(&policy, c)),
        None => missing_roles_on_refresh(c).await,
    }
}

/// Roles that another csmrun create in this region is granting to this account right now: its NEG names them
/// (`iam-grants=` with `iam-account=`) from before its grant until its service carries the annotation. Another
/// Terraform run's create in its propagation wait has no service yet, so [`inherited_roles`] cannot see that the
/// grant is csmrun's; without this, a service joining the account then would not share the grant, and if it were
/// the last user to go the grant would stay. (NEGs of other regions are not read: that narrower case remains.)
async fn granting_in_region(c: &Ctx) -> Result<Vec<String>, StepError> {
    let negs = c
        .clients
        .compute()
        .list_network_endpoint_groups(&c.spec.project, &c.spec.region)
        .await
        .map_err(|e| StepError::api("list serverless NEGs", &e))?;
    Ok(negs
        .iter()
        .filter_map(|n| n.description.as_deref())
        .filter(|d| names::grants_account(d) == Some(c.spec.service_account.as_str()))
        .flat_map(names::grants_in)
        .collect())
}

/// Annotation on the Cloud Run service listing the project roles csmrun granted for its account.
pub const OWNED_ROLES_ANNOTATION: &str = "csmrun.dev/iam-roles";

/// Roles a csmrun service running as the same account says csmrun granted.
async fn inherited_roles(c: &Ctx) -> Result<Vec<String>, StepError> {
    let services = list_services(c).await?;
    // This service's own annotation counts too: after a crash, the adopted service says what the crashed run
    // granted.
    Ok(services
        .iter()
        .filter(|s| {
            s.template
                .as_ref()
                .and_then(|t| t.service_account.as_deref())
                == Some(c.spec.service_account.as_str())
        })
        .filter_map(|s| s.annotations.get(OWNED_ROLES_ANNOTATION))
        .flat_map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect())
}

/// The Cloud Run services that may run as a mesh account: those of this service's region and of every region
/// that holds a serverless NEG pointing at a Cloud Run service.
///
/// Cloud Run v2 cannot list across regions (run.v2.json, `services.list` `parent`: "cannot be the "-"
/// wildcard"), and listing every region Cloud Run offers would cost some forty calls. One Compute
/// `networkEndpointGroups.aggregatedList` names the regions instead, then one `services.list` per region runs, all
/// at once: 1 + regions calls. A csmrun service always has its NEG in its region from before its IAM step until
/// its destroy deletes it (the create inserts the NEG first), so no csmrun service sharing the account is missed.
/// The limit: a mesh service made outside csmrun (a mesh client needs no NEG) in a region where no serverless NEG
/// exists is not seen, and a role csmrun granted may be removed under it when the last csmrun service of the
/// account goes; a binding that existed before csmrun is never removed, and importing such a service makes it
/// csmrun's (its NEG is created by its first apply).
async fn list_services(c: &Ctx) -> Result<Vec<gcp::run::Service>, StepError> {
    let key = format!("{}/{}", c.spec.project, c.spec.region);
    let shared = c
        .data
        .iam
        .listings
        .submit(&key, (), |batch| async move {
            let listed = list_services_now(c).await.map(Arc::new);
            batch.iter().map(|()| listed.clone()).collect()
        })
        .await;
    match shared {
        Some(listed) => listed.map(|services| services.as_ref().clone()),
        // The caller that took this one's turn was cancelled: list alone.
        None => list_services_now(c).await,
    }
}

/// [`list_services`], read now by this caller.
async fn list_services_now(c: &Ctx) -> Result<Vec<gcp::run::Service>, StepError> {
    let negs = c
        .clients
        .compute()
        .aggregated_list_network_endpoint_groups(&c.spec.project)
        .await
        .map_err(|e| StepError::api("list the project's serverless NEGs (every region)", &e))?;
    let mut regions: std::collections::BTreeSet<String> = negs
        .iter()
        .filter(|(_, n)| {
            n.network_endpoint_type.as_deref() == Some("SERVERLESS")
                && n.cloud_run.as_ref().is_some_and(|r| r.service.is_some())
        })
        .filter_map(|(scope, _)| scope.strip_prefix("regions/"))
        .map(str::to_string)
        .collect();
    regions.insert(c.spec.region.clone());
    let lists = regions.iter().map(|region| {
        let parent = gcp::run::location_name(&c.spec.project, region);
        async move {
            c.data
                .shared_reads
                .run_services(&c.clients, &parent)
                .await
                .map_err(|e| StepError::api(&format!("list Cloud Run services in {region}"), &e))
        }
    });
    Ok(futures::future::try_join_all(lists)
        .await?
        .iter()
        .flat_map(|services| services.iter().cloned())
        .collect())
}

/// Mesh services other than this one that run as its account.
fn other_users<'a>(services: &'a [gcp::run::Service], c: &Ctx) -> Vec<&'a gcp::run::Service> {
    // The project may appear as ID or number in names, so compare from the location on.
    let own_suffix = format!("/locations/{}/services/{}", c.spec.region, c.spec.name);
    services
        .iter()
        .filter(|s| {
            let is_own = s.name.as_deref().is_some_and(|n| n.ends_with(&own_suffix));
            !is_own
                && s.template.as_ref().is_some_and(|t| {
                    t.service_mesh
                        .as_ref()
                        .and_then(|m| m.mesh.as_ref())
                        .is_some()
                        && t.service_account.as_deref() == Some(c.spec.service_account.as_str())
                })
        })
        .collect()
}

/// Whether one of `others` still needs `role`. Every mesh service needs trafficdirector.client; another role
/// (cloudtrace.agent) only a service whose annotation says it shares csmrun's grant of it. Keeping a role nobody
/// left needs would orphan it: the services that remain never added it, so none of them would ever remove it.
fn needed_by(others: &[&gcp::run::Service], role: &str) -> bool {
    others.iter().any(|s| {
        role == TRAFFIC_DIRECTOR_CLIENT
            || s.annotations
                .get(OWNED_ROLES_ANNOTATION)
                .is_some_and(|v| v.split(',').any(|r| r == role))
    })
}

fn edits(roles: &[String], member: &str, add: bool) -> Vec<Edit> {
    roles
        .iter()
        .map(|r| Edit {
            add,
            role: r.clone(),
            member: member.to_string(),
        })
        .collect()
}

/// Removes the roles this resource owns unless another mesh service in the project runs as the same account;
/// returns the roles kept for such services.
///
/// The project policy cannot be changed on a condition about other resources, so two things make races with
/// other writers (another resource of this apply, or another Terraform run) safe, each side checking after its
/// own change so that one of them always sees the other:
/// - a service *joining* the account may have found the grant in place just before it was removed here: the
///   users are listed again after the removal and a role someone now needs is granted back (the joiner, for its
///   part, checks the policy again after its deploy, see [`recheck`]);
/// - callers release before deleting the service (its annotation still tells a joiner that csmrun made the
///   grant, so the joiner shares it) and again after (two services leaving at once each see the other before
///   their deletes; after them, one of the two sees nobody). See `resource::delete_parts`.
pub async fn release(c: &Ctx, owned: &[String]) -> Result<Vec<String>, StepError> {
    release_listing(c, owned).await
}

/// What a destroy's release before its service delete kept, and one user it kept it for.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    pub roles: Vec<String>,
    /// The full name of another mesh service of the account, not being deleted by this process, that needs every
    /// kept role.
    pub for_user: Option<String>,
}

/// A user among `others` that this process is not deleting and that needs every role of `roles`.
fn staying_user(c: &Ctx, others: &[&gcp::run::Service], roles: &[String]) -> Option<String> {
    let leaving = c.data.iam.leaving.lock().unwrap_or_else(|p| p.into_inner());
    others
        .iter()
        .filter(|o| o.name.as_ref().is_some_and(|n| !leaving.contains(n)))
        .find(|o| roles.iter().all(|r| needed_by(&[**o], r)))
        .and_then(|o| o.name.clone())
}

/// The release of a destroy before its service delete ([`release`]), also naming a user the roles were kept for.
/// When the region's services were listed by this process a moment ago (the identity check's listing) and one of
/// them, not being deleted by this process, needs every owned role, the roles are kept without listing again: the
/// release after the delete ([`release_after_delete`]) checks that user again, and lists when it is gone.
pub async fn release_before_delete(c: &Ctx, owned: &[String]) -> Result<Kept, StepError> {
    if owned.is_empty() {
        return Ok(Kept::default());
    }
    let own = c.spec.service_path();
    c.data
        .iam
        .leaving
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(own);
    let parent = gcp::run::location_name(&c.spec.project, &c.spec.region);
    if let Some(recent) = c.data.shared_reads.recent_run_services(&parent) {
        let others = other_users(&recent, c);
        if let Some(user) = staying_user(c, &others, owned) {
            return Ok(Kept {
                roles: owned.to_vec(),
                for_user: Some(user),
            });
        }
    }
    let roles = release_listing(c, owned).await?;
    Ok(Kept {
        roles,
        for_user: None,
    })
}

/// The release after the service delete of what [`release_before_delete`] kept for another user: the region's
/// services listed once more (a listing shared with this process's concurrent identity checks and releases, started
/// after this caller asked, so after its delete); if a user there still needs every kept role, they stay, and it
/// releases them when it goes; otherwise [`release`] lists as usual. Of two services leaving at once, the later
/// listing after its delete finds the other gone: a user's listing after its delete always starts after the delete
/// of every service that saw it alive after its own delete.
pub async fn release_after_delete(c: &Ctx, kept: &Kept) -> Result<Vec<String>, StepError> {
    if kept.roles.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(user) = &kept.for_user {
        let parent = gcp::run::location_name(&c.spec.project, &c.spec.region);
        let listed = c
            .data
            .shared_reads
            .run_services(&c.clients, &parent)
            .await
            .map_err(|e| StepError::api(&format!("list the Cloud Run services of {parent}"), &e))?;
        let others = other_users(&listed, c);
        if kept.roles.iter().all(|r| needed_by(&others, r)) {
            return Ok(kept.roles.clone());
        }
        tracing::debug!(
            user,
            roles = ?kept.roles,
            "the service the roles were kept for is gone or no longer needs them all; releasing as usual"
        );
    }
    release(c, &kept.roles).await
}

/// [`release`]: lists the account's services, removes what nobody else needs, lists again after a removal.
async fn release_listing(c: &Ctx, owned: &[String]) -> Result<Vec<String>, StepError> {
    if owned.is_empty() {
        return Ok(Vec::new());
    }
    let services = list_services(c).await?;
    let others = other_users(&services, c);
    let (kept, release): (Vec<String>, Vec<String>) =
        owned.iter().cloned().partition(|r| needed_by(&others, r));
    for role in &kept {
        tracing::info!(
            account = c.spec.service_account,
            role = role.as_str(),
            "project role kept: another mesh service runs as this account"
        );
    }
    if release.is_empty() {
        return Ok(kept);
    }
    let member = c.spec.sa_member();
    let rm = c.clients.resource_manager();
    c.data
        .iam
        .apply(&rm, &c.spec.project, edits(&release, &member, false))
        .await
        .map_err(|e| StepError::api(&format!("remove project roles of {member}"), &e))?;
    let services = list_services(c).await?;
    let others = other_users(&services, c);
    let restore: Vec<String> = release
        .into_iter()
        .filter(|r| needed_by(&others, r))
        .collect();
    if restore.is_empty() {
        return Ok(kept);
    }
    tracing::info!(
        account = c.spec.service_account,
        roles = ?restore,
        "project roles granted back: a service joined the account while they were being removed"
    );
    c.data
        .iam
        .apply(&rm, &c.spec.project, edits(&restore, &member, true))
        .await
        .map_err(|e| StepError::api(&format!("grant project roles to {member} again"), &e))?;
    Ok(kept.into_iter().chain(restore).collect())
}

/// Checks the project policy again once the service is deployed (or failed to start) and grants any role the
/// account needs that is missing: another writer may have removed it after this resource's IAM step found it in
/// place (the other side of [`release`]'s race). A role granted here is this resource's own from now on. Returns
/// whether trafficdirector.client was granted again (the deploy then waits for it to propagate).
pub async fn recheck(c: &Ctx) -> Result<bool, StepError> {
    let member = c.spec.sa_member();
    let roles: Vec<String> = c
        .spec
        .project_roles()
        .into_iter()
        .map(str::to_string)
        .collect();
    let rm = c.clients.resource_manager();
    let changed = c
        .data
        .iam
        .apply(&rm, &c.spec.project, edits(&roles, &member, true))
        .await
        .map_err(|e| StepError::api(&format!("grant project roles to {member}"), &e))?;
    let regranted: Vec<String> = roles
        .into_iter()
        .zip(changed)
        .filter(|(_, ch)| *ch)
        .map(|(r, _)| r)
        .collect();
    if regranted.is_empty() {
        return Ok(false);
    }
    tracing::warn!(
        account = c.spec.service_account,
        roles = ?regranted,
        "project roles went missing after the IAM step (another writer released them); granted again"
    );
    let td = regranted.iter().any(|r| r == TRAFFIC_DIRECTOR_CLIENT);
    c.grants.regrant(&regranted, td);
    Ok(td)
}

/// The project roles the service's account needs (PRODUCT §2), granted by reference and released by the last user.
pub struct ProjectGrants;

#[async_trait]
impl super::Part for ProjectGrants {
    /// The roles, each one binding edit of the account.
    type Body = Vec<Edit>;
    type Input = ();
    type Record = Record;
    /// Roles the account needs but no longer has (removed out of band).
    type Observed = Vec<String>;
    type Clue = gcp::run::Service;
    /// The roles the service's annotation says csmrun granted (so the last user still releases them).
    type Found = Vec<String>;

    fn body(s: &Spec, _: &()) -> Vec<Edit> {
        let member = s.sa_member();
        s.project_roles()
            .iter()
            .map(|r| Edit {
                add: true,
                role: r.to_string(),
                member: member.clone(),
            })
            .collect()
    }

    /// Grants are shared, never taken.
    async fn free(_: &Ctx) -> Result<super::Free, StepError> {
        Ok(super::Free::Ours)
    }

    /// [`ensure`] as an update runs it: no NEG of this run names roles about to be granted.
    async fn ensure(c: &Ctx) -> Ensured<Record> {
        ensure(c, &Grants::default()).await
    }

    async fn undo(sent: &Ctx, cleanup: &Ctx, record: &Record) -> Result<(), StepError> {
        let Record::Iam { added } = record else {
            return Ok(());
        };
        release(cleanup, &sent.grants.roles_to_release(added))
            .await
            .map(drop)
    }

    /// Releases what the spec's account no longer needs among the roles named (`name`: comma-separated).
    async fn delete(c: &Ctx, roles: &str) -> Result<(), StepError> {
        let roles: Vec<String> = roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        release(c, &roles).await.map(drop)
    }

    async fn observe(c: &Ctx) -> Result<Vec<String>, StepError> {
        missing_roles_on_refresh(c).await
    }

    async fn discover(
        _: &gcp::Clients,
        _: &Place,
        svc: &gcp::run::Service,
    ) -> Result<Option<Vec<String>>, StepError> {
        Ok(Some(
            svc.annotations
                .get(OWNED_ROLES_ANNOTATION)
                .map(|v| {
                    v.split(',')
                        .filter(|r| !r.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A policy store that counts writes and fails the first `conflicts` writes with an etag conflict.
    struct FakeStore {
        policy: Mutex<gcp::Policy>,
        reads: AtomicUsize,
        writes: AtomicUsize,
        conflicts: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl PolicyStore for FakeStore {
        async fn get(&self, _: &str) -> Result<gcp::Policy, gcp::Error> {
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.policy.lock().unwrap().clone())
        }
        async fn set(&self, _: &str, p: &gcp::Policy) -> Result<gcp::Policy, gcp::Error> {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.conflicts.load(Ordering::SeqCst) > 0 {
                self.conflicts.fetch_sub(1, Ordering::SeqCst);
                let body = br#"{"error":{"code":409,"message":"There were concurrent policy changes.","status":"ABORTED"}}"#;
                return Err(gcp::Error::from_http(gcp::Api::ResourceManager, 409, body));
            }
            self.writes.fetch_add(1, Ordering::SeqCst);
            *self.policy.lock().unwrap() = p.clone();
            Ok(p.clone())
        }
    }

    fn store(conflicts: usize) -> Arc<FakeStore> {
        Arc::new(FakeStore {
            policy: Mutex::default(),
            reads: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            conflicts: AtomicUsize::new(conflicts),
        })
    }

    fn add(member: &str) -> Vec<Edit> {
        vec![Edit {
            add: true,
            role: TRAFFIC_DIRECTOR_CLIENT.into(),
            member: member.into(),
        }]
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_edits_of_one_project_are_coalesced_into_few_writes() {
        let s = store(0);
        let co = Arc::new(IamCoalescer::default());
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (s, co) = (Arc::clone(&s), Arc::clone(&co));
            tasks.push(tokio::spawn(async move {
                co.apply(
                    &*s,
                    "p",
                    add(&format!("serviceAccount:a{i}@p.iam.gserviceaccount.com")),
                )
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), vec![true]);
        }
        assert_eq!(
            s.policy
                .lock()
                .unwrap()
                .members(TRAFFIC_DIRECTOR_CLIENT)
                .len(),
            10
        );
        // The first writer takes one edit; everything queued meanwhile goes in the second write.
        assert_eq!(s.writes.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn etag_conflicts_are_re_read_and_retried() {
        let s = store(3);
        let co = IamCoalescer::default();
        assert_eq!(
            co.apply(&*s, "p", add("user:a@example.com")).await.unwrap(),
            vec![true]
        );
        assert_eq!(s.writes.load(Ordering::SeqCst), 1);
        assert!(s
            .policy
            .lock()
            .unwrap()
            .has_member(TRAFFIC_DIRECTOR_CLIENT, "user:a@example.com"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_grant_is_remembered_so_a_later_caller_finding_it_knows_when_it_was_made() {
        let s = store(0);
        let co = IamCoalescer::default();
        let member = "serviceAccount:a@p.iam.gserviceaccount.com";
        assert_eq!(co.granted_at("p", TRAFFIC_DIRECTOR_CLIENT, member), None);
        let before = Instant::now();
        assert_eq!(co.apply(&*s, "p", add(member)).await.unwrap(), vec![true]);
        let first = co.granted_at("p", TRAFFIC_DIRECTOR_CLIENT, member).unwrap();
        assert!(first >= before);
        tokio::time::sleep(Duration::from_secs(5)).await;
        // The second caller finds the binding (unchanged) but still learns when this process added it.
        assert_eq!(co.apply(&*s, "p", add(member)).await.unwrap(), vec![false]);
        assert_eq!(
            co.granted_at("p", TRAFFIC_DIRECTOR_CLIENT, member),
            Some(first)
        );
        let remove = vec![Edit {
            add: false,
            role: TRAFFIC_DIRECTOR_CLIENT.into(),
            member: member.into(),
        }];
        assert_eq!(co.apply(&*s, "p", remove).await.unwrap(), vec![true]);
        assert_eq!(co.granted_at("p", TRAFFIC_DIRECTOR_CLIENT, member), None);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_refreshes_share_one_policy_read_until_a_write_or_the_snapshot_ages() {
        let s = store(0);
        let co = Arc::new(IamCoalescer::default());
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (s, co) = (Arc::clone(&s), Arc::clone(&co));
            tasks.push(tokio::spawn(
                async move { co.policy_snapshot(&*s, "p").await },
            ));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(s.reads.load(Ordering::SeqCst), 1);
        // A write of this process makes the next refresh read again, and see it.
        co.apply(&*s, "p", add("user:a@example.com")).await.unwrap();
        let reads = s.reads.load(Ordering::SeqCst);
        let p = co.policy_snapshot(&*s, "p").await.unwrap();
        assert!(p.has_member(TRAFFIC_DIRECTOR_CLIENT, "user:a@example.com"));
        assert_eq!(s.reads.load(Ordering::SeqCst), reads + 1);
        co.policy_snapshot(&*s, "p").await.unwrap();
        assert_eq!(s.reads.load(Ordering::SeqCst), reads + 1);
        tokio::time::sleep(REFRESH_SNAPSHOT).await;
        co.policy_snapshot(&*s, "p").await.unwrap();
        assert_eq!(s.reads.load(Ordering::SeqCst), reads + 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_existing_binding_is_reported_unchanged_and_not_written() {
        let s = store(0);
        s.policy
            .lock()
            .unwrap()
            .add_member(TRAFFIC_DIRECTOR_CLIENT, "user:a@example.com");
        let co = IamCoalescer::default();
        assert_eq!(
            co.apply(&*s, "p", add("user:a@example.com")).await.unwrap(),
            vec![false]
        );
        assert_eq!(s.writes.load(Ordering::SeqCst), 0);
    }
}
