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

/// One row of the class tables: an answer in the body shape of its API, the call it answers, and the retry
/// class it must fall in (`None`: sent once).
struct Row {
    name: &'static str,
    api: Api,
    method: Method,
    call: &'static str,
    path: &'static str,
    reply: Reply,
    class: Option<&'static str>,
}

fn row(name: &'static str, api: Api, reply: Reply, class: Option<&'static str>) -> Row {
    Row {
        name,
        api,
        method: Method::GET,
        call: "things.get",
        path: "projects/p/things/x",
        reply,
        class,
    }
}

fn iam_row(
    name: &'static str,
    api: Api,
    call: &'static str,
    path: &'static str,
    reply: Reply,
    class: Option<&'static str>,
) -> Row {
    Row {
        name,
        api,
        method: Method::POST,
        call,
        path,
        reply,
        class,
    }
}

/// Compute's and Cloud DNS's envelope: `errors[]` with domain and reason, optionally `details[]`.
fn legacy(code: u16, domain: &str, reason: &str, message: &str, details: Value) -> Reply {
    let mut error = json!({"code": code, "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}]});
    if details.as_array().is_some_and(|d| !d.is_empty()) {
        error["details"] = details;
    }
    Reply::json(code, json!({ "error": error }))
}

/// The google.rpc.Status envelope of Cloud Run, Network Services and Resource Manager.
fn rpc(code: u16, status: &str, message: &str, details: Value) -> Reply {
    let mut error = json!({"code": code, "message": message, "status": status});
    if details.as_array().is_some_and(|d| !d.is_empty()) {
        error["details"] = details;
    }
    Reply::json(code, json!({ "error": error }))
}

fn error_info(reason: &str, domain: &str) -> Value {
    json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": domain,
           "metadata": {"service": domain}})
}

