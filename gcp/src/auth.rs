//! Where bearer tokens come from: google-cloud-auth (ADC, key file or JSON, impersonation, external accounts) or a
//! static token; the token type never prints its value.

use std::fmt;
use std::sync::Arc;

use google_cloud_auth::credentials::{
    external_account, impersonated, service_account, user_account, AccessTokenCredentials, Builder,
    CacheableResource, Credentials, CredentialsProvider,
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
            (None, None) => {
                let mut adc = Builder::default().with_scopes([CLOUD_PLATFORM_SCOPE]);
                // google-cloud-auth reads `quota_project_id` from an authorized_user file but not from an
                // external_account one; Google's other clients read it from both.
                if let Some(q) = adc_quota_project() {
                    adc = adc.with_quota_project_id(q);
                }
                adc.build_access_token_credentials()
                    .map_err(|e| Error::auth(format!("application default credentials: {e}")))?
            }
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

/// The `quota_project_id` of a credentials JSON, if it names one.
fn quota_project_of(json: &Value) -> Option<String> {
    json.get("quota_project_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_string)
}

/// The `quota_project_id` of gcloud's well-known Application Default Credentials file (AIP-4110; a
/// `GOOGLE_APPLICATION_CREDENTIALS` file is read by [`Auth::google_from`] itself), read with the same limits as
/// every credentials file. Any problem reading it is left for google-cloud-auth to report; nothing is logged.
fn adc_quota_project() -> Option<String> {
    let root = if cfg!(windows) {
        std::env::var_os("APPDATA").map(|r| std::path::PathBuf::from(r).join("gcloud"))
    } else {
        std::env::var_os("HOME").map(|r| std::path::PathBuf::from(r).join(".config/gcloud"))
    };
    let path = root?.join("application_default_credentials.json");
    let json = credentials_file::load(
        path.to_str()?,
        "application default credentials",
        Accepts::Path,
    )
    .ok()?;
    quota_project_of(&json)
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
