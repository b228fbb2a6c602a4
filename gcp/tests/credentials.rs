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
