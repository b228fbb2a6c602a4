//! What answers a call that reached a Cloud Run service: by default a built-in workload that says who served it
//! (and can call onwards), or a real local process the developer points the service at. Either can be told to
//! fail a share of calls or to answer late, for resilience tests.

use crate::clock::parse_duration;
use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Value};

/// How an injected workload failure shows to the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailKind {
    /// The workload answers `failStatus`.
    Status,
    /// Nothing accepts the connection (retry condition `connect-failure`).
    ConnectFailure,
    /// The connection is reset before an answer (retry condition `reset`).
    Reset,
}

/// One service's workload settings.
#[derive(Clone, Debug)]
pub struct Workload {
    pub service: String,
    pub project: Option<String>,
    pub region: Option<String>,
    /// `http://127.0.0.1:PORT` of a real local process, or None for the built-in workload.
    pub upstream: Option<url::Url>,
    pub fail_percent: f64,
    pub fail_status: u16,
    pub fail_kind: FailKind,
    pub latency: Duration,
}

impl Workload {
    fn matches(&self, name: &str, project: &str, region: &str) -> bool {
        self.service == name
            && self.project.as_deref().is_none_or(|p| p == project)
            && self.region.as_deref().is_none_or(|r| r == region)
    }

    fn specificity(&self) -> u8 {
        u8::from(self.project.is_some()) + u8::from(self.region.is_some())
    }

    pub fn render(&self) -> Value {
        json!({
            "service": self.service, "project": self.project, "region": self.region,
            "upstream": self.upstream.as_ref().map(|u| u.as_str().trim_end_matches('/').to_string()),
            "failPercent": self.fail_percent, "failStatus": self.fail_status,
            "failKind": match self.fail_kind {
                FailKind::Status => "status", FailKind::ConnectFailure => "connect-failure", FailKind::Reset => "reset",
            },
            "latency": format!("{}s", self.latency.num_milliseconds() as f64 / 1000.0),
        })
    }
}

/// `POST /_emulator/workloads` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadBody {
    pub service: String,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub upstream: Option<String>,
    #[serde(default)]
    pub fail_percent: Option<f64>,
    #[serde(default)]
    pub fail_status: Option<u16>,
    #[serde(default)]
    pub fail_kind: Option<FailKind>,
    #[serde(default)]
    pub latency: Option<String>,
}

/// The longest latency a workload can be given (the proxy bounds every call anyway).
const MAX_LATENCY_SECS: i64 = 3600;

/// Checks an upstream URL: plain HTTP to this machine only, so the proxy cannot be turned into a relay to
/// other hosts.
pub fn check_upstream(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("upstream '{text}': {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() != "http" || !loopback || url.port().is_none() {
        return Err(format!(
            "upstream '{text}': give a local process as http://127.0.0.1:PORT (plain HTTP on a loopback \
             address with an explicit port)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(format!(
            "upstream '{text}': no user, password or query; the path of each call is appended to it"
        ));
    }
    Ok(url)
}

impl WorkloadBody {
    pub fn into_workload(self) -> Result<Workload, String> {
        if self.service.is_empty() || self.service.len() > 63 || self.service.contains('/') {
            return Err(format!(
                "service '{}': give the Cloud Run service name",
                self.service
            ));
        }
        let upstream = self.upstream.as_deref().map(check_upstream).transpose()?;
        let fail_percent = self.fail_percent.unwrap_or(0.0);
        if !(0.0..=100.0).contains(&fail_percent) {
            return Err(format!(
                "failPercent: {fail_percent} is out of range; give 0 to 100"
            ));
        }
        let fail_status = self.fail_status.unwrap_or(503);
        if !(200..=599).contains(&fail_status) {
            return Err(format!(
                "failStatus: {fail_status} is out of range; give 200 to 599"
            ));
        }
        let latency = match &self.latency {
            None => Duration::zero(),
            Some(text) => match parse_duration(text) {
                Some(d) if d >= Duration::zero() && d <= Duration::seconds(MAX_LATENCY_SECS) => d,
                _ => {
                    return Err(format!(
                        "latency: '{text}' is not a duration from 0s to {MAX_LATENCY_SECS}s"
                    ))
                }
            },
        };
        Ok(Workload {
            service: self.service,
            project: self.project,
            region: self.region,
            upstream,
            fail_percent,
            fail_status,
            fail_kind: self.fail_kind.unwrap_or(FailKind::Status),
            latency,
        })
    }
}

/// The most workload entries kept.
pub const MAX_WORKLOADS: usize = 1000;

/// Every workload setting, by service.
#[derive(Debug, Default)]
pub struct Workloads {
    entries: Vec<Workload>,
}

impl Workloads {
    /// Adds or replaces the entry for the same service, project and region.
    pub fn set(&mut self, w: Workload) -> Result<(), String> {
        self.entries.retain(|e| {
            !(e.service == w.service && e.project == w.project && e.region == w.region)
        });
        if self.entries.len() >= MAX_WORKLOADS {
            return Err(format!(
                "at most {MAX_WORKLOADS} workload settings; DELETE /_emulator/workloads clears them"
            ));
        }
        self.entries.push(w);
        Ok(())
    }

    /// The most specific entry for a service.
    pub fn find(&self, name: &str, project: &str, region: &str) -> Option<&Workload> {
        self.entries
            .iter()
            .filter(|e| e.matches(name, project, region))
            .max_by_key(|e| e.specificity())
    }

    pub fn render(&self) -> Value {
        Value::Array(self.entries.iter().map(Workload::render).collect())
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_are_local_plain_http_with_a_port() {
        assert!(check_upstream("http://127.0.0.1:8080").is_ok());
        assert!(check_upstream("http://localhost:8080/base").is_ok());
        assert!(check_upstream("http://[::1]:9").is_ok());
        for bad in [
            "https://127.0.0.1:8080",
            "http://10.0.0.1:8080",
            "http://example.com:80",
            "http://127.0.0.1",
            "http://u:p@127.0.0.1:1",
            "file:///etc/passwd",
        ] {
            assert!(check_upstream(bad).is_err(), "{bad}");
        }
    }
}
