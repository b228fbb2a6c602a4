//! Where bearer tokens come from: google-cloud-auth (ADC, key file or JSON, impersonation, external accounts) or a
//! static token; the token type never prints its value.

use std::fmt;
use std::sync::Arc;

use google_cloud_auth::credentials::{
    external_account, impersonated, service_account, user_account, AccessTokenCredentials, Builder,
    Credentials,
};
use serde_json::Value;

use crate::credentials_file::{self, Accepts};
use crate::error::Error;

/// The environment variable of Application Default Credentials that names a key file.
pub const ADC_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// The OAuth scope that covers every API this crate calls.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The token sent to the emulator (it only checks that one is present).
pub const EMULATOR_TOKEN: &str = "csmrun-emulator-token";

/// A bearer token. Debug and Display print `[redacted]`; only [`Token::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(Arc::from(value.into()))
    }

    /// The secret value, for the Authorization header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A source of bearer tokens; cheap to clone.
#[derive(Clone)]
pub struct Auth(Source);

#[derive(Clone)]
enum Source {
    Static(Token),
    Google(AccessTokenCredentials),
}

impl Auth {
    /// Always sends `token` (the provider's `access_token`).
    pub fn static_token(token: Token) -> Self {
        Auth(Source::Static(token))
    }

    /// The fixed dummy token used with `CSMRUN_EMULATOR_HOST`.
    pub fn emulator() -> Self {
        Auth::static_token(Token::new(EMULATOR_TOKEN))
    }

    /// Google credentials: `credentials` is a key file path or the JSON itself (service account, authorized user,
    /// external account / workload identity federation, impersonated service account); `None` means Application
    /// Default Credentials. With `impersonate`, those credentials mint tokens for that service account.
    ///
    /// Errors name the setting (`credentials`) but never include key material.
    pub fn google(credentials: Option<&str>, impersonate: Option<&str>) -> Result<Self, Error> {
        Self::google_from(credentials, "`credentials`", impersonate)
    }

    /// [`Auth::google`] with `credentials` taken from `setting` (named in errors, e.g. `GOOGLE_CREDENTIALS`).
    /// Without credentials, a `GOOGLE_APPLICATION_CREDENTIALS` file is read here, with the same limits (regular
    /// file, size cap, never quoted), and the rest of Application Default Credentials is google-cloud-auth's.
    pub fn google_from(
        credentials: Option<&str>,
        setting: &str,
        impersonate: Option<&str>,
    ) -> Result<Self, Error> {
        let adc_file = std::env::var(ADC_ENV).ok().filter(|v| !v.trim().is_empty());
        let base = match (credentials.filter(|c| !c.trim().is_empty()), adc_file) {
            (Some(c), _) => from_json(credentials_file::load(c, setting, Accepts::JsonOrPath)?)?,
            (None, Some(path)) => {
                from_json(credentials_file::load(&path, ADC_ENV, Accepts::Path)?)?
            }
            (None, None) => Builder::default()
                .with_scopes([CLOUD_PLATFORM_SCOPE])
                .build_access_token_credentials()
                .map_err(|e| Error::auth(format!("application default credentials: {e}")))?,
        };
        let creds = match impersonate.map(str::trim).filter(|s| !s.is_empty()) {
            None => base,
            Some(target) => impersonated::Builder::from_source_credentials(Credentials::from(base))
                .with_target_principal(target)
                .with_scopes([CLOUD_PLATFORM_SCOPE])
                .build_access_token_credentials()
                .map_err(|e| Error::auth(format!("impersonating {target}: {e}")))?,
        };
        Ok(Auth(Source::Google(creds)))
    }

    /// A token to send now (google-cloud-auth caches and refreshes it).
    pub async fn token(&self) -> Result<Token, Error> {
        match &self.0 {
            Source::Static(t) => Ok(t.clone()),
            Source::Google(c) => c
                .access_token()
                .await
                .map(|t| Token::new(t.token))
                .map_err(|e| Error::auth(format!("could not obtain an access token: {e}"))),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Static(t) => f.debug_tuple("Auth::Static").field(t).finish(),
            Source::Google(_) => f.write_str("Auth::Google"),
        }
    }
}

fn from_json(json: Value) -> Result<AccessTokenCredentials, Error> {
    let kind = json
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let built = match kind.as_str() {
        "service_account" => service_account::Builder::new(json)
            .with_access_specifier(service_account::AccessSpecifier::from_scopes([
                CLOUD_PLATFORM_SCOPE,
            ]))
            .build_access_token_credentials(),
        "authorized_user" => user_account::Builder::new(json)
            .with_scopes([CLOUD_PLATFORM_SCOPE])
            .build_access_token_credentials(),
        "external_account" => external_account::Builder::new(json)
            .with_scopes([CLOUD_PLATFORM_SCOPE])
            .build_access_token_credentials(),
        "impersonated_service_account" => impersonated::Builder::new(json)
            .with_scopes([CLOUD_PLATFORM_SCOPE])
            .build_access_token_credentials(),
        "" => return Err(Error::auth("credentials JSON has no \"type\" field")),
        other => {
            return Err(Error::auth(format!(
            "unsupported credentials type {other:?} (expected service_account, authorized_user, \
                 external_account or impersonated_service_account)"
        )))
        }
    };
    built.map_err(|e| Error::auth(format!("{kind} credentials: {e}")))
}
