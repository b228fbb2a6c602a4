//! The identity token the sidecar adds for its caller (the talk's "no more auth code"): an OIDC ID token of the
//! caller's runtime service account with the destination's run.app URL as audience, the claims Google's
//! metadata server puts in one (https://cloud.google.com/compute/docs/instances/verifying-instance-identity#token_format).
//!
//! The emulator cannot sign as Google, so the token is an unsigned JWT (`"alg": "none"`): a workload can read
//! who called it, and nothing can mistake the token for a real one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::json;

/// How long Google's ID tokens are valid.
const LIFETIME_SECS: i64 = 3600;

pub fn identity_token(account: &str, audience: &str, now: DateTime<Utc>) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": "csmrun-emulator"});
    let iat = now.timestamp();
    let claims = json!({
        "iss": "https://accounts.google.com",
        "aud": audience,
        "azp": account,
        "sub": account,
        "email": account,
        "email_verified": true,
        "iat": iat,
        "exp": iat.saturating_add(LIFETIME_SECS),
    });
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}
