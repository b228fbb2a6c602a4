//! Refresh against the emulator: what is and is not drift.

use super::model::ServiceModel;
use super::parts::dns;
use super::parts::{BackendServicePart, Part as _, Route};
use super::state::{observe, Observed, Via};
use super::testenv;

/// Rewrites every `projects/demo-project/` reference of the resource whose key ends with `suffix` to the number.
fn by_number(env: &testenv::Env, suffix: &str, field: &str) {
    env.emu.with_world(|w| {
        let item = w
            .resources
            .values_mut()
            .flat_map(|items| items.iter_mut())
            .find(|(k, _)| k.ends_with(suffix))
            .map(|(_, v)| v)
            .expect("resource exists");
        let text = item[field]
            .to_string()
            .replace("projects/demo-project/", "projects/123456789012/");
        item[field] = serde_json::from_str(&text).expect("still JSON");
    });
}

#[tokio::test]
async fn references_by_project_number_are_not_drift() {
    let env = testenv::start().await;
    let m = testenv::planned("target", |_| {});
    env.create(&m).await;
    by_number(&env, "httpRoutes/target-route", "meshes");
    by_number(&env, "httpRoutes/target-route", "rules");
    by_number(&env, "backendServices/target-backend", "backends");
    by_number(&env, "csmrun-meshapps-internal", "privateVisibilityConfig");
    let route = env.resource("httpRoutes/target-route").expect("route");
    assert!(route["meshes"][0]
        .as_str()
        .is_some_and(|m| m.contains("/123456789012/")));
    let c = env.ctx(&m, true);
    assert!(Route::observe(&c).await.unwrap());
    assert!(BackendServicePart::observe(&c).await.unwrap());
    assert!(dns::is_in_place(&c).await.unwrap());
    let zone = env.resource("csmrun-meshapps-internal").expect("zone");
    assert!(zone
        .to_string()
        .contains("projects/123456789012/global/networks/mesh-vpc"));
    // Ensuring the zone again does not add the same network a second time.
    dns::ensure_zone(&c).await.unwrap();
    let zone = env.resource("csmrun-meshapps-internal").expect("zone");
    assert_eq!(
        zone["privateVisibilityConfig"]["networks"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_route_on_another_mesh_is_still_drift_when_written_by_number() {
    let env = testenv::start().await;
    let m = testenv::planned("target", |_| {});
    env.create(&m).await;
    env.emu.with_world(|w| {
        let route = w
            .resources
            .values_mut()
            .flat_map(|items| items.iter_mut())
            .find(|(k, _)| k.ends_with("httpRoutes/target-route"))
            .map(|(_, v)| v)
            .expect("route exists");
        route["meshes"] =
            serde_json::json!(["projects/123456789012/locations/global/meshes/other"]);
    });
    assert!(!Route::observe(&env.ctx(&m, true)).await.unwrap());
}

/// The requests logged since `from` (an index into the emulator's request log), as `METHOD path`.
fn calls_since(env: &testenv::Env, from: usize) -> Vec<String> {
    env.emu
        .requests()
        .iter()
        .skip(from)
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Calls of `calls` whose `METHOD path` ends with `suffix`.
fn count(calls: &[String], suffix: &str) -> usize {
    calls.iter().filter(|c| c.ends_with(suffix)).count()
}

/// Mutates the emulator's resource whose key ends with `suffix`.
fn edit(env: &testenv::Env, suffix: &str, f: impl FnOnce(&mut serde_json::Value)) {
    env.emu.with_world(|w| {
        let item = w
            .resources
            .values_mut()
            .flat_map(|items| items.iter_mut())
            .find(|(k, _)| k.ends_with(suffix))
            .map(|(_, v)| v)
            .expect("resource exists");
        f(item);
    });
}

/// Removes the emulator's resource whose key ends with `suffix` behind csmrun's back.
fn remove(env: &testenv::Env, suffix: &str) {
    env.emu.with_world(|w| {
        for items in w.resources.values_mut() {
            items.retain(|k, _| !k.ends_with(suffix));
        }
    });
}

/// What a refresh saw, in a comparable form.
fn seen(o: &Option<Observed>) -> Option<serde_json::Value> {
    o.as_ref().map(|o| {
        serde_json::json!({
            "service": o.service,
            "invokers": o.invokers,
            "neg": o.neg_ok,
            "backend": o.backend_ok,
            "route": o.route_ok,
            "dns": o.dns_ok,
            "missing_roles": o.missing_roles,
        })
    })
}

#[tokio::test]
async fn concurrent_refreshes_of_one_process_list_each_collection_once() {
    let env = testenv::start().await;
    let names = ["alpha", "bravo", "charlie", "delta", "echo"];
    let models: Vec<_> = names.iter().map(|n| testenv::planned(n, |_| {})).collect();
    for m in &models {
        env.create(m).await;
    }
    // A new provider process, as Terraform starts for the plan.
    let plan = testenv::provider(&env.emu, "0s");
    let from = env.emu.requests().len();
    let ctxs: Vec<_> = models.iter().map(|m| env.ctx_of(&plan, m, true)).collect();
    let seen_all = futures::future::join_all(ctxs.iter().map(|c| observe(c, Via::Snapshot))).await;
    for (name, o) in names.iter().zip(&seen_all) {
        let o = o
            .as_ref()
            .expect("refresh succeeds")
            .as_ref()
            .expect("found");
        assert!(
            o.neg_ok && o.backend_ok && o.route_ok && o.dns_ok && o.missing_roles.is_empty(),
            "{name} has drift: {o:?}"
        );
    }
    let calls = calls_since(&env, from);
    let n = names.len();
    assert!(calls.len() <= n + 10, "{} calls: {calls:#?}", calls.len());
    for (what, suffix) in [
        ("Cloud Run services.list", "/services"),
        ("regionNetworkEndpointGroups.list", "/networkEndpointGroups"),
        ("backendServices.list", "/backendServices"),
        ("httpRoutes.list", "/httpRoutes"),
        ("the zone", "/managedZones/csmrun-meshapps-internal"),
        ("the project policy", "/projects/demo-project:getIamPolicy"),
    ] {
        assert_eq!(count(&calls, suffix), 1, "{what} once: {calls:#?}");
    }
    assert_eq!(
        count(&calls, "/A"),
        1,
        "the wildcard record once: {calls:#?}"
    );
    assert_eq!(
        count(&calls, "/services/alpha:getIamPolicy"),
        1,
        "each service's own policy, read for it alone: {calls:#?}"
    );
    assert_eq!(calls.len(), n + 7, "{calls:#?}");
}

#[tokio::test]
async fn the_snapshot_sees_the_drift_and_the_absence_that_gets_see() {
    let env = testenv::start().await;
    let target = testenv::planned("target", |_| {});
    let other = testenv::planned("other", |_| {});
    let third = testenv::planned("third", |_| {});
    for m in [&target, &other, &third] {
        env.create(m).await;
    }
    // target: its route moved to another mesh, its image changed; other: NEG and backend service gone, and its
    // Cloud Run service being deleted (left out of services.list, still answered by services.get); third: its
    // references written by project number (not drift).
    edit(&env, "httpRoutes/target-route", |r| {
        r["meshes"] = serde_json::json!(["projects/demo-project/locations/global/meshes/other"]);
    });
    edit(&env, "services/target", |s| {
        s["template"]["containers"][0]["image"] = serde_json::json!("gcr.io/p/changed:2");
    });
    remove(&env, "backendServices/other-backend");
    remove(&env, "networkEndpointGroups/other-neg");
    edit(&env, "services/other", |s| {
        s["deleteTime"] = serde_json::json!("2026-01-01T00:00:00Z");
    });
    by_number(&env, "httpRoutes/third-route", "meshes");
    by_number(&env, "backendServices/third-backend", "backends");
    for m in [&target, &other, &third] {
        let by_gets = observe(&env.ctx(m, true), Via::Gets).await.expect("GETs");
        let plan = testenv::provider(&env.emu, "0s");
        let by_snapshot = observe(&env.ctx_of(&plan, m, true), Via::Snapshot)
            .await
            .expect("snapshot");
        assert_eq!(seen(&by_snapshot), seen(&by_gets), "{:?}", m.name);
    }
    let plan = testenv::provider(&env.emu, "0s");
    let o = |m: &ServiceModel| {
        let c = env.ctx_of(&plan, m, true);
        async move { observe(&c, Via::Snapshot).await }
    };
    let t = o(&target).await.unwrap().expect("target found");
    assert!(!t.route_ok && t.neg_ok && t.backend_ok);
    let x = o(&other)
        .await
        .unwrap()
        .expect("a service being deleted is still found");
    assert!(!x.neg_ok && !x.backend_ok && x.route_ok);
    let th = o(&third).await.unwrap().expect("third found");
    assert!(th.route_ok && th.backend_ok && th.neg_ok);
}

#[tokio::test]
async fn a_write_of_this_process_empties_the_snapshot() {
    let env = testenv::start().await;
    let m = testenv::planned("target", |_| {});
    env.create(&m).await;
    let plan = testenv::provider(&env.emu, "0s");
    let c = env.ctx_of(&plan, &m, true);
    let route_ok = || async { observe(&c, Via::Snapshot).await.unwrap().unwrap().route_ok };
    assert!(route_ok().await);
    edit(&env, "httpRoutes/target-route", |r| {
        r["meshes"] = serde_json::json!(["projects/demo-project/locations/global/meshes/other"]);
    });
    // The walk's snapshot still serves (one list per walk) ...
    assert!(route_ok().await);
    // ... until this process writes.
    drop(plan.reads.writing());
    assert!(!route_ok().await);
}
