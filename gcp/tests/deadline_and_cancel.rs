//! Deadlines bound retries and waits; cancellation ends them promptly.

mod support;

use std::time::Duration;

use gcp::retry::Sleep;
use gcp::Api;
use reqwest::Method;
use serde_json::{json, Value};
use support::*;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn get(path: &str) -> gcp::transport::Request {
    gcp::transport::Request::new(Api::Run, Method::GET, path, "services.get")
}

/// Cancels `cancel` shortly after the call under test has started waiting.
fn cancel_soon(cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
    })
}

#[tokio::test]
async fn retries_stop_when_the_next_wait_would_pass_the_deadline() {
    let mock = Mock::start().await;
    mock.always(Reply::status(503, "UNAVAILABLE", "down"));
    let mut opts = fast_options(Sleep::instant());
    opts.retry.backoff = gcp::Backoff::new(Duration::from_secs(60), Duration::from_secs(60), 1.0);
    let t = transport(&mock, opts).with_deadline(Instant::now() + Duration::from_secs(10));
    let err = t.send::<Value>(get("projects/p")).await.unwrap_err();
    assert!(err.is_deadline(), "{err:?}");
    assert!(
        err.message().contains("503"),
        "the last error is kept in the message: {err}"
    );
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_operation_that_never_finishes_ends_at_the_deadline() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"name": "projects/p/locations/r/operations/op1"}),
    ));
    mock.always(Reply::json(
        200,
        json!({"name": "projects/p/locations/r/operations/op1", "done": false}),
    ));
    let mut opts = fast_options(Sleep::tokio());
    opts.request_timeout = Duration::from_secs(3600);
    let start = Instant::now();
    let t = transport(&mock, opts).with_deadline(start + Duration::from_secs(20 * 60));
    let c = gcp::Clients::from_transport(t);
    let err = c
        .run()
        .delete_service("projects/p/locations/r/services/s")
        .await
        .unwrap_err();
    assert!(err.is_deadline(), "{err:?}");
    assert_eq!(err.call(), Some("services.delete"));
    // Virtual time: the wait used (almost) the whole 20 minutes, polling with capped backoff.
    assert!(Instant::now() - start >= Duration::from_secs(19 * 60));
    let polls = mock.seen().len() - 1;
    assert!(
        polls >= 20 * 60 / 2,
        "polled {polls} times; the poll backoff caps at 1 s"
    );
}

#[tokio::test]
async fn cancelling_aborts_a_hanging_request() {
    let mock = Mock::start().await;
    mock.always(Reply::hang());
    let cancel = CancellationToken::new();
    let mut opts = fast_options(Sleep::instant());
    opts.request_timeout = Duration::from_secs(3600);
    let t = transport(&mock, opts).with_cancel(cancel.clone());
    let trigger = cancel_soon(cancel);
    let err = t.send::<Value>(get("projects/p")).await.unwrap_err();
    trigger.await.unwrap();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn cancelling_aborts_a_backoff_wait() {
    let mock = Mock::start().await;
    mock.always(Reply::status(503, "UNAVAILABLE", "down"));
    let cancel = CancellationToken::new();
    let mut opts = fast_options(Sleep::tokio());
    opts.retry.backoff =
        gcp::Backoff::new(Duration::from_secs(3600), Duration::from_secs(3600), 1.0);
    let t = transport(&mock, opts).with_cancel(cancel.clone());
    let trigger = cancel_soon(cancel);
    let err = t.send::<Value>(get("projects/p")).await.unwrap_err();
    trigger.await.unwrap();
    assert!(err.is_cancelled(), "{err:?}");
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn cancelling_aborts_an_operation_wait() {
    let mock = Mock::start().await;
    mock.always(Reply::json(
        200,
        json!({"name": "op-9", "status": "RUNNING"}),
    ));
    let cancel = CancellationToken::new();
    let mut opts = fast_options(Sleep::tokio());
    opts.poll = gcp::Backoff::new(Duration::from_secs(60), Duration::from_secs(60), 1.0);
    let t = transport(&mock, opts).with_cancel(cancel.clone());
    let c = gcp::Clients::from_transport(t);
    let trigger = cancel_soon(cancel);
    let err = c
        .compute()
        .delete_backend_service("p", "bs")
        .await
        .unwrap_err();
    trigger.await.unwrap();
    assert!(err.is_cancelled(), "{err:?}");
    assert_eq!(err.call(), Some("backendServices.delete"));
}

#[tokio::test]
async fn an_already_passed_deadline_sends_nothing() {
    let mock = Mock::start().await;
    mock.always(Reply::json(200, json!({})));
    let t = transport(&mock, fast_options(Sleep::instant())).with_deadline(Instant::now());
    let err = t.send::<Value>(get("projects/p")).await.unwrap_err();
    assert!(err.is_deadline(), "{err:?}");
    assert!(mock.seen().is_empty());
}
