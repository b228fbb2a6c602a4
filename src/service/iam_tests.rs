//! Ownership of project IAM grants across a provider killed mid-create, against the emulator.

use std::time::Duration;

use super::parts::iam::PolicyStore;
use super::resource::{delete_parts, Private};
use super::runner::GraphEnd;
use super::spec::TRAFFIC_DIRECTOR_CLIENT;
use super::steps::create_graph;
use super::testenv::{self, Env};

fn member() -> String {
    format!("serviceAccount:{}", testenv::ACCOUNT)
}

/// Starts a create in a provider whose propagation wait is an hour and kills it (drops it: no rollback), as a
/// killed provider process would, once `until` holds (or the create finished).
async fn create_killed_when(env: &Env, until: impl Fn(&Env) -> bool) {
    let slow = testenv::provider(&env.emu, "1h");
    let m = testenv::planned("target", |_| {});
    let c = env.ctx_of(&slow, &m, false);
    let cleanup = env.ctx_of(&slow, &m, false);
    let task = tokio::spawn(async move { create_graph(&c, &cleanup).run(&c.cancel).await });
    for _ in 0..500 {
        if until(env) || task.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    if let Ok(outcome) = task.await {
        assert!(matches!(outcome, GraphEnd::Done(_)), "{outcome:?}");
    }
}

fn granted(env: &Env) -> bool {
    env.members(TRAFFIC_DIRECTOR_CLIENT).contains(&member())
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
    create_killed_when(&env, granted).await;
    assert!(granted(&env));
    assert!(
        !env.has("services/target"),
        "killed before the service was deployed"
    );
    let owned = create_then_destroy(&env).await;
    assert_eq!(owned, vec![TRAFFIC_DIRECTOR_CLIENT.to_string()]);
    assert!(
        !granted(&env),
        "the grant csmrun made is removed with the last service"
    );
    assert!(!env.has("networkEndpointGroups/target-neg"));
}

#[tokio::test]
async fn a_binding_that_existed_before_a_killed_create_is_never_removed() {
    let env = testenv::start().await;
    // Written by someone else, not through the provider's coalescer (which would know csmrun made it).
    let rm = env.data.clients.resource_manager();
    let mut policy = PolicyStore::get(&rm, testenv::PROJECT)
        .await
        .expect("read policy");
    policy.add_member(TRAFFIC_DIRECTOR_CLIENT, &member());
    PolicyStore::set(&rm, testenv::PROJECT, &policy)
        .await
        .expect("seed binding");
    // With the binding already there nothing waits: killed once its NEG exists, or after it finished.
    create_killed_when(&env, |e| e.has("networkEndpointGroups/target-neg")).await;
    let owned = create_then_destroy(&env).await;
    assert!(owned.is_empty(), "{owned:?}");
    assert!(granted(&env));
}
