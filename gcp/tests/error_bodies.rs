//! Google's error bodies in both styles become errors that answer the right questions; hostile bodies never panic.

mod support;

use gcp::{Api, Error};
use serde_json::{json, Value};
use support::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn status_of(body: &[u8]) -> u16 {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["error"]["code"].as_u64().unwrap() as u16
}

fn parse(api: Api, name: &str) -> Error {
    let body = fixture(name);
    Error::from_http(api, status_of(&body), &body)
}

#[derive(Debug, Default)]
struct Expect {
    not_found: bool,
    already_exists: bool,
    conflict: bool,
    in_use: bool,
    retryable: bool,
    reason: &'static str,
}

#[test]
fn every_fixture_answers_its_questions() {
    let cases: Vec<(Api, &str, Expect)> = vec![
        (
            Api::Run,
            "run_service_not_found.json",
            Expect {
                not_found: true,
                reason: "NOT_FOUND",
                ..Default::default()
            },
        ),
        (
            Api::Compute,
            "compute_neg_not_found.json",
            Expect {
                not_found: true,
                reason: "notFound",
                ..Default::default()
            },
        ),
        (
            Api::Compute,
            "compute_backend_service_not_found.json",
            Expect {
                not_found: true,
                reason: "notFound",
                ..Default::default()
            },
        ),
        (
            Api::NetworkServices,
            "networkservices_route_not_found.json",
            Expect {
                not_found: true,
                reason: "NOT_FOUND",
                ..Default::default()
            },
        ),
        (
            Api::NetworkServices,
            "networkservices_mesh_not_found.json",
            Expect {
                not_found: true,
                reason: "NOT_FOUND",
                ..Default::default()
            },
        ),
        (
            Api::Dns,
            "dns_zone_not_found.json",
            Expect {
                not_found: true,
                reason: "notFound",
                ..Default::default()
            },
        ),
        (
            Api::Compute,
            "compute_backend_service_already_exists.json",
            Expect {
                already_exists: true,
                reason: "alreadyExists",
                ..Default::default()
            },
        ),
        (
            Api::Dns,
            "dns_rrset_already_exists.json",
            Expect {
                already_exists: true,
                reason: "alreadyExists",
                ..Default::default()
            },
        ),
        (
            Api::Run,
            "run_service_already_exists.json",
            Expect {
                already_exists: true,
                reason: "ALREADY_EXISTS",
                ..Default::default()
            },
        ),
        (
            Api::ResourceManager,
            "resourcemanager_set_iam_policy_aborted.json",
            Expect {
                conflict: true,
                reason: "ABORTED",
                ..Default::default()
            },
        ),
        (
            Api::Compute,
            "compute_backend_service_fingerprint_stale.json",
            Expect {
                conflict: true,
                reason: "conditionNotMet",
                ..Default::default()
            },
        ),
        (
            Api::Run,
            "run_etag_failed_precondition.json",
            Expect {
                conflict: true,
                reason: "FAILED_PRECONDITION",
                ..Default::default()
            },
        ),
        (
            Api::Compute,
            "compute_neg_in_use.json",
            Expect {
                in_use: true,
                reason: "resourceInUseByAnotherResource",
                ..Default::default()
            },
        ),
        (
            Api::Dns,
            "dns_zone_not_empty.json",
            Expect {
                in_use: true,
                reason: "containerNotEmpty",
                ..Default::default()
            },
        ),
        (
            Api::Compute,
            "compute_rate_limit.json",
            Expect {
                retryable: true,
                reason: "rateLimitExceeded",
                ..Default::default()
            },
        ),
        (
            Api::Run,
            "run_quota_exhausted.json",
            Expect {
                retryable: true,
                reason: "RATE_LIMIT_EXCEEDED",
                ..Default::default()
            },
        ),
    ];
    for (api, name, want) in cases {
        let e = parse(api, name);
        assert_eq!(
            e.is_not_found(),
            want.not_found,
            "{name}: is_not_found; {e:?}"
        );
        assert_eq!(
            e.is_already_exists(),
            want.already_exists,
            "{name}: is_already_exists; {e:?}"
        );
        assert_eq!(e.is_conflict(), want.conflict, "{name}: is_conflict; {e:?}");
        assert_eq!(e.is_in_use(), want.in_use, "{name}: is_in_use; {e:?}");
        assert_eq!(
            e.is_retryable(),
            want.retryable,
            "{name}: is_retryable; {e:?}"
        );
        assert_eq!(e.reason(), Some(want.reason), "{name}: reason");
        assert_eq!(e.api(), Some(api));
        let body: Value = serde_json::from_slice(&fixture(name)).unwrap();
        assert_eq!(
            e.message(),
            body["error"]["message"].as_str().unwrap(),
            "{name}: Google's message unchanged"
        );
    }
}

#[test]
fn rpc_status_is_kept_next_to_the_reason() {
    let e = parse(Api::Run, "run_quota_exhausted.json");
    assert_eq!(e.status(), Some("RESOURCE_EXHAUSTED"));
    assert_eq!(e.http_status(), Some(429));
}

