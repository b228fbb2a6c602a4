//! The create graph against the emulator with its operation delays: what overlaps with what.

use std::time::Duration;

use csmrun_emulator::{Config, Emulator};

use super::steps::create_graph;
use super::testenv::{self, Env};

#[tokio::test]
async fn the_iam_grant_is_sent_once_the_neg_insert_is_accepted_while_its_operation_still_runs() {
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
    let c = env.ctx(&m, false);
    let cleanup = env.ctx(&m, false);
    // Only the start of the create matters: it is stopped once the backend service (after the NEG) is made.
    let create = tokio::spawn(async move { create_graph(&c, &cleanup).run(&c.cancel).await });
    while !env.has("backendServices/target-backend") && !create.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    create.abort();
    let log = env.emu.requests();
    let path = |e: &serde_json::Value| e["path"].as_str().unwrap_or("").to_string();
    let grant = log
        .iter()
        .position(|e| path(e).ends_with(":setIamPolicy") && !path(e).contains("/services/"))
        .expect("a project grant");
    let neg_op = log
        .iter()
        .find(|e| path(e).ends_with("/networkEndpointGroups") && e["method"] == "POST")
        .and_then(|e| e["response"]["name"].as_str().map(str::to_string))
        .expect("a NEG insert");
    let neg_done = log
        .iter()
        .position(|e| path(e).contains(&neg_op) && e["response"]["status"] == "DONE")
        .expect("the NEG operation ends");
    assert!(
        grant < neg_done,
        "the grant (request {grant}) waited for the NEG operation (done at request {neg_done}): {:#?}",
        log.iter().map(path).collect::<Vec<_>>()
    );
}
