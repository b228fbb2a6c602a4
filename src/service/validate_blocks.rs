//! Validation of the `route`, `circuit_breaker`, `outlier_detection` and `timeouts` blocks.

use regex::Regex;

use super::formats::HEADER_NAME;
use super::{Validator, RETRY_CONDITIONS};
use crate::service::model::{
    CircuitBreakerBlock, DestinationBlock, FaultInjectionBlock, HeaderBlock, OutlierDetectionBlock,
    RouteBlock, RuleBlock, TimeoutsBlock,
};
use crate::service::names;
use crate::service::path::FieldPath;
use crate::service::val::Val;

impl Validator {
    pub(super) fn route(&mut self, p: &FieldPath, r: &RouteBlock) {
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
    pub(super) fn weights_sum(
        &mut self,
        p: &FieldPath,
        own: Option<i64>,
        dests: &[DestinationBlock],
        own_val: &Val<i64>,
    ) {
        if own_val.is_unknown() || dests.iter().any(|d| d.weight.is_unknown()) {
            return;
        }
        // Saturating: weights beyond their range are refused elsewhere, and must not panic here first.
        let total: i64 = dests
            .iter()
            .filter_map(|d| d.weight.known().copied())
            .fold(own.unwrap_or(0), i64::saturating_add);
        if total == 0 {
            let detail =
                "All weights of the route are 0, so no request would be served; give at least one \
                          destination (or this service's `weight`) a weight above 0.";
            self.err(p.at("weight"), "Route weights sum to zero", detail);
        }
    }

    pub(super) fn fault_injection(&mut self, p: &FieldPath, f: &FaultInjectionBlock) {
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

    pub(super) fn destination(&mut self, p: &FieldPath, d: &DestinationBlock) {
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

    pub(super) fn rule(&mut self, p: &FieldPath, r: &RuleBlock) {
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

    pub(super) fn header(&mut self, p: &FieldPath, h: &HeaderBlock) {
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

    pub(super) fn circuit_breaker(&mut self, p: &FieldPath, cb: &CircuitBreakerBlock) {
        for (name, v) in [
            ("max_requests", &cb.max_requests),
            ("max_pending_requests", &cb.max_pending_requests),
            ("max_connections", &cb.max_connections),
            ("max_retries", &cb.max_retries),
        ] {
            self.int_range(p.at(name), v, 1, i64::from(i32::MAX), name);
        }
    }

    pub(super) fn outlier_detection(&mut self, p: &FieldPath, od: &OutlierDetectionBlock) {
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

    pub(super) fn timeouts(&mut self, t: &TimeoutsBlock) {
        let p = FieldPath::attr("timeouts");
        for (name, v) in [
            ("create", &t.create),
            ("update", &t.update),
            ("delete", &t.delete),
        ] {
            self.duration_at_most(p.at(name), v, false, crate::service::defaults::MAX_TIMEOUT);
        }
    }
}
