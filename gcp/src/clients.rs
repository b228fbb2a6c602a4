//! The entry point: provider settings in, one transport and five API clients out.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::auth::{Auth, Token};
use crate::endpoints::{CustomEndpoints, Endpoints, EMULATOR_HOST_ENV};
use crate::error::Error;
use crate::transport::{Transport, TransportOptions};
use crate::{compute, dns, network_services, resource_manager, run};

/// The provider settings this crate needs (PRODUCT.md §5); environment fallbacks are the provider's job,
/// except [`Settings::emulator_host_from_env`].
#[derive(Clone, Default)]
pub struct Settings {
    /// Key file path or JSON content; `None` → Application Default Credentials.
    pub credentials: Option<String>,
    /// Wins over `credentials`.
    pub access_token: Option<Token>,
    pub impersonate_service_account: Option<String>,
    pub custom_endpoints: CustomEndpoints,
    /// `host:port` of the emulator; points every API at it (custom endpoints still win) and uses a dummy token.
    pub emulator_host: Option<String>,
    /// `None` → 60 s.
    pub request_timeout: Option<Duration>,
    /// `None` → `terraform-provider-csmrun/<this crate's version>`.
    pub user_agent: Option<String>,
}

impl Settings {
    /// `CSMRUN_EMULATOR_HOST`, if set and non-empty.
    pub fn emulator_host_from_env() -> Option<String> {
        std::env::var(EMULATOR_HOST_ENV)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field(
                "credentials",
                &self.credentials.as_ref().map(|c| {
                    if c.trim_start().starts_with('{') {
                        "[json redacted]".to_string()
                    } else {
                        c.clone()
                    }
                }),
            )
            .field("access_token", &self.access_token)
            .field(
                "impersonate_service_account",
                &self.impersonate_service_account,
            )
            .field("custom_endpoints", &self.custom_endpoints)
            .field("emulator_host", &self.emulator_host)
            .field("request_timeout", &self.request_timeout)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// One transport shared by the five API clients. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Clients {
    t: Transport,
}

impl Clients {
    /// Resolves auth (static token > emulator dummy token > google-cloud-auth) and endpoints
    /// (custom > emulator > Google), with the default retry policy and tokio's timer.
    pub fn new(settings: Settings) -> Result<Self, Error> {
        let endpoints = Endpoints::resolve(
            &settings.custom_endpoints,
            settings.emulator_host.as_deref(),
        )?;
        let auth = match (&settings.access_token, &settings.emulator_host) {
            (Some(token), _) => Auth::static_token(token.clone()),
            (None, Some(host)) if !host.trim().is_empty() => Auth::emulator(),
            _ => Auth::google(
                settings.credentials.as_deref(),
                settings.impersonate_service_account.as_deref(),
            )?,
        };
        let mut options = TransportOptions::default();
        if let Some(t) = settings.request_timeout {
            options.request_timeout = t;
        }
        if let Some(ua) = settings.user_agent {
            options.user_agent = ua;
        }
        Ok(Clients::from_transport(Transport::new(
            auth, endpoints, options,
        )?))
    }

    /// Clients over a transport built by hand (tests: instant sleep, custom retry policy).
    pub fn from_transport(t: Transport) -> Self {
        Clients { t }
    }

    /// A view whose waits and retries end promptly when `cancel` fires (Terraform's StopProvider).
    pub fn with_cancel(&self, cancel: CancellationToken) -> Self {
        Clients {
            t: self.t.with_cancel(cancel),
        }
    }

    /// A view bounded by `deadline` (the resource's create/update/delete timeout).
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        Clients {
            t: self.t.with_deadline(deadline),
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.t
    }

    pub fn run(&self) -> run::Client {
        run::Client::new(self.t.clone())
    }

    pub fn compute(&self) -> compute::Client {
        compute::Client::new(self.t.clone())
    }

    pub fn network_services(&self) -> network_services::Client {
        network_services::Client::new(self.t.clone())
    }

    pub fn dns(&self) -> dns::Client {
        dns::Client::new(self.t.clone())
    }

    pub fn resource_manager(&self) -> resource_manager::Client {
        resource_manager::Client::new(self.t.clone())
    }
}
