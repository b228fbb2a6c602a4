//! Fault injection: per API and method error rates and codes, one-shot failures, operation failures, latency.

use crate::api::Api;
use crate::clock::parse_duration;
use crate::error::ApiError;
use crate::operations::OpError;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{json, Value};

/// One fault rule as posted to `/_emulator/faults`.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// `run`, `compute`, `networkservices`, `dns`, `cloudresourcemanager`; absent = every API.
    #[serde(default)]
    pub api: Option<String>,
    /// Discovery method id, or a suffix of it (`services.create`); absent = every method.
    #[serde(default)]
    pub method: Option<String>,
    /// Probability that a matching request is hit, 0..1 (default 1).
    #[serde(default)]
    pub rate: Option<f64>,
    /// HTTP status to answer: 429, 500, 503 or 403 (Compute/DNS `rateLimitExceeded`), or any other.
    #[serde(default)]
    pub code: Option<u16>,
    /// Overrides the error message.
    #[serde(default)]
    pub message: Option<String>,
    /// How many hits before the rule is spent (1 = one-shot); absent = unlimited.
    #[serde(default)]
    pub times: Option<u32>,
    /// Added latency before answering, e.g. `"2s"`.
    #[serde(default)]
    pub latency: Option<String>,
    /// Makes the operation started by a matching request fail with this rpc code and message.
    #[serde(default)]
    pub operation_error: Option<OperationFault>,
}

/// An injected operation failure.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationFault {
    pub code: i64,
    #[serde(default)]
    pub message: Option<String>,
}

/// What the fault layer decided for one request.
#[derive(Debug, Default)]
pub struct Decision {
    pub latency: Option<std::time::Duration>,
    pub error: Option<ApiError>,
    pub operation_error: Option<OpError>,
}

/// The active rules.
#[derive(Debug)]
pub struct Faults {
    rules: Vec<Rule>,
    rng: StdRng,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rules: Vec::new(),
            rng: StdRng::seed_from_u64(0),
        }
    }
}

impl Faults {
    /// Adds rules after checking them.
    pub fn add(&mut self, rules: Vec<Rule>) -> Result<(), String> {
        for r in &rules {
            if let Some(api) = &r.api {
                if Api::from_name(api).is_none() {
                    return Err(format!("unknown api '{api}'"));
                }
            }
            if let Some(l) = &r.latency {
                if parse_duration(l).is_none() {
                    return Err(format!("bad latency '{l}'"));
                }
            }
            if r.code.is_none() && r.latency.is_none() && r.operation_error.is_none() {
                return Err("a rule needs code, latency or operationError".into());
            }
        }
        self.rules.extend(rules);
        Ok(())
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Fixes the random sequence used for `rate` (deterministic runs).
    pub fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    pub fn dump(&self) -> Value {
        json!(self.rules)
    }

    /// Applies the first matching rules to a request; spends `times`.
    pub fn decide(&mut self, api: Api, method_id: &str) -> Decision {
        let mut decision = Decision::default();
        let mut index = 0;
        while index < self.rules.len() {
            let rule = &self.rules[index];
            let api_matches = rule.api.as_deref().is_none_or(|a| a == api.name());
            let method_matches = rule
                .method
                .as_deref()
                .is_none_or(|m| method_id == m || method_id.ends_with(&format!(".{m}")));
            if !(api_matches && method_matches) {
                index += 1;
                continue;
            }
            let rate = rule.rate.unwrap_or(1.0);
            if rate < 1.0 && self.rng.random::<f64>() >= rate {
                index += 1;
                continue;
            }
            let rule = rule.clone();
            if let Some(l) = rule.latency.as_deref().and_then(parse_duration) {
                decision.latency = l.to_std().ok();
            }
            if decision.error.is_none() {
                if let Some(code) = rule.code {
                    decision.error = Some(error_for(api, code, rule.message.clone()));
                }
            }
            if decision.operation_error.is_none() {
                if let Some(op) = &rule.operation_error {
                    let (status, _) = crate::error::rpc_status(op.code);
                    let message = op
                        .message
                        .clone()
                        .unwrap_or_else(|| format!("Injected operation failure ({status})."));
                    decision.operation_error = Some(OpError::new(op.code, message));
                }
            }
            match rule.times {
                Some(1) => {
                    self.rules.remove(index);
                }
                Some(n) => {
                    self.rules[index].times = Some(n - 1);
                    index += 1;
                }
                None => index += 1,
            }
        }
        decision
    }
}

/// The error Google would send for an injected status code, in the API's style.
pub fn error_for(api: Api, code: u16, message: Option<String>) -> ApiError {
    let e = match code {
        429 => ApiError::new(429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", format!(
            "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service '{}'.",
            api.host()
        ))
        .with_domain("usageLimits"),
        403 if api.legacy_errors() => {
            ApiError::new(403, "PERMISSION_DENIED", "rateLimitExceeded", "Rate Limit Exceeded").with_domain("usageLimits")
        }
        403 => ApiError::permission_denied("The caller does not have permission"),
        500 => ApiError::new(500, "INTERNAL", "backendError", "Internal error encountered."),
        502 => ApiError::new(502, "UNAVAILABLE", "backendError", "Bad Gateway"),
        503 => ApiError::new(503, "UNAVAILABLE", "backendError", "The service is currently unavailable."),
        504 => ApiError::new(504, "DEADLINE_EXCEEDED", "backendError", "The request timed out."),
        404 => ApiError::not_found("Requested entity was not found."),
        409 => ApiError::aborted("The operation was aborted."),
        400 => ApiError::invalid_argument("Request contains an invalid argument."),
        other => ApiError::new(other, "UNKNOWN", "backendError", "Injected failure."),
    };
    match message {
        Some(m) => ApiError { message: m, ..e },
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(code: u16, times: Option<u32>) -> Rule {
        Rule {
            api: Some("run".into()),
            method: Some("services.create".into()),
            rate: None,
            code: Some(code),
            message: None,
            times,
            latency: None,
            operation_error: None,
        }
    }

    #[test]
    fn one_shot_rule_fires_once() {
        let mut f = Faults::default();
        f.add(vec![rule(503, Some(1))]).unwrap();
        assert!(f
            .decide(Api::Run, "run.projects.locations.services.create")
            .error
            .is_some());
        assert!(f
            .decide(Api::Run, "run.projects.locations.services.create")
            .error
            .is_none());
    }

    #[test]
    fn rule_for_other_method_does_not_fire() {
        let mut f = Faults::default();
        f.add(vec![rule(500, None)]).unwrap();
        assert!(f
            .decide(Api::Run, "run.projects.locations.services.get")
            .error
            .is_none());
    }
}
