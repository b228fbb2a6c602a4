//! A route rule's action as the proxy applies it, read from the stored HTTPRoute JSON.
//!
//! Only what the proxy acts on is read; everything else in the action (CORS, mirroring, redirects, URL rewrites,
//! session affinity, idle timeout) is listed as not modelled in `emulator/FIDELITY.md`.

use crate::clock::parse_duration;
use chrono::Duration;
use serde_json::Value;

/// One weighted destination: the backend service reference as the route writes it.
#[derive(Clone, Debug)]
pub struct Destination {
    pub service_name: String,
    pub weight: Option<u64>,
    pub request_headers: HeaderModifier,
    pub response_headers: HeaderModifier,
}

/// `HttpRouteHeaderModifier`: set, add, remove.
#[derive(Clone, Debug, Default)]
pub struct HeaderModifier {
    pub set: Vec<(String, String)>,
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Delay {
    pub fixed: Duration,
    pub percent: f64,
}

#[derive(Clone, Debug)]
pub struct Abort {
    pub status: u16,
    pub percent: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Fault {
    pub delay: Option<Delay>,
    pub abort: Option<Abort>,
}

#[derive(Clone, Debug)]
pub struct Retry {
    pub conditions: Vec<String>,
    pub num_retries: u32,
    pub per_try_timeout: Option<Duration>,
}

/// The most retries one call makes, whatever the route says (each one is a full call to the workload).
pub const MAX_RETRIES: u32 = 10;

#[derive(Clone, Debug, Default)]
pub struct Action {
    pub destinations: Vec<Destination>,
    pub fault: Option<Fault>,
    pub retry: Option<Retry>,
    pub timeout: Option<Duration>,
    pub direct_response: Option<(u16, String)>,
    pub request_headers: HeaderModifier,
    pub response_headers: HeaderModifier,
}

fn duration(v: &Value) -> Option<Duration> {
    v.as_str().and_then(parse_duration)
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// The strings of a JSON array (none when it is absent or not an array).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn modifier(v: &Value) -> HeaderModifier {
    HeaderModifier {
        set: pairs(&v["set"]),
        add: pairs(&v["add"]),
        remove: strings(&v["remove"]),
    }
}

impl Action {
    pub fn parse(action: &Value) -> Action {
        let destinations = action["destinations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| {
                Some(Destination {
                    service_name: d["serviceName"].as_str()?.to_string(),
                    weight: number(&d["weight"]).map(|w| w.max(0.0) as u64),
                    request_headers: modifier(&d["requestHeaderModifier"]),
                    response_headers: modifier(&d["responseHeaderModifier"]),
                })
            })
            .collect();
        let f = &action["faultInjectionPolicy"];
        let fault = f.is_object().then(|| Fault {
            delay: f["delay"].is_object().then(|| Delay {
                fixed: duration(&f["delay"]["fixedDelay"]).unwrap_or_else(Duration::zero),
                percent: number(&f["delay"]["percentage"]).unwrap_or(0.0),
            }),
            abort: f["abort"].is_object().then(|| Abort {
                status: number(&f["abort"]["httpStatus"])
                    .map(|s| s.clamp(200.0, 599.0) as u16)
                    .unwrap_or(503),
                percent: number(&f["abort"]["percentage"]).unwrap_or(0.0),
            }),
        });
        let r = &action["retryPolicy"];
        let retry = r.is_object().then(|| Retry {
            conditions: strings(&r["retryConditions"]),
            // "If not specified, default to 1."
            num_retries: number(&r["numRetries"])
                .map(|n| n.clamp(0.0, f64::from(MAX_RETRIES)) as u32)
                .unwrap_or(1),
            per_try_timeout: duration(&r["perTryTimeout"]),
        });
        let direct = &action["directResponse"];
        let direct_response = direct.is_object().then(|| {
            let status = number(&direct["status"])
                .map(|s| s.clamp(100.0, 599.0) as u16)
                .unwrap_or(200);
            (
                status,
                direct["stringBody"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        });
        Action {
            destinations,
            fault,
            retry,
            timeout: duration(&action["timeout"]),
            direct_response,
            request_headers: modifier(&action["requestHeaderModifier"]),
            response_headers: modifier(&action["responseHeaderModifier"]),
        }
    }

    /// The destinations' weights as the proxy draws them: "If weights are unspecified for all services, then,
    /// traffic is distributed in equal proportions to all of them."
    pub fn weights(&self) -> Vec<u64> {
        if self.destinations.iter().all(|d| d.weight.is_none()) {
            return vec![1; self.destinations.len()];
        }
        self.destinations
            .iter()
            .map(|d| d.weight.unwrap_or(0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unweighted_destinations_split_equally_and_retries_default_to_one() {
        let a = Action::parse(&json!({
            "destinations": [{"serviceName": "a"}, {"serviceName": "b"}],
            "retryPolicy": {"retryConditions": ["5xx"]},
            "timeout": "2.5s"
        }));
        assert_eq!(a.weights(), vec![1, 1]);
        let retry = a.retry.unwrap();
        assert_eq!(retry.num_retries, 1);
        assert_eq!(a.timeout, Some(Duration::milliseconds(2500)));
    }
}
