//! The transport retries exactly the retryable classes, with bounded jittered backoff.

mod support;

use std::time::Duration;

use gcp::retry::Sleep;
use gcp::{Api, Error};
use reqwest::Method;
use serde_json::{json, Value};
use support::*;

fn get(api: Api, path: &str) -> gcp::transport::Request {
    gcp::transport::Request::new(api, Method::GET, path, "things.get")
}

async fn first_then_ok(api: Api, first: Reply) -> (Result<Value, Error>, usize) {
    let mock = Mock::start().await;
    mock.push(first).push(Reply::json(200, json!({"ok": true})));
    let t = transport(&mock, fast_options(Sleep::instant()));
    let r = t.send::<Value>(get(api, "projects/p/things/x")).await;
    (r, mock.seen().len())
}

#[tokio::test]
async fn each_retryable_class_is_retried_until_success() {
    let cases: Vec<(&str, Api, Reply)> = vec![
        (
            "429",
            Api::Run,
            Reply::status(429, "RESOURCE_EXHAUSTED", "Quota exceeded"),
        ),
        ("500", Api::Run, Reply::status(500, "INTERNAL", "internal")),
        (
            "502",
            Api::NetworkServices,
            Reply::raw(502, "<html>bad gateway</html>", "text/html"),
        ),
        (
            "503",
            Api::Compute,
            Reply::status(503, "UNAVAILABLE", "try again"),
        ),
        (
            "504",
            Api::Dns,
            Reply::status(504, "DEADLINE_EXCEEDED", "slow"),
        ),
        (
            "compute 403 rateLimitExceeded",
            Api::Compute,
            Reply::reason(
                403,
                "rateLimitExceeded",
                "Quota exceeded for quota group 'ReadGroup'",
            ),
        ),
        (
            "dns 403 userRateLimitExceeded",
            Api::Dns,
            Reply::reason(403, "userRateLimitExceeded", "slow down"),
        ),
        (
            "409 operationInProgress",
            Api::Compute,
            Reply::reason(409, "operationInProgress", "another operation is running"),
        ),
    ];
    for (name, api, first) in cases {
        let (r, n) = first_then_ok(api, first).await;
        assert!(
            r.is_ok(),
            "{name}: expected success after a retry, got {r:?}"
        );
        assert_eq!(n, 2, "{name}: expected exactly one retry");
    }
}

#[tokio::test]
async fn non_retryable_classes_are_sent_once() {
    let cases: Vec<(&str, Api, Reply)> = vec![
        (
            "400",
            Api::Run,
            Reply::status(400, "INVALID_ARGUMENT", "bad field"),
        ),
        (
            "401",
            Api::Run,
            Reply::status(401, "UNAUTHENTICATED", "no token"),
        ),
        (
            "403 forbidden",
            Api::Compute,
            Reply::reason(403, "forbidden", "no permission"),
        ),
        (
            "403 rateLimitExceeded on an AIP API",
            Api::Run,
            Reply::reason(403, "rateLimitExceeded", "not the Compute style"),
        ),
        ("404", Api::Compute, Reply::reason(404, "notFound", "gone")),
        (
            "409 alreadyExists",
            Api::Compute,
            Reply::reason(409, "alreadyExists", "exists"),
        ),
        (
            "409 ABORTED",
            Api::ResourceManager,
            Reply::status(409, "ABORTED", "etag"),
        ),
        (
            "412 conditionNotMet",
            Api::Compute,
            Reply::reason(412, "conditionNotMet", "fingerprint"),
        ),
        ("501", Api::Run, Reply::status(501, "UNIMPLEMENTED", "nope")),
    ];
    for (name, api, first) in cases {
        let (r, n) = first_then_ok(api, first).await;
        let err = r.expect_err(name);
        assert!(!err.is_retryable(), "{name}: {err}");
        assert_eq!(n, 1, "{name}: must not be retried");
    }
}

#[tokio::test]
async fn network_errors_are_retried_with_bounded_backoff() {
    // A port nobody listens on: bind, learn the port, drop the listener.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoints =
        gcp::Endpoints::resolve(&Default::default(), Some(&format!("127.0.0.1:{port}"))).unwrap();
    let rec = RecordingSleep::default();
    let opts = fast_options(rec.sleep());
    let backoff = opts.retry.backoff.clone();
    let t = gcp::Transport::new(
        gcp::Auth::static_token(gcp::Token::new(TOKEN)),
        endpoints,
        opts,
    )
    .unwrap();
    let err = t
        .send::<Value>(get(Api::Run, "projects/p"))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.message().contains("connect"), "{err}");
    let delays = rec.delays();
    assert_eq!(delays.len(), 4, "5 attempts, 4 waits: {delays:?}");
    for (i, d) in delays.iter().enumerate() {
        let ceiling = backoff.ceiling(i as u32);
        assert!(
            *d <= ceiling && *d >= ceiling / 2,
            "delay {i} = {d:?}, ceiling {ceiling:?}"
        );
    }
}

