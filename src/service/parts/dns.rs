//! The shared DNS part: a private zone for the domain and the wildcard record; never overwritten, deleted by the last user.
//!
//! Users of the shared DNS zone: the zone holds a TXT registry listing, one quoted string per rrdata, the ownership
//! marker of every service using the domain: the head `_csmrun-users.<domain>.` and, past Cloud DNS's 100 rrdatas
//! per record set, shards `_csmrun-users-<k>.<domain>.` that the head names (`steps::dns` has the protocol and the
//! argument that shards keep the guarantees). It is changed only with Cloud DNS `changes.create`, whose deletions
//! must match each record set exactly, so each change is a compare-and-swap; this process reads the registry again
//! or deletes the zone only once its last change is `done`.
//! A create (its record step) and an update register the service after the zone exists and before the record is
//! ensured and the route made; a leaver (destroy, update to another domain, rollback of a create or of such an
//! update) unregisters, and only when nobody registered remains, no other HTTPRoute serves a hostname under the
//! domain (services made before the registry, or imported and not updated since, which their first update
//! registers) and the zone carries csmrun's label does it delete the registry and the wildcard record in one change,
//! then the zone (a `containerNotEmpty` answer means someone registered meanwhile: the zone stays). Within one
//! provider process the registrations of a zone are coalesced into one change per batch (`parts::dns::ZoneLocks`).
//! A registration whose create is killed stays: the zone is kept until that service is destroyed, and the resumed
//! create finds itself listed. Registry membership is not drift (refresh does not read it).
//!
//! **The users registry.** The zone lists the services using the domain in TXT record sets (ttl 300), one quoted
//! ownership marker (`csmrun:<project>/<region>/<name>`) per rrdata. Cloud DNS allows at most
//! `resourceRecordsPerRrset` rrdatas per record set (100; the project's quota, `projects.get`), so the registry
//! is sharded: the head `_csmrun-users.<domain>.` (the name of the single registry of earlier versions, which is
//! read as a head without shards) holds up to 99 markers and, while other shards exist, one more rrdata
//! `"shards:1,4"` naming them; shard `k` is `_csmrun-users-<k>.<domain>.` with up to 100 markers. A joiner goes
//! into the lowest shard with room, a new shard is opened only when all are full.
//!
//! It is changed only by Cloud DNS `changes.create`, whose deletions must match the record set exactly (else 412),
//! and whose additions must not exist (else 409): every change deletes each record set it alters exactly as read,
//! so it is a compare-and-swap over all of them at once. Two rules make the shards safe:
//! 1. a change that opens or deletes a shard also rewrites the head (its `shards:` list changes), so the head's
//!    content changes whenever the set of shards does;
//! 2. the last leavers remove the registry in one change that deletes the head and every shard it names, each
//!    exactly as read (listing only leavers), together with the wildcard record; the zone is deleted after that.
//!
//! Why a joiner is never left without its zone or record: once a joiner's change has applied, its marker is in a
//! shard that the head names (rule 1 keeps "every non-empty shard is named by the head" true after every change).
//! A last-leaver change that read the registry before the joiner's change deletes the head and the shards as they
//! were then: if the joiner added itself to an existing shard, that shard no longer matches; if it opened a new
//! shard, the head no longer matches (rule 1). Either way Google refuses the leaver's whole change (412) and the
//! leaver reads again, now finding the joiner. A leaver that read after the joiner's change sees it listed and only
//! unregisters. A joiner whose change comes after a last-leaver change finds the record sets it read gone (412/404)
//! and reads again: an empty registry, then (after the zone delete) no zone, which it creates again. The zone
//! delete itself is refused (`containerNotEmpty`) if anyone registered meanwhile. Reads of the head and the shards
//! need not be atomic: a change only applies if everything it touches is still as read, and the release touches
//! everything.
//!
//! **Changes are asynchronous.** Google answers `changes.create` with `status: "pending"`; reads of record sets and
//! the zone delete's emptiness check may not show the change until `changes.get` says `done`. This process's last
//! registry change is therefore awaited until done (polled with the client's backoff, bounded by the resource
//! deadline, ended by Ctrl-C or StopProvider) before it reads the registry again or deletes the zone, and a joiner's
//! change before its record and route are made. Its next change need not wait: it is planned from the registry as
//! this process last wrote it ([`Written`]), and Google checks a change against every change accepted before it
//! and applies them in sequence. So a destroy of many services costs about one `changes.create` per batch of
//! leavers. Another process may read a registry that a pending change is altering: its compare-and-swap then
//! fails and it reads again after a backoff.
//!
//! A batch of one process is split into as many changes as Cloud DNS's per-change limits need
//! (`rrsetAdditionsPerChange`, `rrsetDeletionsPerChange`, `totalRrdataSizePerChange`).

use crate::service::explain::Explanation;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use gcp::dns::{ManagedZone, PrivateVisibilityConfig, ResourceRecordSet, VisibleNetwork};

use super::{Ensured, Made, Place};
use crate::service::coalesce::Coalescer;
use crate::service::names;
use crate::service::runner::CancelledError;
use crate::service::runner::Failed;
use crate::service::snapshot;
use crate::service::spec::Spec;
use crate::service::steps::{found, gone, project, Ctx, Node, Record, StepError};

/// The head of the registry that lists the services using the domain: `_csmrun-users.<domain>.` (see the module
/// documentation for the shards and the protocol).
pub fn registry_name(domain: &str) -> String {
    format!("_csmrun-users.{domain}.")
}

/// The name of shard `k` of the registry: the head for 0, `_csmrun-users-<k>.<domain>.` otherwise.
pub fn shard_name(domain: &str, k: u32) -> String {
    if k == 0 {
        registry_name(domain)
    } else {
        format!("_csmrun-users-{k}.{domain}.")
    }
}

/// The registry's record type.
pub const REGISTRY_TYPE: &str = "TXT";
/// The head's rrdata naming the other shards in use (`"shards:1,2"`); never a marker (markers start `csmrun:`).
const SHARDS_PREFIX: &str = "shards:";
/// The registry's TTL (nothing resolves it; Cloud DNS requires one).
const REGISTRY_TTL: i32 = 300;
/// How often a joiner re-creates a zone that disappeared under it before giving up.
const ZONE_ATTEMPTS: u32 = 10;
/// How often a writer whose batch was cut short by another context (its holder's Ctrl-C) queues again.
const REQUEUES: u32 = 5;

/// The limits of Cloud DNS that shape the registry's changes (the project's `Quota`, `projects.get`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `resourceRecordsPerRrset`: rrdatas per shard.
    pub per_rrset: usize,
    /// `rrsetAdditionsPerChange`.
    pub additions: usize,
    /// `rrsetDeletionsPerChange`.
    pub deletions: usize,
    /// `totalRrdataSizePerChange`, in bytes.
    pub bytes: usize,
}

