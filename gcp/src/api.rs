//! Which Google Cloud API a call or an error belongs to.

use std::fmt;

/// The five APIs csmrun talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Api {
    Run,
    Compute,
    NetworkServices,
    Dns,
    ResourceManager,
}

impl Api {
    /// All APIs, in a fixed order.
    pub const ALL: [Api; 5] = [
        Api::Run,
        Api::Compute,
        Api::NetworkServices,
        Api::Dns,
        Api::ResourceManager,
    ];

    /// The name people know the API by, used in error messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Api::Run => "Cloud Run",
            Api::Compute => "Compute",
            Api::NetworkServices => "Network Services",
            Api::Dns => "Cloud DNS",
            Api::ResourceManager => "Resource Manager",
        }
    }

    /// Whether this API reports rate limits as 403 with a `rateLimitExceeded` reason (the older discovery style).
    pub(crate) fn uses_403_rate_limits(self) -> bool {
        matches!(self, Api::Compute | Api::Dns)
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}
