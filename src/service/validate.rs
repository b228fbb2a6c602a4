//! Plan-time validation of every `csmrun_service` input, without the network; unknown values are skipped.

use std::net::Ipv4Addr;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use super::duration;
use super::model::{
    CircuitBreakerBlock, DestinationBlock, FaultInjectionBlock, HeaderBlock, OutlierDetectionBlock,
    RouteBlock, RuleBlock, ServiceModel, TimeoutsBlock,
};
use super::names;
use super::path::FieldPath;
use super::val::Val;

/// One invalid input: where it is, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: FieldPath,
    pub summary: String,
    pub detail: String,
}

/// Values of `ingress`.
pub const INGRESS_VALUES: [&str; 3] = ["internal", "internal-and-cloud-load-balancing", "all"];
/// Values of `deletion_policy`.
pub const DELETION_POLICIES: [&str; 3] = ["DELETE", "PREVENT", "ABANDON"];
/// Values of `route.retry.conditions` (HTTPRoute `retryConditions`).
pub const RETRY_CONDITIONS: [&str; 13] = [
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];
/// Ports the injected Envoy sidecar listens on; the container cannot use them.
const SIDECAR_PORTS: [i64; 9] = [
    15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15090,
];
/// Cloud Run's memory range.
const MIN_MEMORY: u64 = 128 << 20;
const MAX_MEMORY: u64 = 32 << 30;

static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    let host = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?";
    let component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    let tag = r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?";
    let digest = r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?";
    Regex::new(&format!(
        "^{host}{component}(?:/{component})*{tag}{digest}$"
    ))
    .expect("static regex")
});
static EMAIL_LOCAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$").expect("static regex")
});
static SERVICE_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9][a-z0-9._-]{0,62}@[a-z0-9][a-z0-9.-]*\.gserviceaccount\.com$")
        .expect("static regex")
});
static LABEL_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\p{Ll}[\p{Ll}\p{Lo}\p{N}_-]{0,62}$").expect("static regex"));
static LABEL_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$").expect("static regex"));
static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$").expect("static regex"));
static HEADER_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$").expect("static regex"));