impl Default for Limits {
    /// Google's documented limits (cloud.google.com/dns/quotas), for a project whose quota cannot be read.
    fn default() -> Self {
        Limits {
            per_rrset: 100,
            additions: 1_000,
            deletions: 1_000,
            bytes: 100_000,
        }
    }
}

impl Limits {
    fn from_quota(q: &gcp::dns::Quota) -> Limits {
        let d = Limits::default();
        let pick = |v: Option<i64>, default: usize| {
            v.and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        Limits {
            per_rrset: pick(q.resource_records_per_rrset, d.per_rrset),
            additions: pick(q.rrset_additions_per_change, d.additions),
            deletions: pick(q.rrset_deletions_per_change, d.deletions),
            bytes: pick(q.total_rrdata_size_per_change, d.bytes),
        }
    }

    /// Markers a shard holds: the head keeps one rrdata for the list of the other shards.
    fn capacity(&self, k: u32) -> usize {
        if k == 0 {
            self.per_rrset.saturating_sub(1)
        } else {
            self.per_rrset
        }
    }

    /// Whether Cloud DNS accepts `change` as one request.
    fn admits(&self, change: &gcp::dns::Change) -> bool {
        let bytes: usize = change
            .additions
            .iter()
            .chain(&change.deletions)
            .flat_map(|r| &r.rrdatas)
            .map(String::len)
            .fold(0, usize::saturating_add);
        change.additions.len() <= self.additions
            && change.deletions.len() <= self.deletions
            && bytes <= self.bytes
            && change
                .additions
                .iter()
                .all(|r| r.rrdatas.len() <= self.per_rrset)
    }
}

/// The registry as read: each record set (head = 0, then the shards the head names) and its markers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    /// The record sets read, by shard; `None`: named by the head but absent.
    pub read: BTreeMap<u32, Option<gcp::dns::ResourceRecordSet>>,
    /// The markers of each shard.
    pub members: BTreeMap<u32, BTreeSet<String>>,
}

impl Registry {
    /// Every listed marker.
    pub fn all(&self) -> BTreeSet<String> {
        self.members.values().flatten().cloned().collect()
    }

    /// The record sets that exist, as read (what a change deleting the whole registry deletes).
    fn existing(&self) -> Vec<gcp::dns::ResourceRecordSet> {
        self.read.values().flatten().cloned().collect()
    }

    /// The registry once `change`, planned from this one, has applied: what [`read_registry`] reads then if
    /// nobody else wrote meanwhile (the head and the shards the new head names, each as the change wrote it).
    pub fn after(&self, change: &gcp::dns::Change, domain: &str) -> Registry {
        let mut sets = self.read.clone();
        let registry_sets =
            |rs: &[gcp::dns::ResourceRecordSet]| -> Vec<(u32, gcp::dns::ResourceRecordSet)> {
                rs.iter()
                    .filter(|r| r.kind == REGISTRY_TYPE)
                    .filter_map(|r| shard_index(domain, &r.name).map(|k| (k, r.clone())))
                    .collect()
            };
        for (k, _) in registry_sets(&change.deletions) {
            sets.insert(k, None);
        }
        for (k, r) in registry_sets(&change.additions) {
            sets.insert(k, Some(r));
        }
        let head = sets.get(&0).cloned().flatten();
        let named = head.as_ref().map(shards_named).unwrap_or_default();
        let mut reg = Registry::default();
        reg.members.insert(0, members_of(head.as_ref()));
        reg.read.insert(0, head);
        for k in named {
            let shard = sets.get(&k).cloned().flatten();
            reg.members.insert(k, members_of(shard.as_ref()));
            reg.read.insert(k, shard);
        }
        reg
    }
}

/// Which shard of the domain's registry a record set name is ([`shard_name`] inverted).
fn shard_index(domain: &str, name: &str) -> Option<u32> {
    if name == registry_name(domain) {
        return Some(0);
    }
    name.strip_prefix("_csmrun-users-")?
        .strip_suffix(&format!(".{domain}."))?
        .parse::<u32>()
        .ok()
        .filter(|k| *k > 0)
}

/// The shards other than the head that a head record set names.
fn shards_named(head: &gcp::dns::ResourceRecordSet) -> BTreeSet<u32> {
    head.rrdatas
        .iter()
        .filter_map(|d| d.trim().trim_matches('"').strip_prefix(SHARDS_PREFIX))
        .flat_map(|list| list.split(','))
        .filter_map(|k| k.trim().parse::<u32>().ok())
        .filter(|k| *k > 0)
        .collect()
}

/// The markers a registry record set lists.
fn members_of(rrset: Option<&gcp::dns::ResourceRecordSet>) -> BTreeSet<String> {
    rrset
        .map(|r| r.rrdatas.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|d| d.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty() && !m.starts_with(SHARDS_PREFIX))
        .collect()
}

/// Reads the head and every shard it names, once this process's last registry change of the zone is done (reads
/// may not show a pending change).
pub async fn read_registry(c: &Ctx) -> Result<Registry, StepError> {
    settle_pending(c).await?;
    let s = &c.spec;
    let dns = c.clients.dns();
    let mut reg = Registry::default();
    let head_name = registry_name(&s.domain);
    let head = found(
        dns.get_rrset(&s.project, &s.dns_zone_name, &head_name, REGISTRY_TYPE)
            .await,
        &format!("DNS users registry {head_name}"),
    )?;
    let named = head.as_ref().map(shards_named).unwrap_or_default();
    reg.members.insert(0, members_of(head.as_ref()));
    reg.read.insert(0, head);
    for k in named {
        let name = shard_name(&s.domain, k);
        let shard = found(
            dns.get_rrset(&s.project, &s.dns_zone_name, &name, REGISTRY_TYPE)
                .await,
            &format!("DNS users registry {name}"),
        )?;
        reg.members.insert(k, members_of(shard.as_ref()));
        reg.read.insert(k, shard);
    }
    Ok(reg)
}

