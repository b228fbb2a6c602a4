//! Refresh against the emulator: what is and is not drift.

use super::parts::dns;
use super::parts::{BackendServicePart, Part as _, Route};
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
