//! Which route serves a hostname and which rule of it serves a request, as the Network Services discovery
//! document describes `HttpRoute.hostnames`, `HttpRouteRouteRule.matches` and `HttpRouteRouteMatch`.

use http::HeaderMap;
use serde_json::Value;

/// The request as route matching sees it.
pub struct RequestView<'a> {
    /// The path without the query.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
}

/// How well `pattern` (a route hostname, precise or `*.` wildcard) matches `host`: `Some(usize::MAX)` for a
/// precise match, `Some(suffix length)` for a wildcard, so the most specific route wins (Envoy's virtual host
/// order: exact names first, then the longest wildcard suffix).
pub fn host_score(pattern: &str, host: &str) -> Option<usize> {
    if pattern.eq_ignore_ascii_case(host) {
        return Some(usize::MAX);
    }
    let suffix = pattern.strip_prefix('*')?;
    // "The wildcard will not match the empty string": at least one character before the suffix.
    let fits = host.len() > suffix.len()
        && host
            .get(host.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix));
    fits.then_some(suffix.len())
}

/// The largest regular expression the proxy compiles (route regexes are RE2; the `regex` crate is RE2-like).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A full match of `pattern` against `text` (Envoy's `safe_regex` matches the whole value). An invalid or
/// oversized pattern matches nothing.
fn full_regex(pattern: &str, text: &str) -> bool {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .is_ok_and(|re| re.is_match(text))
}

/// Every value of a header, joined with "," as one value (how Envoy matches repeated headers).
fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