/// The change that turns `reg` into a registry listing its members plus `joins` minus `leaves` (none when that is
/// what it lists); `None` also when nobody would remain (the release path handles that).
///
/// A joiner goes into the lowest shard with room; a shard is created only together with a new head naming it, and
/// an emptied shard is deleted together with a new head no longer naming it, so the head changes whenever the set
/// of shards does. Every record set the change alters is deleted exactly as read.
pub fn plan(
    reg: &Registry,
    domain: &str,
    joins: &BTreeSet<String>,
    leaves: &BTreeSet<String>,
    limits: &Limits,
) -> Option<gcp::dns::Change> {
    let mut members = reg.members.clone();
    members.entry(0).or_default();
    for m in members.values_mut() {
        m.retain(|x| !leaves.contains(x));
    }
    let present: BTreeSet<String> = members.values().flatten().cloned().collect();
    let mut to_place: Vec<String> = joins
        .iter()
        .filter(|j| !present.contains(*j) && !leaves.contains(*j))
        .cloned()
        .collect();
    // A head written before the shards existed may be full: what does not fit moves to a shard.
    for (k, m) in members.iter_mut() {
        while m.len() > limits.capacity(*k) {
            let Some(last) = m.pop_last() else { break };
            to_place.push(last);
        }
    }
    for j in to_place {
        let room = members
            .iter()
            .find(|(k, m)| m.len() < limits.capacity(**k))
            .map(|(k, _)| *k);
        let k =
            room.unwrap_or_else(|| (1..).find(|k| !members.contains_key(k)).unwrap_or(u32::MAX));
        members.entry(k).or_default().insert(j);
    }
    members.retain(|k, m| *k == 0 || !m.is_empty());
    if members.values().all(BTreeSet::is_empty) {
        return None;
    }
    let others: Vec<String> = members
        .keys()
        .filter(|k| **k > 0)
        .map(u32::to_string)
        .collect();
    let mut wanted: BTreeMap<u32, gcp::dns::ResourceRecordSet> = BTreeMap::new();
    for (k, m) in &members {
        let mut rrdatas: Vec<String> = m.iter().map(|x| format!("\"{x}\"")).collect();
        if *k == 0 && !others.is_empty() {
            rrdatas.push(format!("\"{SHARDS_PREFIX}{}\"", others.join(",")));
        }
        if !rrdatas.is_empty() {
            wanted.insert(
                *k,
                gcp::dns::ResourceRecordSet {
                    name: shard_name(domain, *k),
                    kind: REGISTRY_TYPE.into(),
                    ttl: Some(REGISTRY_TTL),
                    rrdatas,
                    ..Default::default()
                },
            );
        }
    }
    let same = |a: &gcp::dns::ResourceRecordSet, b: &gcp::dns::ResourceRecordSet| {
        let set = |r: &gcp::dns::ResourceRecordSet| -> BTreeSet<String> {
            r.rrdatas.iter().map(|d| d.trim().to_string()).collect()
        };
        a.ttl == b.ttl && set(a) == set(b) && a.rrdatas.len() == b.rrdatas.len()
    };
    let mut change = gcp::dns::Change::default();
    let shards: BTreeSet<u32> = reg.read.keys().chain(wanted.keys()).copied().collect();
    for k in shards {
        let old = reg.read.get(&k).and_then(Option::as_ref);
        let new = wanted.get(&k);
        match (old, new) {
            (Some(o), Some(n)) if same(o, n) => {}
            _ => {
                change.deletions.extend(old.cloned());
                change.additions.extend(new.cloned());
            }
        }
    }
    (!change.additions.is_empty() || !change.deletions.is_empty()).then_some(change)
}

/// The pause after a registry change lost its compare-and-swap, before reading the registry again: jittered, from
/// 100-200 ms doubling to 2.5-5 s (waited with the context's sleep, which the deadline and Ctrl-C end).
fn registry_backoff() -> gcp::Backoff {
    gcp::Backoff::new(Duration::from_millis(200), Duration::from_secs(5), 2.0)
}

/// Coalesces, per zone and within one provider process, the changes of the users registry ([`Coalescer`]): a
/// batch is applied in as few changes as Cloud DNS's limits allow (an apply of many services of a domain costs one
/// compare-and-swap per batch, not a race of N writers). Across processes the changes' exact-match deletions order
/// the writers.
#[derive(Default)]
pub struct ZoneLocks {
    writes: Coalescer<(String, Op), Answer>,
    /// Each project's Cloud DNS limits, read once per process.
    limits: Mutex<HashMap<String, Limits>>,
    /// Each zone's registry as this process last wrote it ([`Written`]), by `project/zone`.
    written: Mutex<HashMap<String, Written>>,
}

/// A zone's registry as this process's last change left it, and that change while it may be pending.
///
/// The next batch of the process plans from this instead of reading the registry again. That is as safe as a
/// read: a read may be stale too (another process's change pending), and a change applies only if every record
/// set it deletes is still exactly as assumed, so a stale assumption costs a refused change (412) and a fresh
/// read, never a lost member. It is used only when every leaver of the batch is listed in it and no joiner is, so
/// that each entry's answer rests on the change itself and not on the assumption (a leaver missing from it is
/// read for: it may have been registered by another process, as by a create that was killed). Because Google
/// checks a change against every change accepted before it and applies them in sequence (dns.v1.json `Change`:
/// "The current state of the `ManagedZone` is the sum effect of applying all `Change` elements in the `Changes`
/// collection in sequence"), a change planned from this need not wait for the previous one to be done; reads of
/// the registry and the zone delete still do ([`settle_pending`]).
#[derive(Debug, Clone, Default)]
struct Written {
    /// The registry after the last change; `None` once it may not be (a refused change, an error, a release).
    registry: Option<Registry>,
    /// The last change, not yet seen `done`.
    pending: Option<gcp::dns::Change>,
}

fn zone_key(c: &Ctx) -> String {
    format!("{}/{}", c.spec.project, c.spec.dns_zone_name)
}

fn with_written<T>(c: &Ctx, f: impl FnOnce(&mut Written) -> T) -> T {
    let mut map = c
        .data
        .zone_locks
        .written
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    f(map.entry(zone_key(c)).or_default())
}

/// Forgets the registry as last written (it may no longer be what the zone holds); a pending change stays awaited.
fn forget_written(c: &Ctx) {
    with_written(c, |w| w.registry = None);
}

/// Waits until this process's last registry change of the zone is done (a missing zone or change ends the wait:
/// nothing of it is left to show).
async fn settle_pending(c: &Ctx) -> Result<(), StepError> {
    let Some(change) = with_written(c, |w| w.pending.clone()) else {
        return Ok(());
    };
    let s = &c.spec;
    let id = change.id.clone();
    match c
        .clients
        .dns()
        .wait_change(&s.project, &s.dns_zone_name, change)
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            return Err(StepError::api(
                &format!(
                    "wait for the change of DNS users registry {} to be done",
                    registry_name(&s.domain)
                ),
                &e,
            ))
        }
    }
    with_written(c, |w| {
        if w.pending.as_ref().map(|p| &p.id) == Some(&id) {
            w.pending = None;
        }
    });
    Ok(())
}

