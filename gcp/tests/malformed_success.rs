//! A 2xx answer whose body is not what the method returns (truncated, wrong types, too large, HTML, empty,
//! not UTF-8, or JSON that is no operation) fails at once with an error naming the API, the call and the
//! problem: for plain calls, operation starts and operation polls. Sending again or polling on would only turn
//! it into a timeout. Transient failures (5xx pages, 429, dropped connections, bodies cut off) are still
//! retried. Requests are counted: one answer, one request.

mod support;

use std::sync::{Arc, Mutex};

use gcp::{Api, Clients, Error};
use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JSON: &str = "application/json";
const RUN_SERVICE: &str = "projects/p/locations/r/services/s";
const RUN_OP: &str = "projects/p/locations/r/operations/op1";
const ROUTE: &str = "projects/p/locations/global/httpRoutes/rt";
const ROUTE_OP: &str = "projects/p/locations/global/operations/op2";

/// The malformed 200 bodies of the hostile campaign (`acctest/src/campaign/hostile.rs`) and what the error
/// must say about each.
fn malformed() -> Vec<(&'static str, Reply, &'static str)> {
    let mut huge = br#"{"padding": ""#.to_vec();
    huge.resize(24 << 20, b'x');
    huge.extend_from_slice(br#""}"#);
    vec![
        (
            "truncated JSON",
            Reply::raw(
                200,
                r#"{"name": "projects/p/locations/global/meshes/m", "createTime": "2026-0"#,
                JSON,
            ),
            "answered 200 with truncated JSON",
        ),
        (
            "wrong types",
            Reply::raw(
                200,
                r#"{"name": 42, "createTime": {"a": 1}, "etag": 7, "done": "yes", "status": 3}"#,
                JSON,
            ),
            "answered 200 with JSON of the wrong shape",
        ),
        (
            "24 MiB body",
            Reply::raw(200, huge, JSON),
            "answered 200 with a body larger than the 16 MiB cap",
        ),
        (
            "HTML with 200",
            Reply::raw(
                200,
                "<html><body><form action=/login>Sign in to continue</form></body></html>",
                "text/html",
            ),
            "answered 200 with an HTML page instead of JSON",
        ),
        (
            "empty body",
            Reply::raw(200, "", JSON),
            "answered 200 with an empty body",
        ),
        (
            "not UTF-8",
            Reply::raw(200, vec![0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28, 0x80, 0x22], JSON),
            "answered 200 with a body that is not UTF-8 text, so not JSON; it starts with bytes ff fe 00 7b",
        ),
    ]
}

/// A call of each method kind whose (first) answer can be scripted.
#[derive(Clone, Copy, Debug)]
enum Call {
    RunGet,
    ComputeGet,
    RunDelete,
    RouteDelete,
    ComputeDelete,
    DnsZonePatch,
}

impl Call {
    const PLAIN: [Call; 2] = [Call::RunGet, Call::ComputeGet];
    const OPERATIONS: [Call; 4] = [
        Call::RunDelete,
        Call::RouteDelete,
        Call::ComputeDelete,
        Call::DnsZonePatch,
    ];

    async fn run(self, c: &Clients) -> Result<(), Error> {
        match self {
            Call::RunGet => c.run().get_service(RUN_SERVICE).await.map(drop),
            Call::ComputeGet => c.compute().get_backend_service("p", "bs").await.map(drop),
            Call::RunDelete => c.run().delete_service(RUN_SERVICE).await,
            Call::RouteDelete => c.network_services().delete_http_route(ROUTE).await,
            Call::ComputeDelete => c
                .compute()
                .delete_backend_service("p", "bs")
                .await
                .map(drop),
            Call::DnsZonePatch => c
                .dns()
                .patch_managed_zone("p", "z", &Default::default())
                .await
                .map(drop),
        }
    }

    fn api(self) -> Api {
        match self {
            Call::RunGet | Call::RunDelete => Api::Run,
            Call::ComputeGet | Call::ComputeDelete => Api::Compute,
            Call::RouteDelete => Api::NetworkServices,
            Call::DnsZonePatch => Api::Dns,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Call::RunGet => "services.get",
            Call::ComputeGet => "backendServices.get",
            Call::RunDelete => "services.delete",
            Call::RouteDelete => "httpRoutes.delete",
            Call::ComputeDelete => "backendServices.delete",
            Call::DnsZonePatch => "managedZones.patch",
        }
    }

    /// The answer of an operation start that is still running, so the next request is a poll.
    fn running(self) -> Reply {
        self.operation(false)
    }

    /// The answer of a finished, successful operation.
    fn done(self) -> Reply {
        self.operation(true)
    }

    /// The call's operation, in its API's shape, finished or not.
    fn operation(self, done: bool) -> Reply {
        let (compute, dns) = if done {
            ("DONE", "done")
        } else {
            ("RUNNING", "pending")
        };
        match self {
            Call::RunDelete => Reply::json(200, json!({"name": RUN_OP, "done": done})),
            Call::RouteDelete => Reply::json(200, json!({"name": ROUTE_OP, "done": done})),
            Call::ComputeDelete => Reply::json(
                200,
                json!({"kind": "compute#operation", "name": "operation-9", "status": compute}),
            ),
            Call::DnsZonePatch => Reply::json(
                200,
                json!({"kind": "dns#operation", "id": "7", "status": dns}),
            ),
            Call::RunGet | Call::ComputeGet => unreachable!("{self:?} starts no operation"),
        }
    }
}

/// Runs `call` against a mock answering `script` (then 418 for anything more); returns the error and the
/// number of requests sent.
async fn fail(call: Call, script: Vec<Reply>) -> (Error, usize) {
    let mock = Mock::start().await;
    for r in script {
        mock.push(r);
    }
    let c = clients(&mock);
    let err = call
        .run(&c)
        .await
        .expect_err("a malformed answer must fail the call");
    (err, mock.seen().len())
}

/// The error is a decode error about `call`, given at once: not retryable, not a deadline.
fn assert_decode_error(what: &str, call: Call, err: &Error, says: &str) {
    let text = err.to_string();
    assert!(text.contains(says), "{what}, {call:?}: {text}");
    assert_eq!(err.api(), Some(call.api()), "{what}, {call:?}: {text}");
    assert_eq!(err.call(), Some(call.name()), "{what}, {call:?}: {text}");
    assert!(!err.is_retryable(), "{what}, {call:?}: {text}");
    assert!(!err.is_deadline(), "{what}, {call:?}: {text}");
    assert!(text.len() < 1024, "{what}, {call:?}: a short message");
}

#[tokio::test]
async fn a_malformed_200_to_a_plain_call_fails_after_one_request() {
    for (what, reply, says) in malformed() {
        for call in Call::PLAIN {
            let (err, requests) = fail(call, vec![reply.clone()]).await;
            assert_decode_error(what, call, &err, says);
            assert_eq!(requests, 1, "{what}, {call:?}: sent once");
        }
    }
}

#[tokio::test]
async fn a_malformed_200_to_an_operation_start_fails_without_polling() {
    let mut cases = malformed();
    cases.push((
        "JSON that is no operation",
        Reply::json(200, json!({"padding": "xxxx"})),
        "answered 200 with JSON that is not an operation",
    ));
    cases.push((
        "empty JSON object",
        Reply::json(200, json!({})),
        "answered 200 with JSON that is not an operation",
    ));
    for (what, reply, says) in cases {
        for call in Call::OPERATIONS {
            let (err, requests) = fail(call, vec![reply.clone()]).await;
            assert_decode_error(what, call, &err, says);
            assert_eq!(requests, 1, "{what}, {call:?}: no retry, no poll");
        }
    }
}

#[tokio::test]
async fn a_malformed_200_to_an_operation_poll_ends_the_wait_at_once() {
    let mut cases = malformed();
    cases.push((
        "empty JSON object",
        Reply::json(200, json!({})),
        "answered 200 with JSON that is not an operation",
    ));
    for (what, reply, says) in cases {
        for call in Call::OPERATIONS {
            let (err, requests) = fail(call, vec![call.running(), reply.clone()]).await;
            assert_decode_error(what, call, &err, says);
            assert_eq!(requests, 2, "{what}, {call:?}: the start and one poll");
        }
    }
}

#[tokio::test]
async fn a_compute_operation_without_a_known_status_is_not_polled() {
    let (err, requests) = fail(
        Call::ComputeDelete,
        vec![Reply::json(200, json!({"name": "operation-9"}))],
    )
    .await;
    assert_decode_error(
        "no status",
        Call::ComputeDelete,
        &err,
        "status \"\" is not PENDING, RUNNING or DONE",
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn waiting_for_an_operation_without_a_name_fails_before_any_request() {
    let mock = Mock::start().await;
    let c = clients(&mock);
    let err = c
        .compute()
        .wait_operation("p", Default::default(), "backendServices.delete", "bs")
        .await
        .expect_err("nothing to poll");
    assert!(err.to_string().contains("not an operation"), "{err}");
    assert_eq!(err.call(), Some("backendServices.delete"));
    assert!(!err.is_deadline() && !err.is_retryable(), "{err}");
    assert!(mock.seen().is_empty());
}

#[tokio::test]
async fn dns_deletes_accept_what_their_discovery_entries_declare() {
    // managedZones.delete declares no response: Google answers 204, and an empty 200 is as good.
    for ok in [
        Reply::raw(204, "", JSON),
        Reply::raw(200, "", JSON),
        Reply::json(200, json!({})),
    ] {
        let mock = Mock::start().await;
        mock.push(ok.clone());
        clients(&mock)
            .dns()
            .delete_managed_zone("p", "z")
            .await
            .unwrap_or_else(|e| panic!("{ok:?}: {e}"));
    }
    // resourceRecordSets.delete returns ResourceRecordSetsDeleteResponse: `{}` (or 204), never nothing.
    for ok in [Reply::raw(204, "", JSON), Reply::json(200, json!({}))] {
        let mock = Mock::start().await;
        mock.push(ok.clone());
        clients(&mock)
            .dns()
            .delete_rrset("p", "z", "a.example.", "A")
            .await
            .unwrap_or_else(|e| panic!("{ok:?}: {e}"));
    }
    let mock = Mock::start().await;
    mock.push(Reply::raw(200, "", JSON));
    let err = clients(&mock)
        .dns()
        .delete_rrset("p", "z", "a.example.", "A")
        .await
        .expect_err("an empty 200 is not ResourceRecordSetsDeleteResponse");
    assert!(
        err.to_string()
            .starts_with("Cloud DNS: resourceRecordSets.delete"),
        "{err}"
    );
    assert!(
        err.message().contains("answered 200 with an empty body"),
        "{err}"
    );
    assert_eq!(mock.seen().len(), 1);
    // A page that is not JSON is not Google's answer, even where the body is otherwise ignored.
    let mock = Mock::start().await;
    mock.push(Reply::raw(200, "<html>Sign in</html>", "text/html"));
    let err = clients(&mock)
        .dns()
        .delete_managed_zone("p", "z")
        .await
        .expect_err("an HTML page is not a deletion");
    assert!(err.message().contains("an HTML page"), "{err}");
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn transient_failures_of_starts_and_polls_are_still_retried() {
    let page = "<!DOCTYPE html><html><head><title>502 Server Error</title></head><body>\
                <h1>Error: Server Error</h1></body></html>";
    let transient = || {
        vec![
            Reply::raw(502, page, "text/html; charset=UTF-8"),
            Reply::status(503, "UNAVAILABLE", "down"),
            Reply::status(429, "RESOURCE_EXHAUSTED", "slow down"),
        ]
    };
    for call in Call::OPERATIONS {
        let mock = Mock::start().await;
        for r in transient() {
            mock.push(r);
        }
        mock.push(call.running());
        for r in transient() {
            mock.push(r);
        }
        mock.push(call.done());
        call.run(&clients(&mock))
            .await
            .unwrap_or_else(|e| panic!("{call:?}: {e}"));
        assert_eq!(
            mock.seen().len(),
            8,
            "{call:?}: 3 retries of the start, 3 of the poll"
        );
    }
}

/// A raw HTTP/1.1 server answering each connection with the next scripted bytes; `None` closes the
/// connection without an answer.
async fn raw_server(script: Vec<Option<Vec<u8>>>) -> (String, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let count = Arc::new(Mutex::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        for answer in script {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            *seen.lock().unwrap() += 1;
            read_request(&mut stream).await;
            if let Some(bytes) = answer {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
            }
        }
    });
    (host, count)
}

/// Reads the request head and its body, so the answer is not taken for an early close.
async fn read_request(stream: &mut tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return;
            }
        }
    }
}

fn http(status: &str, body: &str, declared: usize) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\
         connection: close\r\n\r\n{body}"
    )
    .into_bytes()
}

#[tokio::test]
async fn dropped_connections_and_cut_off_bodies_are_retried() {
    let running = json!({"name": RUN_OP, "done": false}).to_string();
    let done = json!({"name": RUN_OP, "done": true}).to_string();
    let cut = &running[..10];
    let (host, connections) = raw_server(vec![
        None,
        Some(http("200 OK", cut, running.len())),
        Some(http("200 OK", &running, running.len())),
        None,
        Some(http("200 OK", cut, done.len())),
        Some(http("200 OK", &done, done.len())),
    ])
    .await;
    let endpoints = gcp::Endpoints::resolve(&Default::default(), Some(&host)).unwrap();
    let t = gcp::Transport::new(
        gcp::Auth::static_token(gcp::Token::new(TOKEN)),
        endpoints,
        fast_options(gcp::Sleep::instant()),
    )
    .unwrap();
    gcp::Clients::from_transport(t)
        .run()
        .delete_service(RUN_SERVICE)
        .await
        .unwrap_or_else(|e| panic!("transient failures are retried: {e}"));
    assert_eq!(*connections.lock().unwrap(), 6);
}