fn header_matches(m: &Value, headers: &HeaderMap) -> bool {
    let name = m["header"].as_str().unwrap_or_default();
    let value = header_value(headers, name);
    let matched = match &value {
        None => false,
        Some(v) => {
            if let Some(exact) = m["exactMatch"].as_str() {
                v == exact
            } else if let Some(prefix) = m["prefixMatch"].as_str() {
                v.starts_with(prefix)
            } else if let Some(suffix) = m["suffixMatch"].as_str() {
                v.ends_with(suffix)
            } else if let Some(re) = m["regexMatch"].as_str() {
                full_regex(re, v)
            } else if m["rangeMatch"].is_object() {
                let start = int(&m["rangeMatch"]["start"]).unwrap_or(i64::MIN);
                let end = int(&m["rangeMatch"]["end"]).unwrap_or(i64::MAX);
                // "Start of the range (inclusive)", "End of the range (exclusive)".
                v.trim().parse::<i64>().is_ok_and(|n| n >= start && n < end)
            } else {
                // presentMatch: "The match takes place whether or not the header has a value."
                m["presentMatch"] == true
            }
        }
    };
    let invert = m["invertMatch"] == true;
    matched != invert
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn query_matches(m: &Value, query: &str) -> bool {
    let name = m["queryParameter"].as_str().unwrap_or_default();
    let values: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect();
    if let Some(exact) = m["exactMatch"].as_str() {
        values.iter().any(|v| v == exact)
    } else if let Some(re) = m["regexMatch"].as_str() {
        values.iter().any(|v| full_regex(re, v))
    } else {
        m["presentMatch"] == true && !values.is_empty()
    }
}

/// One `HttpRouteRouteMatch`: "If multiple match types are set, this RouteMatch will match if ALL type of
/// matches are matched."
pub fn route_match(m: &Value, req: &RequestView<'_>) -> bool {
    let ignore_case = m["ignoreCase"] == true;
    let same = |a: &str, b: &str| {
        if ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let path_ok = if let Some(full) = m["fullPathMatch"].as_str() {
        same(req.path, full)
    } else if let Some(prefix) = m["prefixMatch"].as_str() {
        req.path
            .get(..prefix.len())
            .is_some_and(|head| same(head, prefix))
    } else if let Some(re) = m["regexMatch"].as_str() {
        full_regex(re, req.path)
    } else {
        true
    };
    path_ok
        && m["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|h| header_matches(h, req.headers))
        && m["queryParameters"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|q| query_matches(q, req.query))
}

/// A rule matches "if ANY one of the matches is satisfied"; "If no matches field is specified, this rule will
/// unconditionally match traffic."
pub fn rule_matches(rule: &Value, req: &RequestView<'_>) -> bool {
    match rule["matches"].as_array() {
        None => true,
        Some(list) if list.is_empty() => true,
        Some(list) => list.iter().any(|m| route_match(m, req)),
    }
}

/// The index of the first rule that matches: "Rules will be matched sequentially".
pub fn first_rule(route: &Value, req: &RequestView<'_>) -> Option<usize> {
    route["rules"]
        .as_array()?
        .iter()
        .position(|r| rule_matches(r, req))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    fn view<'a>(path: &'a str, query: &'a str, headers: &'a HeaderMap) -> RequestView<'a> {
        RequestView {
            path,
            query,
            headers,
        }
    }

    #[test]
    fn precise_hostnames_beat_wildcards_and_longer_wildcards_beat_shorter() {
        assert_eq!(host_score("a.b.com", "A.b.com"), Some(usize::MAX));
        assert!(host_score("*.b.com", "a.b.com") > host_score("*.com", "a.b.com"));
        assert_eq!(host_score("*.b.com", ".b.com"), None);
        assert_eq!(host_score("a.b.com", "x.b.com"), None);
    }

    #[test]
    fn header_matchers_follow_the_field_descriptions() {
        let mut h = HeaderMap::new();
        h.insert("end-user", HeaderValue::from_static("jason"));
        h.insert("x-n", HeaderValue::from_static("5"));
        let req = view("/api/v2/items", "a=1", &h);
        let m = |v: Value| route_match(&v, &req);
        assert!(m(
            json!({"headers": [{"header": "end-user", "exactMatch": "jason"}]})
        ));
        assert!(!m(
            json!({"headers": [{"header": "end-user", "exactMatch": "jas"}]})
        ));
        assert!(m(
            json!({"headers": [{"header": "end-user", "prefixMatch": "ja"}]})
        ));
        assert!(m(
            json!({"headers": [{"header": "end-user", "suffixMatch": "son"}]})
        ));
        assert!(m(
            json!({"headers": [{"header": "end-user", "regexMatch": "j.*n"}]})
        ));
        assert!(!m(
            json!({"headers": [{"header": "end-user", "regexMatch": "j"}]})
        ));
        assert!(m(
            json!({"headers": [{"header": "x-n", "rangeMatch": {"start": 5, "end": 6}}]})
        ));
        assert!(!m(
            json!({"headers": [{"header": "x-n", "rangeMatch": {"start": 1, "end": 5}}]})
        ));
        assert!(m(
            json!({"headers": [{"header": "missing", "presentMatch": true, "invertMatch": true}]})
        ));
        assert!(m(json!({"prefixMatch": "/API", "ignoreCase": true})));
        assert!(!m(json!({"prefixMatch": "/API"})));
        assert!(m(json!({"fullPathMatch": "/api/v2/items"})));
        assert!(m(json!({"regexMatch": "/api/v[0-9]+/.*"})));
        assert!(m(
            json!({"queryParameters": [{"queryParameter": "a", "exactMatch": "1"}]})
        ));
        assert!(!m(
            json!({"queryParameters": [{"queryParameter": "b", "presentMatch": true}]})
        ));
        assert!(m(
            json!({"queryParameters": [{"queryParameter": "a", "regexMatch": "[0-9]"}]})
        ));
    }

    #[test]
    fn every_header_and_query_parameter_of_a_match_must_match() {
        let mut h = HeaderMap::new();
        h.insert("end-user", HeaderValue::from_static("jason"));
        h.insert("x-n", HeaderValue::from_static("5"));
        let req = view("/", "a=1&b=2", &h);
        let m = |v: Value| route_match(&v, &req);
        assert!(m(
            json!({"headers": [{"header": "end-user", "exactMatch": "jason"},
                                     {"header": "x-n", "exactMatch": "5"}]})
        ));
        assert!(!m(
            json!({"headers": [{"header": "end-user", "exactMatch": "jason"},
                                      {"header": "x-n", "exactMatch": "6"}]})
        ));
        assert!(m(
            json!({"queryParameters": [{"queryParameter": "a", "exactMatch": "1"},
                                             {"queryParameter": "b", "exactMatch": "2"}]})
        ));
        assert!(!m(
            json!({"queryParameters": [{"queryParameter": "a", "exactMatch": "1"},
                                              {"queryParameter": "b", "exactMatch": "3"}]})
        ));
        // A match with a path and a header needs both; a rule with two matches needs either.
        assert!(!m(
            json!({"prefixMatch": "/x", "headers": [{"header": "x-n", "exactMatch": "5"}]})
        ));
        let rule = json!({"matches": [{"prefixMatch": "/x"},
                                      {"headers": [{"header": "x-n", "exactMatch": "5"}]}]});
        assert!(rule_matches(&rule, &req));
        assert!(rule_matches(&json!({}), &req));
    }
}
