//! The users registry of a shared DNS zone (`steps::dns`), against the emulator: services leaving a domain while
//! others join it, in one provider process and in separate ones (two Terraform runs), the last users leaving, a
//! rolled-back create, a killed one, services made before the registry existed, and many registrations at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use csmrun_emulator::world::collections;

use super::model::ServiceModel;
use super::parts::dns;
use super::parts::{BackendServicePart, Neg, Part as _, Route};
use super::resource::{delete_parts, Private};
use super::runner::{GraphEnd, Step};
use super::steps::{create_graph, Node, PartStep, Record};
use super::testenv::{self, Env, PROJECT, REGION};
use super::update::{run, Contexts, UpdateEnd};
use crate::config::ProviderData;
use tfplug::Val;

const ZONE: &str = "managedZones/csmrun-meshapps-internal";
const RECORD: &str = "managedZones/csmrun-meshapps-internal/rrsets/*.meshapps.internal./A";
const REGISTRY: &str =
    "managedZones/csmrun-meshapps-internal/rrsets/_csmrun-users.meshapps.internal./TXT";

fn marker(name: &str) -> String {
    format!("csmrun:{PROJECT}/{REGION}/{name}")
}

/// The markers the registry lists, sorted (empty when it does not exist).
fn registered(env: &Env) -> Vec<String> {
    let mut out: Vec<String> = env
        .resource(REGISTRY)
        .map(|r| r["rrdatas"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.as_str().map(|s| s.trim_matches('"').to_string()))
        .collect();
    out.sort();
    out
}

fn nothing_left(env: &Env) {
    assert!(!env.has(REGISTRY), "registry left: {:?}", env.resources());
    assert!(!env.has(RECORD), "record left: {:?}", env.resources());
    assert!(!env.has(ZONE), "zone left: {:?}", env.resources());
}

/// Logged requests whose method is `method` and whose path ends with `suffix` (with their answer's status).
fn requests(env: &Env, method: &str, suffix: &str) -> Vec<i64> {
    env.emu
        .requests()
        .iter()
        .filter(|r| {
            r["method"] == method && r["path"].as_str().is_some_and(|p| p.ends_with(suffix))
        })
        .map(|r| r["status"].as_i64().unwrap_or(0))
        .collect()
}

async fn destroy_in(env: &Env, data: &Arc<ProviderData>, m: &ServiceModel) {
    delete_parts(&env.ctx_of(data, m, true), &Private::default())
        .await
        .expect("destroy succeeds");
}

/// Removes the registry behind csmrun's back: the service looks like one made before the registry existed.
fn forget_registry(env: &Env) {
    let key = format!("projects/{PROJECT}/{REGISTRY}");
    let removed = env
        .emu
        .with_world(|w| w.remove(collections::DNS_RRSETS, &key));
    assert!(removed.is_some(), "registry {key} existed");
}

/// A joiner (run `joining`) ensures the zone and registers with the record step, then a leaver of run `leaving`
/// (whose route check sees no other route: the joiner's is made last) is destroyed; the joiner's route comes after.
async fn leaver_races_a_registered_joiner(
    env: &Env,
    leaving: &Arc<ProviderData>,
    joining: &Arc<ProviderData>,
) {
    let leaver = testenv::planned("target", |_| {});
    env.create_in(leaving, &leaver).await;
    assert_eq!(registered(env), vec![marker("target")]);
    let joiner = testenv::planned("joiner", |_| {});
    let j = env.ctx_of(joining, &joiner, false);
    dns::ensure_zone(&j).await.expect("zone step");
    let record = dns::ensure_users_and_record(&j).await.expect("record step");
    assert_eq!(
        record,
        Record::DnsRecord {
            created: false,
            registered: true
        }
    );
    Neg::ensure(&j).await.expect("NEG step");
    BackendServicePart::ensure(&j)
        .await
        .expect("backend service step");
    destroy_in(env, leaving, &leaver).await;
    assert!(env.has(ZONE) && env.has(RECORD), "{:?}", env.resources());
    assert_eq!(registered(env), vec![marker("joiner")]);
    Route::ensure(&j).await.expect("route step");
    assert!(
        requests(env, "DELETE", "/managedZones/csmrun-meshapps-internal").is_empty(),
        "the zone was never deleted"
    );
    assert_eq!(
        requests(env, "DELETE", "/rrsets/*.meshapps.internal./A"),
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn a_leaver_in_another_process_cannot_remove_record_or_zone_once_a_joiner_registered() {
    let env = testenv::start().await;
    let other_run = testenv::provider(&env.emu, "0s");
    leaver_races_a_registered_joiner(&env, &env.data, &other_run).await;
}

#[tokio::test]
async fn a_leaver_in_the_same_process_cannot_remove_record_or_zone_once_a_joiner_registered() {
    let env = testenv::start().await;
    leaver_races_a_registered_joiner(&env, &env.data, &env.data).await;
}

#[tokio::test]
async fn the_last_user_leaving_removes_registry_record_and_zone() {
    let env = testenv::start().await;
    let m = testenv::planned("target", |_| {});
    env.create(&m).await;
    assert_eq!(registered(&env), vec![marker("target")]);
    destroy_in(&env, &env.data, &m).await;
    nothing_left(&env);
    // Record and registry went in one change, conditional on the registry listing only the leaver.
    assert_eq!(requests(&env, "POST", "/changes"), vec![200, 200]);
}

#[tokio::test]
async fn a_user_leaving_while_others_remain_only_unregisters() {
    let env = testenv::start().await;
    let (a, b) = (
        testenv::planned("svc-a", |_| {}),
        testenv::planned("svc-b", |_| {}),
    );
    env.create(&a).await;
    env.create(&b).await;
    assert_eq!(registered(&env), vec![marker("svc-a"), marker("svc-b")]);
    destroy_in(&env, &env.data, &a).await;
    assert_eq!(registered(&env), vec![marker("svc-b")]);
    assert!(env.has(ZONE) && env.has(RECORD));
}

#[tokio::test]
async fn the_last_two_users_leaving_at_once_from_two_processes_leave_nothing() {
    let env = testenv::start().await;
    let run_a = testenv::provider(&env.emu, "0s");
    let run_b = testenv::provider(&env.emu, "0s");
    let (a, b) = (
        testenv::planned("svc-a", |_| {}),
        testenv::planned("svc-b", |_| {}),
    );
    env.create_in(&run_a, &a).await;
    env.create_in(&run_b, &b).await;
    assert_eq!(registered(&env), vec![marker("svc-a"), marker("svc-b")]);
    tokio::join!(destroy_in(&env, &run_a, &a), destroy_in(&env, &run_b, &b));
    nothing_left(&env);
}

#[tokio::test]
async fn the_last_two_users_leaving_at_once_in_one_process_leave_nothing() {
    let env = testenv::start().await;
    let (a, b) = (
        testenv::planned("svc-a", |_| {}),
        testenv::planned("svc-b", |_| {}),
    );
    env.create(&a).await;
    env.create(&b).await;
    tokio::join!(
        destroy_in(&env, &env.data, &a),
        destroy_in(&env, &env.data, &b)
    );
    nothing_left(&env);
}

#[tokio::test]
async fn a_rolled_back_create_unregisters_and_removes_what_nobody_else_uses() {
    let env = testenv::start().await;
    env.fail("networkservices", "httpRoutes.create", 400, None);
    let m = testenv::planned("target", |_| {});
    let (c, cleanup) = (env.ctx(&m, false), env.ctx(&m, false));
    let outcome = create_graph(&c, &cleanup).run(&c.cancel).await;
    assert!(
        matches!(outcome, GraphEnd::RolledBack { .. }),
        "{outcome:?}"
    );
    nothing_left(&env);
}

#[tokio::test]
async fn a_rolled_back_create_beside_another_user_only_unregisters() {
    let env = testenv::start().await;
    let other = testenv::planned("other", |_| {});
    env.create(&other).await;
    env.fail("networkservices", "httpRoutes.create", 400, None);
    let m = testenv::planned("target", |_| {});
    let (c, cleanup) = (env.ctx(&m, false), env.ctx(&m, false));
    let outcome = create_graph(&c, &cleanup).run(&c.cancel).await;
    assert!(
        matches!(outcome, GraphEnd::RolledBack { .. }),
        "{outcome:?}"
    );
    assert_eq!(registered(&env), vec![marker("other")]);
    assert!(env.has(ZONE) && env.has(RECORD));
}

#[tokio::test]
async fn a_registration_whose_create_was_killed_keeps_the_zone_and_the_resumed_create_finds_itself()
{
    let env = testenv::start().await;
    let m = testenv::planned("target", |_| {});
    // The first create registers, then its provider is killed: nothing undoes it.
    let killed = env.ctx(&m, false);
    dns::ensure_zone(&killed).await.expect("zone step");
    dns::ensure_users_and_record(&killed)
        .await
        .expect("record step");
    drop(killed);
    // Another service of the domain comes and goes meanwhile: the registration keeps the zone.
    let passer = testenv::planned("passer", |_| {});
    env.create(&passer).await;
    destroy_in(&env, &env.data, &passer).await;
    assert_eq!(registered(&env), vec![marker("target")]);
    assert!(env.has(ZONE) && env.has(RECORD));
    // The resumed create is listed already, and its destroy, as the last user, removes everything.
    let c = env.ctx(&m, false);
    assert!(!dns::join(&c).await.expect("join"), "already listed");
    env.create(&m).await;
    assert_eq!(registered(&env), vec![marker("target")]);
    destroy_in(&env, &env.data, &m).await;
    nothing_left(&env);
}

#[tokio::test]
async fn a_service_made_before_the_registry_keeps_the_zone_for_a_registered_joiner_and_is_last_to_go_cleanly(
) {
    let env = testenv::start().await;
    let legacy = testenv::planned("legacy", |_| {});
    env.create(&legacy).await;
    forget_registry(&env);
    // A joiner registers; the legacy service's destroy sees a registered user and keeps everything.
    let joiner = testenv::planned("joiner", |_| {});
    env.create(&joiner).await;
    assert_eq!(registered(&env), vec![marker("joiner")]);
    destroy_in(&env, &env.data, &legacy).await;
    assert_eq!(registered(&env), vec![marker("joiner")]);
    assert!(env.has(ZONE) && env.has(RECORD));
    // Alone and unregistered again, a legacy leaver still removes everything (registering first).
    forget_registry(&env);
    destroy_in(&env, &env.data, &joiner).await;
    nothing_left(&env);
}

#[tokio::test]
async fn a_route_of_an_unregistered_service_keeps_the_zone_when_the_last_registered_user_leaves() {
    let env = testenv::start().await;
    let legacy = testenv::planned("legacy", |_| {});
    env.create(&legacy).await;
    forget_registry(&env);
    let m = testenv::planned("target", |_| {});
    env.create(&m).await;
    destroy_in(&env, &env.data, &m).await;
    assert!(
        !env.has(REGISTRY),
        "the last registered user took the registry"
    );
    assert!(
        env.has(ZONE) && env.has(RECORD),
        "the legacy route still needs them"
    );
}

#[tokio::test]
async fn the_first_update_of_a_service_made_before_the_registry_registers_it() {
    let env = testenv::start().await;
    let old = testenv::planned("target", |_| {});
    env.create(&old).await;
    forget_registry(&env);
    let new = testenv::planned("target", |m| {
        m.env = Val::Known([("K".to_string(), Val::Known("v".to_string()))].into());
    });
    let cx = Contexts {
        new: env.ctx(&new, true),
        old: env.ctx(&old, true),
        undo_new: env.ctx(&new, true),
        undo_old: env.ctx(&old, true),
    };
    let outcome = run(&cx, &[], &[]).await;
    assert!(matches!(outcome, UpdateEnd::Done { .. }), "{outcome:?}");
    assert_eq!(registered(&env), vec![marker("target")]);
}

#[tokio::test]
async fn an_update_to_another_domain_registers_there_and_releases_the_old_one() {
    let env = testenv::start().await;
    let old = testenv::planned("target", |_| {});
    env.create(&old).await;
    let new = testenv::planned("target", |m| {
        m.domain = Val::Known("other.internal".into());
    });
    let cx = Contexts {
        new: env.ctx(&new, true),
        old: env.ctx(&old, true),
        undo_new: env.ctx(&new, true),
        undo_old: env.ctx(&old, true),
    };
    let outcome = run(&cx, &[], &[]).await;
    assert!(matches!(outcome, UpdateEnd::Done { .. }), "{outcome:?}");
    nothing_left(&env);
    let new_registry = env
        .resource("managedZones/csmrun-other-internal/rrsets/_csmrun-users.other.internal./TXT")
        .expect("registered in the new zone");
    assert_eq!(
        new_registry["rrdatas"],
        serde_json::json!([format!("\"{}\"", marker("target"))])
    );
}

#[tokio::test]
async fn a_failed_update_to_another_domain_unregisters_there_and_removes_what_it_made() {
    let env = testenv::start().await;
    let old = testenv::planned("target", |_| {});
    env.create(&old).await;
    let new = testenv::planned("target", |m| {
        m.domain = Val::Known("other.internal".into());
    });
    env.fail("run", "services.patch", 400, None);
    let cx = Contexts {
        new: env.ctx(&new, true),
        old: env.ctx(&old, true),
        undo_new: env.ctx(&new, true),
        undo_old: env.ctx(&old, true),
    };
    let outcome = run(&cx, &[], &[]).await;
    assert!(
        matches!(outcome, UpdateEnd::RolledBack { .. }),
        "{outcome:?}"
    );
    assert!(
        !env.has("managedZones/csmrun-other-internal"),
        "{:?}",
        env.resources()
    );
    assert_eq!(
        registered(&env),
        vec![marker("target")],
        "the old domain keeps it"
    );
}

#[tokio::test]
async fn many_registrations_at_once_in_one_process_are_coalesced_without_conflicts() {
    let env = testenv::start().await;
    let models: Vec<ServiceModel> = (0..8)
        .map(|i| testenv::planned(&format!("svc-{i}"), |_| {}))
        .collect();
    let ctxs: Vec<_> = models.iter().map(|m| env.ctx(m, false)).collect();
    dns::ensure_zone(&ctxs[0]).await.expect("zone");
    let joined = futures::future::join_all(ctxs.iter().map(|c| dns::join(c))).await;
    assert!(joined.iter().all(|r| r == &Ok(true)), "{joined:?}");
    let mut want: Vec<String> = (0..8).map(|i| marker(&format!("svc-{i}"))).collect();
    want.sort();
    assert_eq!(registered(&env), want);
    let changes = requests(&env, "POST", "/changes");
    assert!(
        changes.len() <= 2 && changes.iter().all(|s| *s == 200),
        "one change for the first, one for the batch queued behind it: {changes:?}"
    );
}

#[tokio::test]
async fn an_undo_of_a_registered_record_step_unregisters() {
    let env = testenv::start().await;
    let other = testenv::planned("other", |_| {});
    env.create(&other).await;
    let m = testenv::planned("target", |_| {});
    let (c, cleanup) = (env.ctx(&m, false), env.ctx(&m, false));
    dns::ensure_zone(&c).await.expect("zone");
    let record = dns::ensure_users_and_record(&c).await.expect("record step");
    let step = PartStep::new(Node::DnsRecord, c.clone(), cleanup);
    assert!(
        !step.is_noop(&record),
        "a registration is the rollback's to undo"
    );
    step.undo(&record).await.expect("undo");
    assert_eq!(registered(&env), vec![marker("other")]);
}

/// A create whose `method` is refused once rolls back and leaves nothing, its registration included.
async fn refused_once_rolls_back_completely(method: &str) {
    let env = testenv::start().await;
    env.fail("dns", method, 400, Some(1));
    let m = testenv::planned("target", |_| {});
    let (c, cleanup) = (env.ctx(&m, false), env.ctx(&m, false));
    let outcome = create_graph(&c, &cleanup).run(&c.cancel).await;
    assert!(
        matches!(outcome, GraphEnd::RolledBack { .. }),
        "{outcome:?}"
    );
    nothing_left(&env);
}

#[tokio::test]
async fn a_create_whose_record_is_refused_after_it_registered_unregisters_on_rollback() {
    refused_once_rolls_back_completely("resourceRecordSets.create").await;
}

#[tokio::test]
async fn a_create_whose_registration_is_refused_rolls_back_completely() {
    refused_once_rolls_back_completely("changes.create").await;
}

#[tokio::test]
async fn a_zone_made_again_by_the_registration_of_a_create_that_then_fails_is_released_by_the_rollback(
) {
    let env = testenv::start().await;
    let leaver = testenv::planned("target", |_| {});
    env.create(&leaver).await;
    let joiner = testenv::planned("joiner", |_| {});
    let (j, cleanup) = (env.ctx(&joiner, false), env.ctx(&joiner, false));
    let zone_record = dns::ensure_zone(&j).await.expect("zone step");
    assert_eq!(zone_record, Record::DnsZone { created: false });
    // The leaver goes between the joiner's zone step and its registration: nobody is registered, so it takes all.
    destroy_in(&env, &env.data, &leaver).await;
    nothing_left(&env);
    // The registration finds no zone, makes it again, registers; the create then fails (its route, say).
    let record_step = PartStep::new(Node::DnsRecord, j.clone(), cleanup);
    let record = dns::ensure_users_and_record(&j).await.expect("record step");
    assert!(env.has(ZONE) && env.has(RECORD));
    assert_eq!(registered(&env), vec![marker("joiner")]);
    record_step.undo(&record).await.expect("record step undone");
    nothing_left(&env);
}

#[tokio::test]
async fn a_rolled_back_create_keeps_the_zone_and_record_it_made_once_another_service_registered() {
    let env = testenv::start().await;
    // The first create of the domain makes zone and record ...
    let first = testenv::planned("first", |_| {});
    let f = env.ctx(&first, false);
    let zone = dns::ensure_zone(&f).await.expect("zone step");
    let record = dns::ensure_users_and_record(&f).await.expect("record step");
    assert_eq!(zone, Record::DnsZone { created: true });
    assert_eq!(
        record,
        Record::DnsRecord {
            created: true,
            registered: true
        }
    );
    // ... a second service of the domain registers and gets its route ...
    let second = testenv::planned("second", |_| {});
    let s = env.ctx(&second, false);
    dns::ensure_zone(&s).await.expect("zone step");
    dns::ensure_users_and_record(&s).await.expect("record step");
    Neg::ensure(&s).await.expect("NEG step");
    BackendServicePart::ensure(&s)
        .await
        .expect("backend service step");
    Route::ensure(&s).await.expect("route step");
    // ... and the first create fails and rolls back its DNS steps.
    let cleanup = env.ctx(&first, false);
    for (part, rec) in [(Node::DnsRecord, &record), (Node::DnsZone, &zone)] {
        let step = PartStep::new(part, f.clone(), cleanup.clone());
        step.undo(rec).await.expect("undone");
    }
    assert!(env.has(ZONE) && env.has(RECORD), "{:?}", env.resources());
    assert_eq!(registered(&env), vec![marker("second")]);
}

/// Every registry record set of the zone (head and shards), with its rrdatas.
fn registry_sets(env: &Env) -> Vec<(String, Vec<String>)> {
    let prefix = format!("projects/{PROJECT}/{ZONE}/rrsets/_csmrun-users");
    let mut out: Vec<(String, Vec<String>)> = env
        .emu
        .with_world(|w| w.list(collections::DNS_RRSETS, &prefix))
        .into_iter()
        .map(|(k, v)| {
            let datas = v["rrdatas"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect();
            (k, datas)
        })
        .collect();
    out.sort();
    out
}

/// The markers listed by every shard of the registry, sorted.
fn registered_in_all_shards(env: &Env) -> Vec<String> {
    let mut out: Vec<String> = registry_sets(env)
        .into_iter()
        .flat_map(|(_, d)| d)
        .map(|d| d.trim_matches('"').to_string())
        .filter(|d| d.starts_with("csmrun:"))
        .collect();
    out.sort();
    out
}

fn set_dns(env: &Env, time_scale: f64, pending: chrono::Duration, per_rrset: u32) {
    env.emu.with_world(|w| {
        w.settings.time_scale = time_scale;
        w.settings.dns_change_pending_time = pending;
        w.settings.dns_records_per_rrset = per_rrset;
    });
}

#[tokio::test]
async fn the_last_leaver_waits_for_its_dns_change_to_be_done_and_deletes_the_zone() {
    let env = testenv::start().await;
    let m = testenv::planned("target", |_| {});
    env.create(&m).await;
    // From here every change stays pending for a second: a zone delete sent before it is done is refused.
    set_dns(&env, 1.0, chrono::Duration::seconds(1), 100);
    let c = env.ctx(&m, true);
    assert_eq!(dns::leave(&c).await, Ok(true), "the zone is released");
    nothing_left(&env);
    let polls = env
        .emu
        .requests()
        .iter()
        .filter(|r| {
            r["method"] == "GET" && r["path"].as_str().is_some_and(|p| p.contains("/changes/"))
        })
        .count();
    assert!(polls >= 1, "the change was polled until done");
    assert_eq!(
        requests(&env, "DELETE", "/managedZones/csmrun-meshapps-internal"),
        vec![200],
        "one zone delete, after the change was done"
    );
}

#[tokio::test]
async fn a_joiner_right_after_another_joiner_sees_its_pending_registration_once_done() {
    let env = testenv::start().await;
    set_dns(&env, 1.0, chrono::Duration::milliseconds(500), 100);
    let (a, b) = (
        testenv::planned("svc-a", |_| {}),
        testenv::planned("svc-b", |_| {}),
    );
    let (ca, cb) = (env.ctx(&a, false), env.ctx(&b, false));
    dns::ensure_zone(&ca).await.expect("zone");
    assert_eq!(dns::join(&ca).await, Ok(true));
    assert_eq!(dns::join(&cb).await, Ok(true));
    assert_eq!(registered(&env), vec![marker("svc-a"), marker("svc-b")]);
    // No compare-and-swap was refused: each change was done before the next read.
    assert_eq!(requests(&env, "POST", "/changes"), vec![200, 200]);
}

#[tokio::test]
async fn a_registry_of_more_than_100_services_is_sharded_under_the_per_rrset_limit() {
    let env = testenv::start().await;
    let models: Vec<ServiceModel> = (0..150)
        .map(|i| testenv::planned(&format!("svc-{i:03}"), |_| {}))
        .collect();
    let ctxs: Vec<_> = models.iter().map(|m| env.ctx(m, false)).collect();
    dns::ensure_zone(&ctxs[0]).await.expect("zone");
    for c in &ctxs {
        assert_eq!(dns::join(c).await, Ok(true));
    }
    let sets = registry_sets(&env);
    assert!(sets.len() >= 2, "{sets:?}");
    assert!(sets.iter().all(|(_, d)| d.len() <= 100), "{sets:?}");
    let mut want: Vec<String> = (0..150).map(|i| marker(&format!("svc-{i:03}"))).collect();
    want.sort();
    assert_eq!(registered_in_all_shards(&env), want);
    // A service in a shard other than the head sees the others; leaving, each only unregisters.
    assert!(dns::other_users(&ctxs[149]).await.expect("read"));
    for c in &ctxs[1..] {
        assert_eq!(dns::leave(c).await, Ok(false));
    }
    assert_eq!(registered_in_all_shards(&env), vec![marker("svc-000")]);
    assert_eq!(registry_sets(&env).len(), 1, "emptied shards are deleted");
    assert_eq!(dns::leave(&ctxs[0]).await, Ok(true));
    assert!(registry_sets(&env).is_empty() && !env.has(ZONE));
}

#[tokio::test]
async fn a_domain_holds_a_thousand_services_registered_and_released_through_the_registry() {
    let env = testenv::start().await;
    let models: Vec<ServiceModel> = (0..1000)
        .map(|i| testenv::planned(&format!("svc-{i:04}"), |_| {}))
        .collect();
    let ctxs: Vec<_> = models.iter().map(|m| env.ctx(m, false)).collect();
    dns::ensure_zone(&ctxs[0]).await.expect("zone");
    let joined = futures::future::join_all(ctxs.iter().map(|c| dns::join(c))).await;
    assert!(
        joined.iter().all(|r| r == &Ok(true)),
        "{:?}",
        joined.iter().find(|r| **r != Ok(true))
    );
    let sets = registry_sets(&env);
    assert!(sets.iter().all(|(_, d)| d.len() <= 100), "{sets:?}");
    assert_eq!(registered_in_all_shards(&env).len(), 1000);
    let changes = requests(&env, "POST", "/changes");
    assert!(
        changes.iter().all(|s| *s == 200),
        "no change refused: {changes:?}"
    );
    let left = futures::future::join_all(ctxs.iter().map(|c| dns::leave(c))).await;
    assert!(left.iter().all(Result::is_ok), "{left:?}");
    assert!(
        left.contains(&Ok(true)),
        "the last batch of leavers released the zone"
    );
    assert!(registry_sets(&env).is_empty(), "{:?}", registry_sets(&env));
    assert!(!env.has(ZONE), "the last leaver deleted the zone");
}

/// With two markers per record set (one for the head, which also names the shards), a joiner in another process
/// that must open a new shard races the last leaver of the head.
#[tokio::test]
async fn a_joiner_opening_a_new_shard_and_the_last_leaver_never_lose_the_zone_under_the_joiner() {
    for round in 0..6 {
        let env = testenv::start().await;
        set_dns(&env, 0.0, chrono::Duration::zero(), 2);
        let other_run = testenv::provider(&env.emu, "0s");
        let (l, j) = (
            testenv::planned("leaver", |_| {}),
            testenv::planned("joiner", |_| {}),
        );
        let lc = env.ctx(&l, false);
        dns::ensure_zone(&lc).await.expect("zone");
        dns::ensure_users_and_record(&lc)
            .await
            .expect("record step");
        let jc = env.ctx_of(&other_run, &j, false);
        let leave = env.ctx(&l, true);
        let (left, joined) = tokio::join!(dns::leave(&leave), async {
            dns::ensure_zone(&jc).await.expect("zone step");
            dns::ensure_users_and_record(&jc).await
        });
        let left = left.expect("leave");
        joined.expect("join");
        assert!(!left || env.has(ZONE), "round {round}");
        assert!(
            env.has(ZONE) && env.has(RECORD),
            "round {round}: {:?}",
            env.resources()
        );
        assert_eq!(
            registered_in_all_shards(&env),
            vec![marker("joiner")],
            "round {round}"
        );
        assert!(registry_sets(&env).iter().all(|(_, d)| d.len() <= 2));
    }
}

#[tokio::test]
async fn joiners_and_leavers_across_shard_boundaries_keep_the_registry_exact() {
    let env = testenv::start().await;
    set_dns(&env, 0.0, chrono::Duration::zero(), 3);
    let other_run = testenv::provider(&env.emu, "0s");
    let models: Vec<ServiceModel> = (0..12)
        .map(|i| testenv::planned(&format!("svc-{i:02}"), |_| {}))
        .collect();
    let first: Vec<_> = models[..8].iter().map(|m| env.ctx(m, false)).collect();
    dns::ensure_zone(&first[0]).await.expect("zone");
    for c in &first {
        assert_eq!(dns::join(c).await, Ok(true));
    }
    // Leavers of the first run (in several shards) and joiners of another run, at once.
    let leaving: Vec<_> = models[..6].iter().map(|m| env.ctx(m, true)).collect();
    let joining: Vec<_> = models[8..]
        .iter()
        .map(|m| env.ctx_of(&other_run, m, false))
        .collect();
    let (left, joined) = tokio::join!(
        futures::future::join_all(leaving.iter().map(|c| dns::leave(c))),
        futures::future::join_all(joining.iter().map(|c| dns::join(c)))
    );
    assert!(left.iter().all(|r| *r == Ok(false)), "{left:?}");
    assert!(joined.iter().all(|r| *r == Ok(true)), "{joined:?}");
    let mut want: Vec<String> = (6..12).map(|i| marker(&format!("svc-{i:02}"))).collect();
    want.sort();
    assert_eq!(registered_in_all_shards(&env), want);
    let sets = registry_sets(&env);
    assert!(sets.iter().all(|(_, d)| d.len() <= 3), "{sets:?}");
    // The head names exactly the shards that exist.
    let head = sets
        .iter()
        .find(|(k, _)| k.ends_with("/_csmrun-users.meshapps.internal./TXT"))
        .expect("head");
    let named: Vec<String> = head
        .1
        .iter()
        .filter_map(|d| {
            d.trim_matches('"')
                .strip_prefix("shards:")
                .map(str::to_string)
        })
        .flat_map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert_eq!(named.len() + 1, sets.len(), "{sets:?}");
}

/// Registry reads (`resourceRecordSets.get` of a registry record set) logged so far.
fn registry_reads(env: &Env) -> usize {
    env.emu
        .requests()
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("/rrsets/_csmrun-users"))
        })
        .count()
}

#[tokio::test]
async fn leavers_of_a_process_that_last_wrote_the_registry_change_it_without_reading_it_again() {
    let env = testenv::start().await;
    set_dns(&env, 0.0, chrono::Duration::zero(), 3);
    let models: Vec<ServiceModel> = (0..6)
        .map(|i| testenv::planned(&format!("svc-{i}"), |_| {}))
        .collect();
    let joining: Vec<_> = models.iter().map(|m| env.ctx(m, false)).collect();
    dns::ensure_zone(&joining[0]).await.expect("zone");
    for c in &joining {
        assert_eq!(dns::join(c).await, Ok(true));
    }
    // From here changes stay pending for two seconds: a leaver that is not the last does not wait for its own.
    set_dns(&env, 1.0, chrono::Duration::seconds(2), 3);
    let (reads, changes) = (
        registry_reads(&env),
        requests(&env, "POST", "/changes").len(),
    );
    let polls = |env: &Env| {
        env.emu
            .requests()
            .iter()
            .filter(|r| {
                r["method"] == "GET" && r["path"].as_str().is_some_and(|p| p.contains("/changes/"))
            })
            .count()
    };
    let polled = polls(&env);
    for m in &models[..4] {
        assert_eq!(
            dns::leave(&env.ctx(m, true)).await,
            Ok(false),
            "{:?}",
            m.name
        );
    }
    assert_eq!(registry_reads(&env), reads, "no leaver read the registry");
    let left = requests(&env, "POST", "/changes");
    assert_eq!(
        left[changes..],
        [200, 200, 200, 200],
        "one change per leaver, each applied"
    );
    assert_eq!(polls(&env), polled, "no leaver polled its change");
    let want = vec![marker("svc-4"), marker("svc-5")];
    assert_eq!(
        registered_in_all_shards(&env),
        want,
        "{:?}",
        registry_sets(&env)
    );
    // A read after pending changes of this process waits until they are done (reads do not show a pending
    // change): it sees what they wrote.
    let read = dns::read_registry(&env.ctx(&models[4], false))
        .await
        .expect("read");
    assert_eq!(read.all().into_iter().collect::<Vec<_>>(), want);
    assert!(polls(&env) > polled, "the read waited for the last change");
}

#[tokio::test]
async fn a_registry_another_process_changed_since_this_one_wrote_it_is_read_again_and_nobody_is_lost(
) {
    let env = testenv::start().await;
    set_dns(&env, 0.0, chrono::Duration::zero(), 100);
    let other_run = testenv::provider(&env.emu, "0s");
    let (a, b, d) = (
        testenv::planned("svc-a", |_| {}),
        testenv::planned("svc-b", |_| {}),
        testenv::planned("svc-d", |_| {}),
    );
    let ca = env.ctx(&a, false);
    dns::ensure_zone(&ca).await.expect("zone");
    assert_eq!(dns::join(&ca).await, Ok(true));
    assert_eq!(dns::join(&env.ctx(&b, false)).await, Ok(true));
    // Another run registers behind this process's back: the registry this process last wrote is stale.
    assert_eq!(
        dns::join(&env.ctx_of(&other_run, &d, false)).await,
        Ok(true)
    );
    let reads = registry_reads(&env);
    assert_eq!(dns::leave(&env.ctx(&a, true)).await, Ok(false));
    assert_eq!(registered(&env), vec![marker("svc-b"), marker("svc-d")]);
    let changes = requests(&env, "POST", "/changes");
    assert_eq!(
        changes[changes.len() - 2..],
        [412, 200],
        "the change planned from the stale registry was refused, the one from a fresh read applied"
    );
    assert_eq!(
        registry_reads(&env),
        reads + 1,
        "read once, after the refusal"
    );
}

#[test]
fn the_registry_after_a_change_lists_the_joiners_without_the_leavers_and_needs_no_further_change() {
    let domain = "meshapps.internal";
    let limits = dns::Limits {
        per_rrset: 2,
        ..Default::default()
    };
    let set = |names: &[&str]| names.iter().map(|n| marker(n)).collect();
    let mut reg = dns::Registry::default();
    // Open shards, then empty some: the registry as changed matches the one planned from it afresh.
    for (joins, leaves) in [
        (set(&["a", "b", "c", "d", "e"]), set(&[])),
        (set(&["f"]), set(&["a", "c"])),
        (set(&[]), set(&["b", "d", "e"])),
    ] {
        let change = dns::plan(&reg, domain, &joins, &leaves, &limits).expect("a change");
        let after = reg.after(&change, domain);
        let mut want = reg.all();
        want.extend(joins);
        want.retain(|m| !leaves.contains(m));
        assert_eq!(after.all(), want);
        assert!(
            dns::plan(&after, domain, &BTreeSet::new(), &BTreeSet::new(), &limits).is_none(),
            "nothing left to change: {after:?}"
        );
        for (k, rrset) in &after.read {
            if let Some(r) = rrset {
                assert!(r.rrdatas.len() <= 2, "{k}: {r:?}");
            }
        }
        reg = after;
    }
}