/// Validates a whole configuration; returns every problem found (empty = valid as far as can be known).
pub fn validate(m: &ServiceModel) -> Vec<Problem> {
    let mut v = Validator::default();
    v.top_level(m);
    for (i, r) in m.route.iter().enumerate() {
        v.route(&FieldPath::attr("route").index(i), r);
    }
    if m.route.len() > 1 {
        v.err(
            FieldPath::attr("route"),
            "Too many route blocks",
            "Write at most one `route` block.",
        );
    }
    for (i, cb) in m.circuit_breaker.iter().enumerate() {
        v.circuit_breaker(&FieldPath::attr("circuit_breaker").index(i), cb);
    }
    for (i, od) in m.outlier_detection.iter().enumerate() {
        v.outlier_detection(&FieldPath::attr("outlier_detection").index(i), od);
    }
    if let Some(t) = &m.timeouts {
        v.timeouts(t);
    }
    v.problems
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn err(&mut self, path: FieldPath, summary: &str, detail: impl Into<String>) {
        self.problems.push(Problem {
            path,
            summary: summary.to_string(),
            detail: detail.into(),
        });
    }

    /// Applies `check` to a known string; the error text follows "`<path>` ".
    fn string(
        &mut self,
        path: FieldPath,
        val: &Val<String>,
        summary: &str,
        check: impl Fn(&str) -> Result<(), String>,
    ) {
        if let Val::Known(s) = val {
            if let Err(e) = check(s) {
                let detail = format!("`{path}` = {s:?} {e}.");
                self.err(path, summary, detail);
            }
        }
    }

    fn int_range(&mut self, path: FieldPath, val: &Val<i64>, lo: i64, hi: i64, what: &str) {
        if let Val::Known(n) = val {
            if *n < lo || *n > hi {
                let detail = format!(
                    "`{path}` = {n} is out of range: {what} must be between {lo} and {hi}."
                );
                self.err(path, "Value out of range", detail);
            }
        }
    }

    fn duration(
        &mut self,
        path: FieldPath,
        val: &Val<String>,
        allow_zero: bool,
    ) -> Option<Duration> {
        let Val::Known(s) = val else { return None };
        match duration::parse(s) {
            Ok(d) if d.is_zero() && !allow_zero => {
                let detail = format!("`{path}` must be longer than zero.");
                self.err(path, "Invalid duration", detail);
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                let detail = format!(
                    "`{path}`: {e}. Write a duration such as \"10s\", \"1.5s\" or \"20m\"."
                );
                self.err(path, "Invalid duration", detail);
                None
            }
        }
    }

    fn one_of(&mut self, path: FieldPath, val: &Val<String>, allowed: &[&str]) {
        if let Val::Known(s) = val {
            if !allowed.contains(&s.as_str()) {
                let detail = format!("`{path}` = {s:?} is not one of: {}.", allowed.join(", "));
                self.err(path, "Unsupported value", detail);
            }
        }
    }

    fn required(&mut self, path: FieldPath, val: &Val<String>) {
        if val.is_null() {
            let detail = format!("`{path}` is required and cannot be null.");
            self.err(path, "Missing required attribute", detail);
        }
    }

    fn top_level(&mut self, m: &ServiceModel) {
        let a = FieldPath::attr;
        for (name, val) in [
            ("name", &m.name),
            ("image", &m.image),
            ("mesh", &m.mesh),
            ("domain", &m.domain),
            ("network", &m.network),
            ("subnetwork", &m.subnetwork),
            ("service_account", &m.service_account),
        ] {
            self.required(a(name), val);
        }
        self.string(
            a("name"),
            &m.name,
            "Invalid service name",
            names::check_service_name,
        );
        self.string(
            a("project"),
            &m.project,
            "Invalid project ID",
            check_project,
        );
        self.string(a("region"), &m.region, "Invalid region", check_region);
        self.string(a("image"), &m.image, "Invalid container image", check_image);
        self.string(a("mesh"), &m.mesh, "Invalid mesh reference", |s| {
            names::parse_ref(s, "meshes", &["locations/global"]).map(|_| ())
        });
        self.string(
            a("domain"),
            &m.domain,
            "Invalid domain",
            names::check_dns_name,
        );
        self.string(a("network"), &m.network, "Invalid network reference", |s| {
            names::parse_ref(s, "networks", &["global"]).map(|_| ())
        });
        self.string(
            a("subnetwork"),
            &m.subnetwork,
            "Invalid subnetwork reference",
            |s| names::parse_ref(s, "subnetworks", &["regions/*"]).map(|_| ()),
        );
        self.subnetwork_region(m);
        self.string(
            a("service_account"),
            &m.service_account,
            "Invalid service account",
            check_service_account,
        );
        self.hostname(m);
        self.default_zone_name(m);
        if let Val::Known(p) = &m.port {
            if !(1..=65535).contains(p) {
                self.int_range(a("port"), &m.port, 1, 65535, "a TCP port");
            } else if SIDECAR_PORTS.contains(p) {
                let detail = format!(
                    "`port` = {p} is used by the mesh sidecar (Envoy reserves 15000-15090 ports such as 15001 and \
                     15020). Let the container listen on another port, e.g. 8080."
                );
                self.err(a("port"), "Port reserved by the mesh sidecar", detail);
            }
        }
        self.env(m);
        self.resources(m);
        self.instances(m);
        self.one_of(a("ingress"), &m.ingress, &INGRESS_VALUES);
        self.invokers(m);
        self.labels(m);
        self.string(
            a("dns_address"),
            &m.dns_address,
            "Invalid DNS address",
            check_dns_address,
        );
        self.one_of(a("deletion_policy"), &m.deletion_policy, &DELETION_POLICIES);
        for (name, val) in [
            ("neg_name", &m.neg_name),
            ("backend_service_name", &m.backend_service_name),
            ("route_name", &m.route_name),
            ("dns_zone_name", &m.dns_zone_name),
        ] {
            self.string(a(name), val, "Invalid part name", names::check_part_name);
        }
        for ro in [
            ("id", &m.id),
            ("uri", &m.uri),
            ("url", &m.url),
            ("latest_ready_revision", &m.latest_ready_revision),
            ("backend_service", &m.backend_service),
            ("neg", &m.neg),
            ("http_route", &m.http_route),
            ("dns_zone", &m.dns_zone),
        ] {
            if matches!(ro.1, Val::Known(_)) {
                let detail = format!("`{}` is read-only; remove it from the configuration.", ro.0);
                self.err(a(ro.0), "Read-only attribute set", detail);
            }
        }
        if matches!(m.effective_labels, Val::Known(_)) {
            self.err(
                a("effective_labels"),
                "Read-only attribute set",
                "`effective_labels` is read-only; set `labels` instead.",
            );
        }
    }

    fn subnetwork_region(&mut self, m: &ServiceModel) {
        let (Val::Known(sub), Val::Known(region)) = (&m.subnetwork, &m.region) else {
            return;
        };
        if let Ok(r) = names::parse_ref(sub, "subnetworks", &["regions/*"]) {
            if let Some(loc) = r.location.filter(|l| l != region) {
                let detail = format!(
                    "`subnetwork` is in region {loc:?} but the service runs in {region:?}; Direct VPC egress needs a \
                     subnetwork in the service's region."
                );
                self.err(
                    FieldPath::attr("subnetwork"),
                    "Subnetwork in another region",
                    detail,
                );
            }
        }
    }

    /// The hostname must lie under `domain`: the wildcard record this resource manages is what makes it resolvable.
    fn hostname(&mut self, m: &ServiceModel) {
        let path = FieldPath::attr("hostname");
        let Val::Known(h) = &m.hostname else { return };
        if h.starts_with("*.") {
            let detail = "`hostname` must be one concrete name such as \"target.meshapps.internal\"; wildcards are \
                          not allowed for a single service.";
            self.err(path, "Invalid hostname", detail);
            return;
        }
        if let Err(e) = names::check_dns_name(h) {
            self.err(path, "Invalid hostname", format!("`hostname` = {h:?} {e}."));
            return;
        }
        if let Val::Known(d) = &m.domain {
            let d = d.trim_end_matches('.');
            if !h.ends_with(&format!(".{d}")) {
                let detail = format!(
                    "`hostname` = {h:?} is not under `domain` {d:?}; clients resolve it through the `*.{d}` record, \
                     so write e.g. \"<something>.{d}\" or leave `hostname` unset for the default \"<name>.{d}\"."
                );
                self.err(path, "Hostname outside the domain", detail);
            }
        }
    }

    fn default_zone_name(&mut self, m: &ServiceModel) {
        let (Val::Null, Val::Known(d)) = (&m.dns_zone_name, &m.domain) else {
            return;
        };
        if names::check_dns_name(d).is_err() {
            return;
        }
        let zone = names::default_dns_zone_name(d);
        if let Err(e) = names::check_part_name(&zone) {
            let detail =
                format!("The default zone name {zone:?} derived from `domain` {e}. Set `dns_zone_name` to a shorter name.");
            self.err(
                FieldPath::attr("domain"),
                "Domain too long for the default zone name",
                detail,
            );
        }
    }

    fn env(&mut self, m: &ServiceModel) {
        let Val::Known(env) = &m.env else { return };
        for (k, v) in env {
            let path = FieldPath::attr("env").key(k);
            if !ENV_NAME.is_match(k) {
                let detail = format!(
                    "Environment variable name {k:?} must start with a letter, `_`, `-` or `.` and contain only \
                     letters, digits, `_`, `-` and `.`."
                );
                self.err(path, "Invalid environment variable name", detail);
            } else if ["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"].contains(&k.as_str()) {
                let hint = if k == "PORT" {
                    " Use the `port` attribute instead."
                } else {
                    ""
                };
                let detail = format!("{k} is set by Cloud Run and cannot be overridden.{hint}");
                self.err(path, "Reserved environment variable", detail);
            } else if let Val::Known(value) = v {
                if value.len() > 32_768 {
                    self.err(
                        path,
                        "Environment value too long",
                        "Values are limited to 32768 characters.",
                    );
                }
            }
        }
    }

    fn resources(&mut self, m: &ServiceModel) {
        let cpu = match &m.cpu {
            Val::Known(s) => match parse_cpu(s) {
                Ok(c) => Some(c),
                Err(e) => {
                    self.err(
                        FieldPath::attr("cpu"),
                        "Invalid cpu",
                        format!("`cpu` = {s:?} {e}."),
                    );
                    None
                }
            },
            _ => None,
        };
        let mem = match &m.memory {
            Val::Known(s) => match parse_memory(s) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.err(
                        FieldPath::attr("memory"),
                        "Invalid memory",
                        format!("`memory` = {s:?} {e}."),
                    );
                    None
                }
            },
            _ => None,
        };
        if let (Some(c), Some(b)) = (cpu, mem) {
            if c >= 4.0 && b < 2 << 30 {
                self.err(
                    FieldPath::attr("memory"),
                    "Not enough memory for the CPU",
                    format!("Cloud Run needs at least 2Gi of memory with {c} CPUs; raise `memory` or lower `cpu`."),
                );
            }
        }
    }

    fn instances(&mut self, m: &ServiceModel) {
        self.int_range(
            FieldPath::attr("min_instances"),
            &m.min_instances,
            0,
            1000,
            "min_instances",
        );
        self.int_range(
            FieldPath::attr("max_instances"),
            &m.max_instances,
            1,
            1000,
            "max_instances",
        );
        if let (Val::Known(min), Val::Known(max)) = (&m.min_instances, &m.max_instances) {
            if min > max && *max >= 1 {
                let detail = format!("`min_instances` = {min} is greater than `max_instances` = {max}; lower it or raise `max_instances`.");
                self.err(
                    FieldPath::attr("min_instances"),
                    "min_instances above max_instances",
                    detail,
                );
            }
        }
    }

    fn invokers(&mut self, m: &ServiceModel) {
        let Val::Known(list) = &m.invokers else {
            return;
        };
        for (i, member) in list.iter().enumerate() {
            self.string(
                FieldPath::attr("invokers").index(i),
                member,
                "Invalid IAM member",
                check_member,
            );
        }
    }

    fn labels(&mut self, m: &ServiceModel) {
        let Val::Known(labels) = &m.labels else {
            return;
        };
        if labels.len() > 63 {
            self.err(
                FieldPath::attr("labels"),
                "Too many labels",
                "At most 63 labels (64 with `managed-by`).",
            );
        }
        for (k, v) in labels {
            let path = FieldPath::attr("labels").key(k);
            if k == names::MANAGED_BY_KEY {
                self.err(
                    path,
                    "Reserved label",
                    "The `managed-by` label is set by csmrun to mark its parts; remove it.",
                );
            } else if !LABEL_KEY.is_match(k) {
                let detail = format!(
                    "Label key {k:?} must start with a lowercase letter, be at most 63 characters and contain only \
                     lowercase letters, digits, `_` and `-`."
                );
                self.err(path, "Invalid label key", detail);
            } else if let Val::Known(value) = v {
                if !LABEL_VALUE.is_match(value) {
                    let detail = format!(
                        "Label value {value:?} must be at most 63 characters of lowercase letters, digits, `_` and `-`."
                    );
                    self.err(path, "Invalid label value", detail);
                }
            }
        }
    }

    fn route(&mut self, p: &FieldPath, r: &RouteBlock) {
        let timeout = self.duration(p.at("timeout"), &r.timeout, false);
        self.int_range(p.at("weight"), &r.weight, 0, 100, "a weight");
        if r.retry.len() > 1 {
            self.err(
                p.at("retry"),
                "Too many retry blocks",
                "Write at most one `retry` block.",
            );
        }
        for (i, retry) in r.retry.iter().enumerate() {
            let rp = p.at("retry").index(i);
            self.int_range(rp.at("attempts"), &retry.attempts, 1, 25, "attempts");
            let per_try = self.duration(rp.at("per_try_timeout"), &retry.per_try_timeout, false);
            if let (Some(t), Some(pt)) = (timeout, per_try) {
                if pt > t {
                    let detail = format!(
                        "`{}` is longer than the route's `timeout`, which includes all retries; shorten it.",
                        rp.at("per_try_timeout")
                    );
                    self.err(
                        rp.at("per_try_timeout"),
                        "Retry timeout longer than the route timeout",
                        detail,
                    );
                }
            }
            if let Val::Known(conds) = &retry.conditions {
                for (j, c) in conds.iter().enumerate() {
                    self.one_of(rp.at("conditions").index(j), c, &RETRY_CONDITIONS);
                }
            }
        }
        if r.fault_injection.len() > 1 {
            self.err(
                p.at("fault_injection"),
                "Too many fault_injection blocks",
                "Write at most one.",
            );
        }
        for (i, f) in r.fault_injection.iter().enumerate() {
            self.fault_injection(&p.at("fault_injection").index(i), f);
        }
        for (i, d) in r.destination.iter().enumerate() {
            self.destination(&p.at("destination").index(i), d);
        }
        if !r.destination.is_empty() {
            self.weights_sum(
                p,
                r.weight.known().copied().or(Some(100)),
                &r.destination,
                &r.weight,
            );
        } else if r.weight == Val::Known(0) {
            let detail = "`weight` = 0 with no `destination` would send the traffic nowhere; remove `weight` or add \
                          a `destination` block.";
            self.err(p.at("weight"), "No traffic destination", detail);
        }
        for (i, rule) in r.rule.iter().enumerate() {
            self.rule(&p.at("rule").index(i), rule);
        }
    }

    /// The default split must send traffic somewhere; skipped while any weight is unknown.
    fn weights_sum(
        &mut self,
        p: &FieldPath,
        own: Option<i64>,
        dests: &[DestinationBlock],
        own_val: &Val<i64>,
    ) {
        if own_val.is_unknown() || dests.iter().any(|d| d.weight.is_unknown()) {
            return;
        }
        let total: i64 = own.unwrap_or(0)
            + dests
                .iter()
                .filter_map(|d| d.weight.known().copied())
                .sum::<i64>();
        if total == 0 {
            let detail =
                "All weights of the route are 0, so no request would be served; give at least one \
                          destination (or this service's `weight`) a weight above 0.";
            self.err(p.at("weight"), "Route weights sum to zero", detail);
        }
    }

    fn fault_injection(&mut self, p: &FieldPath, f: &FaultInjectionBlock) {
        self.duration(p.at("delay"), &f.delay, true);
        self.int_range(
            p.at("delay_percent"),
            &f.delay_percent,
            0,
            100,
            "a percentage",
        );
        self.int_range(
            p.at("abort_status"),
            &f.abort_status,
            200,
            599,
            "an HTTP status",
        );
        self.int_range(
            p.at("abort_percent"),
            &f.abort_percent,
            0,
            100,
            "a percentage",
        );
        if f.delay.is_null() && matches!(f.delay_percent, Val::Known(_)) {
            self.err(
                p.at("delay"),
                "Missing delay",
                "`delay_percent` is set, so `delay` (e.g. \"1s\") is required.",
            );
        }
        if f.delay_percent.is_null() && matches!(f.delay, Val::Known(_)) {
            self.err(
                p.at("delay_percent"),
                "Missing delay_percent",
                "`delay` is set, so `delay_percent` is required.",
            );
        }
        if f.abort_status.is_null() && matches!(f.abort_percent, Val::Known(_)) {
            self.err(
                p.at("abort_status"),
                "Missing abort_status",
                "`abort_percent` is set, so `abort_status` (e.g. 503) is required.",
            );
        }
        if f.abort_percent.is_null() && matches!(f.abort_status, Val::Known(_)) {
            self.err(
                p.at("abort_percent"),
                "Missing abort_percent",
                "`abort_status` is set, so `abort_percent` is required.",
            );
        }
    }

    fn destination(&mut self, p: &FieldPath, d: &DestinationBlock) {
        self.required(p.at("backend_service"), &d.backend_service);
        self.string(
            p.at("backend_service"),
            &d.backend_service,
            "Invalid backend service reference",
            |s| names::parse_ref(s, "backendServices", &["global", "locations/global"]).map(|_| ()),
        );
        if d.weight.is_null() {
            self.err(
                p.at("weight"),
                "Missing weight",
                "Every `destination` needs a `weight` (0 to 100).",
            );
        }
        self.int_range(p.at("weight"), &d.weight, 0, 100, "a weight");
    }

    fn rule(&mut self, p: &FieldPath, r: &RuleBlock) {
        if r.path_prefix.is_null() && r.header.is_empty() {
            let detail = "A `rule` without `path_prefix` or `header` matches every request and hides the default \
                          split; add a match or remove the rule.";
            self.err(p.clone(), "Rule matches everything", detail);
        }
        self.string(
            p.at("path_prefix"),
            &r.path_prefix,
            "Invalid path prefix",
            |s| {
                if s.starts_with('/') {
                    Ok(())
                } else {
                    Err("must start with \"/\"".into())
                }
            },
        );
        for (i, h) in r.header.iter().enumerate() {
            self.header(&p.at("header").index(i), h);
        }
        for (i, d) in r.destination.iter().enumerate() {
            self.destination(&p.at("destination").index(i), d);
        }
        if !r.destination.is_empty() {
            self.weights_sum(p, None, &r.destination, &Val::Null);
        }
    }

    fn header(&mut self, p: &FieldPath, h: &HeaderBlock) {
        self.required(p.at("name"), &h.name);
        self.string(p.at("name"), &h.name, "Invalid header name", |s| {
            if HEADER_NAME.is_match(s) {
                Ok(())
            } else {
                Err("is not an HTTP header name".into())
            }
        });
        let set = [
            !h.exact.is_null(),
            !h.prefix.is_null(),
            !h.regex.is_null(),
            !h.present.is_null(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            let detail = format!(
                "`{p}` sets {set} match kinds; set exactly one of `exact`, `prefix`, `regex` or `present`."
            );
            self.err(p.clone(), "Header match needs exactly one kind", detail);
        }
        self.string(p.at("regex"), &h.regex, "Invalid regular expression", |s| {
            Regex::new(s)
                .map(|_| ())
                .map_err(|e| format!("does not compile: {e}"))
        });
        if h.present == Val::Known(false) {
            self.err(
                p.at("present"),
                "Unsupported value",
                "`present` can only be true; to match absence use a rule order.",
            );
        }
    }

    fn circuit_breaker(&mut self, p: &FieldPath, cb: &CircuitBreakerBlock) {
        for (name, v) in [
            ("max_requests", &cb.max_requests),
            ("max_pending_requests", &cb.max_pending_requests),
            ("max_connections", &cb.max_connections),
            ("max_retries", &cb.max_retries),
        ] {
            self.int_range(p.at(name), v, 1, i64::from(i32::MAX), name);
        }
    }

    fn outlier_detection(&mut self, p: &FieldPath, od: &OutlierDetectionBlock) {
        self.int_range(
            p.at("consecutive_errors"),
            &od.consecutive_errors,
            1,
            i64::from(i32::MAX),
            "consecutive_errors",
        );
        self.duration(p.at("interval"), &od.interval, false);
        self.duration(p.at("base_ejection_time"), &od.base_ejection_time, false);
        self.int_range(
            p.at("max_ejection_percent"),
            &od.max_ejection_percent,
            0,
            100,
            "a percentage",
        );
    }

    fn timeouts(&mut self, t: &TimeoutsBlock) {
        let p = FieldPath::attr("timeouts");
        for (name, v) in [
            ("create", &t.create),
            ("update", &t.update),
            ("delete", &t.delete),
        ] {
            self.duration(p.at(name), v, false);
        }
    }
}

