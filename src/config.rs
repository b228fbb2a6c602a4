//! Provider configuration (PRODUCT §5): the `provider "csmrun"` block, environment fallbacks, the gcp clients.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tfplug::{AttributePath, Diagnostic, Diagnostics, Val};

use crate::service::duration;
use crate::service::parts::dns::ZoneLocks;
use crate::service::parts::iam::IamCoalescer;
use crate::service::shared_reads::SharedReads;
use crate::service::snapshot::ReadSnapshot;
use crate::service::steps::project::ProjectNumbers;

/// The provider block as Terraform sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderConfig {
    pub project: Val<String>,
    pub region: Val<String>,
    pub credentials: Val<String>,
    pub access_token: Val<String>,
    pub impersonate_service_account: Val<String>,
    pub run_custom_endpoint: Val<String>,
    pub compute_custom_endpoint: Val<String>,
    pub network_services_custom_endpoint: Val<String>,
    pub dns_custom_endpoint: Val<String>,
    pub resource_manager_custom_endpoint: Val<String>,
    pub iam_propagation_wait: Val<String>,
    pub mesh_settle_time: Val<String>,
    pub request_timeout: Val<String>,
    pub default_labels: Val<BTreeMap<String, String>>,
    pub billing_project: Val<String>,
    pub user_project_override: Val<bool>,
}

/// Default of `iam_propagation_wait`.
pub const DEFAULT_IAM_PROPAGATION_WAIT: Duration = Duration::from_secs(90);
/// Default of `mesh_settle_time`.
pub const DEFAULT_MESH_SETTLE_TIME: Duration = Duration::from_secs(60);

/// What every resource hook gets: clients and settings.
pub struct ProviderData {
    pub clients: gcp::Clients,
    pub project: Option<String>,
    pub region: Option<String>,
    pub iam_propagation_wait: Duration,
    pub mesh_settle_time: Duration,
    pub default_labels: BTreeMap<String, String>,
    /// Coalesces project IAM edits within this process.
    pub iam: Arc<IamCoalescer>,
    /// Project numbers learnt from Resource Manager, so references by number are not drift.
    pub project_numbers: ProjectNumbers,
    /// Coalesces this process's changes of the DNS zones' users registries (one change per batch per zone).
    pub zone_locks: ZoneLocks,
    /// What the refreshes of this walk share (one list per collection); emptied by every write of this process.
    pub reads: Arc<ReadSnapshot>,
    /// The pre-flight checks' reads of shared objects (mesh, subnetwork, zone), kept a few seconds for the checks
    /// of the other creates of this process (a kept answer only ever lets a check pass).
    pub shared_reads: Arc<SharedReads>,
}

/// Reads an environment variable through `env`, ignoring empty values.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn setting(v: &Val<String>, env: EnvLookup<'_>, vars: &[&str]) -> Option<String> {
    match v {
        Val::Known(s) if !s.is_empty() => Some(s.clone()),
        _ => vars.iter().find_map(|k| env(k)),
    }
}

/// Where the user agent's appended part comes from: the variable Terraform itself and the providers built on its
/// plugin SDK append (one user agent per CI runner tells their calls apart in Cloud Audit Logs).
pub const APPEND_USER_AGENT_ENV: &str = "TF_APPEND_USER_AGENT";

/// `terraform-provider-csmrun/VERSION`, then `TF_APPEND_USER_AGENT` after a space. Characters a header value
/// cannot carry (control characters, non-ASCII) are dropped rather than failing every request.
fn user_agent(env: EnvLookup<'_>) -> String {
    let own = format!(
        "{}/{}",
        gcp::transport::USER_AGENT_PRODUCT,
        env!("CARGO_PKG_VERSION")
    );
    let extra: String = env(APPEND_USER_AGENT_ENV)
        .unwrap_or_default()
        .chars()
        .filter(|c| (' '..='~').contains(c))
        .collect();
    match extra.trim() {
        "" => own,
        extra => format!("{own} {extra}"),
    }
}

