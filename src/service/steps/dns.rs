//! The shared DNS part: a private zone for the domain and the wildcard record; never overwritten, deleted by the last user.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedRwLockReadGuard, RwLock};

use super::{found, gone, project, Ctx, Part, Record, StepError};
use crate::service::bodies;
use crate::service::names;
use crate::service::spec::Spec;

/// Orders, within one provider process, the releases of a zone against the routes joining its domain.
///
/// A release decides by the routes it lists, and a joining service creates its route last: across processes
/// the two check again after their change so that one always repairs the other (see [`release`] and
/// `route::ensure`), which still leaves the zone missing for a few calls. Within a process that window is closed:
/// a release holds its zone's lock exclusively from its check to its restore, a route is created under the shared
/// lock, and a joiner whose zone was released since its DNS step ensures it again before its route.
#[derive(Default)]
pub struct ZoneLocks {
    zones: Mutex<HashMap<String, Arc<ZoneLock>>>,
}

#[derive(Default)]
struct ZoneLock {
    rw: Arc<RwLock<()>>,
    /// How many times this process deleted the zone.
    released: AtomicU64,
}

impl ZoneLocks {
    fn zone(&self, s: &Spec) -> Arc<ZoneLock> {
        let key = format!("{}/{}", s.project, s.dns_zone_name);
        let mut zones = self.zones.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(zones.entry(key).or_default())
    }
}

/// How many times this process has released the spec's zone so far.
fn releases(c: &Ctx) -> u64 {
    c.data
        .zone_locks
        .zone(&c.spec)
        .released
        .load(Ordering::SeqCst)
}

/// Holds the zone's shared lock while a route under its domain is created; ensures the zone and the record first
/// if this process released the zone since the service's DNS step.
pub async fn joining(c: &Ctx) -> Result<OwnedRwLockReadGuard<()>, StepError> {
    let zone = c.data.zone_locks.zone(&c.spec);
    let guard = Arc::clone(&zone.rw).read_owned().await;
    let seen = c.facts().zone_releases_seen;
    if seen != Some(zone.released.load(Ordering::SeqCst)) {
        let zone_made = ensure_zone(c).await? == Record::DnsZone { created: true };
        let record_made = ensure_record(c).await? == Record::DnsRecord { created: true };
        if zone_made || record_made {
            // Made again by this run: a rollback releases them (see `Facts::dns_recreated`).
            c.note(|f| f.dns_recreated = true);
        }
    }
    Ok(guard)
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
    let releases = releases(c);
    c.note(|f| f.zone_releases_seen = Some(releases));
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
            Ok(_) => return Ok(Record::DnsRecord { created: true }),
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
    Ok(Record::DnsRecord { created: false })
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

/// Destroy: removes record and zone only if the zone is csmrun's and no other route in the project serves a
/// hostname under the domain. Returns whether they were removed.
pub async fn release(c: &Ctx) -> Result<bool, StepError> {
    let lock = c.data.zone_locks.zone(&c.spec);
    let _exclusive = lock.rw.write().await;
    let s = &c.spec;
    let r = c
        .clients
        .dns()
        .get_managed_zone(&s.project, &s.dns_zone_name)
        .await;
    let Some(zone) = found(r, &format!("DNS zone {}", s.dns_zone_name))? else {
        return Ok(true);
    };
    if zone.labels.get(names::MANAGED_BY_KEY).map(String::as_str) != Some(names::MANAGED_BY_VALUE) {
        return Ok(false);
    }
    if other_users(c).await? {
        tracing::info!(
            zone = s.dns_zone_name,
            "DNS zone kept: other routes serve hostnames under the domain"
        );
        return Ok(false);
    }
    delete_record(c).await?;
    lock.released.fetch_add(1, Ordering::SeqCst);
    delete_zone(c).await?;
    // A service joining the domain adopts the zone early and creates its route last, so the check above can
    // miss it. It re-ensures the zone once its route exists; checking again after the delete means one of the
    // two always sees the other, and the zone is put back here if a route appeared meanwhile.
    if other_users(c).await? {
        tracing::warn!(
            zone = s.dns_zone_name,
            "a route under the domain appeared while the zone was released; restoring the zone"
        );
        ensure_zone(c).await?;
        ensure_record(c).await?;
        return Ok(false);
    }
    Ok(true)
}

/// Rollback of a wildcard record this run created in a zone it found: removed unless another route under the
/// domain uses it by now (a service of the domain may have adopted the record meanwhile), and put back if one
/// appears while it is being removed, like [`release`].
pub async fn release_record(c: &Ctx) -> Result<(), StepError> {
    let lock = c.data.zone_locks.zone(&c.spec);
    let _exclusive = lock.rw.write().await;
    if other_users(c).await? {
        return Ok(());
    }
    delete_record(c).await?;
    lock.released.fetch_add(1, Ordering::SeqCst);
    if other_users(c).await? {
        ensure_record(c).await?;
    }
    Ok(())
}

/// Whether another HTTPRoute in the project serves a hostname under the domain (another user of the zone).
pub async fn other_users(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let routes = super::route::list(c).await?;
    let suffix = format!(".{}", s.domain);
    let own = format!("/httpRoutes/{}", s.route_name);
    Ok(routes
        .iter()
        .any(|r| !r.name.ends_with(&own) && r.hostnames.iter().any(|h| h.ends_with(&suffix))))
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
