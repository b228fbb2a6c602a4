//! The shared DNS part: a private zone for the domain and the wildcard record; never overwritten, deleted by the last user.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::oneshot;

use super::{found, gone, project, Ctx, Part, Record, StepError};
use crate::service::bodies;
use crate::service::names;
use crate::service::runner::CancelledError;
use crate::service::spec::Spec;

/// The record set in the zone that lists the services using the domain: `_csmrun-users.<domain>.`, one quoted
/// ownership marker (`csmrun:<project>/<region>/<name>`) per rrdata.
///
/// It is changed only by atomic Cloud DNS changes whose deletions carry the set exactly as read, so every change
/// is a compare-and-swap: a joiner registers before its route exists, and a leaver deletes the wildcard record
/// (and then the zone) only in the same change that deletes a registry listing nobody but itself. Once a joiner is
/// registered, no leaver in any process can take the record or the zone away; a leaver that read the registry
/// before the joiner registered fails its change (412) and reads again.
pub fn registry_name(domain: &str) -> String {
    format!("_csmrun-users.{domain}.")
}

/// The registry's record type.
pub const REGISTRY_TYPE: &str = "TXT";
/// The registry's TTL (nothing resolves it; Cloud DNS requires one).
const REGISTRY_TTL: i32 = 300;
/// How often a joiner re-creates a zone that disappeared under it before giving up.
const ZONE_ATTEMPTS: u32 = 10;
/// How often a writer whose batch was cut short by another context (its holder's Ctrl-C) queues again.
const REQUEUES: u32 = 5;

/// The registry record set listing `members`.
fn registry_rrset(domain: &str, members: &BTreeSet<String>) -> gcp::dns::ResourceRecordSet {
    gcp::dns::ResourceRecordSet {
        name: registry_name(domain),
        kind: REGISTRY_TYPE.into(),
        ttl: Some(REGISTRY_TTL),
        rrdatas: members.iter().map(|m| format!("\"{m}\"")).collect(),
        ..Default::default()
    }
}