/// Upper bounds of the provider's durations: beyond them a value is a mistake (a unit slip such as "90h"), and
/// bounding them keeps every later deadline and backoff calculation far from overflow.
pub const MAX_IAM_PROPAGATION_WAIT: Duration = Duration::from_secs(3600);
pub const MAX_MESH_SETTLE_TIME: Duration = Duration::from_secs(3600);
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

fn dur(
    v: &Val<String>,
    name: &str,
    default: Duration,
    max: Duration,
    diags: &mut Diagnostics,
) -> Duration {
    let Val::Known(s) = v else { return default };
    match duration::parse(s) {
        Ok(d) if d <= max => d,
        Ok(_) => {
            diags.attribute_error(
                AttributePath::root().attr(name),
                "Duration out of range",
                format!(
                    "`{name}` = {s:?} is longer than the allowed {}; write a duration from \"0s\" to \"{}\".",
                    duration::to_go(max),
                    duration::to_go(max)
                ),
            );
            default
        }
        Err(e) => {
            diags.attribute_error(
                AttributePath::root().attr(name),
                "Invalid duration",
                format!("`{name}`: {e}. Write a duration such as \"90s\"."),
            );
            default
        }
    }
}

/// `billing_project` and `user_project_override` with the google provider's meaning and environment fallbacks
/// (`GOOGLE_BILLING_PROJECT`, `USER_PROJECT_OVERRIDE`): without the override the billing project is not sent
/// (the credentials' own quota project still is).
fn user_project(
    c: &ProviderConfig,
    env: EnvLookup<'_>,
    diags: &mut Diagnostics,
) -> gcp::transport::UserProject {
    let on = match &c.user_project_override {
        Val::Known(b) => *b,
        _ => match env("USER_PROJECT_OVERRIDE") {
            None => false,
            Some(v) => parse_bool(&v).unwrap_or_else(|| {
                diags.attribute_error(
                    AttributePath::root().attr("user_project_override"),
                    "Invalid USER_PROJECT_OVERRIDE",
                    format!(
                        "`USER_PROJECT_OVERRIDE` is {v:?}; set it to true or false, or set \
                         `user_project_override` in the provider block."
                    ),
                );
                false
            }),
        },
    };
    let billing = setting(&c.billing_project, env, &["GOOGLE_BILLING_PROJECT"]);
    if let Some(b) = &billing {
        let valid = b.chars().all(|ch| ch.is_ascii_graphic());
        if !valid {
            diags.attribute_error(
                AttributePath::root().attr("billing_project"),
                "Invalid billing project",
                format!(
                    "`billing_project` (or GOOGLE_BILLING_PROJECT) is {b:?}; write a project ID such as \
                     \"my-billing-project\"."
                ),
            );
        }
    }
    if on {
        gcp::transport::UserProject::Override {
            billing_project: billing,
        }
    } else {
        gcp::transport::UserProject::FromCredentials
    }
}

/// Go's `strconv.ParseBool`, which the google provider reads `USER_PROJECT_OVERRIDE` with.
fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// The credentials setting in effect and its name for errors: the block's `credentials`, else GOOGLE_CREDENTIALS
/// (GOOGLE_APPLICATION_CREDENTIALS, a path only, is read with Application Default Credentials by `gcp::Auth`).
fn credentials(c: &ProviderConfig, env: EnvLookup<'_>) -> (Option<String>, Option<String>) {
    match &c.credentials {
        Val::Known(v) if !v.is_empty() => (Some(v.clone()), Some("`credentials`".into())),
        _ => match env("GOOGLE_CREDENTIALS") {
            Some(v) => (Some(v), Some("GOOGLE_CREDENTIALS".into())),
            None => (None, None),
        },
    }
}

/// The errors of the provider's durations (malformed, or beyond their bounds); unknown values are skipped.
pub fn check_durations(c: &ProviderConfig) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for (v, name, max) in [
        (
            &c.iam_propagation_wait,
            "iam_propagation_wait",
            MAX_IAM_PROPAGATION_WAIT,
        ),
        (
            &c.mesh_settle_time,
            "mesh_settle_time",
            MAX_MESH_SETTLE_TIME,
        ),
        (&c.request_timeout, "request_timeout", MAX_REQUEST_TIMEOUT),
    ] {
        dur(v, name, Duration::ZERO, max, &mut diags);
    }
    diags
}

