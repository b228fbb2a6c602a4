//! One base URL per API: Google's defaults, the emulator host mapping, and explicit custom endpoints (which win).

use url::Url;

use crate::api::Api;
use crate::error::Error;

/// The environment variable that points every API at the emulator (`host:port`).
pub const EMULATOR_HOST_ENV: &str = "CSMRUN_EMULATOR_HOST";

/// The five `*_custom_endpoint` provider settings; each is a base URL including the version path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomEndpoints {
    pub run: Option<String>,
    pub compute: Option<String>,
    pub network_services: Option<String>,
    pub dns: Option<String>,
    pub resource_manager: Option<String>,
}

impl CustomEndpoints {
    fn get(&self, api: Api) -> Option<&str> {
        match api {
            Api::Run => self.run.as_deref(),
            Api::Compute => self.compute.as_deref(),
            Api::NetworkServices => self.network_services.as_deref(),
            Api::Dns => self.dns.as_deref(),
            Api::ResourceManager => self.resource_manager.as_deref(),
        }
        .map(str::trim)
        .filter(|s| !s.is_empty())
    }
}

/// Resolved base URLs, each ending in `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    run: Url,
    compute: Url,
    network_services: Url,
    dns: Url,
    resource_manager: Url,
}

/// Google's production base URL for `api`.
pub fn default_base(api: Api) -> &'static str {
    match api {
        Api::Run => "https://run.googleapis.com/v2/",
        Api::Compute => "https://compute.googleapis.com/compute/v1/",
        Api::NetworkServices => "https://networkservices.googleapis.com/v1/",
        Api::Dns => "https://dns.googleapis.com/dns/v1/",
        Api::ResourceManager => "https://cloudresourcemanager.googleapis.com/v1/",
    }
}

/// The emulator's path prefix for `api`.
fn emulator_prefix(api: Api) -> &'static str {
    match api {
        Api::Run => "run/v2/",
        Api::Compute => "compute/v1/",
        Api::NetworkServices => "networkservices/v1/",
        Api::Dns => "dns/v1/",
        Api::ResourceManager => "cloudresourcemanager/v1/",
    }
}

impl Endpoints {
    /// Custom endpoints win; else `emulator_host` (`host:port`) maps every API to `http://host:port/<api>/<ver>/`;
    /// else Google's defaults.
    pub fn resolve(custom: &CustomEndpoints, emulator_host: Option<&str>) -> Result<Self, Error> {
        let emulator = emulator_host.map(str::trim).filter(|h| !h.is_empty());
        let pick = |api: Api| -> Result<Url, Error> {
            let raw = match (custom.get(api), emulator) {
                (Some(c), _) => c.to_string(),
                (None, Some(host)) => {
                    let host = host.trim_start_matches("http://").trim_end_matches('/');
                    format!("http://{host}/{}", emulator_prefix(api))
                }
                (None, None) => default_base(api).to_string(),
            };
            parse_base(api, &raw)
        };
        Ok(Endpoints {
            run: pick(Api::Run)?,
            compute: pick(Api::Compute)?,
            network_services: pick(Api::NetworkServices)?,
            dns: pick(Api::Dns)?,
            resource_manager: pick(Api::ResourceManager)?,
        })
    }

    /// The base URL of `api`.
    pub fn base(&self, api: Api) -> &Url {
        match api {
            Api::Run => &self.run,
            Api::Compute => &self.compute,
            Api::NetworkServices => &self.network_services,
            Api::Dns => &self.dns,
            Api::ResourceManager => &self.resource_manager,
        }
    }

    /// `path` (relative to the API's version root, e.g. `projects/p/global/backendServices/x`) as a full URL.
    pub fn url(&self, api: Api, path: &str) -> Result<Url, Error> {
        let joined = format!(
            "{}{}",
            self.base(api).as_str(),
            path.trim_start_matches('/')
        );
        Url::parse(&joined).map_err(|e| Error::config(format!("bad URL {joined}: {e}")))
    }
}

fn parse_base(api: Api, raw: &str) -> Result<Url, Error> {
    let mut text = raw.to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    let url = Url::parse(&text)
        .map_err(|e| Error::config(format!("{api} endpoint {raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "{api} endpoint {raw:?} must be http or https"
        )));
    }
    Ok(url)
}
