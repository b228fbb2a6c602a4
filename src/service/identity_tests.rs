//! A destroy or an update whose state names, in a valid name, a part of another service (`identity`), against the
//! emulator: refused before any request that could change anything, naming the part; parts already gone or
//! without markers (imported) stay fine.

use serde_json::Value;

use super::identity;
use super::model::ServiceModel;
use super::parts::{cloud_run, CloudRun, Part as _};
use super::resource::{delete_parts, DeleteFailed, Private};
use super::testenv::{self, Env, PROJECT};
use tfplug::Val;

fn k(s: &str) -> Val<String> {
    Val::Known(s.to_string())
}

/// Every resource of the emulator with its content.
fn world(env: &Env) -> Value {
    env.emu.with_world(|w| serde_json::json!(w.resources))
}

/// The requests logged since the first `from`, that could change something.
fn writes_since(env: &Env, from: usize) -> Vec<String> {
    env.emu
        .requests()
        .iter()
        .skip(from)
        .filter(|r| r["method"] != "GET")
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect()
}

fn uid(env: &Env, name: &str) -> Option<String> {
    env.resource(&format!("services/{name}"))
        .and_then(|s| s["uid"].as_str().map(str::to_string))
}

/// Two csmrun services of one domain, `a` and `b`, and a zone of another domain.
async fn two_services(env: &Env) -> ServiceModel {
    let a = testenv::planned("a", |_| {});
    env.create(&a).await;
    env.create(&testenv::planned("b", |_| {})).await;
    let zone = gcp::dns::ManagedZone {
        name: "other-zone".into(),
        dns_name: "other.example.".into(),
        description: Some("made by hand".into()),
        visibility: Some("private".into()),
        ..Default::default()
    };
    env.data
        .clients
        .dns()
        .create_managed_zone(PROJECT, &zone)
        .await
        .expect("a zone of another domain");
    a
}

#[tokio::test]
async fn a_destroy_whose_state_names_another_services_part_in_any_name_field_changes_nothing() {
    let env = testenv::start().await;
    let a = two_services(&env).await;
    let a_uid = uid(&env, "a");
    let cases: [(&str, &str, bool, &str); 6] = [
        (
            "name",
            "b",
            true,
            "Cloud Run service b: not this service's (it is another service than the one csmrun created or \
             imported: its uid differs)",
        ),
        // A state without a uid (earlier versions) cannot tell b from a by the marker, which names the service by
        // its name: a's NEG, which serves a, refuses it.
        (
            "name",
            "b",
            false,
            "Serverless NEG a-neg: not this service's (it serves Cloud Run service \"a\")",
        ),
        (
            "neg_name",
            "b-neg",
            true,
            "Serverless NEG b-neg: not this service's (it serves Cloud Run service \"b\")",
        ),
        (
            "backend_service_name",
            "b-backend",
            true,
            "Backend service b-backend: not this service's (it does not use serverless NEG a-neg)",
        ),
        (
            "route_name",
            "b-route",
            true,
            "HTTPRoute b-route: not this service's (it does not send to backend service a-backend)",
        ),
        (
            "dns_zone_name",
            "other-zone",
            true,
            "DNS zone other-zone: not this service's (it serves another domain)",
        ),
    ];
    let before = world(&env);
    for (field, value, with_uid, summary) in cases {
        let mut m = a.clone();
        match field {
            "name" => m.name = k(value),
            "neg_name" => m.neg_name = k(value),
            "backend_service_name" => m.backend_service_name = k(value),
            "route_name" => m.route_name = k(value),
            _ => m.dns_zone_name = k(value),
        }
        let private = Private {
            service_uid: a_uid.clone().filter(|_| with_uid),
            ..Default::default()
        };
        let from = env.emu.requests().len();
        let refused = delete_parts(&env.ctx(&m, true), &private).await;
        let Err(DeleteFailed::NotThisServices(e)) = refused else {
            panic!("{field} = {value:?}: {refused:?}");
        };
        assert_eq!(e.summary(), summary, "{field} = {value:?}");
        let detail = e.detail();
        assert!(
            detail.contains("terraform state rm") && detail.contains("terraform import"),
            "{field}: {detail}"
        );
        assert_eq!(
            writes_since(&env, from),
            Vec::<String>::new(),
            "{field} = {value:?}"
        );
        assert_eq!(world(&env), before, "{field} = {value:?} changed something");
    }
    // The true state still destroys a, and b is untouched.
    let private = Private {
        service_uid: a_uid,
        ..Default::default()
    };
    delete_parts(&env.ctx(&a, true), &private)
        .await
        .expect("the true state destroys");
    assert!(!env.has("services/a") && !env.has("networkEndpointGroups/a-neg"));
    for part in [
        "services/b",
        "networkEndpointGroups/b-neg",
        "backendServices/b-backend",
        "httpRoutes/b-route",
        "managedZones/other-zone",
    ] {
        assert!(env.has(part), "{part} is gone: {:?}", env.resources());
    }
}

