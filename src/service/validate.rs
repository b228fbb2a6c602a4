//! Plan-time validation of every `csmrun_service` input, without the network; unknown values are skipped.

use std::time::Duration;

use super::duration;
use super::model::ServiceModel;
use super::names;
use super::path::FieldPath;
use super::val::Val;

/// Environment variables per Cloud Run service.
const MAX_ENV: usize = 1000;

#[path = "validate_blocks.rs"]
mod blocks;
#[path = "validate_formats.rs"]
mod formats;
#[path = "validate_state.rs"]
mod state_names;

use formats::{
    check_dns_address, check_image, check_member, check_service_account, ENV_NAME, LABEL_KEY,
    LABEL_VALUE,
};
pub(crate) use formats::{check_project, check_region};
pub use formats::{parse_cpu, parse_memory};
pub use state_names::{check_part_names, check_state};

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

    /// A duration the API takes (route, outlier detection): up to the largest `google.protobuf.Duration`.
    fn duration(
        &mut self,
        path: FieldPath,
        val: &Val<String>,
        allow_zero: bool,
    ) -> Option<Duration> {
        self.duration_at_most(path, val, allow_zero, duration::MAX_GOOGLE)
    }

    /// A duration of at most `max`; a longer one is an error naming the allowed range.
    fn duration_at_most(
        &mut self,
        path: FieldPath,
        val: &Val<String>,
        allow_zero: bool,
        max: Duration,
    ) -> Option<Duration> {
        let Val::Known(s) = val else { return None };
        match duration::parse(s) {
            Ok(d) if d > max => {
                let least = if allow_zero { "0s" } else { "1ns" };
                let detail = format!(
                    "`{path}` = {s:?} is out of range: write a duration from {least:?} to {:?}.",
                    duration::to_go(max)
                );
                self.err(path, "Duration out of range", detail);
                None
            }
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
        // "You can set a maximum of 1000 environment variables for a Cloud Run service" (Cloud Run docs,
        // configuring/services/overview-environment-variables); one error, not one per entry.
        if env.len() > MAX_ENV {
            let detail = format!(
                "{} environment variables are set; Cloud Run allows at most {MAX_ENV} per service. Move \
                 configuration into a file or Secret Manager, or merge variables.",
                env.len()
            );
            self.err(
                FieldPath::attr("env"),
                "Too many environment variables",
                detail,
            );
            return;
        }
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
        // An unset attribute takes the provider's default, which must fit the other one too.
        let given = |v: &Val<String>, default: &'static str| match v {
            Val::Known(s) => Some((s.clone(), false)),
            Val::Null => Some((default.to_string(), true)),
            _ => None,
        };
        let cpu_given = given(&m.cpu, super::defaults::CPU);
        let mem_given = given(&m.memory, super::defaults::MEMORY);
        let cpu = match &cpu_given {
            Some((s, _)) => match parse_cpu(s) {
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
            None => None,
        };
        let mem = match &mem_given {
            Some((s, _)) => match parse_memory(s) {
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
            None => None,
        };
        let (Some(c), Some(b), Some((cpu_text, cpu_default)), Some((mem_text, mem_default))) =
            (cpu, mem, cpu_given, mem_given)
        else {
            return;
        };
        let milli = (c * 1000.0).round() as u64;
        let (lo, hi) = formats::memory_range(milli);
        if (lo..=hi).contains(&b) {
            return;
        }
        let (summary, fix) = if b < lo {
            (
                "Not enough memory for the CPU",
                "raise `memory` or lower `cpu`",
            )
        } else {
            (
                "Too much memory for the CPU",
                "lower `memory` or raise `cpu`",
            )
        };
        let default = |d: bool| if d { " (the default)" } else { "" };
        // The error sits on the attribute that was written: `memory`, unless only `cpu` was.
        let path = if mem_default && !cpu_default {
            "cpu"
        } else {
            "memory"
        };
        self.err(
            FieldPath::attr(path),
            summary,
            format!(
                "With `cpu` = {cpu_text:?}{}, Cloud Run takes `memory` from {} to {}; `memory` = {mem_text:?}{} \
                 is outside that: {fix}.",
                default(cpu_default),
                formats::memory_text(lo),
                formats::memory_text(hi),
                default(mem_default),
            ),
        );
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
}
