//! google-cloud-auth credentials feed the transport: workload identity federation (external account) end to end.

mod support;

use gcp::retry::Sleep;
use gcp::{Auth, Clients, Transport};
use serde_json::json;
use support::*;

const SUBJECT: &str = "eyJhbGciOi.github-oidc-subject-token.sig";
const EXCHANGED: &str = "ya29.exchanged-federated-token";

/// A workload identity federation config whose STS endpoint is `mock` and whose subject token is
/// [`SUBJECT`] in a fresh file (returned so the test can remove it).
fn external_account(mock: &Mock) -> (std::path::PathBuf, serde_json::Value) {
    let subject_file =
        std::env::temp_dir().join(format!("csmrun-gcp-subject-{}", uuid::Uuid::new_v4()));
    std::fs::write(&subject_file, SUBJECT).unwrap();
    let config = json!({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/github",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("http://{}/token", mock.host()),
        "credential_source": {"file": subject_file.to_str().unwrap()}
    });
    (subject_file, config)
}

#[tokio::test]
async fn an_external_account_exchanges_its_subject_token_and_the_result_is_sent_as_bearer() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"access_token": EXCHANGED, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
               "token_type": "Bearer", "expires_in": 3600}),
    ))
    .push(Reply::json(200, json!({"projectId": "p"})));
    let (subject_file, config) = external_account(&mock);

    let auth = Auth::google(Some(&config.to_string()), None).unwrap();
    assert_eq!(format!("{auth:?}"), "Auth::Google");
    let t = Transport::new(auth, mock.endpoints(), fast_options(Sleep::instant())).unwrap();
    let project = Clients::from_transport(t)
        .resource_manager()
        .get_project("p")
        .await
        .unwrap();
    std::fs::remove_file(&subject_file).ok();

    assert_eq!(project.project_id, "p");
    let seen = mock.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/token");
    assert!(
        seen[0].body.contains(SUBJECT),
        "the STS exchange carries the subject token"
    );
    assert_eq!(seen[1].path, "/cloudresourcemanager/v1/projects/p");
    assert_eq!(
        seen[1]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("Bearer {EXCHANGED}")
    );
}

#[tokio::test]
async fn a_failed_token_exchange_is_an_auth_error_that_is_not_retried() {
    let mock = Mock::start().await;
    mock.always(Reply::json(
        400,
        json!({"error": "invalid_grant", "error_description": "bad subject"}),
    ));
    let (subject_file, config) = external_account(&mock);
    let auth = Auth::google(Some(&config.to_string()), None).unwrap();
    let t = Transport::new(auth, mock.endpoints(), fast_options(Sleep::instant())).unwrap();
    let err = Clients::from_transport(t)
        .resource_manager()
        .get_project("p")
        .await
        .unwrap_err();
    std::fs::remove_file(&subject_file).ok();
    assert!(err.is_auth(), "{err:?}");
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains(SUBJECT), "{err}");
    assert!(
        mock.seen().iter().all(|s| s.path == "/token"),
        "no API call is sent without a token"
    );
}

const QUOTA_HEADER: &str = "x-goog-user-project";

fn user_project_of(seen: &Seen) -> Option<String> {
    seen.headers
        .get(QUOTA_HEADER)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn the_quota_project_of_external_account_credentials_is_sent_as_x_goog_user_project() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"access_token": EXCHANGED, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
               "token_type": "Bearer", "expires_in": 3600}),
    ))
    .always(Reply::json(200, json!({"projectId": "p"})));
    let (subject_file, mut config) = external_account(&mock);
    config["quota_project_id"] = json!("quota-from-adc");
    let auth = Auth::google(Some(&config.to_string()), None).unwrap();
    let t = Transport::new(auth, mock.endpoints(), fast_options(Sleep::instant())).unwrap();
    let rm = Clients::from_transport(t).resource_manager();
    rm.get_project("p").await.unwrap();
    rm.get_project("p").await.unwrap();
    std::fs::remove_file(&subject_file).ok();

    let api_calls: Vec<_> = mock
        .seen()
        .into_iter()
        .filter(|s| s.path != "/token")
        .collect();
    assert_eq!(api_calls.len(), 2);
    for s in &api_calls {
        assert_eq!(user_project_of(s).as_deref(), Some("quota-from-adc"));
    }
}

