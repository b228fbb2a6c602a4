//! Fault injection: per API and method error rates and codes, one-shot failures, operation failures, latency.
//!
//! An injected error can carry any status, rpc status, reason, domain and message, rendered in the answering
//! API's envelope (`errors[]` for Compute and Cloud DNS, google.rpc.Status with an ErrorInfo detail for the others),
//! so a test can replay what Google sends, e.g. Compute's 403 `rateLimitExceeded` whose ErrorInfo says
//! `CONCURRENT_OPERATIONS_QUOTA_EXCEEDED`. Rules naming an API or method the discovery documents do not have are
//! refused, since such a rule would silently never fire.

use crate::api::Api;
use crate::clock::parse_duration;
use crate::error::ApiError;
use crate::operations::OpError;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{json, Value};

/// One fault rule as posted to `/_emulator/faults`.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize, PartialEq)]
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
    /// Overrides the google.rpc status name (`RESOURCE_EXHAUSTED`); default from `code`.
    #[serde(default)]
    pub status: Option<String>,
    /// Overrides the reason: `errors[].reason` for Compute and Cloud DNS, the ErrorInfo `reason` for the others.
    #[serde(default)]
    pub reason: Option<String>,
    /// Overrides the domain: `errors[].domain` for Compute and Cloud DNS, the ErrorInfo `domain` for the others.
    #[serde(default)]
    pub domain: Option<String>,
    /// Adds a google.rpc.ErrorInfo detail (any API): Compute sends one beside `errors[]` for some quota errors.
    #[serde(default)]
    pub error_info: Option<ErrorInfoFault>,
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