/// What a service does to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Join,
    /// Leaves; `route` is its HTTPRoute, which does not count as another user of the domain.
    Leave {
        route: String,
    },
}

/// A writer's answer to one queued entry.
#[derive(Debug, Clone)]
enum Answer {
    /// Join: whether this change added the service (false: it was listed already). Leave: whether the zone is
    /// gone (released, or already absent).
    Done(bool),
    /// Join: the zone does not exist; the joiner ensures it (with its own network) and queues again.
    ZoneGone,
    Failed(StepError),
}

/// The project's Cloud DNS limits: its quota as `projects.get` answers it, read once per process; Google's
/// documented limits when it cannot be read (the change then fails with Google's own `quotaExceeded` if the
/// project's limits are lower).
pub async fn limits(c: &Ctx) -> Limits {
    let project = &c.spec.project;
    let cached = c
        .data
        .zone_locks
        .limits
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(project)
        .copied();
    if let Some(l) = cached {
        return l;
    }
    match c.clients.dns().get_project(project).await {
        Ok(p) => {
            let l = Limits::from_quota(&p.quota);
            c.data
                .zone_locks
                .limits
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(project.clone(), l);
            l
        }
        Err(e) => {
            tracing::debug!(project, error = %e, "Cloud DNS quota not read; using Google's documented limits");
            Limits::default()
        }
    }
}

/// Queues `op` for the spec's zone and returns its answer, applying the queue itself when it gets the lock first.
async fn submit(c: &Ctx, op: Op) -> Answer {
    let mut requeues = 0;
    loop {
        let answer = submit_once(c, op.clone()).await;
        // Another context's batch cut short by its own Ctrl-C or timeout says nothing about this one's.
        let foreign_interruption = matches!(&answer, Answer::Failed(e) if e.is_interrupted())
            && !c.cancel.is_cancelled()
            && !c.stop.is_cancelled()
            && tokio::time::Instant::now() < c.deadline;
        if !foreign_interruption || requeues >= REQUEUES {
            return answer;
        }
        requeues += 1;
    }
}

async fn submit_once(c: &Ctx, op: Op) -> Answer {
    let key = zone_key(c);
    let apply = |batch: Vec<(String, Op)>| async move { apply_batch(c, &batch).await };
    c.data
        .zone_locks
        .writes
        .submit(&key, (c.spec.marker(), op), apply)
        .await
        .unwrap_or_else(|| Answer::Failed(StepError::cancelled()))
}

/// How one attempt at a batch ended.
enum Round {
    /// The registry now lists `before` plus the joiners minus the leavers (or already did).
    Changed { before: BTreeSet<String> },
    /// The last users left: registry and record removed; `zone_deleted` says whether the zone went too.
    Released { zone_deleted: bool },
    /// The zone does not exist.
    ZoneGone,
    /// Someone else changed the registry (or the record) since it was read: read again.
    Conflict,
    /// The registry as last written was not what the zone holds (someone else wrote since): read it at once.
    Stale,
    /// Progress was made (a leaver that was never registered registered first): read again at once.
    Again,
    /// The change would exceed one of Cloud DNS's per-change limits: apply fewer entries at once.
    TooBig,
}

/// Applies one batch of the spec's zone, in as many changes as Cloud DNS's limits need; one answer per entry.
async fn apply_batch(c: &Ctx, ops: &[(String, Op)]) -> Vec<Answer> {
    let mut answers = Vec::with_capacity(ops.len());
    let mut rest = ops;
    let mut size = ops.len();
    while !rest.is_empty() {
        let n = size.clamp(1, rest.len());
        match apply_chunk(c, &rest[..n]).await {
            None if n > 1 => size = n / 2,
            None => {
                answers.push(Answer::Failed(StepError::refused(
                    Explanation::new(
                        format!("DNS zone {}", c.spec.dns_zone_name),
                        "users registry change too large",
                    )
                    .why(format!(
                        "registering {} would exceed a Cloud DNS limit per change (the project's DNS quota)",
                        rest[0].0
                    ))
                    .fix("ask Google to raise `totalRrdataSizePerChange` for the project"),
                )));
                rest = &rest[1..];
            }
            Some(a) => {
                answers.extend(a);
                rest = &rest[n..];
            }
        }
    }
    answers
}

/// Applies `ops` in one change, retrying on conflicts until the holder's deadline; `None` when one change cannot
/// hold them.
async fn apply_chunk(c: &Ctx, ops: &[(String, Op)]) -> Option<Vec<Answer>> {
    let joins: BTreeSet<String> = ops
        .iter()
        .filter(|(_, op)| *op == Op::Join)
        .map(|(m, _)| m.clone())
        .collect();
    let leaves: BTreeMap<String, String> = ops
        .iter()
        .filter_map(|(m, op)| match op {
            Op::Leave { route } if !joins.contains(m) => Some((m.clone(), route.clone())),
            _ => None,
        })
        .collect();
    let limits = limits(c).await;
    let mut conflicts: u32 = 0;
    let result = loop {
        match round(c, &joins, &leaves, &limits).await {
            Ok(Round::Conflict) => {
                let pause = registry_backoff().delay(conflicts);
                conflicts = conflicts.saturating_add(1);
                tracing::debug!(
                    zone = c.spec.dns_zone_name,
                    conflicts,
                    "DNS users registry changed meanwhile; reading it again"
                );
                if let Err(e) = c.sleep(pause).await {
                    break Err(e);
                }
            }
            Ok(Round::Again | Round::Stale) => {}
            Ok(Round::TooBig) => return None,
            Ok(done) => break Ok(done),
            Err(e) => break Err(e),
        }
    };
    Some(
        ops.iter()
            .map(|(m, op)| match (&result, op) {
                (Err(e), _) => Answer::Failed(e.clone()),
                (Ok(Round::Changed { before }), Op::Join) => Answer::Done(!before.contains(m)),
                (Ok(Round::ZoneGone), Op::Join) => Answer::ZoneGone,
                (Ok(Round::ZoneGone), Op::Leave { .. }) => Answer::Done(true),
                (Ok(Round::Released { zone_deleted }), _) => Answer::Done(*zone_deleted),
                (Ok(_), _) => Answer::Done(false),
            })
            .collect(),
    )
}