fn rows() -> Vec<Row> {
    let none = json!([]);
    vec![
        // Retried.
        row(
            "run 429 RESOURCE_EXHAUSTED",
            Api::Run,
            rpc(429, "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per region' of service 'run.googleapis.com' for consumer 'project_number:123'.",
                json!([error_info("RATE_LIMIT_EXCEEDED", "googleapis.com")])),
            Some("isCommonRetryableErrorCode"),
        ),
        row("run 500 INTERNAL", Api::Run, rpc(500, "INTERNAL", "Internal error encountered.", none.clone()),
            Some("isCommonRetryableErrorCode")),
        row("network services 502 HTML page", Api::NetworkServices,
            Reply::raw(502, "<html><title>Error 502 (Server Error)!!1</title></html>", "text/html"),
            Some("isCommonRetryableErrorCode")),
        row("compute 503 backendError", Api::Compute,
            legacy(503, "global", "backendError", "The service is currently unavailable.", none.clone()),
            Some("isCommonRetryableErrorCode")),
        row("dns 504 DEADLINE_EXCEEDED", Api::Dns,
            legacy(504, "global", "backendError", "The request timed out.", none.clone()),
            Some("DEADLINE_EXCEEDED (compute_grpc_service_config.json)")),
        row("compute 409 operationInProgress", Api::Compute,
            legacy(409, "global", "operationInProgress",
                "The resource 'projects/p/regions/r/networkEndpointGroups/neg' is already being used by an operation in progress.", none.clone()),
            Some("is409OperationInProgressError")),
        // The body hashicorp/terraform-provider-google#9207's predicate reads, as recorded in
        // podman-container-tools/podman#28212: a rate-limit reason plus the ErrorInfo.
        row("compute 403 CONCURRENT_OPERATIONS_QUOTA_EXCEEDED", Api::Compute,
            legacy(403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded",
                json!([error_info("CONCURRENT_OPERATIONS_QUOTA_EXCEEDED", "compute.googleapis.com"),
                       {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
                        "message": "Quota on concurrent operations exceeded for project 123 in r."}])),
            Some("is403ConcurrentOperationsQuotaError")),
        // The ErrorInfo alone decides, whatever errors[].reason says.
        row("compute 403 CONCURRENT_OPERATIONS_QUOTA_EXCEEDED without a rate-limit reason", Api::Compute,
            legacy(403, "usageLimits", "quotaExceeded", "Quota on concurrent operations exceeded.",
                json!([error_info("CONCURRENT_OPERATIONS_QUOTA_EXCEEDED", "compute.googleapis.com")])),
            Some("is403ConcurrentOperationsQuotaError")),
        row("compute 403 quota per minute", Api::Compute,
            legacy(403, "usageLimits", "rateLimitExceeded",
                "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'compute.googleapis.com' for consumer 'project_number:123'.",
                none.clone()),
            Some("is403QuotaExceededPerMinuteError")),
        row("compute 403 rateLimitExceeded", Api::Compute,
            legacy(403, "usageLimits", "rateLimitExceeded", "Quota exceeded for quota group 'ReadGroup' and limit 'CLIENT_PROJECT-100s' of service 'compute.googleapis.com'.", none.clone()),
            Some("rateLimitExceeded (Compute/DNS usageLimits)")),
        row("dns 403 userRateLimitExceeded", Api::Dns,
            legacy(403, "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded", none.clone()),
            Some("rateLimitExceeded (Compute/DNS usageLimits)")),
        row("compute 400 resourceNotReady subnetwork", Api::Compute,
            legacy(400, "global", "resourceNotReady",
                "The resource 'projects/p/regions/r/subnetworks/s' is not ready", none.clone()),
            Some("isNetworkUnreadyError/isSubnetworkUnreadyError")),
        iam_row("run setIamPolicy 400 service account not yet visible", Api::Run, "services.setIamPolicy",
            "projects/p/locations/r/services/s:setIamPolicy",
            rpc(400, "INVALID_ARGUMENT", "Service account caller@p.iam.gserviceaccount.com does not exist.", none.clone()),
            Some("IamServiceAccountNotFound")),
        iam_row("resource manager setIamPolicy 400 service account not yet visible", Api::ResourceManager,
            "projects.setIamPolicy", "projects/p:setIamPolicy",
            rpc(400, "INVALID_ARGUMENT", "Service account svc@p.iam.gserviceaccount.com does not exist.", none.clone()),
            Some("IamServiceAccountNotFound")),
        // Not retried.
        row("run 400 INVALID_ARGUMENT", Api::Run,
            rpc(400, "INVALID_ARGUMENT", "Violation in CreateServiceRequest.service.template.containers[0].image: must be set",
                json!([{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                    {"field": "service.template.containers[0].image", "description": "must be set"}]}])),
            None),
        row("run create 400 service account does not exist (not an IAM call)", Api::Run,
            rpc(400, "INVALID_ARGUMENT", "Service account svc@p.iam.gserviceaccount.com does not exist.", none.clone()),
            None),
        iam_row("resource manager setIamPolicy 400 other", Api::ResourceManager, "projects.setIamPolicy",
            "projects/p:setIamPolicy",
            rpc(400, "INVALID_ARGUMENT", "Policy members must be of the form \"<type>:<value>\".", none.clone()),
            None),
        row("run 401 UNAUTHENTICATED", Api::Run,
            rpc(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.",
                json!([error_info("ACCESS_TOKEN_EXPIRED", "googleapis.com")])),
            None),
        row("run 403 PERMISSION_DENIED", Api::Run,
            rpc(403, "PERMISSION_DENIED", "Permission 'run.services.get' denied on resource 'projects/p/locations/r/services/x' (or it may not exist).",
                json!([error_info("IAM_PERMISSION_DENIED", "run.googleapis.com")])),
            None),
        row("run 403 rateLimitExceeded is not the Run style", Api::Run,
            rpc(403, "PERMISSION_DENIED", "The caller does not have permission",
                json!([error_info("rateLimitExceeded", "run.googleapis.com")])),
            None),
        row("compute 403 forbidden", Api::Compute,
            legacy(403, "global", "forbidden",
                "Required 'compute.regionNetworkEndpointGroups.create' permission for 'projects/p/regions/r/networkEndpointGroups/neg'", none.clone()),
            None),
        row("compute 403 quota per day", Api::Compute,
            legacy(403, "usageLimits", "dailyLimitExceeded",
                "Quota exceeded for quota metric 'Queries' and limit 'Queries per day' of service 'compute.googleapis.com' for consumer 'project_number:123'.",
                none.clone()),
            None),
        row("compute 400 resourceNotReady about a backend service", Api::Compute,
            legacy(400, "global", "resourceNotReady",
                "The resource 'projects/p/global/backendServices/bs' is not ready", none.clone()),
            None),
        row("compute 404 notFound", Api::Compute,
            legacy(404, "global", "notFound", "The resource 'projects/p/global/backendServices/x' was not found", none.clone()),
            None),
        row("compute 409 alreadyExists", Api::Compute,
            legacy(409, "global", "alreadyExists", "The resource 'projects/p/global/backendServices/x' already exists", none.clone()),
            None),
        row("compute 412 conditionNotMet", Api::Compute,
            legacy(412, "global", "conditionNotMet", "Supplied fingerprint does not match current metadata fingerprint.", none.clone()),
            None),
        row("dns 404 notFound", Api::Dns,
            legacy(404, "global", "notFound", "The 'parameters.managedZone' resource named 'z' does not exist.", none.clone()),
            None),
        row("dns 409 alreadyExists", Api::Dns,
            legacy(409, "global", "alreadyExists", "The resource 'entity.managedZone' named 'z' already exists", none.clone()),
            None),
        row("network services 409 ALREADY_EXISTS", Api::NetworkServices,
            rpc(409, "ALREADY_EXISTS", "Resource 'projects/p/locations/global/httpRoutes/x' already exists", none.clone()),
            None),
        row("resource manager 409 ABORTED", Api::ResourceManager,
            rpc(409, "ABORTED", "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.", none.clone()),
            None),
        row("resource manager 403 PERMISSION_DENIED", Api::ResourceManager,
            rpc(403, "PERMISSION_DENIED", "The caller does not have permission", none.clone()),
            None),
        row("run 501 UNIMPLEMENTED", Api::Run, rpc(501, "UNIMPLEMENTED", "Method not implemented.", none),
            None),
    ]
}

