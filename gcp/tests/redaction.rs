//! The token never appears in the Debug or Display of settings, clients, transports or errors.

mod support;

use gcp::{Clients, Settings, Token};
use serde_json::json;
use support::*;

const SECRET: &str = "ya29.a0-very-secret-access-token";
const KEY_SECRET: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-fake-key-material";

#[tokio::test]
async fn the_token_never_appears_in_debug_or_errors() {
    let mock = Mock::start().await;
    // Even when Google echoes the header back in an error message we only ever print what we were sent.
    mock.push(Reply::status(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials.",
    ));
    let settings = Settings {
        access_token: Some(Token::new(SECRET)),
        credentials: Some(
            json!({"type": "service_account", "private_key": KEY_SECRET}).to_string(),
        ),
        emulator_host: Some(mock.host()),
        ..Default::default()
    };
    let dbg_settings = format!("{settings:?}");
    let clients = Clients::new(settings).unwrap();
    let dbg_clients = format!("{clients:?} {:?} {:?}", clients.run(), clients.transport());
    let err = clients
        .run()
        .get_service("projects/p/locations/r/services/s")
        .await
        .unwrap_err();
    let rendered = [
        dbg_settings,
        dbg_clients,
        format!("{err:?}"),
        err.to_string(),
    ];
    for text in &rendered {
        assert!(!text.contains(SECRET), "token leaked: {text}");
        assert!(!text.contains(KEY_SECRET), "key leaked: {text}");
    }
    assert!(rendered[0].contains("[redacted]"));
    // The token was really sent, so the test would notice if it were not used at all.
    let auth = mock.seen()[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(auth, format!("Bearer {SECRET}"));
}

#[test]
fn token_debug_and_display_are_redacted() {
    let t = Token::new(SECRET);
    assert_eq!(format!("{t:?}"), "Token([redacted])");
    assert_eq!(t.to_string(), "[redacted]");
    assert_eq!(t.expose(), SECRET);
}

#[test]
fn bad_credentials_json_errors_do_not_quote_the_key() {
    let creds =
        format!(r#"{{"type": "service_account", "private_key": "{KEY_SECRET}", "client_email": 5"#);
    let err = gcp::Auth::google(Some(&creds), None).unwrap_err();
    assert!(err.is_auth());
    assert!(!err.to_string().contains(KEY_SECRET), "{err}");
    assert!(!format!("{err:?}").contains(KEY_SECRET), "{err:?}");

    let err = gcp::Auth::google(Some(r#"{"type": "mystery"}"#), None).unwrap_err();
    assert!(
        err.message().contains("unsupported credentials type"),
        "{err}"
    );
}

#[test]
fn a_missing_credentials_file_is_named_in_the_error() {
    let err = gcp::Auth::google(Some("/nonexistent/dir/key.json"), None).unwrap_err();
    assert!(err.is_auth());
    assert!(err.message().contains("/nonexistent/dir/key.json"), "{err}");
}

#[test]
fn the_emulator_uses_a_fixed_dummy_token_and_an_explicit_token_wins() {
    let c = Clients::new(Settings {
        emulator_host: Some("127.0.0.1:1".into()),
        ..Default::default()
    })
    .unwrap();
    assert!(format!("{:?}", c.transport()).contains("Auth::Static"));
    assert_eq!(
        c.transport().endpoints().base(gcp::Api::Run).as_str(),
        "http://127.0.0.1:1/run/v2/"
    );
}