/// An injected `google.rpc.ErrorInfo`; `domain` defaults to the API's host.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorInfoFault {
    pub reason: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
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
    /// Adds rules after checking them; nothing is added when one is refused.
    pub fn add(&mut self, rules: Vec<Rule>) -> Result<(), String> {
        for r in &rules {
            check(r)?;
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
                    decision.error = Some(shaped(api, error_for(api, code, None), &rule));
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

/// The longest reason, domain or metadata text a rule may carry.
const MAX_TOKEN: usize = 128;

fn check(r: &Rule) -> Result<(), String> {
    let api = match &r.api {
        Some(name) => Some(Api::from_name(name).ok_or_else(|| {
            format!(
                "unknown api '{name}' (one of {})",
                Api::ALL.map(Api::name).join(", ")
            )
        })?),
        None => None,
    };
    if let Some(method) = &r.method {
        check_method(api, method)?;
    }
    if let Some(l) = &r.latency {
        if parse_duration(l).is_none() {
            return Err(format!("bad latency '{l}'"));
        }
    }
    if r.code.is_none() && r.latency.is_none() && r.operation_error.is_none() {
        return Err("a rule needs code, latency or operationError".into());
    }
    if let Some(code) = r.code {
        if !(400..=599).contains(&code) {
            return Err(format!("code {code} is not an HTTP error status (400-599)"));
        }
    }
    let shapes_error = r.status.is_some()
        || r.reason.is_some()
        || r.domain.is_some()
        || r.error_info.is_some()
        || r.message.is_some();
    if shapes_error && r.code.is_none() {
        return Err(
            "status, reason, domain, message and errorInfo shape an error: the rule needs a code"
                .into(),
        );
    }
    if let Some(status) = &r.status {
        if static_status(status).is_none() {
            return Err(format!(
                "status '{status}' is not a google.rpc.Code name (e.g. RESOURCE_EXHAUSTED, PERMISSION_DENIED)"
            ));
        }
    }
    let info = r.error_info.as_ref();
    let tokens = [
        ("reason", r.reason.as_deref()),
        ("domain", r.domain.as_deref()),
        ("errorInfo.reason", info.map(|i| i.reason.as_str())),
        ("errorInfo.domain", info.and_then(|i| i.domain.as_deref())),
    ];
    for (field, value) in tokens {
        if let Some(v) = value {
            let ok = !v.is_empty()
                && v.len() <= MAX_TOKEN
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !ok {
                return Err(format!(
                    "{field} {v:?} must be 1 to {MAX_TOKEN} letters, digits, underscores, dots or hyphens"
                ));
            }
        }
    }
    for (k, v) in info.and_then(|i| i.metadata.as_ref()).into_iter().flatten() {
        if k.len() > MAX_TOKEN || v.len() > MAX_TOKEN {
            return Err(format!(
                "errorInfo.metadata entries are at most {MAX_TOKEN} characters"
            ));
        }
    }
    Ok(())
}

/// A rule's `method` must be a discovery method id, or a suffix of one after a dot, of its API (of any API when
/// the rule names none): what [`Faults::decide`] matches.
fn check_method(api: Option<Api>, method: &str) -> Result<(), String> {
    let apis: Vec<Api> = match api {
        Some(a) => vec![a],
        None => Api::ALL.to_vec(),
    };
    let names = |a: Api| {
        crate::discovery::document(a)
            .methods
            .iter()
            .map(|m| m.id.as_str())
    };
    let matches = |id: &str| id == method || id.ends_with(&format!(".{method}"));
    if apis.iter().any(|a| names(*a).any(matches)) {
        return Ok(());
    }
    // Suggest methods with the same verb whose collection name is close (a missing `region`, a singular).
    let verb = method.rsplit('.').next().unwrap_or(method);
    let stem = method
        .split('.')
        .rev()
        .nth(1)
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut near: Vec<&str> = apis
        .iter()
        .flat_map(|a| names(*a))
        .filter(|id| {
            let mut parts = id.rsplit('.');
            parts.next() == Some(verb)
                && parts.next().is_some_and(|c| {
                    let c = c.to_ascii_lowercase();
                    !stem.is_empty() && (c.contains(&stem) || stem.contains(&c))
                })
        })
        .collect();
    near.truncate(5);
    let scope = match api {
        Some(a) => format!("the {} discovery document", a.name()),
        None => "any discovery document".to_string(),
    };
    let hint = if near.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", near.join(", "))
    };
    Err(format!(
        "method '{method}' is not a method of {scope}{hint}; such a rule would never fire"
    ))
}

/// The `&'static` google.rpc.Code name equal to `name`.
fn static_status(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.into_iter().find(|n| *n == name)
}

/// A `&'static str` for a checked reason or domain: each distinct text is stored once, so repeated rules do not
/// grow memory, and [`ApiError`] keeps its static fields.
fn intern(text: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(s) = seen.get(text) {
        return s;
    }
    let s: &'static str = Box::leak(text.to_string().into_boxed_str());
    seen.insert(s);
    s
}

/// `base` with what the rule overrides, in `api`'s envelope.
fn shaped(api: Api, base: ApiError, rule: &Rule) -> ApiError {
    let mut e = base;
    if let Some(m) = &rule.message {
        e.message = m.clone();
    }
    if let Some(status) = rule.status.as_deref().and_then(static_status) {
        e.status = status;
    }
    if api.legacy_errors() {
        if let Some(r) = &rule.reason {
            e.reason = intern(r);
        }
        if let Some(d) = &rule.domain {
            e.domain = intern(d);
        }
    } else if rule.reason.is_some() || rule.domain.is_some() {
        // google.rpc.Status has no `errors[]`: the reason travels in an ErrorInfo (AIP-193).
        let reason = rule.reason.clone().unwrap_or_else(|| e.reason.to_string());
        e = e.with_detail(error_info(api, &reason, rule.domain.as_deref(), None));
    }
    if let Some(info) = &rule.error_info {
        e = e.with_detail(error_info(
            api,
            &info.reason,
            info.domain.as_deref(),
            info.metadata.as_ref(),
        ));
    }
    e
}

fn error_info(
    api: Api,
    reason: &str,
    domain: Option<&str>,
    metadata: Option<&std::collections::BTreeMap<String, String>>,
) -> Value {
    let metadata = match metadata {
        Some(m) => json!(m),
        None => json!({"service": api.host()}),
    };
    json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": domain.unwrap_or(api.host()),
        "metadata": metadata,
    })
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
            status: None,
            reason: None,
            domain: None,
            error_info: None,
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