#[tokio::test]
async fn each_class_google_retries_is_retried_and_every_other_answer_is_sent_once() {
    let mut problems = Vec::new();
    for r in rows() {
        let mock = Mock::start().await;
        mock.always(r.reply.clone());
        let mut opts = fast_options(Sleep::instant());
        opts.retry.max_attempts = 3;
        let t = transport(&mock, opts);
        let req = gcp::transport::Request::new(r.api, r.method.clone(), r.path, r.call);
        let err = match t.send::<Value>(req).await {
            Ok(v) => {
                problems.push(format!("{}: succeeded with {v}", r.name));
                continue;
            }
            Err(e) => e,
        };
        let sent = mock.seen().len();
        let want_sent = if r.class.is_some() { 3 } else { 1 };
        if err.retry_class() != r.class || sent != want_sent {
            problems.push(format!(
                "{}: class {:?} (want {:?}), sent {sent} times (want {want_sent}): {err}",
                r.name,
                err.retry_class(),
                r.class
            ));
        }
        if err.http_status() != Some(r.reply.status) {
            problems.push(format!("{}: the error lost Google's status: {err}", r.name));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[tokio::test]
async fn a_retried_class_succeeds_on_the_next_attempt() {
    // IAM rows need their call name to be retried; first_then_ok sends a plain get.
    let retried = rows()
        .into_iter()
        .filter(|r| r.class.is_some() && !r.call.ends_with("IamPolicy"));
    for r in retried {
        let (res, n) = first_then_ok(r.api, r.reply.clone()).await;
        assert!(res.is_ok(), "{}: {res:?}", r.name);
        assert_eq!(n, 2, "{}: exactly one retry", r.name);
    }
}

/// Accepts TCP connections and drops each at once: the client sees a reset or an unexpected EOF.
async fn dropping_listener() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // Closed with the request unread, so the kernel answers with a reset.
            drop(sock);
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn a_connection_reset_before_the_answer_is_retried() {
    let (addr, accepted) = dropping_listener().await;
    let endpoints = gcp::Endpoints::resolve(&Default::default(), Some(&addr)).unwrap();
    let mut opts = fast_options(Sleep::instant());
    opts.retry.max_attempts = 3;
    let t = gcp::Transport::new(
        gcp::Auth::static_token(gcp::Token::new(TOKEN)),
        endpoints,
        opts,
    )
    .unwrap();
    let err = t
        .send::<Value>(get(Api::Compute, "projects/p/global/backendServices/x"))
        .await
        .unwrap_err();
    assert_eq!(err.retry_class(), Some("isNetworkTemporaryError"), "{err}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
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