/// Resolved settings (no network yet).
pub struct Resolved {
    pub settings: gcp::Settings,
    pub project: Option<String>,
    pub region: Option<String>,
    pub iam_propagation_wait: Duration,
    pub mesh_settle_time: Duration,
    pub default_labels: BTreeMap<String, String>,
}

/// Applies environment fallbacks and parses durations.
pub fn resolve(c: &ProviderConfig, env: EnvLookup<'_>) -> Result<Resolved, Diagnostics> {
    let mut diags = Diagnostics::new();
    let iam_propagation_wait = dur(
        &c.iam_propagation_wait,
        "iam_propagation_wait",
        DEFAULT_IAM_PROPAGATION_WAIT,
        MAX_IAM_PROPAGATION_WAIT,
        &mut diags,
    );
    let mesh_settle_time = dur(
        &c.mesh_settle_time,
        "mesh_settle_time",
        DEFAULT_MESH_SETTLE_TIME,
        MAX_MESH_SETTLE_TIME,
        &mut diags,
    );
    let request_timeout = match &c.request_timeout {
        Val::Known(_) => Some(dur(
            &c.request_timeout,
            "request_timeout",
            Duration::from_secs(60),
            MAX_REQUEST_TIMEOUT,
            &mut diags,
        )),
        _ => None,
    };
    let user_project = user_project(c, env, &mut diags);
    let (credentials, credentials_setting) = credentials(c, env);
    let settings = gcp::Settings {
        credentials,
        credentials_setting,
        access_token: setting(&c.access_token, env, &["GOOGLE_OAUTH_ACCESS_TOKEN"])
            .map(gcp::Token::new),
        impersonate_service_account: setting(&c.impersonate_service_account, env, &[]),
        custom_endpoints: gcp::CustomEndpoints {
            run: c.run_custom_endpoint.known().cloned(),
            compute: c.compute_custom_endpoint.known().cloned(),
            network_services: c.network_services_custom_endpoint.known().cloned(),
            dns: c.dns_custom_endpoint.known().cloned(),
            resource_manager: c.resource_manager_custom_endpoint.known().cloned(),
        },
        emulator_host: env(gcp::EMULATOR_HOST_ENV),
        request_timeout,
        user_agent: Some(user_agent(env)),
        user_project,
        ..Default::default()
    };
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Resolved {
        settings,
        project: setting(
            &c.project,
            env,
            &[
                "GOOGLE_PROJECT",
                "GOOGLE_CLOUD_PROJECT",
                "CLOUDSDK_CORE_PROJECT",
            ],
        ),
        region: setting(
            &c.region,
            env,
            &["GOOGLE_REGION", "CLOUDSDK_COMPUTE_REGION"],
        ),
        iam_propagation_wait,
        mesh_settle_time,
        default_labels: c.default_labels.known().cloned().unwrap_or_default(),
    })
}

/// How long setting up the clients may take (reading a key file, building the credentials) before configure
/// gives up: a file system that hangs must not hang `terraform plan`.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(30);

/// [`build`] on a blocking thread, so reading a credentials file never holds an async worker (and with it the
/// plugin's gRPC server, which must still answer StopProvider and Shutdown); gives up after [`BUILD_TIMEOUT`] or
/// when `stop` (StopProvider) fires.
pub async fn build_off_thread(
    r: Resolved,
    stop: tokio_util::sync::CancellationToken,
) -> Result<ProviderData, Diagnostic> {
    let task = tokio::task::spawn_blocking(move || build(r));
    let failed = |why: String| Diagnostic::error("Could not set up Google Cloud credentials", why);
    tokio::select! {
        _ = stop.cancelled() => Err(failed("Stopped while reading the credentials.".into())),
        r = tokio::time::timeout(BUILD_TIMEOUT, task) => match r {
            Ok(Ok(built)) => built,
            Ok(Err(join)) => Err(failed(format!("Setting up the credentials failed: {join}."))),
            Err(_) => Err(failed(format!(
                "Reading the credentials took longer than {} s; check that `credentials`, GOOGLE_CREDENTIALS or \
                 GOOGLE_APPLICATION_CREDENTIALS name a regular file on a responsive file system.",
                BUILD_TIMEOUT.as_secs()
            ))),
        },
    }
}

