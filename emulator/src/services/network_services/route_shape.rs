//! HTTPRoute checks that need only the route itself: hostnames, matches, actions, value ranges.

use regex::Regex;
use serde_json::Value;

use crate::error::ApiError;

/// Checks everything about a route body that does not depend on other resources.
pub fn check(route: &Value) -> Result<(), ApiError> {
    check_hostnames(route)?;
    let rules = route.get("rules").and_then(Value::as_array);
    let Some(rules) = rules.filter(|r| !r.is_empty()) else {
        return Err(bad("rules", "at least one rule is required"));
    };
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        if let Some(matches) = rule.get("matches").and_then(Value::as_array) {
            for (j, m) in matches.iter().enumerate() {
                check_match(m, &format!("{at}.matches[{j}]"))?;
            }
        }
        if let Some(action) = rule.get("action") {
            check_action(action, &format!("{at}.action"))?;
        }
    }
    Ok(())
}

fn bad(field: &str, why: &str) -> ApiError {
    ApiError::invalid_argument(format!("Invalid value for field '{field}': {why}."))
}

fn check_hostnames(route: &Value) -> Result<(), ApiError> {
    let hostnames = route.get("hostnames").and_then(Value::as_array);
    let Some(hostnames) = hostnames.filter(|h| !h.is_empty()) else {
        return Err(bad("hostnames", "at least one hostname is required"));
    };
    let mut seen: Vec<&str> = Vec::new();
    for (i, h) in hostnames.iter().enumerate() {
        let field = format!("hostnames[{i}]");
        let host = h.as_str().unwrap_or_default();
        if !is_valid_hostname(host) {
            return Err(bad(
                &field,
                &format!(
                    "'{host}' is not a valid hostname: use lower-case labels of letters, digits and '-', \
                     optionally prefixed by a single '*.' wildcard label; IP addresses are not allowed"
                ),
            ));
        }
        if seen.contains(&host) {
            return Err(bad(
                &field,
                &format!("hostname '{host}' is listed more than once"),
            ));
        }
        seen.push(host);
    }
    Ok(())
}

/// RFC 1123 host without the trailing dot, optional leading `*.` label, no IP addresses.
pub fn is_valid_hostname(host: &str) -> bool {
    let rest = host.strip_prefix("*.").unwrap_or(host);
    if rest.is_empty() || rest.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = rest.split('.').collect();
    let is_ip = labels.len() == 4 && labels.iter().all(|l| l.parse::<u8>().is_ok());
    !is_ip
        && !rest.contains(':')
        && labels.iter().all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn check_match(m: &Value, at: &str) -> Result<(), ApiError> {
    let path_kinds: Vec<&str> = ["fullPathMatch", "prefixMatch", "regexMatch"]
        .into_iter()
        .filter(|k| m.get(*k).is_some())
        .collect();
    if path_kinds.len() > 1 {
        return Err(bad(
            at,
            &format!(
                "only one of fullPathMatch, prefixMatch or regexMatch may be set, got {}",
                path_kinds.join(" and ")
            ),
        ));
    }
    for key in ["fullPathMatch", "prefixMatch"] {
        if let Some(p) = m.get(key).and_then(Value::as_str) {
            if !p.starts_with('/') {
                return Err(bad(
                    &format!("{at}.{key}"),
                    &format!("'{p}' must begin with '/'"),
                ));
            }
        }
    }
    if let Some(r) = m.get("regexMatch").and_then(Value::as_str) {
        check_regex(r, &format!("{at}.regexMatch"))?;
    }
    if let Some(headers) = m.get("headers").and_then(Value::as_array) {
        for (k, h) in headers.iter().enumerate() {
            check_header_match(h, &format!("{at}.headers[{k}]"))?;
        }
    }
    if let Some(params) = m.get("queryParameters").and_then(Value::as_array) {
        for (k, q) in params.iter().enumerate() {
            let qat = format!("{at}.queryParameters[{k}]");
            if q.get("queryParameter")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
            {
                return Err(bad(
                    &format!("{qat}.queryParameter"),
                    "a query parameter name is required",
                ));
            }
            exactly_one(q, &["exactMatch", "regexMatch", "presentMatch"], &qat)?;
            if let Some(r) = q.get("regexMatch").and_then(Value::as_str) {
                check_regex(r, &format!("{qat}.regexMatch"))?;
            }
        }
    }
    Ok(())
}

fn check_header_match(h: &Value, at: &str) -> Result<(), ApiError> {
    if h.get("header")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        return Err(bad(&format!("{at}.header"), "a header name is required"));
    }
    exactly_one(
        h,
        &[
            "exactMatch",
            "regexMatch",
            "prefixMatch",
            "presentMatch",
            "suffixMatch",
            "rangeMatch",
        ],
        at,
    )?;
    if let Some(r) = h.get("regexMatch").and_then(Value::as_str) {
        check_regex(r, &format!("{at}.regexMatch"))?;
    }
    Ok(())
}

