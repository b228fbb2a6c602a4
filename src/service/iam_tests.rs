//! Ownership of project IAM grants across a provider killed mid-create, against the emulator.

use std::time::Duration;

use super::resource::{create_graph, delete_parts, Private};
use super::runner::RunOutcome;
use super::spec::TRAFFIC_DIRECTOR_CLIENT;
use super::steps::iam::{Edit, PolicyStore};
use super::testenv::{self, Env};

fn member() -> String {
    format!("serviceAccount:{}", testenv::ACCOUNT)
}

/// Starts a create in a provider whose propagation wait is an hour and kills it (drops it, no rollback) once
/// the grant exists, as a killed provider process would leave things.
async fn create_killed_in_the_wait(env: &Env) {
    let slow = testenv::provider(&env.emu, "1h");
    let m = testenv::planned("target", |_| {});
    let c = env.ctx_of(&slow, &m, false);
    let cleanup = env.ctx_of(&slow, &m, false);
    let task = tokio::spawn(async move { create_graph(&c, &cleanup).run(&c.cancel).await });
    for _ in 0..500 {
        if env.members(TRAFFIC_DIRECTOR_CLIENT).contains(&member()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !task.is_finished(),
        "the create should still be in its wait"
    );
    task.abort();
    let _ = task.await;
}

/// A second provider process creates the same service, then destroys it.
async fn create_then_destroy(env: &Env) -> Vec<String> {
    let m = testenv::planned("target", |_| {});
    let owned = env.create(&m).await;
    let private = Private {
        iam_owned: owned.clone(),
        ..Default::default()
    };
    delete_parts(&env.ctx(&m, true), &private)
        .await
        .expect("destroy succeeds");
    owned
}

#[tokio::test]
async fn a_grant_made_by_a_create_killed_in_the_propagation_wait_is_owned_by_the_next_create_and_removed_on_destroy(
) {
    let env = testenv::start().await;
    create_killed_in_the_wait(&env).await;
    assert!(env.members(TRAFFIC_DIRECTOR_CLIENT).contains(&member()));
    let owned = create_then_destroy(&env).await;
    assert_eq!(owned, vec![TRAFFIC_DIRECTOR_CLIENT.to_string()]);
    assert!(
        !env.members(TRAFFIC_DIRECTOR_CLIENT).contains(&member()),
        "the grant csmrun made is removed with the last service"
    );
    assert!(!env.has("networkEndpointGroups/target-neg"));
}

#[tokio::test]
async fn a_binding_that_existed_before_a_killed_create_is_never_removed() {
    let env = testenv::start().await;
    let rm = env.data.clients.resource_manager();
    let before = Edit {
        add: true,
        role: TRAFFIC_DIRECTOR_CLIENT.into(),
        member: member(),
    };
    env.data
        .iam
        .apply(&rm as &dyn PolicyStore, testenv::PROJECT, vec![before])
        .await
        .expect("seed binding");
    create_killed_once_its_neg_exists(&env).await;
    let owned = create_then_destroy(&env).await;
    assert!(owned.is_empty(), "{owned:?}");
    assert!(env.members(TRAFFIC_DIRECTOR_CLIENT).contains(&member()));
}

/// Like [`create_killed_in_the_wait`] when the binding already exists: there is no wait, so the create is killed
/// once its NEG exists.
async fn create_killed_once_its_neg_exists(env: &Env) {
    let slow = testenv::provider(&env.emu, "1h");
    let m = testenv::planned("target", |_| {});
    let c = env.ctx_of(&slow, &m, false);
    let cleanup = env.ctx_of(&slow, &m, false);
    let task = tokio::spawn(async move { create_graph(&c, &cleanup).run(&c.cancel).await });
    for _ in 0..500 {
        if env.has("networkEndpointGroups/target-neg") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    if let Ok(outcome) = task.await {
        assert!(matches!(outcome, RunOutcome::Done(_)), "{outcome:?}");
    }
}