fn check_project(s: &str) -> Result<(), String> {
    static PROJECT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$").expect("static regex")
    });
    if PROJECT.is_match(s) {
        Ok(())
    } else {
        Err(
            "is not a project ID (6 to 30 lowercase letters, digits and hyphens, a letter first)"
                .into(),
        )
    }
}

fn check_region(s: &str) -> Result<(), String> {
    static REGION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-z]+-[a-z]+[0-9]+$").expect("static regex"));
    if REGION.is_match(s) {
        Ok(())
    } else {
        Err("is not a region such as \"asia-northeast1\"".into())
    }
}

fn check_image(s: &str) -> Result<(), String> {
    if s.len() > 1024 || !IMAGE.is_match(s) {
        return Err("is not a container image reference such as \
                    \"asia-northeast1-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG\" (lowercase repository path, optional \
                    :tag and @sha256:digest)"
            .into());
    }
    Ok(())
}

fn check_service_account(s: &str) -> Result<(), String> {
    if let Some(rest) = s.strip_prefix("serviceAccount:") {
        return Err(format!(
            "has a member prefix; write the bare email {rest:?}"
        ));
    }
    if SERVICE_ACCOUNT.is_match(s) {
        Ok(())
    } else {
        Err(
            "is not a service account email such as \"NAME@PROJECT.iam.gserviceaccount.com\""
                .into(),
        )
    }
}