/// Builds the provider data (the clients) from resolved settings.
pub fn build(r: Resolved) -> Result<ProviderData, Diagnostic> {
    let clients = gcp::Clients::new(r.settings).map_err(|e| {
        Diagnostic::error(
            "Could not set up Google Cloud credentials",
            format!(
                "{e}.\nSet `credentials` (a key file path or JSON), `access_token`, GOOGLE_CREDENTIALS, or run \
                 `gcloud auth application-default login`; for the emulator set CSMRUN_EMULATOR_HOST."
            ),
        )
    })?;
    Ok(ProviderData {
        clients,
        project: r.project,
        region: r.region,
        iam_propagation_wait: r.iam_propagation_wait,
        mesh_settle_time: r.mesh_settle_time,
        default_labels: r.default_labels,
        iam: Arc::new(IamCoalescer::default()),
        project_numbers: ProjectNumbers::default(),
        zone_locks: ZoneLocks::default(),
        reads: Arc::default(),
        shared_reads: Arc::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_fills_what_the_block_leaves_unset() {
        let env = env_of(&[
            ("GOOGLE_CLOUD_PROJECT", "env-project"),
            ("CLOUDSDK_COMPUTE_REGION", "env-region"),
            ("GOOGLE_OAUTH_ACCESS_TOKEN", "tok"),
            ("CSMRUN_EMULATOR_HOST", "127.0.0.1:9"),
        ]);
        let r = resolve(&ProviderConfig::default(), &env).unwrap();
        assert_eq!(r.project.as_deref(), Some("env-project"));
        assert_eq!(r.region.as_deref(), Some("env-region"));
        assert_eq!(
            r.settings
                .access_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            Some("tok".into())
        );
        assert_eq!(r.settings.emulator_host.as_deref(), Some("127.0.0.1:9"));
        assert_eq!(r.iam_propagation_wait, DEFAULT_IAM_PROPAGATION_WAIT);
        assert_eq!(r.mesh_settle_time, DEFAULT_MESH_SETTLE_TIME);
    }

    #[test]
    fn tf_append_user_agent_is_appended_to_the_user_agent_without_characters_a_header_cannot_carry()
    {
        let own = format!("terraform-provider-csmrun/{}", env!("CARGO_PKG_VERSION"));
        let ua = |env: &'static [(&'static str, &'static str)]| {
            resolve(&ProviderConfig::default(), &env_of(env))
                .unwrap()
                .settings
                .user_agent
                .unwrap()
        };
        const EMU: (&str, &str) = ("CSMRUN_EMULATOR_HOST", "127.0.0.1:9");
        assert_eq!(ua(&[EMU]), own);
        assert_eq!(
            ua(&[EMU, ("TF_APPEND_USER_AGENT", " ci-runner/7 (pipeline 42) ")]),
            format!("{own} ci-runner/7 (pipeline 42)")
        );
        assert_eq!(
            ua(&[EMU, ("TF_APPEND_USER_AGENT", "runner\r\nX-Injected: 1 é")]),
            format!("{own} runnerX-Injected: 1")
        );
        assert_eq!(ua(&[EMU, ("TF_APPEND_USER_AGENT", "\n\t")]), own);
    }

    #[test]
    fn the_block_wins_over_the_environment() {
        let env = env_of(&[("GOOGLE_PROJECT", "env-project")]);
        let c = ProviderConfig {
            project: Val::Known("block-project".into()),
            iam_propagation_wait: Val::Known("5s".into()),
            ..Default::default()
        };
        let r = resolve(&c, &env).unwrap();
        assert_eq!(r.project.as_deref(), Some("block-project"));
        assert_eq!(r.iam_propagation_wait, Duration::from_secs(5));
    }

    #[test]
    fn user_project_override_sends_the_billing_project_and_without_it_nothing_is_overridden() {
        use gcp::transport::UserProject;
        let with = |c: ProviderConfig, env: &'static [(&'static str, &'static str)]| {
            resolve(&c, &env_of(env)).map(|r| r.settings.user_project)
        };
        let block = ProviderConfig {
            billing_project: Val::Known("bill".into()),
            user_project_override: Val::Known(true),
            ..Default::default()
        };
        assert_eq!(
            with(block, &[]).ok(),
            Some(UserProject::Override {
                billing_project: Some("bill".into())
            })
        );
        let billing_only = ProviderConfig {
            billing_project: Val::Known("bill".into()),
            ..Default::default()
        };
        assert_eq!(
            with(billing_only, &[]).ok(),
            Some(UserProject::FromCredentials)
        );
        assert_eq!(
            with(
                ProviderConfig::default(),
                &[
                    ("USER_PROJECT_OVERRIDE", "true"),
                    ("GOOGLE_BILLING_PROJECT", "env-bill")
                ]
            )
            .ok(),
            Some(UserProject::Override {
                billing_project: Some("env-bill".into())
            })
        );
        let off_in_block = ProviderConfig {
            user_project_override: Val::Known(false),
            ..Default::default()
        };
        assert_eq!(
            with(off_in_block, &[("USER_PROJECT_OVERRIDE", "true")]).ok(),
            Some(UserProject::FromCredentials),
            "the block wins over the environment"
        );
        let diags = with(
            ProviderConfig::default(),
            &[("USER_PROJECT_OVERRIDE", "yes")],
        )
        .err()
        .unwrap();
        assert_eq!(
            diags.iter().next().unwrap().attribute,
            Some(AttributePath::root().attr("user_project_override"))
        );
    }

    #[test]
    fn a_duration_beyond_its_bound_is_an_error_naming_the_attribute_and_the_range() {
        for (name, set) in [
            (
                "iam_propagation_wait",
                (|c: &mut ProviderConfig, v| c.iam_propagation_wait = v)
                    as fn(&mut ProviderConfig, Val<String>),
            ),
            ("mesh_settle_time", |c, v| c.mesh_settle_time = v),
            ("request_timeout", |c, v| c.request_timeout = v),
        ] {
            let mut c = ProviderConfig::default();
            set(&mut c, Val::Known("2562047788015215h".into()));
            let diags = resolve(&c, &|_| None).err().unwrap();
            let d = diags.iter().next().unwrap();
            assert_eq!(d.attribute, Some(AttributePath::root().attr(name)));
            assert!(d.detail.contains("\"1h\""), "{}", d.detail);
            assert!(check_durations(&c).has_errors());
            set(&mut c, Val::Known("1h".into()));
            assert!(
                resolve(&c, &|_| None).is_ok(),
                "{name}: the bound itself is allowed"
            );
        }
    }

    #[test]
    fn a_credentials_setting_is_named_by_where_it_came_from() {
        let env = env_of(&[("GOOGLE_CREDENTIALS", "{}")]);
        let r = resolve(&ProviderConfig::default(), &env).unwrap();
        assert_eq!(
            r.settings.credentials_setting.as_deref(),
            Some("GOOGLE_CREDENTIALS")
        );
        let c = ProviderConfig {
            credentials: Val::Known("{}".into()),
            ..Default::default()
        };
        let r = resolve(&c, &env).unwrap();
        assert_eq!(
            r.settings.credentials_setting.as_deref(),
            Some("`credentials`")
        );
    }

    #[test]
    fn a_malformed_duration_is_an_error_on_its_attribute() {
        let c = ProviderConfig {
            mesh_settle_time: Val::Known("soon".into()),
            ..Default::default()
        };
        let diags = resolve(&c, &|_| None).err().unwrap();
        let d = diags.iter().next().unwrap();
        assert_eq!(
            d.attribute,
            Some(AttributePath::root().attr("mesh_settle_time"))
        );
    }
}
