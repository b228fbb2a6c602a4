//! Random fault profiles for one soak run: API error rates (429, 500, 503), one-shot long-running operation
//! failures, and latency spikes, as `/_emulator/faults` rules.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};

const APIS: &[&str] = &[
    "run",
    "compute",
    "networkservices",
    "dns",
    "cloudresourcemanager",
];
const CODES: &[u16] = &[429, 500, 503];
/// Calls that start an operation csmrun waits for.
pub const OPERATION_STARTS: &[(&str, &str)] = &[
    ("run", "services.create"),
    ("run", "services.patch"),
    ("run", "services.delete"),
    ("compute", "regionNetworkEndpointGroups.insert"),
    ("compute", "backendServices.insert"),
    ("compute", "backendServices.delete"),
    ("networkservices", "httpRoutes.create"),
    ("networkservices", "httpRoutes.patch"),
    ("networkservices", "httpRoutes.delete"),
];

/// One run's faults: the rules, and what they are, for the tally.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub rules: Vec<Value>,
    /// One-shot operation failures armed.
    pub operation_failures: usize,
    /// Latency rules armed.
    pub latency_rules: usize,
    /// Error-rate rules armed.
    pub error_rules: usize,
}

impl Profile {
    /// The body for `POST /_emulator/faults` (with a seed so `rate` draws are reproducible).
    pub fn body(&self, seed: u64) -> Value {
        json!({"rules": self.rules, "seed": seed})
    }
}

/// A profile: most runs get error rates and some latency; about a third also get an operation failure;
/// about one run in six is clean.
pub fn random_profile(rng: &mut StdRng) -> Profile {
    let mut p = Profile::default();
    if rng.random_bool(1.0 / 6.0) {
        return p;
    }
    for _ in 0..rng.random_range(1..=3) {
        let code = CODES.choose(rng).copied().unwrap_or(503);
        let rate = [0.05, 0.1, 0.2].choose(rng).copied().unwrap_or(0.1);
        let mut rule = json!({"code": code, "rate": rate});
        if rng.random_bool(0.6) {
            rule["api"] = json!(APIS.choose(rng).copied().unwrap_or("run"));
        }
        p.rules.push(rule);
        p.error_rules += 1;
    }
    if rng.random_bool(0.5) {
        let latency = ["500ms", "1s", "2s"].choose(rng).copied().unwrap_or("1s");
        p.rules.push(json!({"latency": latency, "rate": 0.1}));
        p.latency_rules += 1;
    }
    if rng.random_bool(0.35) {
        let (api, method) = OPERATION_STARTS
            .choose(rng)
            .copied()
            .unwrap_or(OPERATION_STARTS[0]);
        let code = [13, 14, 10].choose(rng).copied().unwrap_or(13);
        p.rules.push(json!({
            "api": api, "method": method, "times": 1,
            "operationError": {"code": code, "message": "Injected by the reliability campaign."}
        }));
        p.operation_failures += 1;
    }
    p
}