/// IAM members for `roles/run.invoker`. `allUsers`/`allAuthenticatedUsers` are allowed: Cloud Run accepts them
/// (internal ingress still limits who can reach the service), organisation policy may still refuse them.
fn check_member(s: &str) -> Result<(), String> {
    if s == "allUsers" || s == "allAuthenticatedUsers" {
        return Ok(());
    }
    if s.starts_with("principal://") || s.starts_with("principalSet://") {
        return Ok(());
    }
    let Some((kind, rest)) = s.split_once(':') else {
        return Err("has no member type; write e.g. \"serviceAccount:caller@PROJECT.iam.gserviceaccount.com\"".into());
    };
    match kind {
        "user" | "group" if EMAIL_LOCAL.is_match(rest) => Ok(()),
        "serviceAccount" if SERVICE_ACCOUNT.is_match(rest) => Ok(()),
        "domain" if names::check_dns_name(rest).is_ok() && rest.contains('.') => Ok(()),
        "user" | "group" | "serviceAccount" | "domain" => {
            Err(format!("has a malformed {kind} after \"{kind}:\""))
        }
        other => {
            let fixed = ["user", "group", "serviceAccount", "domain"]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(other));
            match fixed {
                Some(k) => Err(format!("has member type {other:?}; the type is case-sensitive: write \"{k}:\"")),
                None => Err(format!(
                    "has member type {other:?}; use user:, serviceAccount:, group:, domain:, allUsers or \
                     allAuthenticatedUsers"
                )),
            }
        }
    }
}