#[tokio::test]
async fn display_names_api_call_resource_status_reason_and_message() {
    let mock = Mock::start().await;
    mock.push(Reply::raw(
        409,
        fixture("compute_backend_service_already_exists.json"),
        "application/json",
    ));
    let c = clients(&mock);
    let bs = gcp::compute::BackendService {
        name: "x".into(),
        ..Default::default()
    };
    let err = c
        .compute()
        .insert_backend_service("p", &bs)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Compute: backendServices.insert projects/p/global/backendServices/x: 409 alreadyExists: \
         The resource 'projects/p/global/backendServices/x' already exists"
    );
    assert_eq!(err.call(), Some("backendServices.insert"));
    assert_eq!(err.resource(), Some("projects/p/global/backendServices/x"));
}

#[test]
fn an_html_error_page_keeps_its_status_and_says_what_it_was() {
    let page = b"<!DOCTYPE html>\n<html lang=en><title>Error 502 (Server Error)!!1</title><p>The server encountered a temporary error</p></html>";
    let e = Error::from_http(Api::Compute, 502, page);
    assert_eq!(e.http_status(), Some(502));
    assert!(e.is_retryable());
    assert!(e.message().contains("HTML page"), "{e}");
    assert!(e.message().contains("Error 502"), "{e}");
}

#[test]
fn hostile_error_bodies_give_clear_errors() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated JSON",
            br#"{"error": {"code": 409, "message": "The resou"#.to_vec(),
            "truncated JSON",
        ),
        ("empty", Vec::new(), "empty body"),
        ("plain text", b"upstream connect error".to_vec(), "non-JSON"),
        (
            "JSON but no error",
            br#"{"kind": "compute#operation"}"#.to_vec(),
            "not a Google error",
        ),
        ("binary", vec![0xff, 0xfe, 0x00, 0x80], "non-JSON"),
    ];
    for (name, body, needle) in cases {
        let e = Error::from_http(Api::Run, 409, &body);
        assert!(e.message().contains(needle), "{name}: {e}");
        assert_eq!(e.http_status(), Some(409), "{name}");
        assert!(!e.is_already_exists(), "{name}: no reason means no guess");
    }
}

#[test]
fn wrong_types_in_an_error_body_are_tolerated() {
    let body = json!({"error": {"code": "409", "message": 5, "status": ["ABORTED"],
        "errors": "nope", "details": {"reason": "x"}}})
    .to_string();
    let e = Error::from_http(Api::Dns, 409, body.as_bytes());
    assert_eq!(e.http_status(), Some(409));
    assert!(e.message().contains("without a message"), "{e}");
    assert!(!e.is_conflict());

    let body = json!({"error": "invalid_grant"}).to_string();
    assert_eq!(
        Error::from_http(Api::Run, 400, body.as_bytes()).message(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_huge_error_body_is_capped_not_read_whole() {
    let mock = Mock::start().await;
    let mut huge = br#"{"error": {"code": 500, "message": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 8 * 1024 * 1024));
    huge.extend(br#""}}"#);
    mock.push(Reply::raw(400, huge, "application/json"));
    let c = clients(&mock);
    let err = c
        .run()
        .get_service("projects/p/locations/r/services/s")
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(400));
    assert!(
        err.message().contains("truncated JSON"),
        "{}",
        &err.message()[..200.min(err.message().len())]
    );
    assert!(err.to_string().len() < 2048, "message is a short snippet");
}

#[tokio::test]
async fn a_success_body_of_the_wrong_shape_is_a_decode_error() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"name": "bs", "backends": "not-a-list"}),
    ))
    .push(Reply::raw(200, "<html>captive portal</html>", "text/html"))
    .push(Reply::raw(
        200,
        r#"{"name": "bs", "backe"#,
        "application/json",
    ));
    let c = clients(&mock);
    for (what, says) in [
        ("wrong type", "JSON of the wrong shape"),
        ("html", "an HTML page instead of JSON"),
        ("truncated", "truncated JSON"),
    ] {
        let err = c
            .compute()
            .get_backend_service("p", "bs")
            .await
            .unwrap_err();
        assert!(
            err.message()
                .starts_with(&format!("answered 200 with {says}")),
            "{what}: {err}"
        );
        assert!(!err.is_retryable(), "{what}");
        assert_eq!(err.call(), Some("backendServices.get"), "{what}");
    }
}

#[tokio::test]
async fn a_404_html_page_is_not_taken_for_a_missing_resource() {
    // What Google's front end (and the emulator) answers for a URL no API serves, e.g. a wrong custom endpoint.
    let page = "<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title>\
                <p>The requested URL <code>/v2/projects/p/locations/r/services/s</code> was not found on this server.</html>";
    let mock = Mock::start().await;
    mock.push(Reply::raw(404, page, "text/html; charset=UTF-8"));
    let c = clients(&mock);
    let err = c
        .run()
        .get_service("projects/p/locations/r/services/s")
        .await
        .unwrap_err();
    assert!(
        !err.is_not_found(),
        "an HTML 404 must not make a resource vanish: {err}"
    );
    assert_eq!(err.http_status(), Some(404));
    assert!(err.message().contains("HTML page"), "{err}");
    assert!(!err.is_retryable());

    let json_404 = Error::from_http(
        Api::Run,
        404,
        br#"{"error": {"code": 404, "message": "gone"}}"#,
    );
    assert!(
        json_404.is_not_found(),
        "a Google error envelope with 404 is enough"
    );
}
