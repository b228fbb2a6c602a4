//! Where bearer tokens come from: google-cloud-auth (ADC, key file or JSON, impersonation, external accounts) or a
//! static token; the token type never prints its value.

use std::fmt;
use std::sync::Arc;

use google_cloud_auth::credentials::{
    external_account, impersonated, service_account, user_account, AccessTokenCredentials, Builder,
    CacheableResource, Credentials, CredentialsProvider,
};
use serde_json::Value;

use crate::error::Error;

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

/// The header Google's clients send the quota project in: the credentials' `quota_project_id`, or the
/// provider's `billing_project` / the resource's project under `user_project_override`.
pub const USER_PROJECT_HEADER: &str = "x-goog-user-project";

/// What a request is authorized with: the bearer token and, when the credentials name one, their quota project.
#[derive(Clone, Debug)]
pub struct Authorization {
    pub token: Token,
    /// `quota_project_id` of an authorized_user / external_account JSON (or `GOOGLE_CLOUD_QUOTA_PROJECT` with
    /// Application Default Credentials), as google-cloud-auth reports it in its `x-goog-user-project` header.
    pub quota_project: Option<String>,
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
    /// Errors name the source (path or credential type) but never include key material.
    pub fn google(credentials: Option<&str>, impersonate: Option<&str>) -> Result<Self, Error> {
        let base = match credentials.map(str::trim).filter(|c| !c.is_empty()) {
            None => {
                let mut adc = Builder::default().with_scopes([CLOUD_PLATFORM_SCOPE]);
                // google-cloud-auth reads `quota_project_id` from an authorized_user file but not from an
                // external_account one; Google's other clients read it from both.
                if let Some(q) = adc_quota_project() {
                    adc = adc.with_quota_project_id(q);
                }
                adc.build_access_token_credentials()
                    .map_err(|e| Error::auth(format!("application default credentials: {e}")))?
            }
            Some(c) => from_json(load_json(c)?)?,
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
        self.authorize().await.map(|a| a.token)
    }

    /// The token and the credentials' quota project, from the headers google-cloud-auth builds for a request
    /// (it reads `quota_project_id` from the credentials JSON, and `GOOGLE_CLOUD_QUOTA_PROJECT`, as Google's other
    /// clients do).
    pub async fn authorize(&self) -> Result<Authorization, Error> {
        match &self.0 {
            Source::Static(t) => Ok(Authorization {
                token: t.clone(),
                quota_project: None,
            }),
            Source::Google(c) => {
                let failed = |e: &dyn fmt::Display| {
                    Error::auth(format!("could not obtain an access token: {e}"))
                };
                let headers = match CredentialsProvider::headers(c, http::Extensions::new())
                    .await
                    .map_err(|e| failed(&e))?
                {
                    CacheableResource::New { data, .. } => data,
                    // Only answered to a caller that sent an entity tag, which this one never does.
                    CacheableResource::NotModified => {
                        return Err(failed(&"the credentials returned no headers"))
                    }
                };
                let token = headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(Token::new)
                    .ok_or_else(|| failed(&"the credentials gave no bearer token"))?;
                let quota_project = headers
                    .get(USER_PROJECT_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string);
                Ok(Authorization {
                    token,
                    quota_project,
                })
            }
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

/// `credentials` holds JSON if it looks like JSON, else it is a path (the google provider's convention).
fn load_json(credentials: &str) -> Result<Value, Error> {
    let text = if credentials.starts_with('{') {
        credentials.to_string()
    } else {
        std::fs::read_to_string(credentials)
            .map_err(|e| Error::auth(format!("reading credentials file {credentials}: {e}")))?
    };
    // serde's message gives line/column only, never the content.
    serde_json::from_str(&text)
        .map_err(|e| Error::auth(format!("credentials are not valid JSON: {e}")))
}

/// The `quota_project_id` of a credentials JSON, if it names one.
fn quota_project_of(json: &Value) -> Option<String> {
    json.get("quota_project_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_string)
}

/// The `quota_project_id` of the Application Default Credentials file, found where google-cloud-auth looks
/// (AIP-4110: `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's well-known file). Any problem reading it is left
/// for google-cloud-auth to report; nothing of the file is logged.
fn adc_quota_project() -> Option<String> {
    let path = match std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => {
            let root = if cfg!(windows) {
                std::env::var_os("APPDATA").map(|r| std::path::PathBuf::from(r).join("gcloud"))
            } else {
                std::env::var_os("HOME").map(|r| std::path::PathBuf::from(r).join(".config/gcloud"))
            };
            root?.join("application_default_credentials.json")
        }
    };
    let text = std::fs::read_to_string(path).ok()?;
    quota_project_of(&serde_json::from_str(&text).ok()?)
}

fn from_json(json: Value) -> Result<AccessTokenCredentials, Error> {
    let kind = json
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // Set on every builder: only the authorized_user one reads it from the JSON by itself.
    let quota = quota_project_of(&json);
    let built = match kind.as_str() {
        "service_account" => {
            let b = service_account::Builder::new(json).with_access_specifier(
                service_account::AccessSpecifier::from_scopes([CLOUD_PLATFORM_SCOPE]),
            );
            match quota {
                Some(q) => b.with_quota_project_id(q),
                None => b,
            }
            .build_access_token_credentials()
        }
        "authorized_user" => {
            let b = user_account::Builder::new(json).with_scopes([CLOUD_PLATFORM_SCOPE]);
            match quota {
                Some(q) => b.with_quota_project_id(q),
                None => b,
            }
            .build_access_token_credentials()
        }
        "external_account" => {
            let b = external_account::Builder::new(json).with_scopes([CLOUD_PLATFORM_SCOPE]);
            match quota {
                Some(q) => b.with_quota_project_id(q),
                None => b,
            }
            .build_access_token_credentials()
        }
        "impersonated_service_account" => {
            let b = impersonated::Builder::new(json).with_scopes([CLOUD_PLATFORM_SCOPE]);
            match quota {
                Some(q) => b.with_quota_project_id(q),
                None => b,
            }
            .build_access_token_credentials()
        }
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
