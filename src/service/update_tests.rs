//! The journaled update against the emulator: rollback of renamed parts, failed undo, cleanup after the commit.

use super::leftover::{self, Kind, Leftover};
use super::testenv::{self, Env};
use super::update::{run, Contexts, UpdateEnd};
use crate::service::model::ServiceModel;
use tfplug::Val;

fn contexts(env: &Env, old: &ServiceModel, new: &ServiceModel) -> Contexts {
    Contexts {
        new: env.ctx(new, true),
        old: env.ctx(old, true),
        undo_new: env.ctx(new, true),
        undo_old: env.ctx(old, true),
    }
}

fn renamed_neg(m: &mut ServiceModel) {
    m.neg_name = Val::Known("target-neg-v2".into());
}

/// A created service and the same one with another `neg_name`.
async fn created_then_neg_renamed() -> (Env, ServiceModel, ServiceModel) {
    let env = testenv::start().await;
    let old = testenv::planned("target", |_| {});
    env.create(&old).await;
    let new = testenv::planned("target", renamed_neg);
    (env, old, new)
}

fn backend_group(env: &Env) -> String {
    let b = env
        .resource("backendServices/target-backend")
        .expect("backend service exists");
    b["backends"][0]["group"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn a_failed_update_removes_the_renamed_neg_it_built_and_swaps_the_old_one_back() {
    let (env, old, new) = created_then_neg_renamed().await;
    env.fail("run", "services.patch", 400, None);
    let outcome = run(&contexts(&env, &old, &new), &[], &[]).await;
    assert!(
        matches!(outcome, UpdateEnd::RolledBack { .. }),
        "{outcome:?}"
    );
    assert!(
        !env.has("networkEndpointGroups/target-neg-v2"),
        "{:?}",
        env.resources()
    );
    assert!(env.has("networkEndpointGroups/target-neg"));
    assert!(env.has("services/target"));
    assert!(backend_group(&env).ends_with("/networkEndpointGroups/target-neg"));
}

#[tokio::test]
async fn a_failed_undo_names_the_new_part_that_remains_and_a_later_cleanup_removes_it() {
    let (env, old, new) = created_then_neg_renamed().await;
    env.fail("run", "services.patch", 400, None);
    env.fail("compute", "regionNetworkEndpointGroups.delete", 400, None);
    let outcome = run(&contexts(&env, &old, &new), &[], &[]).await;
    let UpdateEnd::Incomplete { leftovers, .. } = outcome else {
        panic!("expected an incomplete rollback, got {outcome:?}");
    };
    assert_eq!(leftovers, vec![Leftover::new(Kind::Neg, "target-neg-v2")]);
    assert!(env.has("networkEndpointGroups/target-neg-v2"));
    // The backend service was swapped back, so the left-over NEG is free to delete once the API allows it.
    assert!(backend_group(&env).ends_with("/networkEndpointGroups/target-neg"));
    env.clear_faults();
    let (kept, error) = leftover::delete_all(&env.ctx(&old, true), leftovers).await;
    assert_eq!((kept, error), (vec![], None));
    assert!(!env.has("networkEndpointGroups/target-neg-v2"));
}

#[tokio::test]
async fn an_old_part_that_cannot_be_deleted_after_the_swap_is_named_as_a_leftover() {
    let (env, old, new) = created_then_neg_renamed().await;
    env.fail(
        "compute",
        "regionNetworkEndpointGroups.delete",
        400,
        Some(1),
    );
    let outcome = run(&contexts(&env, &old, &new), &[], &[]).await;
    let UpdateEnd::Done {
        cleanup_error,
        leftovers,
    } = outcome
    else {
        panic!("expected the update to take effect, got {outcome:?}");
    };
    assert!(cleanup_error.is_some());
    assert_eq!(leftovers, vec![Leftover::new(Kind::Neg, "target-neg")]);
    assert!(backend_group(&env).ends_with("/networkEndpointGroups/target-neg-v2"));
    // The next update removes it.
    let outcome = run(&contexts(&env, &new, &new), &leftovers, &[]).await;
    assert!(
        matches!(&outcome, UpdateEnd::Done { cleanup_error: None, leftovers } if leftovers.is_empty()),
        "{outcome:?}"
    );
    assert!(!env.has("networkEndpointGroups/target-neg"));
}

#[tokio::test]
async fn a_failed_route_rename_puts_the_old_route_back() {
    let env = testenv::start().await;
    let old = testenv::planned("target", |_| {});
    env.create(&old).await;
    let new = testenv::planned("target", |m| {
        m.route_name = Val::Known("target-route-v2".into())
    });
    env.fail("networkservices", "httpRoutes.create", 400, Some(1));
    let outcome = run(&contexts(&env, &old, &new), &[], &[]).await;
    assert!(
        matches!(outcome, UpdateEnd::RolledBack { .. }),
        "{outcome:?}"
    );
    assert!(env.has("httpRoutes/target-route"), "{:?}", env.resources());
    assert!(!env.has("httpRoutes/target-route-v2"));
}

#[tokio::test]
async fn a_failed_update_to_another_account_deploys_the_old_account_again_and_releases_the_new_grant(
) {
    use csmrun_emulator::faults::{OperationFault, Rule};
    let env = testenv::start().await;
    let old = testenv::planned("target", |_| {});
    let owned = env.create(&old).await;
    let other = "meshapps-proxy@demo-project.iam.gserviceaccount.com";
    let new = testenv::planned("target", |m| m.service_account = Val::Known(other.into()));
    // The patch is accepted and its revision fails (Cloud Run keeps traffic on the old revision); the revert
    // deploy after it succeeds.
    let rule = Rule {
        api: Some("run".into()),
        method: Some("services.patch".into()),
        rate: None,
        code: None,
        message: None,
        times: Some(1),
        latency: None,
        operation_error: Some(OperationFault {
            code: 13,
            message: Some("injected by the test".into()),
        }),
        ..Default::default()
    };
    env.emu
        .with_world(|w| w.faults.add(vec![rule]))
        .expect("fault rule accepted");
    let cx = contexts(&env, &old, &new);
    cx.undo_old.grants.set_owned(owned.clone());
    let outcome = run(&cx, &[], &owned).await;
    assert!(
        matches!(outcome, UpdateEnd::RolledBack { .. }),
        "{outcome:?}"
    );
    let svc = env.resource("services/target").expect("service exists");
    assert_eq!(svc["template"]["serviceAccount"], testenv::ACCOUNT);
    assert_eq!(
        svc["annotations"]["csmrun.dev/iam-roles"],
        "roles/trafficdirector.client"
    );
    let td = env.members("roles/trafficdirector.client");
    assert!(
        td.contains(&format!("serviceAccount:{}", testenv::ACCOUNT)),
        "{td:?}"
    );
    assert!(
        !td.contains(&format!("serviceAccount:{other}")),
        "the new account's grant is released: {td:?}"
    );
}
