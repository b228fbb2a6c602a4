//! Races over the project grant between separate provider processes (two Terraform runs), against the emulator:
//! a service joining the account while its last other user leaves, two last users leaving at once, and a destroy
//! killed after its service delete.

use std::time::Duration;

use super::parts::iam;
use super::parts::{CloudRun, Part as _};
use super::resource::{delete_parts, Private};
use super::spec::TRAFFIC_DIRECTOR_CLIENT;
use super::steps::{preflight, Record};
use super::testenv::{self, Env};

fn granted(env: &Env) -> bool {
    let member = format!("serviceAccount:{}", testenv::ACCOUNT);
    env.members(TRAFFIC_DIRECTOR_CLIENT).contains(&member)
}

fn owning(roles: Vec<String>) -> Private {
    Private {
        iam_owned: roles,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_joiner_whose_grant_is_released_after_its_iam_step_grants_it_again_and_becomes_ready() {
    let env = testenv::start().await;
    let leaver = testenv::planned("target", |_| {});
    let owned = env.create(&leaver).await;
    assert_eq!(owned, vec![TRAFFIC_DIRECTOR_CLIENT.to_string()]);

    // Another Terraform run (its own provider process) starts a service of the same account: its IAM step finds
    // the grant, which the leaving service's annotation says csmrun made, so it shares it.
    let other_run = testenv::provider(&env.emu, "0s");
    let joiner = testenv::planned("joiner", |_| {});
    let j = env.ctx_of(&other_run, &joiner, false);
    let record = iam::ensure(&j, &Default::default())
        .await
        .expect("IAM step");
    assert_eq!(record, Record::Iam { added: vec![] });
    assert_eq!(j.grants.owned(), vec![TRAFFIC_DIRECTOR_CLIENT.to_string()]);

    // The first run destroys the last service it knows of; the joiner has no Cloud Run service yet, so nothing
    // tells the release that someone still needs the grant.
    delete_parts(&env.ctx(&leaver, true), &owning(owned))
        .await
        .expect("destroy succeeds");
    assert!(!granted(&env), "released: no other user was listed");

    // The joiner deploys: its sidecar cannot start without the grant; it finds the grant gone, grants it again
    // and redeploys once it has propagated.
    preflight::run(&j).await.expect("pre-flight checks");
    let deployed = CloudRun::ensure(&j).await;
    assert!(deployed.is_ok(), "{:?}", deployed.err().map(|f| f.error));
    assert!(granted(&env), "the joiner granted it again");
    assert_eq!(
        j.grants.regranted(),
        vec![TRAFFIC_DIRECTOR_CLIENT.to_string()]
    );
    assert_eq!(j.grants.owned(), vec![TRAFFIC_DIRECTOR_CLIENT.to_string()]);
}

#[tokio::test]
async fn the_last_two_users_of_an_account_destroyed_by_two_runs_at_once_leave_no_grant() {
    let env = testenv::start().await;
    let run_a = testenv::provider(&env.emu, "0s");
    let run_b = testenv::provider(&env.emu, "0s");
    let (a, b) = (
        testenv::planned("svc-a", |_| {}),
        testenv::planned("svc-b", |_| {}),
    );
    let owned_a = env.create_in(&run_a, &a).await;
    let owned_b = env.create_in(&run_b, &b).await;
    assert_eq!(owned_b, owned_a, "the second shares the first one's grant");
    let (ca, cb) = (env.ctx_of(&run_a, &a, true), env.ctx_of(&run_b, &b, true));
    let (pa, pb) = (owning(owned_a), owning(owned_b));
    let (ra, rb) = tokio::join!(delete_parts(&ca, &pa), delete_parts(&cb, &pb));
    ra.expect("destroy of svc-a");
    rb.expect("destroy of svc-b");
    assert!(!env.has("services/svc-a") && !env.has("services/svc-b"));
    assert!(!granted(&env), "one of the two releases saw the other gone");
}

#[tokio::test]
async fn a_destroy_killed_right_after_its_service_delete_has_already_released_the_grant() {
    let env = testenv::start().await;
    let m = testenv::planned("target", |_| {});
    let owned = env.create(&m).await;
    let c = env.ctx(&m, true);
    let task = tokio::spawn(async move { delete_parts(&c, &owning(owned)).await });
    // Killed (dropped, nothing after it runs) once the service is gone: from then on refresh drops the resource,
    // so no later destroy would release anything.
    for _ in 0..1000 {
        if !env.has("services/target") || task.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    assert!(!env.has("services/target"));
    assert!(!granted(&env), "released before the service delete");
}

#[tokio::test]
async fn a_rolled_back_create_that_inherited_a_grant_kept_for_it_by_a_leaver_releases_it() {
    use super::runner::Step;
    use super::steps::{Node, PartStep};

    let env = testenv::start().await;
    let leaver = testenv::planned("target", |_| {});
    let owned = env.create(&leaver).await;
    // A create of the same account inherits the grant and deploys.
    let joiner = testenv::planned("joiner", |_| {});
    let j = env.ctx(&joiner, false);
    let cleanup = env.ctx(&joiner, false);
    let record = iam::ensure(&j, &Default::default())
        .await
        .expect("IAM step");
    assert_eq!(record, Record::Iam { added: vec![] });
    preflight::run(&j).await.expect("pre-flight checks");
    assert!(CloudRun::ensure(&j).await.is_ok());
    // The leaver goes while the joiner's service exists: it keeps the grant for the joiner.
    delete_parts(&env.ctx(&leaver, true), &owning(owned))
        .await
        .expect("destroy succeeds");
    assert!(granted(&env), "kept for the joiner");
    // The joiner's create then fails later (its route, say) and rolls back its service and IAM step.
    let step = |part| PartStep::new(part, j.clone(), cleanup.clone());
    let iam_step = step(Node::Iam);
    assert!(
        !iam_step.is_noop(&record),
        "an inherited grant is the rollback's to release"
    );
    step(Node::Service)
        .undo(&Record::Service { created: true })
        .await
        .expect("service undone");
    iam_step.undo(&record).await.expect("IAM step undone");
    assert!(!env.has("services/joiner"));
    assert!(
        !granted(&env),
        "nobody uses the account any more: the grant goes"
    );
}

#[tokio::test]
async fn a_service_joining_while_another_runs_create_waits_for_its_new_grant_shares_it_and_the_last_to_go_removes_it(
) {
    let env = testenv::start().await;
    // Run A grants the role and waits for it to propagate (no service yet, so no annotation says csmrun made it).
    let run_a = testenv::provider(&env.emu, "5s");
    let a = testenv::planned("maker", |_| {});
    let (ca, cleanup_a) = (env.ctx_of(&run_a, &a, false), env.ctx_of(&run_a, &a, false));
    let maker = tokio::spawn(async move {
        let outcome = super::steps::create_graph(&ca, &cleanup_a)
            .run(&ca.cancel)
            .await;
        (outcome, ca.grants.owned())
    });
    for _ in 0..500 {
        if granted(&env) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(granted(&env), "run A granted");
    // Run B's service joins the account meanwhile: the grant is there, and only A's NEG says it is csmrun's.
    let run_b = testenv::provider(&env.emu, "0s");
    let b = testenv::planned("joiner", |_| {});
    let owned_b = env.create_in(&run_b, &b).await;
    assert!(
        !env.has("services/maker"),
        "B's IAM step ran while A was still waiting (the window this test is about)"
    );
    assert_eq!(
        owned_b,
        vec![TRAFFIC_DIRECTOR_CLIENT.to_string()],
        "B shares A's grant"
    );
    let (outcome, owned_a) = maker.await.expect("run A");
    assert!(
        matches!(outcome, super::runner::GraphEnd::Done(_)),
        "{outcome:?}"
    );
    // A goes first (the grant is kept for B), then B: the grant goes with B.
    delete_parts(&env.ctx_of(&run_a, &a, true), &owning(owned_a))
        .await
        .expect("destroy of A");
    assert!(granted(&env), "kept for B");
    delete_parts(&env.ctx_of(&run_b, &b, true), &owning(owned_b))
        .await
        .expect("destroy of B");
    assert!(!granted(&env), "no service of the account is left");
}

#[tokio::test]
async fn a_grant_whose_owner_in_this_process_no_longer_shows_it_is_shared_by_a_joiner() {
    let env = testenv::start().await;
    let owner = testenv::planned("target", |_| {});
    let owned = env.create(&owner).await;
    // A new provider process (the next apply) starts updating the owner to another account: it claims the grants
    // its private state names, and its service stops showing them once patched (done here by hand).
    let apply = testenv::provider(&env.emu, "0s");
    let member = format!("serviceAccount:{}", testenv::ACCOUNT);
    apply.iam.claim(testenv::PROJECT, &owned, &member);
    env.emu.with_world(|w| {
        let key = format!(
            "projects/{}/locations/{}/services/target",
            testenv::PROJECT,
            testenv::REGION
        );
        if let Some(svc) = w.get_mut(csmrun_emulator::world::collections::RUN_SERVICES, &key) {
            svc["template"]["serviceAccount"] =
                "meshapps-proxy@demo-project.iam.gserviceaccount.com".into();
        }
        // Nor does its NEG: it joined the account when the grant already existed (no `iam-grants=` then).
        for neg in w
            .resources
            .values_mut()
            .flat_map(|items| items.values_mut())
        {
            if neg["name"] == "target-neg" {
                neg["description"] = "csmrun:demo-project/asia-northeast1/target".into();
            }
        }
    });
    // A service of this apply joins the account: the grant is there, no annotation says whose it is.
    let joiner = testenv::planned("joiner", |_| {});
    let j = env.ctx_of(&apply, &joiner, false);
    iam::ensure(&j, &Default::default())
        .await
        .expect("IAM step");
    assert_eq!(
        j.grants.owned(),
        vec![TRAFFIC_DIRECTOR_CLIENT.to_string()],
        "shared, not foreign"
    );
}