#[tokio::test]
async fn authorized_user_credentials_send_their_quota_project_and_others_send_none() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"access_token": "ya29.user-token", "token_type": "Bearer", "expires_in": 3600}),
    ))
    .always(Reply::json(200, json!({"projectId": "p"})));
    let user = json!({
        "type": "authorized_user",
        "client_id": "123.apps.googleusercontent.com",
        "client_secret": "not-a-real-secret",
        "refresh_token": "1//refresh-token-value",
        "quota_project_id": "user-quota",
        "token_uri": format!("http://{}/token", mock.host()),
    });
    let auth = Auth::google(Some(&user.to_string()), None).unwrap();
    let t = Transport::new(auth, mock.endpoints(), fast_options(Sleep::instant())).unwrap();
    Clients::from_transport(t)
        .resource_manager()
        .get_project("p")
        .await
        .unwrap();
    let seen = mock.seen();
    assert_eq!(seen[0].path, "/token");
    assert_eq!(
        seen[1].headers.get("authorization").unwrap(),
        "Bearer ya29.user-token"
    );
    assert_eq!(user_project_of(&seen[1]).as_deref(), Some("user-quota"));

    // A static access token has no quota project: no header at all.
    let plain = Mock::start().await;
    plain.always(Reply::json(200, json!({"projectId": "p"})));
    clients(&plain)
        .resource_manager()
        .get_project("p")
        .await
        .unwrap();
    assert_eq!(user_project_of(&plain.seen()[0]), None);
}

#[tokio::test]
async fn user_project_override_sends_the_billing_project_or_else_each_requests_own_project() {
    use gcp::transport::UserProject;
    let cases = [
        (
            UserProject::Override {
                billing_project: Some("billing-p".into()),
            },
            ["billing-p", "billing-p"],
        ),
        (
            UserProject::Override {
                billing_project: None,
            },
            ["p", "other-p"],
        ),
    ];
    for (user_project, want) in cases {
        let mock = Mock::start().await;
        mock.always(Reply::json(200, json!({"projectId": "p"})));
        let mut opts = fast_options(Sleep::instant());
        opts.user_project = user_project.clone();
        let c = Clients::from_transport(transport(&mock, opts));
        c.resource_manager().get_project("p").await.unwrap();
        c.transport()
            .send::<serde_json::Value>(gcp::transport::Request::new(
                gcp::Api::Compute,
                reqwest::Method::GET,
                "projects/other-p/global/backendServices/bs",
                "backendServices.get",
            ))
            .await
            .unwrap();
        let got: Vec<_> = mock.seen().iter().map(user_project_of).collect();
        assert_eq!(
            got,
            want.map(|w| Some(w.to_string())).to_vec(),
            "{user_project:?}"
        );
    }
}

/// A service account key whose private key is [`KEY_SECRET`] (not a usable key) and whose token exchange goes to
/// `token_uri`.
fn key_json(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "p",
        "private_key_id": KEY_ID,
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{KEY_SECRET}\n-----END PRIVATE KEY-----\n"),
        "client_email": "deployer@p.iam.gserviceaccount.com",
        "token_uri": token_uri,
    })
    .to_string()
}

const KEY_SECRET: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCcsmrunGcpTestKeyMaterial";
const KEY_ID: &str = "5c4b3a2f1e0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d";

fn assert_quotes_no_secret(what: &str, text: &str, value: &str) {
    for secret in [KEY_SECRET, KEY_ID, "BEGIN PRIVATE KEY"] {
        assert!(!text.contains(secret), "{what}: {secret:?} in {text}");
    }
    // Not even a piece of the value as given (base64 of the key, a token).
    let head: String = value.chars().take(24).collect();
    assert!(
        !text.contains(&head),
        "{what}: the value is quoted in {text}"
    );
}