/// The markers a registry record set lists.
fn members_of(rrset: Option<&gcp::dns::ResourceRecordSet>) -> BTreeSet<String> {
    rrset
        .map(|r| r.rrdatas.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|d| d.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Coalesces, per zone and within one provider process, the changes of the users registry.
///
/// Every caller queues its registration or departure, then whoever holds the zone's writer lock takes the whole
/// queue and applies it in one change (an apply of many services of a domain costs one compare-and-swap per batch,
/// not a race of N writers); callers whose entries another writer took wait for their answer. Across processes the
/// changes' exact-match deletions order the writers.
#[derive(Default)]
pub struct ZoneLocks {
    zones: Mutex<HashMap<String, Arc<ZoneQueue>>>,
}

#[derive(Default)]
struct ZoneQueue {
    pending: Mutex<Vec<Pending>>,
    writer: tokio::sync::Mutex<()>,
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

struct Pending {
    marker: String,
    op: Op,
    done: oneshot::Sender<Answer>,
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

impl ZoneLocks {
    fn zone(&self, s: &Spec) -> Arc<ZoneQueue> {
        let key = format!("{}/{}", s.project, s.dns_zone_name);
        let mut zones = self.zones.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(zones.entry(key).or_default())
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
    let queue = c.data.zone_locks.zone(&c.spec);
    let (tx, rx) = oneshot::channel();
    queue
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Pending {
            marker: c.spec.marker(),
            op,
            done: tx,
        });
    {
        let _writer = queue.writer.lock().await;
        let batch: Vec<Pending> =
            std::mem::take(&mut *queue.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if !batch.is_empty() {
            let ops: Vec<(String, Op)> = batch
                .iter()
                .map(|p| (p.marker.clone(), p.op.clone()))
                .collect();
            let answers = apply_batch(c, &ops).await;
            for (p, a) in batch.into_iter().zip(answers) {
                let _ = p.done.send(a);
            }
        }
    }
    rx.await
        .unwrap_or_else(|_| Answer::Failed(StepError::cancelled()))
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
    /// Progress was made (a leaver that was never registered registered first): read again at once.
    Again,
}

/// Applies one batch of the spec's zone, retrying on conflicts until the holder's deadline; one answer per entry.
async fn apply_batch(c: &Ctx, ops: &[(String, Op)]) -> Vec<Answer> {
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
    let mut conflicts: u32 = 0;
    let result = loop {
        match round(c, &joins, &leaves).await {
            Ok(Round::Conflict) => {
                conflicts += 1;
                let ceiling = Duration::from_millis(100u64.saturating_mul(1 << conflicts.min(6)))
                    .min(Duration::from_secs(5));
                let jitter = rand::rng().random_range(0..=ceiling.as_millis() as u64);
                tracing::debug!(
                    zone = c.spec.dns_zone_name,
                    conflicts,
                    "DNS users registry changed meanwhile; reading it again"
                );
                if let Err(e) = c.sleep(Duration::from_millis(jitter)).await {
                    break Err(e);
                }
            }
            Ok(Round::Again) => {}
            Ok(done) => break Ok(done),
            Err(e) => break Err(e),
        }
    };
    ops.iter()
        .map(|(m, op)| match (&result, op) {
            (Err(e), _) => Answer::Failed(e.clone()),
            (Ok(Round::Changed { before }), Op::Join) => Answer::Done(!before.contains(m)),
            (Ok(Round::ZoneGone), Op::Join) => Answer::ZoneGone,
            (Ok(Round::ZoneGone), Op::Leave { .. }) => Answer::Done(true),
            (Ok(Round::Released { zone_deleted }), _) => Answer::Done(*zone_deleted),
            (Ok(_), _) => Answer::Done(false),
        })
        .collect()
}

/// One read and one change of the registry (and, for the last users leaving, of the record and the zone).
async fn round(
    c: &Ctx,
    joins: &BTreeSet<String>,
    leaves: &BTreeMap<String, String>,
) -> Result<Round, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    let name = registry_name(&s.domain);
    let what = format!("DNS users registry {name}");
    let registry = found(
        dns.get_rrset(&s.project, &s.dns_zone_name, &name, REGISTRY_TYPE)
            .await,
        &what,
    )?;
    let before = members_of(registry.as_ref());
    let mut after = before.clone();
    after.extend(joins.iter().cloned());
    after.retain(|m| !leaves.contains_key(m));
    if !after.is_empty() {
        if after == before {
            return Ok(Round::Changed { before });
        }
        let change = gcp::dns::Change {
            deletions: registry.into_iter().collect(),
            additions: vec![registry_rrset(&s.domain, &after)],
            ..Default::default()
        };
        return settle(c, &change, &what, Round::Changed { before }).await;
    }
    // Nobody registered remains: the zone goes if it is csmrun's and no route of an unregistered service (made
    // before the registry existed, or imported and not updated since) uses the domain.
    let r = dns.get_managed_zone(&s.project, &s.dns_zone_name).await;
    let Some(zone) = found(r, &format!("DNS zone {}", s.dns_zone_name))? else {
        return Ok(Round::ZoneGone);
    };
    let labelled =
        zone.labels.get(names::MANAGED_BY_KEY).map(String::as_str) == Some(names::MANAGED_BY_VALUE);
    let routes: BTreeSet<&str> = leaves.values().map(String::as_str).collect();
    if !labelled || routes_under_domain(c, &routes).await? {
        tracing::info!(
            zone = s.dns_zone_name,
            labelled,
            "DNS zone and record kept: not csmrun's, or other routes serve hostnames under the domain"
        );
        let Some(registry) = registry else {
            return Ok(Round::Changed { before });
        };
        let change = gcp::dns::Change {
            deletions: vec![registry],
            ..Default::default()
        };
        return settle(c, &change, &what, Round::Changed { before }).await;
    }
    let want = bodies::wildcard_record(s);
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
    if registry.is_none() && record.is_some() {
        // Leavers that never registered (made before the registry existed, or whose registration was refused)
        // register first, so that the change which removes the record is conditional on nobody having joined.
        let leavers: BTreeSet<String> = leaves.keys().cloned().collect();
        let change = gcp::dns::Change {
            additions: vec![registry_rrset(&s.domain, &leavers)],
            ..Default::default()
        };
        return settle(c, &change, &what, Round::Again).await;
    }
    let deletions: Vec<_> = registry.into_iter().chain(record).collect();
    if !deletions.is_empty() {
        let change = gcp::dns::Change {
            deletions,
            ..Default::default()
        };
        let released = Round::Released {
            zone_deleted: false,
        };
        match settle(c, &change, &what, released).await? {
            Round::Released { .. } => {}
            other => return Ok(other),
        }
    }
    // A service registering from here on finds the zone empty of users: if it is quicker than this delete the
    // zone is not empty (containerNotEmpty) and stays; if slower, its change finds no zone and it creates one.
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

/// Sends `change`; `done` when it applied, [`Round::Conflict`] when the registry or record changed since they were
/// read, [`Round::ZoneGone`] when the zone is gone.
async fn settle(
    c: &Ctx,
    change: &gcp::dns::Change,
    what: &str,
    done: Round,
) -> Result<Round, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    match dns
        .create_change(&s.project, &s.dns_zone_name, change)
        .await
    {
        Ok(_) => Ok(done),
        Err(e) if e.is_conflict() || e.is_already_exists() => Ok(Round::Conflict),
        // Cloud DNS also answers 404 for a deletion whose record set no longer exists: only a missing zone means
        // the zone is gone.
        Err(e) if e.is_not_found() => {
            let r = dns.get_managed_zone(&s.project, &s.dns_zone_name).await;
            match found(r, &format!("DNS zone {}", s.dns_zone_name))? {
                Some(_) => Ok(Round::Conflict),
                None => Ok(Round::ZoneGone),
            }
        }
        Err(e) => Err(StepError::api(&format!("change {what}"), &e)),
    }
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
    Err(StepError::new(
        "DNS zone keeps disappearing",
        format!(
            "The DNS zone {} was deleted {ZONE_ATTEMPTS} times while this service registered as a user of {}. \
             Another writer is deleting it; try again once it has stopped.",
            c.spec.dns_zone_name, c.spec.domain
        ),
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
    c.note(|f| f.creating.push(Part::DnsRecord));
    join(c).await?;
    match ensure_record(c).await {
        Ok(Record::DnsRecord { created, .. }) => Ok(Record::DnsRecord {
            created,
            registered: true,
        }),
        Ok(other) => Ok(other),
        Err(e) => {
            // A refused record create takes its note back (`sent`), but the registration stands and is undone.
            c.note(|f| {
                if !f.creating.contains(&Part::DnsRecord) {
                    f.creating.push(Part::DnsRecord);
                }
            });
            Err(e)
        }
    }
}

/// Whether the zone is visible to the spec's network, however the zone spells its URL (link or path, project id
/// or number).
async fn visible_to_network(c: &Ctx, zone: &gcp::dns::ManagedZone) -> bool {
    let url = bodies::network_url(&c.spec);
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
    let s = &c.spec;
    let dns = c.clients.dns();
    let zone_what = format!("DNS zone {}", s.dns_zone_name);
    let existing = found(
        dns.get_managed_zone(&s.project, &s.dns_zone_name).await,
        &zone_what,
    )?;
    let zone = match existing {
        Some(z) => z,
        None => match super::sent(
            c,
            Part::DnsZone,
            dns.create_managed_zone(&s.project, &bodies::zone(s)),
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
    let url = bodies::network_url(s);
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

fn check_zone_domain(zone: &gcp::dns::ManagedZone, s: &Spec) -> Result<(), StepError> {
    let want = format!("{}.", s.domain);
    if zone.dns_name != want {
        return Err(StepError::new(
            "DNS zone serves another domain",
            format!(
                "The managed zone {:?} serves {:?}, not {want:?}. Set `dns_zone_name` to a zone for {want:?} (or \
                 leave it unset for csmrun's default name).",
                zone.name, zone.dns_name
            ),
        ));
    }
    Ok(())
}

/// Ensures the wildcard record; adopts an identical one, refuses one with other addresses.
pub async fn ensure_record(c: &Ctx) -> Result<Record, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    let want = bodies::wildcard_record(s);
    let record_what = format!("DNS record {}", want.name);
    let existing = found(
        dns.get_rrset(&s.project, &s.dns_zone_name, &want.name, "A")
            .await,
        &record_what,
    )?;
    let found = match existing {
        Some(r) => r,
        None => match super::sent(
            c,
            Part::DnsRecord,
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
    let mut have = found.rrdatas.clone();
    have.sort();
    if have != want.rrdatas {
        return Err(StepError::new(
            "Wildcard DNS record has other addresses",
            format!(
                "{} in zone {} points at {:?}, but this service's `dns_address` is {:?}. csmrun never overwrites a \
                 shared record: set `dns_address` to {:?}, or change the record yourself.",
                want.name, s.dns_zone_name, found.rrdatas, s.dns_address, found.rrdatas.first().cloned().unwrap_or_default()
            ),
        ));
    }
    Ok(Record::DnsRecord {
        created: false,
        registered: false,
    })
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

/// Whether another service uses the domain: registered in the zone, or with an HTTPRoute serving a hostname under
/// it (services that never registered).
pub async fn other_users(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let name = registry_name(&s.domain);
    let r = c
        .clients
        .dns()
        .get_rrset(&s.project, &s.dns_zone_name, &name, REGISTRY_TYPE)
        .await;
    let registry = found(r, &format!("DNS users registry {name}"))?;
    let own = s.marker();
    if members_of(registry.as_ref()).iter().any(|m| *m != own) {
        return Ok(true);
    }
    routes_under_domain(c, &BTreeSet::from([s.route_name.as_str()])).await
}

/// Changes the wildcard record's address when this service is the domain's only user; refuses otherwise.
pub async fn readdress(c: &Ctx, old_address: &str) -> Result<(), StepError> {
    let s = &c.spec;
    if other_users(c).await? {
        return Err(StepError::new(
            "Wildcard DNS record is shared",
            format!(
                "`dns_address` changed from {old_address:?} to {:?}, but other services use the record *.{}. \
                 csmrun never overwrites a shared record: keep {old_address:?}, or change the record yourself \
                 and then set `dns_address` to match.",
                s.dns_address, s.domain
            ),
        ));
    }
    delete_record(c).await
}

/// Whether the zone and the wildcard record exist as this service wants them (drift check on read).
pub async fn is_in_place(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let dns = c.clients.dns();
    let r = dns.get_managed_zone(&s.project, &s.dns_zone_name).await;
    let Some(zone) = found(r, &format!("DNS zone {}", s.dns_zone_name))? else {
        return Ok(false);
    };
    let visible = visible_to_network(c, &zone).await;
    let want = bodies::wildcard_record(s);
    let r = dns
        .get_rrset(&s.project, &s.dns_zone_name, &want.name, "A")
        .await;
    let record_ok =
        found(r, &format!("DNS record {}", want.name))?.is_some_and(|r| r.rrdatas == want.rrdatas);
    Ok(visible && record_ok && zone.dns_name == format!("{}.", s.domain))
}
