//! The entry point: provider settings in, one transport and five API clients out.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::auth::{Auth, Token};
use crate::endpoints::{CustomEndpoints, Endpoints, EMULATOR_HOST_ENV};
use crate::error::Error;
use crate::retry::{Backoff, RetryPolicy};
use crate::transport::{Transport, TransportOptions, UserProject};
use crate::{compute, dns, network_services, resource_manager, run};

/// The provider settings this crate needs (PRODUCT.md §5); environment fallbacks are the provider's job,
/// except [`Settings::emulator_host_from_env`].
#[derive(Clone, Default)]
pub struct Settings {
    /// Key file path or JSON content; `None` → Application Default Credentials.
    pub credentials: Option<String>,
    /// The setting `credentials` came from, named in errors (e.g. `GOOGLE_CREDENTIALS`); `None` → `credentials`.
    pub credentials_setting: Option<String>,
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
    /// `None` → the default [`RetryPolicy`].
    pub retry: Option<RetryPolicy>,
    /// Backoff between operation polls. `None` → Google's client-library default against Google (5 s growing by 1.5
    /// to 45 s, [`crate::transport::google_lro_poll`]); against the emulator the same schedule times 0.05 (250 ms
    /// growing to 2.25 s), the time scale the emulator's benchmarks run at, so a poll costs the same share of an
    /// operation there as against Google.
    pub poll: Option<Backoff>,
    /// Which project requests name in `x-goog-user-project` (the provider's `billing_project` and
    /// `user_project_override`); the default sends the credentials' quota project when they have one.
    pub user_project: UserProject,
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
                // A path is no secret, but a value taken for one may be a key or token in the wrong place.
                &self.credentials.as_ref().map(|_| "[redacted]"),
            )
            .field("credentials_setting", &self.credentials_setting)
            .field("access_token", &self.access_token)
            .field(
                "impersonate_service_account",
                &self.impersonate_service_account,
            )
            .field("custom_endpoints", &self.custom_endpoints)
            .field("emulator_host", &self.emulator_host)
            .field("request_timeout", &self.request_timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("poll", &self.poll)
            .field("user_project", &self.user_project)
            .finish()
    }
}

/// The emulator's share of Google's schedule: the time scale its benchmarks run at (`csmrun-bench`).
const EMULATOR_POLL_SCALE: f64 = 0.05;

fn emulator_poll() -> Backoff {
    let google = crate::transport::google_lro_poll();
    Backoff::new(
        google.initial.mul_f64(EMULATOR_POLL_SCALE),
        google.max.mul_f64(EMULATOR_POLL_SCALE),
        google.multiplier,
    )
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
        let emulator = settings
            .emulator_host
            .as_deref()
            .is_some_and(|h| !h.trim().is_empty());
        let auth = match &settings.access_token {
            Some(token) => Auth::static_token(token.clone()),
            None if emulator => Auth::emulator(),
            None => Auth::google_from(
                settings.credentials.as_deref(),
                settings
                    .credentials_setting
                    .as_deref()
                    .unwrap_or("`credentials`"),
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
        if let Some(r) = settings.retry {
            options.retry = r;
        }
        options.user_project = settings.user_project;
        match settings.poll {
            Some(p) => options.poll = p,
            None if emulator => options.poll = emulator_poll(),
            None => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Api;

    #[test]
    fn the_emulator_gets_fast_polling_and_google_the_default() {
        let emu = Clients::new(Settings {
            emulator_host: Some("127.0.0.1:9".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(emu.transport().options().poll, emulator_poll());
        assert_eq!(
            emulator_poll(),
            Backoff::new(Duration::from_millis(250), Duration::from_millis(2250), 1.5)
        );
        let google = Clients::new(Settings {
            access_token: Some(Token::new("t")),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            google.transport().options().poll,
            TransportOptions::default().poll
        );
        // google/api/client.proto's LongRunning defaults.
        assert_eq!(
            google.transport().options().poll,
            Backoff::new(Duration::from_secs(5), Duration::from_secs(45), 1.5)
        );
        assert_eq!(
            google.transport().endpoints().base(Api::Compute).as_str(),
            "https://compute.googleapis.com/compute/v1/"
        );
    }

    #[test]
    fn explicit_settings_override_the_defaults() {
        let poll = Backoff::new(Duration::from_secs(2), Duration::from_secs(4), 2.0);
        let c = Clients::new(Settings {
            emulator_host: Some("127.0.0.1:9".into()),
            retry: Some(RetryPolicy::none()),
            poll: Some(poll.clone()),
            request_timeout: Some(Duration::from_secs(5)),
            user_agent: Some("terraform-provider-csmrun/9.9.9".into()),
            ..Default::default()
        })
        .unwrap();
        let o = c.transport().options();
        assert_eq!(o.poll, poll);
        assert_eq!(o.retry.max_attempts, 1);
        assert_eq!(o.request_timeout, Duration::from_secs(5));
        assert_eq!(o.user_agent, "terraform-provider-csmrun/9.9.9");
    }
}
