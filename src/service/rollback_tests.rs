//! Rollback of a part whose insert is still running when rollback reaches it, against the emulator with its
//! operation delays.

use csmrun_emulator::{Config, Emulator};

use super::parts::neg;
use super::runner::Step;
use super::steps::{Node, PartStep, Record};
use super::testenv::{self, Env};

#[tokio::test]
async fn a_neg_whose_insert_is_still_running_is_removed_by_rollback_and_does_not_appear_afterwards()
{
    let emu = Emulator::start(Config {
        // The NEG insert's operation takes a moment, as Google's does.
        time_scale: Some(0.2),
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    let data = testenv::provider(&emu, "0s");
    let env = Env { emu, data };
    let m = testenv::planned("target", |_| {});
    let (c, cleanup) = (env.ctx(&m, false), env.ctx(&m, false));
    let (made, accepted) = neg::accept(&c).await.expect("insert accepted");
    assert_eq!(made, neg::Made { created: true });
    let record = Record::Neg { created: true };
    let op = accepted.operation.expect("the insert's operation");
    assert_ne!(op.status, "DONE", "{op:?}");
    let step = PartStep::new(Node::Neg, c.clone(), cleanup);
    step.undo(&record).await.expect("rollback of the NEG");
    // Once the insert's operation has ended, the NEG must still be gone: deleted after it, not before.
    c.clients
        .compute()
        .wait_operation(
            &c.spec.project,
            op,
            "regionNetworkEndpointGroups.insert",
            "NEG",
        )
        .await
        .expect("insert operation ends");
    assert!(
        !env.has("networkEndpointGroups/target-neg"),
        "{:?}",
        env.resources()
    );
}

#[tokio::test]
async fn a_cloud_run_create_accepted_but_not_followed_to_its_end_is_deleted_by_the_rollback() {
    let env = testenv::start().await;
    let data = testenv::provider_without_retries(&env.emu);
    // Google accepts the create; the wait on its operation then fails (500, no retries here), so the service
    // exists though the call failed.
    env.fail("run", "operations.wait", 500, Some(1));
    let m = testenv::planned("target", |_| {});
    let c = env.ctx_of(&data, &m, false);
    let cleanup = env.ctx_of(&data, &m, false);
    let outcome = super::steps::create_graph(&c, &cleanup)
        .run(&c.cancel)
        .await;
    env.clear_faults();
    assert!(
        matches!(outcome, super::runner::GraphEnd::RolledBack { .. }),
        "{outcome:?}"
    );
    assert!(!env.has("services/target"), "{:?}", env.resources());
}

#[tokio::test]
async fn a_neg_insert_that_runs_into_another_services_neg_is_not_journaled_as_created() {
    let env = testenv::start().await;
    // Another service made a NEG of the name this create wants, between this create's read and its insert.
    let other = testenv::planned("other", |m| {
        m.neg_name = super::val::Val::Known("target-neg".into())
    });
    neg::accept(&env.ctx(&other, false))
        .await
        .expect("the other service's NEG");
    let m = testenv::planned("target", |_| {});
    env.fail("compute", "regionNetworkEndpointGroups.get", 404, Some(1));
    let failed = match neg::accept(&env.ctx(&m, false)).await {
        Ok(_) => panic!("another service's NEG was adopted"),
        Err(f) => f,
    };
    assert!(
        failed.error.summary().contains("not managed by csmrun"),
        "{}",
        failed.error.summary()
    );
    assert_eq!(failed.partial, None, "rollback must not delete it");
    assert!(env.has("networkEndpointGroups/target-neg"));
}
