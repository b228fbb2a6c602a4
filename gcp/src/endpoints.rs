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
        let url =
            Url::parse(&joined).map_err(|e| Error::config(format!("bad URL {joined}: {e}")))?;
        // Names are encoded one segment each (`crate::path::seg`); a path the parser would still rewrite (a `.` or
        // `..` segment) or that carries a query or fragment would reach another resource than the one named.
        if crate::path::has_dot_segment(path) || url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(format!(
                "refusing to send a request for {path:?}: a name in it is `.` or `..`, or holds `?` or `#`; \
                 names must be single path segments"
            )));
        }
        Ok(url)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_googles_base_urls() {
        let e = Endpoints::resolve(&CustomEndpoints::default(), None).unwrap();
        for api in Api::ALL {
            assert_eq!(e.base(api).as_str(), default_base(api));
        }
        assert_eq!(
            e.url(Api::Compute, "projects/p/global/backendServices/b")
                .unwrap()
                .as_str(),
            "https://compute.googleapis.com/compute/v1/projects/p/global/backendServices/b"
        );
    }

    #[test]
    fn the_emulator_host_maps_every_api_to_its_prefix() {
        let e = Endpoints::resolve(&CustomEndpoints::default(), Some("127.0.0.1:8089")).unwrap();
        let got: Vec<&str> = Api::ALL.iter().map(|a| e.base(*a).as_str()).collect();
        assert_eq!(
            got,
            [
                "http://127.0.0.1:8089/run/v2/",
                "http://127.0.0.1:8089/compute/v1/",
                "http://127.0.0.1:8089/networkservices/v1/",
                "http://127.0.0.1:8089/dns/v1/",
                "http://127.0.0.1:8089/cloudresourcemanager/v1/",
            ]
        );
    }

    #[test]
    fn explicit_custom_endpoints_win_over_the_emulator_and_gain_a_slash() {
        let custom = CustomEndpoints {
            dns: Some("https://dns.example.test/dns/v1".into()),
            ..Default::default()
        };
        let e = Endpoints::resolve(&custom, Some("localhost:1")).unwrap();
        assert_eq!(
            e.base(Api::Dns).as_str(),
            "https://dns.example.test/dns/v1/"
        );
        assert_eq!(e.base(Api::Run).as_str(), "http://localhost:1/run/v2/");
        assert_eq!(
            e.url(Api::Dns, "projects/p/managedZones/z")
                .unwrap()
                .as_str(),
            "https://dns.example.test/dns/v1/projects/p/managedZones/z"
        );
    }

    #[test]
    fn a_bad_custom_endpoint_is_a_config_error_naming_the_api() {
        let custom = CustomEndpoints {
            run: Some("ftp://x/".into()),
            ..Default::default()
        };
        let err = Endpoints::resolve(&custom, None).unwrap_err();
        assert!(err.message().contains("Cloud Run endpoint"), "{err}");
        let custom = CustomEndpoints {
            compute: Some("not a url".into()),
            ..Default::default()
        };
        assert!(Endpoints::resolve(&custom, None).is_err());
    }

    #[test]
    fn blank_values_count_as_unset() {
        let custom = CustomEndpoints {
            run: Some("  ".into()),
            ..Default::default()
        };
        let e = Endpoints::resolve(&custom, Some(" ")).unwrap();
        assert_eq!(e.base(Api::Run).as_str(), default_base(Api::Run));
    }
}