/// One read and one change of the registry (and, for the last users leaving, of the record and the zone). The
/// read is the registry as this process last wrote it when that can serve ([`Written`]).
async fn round(
    c: &Ctx,
    joins: &BTreeSet<String>,
    leaves: &BTreeMap<String, String>,
    limits: &Limits,
) -> Result<Round, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    let what = format!("DNS users registry {}", registry_name(&s.domain));
    let leaving: BTreeSet<String> = leaves.keys().cloned().collect();
    let remembered = with_written(c, |w| w.registry.clone()).filter(|r| {
        let listed = r.all();
        leaving.iter().all(|m| listed.contains(m)) && !joins.iter().any(|m| listed.contains(m))
    });
    let from = Write {
        cached: remembered.is_some(),
        wait: false,
    };
    let registry = match remembered {
        Some(r) => r,
        None => read_registry(c).await?,
    };
    let before = registry.all();
    if let Some(change) = plan(&registry, &s.domain, joins, &leaving, limits) {
        if !limits.admits(&change) {
            return Ok(Round::TooBig);
        }
        // A joiner's registration is done before its record and route are made (the module's protocol); a
        // leaver that is not the last need not wait for its own.
        let write = Write {
            wait: !joins.is_empty(),
            ..from
        };
        return settle(
            c,
            &change,
            &registry,
            write,
            &what,
            Round::Changed { before },
        )
        .await;
    }
    let mut after = before.clone();
    after.extend(joins.iter().cloned());
    after.retain(|m| !leaving.contains(m));
    if !after.is_empty() {
        // Nothing to change: every joiner is listed, no leaver is.
        return Ok(Round::Changed { before });
    }
    // Nobody registered remains: the zone goes if it is csmrun's and no route of an unregistered service (made
    // before the registry existed, or imported and not updated since) uses the domain.
    let r = dns.get_managed_zone(&s.project, &s.dns_zone_name).await;
    let Some(zone) = found(r, &format!("DNS zone {}", s.dns_zone_name))? else {
        forget_written(c);
        return Ok(Round::ZoneGone);
    };
    // A state whose `dns_zone_name` was pointed at a zone of another domain: that zone holds no registry of this
    // domain, so it looks unused, and it is not this service's to delete.
    if !zone_is_this_services(&zone, s) {
        return Err(zone_not_this_services(s));
    }
    let labelled =
        zone.labels.get(names::MANAGED_BY_KEY).map(String::as_str) == Some(names::MANAGED_BY_VALUE);
    let routes: BTreeSet<&str> = leaves.values().map(String::as_str).collect();
    let existing = registry.existing();
    if !labelled || routes_under_domain(c, &routes).await? {
        tracing::info!(
            zone = s.dns_zone_name,
            labelled,
            "DNS zone and record kept: not csmrun's, or other routes serve hostnames under the domain"
        );
        if existing.is_empty() {
            return Ok(Round::Changed { before });
        }
        let change = gcp::dns::Change {
            deletions: existing,
            ..Default::default()
        };
        if !limits.admits(&change) {
            return Ok(Round::TooBig);
        }
        let write = Write { wait: true, ..from };
        return settle(
            c,
            &change,
            &registry,
            write,
            &what,
            Round::Changed { before },
        )
        .await;
    }
    let want = wildcard_record(s);
    let r = dns
        .get_rrset(&s.project, &s.dns_zone_name, &want.name, "A")
        .await;
    let record = match found(r, &format!("DNS record {}", want.name))? {
        Some(r) if r.rrdatas == want.rrdatas => Some(r),
        Some(r) => {
            tracing::warn!(
                record = want.name,
                addresses = ?r.rrdatas,
                "wildcard record kept: it has other addresses than this service's `dns_address`"
            );
            None
        }
        None => None,
    };
    if existing.is_empty() && record.is_some() {
        // Leavers that never registered (made before the registry existed, or whose registration was refused)
        // register first, so that the change which removes the record is conditional on nobody having joined.
        let Some(change) = plan(&registry, &s.domain, &leaving, &BTreeSet::new(), limits) else {
            return Ok(Round::Again);
        };
        if !limits.admits(&change) {
            return Ok(Round::TooBig);
        }
        return settle(c, &change, &registry, from, &what, Round::Again).await;
    }
    // One change deletes the head, every shard it names (each exactly as read, listing only leavers) and the
    // record: it fails if any joiner changed any of them since they were read.
    let deletions: Vec<_> = existing.into_iter().chain(record).collect();
    if !deletions.is_empty() {
        let change = gcp::dns::Change {
            deletions,
            ..Default::default()
        };
        if !limits.admits(&change) {
            return Ok(Round::TooBig);
        }
        let released = Round::Released {
            zone_deleted: false,
        };
        // Awaited until done: Cloud DNS refuses to delete a zone whose record sets a pending change still holds.
        let write = Write { wait: true, ..from };
        match settle(c, &change, &registry, write, &what, released).await? {
            Round::Released { .. } => {}
            other => return Ok(other),
        }
    }
    // A service registering from here on finds the zone empty of users: if it is quicker than this delete the
    // zone is not empty (containerNotEmpty) and stays; if slower, its change finds no zone and it creates one.
    settle_pending(c).await?;
    forget_written(c);
    let zone_deleted = match dns.delete_managed_zone(&s.project, &s.dns_zone_name).await {
        Ok(()) => true,
        Err(e) if e.is_not_found() => true,
        Err(e) if e.is_in_use() => false,
        Err(e) => {
            return Err(StepError::api(
                &format!("delete DNS zone {}", s.dns_zone_name),
                &e,
            ))
        }
    };
    Ok(Round::Released { zone_deleted })
}

/// How a registry change was planned and is sent.
#[derive(Debug, Clone, Copy)]
struct Write {
    /// From the registry as this process last wrote it, not from a read.
    cached: bool,
    /// Awaited until Google reports it `done` (else it is left pending, [`Written::pending`]).
    wait: bool,
}

