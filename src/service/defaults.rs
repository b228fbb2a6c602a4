//! Defaults of the optional attributes of `csmrun_service`, in one place so schema, plan and docs agree.

use std::time::Duration;

pub const PORT: i64 = 8080;
pub const CPU: &str = "1";
pub const MEMORY: &str = "512Mi";
pub const MIN_INSTANCES: i64 = 0;
/// Cloud Run's own server default.
pub const MAX_INSTANCES: i64 = 100;
pub const INGRESS: &str = "internal";
pub const TRACE: bool = false;
/// The address of the wildcard record; never connected to (the sidecar intercepts by Host), any private IPv4 works.
pub const DNS_ADDRESS: &str = "10.0.0.1";
pub const DELETION_POLICY: &str = "DELETE";
/// Default of each of `timeouts.create`, `.update`, `.delete`.
pub const TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// Longest `timeouts.*`: a day, far beyond any Google operation, and far from any overflow of a deadline.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// TTL of the wildcard record (the guide's value).
pub const DNS_TTL: i64 = 3600;