#[tokio::test]
async fn an_update_checks_the_prior_parts_and_refuses_a_rename_onto_another_services_part() {
    let env = testenv::start().await;
    let a = two_services(&env).await;
    let a_uid = uid(&env, "a");
    let contexts = |old: &ServiceModel, new: &ServiceModel| super::update::Contexts {
        new: env.ctx(new, true),
        old: env.ctx(old, true),
        undo_new: env.ctx(new, true),
        undo_old: env.ctx(old, true),
    };
    let private = Private {
        service_uid: a_uid,
        ..Default::default()
    };
    let before = world(&env);
    // The prior state names b's route (tampered), the configuration keeps it (it does not set `route_name`).
    let mut tampered = a.clone();
    tampered.route_name = k("b-route");
    let e = identity::check_update(&contexts(&tampered, &tampered), &private)
        .await
        .expect_err("b's route is not a's");
    assert!(
        e.summary()
            .starts_with("HTTPRoute b-route: not this service's"),
        "{}",
        e.summary()
    );
    // The configuration renames a's backend service onto b's.
    let mut renamed = a.clone();
    renamed.backend_service_name = k("b-backend");
    let e = identity::check_update(&contexts(&a, &renamed), &private)
        .await
        .expect_err("b's backend service is not free");
    assert_eq!(
        e.summary(),
        "Backend service b-backend: exists and is not managed by csmrun"
    );
    assert_eq!(world(&env), before);
    identity::check_update(&contexts(&a, &a), &private)
        .await
        .expect("a's own state passes");
}

#[tokio::test]
async fn a_destroy_skips_a_part_already_gone_and_takes_a_part_without_markers_by_its_references() {
    let env = testenv::start().await;
    let a = testenv::planned("a", |_| {});
    env.create(&a).await;
    let compute = env.data.clients.compute();
    // An imported backend service carries no marker: it is a's because it uses a's NEG.
    let mut b = compute
        .get_backend_service(PROJECT, "a-backend")
        .await
        .expect("a's backend service");
    b.description = None;
    compute
        .update_backend_service(PROJECT, "a-backend", &b)
        .await
        .expect("marker removed");
    let route = gcp::network_services::http_route_name(PROJECT, "a-route");
    env.data
        .clients
        .network_services()
        .delete_http_route(&route)
        .await
        .expect("route deleted out of band");
    let from = env.emu.requests().len();
    delete_parts(&env.ctx(&a, true), &Private::default())
        .await
        .expect("destroy succeeds");
    let writes = writes_since(&env, from);
    assert!(
        !writes.iter().any(|w| w.contains("httpRoutes/a-route")),
        "the route was found gone and not deleted again: {writes:?}"
    );
    assert!(
        !env.has("backendServices/a-backend") && !env.has("services/a"),
        "{:?}",
        env.resources()
    );
}

#[tokio::test]
async fn a_service_csmrun_recreated_after_its_uid_was_recorded_is_still_this_services() {
    let env = testenv::start().await;
    let a = testenv::planned("a", |_| {});
    env.create(&a).await;
    let recorded = uid(&env, "a");
    // An update's recreate whose new uid the state never saw (the provider was killed during the deploy).
    let c = env.ctx(&a, true);
    cloud_run::delete(&c).await.expect("service deleted");
    CloudRun::ensure(&c).await.expect("service made again");
    assert_ne!(uid(&env, "a"), recorded);
    let private = Private {
        service_uid: recorded,
        ..Default::default()
    };
    delete_parts(&env.ctx(&a, true), &private)
        .await
        .expect("the marked service that a's NEG serves is a's");
    assert!(!env.has("services/a"), "{:?}", env.resources());
}