fn check_dns_address(s: &str) -> Result<(), String> {
    match s.parse::<Ipv4Addr>() {
        Ok(ip) if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() => Err(
            "is not a usable unicast IPv4 address; use a private address such as \"10.0.0.1\""
                .into(),
        ),
        Ok(_) => Ok(()),
        Err(_) => Err("is not an IPv4 address such as \"10.0.0.1\"".into()),
    }
}

/// CPU as Cloud Run takes it: `"1"`, `"0.5"`, `"500m"`; between 0.08 and 8.
pub fn parse_cpu(s: &str) -> Result<f64, String> {
    let value = if let Some(m) = s.strip_suffix('m') {
        m.parse::<u32>().map(|v| f64::from(v) / 1000.0).ok()
    } else if s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        s.parse::<f64>().ok()
    } else {
        None
    };
    match value {
        Some(v) if (0.08..=8.0).contains(&v) => Ok(v),
        Some(_) => Err("is out of range: Cloud Run takes 0.08 to 8 CPUs".into()),
        None => Err("is not a CPU amount such as \"1\", \"2\" or \"500m\"".into()),
    }
}

/// Memory as Cloud Run takes it: `<int><unit>` with `Ki`, `Mi`, `Gi`, `k`, `M`, `G`; between 128Mi and 32Gi.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: Option<u64> = match unit {
        "Ki" => Some(1 << 10),
        "Mi" => Some(1 << 20),
        "Gi" => Some(1 << 30),
        "k" => Some(1_000),
        "M" => Some(1_000_000),
        "G" => Some(1_000_000_000),
        _ => None,
    };
    let bytes = match (num.parse::<u64>().ok(), mult) {
        (Some(n), Some(m)) => n.checked_mul(m),
        _ => None,
    };
    match bytes {
        Some(b) if (MIN_MEMORY..=MAX_MEMORY).contains(&b) => Ok(b),
        Some(_) => Err("is out of range: Cloud Run takes 128Mi to 32Gi".into()),
        None => Err("is not a memory amount such as \"512Mi\" or \"2Gi\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_formats() {
        assert_eq!(parse_cpu("1"), Ok(1.0));
        assert_eq!(parse_cpu("500m"), Ok(0.5));
        assert!(parse_cpu("16").is_err());
        assert!(parse_cpu("one").is_err());
        assert_eq!(parse_memory("512Mi"), Ok(512 << 20));
        assert!(parse_memory("64Mi").is_err());
        assert!(parse_memory("1GB").is_err());
    }

    #[test]
    fn members_accept_documented_forms() {
        for ok in [
            "user:a@example.com",
            "serviceAccount:x-1@p-123.iam.gserviceaccount.com",
            "group:g@example.com",
            "domain:example.com",
            "allUsers",
            "allAuthenticatedUsers",
        ] {
            assert_eq!(check_member(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn image_references() {
        for ok in [
            "nginx",
            "gcr.io/p/app:1.0",
            "asia-northeast1-docker.pkg.dev/p/apps/target:1.2.0",
            "localhost:5000/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image(ok), Ok(()), "{ok}");
        }
    }
}
