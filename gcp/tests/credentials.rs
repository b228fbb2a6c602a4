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