#[tokio::test]
async fn backoff_stops_after_max_attempts_and_never_exceeds_the_cap() {
    let mock = Mock::start().await;
    mock.always(Reply::status(503, "UNAVAILABLE", "down"));
    let rec = RecordingSleep::default();
    let mut opts = fast_options(rec.sleep());
    opts.retry.max_attempts = 12;
    let max = opts.retry.backoff.max;
    let t = transport(&mock, opts);
    let err = t
        .send::<Value>(get(Api::Run, "projects/p"))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(mock.seen().len(), 12);
    let delays = rec.delays();
    assert_eq!(delays.len(), 11);
    assert!(delays.iter().all(|d| *d <= max), "{delays:?}");
    assert!(
        delays.last().unwrap() >= &(max / 2),
        "late delays reach the cap: {delays:?}"
    );
}

#[tokio::test]
async fn a_404_is_retried_only_when_polling_an_operation() {
    let mock = Mock::start().await;
    mock.push(Reply::status(404, "NOT_FOUND", "no op yet"))
        .push(Reply::json(200, json!({"name": "op"})));
    let t = transport(&mock, fast_options(Sleep::instant()));
    let poll = get(Api::Run, "projects/p/locations/r/operations/op").poll();
    assert!(t.send::<Value>(poll).await.is_ok());
    assert_eq!(mock.seen().len(), 2);

    let mock = Mock::start().await;
    mock.push(Reply::status(404, "NOT_FOUND", "gone"))
        .push(Reply::json(200, json!({})));
    let t = transport(&mock, fast_options(Sleep::instant()));
    let err = t
        .send::<Value>(get(Api::Run, "projects/p/locations/r/services/s"))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn retries_of_a_compute_insert_reuse_one_request_id() {
    let mock = Mock::start().await;
    mock.push(Reply::status(503, "UNAVAILABLE", "blip")).push(Reply::json(
        200,
        json!({"name": "op-1", "status": "DONE", "region": "https://www.googleapis.com/compute/v1/projects/p/regions/r"}),
    ));
    let c = clients(&mock);
    let neg = gcp::compute::NetworkEndpointGroup {
        name: "svc-neg".into(),
        ..Default::default()
    };
    c.compute()
        .insert_network_endpoint_group("p", "r", &neg)
        .await
        .unwrap();
    let seen = mock.seen();
    assert_eq!(seen.len(), 2);
    let a = seen[0].query_value("requestId").expect("requestId sent");
    let b = seen[1].query_value("requestId").expect("requestId resent");
    assert_eq!(a, b);
    assert!(uuid::Uuid::parse_str(&a).is_ok());
}

#[tokio::test]
async fn requests_carry_the_bearer_token_and_user_agent() {
    let mock = Mock::start().await;
    mock.push(Reply::json(200, json!({"projectId": "p"})));
    let c = clients(&mock);
    let p = c.resource_manager().get_project("p").await.unwrap();
    assert_eq!(p.project_id, "p");
    let seen = &mock.seen()[0];
    assert_eq!(seen.path, "/cloudresourcemanager/v1/projects/p");
    assert_eq!(
        seen.headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Bearer {TOKEN}")
    );
    let ua = seen.headers.get("user-agent").unwrap().to_str().unwrap();
    assert!(ua.starts_with("terraform-provider-csmrun/"), "{ua}");
}

#[tokio::test]
async fn a_hanging_request_times_out_as_a_retryable_network_error() {
    let mock = Mock::start().await;
    mock.always(Reply::hang());
    let mut opts = fast_options(Sleep::instant());
    opts.request_timeout = Duration::from_millis(200);
    opts.retry.max_attempts = 2;
    let t = transport(&mock, opts);
    let err = t
        .send::<Value>(get(Api::Run, "projects/p"))
        .await
        .unwrap_err();
    assert!(err.is_timeout() && err.is_retryable(), "{err:?}");
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_backoff_cap() {
    let mock = Mock::start().await;
    mock.push(Reply::status(429, "RESOURCE_EXHAUSTED", "slow down").header("retry-after", "1"))
        .push(Reply::status(503, "UNAVAILABLE", "later").header("retry-after", "86400"))
        .push(Reply::json(200, json!({})));
    let rec = RecordingSleep::default();
    let opts = fast_options(rec.sleep());
    let cap = opts.retry.backoff.max;
    let t = transport(&mock, opts);
    t.send::<Value>(get(Api::Run, "projects/p")).await.unwrap();
    let delays = rec.delays();
    assert_eq!(delays.len(), 2);
    assert!(delays[0] >= Duration::from_secs(1), "{delays:?}");
    assert_eq!(delays[1], cap, "a day-long Retry-After is capped");
}