fn exactly_one(v: &Value, keys: &[&str], at: &str) -> Result<(), ApiError> {
    let set: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| v.get(*k).is_some())
        .collect();
    if set.len() == 1 {
        return Ok(());
    }
    Err(bad(
        at,
        &format!(
            "exactly one of {} must be set, got {}",
            keys.join(", "),
            set.len()
        ),
    ))
}

fn check_regex(r: &str, at: &str) -> Result<(), ApiError> {
    Regex::new(r)
        .map(|_| ())
        .map_err(|_| bad(at, &format!("'{r}' is not a valid RE2 regular expression")))
}

fn check_action(action: &Value, at: &str) -> Result<(), ApiError> {
    if let Some(dests) = action.get("destinations").and_then(Value::as_array) {
        let weighted = dests.iter().filter(|d| d.get("weight").is_some()).count();
        if weighted != 0 && weighted != dests.len() {
            return Err(bad(
                &format!("{at}.destinations"),
                "if a weight is specified for one destination it must be specified for all of them",
            ));
        }
        for (i, d) in dests.iter().enumerate() {
            let dat = format!("{at}.destinations[{i}]");
            if d.get("serviceName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
            {
                return Err(bad(
                    &format!("{dat}.serviceName"),
                    "a backend service is required",
                ));
            }
            if let Some(w) = d.get("weight").and_then(Value::as_i64) {
                if w < 0 {
                    return Err(bad(
                        &format!("{dat}.weight"),
                        &format!("{w} must not be negative"),
                    ));
                }
            }
        }
    }
    for key in ["timeout", "idleTimeout"] {
        if let Some(t) = action.get(key).and_then(Value::as_str) {
            check_duration(t, &format!("{at}.{key}"))?;
        }
    }
    if let Some(retry) = action.get("retryPolicy") {
        if let Some(n) = retry.get("numRetries").and_then(Value::as_i64) {
            if n <= 0 {
                return Err(bad(
                    &format!("{at}.retryPolicy.numRetries"),
                    &format!("{n} must be greater than 0"),
                ));
            }
        }
        if let Some(t) = retry.get("perTryTimeout").and_then(Value::as_str) {
            check_duration(t, &format!("{at}.retryPolicy.perTryTimeout"))?;
        }
    }
    if let Some(fault) = action.get("faultInjectionPolicy") {
        let fat = format!("{at}.faultInjectionPolicy");
        if let Some(delay) = fault.get("delay") {
            percentage(delay, &format!("{fat}.delay"))?;
            if let Some(t) = delay.get("fixedDelay").and_then(Value::as_str) {
                check_duration(t, &format!("{fat}.delay.fixedDelay"))?;
            }
        }
        if let Some(abort) = fault.get("abort") {
            percentage(abort, &format!("{fat}.abort"))?;
            if let Some(s) = abort.get("httpStatus").and_then(Value::as_i64) {
                if !(200..=599).contains(&s) {
                    return Err(bad(
                        &format!("{fat}.abort.httpStatus"),
                        &format!("{s} must be between 200 and 599"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn percentage(v: &Value, at: &str) -> Result<(), ApiError> {
    match v.get("percentage").and_then(Value::as_i64) {
        Some(p) if !(0..=100).contains(&p) => Err(bad(
            &format!("{at}.percentage"),
            &format!("{p} must be between 0 and 100"),
        )),
        _ => Ok(()),
    }
}

/// Google's JSON duration: decimal seconds with at most nine fractional digits and an `s` suffix (`10s`,
/// `0.5s`); a timeout or delay is not negative.
fn check_duration(text: &str, at: &str) -> Result<(), ApiError> {
    match crate::proto3::parse_duration(text) {
        Some((false, _, _)) => Ok(()),
        _ => Err(bad(
            at,
            &format!("'{text}' is not a duration such as '10s'"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route(rules: Value) -> Value {
        json!({"hostnames": ["a.example.internal"], "rules": rules})
    }

    #[test]
    fn hostnames_are_fqdns_with_an_optional_wildcard_label() {
        for ok in ["test1", "a.example.internal", "*.example.com", "x-1.y"] {
            assert!(is_valid_hostname(ok), "{ok}");
        }
        for bad in [
            "",
            "A.example.com",
            "*.",
            "a.*.b",
            "10.0.0.1",
            "a..b",
            "-a.b",
            "a.b.",
            "a_b",
        ] {
            assert!(!is_valid_hostname(bad), "{bad}");
        }
    }

    #[test]
    fn a_route_needs_hostnames_and_rules() {
        assert!(check(&json!({"rules": [{}]})).is_err());
        assert!(check(&json!({"hostnames": ["a"]})).is_err());
        assert!(check(&route(
            json!([{"action": {"destinations": [{"serviceName": "s"}]}}])
        ))
        .is_ok());
    }

    #[test]
    fn a_match_has_at_most_one_path_matcher_and_prefixes_start_with_a_slash() {
        let two = route(json!([{"matches": [{"prefixMatch": "/", "fullPathMatch": "/a"}]}]));
        assert_eq!(check(&two).unwrap_err().code, 400);
        let no_slash = route(json!([{"matches": [{"prefixMatch": "a"}]}]));
        assert!(check(&no_slash)
            .unwrap_err()
            .message
            .contains("must begin with '/'"));
        let bad_regex = route(json!([{"matches": [{"regexMatch": "("}]}]));
        assert!(check(&bad_regex).is_err());
    }

    #[test]
    fn a_header_match_has_exactly_one_matcher() {
        let none = route(json!([{"matches": [{"headers": [{"header": "x"}]}]}]));
        assert!(check(&none).is_err());
        let one =
            route(json!([{"matches": [{"headers": [{"header": "x", "presentMatch": true}]}]}]));
        assert!(check(&one).is_ok());
    }

    #[test]
    fn weights_are_all_or_nothing() {
        let mixed = route(json!([{"action": {"destinations": [
            {"serviceName": "a", "weight": 1}, {"serviceName": "b"}]}}]));
        assert!(check(&mixed).is_err());
    }

    #[test]
    fn fault_and_retry_values_are_range_checked() {
        let pct = route(
            json!([{"action": {"faultInjectionPolicy": {"abort": {"httpStatus": 503, "percentage": 101}}}}]),
        );
        assert!(check(&pct).is_err());
        let status = route(
            json!([{"action": {"faultInjectionPolicy": {"abort": {"httpStatus": 600, "percentage": 1}}}}]),
        );
        assert!(check(&status).is_err());
        let retries = route(json!([{"action": {"retryPolicy": {"numRetries": 0}}}]));
        assert!(check(&retries).is_err());
        let timeout = route(json!([{"action": {"timeout": "ten seconds"}}]));
        assert!(check(&timeout).is_err());
        let fine = route(
            json!([{"action": {"timeout": "30s", "retryPolicy": {"numRetries": 3, "perTryTimeout": "5s",
            "retryConditions": ["5xx"]}, "faultInjectionPolicy": {"delay": {"fixedDelay": "1.5s", "percentage": 10}}}}]),
        );
        assert!(check(&fine).is_ok());
    }
}