/// Sends `change`, planned from `from`, and (when `write.wait`) waits until Cloud DNS reports it `done` (reads
/// show it from then on); `done` when it applied, [`Round::Conflict`] (or [`Round::Stale`] for a change planned
/// from the registry as last written) when the registry or record changed since, [`Round::ZoneGone`] when the zone
/// is gone. The registry as it leaves it is remembered for the next batch ([`Written`]).
async fn settle(
    c: &Ctx,
    change: &gcp::dns::Change,
    from: &Registry,
    write: Write,
    what: &str,
    done: Round,
) -> Result<Round, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    let refused = if write.cached {
        Round::Stale
    } else {
        Round::Conflict
    };
    let accepted = match dns
        .create_change(&s.project, &s.dns_zone_name, change)
        .await
    {
        Ok(a) => a,
        Err(e) if e.is_conflict() || e.is_already_exists() => {
            forget_written(c);
            return Ok(refused);
        }
        // Cloud DNS also answers 404 for a deletion whose record set no longer exists: only a missing zone means
        // the zone is gone.
        Err(e) if e.is_not_found() => {
            forget_written(c);
            let r = dns.get_managed_zone(&s.project, &s.dns_zone_name).await;
            return match found(r, &format!("DNS zone {}", s.dns_zone_name))? {
                Some(_) => Ok(refused),
                None => Ok(Round::ZoneGone),
            };
        }
        Err(e) => {
            // It may have applied: the next batch reads.
            forget_written(c);
            return Err(StepError::api(&format!("change {what}"), &e));
        }
    };
    let after = from.after(change, &s.domain);
    if !write.wait {
        with_written(c, |w| {
            w.registry = Some(after);
            w.pending = Some(accepted);
        });
        return Ok(done);
    }
    // The next read of this process (the next batch's compare-and-swap, a zone delete) must see the change; cut
    // short, the wait is made again before them.
    with_written(c, |w| w.pending = Some(accepted.clone()));
    if let Err(e) = dns
        .wait_change(&s.project, &s.dns_zone_name, accepted)
        .await
    {
        forget_written(c);
        return Err(StepError::api(
            &format!("wait for the change of {what} to be done"),
            &e,
        ));
    }
    // Changes are done in sequence: every earlier one of this process is done too.
    with_written(c, |w| {
        w.registry = Some(after);
        w.pending = None;
    });
    Ok(done)
}

/// Whether a route other than `own` in the project serves a hostname under the spec's domain.
async fn routes_under_domain(c: &Ctx, own: &BTreeSet<&str>) -> Result<bool, StepError> {
    let routes = super::route::list(c).await?;
    let suffix = format!(".{}", c.spec.domain);
    Ok(routes.iter().any(|r| {
        let short = r.name.rsplit('/').next().unwrap_or_default();
        !own.contains(short) && r.hostnames.iter().any(|h| h.ends_with(&suffix))
    }))
}

/// Registers the service as a user of its domain (after the zone exists, before its route is created); returns
/// whether it was added (false: listed already, e.g. by a create that was killed). A zone that disappeared is
/// created again.
pub async fn join(c: &Ctx) -> Result<bool, StepError> {
    for _ in 0..ZONE_ATTEMPTS {
        match submit(c, Op::Join).await {
            Answer::Done(added) => return Ok(added),
            Answer::ZoneGone => {
                ensure_zone(c).await?;
            }
            Answer::Failed(e) => return Err(e),
        }
    }
    Err(StepError::refused(
        Explanation::new(format!("DNS zone {}", c.spec.dns_zone_name), "keeps disappearing")
            .why(format!(
                "the zone was deleted {ZONE_ATTEMPTS} times while this service registered as a user of {}: another \
                 writer is deleting it",
                c.spec.domain
            ))
            .fix("apply again once the other writer has stopped"),
    ))
}

/// Unregisters the service from its domain; the last user (no other registered service, no other route under the
/// domain) also removes the wildcard record and, if it is csmrun's, the zone. Returns whether the zone is gone.
pub async fn leave(c: &Ctx) -> Result<bool, StepError> {
    let op = Op::Leave {
        route: c.spec.route_name.clone(),
    };
    match submit(c, op).await {
        Answer::Done(released) => Ok(released),
        Answer::ZoneGone => Ok(true),
        Answer::Failed(e) => Err(e),
    }
}

/// The record step of a create: registers the service, then ensures the wildcard record.
pub async fn ensure_users_and_record(c: &Ctx) -> Result<Record, StepError> {
    // Cut short, the registration may have landed: rollback unregisters (see `created_record`).
    c.sent.mark(Node::DnsRecord);
    join(c).await?;
    match ensure_record(c).await {
        Ok(Record::DnsRecord { created, .. }) => Ok(Record::DnsRecord {
            created,
            registered: true,
        }),
        Ok(other) => Ok(other),
        Err(e) => {
            // A refused record create takes its note back (`sent`), but the registration stands and is undone.
            c.sent.mark(Node::DnsRecord);
            Err(e)
        }
    }
}

/// Whether the zone is visible to the spec's network, however the zone spells its URL (link or path, project id
/// or number).
async fn visible_to_network(c: &Ctx, zone: &gcp::dns::ManagedZone) -> bool {
    let url = network_url(&c.spec);
    let networks = zone
        .private_visibility_config
        .as_ref()
        .map(|p| p.networks.as_slice())
        .unwrap_or_default();
    for n in networks {
        if project::holds_in_project(c, &c.spec.network_project, &url, &n.network_url).await {
            return true;
        }
    }
    false
}

/// Ensures the zone exists for the domain and is visible to the service's network.
pub async fn ensure_zone(c: &Ctx) -> Result<Record, StepError> {
    ensure_zone_from(c, None).await
}

/// [`ensure_zone`] from the pre-flight's read of the zone (`read`, handed on by the create graph), if it made one:
/// the zone is not read again (a zone found absent is created; a 409 reads it then).
pub async fn ensure_zone_from(
    c: &Ctx,
    read: Option<crate::service::steps::preflight::ZoneRead>,
) -> Result<Record, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    let zone_what = format!("DNS zone {}", s.dns_zone_name);
    let existing = match read {
        Some(r) => r.zone,
        None => found(
            dns.get_managed_zone(&s.project, &s.dns_zone_name).await,
            &zone_what,
        )?,
    };
    let zone = match existing {
        Some(z) => z,
        None => match crate::service::steps::sent(
            c,
            Node::DnsZone,
            dns.create_managed_zone(&s.project, &zone(s)),
        )
        .await
        {
            Ok(_) => return Ok(Record::DnsZone { created: true }),
            // Another service of the domain created it at the same moment: share it.
            Err(e) if e.is_already_exists() => dns
                .get_managed_zone(&s.project, &s.dns_zone_name)
                .await
                .map_err(|e| StepError::api(&format!("read {zone_what}"), &e))?,
            Err(e) => {
                return Err(StepError::api(
                    &format!("create DNS zone {}", s.dns_zone_name),
                    &e,
                ))
            }
        },
    };
    check_zone_domain(&zone, s)?;
    let url = network_url(s);
    let mut networks = zone
        .private_visibility_config
        .clone()
        .map(|p| p.networks)
        .unwrap_or_default();
    if !visible_to_network(c, &zone).await {
        networks.push(gcp::dns::VisibleNetwork {
            network_url: url,
            ..Default::default()
        });
        let patch = gcp::dns::ManagedZone {
            name: zone.name.clone(),
            dns_name: zone.dns_name.clone(),
            private_visibility_config: Some(gcp::dns::PrivateVisibilityConfig {
                networks,
                ..Default::default()
            }),
            ..Default::default()
        };
        dns.patch_managed_zone(&s.project, &s.dns_zone_name, &patch)
            .await
            .map_err(|e| {
                StepError::api(
                    &format!(
                        "make DNS zone {} visible to network {}",
                        s.dns_zone_name, s.network
                    ),
                    &e,
                )
            })?;
    }
    Ok(Record::DnsZone { created: false })
}

