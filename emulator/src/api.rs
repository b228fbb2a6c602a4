//! The five Google APIs the emulator serves and where each lives in its URL space.

use serde::Serialize;

/// One of the emulated REST APIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    Run,
    Compute,
    NetworkServices,
    Dns,
    ResourceManager,
}

impl Api {
    pub const ALL: [Api; 5] = [
        Api::Run,
        Api::Compute,
        Api::NetworkServices,
        Api::Dns,
        Api::ResourceManager,
    ];

    /// Short name used by fault rules and the state dump.
    pub fn name(self) -> &'static str {
        match self {
            Api::Run => "run",
            Api::Compute => "compute",
            Api::NetworkServices => "networkservices",
            Api::Dns => "dns",
            Api::ResourceManager => "cloudresourcemanager",
        }
    }

    /// The Google host name, used in ErrorInfo details and self links.
    pub fn host(self) -> &'static str {
        match self {
            Api::Run => "run.googleapis.com",
            Api::Compute => "compute.googleapis.com",
            Api::NetworkServices => "networkservices.googleapis.com",
            Api::Dns => "dns.googleapis.com",
            Api::ResourceManager => "cloudresourcemanager.googleapis.com",
        }
    }

    /// Parses the short name (as used in fault rules).
    pub fn from_name(name: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Compute and DNS answer errors in the older style with `errors[]` and reasons.
    pub fn legacy_errors(self) -> bool {
        matches!(self, Api::Compute | Api::Dns)
    }

    /// Splits an emulator path into the API and the path relative to the discovery document's root:
    /// the same mapping the conformance checker (`conformance.rs`) audits request logs with.
    pub fn route(path: &str) -> Option<(Api, String)> {
        const PREFIXES: [(&str, Api, &str); 5] = [
            ("/run/", Api::Run, ""),
            ("/compute/v1/", Api::Compute, ""),
            ("/networkservices/", Api::NetworkServices, ""),
            ("/dns/", Api::Dns, "dns/"),
            ("/cloudresourcemanager/", Api::ResourceManager, ""),
        ];
        PREFIXES.iter().find_map(|(prefix, api, replacement)| {
            path.strip_prefix(prefix)
                .map(|rest| (*api, format!("{replacement}{rest}")))
        })
    }
}
