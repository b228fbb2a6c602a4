//! Typed configuration, plan and state of `csmrun_service` (PRODUCT §6); one struct serves all three.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::val::Val;

/// The whole `csmrun_service` object. Attribute names are the schema's names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceModel {
    pub id: Val<String>,
    pub name: Val<String>,
    pub project: Val<String>,
    pub region: Val<String>,
    pub image: Val<String>,
    pub mesh: Val<String>,
    pub domain: Val<String>,
    pub network: Val<String>,
    pub subnetwork: Val<String>,
    pub service_account: Val<String>,
    pub hostname: Val<String>,
    pub port: Val<i64>,
    pub env: Val<BTreeMap<String, Val<String>>>,
    pub cpu: Val<String>,
    pub memory: Val<String>,
    pub min_instances: Val<i64>,
    pub max_instances: Val<i64>,
    pub ingress: Val<String>,
    pub invokers: Val<Vec<Val<String>>>,
    pub trace: Val<bool>,
    pub labels: Val<BTreeMap<String, Val<String>>>,
    pub dns_address: Val<String>,
    pub deletion_policy: Val<String>,
    pub neg_name: Val<String>,
    pub backend_service_name: Val<String>,
    pub route_name: Val<String>,
    pub dns_zone_name: Val<String>,
    pub route: Vec<RouteBlock>,
    pub circuit_breaker: Vec<CircuitBreakerBlock>,
    pub outlier_detection: Vec<OutlierDetectionBlock>,
    pub timeouts: Option<TimeoutsBlock>,
    // Read-only.
    pub uri: Val<String>,
    pub url: Val<String>,
    pub latest_ready_revision: Val<String>,
    pub backend_service: Val<String>,
    pub neg: Val<String>,
    pub http_route: Val<String>,
    pub dns_zone: Val<String>,
    pub effective_labels: Val<BTreeMap<String, Val<String>>>,
}

/// `route { ... }`: the HTTPRoute's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteBlock {
    pub timeout: Val<String>,
    pub weight: Val<i64>,
    pub retry: Vec<RetryBlock>,
    pub fault_injection: Vec<FaultInjectionBlock>,
    pub destination: Vec<DestinationBlock>,
    pub rule: Vec<RuleBlock>,
}

/// `route.retry { ... }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetryBlock {
    pub attempts: Val<i64>,
    pub per_try_timeout: Val<String>,
    pub conditions: Val<Vec<Val<String>>>,
}

/// `route.fault_injection { ... }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultInjectionBlock {
    pub delay: Val<String>,
    pub delay_percent: Val<i64>,
    pub abort_status: Val<i64>,
    pub abort_percent: Val<i64>,
}

/// `destination { ... }`: an extra weighted backend service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DestinationBlock {
    pub backend_service: Val<String>,
    pub weight: Val<i64>,
}

/// `route.rule { ... }`: a match evaluated before the default split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleBlock {
    pub path_prefix: Val<String>,
    pub header: Vec<HeaderBlock>,
    pub destination: Vec<DestinationBlock>,
}

/// `route.rule.header { ... }`: exactly one of `exact`, `prefix`, `regex`, `present`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeaderBlock {
    pub name: Val<String>,
    pub exact: Val<String>,
    pub prefix: Val<String>,
    pub regex: Val<String>,
    pub present: Val<bool>,
}

/// `circuit_breaker { ... }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CircuitBreakerBlock {
    pub max_requests: Val<i64>,
    pub max_pending_requests: Val<i64>,
    pub max_connections: Val<i64>,
    pub max_retries: Val<i64>,
}

/// `outlier_detection { ... }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutlierDetectionBlock {
    pub consecutive_errors: Val<i64>,
    pub interval: Val<String>,
    pub base_ejection_time: Val<String>,
    pub max_ejection_percent: Val<i64>,
}

/// `timeouts { ... }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeoutsBlock {
    pub create: Val<String>,
    pub update: Val<String>,
    pub delete: Val<String>,
}