/// Whether `zone`, the zone the state names, can be this service's: it serves the service's domain (whether the
/// service still uses it is the users registry's to say).
pub fn zone_is_this_services(zone: &ManagedZone, s: &Spec) -> bool {
    zone.dns_name == format!("{}.", s.domain)
}

/// The refusal to change or delete the zone the state's `dns_zone_name` names, which serves another domain.
pub fn zone_not_this_services(s: &Spec) -> StepError {
    crate::service::steps::not_this_services(
        "DNS zone",
        &s.dns_zone_name,
        "dns_zone_name",
        "it serves another domain",
        s,
    )
}

/// The zone the spec names, if it exists.
pub async fn get_zone(c: &Ctx) -> Result<Option<ManagedZone>, StepError> {
    let s = &c.spec;
    let r = c
        .clients
        .dns()
        .get_managed_zone(&s.project, &s.dns_zone_name)
        .await;
    found(r, &format!("DNS zone {}", s.dns_zone_name))
}

/// Refuses a zone of the spec's name that serves another domain.
pub fn check_zone_domain(zone: &gcp::dns::ManagedZone, s: &Spec) -> Result<(), StepError> {
    let want = format!("{}.", s.domain);
    if zone.dns_name != want {
        return Err(StepError::refused(
            Explanation::new(format!("DNS zone {}", zone.name), "serves another domain")
                .why(format!("the managed zone {:?} serves {:?}, not {want:?}", zone.name, zone.dns_name))
                .fix(format!(
                    "set `dns_zone_name` to a zone for {want:?} (or leave it unset for csmrun's default name)"
                )),
        ));
    }
    Ok(())
}

/// Ensures the wildcard record; adopts an identical one, refuses one with other addresses.
pub async fn ensure_record(c: &Ctx) -> Result<Record, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    let want = wildcard_record(s);
    let record_what = format!("DNS record {}", want.name);
    let existing = found(
        dns.get_rrset(&s.project, &s.dns_zone_name, &want.name, "A")
            .await,
        &record_what,
    )?;
    let found = match existing {
        Some(r) => r,
        None => match crate::service::steps::sent(
            c,
            Node::DnsRecord,
            dns.create_rrset(&s.project, &s.dns_zone_name, &want),
        )
        .await
        {
            Ok(_) => {
                return Ok(Record::DnsRecord {
                    created: true,
                    registered: false,
                })
            }
            Err(e) if e.is_already_exists() => dns
                .get_rrset(&s.project, &s.dns_zone_name, &want.name, "A")
                .await
                .map_err(|e| StepError::api(&format!("read {record_what}"), &e))?,
            Err(e) => {
                return Err(StepError::api(
                    &format!("create DNS record {}", want.name),
                    &e,
                ))
            }
        },
    };
    check_record(s, &want, &found)?;
    Ok(Record::DnsRecord {
        created: false,
        registered: false,
    })
}

/// Refuses a wildcard record with other addresses than the spec's: csmrun never overwrites a shared record.
pub fn check_record(
    s: &Spec,
    want: &gcp::dns::ResourceRecordSet,
    found: &gcp::dns::ResourceRecordSet,
) -> Result<(), StepError> {
    let mut have = found.rrdatas.clone();
    have.sort();
    if have == want.rrdatas {
        return Ok(());
    }
    Err(StepError::refused(
        Explanation::new(
            format!("wildcard DNS record {}", want.name.trim_end_matches('.')),
            "has other addresses",
        )
            .why(format!(
                "{} in zone {} points at {:?}, but this service's `dns_address` is {:?}, and csmrun never \
                 overwrites a shared record",
                want.name, s.dns_zone_name, found.rrdatas, s.dns_address
            ))
            .fix(format!(
                "set `dns_address` to {:?}, or change the record yourself",
                found.rrdatas.first().cloned().unwrap_or_default()
            )),
    ))
}

/// Rollback of a record this run created.
pub async fn delete_record(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    let name = format!("*.{}.", s.domain);
    let r = c
        .clients
        .dns()
        .delete_rrset(&s.project, &s.dns_zone_name, &name, "A")
        .await;
    gone(r, &format!("DNS record {name}"))
}

/// Rollback of a zone this run created; a zone another service started using meanwhile stays.
pub async fn delete_zone(c: &Ctx) -> Result<(), StepError> {
    let s = &c.spec;
    match c
        .clients
        .dns()
        .delete_managed_zone(&s.project, &s.dns_zone_name)
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() || e.is_in_use() => Ok(()),
        Err(e) => Err(StepError::api(
            &format!("delete DNS zone {}", s.dns_zone_name),
            &e,
        )),
    }
}

/// Whether another service uses the domain: registered in the zone (any shard), or with an HTTPRoute serving a
/// hostname under it (services that never registered).
pub async fn other_users(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let own = s.marker();
    if read_registry(c).await?.all().iter().any(|m| *m != own) {
        return Ok(true);
    }
    routes_under_domain(c, &BTreeSet::from([s.route_name.as_str()])).await
}

/// Changes the wildcard record's address when this service is the domain's only user; refuses otherwise.
pub async fn readdress(c: &Ctx, old_address: &str) -> Result<(), StepError> {
    let s = &c.spec;
    if other_users(c).await? {
        return Err(StepError::refused(
            Explanation::new(format!("wildcard DNS record *.{}", s.domain), "shared with other services")
                .why(format!(
                    "`dns_address` changed from {old_address:?} to {:?}, but other services use the record, and \
                     csmrun never overwrites a shared record",
                    s.dns_address
                ))
                .fix(format!(
                    "keep {old_address:?}, or change the record yourself and then set `dns_address` to match"
                )),
        ));
    }
    delete_record(c).await
}

/// Whether the zone and the wildcard record exist as this service wants them (drift check on read).
pub async fn is_in_place(c: &Ctx) -> Result<bool, StepError> {
    in_place(c, false).await
}

/// [`is_in_place`] for a refresh: the zone and the record read once per read snapshot (`service::snapshot`) for
/// every service of the domain, which all share them.
pub async fn is_in_place_listed(c: &Ctx) -> Result<bool, StepError> {
    in_place(c, true).await
}