fn temp_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("csmrun-gcp-{tag}-{}", uuid::Uuid::new_v4()))
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn a_credential_that_is_neither_json_nor_a_file_is_never_quoted_and_says_what_was_expected() {
    let key = key_json("http://127.0.0.1:9/token");
    let cases = [
        ("base64 of a key", b64(&key), "looks like base64"),
        (
            "base64 wrapped at 76 columns",
            {
                let b = b64(&key);
                b.as_bytes()
                    .chunks(76)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join("\n")
            },
            "looks like base64",
        ),
        (
            "an access token",
            "ya29.a0AfB_byCsmrunSecretTokenValue123".to_string(),
            "access_token",
        ),
        (
            "a PEM key alone",
            format!("-----BEGIN PRIVATE KEY-----\n{KEY_SECRET}\n-----END PRIVATE KEY-----"),
            "PEM",
        ),
        (
            "random text",
            "s3cr3t-but-not-json-nor-a-file".to_string(),
            "not shown",
        ),
    ];
    for (what, value, expect) in cases {
        let err = gcp::Auth::google_from(Some(&value), "GOOGLE_CREDENTIALS", None).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(err.is_auth(), "{what}: {text}");
        assert!(err.message().contains(expect), "{what}: {text}");
        assert!(
            err.message().contains("GOOGLE_CREDENTIALS"),
            "{what}: {text}"
        );
        assert!(
            err.message().contains("JSON"),
            "{what}: says what was expected: {text}"
        );
        assert_quotes_no_secret(what, &text, &value);
    }
}

#[tokio::test]
async fn a_billing_project_that_cannot_be_a_header_fails_before_sending_and_is_not_retried() {
    let mock = Mock::start().await;
    mock.always(Reply::json(200, json!({"projectId": "p"})));
    let mut opts = fast_options(Sleep::instant());
    opts.user_project = gcp::transport::UserProject::Override {
        billing_project: Some("bad\nproject".into()),
    };
    let err = Clients::from_transport(transport(&mock, opts))
        .resource_manager()
        .get_project("p")
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("x-goog-user-project"), "{err}");
    assert!(mock.seen().is_empty());
}

#[tokio::test]
async fn json_with_a_byte_order_mark_or_leading_whitespace_is_used_as_a_key_inline_and_in_a_file() {
    let mock = Mock::start().await;
    mock.always(Reply::json(400, json!({"error": "invalid_grant"})));
    let key = key_json(&format!("http://{}/token", mock.host()));
    let file = temp_path("bom-key");
    std::fs::write(&file, format!("\u{feff}\n  {key}\n")).unwrap();
    for value in [
        format!("\u{feff}{key}"),
        format!("\n   {key}"),
        file.to_string_lossy().into_owned(),
    ] {
        let auth = gcp::Auth::google(Some(&value), None);
        assert!(auth.is_ok(), "{:?}", auth.err());
    }
    std::fs::remove_file(&file).ok();
}

#[test]
fn a_file_holding_base64_or_a_token_is_refused_without_quoting_its_content() {
    let key = key_json("http://127.0.0.1:9/token");
    for (content, expect) in [
        (b64(&key), "looks like base64"),
        ("not json at all".to_string(), "does not hold JSON"),
    ] {
        let file = temp_path("b64-key");
        std::fs::write(&file, &content).unwrap();
        let err = gcp::Auth::google(Some(file.to_str().unwrap()), None).unwrap_err();
        std::fs::remove_file(&file).ok();
        assert!(err.message().contains(expect), "{err}");
        assert_quotes_no_secret("file content", &format!("{err} {err:?}"), &content);
    }
}