async fn in_place(c: &Ctx, shared: bool) -> Result<bool, StepError> {
    let s = &c.spec;
    let Some(zone) = read_zone(c, shared).await? else {
        return Ok(false);
    };
    let visible = visible_to_network(c, &zone).await;
    let want = wildcard_record(s);
    let record_ok = read_record(c, &want.name, shared)
        .await?
        .is_some_and(|r| r.rrdatas == want.rrdatas);
    Ok(visible && record_ok && zone.dns_name == format!("{}.", s.domain))
}

/// The spec's zone; with `shared`, from the read snapshot when it has it.
async fn read_zone(c: &Ctx, shared: bool) -> Result<Option<ManagedZone>, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    if shared {
        let key = format!("dns.managedZones.get {}/{}", s.project, s.dns_zone_name);
        let get = || async {
            snapshot::absent_if_not_found(dns.get_managed_zone(&s.project, &s.dns_zone_name).await)
        };
        if let Some(zone) = c.data.reads.get(&key, get).await {
            return Ok(zone.as_ref().clone());
        }
    }
    let r = dns.get_managed_zone(&s.project, &s.dns_zone_name).await;
    found(r, &format!("DNS zone {}", s.dns_zone_name))
}

/// The spec's zone's `A` record set `name`; with `shared`, from the read snapshot when it has it.
async fn read_record(
    c: &Ctx,
    name: &str,
    shared: bool,
) -> Result<Option<ResourceRecordSet>, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    if shared {
        let key = format!(
            "dns.resourceRecordSets.get {}/{}/{name}/A",
            s.project, s.dns_zone_name
        );
        let get = || async {
            snapshot::absent_if_not_found(
                dns.get_rrset(&s.project, &s.dns_zone_name, name, "A").await,
            )
        };
        if let Some(record) = c.data.reads.get(&key, get).await {
            return Ok(record.as_ref().clone());
        }
    }
    let r = dns.get_rrset(&s.project, &s.dns_zone_name, name, "A").await;
    found(r, &format!("DNS record {name}"))
}

/// The shared private zone of the domain.
pub struct DnsZone;

#[async_trait]
impl super::Part for DnsZone {
    type Body = ManagedZone;
    type Input = ();
    type Record = Made;
    /// The zone and the wildcard record exist as this service wants them.
    type Observed = bool;
    /// The service's domain.
    type Clue = str;
    /// The zone's name, and the wildcard record's address if it has one.
    type Found = (String, Option<String>);

    fn body(s: &Spec, _: &()) -> ManagedZone {
        zone(s)
    }

    /// Checked with the wildcard record by the pre-flight checks (`preflight::shared_dns`): a zone of the name
    /// that serves another domain, or a record with other addresses, is refused there.
    async fn free(_: &Ctx) -> Result<super::Free, StepError> {
        Ok(super::Free::Ours)
    }

    async fn ensure(c: &Ctx) -> Ensured<Made> {
        let created = |r: Record| Made {
            created: matches!(r, Record::DnsZone { created: true }),
        };
        ensure_zone(c).await.map(created).map_err(|error| Failed {
            error,
            partial: c
                .sent
                .contains(Node::DnsZone)
                .then_some(Made { created: true }),
        })
    }

    /// A zone another service registered in meanwhile is not empty: its delete is refused and it stays.
    async fn undo(_: &Ctx, cleanup: &Ctx, made: &Made) -> Result<(), StepError> {
        if made.created {
            delete_zone(cleanup).await
        } else {
            Ok(())
        }
    }

    /// The zone is deleted only by the last leaver ([`leave`]); this deletes the spec's zone if it is empty.
    async fn delete(c: &Ctx, _: &str) -> Result<(), StepError> {
        delete_zone(c).await
    }

    async fn observe(c: &Ctx) -> Result<bool, StepError> {
        is_in_place(c).await
    }

    /// The zone of the project serving `domain`, and its wildcard record's address.
    async fn discover(
        clients: &gcp::Clients,
        at: &Place,
        domain: &str,
    ) -> Result<Option<(String, Option<String>)>, StepError> {
        let dns = clients.dns();
        let zones = dns
            .list_managed_zones(&at.project, Some(&format!("{domain}.")))
            .await
            .map_err(|e| StepError::api("list DNS zones", &e))?;
        let Some(z) = zones
            .into_iter()
            .find(|z| z.dns_name == format!("{domain}."))
        else {
            return Ok(None);
        };
        let address = dns
            .get_rrset(&at.project, &z.name, &format!("*.{domain}."), "A")
            .await
            .ok()
            .and_then(|rr| rr.rrdatas.first().cloned());
        Ok(Some((z.name, address)))
    }
}

/// The network URL DNS wants in `privateVisibilityConfig`.
pub fn network_url(s: &Spec) -> String {
    format!(
        "https://www.googleapis.com/compute/v1/projects/{}/global/networks/{}",
        s.network_project, s.network
    )
}

/// The shared private zone for the domain.
pub fn zone(s: &Spec) -> ManagedZone {
    ManagedZone {
        name: s.dns_zone_name.clone(),
        dns_name: format!("{}.", s.domain),
        description: Some(format!(
            "csmrun: private zone for {} (shared by every csmrun_service of the domain)",
            s.domain
        )),
        visibility: Some("private".into()),
        private_visibility_config: Some(PrivateVisibilityConfig {
            networks: vec![VisibleNetwork {
                network_url: network_url(s),
                ..Default::default()
            }],
            ..Default::default()
        }),
        labels: BTreeMap::from([(
            names::MANAGED_BY_KEY.to_string(),
            names::MANAGED_BY_VALUE.to_string(),
        )]),
        ..Default::default()
    }
}

/// The shared wildcard record `*.<domain>.`.
pub fn wildcard_record(s: &Spec) -> ResourceRecordSet {
    ResourceRecordSet {
        name: format!("*.{}.", s.domain),
        kind: "A".into(),
        ttl: i32::try_from(crate::service::defaults::DNS_TTL).ok(),
        rrdatas: vec![s.dns_address.clone()],
        ..Default::default()
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use crate::service::validate_table;

    fn spec() -> Spec {
        validate_table::planned(&validate_table::valid()).1
    }

    #[test]
    fn the_shared_dns_parts_are_a_private_zone_and_a_wildcard_record() {
        let s = spec();
        let z = zone(&s);
        assert_eq!(
            (z.name.as_str(), z.dns_name.as_str()),
            ("csmrun-meshapps-internal", "meshapps.internal.")
        );
        assert_eq!(z.visibility.as_deref(), Some("private"));
        let rr = wildcard_record(&s);
        assert_eq!(
            (rr.name.as_str(), rr.kind.as_str()),
            ("*.meshapps.internal.", "A")
        );
        assert_eq!(rr.rrdatas, vec!["10.0.0.1".to_string()]);
    }
}