#[tokio::test]
async fn a_key_that_cannot_be_used_fails_without_quoting_it() {
    // Parsed, then refused when the token is signed: the key material must not appear.
    let key = key_json("http://127.0.0.1:9/token");
    match gcp::Auth::google(Some(&key), None) {
        Err(err) => assert_quotes_no_secret("bad key", &format!("{err} {err:?}"), &key),
        Ok(auth) => {
            let err = auth.token().await.unwrap_err();
            assert!(err.is_auth(), "{err}");
            assert_quotes_no_secret("bad key at token time", &format!("{err} {err:?}"), &key);
        }
    }
}

#[tokio::test]
async fn a_failed_impersonation_does_not_quote_the_source_key() {
    let mock = Mock::start().await;
    mock.always(Reply::json(400, json!({"error": "invalid_grant"})));
    let key = key_json(&format!("http://{}/token", mock.host()));
    let auth = gcp::Auth::google(Some(&key), Some("target@p.iam.gserviceaccount.com")).unwrap();
    let err = auth.token().await.unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert_quotes_no_secret("impersonation", &format!("{err} {err:?}"), &key);
}

/// Runs `f` on a thread and fails the test if it has not returned after `limit`: a hang is a failure, not a
/// stuck test run.
fn within<T: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("still blocked after {limit:?}: reading the credentials hangs"))
}

#[test]
fn credentials_naming_a_fifo_are_refused_at_once_instead_of_blocking() {
    let fifo = temp_path("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let path = fifo.to_string_lossy().into_owned();
    let err = within(std::time::Duration::from_secs(20), move || {
        gcp::Auth::google(Some(&path), None).err()
    })
    .expect("a FIFO is refused");
    std::fs::remove_file(&fifo).ok();
    assert!(err.message().contains("named pipe"), "{err}");
    assert!(err.message().contains("not a regular file"), "{err}");
}

#[test]
fn credentials_naming_a_device_or_a_huge_file_are_refused_with_the_reason() {
    let err = within(std::time::Duration::from_secs(20), || {
        gcp::Auth::google(Some("/dev/zero"), None).err()
    })
    .expect("/dev/zero is refused");
    assert!(
        err.message().contains("a device, not a regular file"),
        "{err}"
    );
    assert!(
        err.message().contains("\"/dev/zero\""),
        "an existing path is named: {err}"
    );

    let big = temp_path("big");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(gcp::credentials_file::MAX_CREDENTIALS_FILE + 1)
        .unwrap();
    let err = gcp::Auth::google(Some(big.to_str().unwrap()), None).unwrap_err();
    std::fs::remove_file(&big).ok();
    assert!(
        err.message().contains("larger than the 1 MiB limit"),
        "{err}"
    );
}

#[tokio::test]
async fn google_application_credentials_is_read_with_the_same_limits_and_takes_a_path_only() {
    // The only test of this binary that sets the variable; the others all pass credentials explicitly.
    let key = key_json("http://127.0.0.1:9/token");
    let set = |v: &str| std::env::set_var(gcp::auth::ADC_ENV, v);
    set("/dev/zero");
    let device = gcp::Auth::google(None, None).unwrap_err();
    set(&key);
    let json = gcp::Auth::google(None, None).unwrap_err();
    let file = temp_path("adc");
    std::fs::write(&file, b64(&key)).unwrap();
    set(file.to_str().unwrap());
    let base64 = gcp::Auth::google(None, None).unwrap_err();
    std::fs::write(&file, &key).unwrap();
    let ok = gcp::Auth::google(None, None);
    std::env::remove_var(gcp::auth::ADC_ENV);
    std::fs::remove_file(&file).ok();

    assert!(
        device.message().contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{device}"
    );
    assert!(device.message().contains("not a regular file"), "{device}");
    assert!(
        json.message().contains("holds JSON, but it takes"),
        "{json}"
    );
    assert!(base64.message().contains("looks like base64"), "{base64}");
    for e in [&device, &json, &base64] {
        assert_quotes_no_secret(
            "GOOGLE_APPLICATION_CREDENTIALS",
            &format!("{e} {e:?}"),
            &key,
        );
    }
    assert!(ok.is_ok(), "{:?}", ok.err());
}
