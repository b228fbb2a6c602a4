//! Request-log conformance: every API call in an emulator request log (the request, and the body of a 2xx
//! answer) checked against Google's discovery documents, the ones the emulator embeds.
//!
//! This is the audit of the emulator and of whoever sent the traffic, so it keeps its own schema walk instead
//! of calling `validate`: it reports every problem of every entry (not the first, as Google's front end
//! does), it checks answers as well as requests, and a rule relaxed in the emulator does not relax it.
//! `csmrun-emulator conformance LOG.jsonl [LOG...]` runs it.

use crate::api::Api;
use crate::discovery::{document, Document, Method};
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One way one logged call departs from the discovery documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The log file as given.
    pub log: String,
    /// 1-based line of the entry in that file.
    pub line: usize,
    /// `METHOD /path` as logged.
    pub call: String,
    pub what: String,
}

/// What checking one or more logs found.
#[derive(Debug, Default)]
pub struct Report {
    /// API calls checked (control-plane calls under `/_emulator/` are not counted).
    pub requests: usize,
    /// Calls per discovery method id; `?` counts calls that match no method.
    pub methods: BTreeMap<String, usize>,
    pub problems: Vec<Problem>,
}

impl Report {
    /// Calls with at least one problem.
    pub fn nonconforming_requests(&self) -> usize {
        let mut calls: Vec<(&str, usize)> = self
            .problems
            .iter()
            .map(|p| (p.log.as_str(), p.line))
            .collect();
        calls.dedup();
        calls.len()
    }

    /// Conforming means: at least one call was checked and none has a problem (an empty log proves nothing).
    pub fn conforms(&self) -> bool {
        self.requests > 0 && self.problems.is_empty()
    }

    /// Calls per method, every problem, then the summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (method, count) in &self.methods {
            let _ = writeln!(out, "{count:6}  {method}");
        }
        for p in &self.problems {
            let _ = writeln!(
                out,
                "NONCONFORMING {}:{}: {}: {}",
                p.log, p.line, p.call, p.what
            );
        }
        let _ = writeln!(
            out,
            "{} requests, {} methods, {} nonconforming requests ({} problems)",
            self.requests,
            self.methods.len(),
            self.nonconforming_requests(),
            self.problems.len()
        );
        out
    }

    /// Adds every entry of one log (JSON lines) to the report; `name` labels its problems.
    pub fn add_log(&mut self, name: &str, text: &str) {
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let entry: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    self.requests += 1;
                    *self.methods.entry("?".into()).or_default() += 1;
                    self.problems.push(Problem {
                        log: name.to_string(),
                        line: line_no,
                        call: "?".into(),
                        what: format!("the log line is not JSON: {e}"),
                    });
                    continue;
                }
            };
            let path = entry["path"].as_str().unwrap_or_default();
            if path.starts_with("/_emulator/") {
                continue;
            }
            self.requests += 1;
            let (method_id, problems) = check_entry(&entry);
            *self
                .methods
                .entry(method_id.unwrap_or_else(|| "?".into()))
                .or_default() += 1;
            let call = format!("{} {path}", entry["method"].as_str().unwrap_or_default());
            self.problems
                .extend(problems.into_iter().map(|what| Problem {
                    log: name.to_string(),
                    line: line_no,
                    call: call.clone(),
                    what,
                }));
        }
    }
}

/// Checks every log file; an unreadable file is an error, not a problem of the traffic.
pub fn check_files(paths: &[impl AsRef<Path>]) -> Result<Report, String> {
    let mut report = Report::default();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading request log {}: {e}", path.display()))?;
        report.add_log(&path.display().to_string(), &text);
    }
    Ok(report)
}

/// One log entry (`method`, `path`, `query`, `body`, `status`, `response`): the discovery method it calls, if
/// any, and every problem found.
pub fn check_entry(entry: &Value) -> (Option<String>, Vec<String>) {
    let verb = entry["method"].as_str().unwrap_or_default().to_uppercase();
    let raw_path = entry["path"].as_str().unwrap_or_default();
    let (path_part, path_query) = match raw_path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (raw_path, None),
    };
    let path = percent_encoding::percent_decode_str(path_part)
        .decode_utf8_lossy()
        .into_owned();
    let Some((api, rel)) = Api::route(&path) else {
        return (None, vec!["not under any known API prefix".to_string()]);
    };
    let doc = document(api);
    let Some((method, _)) = doc.find(&verb, &rel) else {
        return (
            None,
            vec![format!(
                "no {verb} method of this path in the {} discovery document",
                api.name()
            )],
        );
    };
    let mut problems = Vec::new();
    let query = logged_query(&entry["query"], path_query);
    check_query(doc, method, &query, &mut problems);
    check_request_body(doc, method, &entry["body"], &mut problems);
    check_response_body(doc, method, entry, &mut problems);
    (Some(method.id.clone()), problems)
}

/// The query as logged (an object, or a query string) plus whatever the path itself carries after `?`.
fn logged_query(logged: &Value, in_path: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match logged {
        Value::Object(map) => {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.insert(k.clone(), text);
            }
        }
        Value::String(s) => out.extend(url::form_urlencoded::parse(s.as_bytes()).into_owned()),
        _ => {}
    }
    if let Some(q) = in_path {
        out.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    out
}

fn check_query(
    doc: &Document,
    method: &Method,
    query: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) {
    let params = method.def["parameters"].as_object();
    for (key, value) in query {
        // System parameters are taken bare or `$`-prefixed ("$alt, alt": cloud.google.com/apis/docs/system-parameters).
        let system = key.strip_prefix('$').unwrap_or(key);
        let standard = doc.standard_params.iter().any(|p| p == key || p == system);
        let Some(spec) = params.and_then(|p| p.get(key)) else {
            if !standard {
                problems.push(format!(
                    "query parameter '{key}' is not a parameter of {}",
                    method.id
                ));
            }
            continue;
        };
        if let Some(allowed) = spec["enum"].as_array() {
            if !allowed.iter().any(|a| a == value.as_str()) {
                problems.push(format!(
                    "query parameter {key}='{value}' is not one of {}",
                    Value::Array(allowed.clone())
                ));
            }
        }
        let typed = match spec["type"].as_str() {
            Some("boolean") => value == "true" || value == "false",
            Some("integer") => integer_fits(value, spec["format"].as_str()),
            Some("number") => value.parse::<f64>().is_ok(),
            _ => true,
        };
        if !typed {
            problems.push(format!(
                "query parameter {key}='{value}' is not a {}",
                type_label(spec)
            ));
        }
    }
    if let Some(params) = params {
        for (name, spec) in params {
            if spec["location"] == "query" && spec["required"] == true && !query.contains_key(name)
            {
                problems.push(format!(
                    "required query parameter '{name}' of {} is missing",
                    method.id
                ));
            }
        }
    }
}

fn check_request_body(doc: &Document, method: &Method, logged: &Value, problems: &mut Vec<String>) {
    let body = match logged {
        Value::String(s) if s.trim().is_empty() => Value::Null,
        Value::String(s) => match serde_json::from_str(s) {
            Ok(v) => v,
            Err(_) => {
                problems.push("request body is not JSON".into());
                return;
            }
        },
        other => other.clone(),
    };
    let empty = body.is_null() || body.as_object().is_some_and(|o| o.is_empty());
    match method.def.get("request") {
        None if !empty => problems.push(format!("{} takes no request body", method.id)),
        Some(schema) if !body.is_null() => Walk {
            doc,
            side: Side::Request,
            problems,
        }
        .value(schema, &body, "body"),
        _ => {}
    }
}

/// Only successful answers are held to the method's response schema; errors have Google's envelope instead.
fn check_response_body(doc: &Document, method: &Method, entry: &Value, problems: &mut Vec<String>) {
    let Some(status) = entry["status"]
        .as_u64()
        .or_else(|| entry["status"].as_str().and_then(|s| s.parse().ok()))
    else {
        return;
    };
    if !(200..300).contains(&status) {
        return;
    }
    let Some(schema) = method.def.get("response") else {
        return;
    };
    let response = match &entry["response"] {
        // An HTML page or other text is not a JSON answer to check.
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v) => v,
            Err(_) => return,
        },
        other => other.clone(),
    };
    if response.is_object() {
        Walk {
            doc,
            side: Side::Response,
            problems,
        }
        .value(schema, &response, "response");
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

/// A schema walk that records every problem instead of stopping at the first.
struct Walk<'a> {
    doc: &'a Document,
    side: Side,
    problems: &'a mut Vec<String>,
}

impl Walk<'_> {
    fn value(&mut self, schema: &Value, value: &Value, at: &str) {
        if let Some(name) = schema["$ref"].as_str() {
            let doc = self.doc;
            match doc.schema(name) {
                Some(target) => self.value(target, value, at),
                None => self.problems.push(format!(
                    "{at}: schema {name} is not in the discovery document"
                )),
            }
            return;
        }
        if value.is_null() {
            return;
        }
        match schema["type"].as_str() {
            Some("object") => self.object(schema, value, at),
            Some("array") => {
                let Some(items) = value.as_array() else {
                    return self.wrong(at, "array", value);
                };
                for (i, item) in items.iter().enumerate() {
                    self.value(&schema["items"], item, &format!("{at}[{i}]"));
                }
            }
            Some("string") => self.string(schema, value, at),
            Some("integer") => {
                let format = schema["format"].as_str();
                let ok = match value {
                    Value::Number(n) => integer_fits(&n.to_string(), format),
                    Value::String(s) => integer_fits(s, format),
                    _ => false,
                };
                if !ok {
                    self.wrong(at, &type_label(schema), value);
                }
            }
            Some("number") => {
                // proto3 JSON takes a number, a numeric string, or "NaN"/"Infinity"/"-Infinity".
                let ok = match value {
                    Value::Number(_) => true,
                    Value::String(s) => s.parse::<f64>().is_ok(),
                    _ => false,
                };
                if !ok {
                    self.wrong(at, "number", value);
                }
            }
            Some("boolean") if !value.is_boolean() => self.wrong(at, "boolean", value),
            // Booleans, `any` and untyped schemas: nothing more to check.
            _ => {}
        }
    }

    fn object(&mut self, schema: &Value, value: &Value, at: &str) {
        let Some(object) = value.as_object() else {
            return self.wrong(at, "object", value);
        };
        let props = schema["properties"].as_object();
        let extra = schema.get("additionalProperties");
        for (key, sub) in object {
            if let Some(spec) = props.and_then(|p| p.get(key)) {
                self.value(spec, sub, &format!("{at}.{key}"));
            } else if let Some(extra) = extra {
                self.value(extra, sub, &format!("{at}[{key:?}]"));
            } else if props.is_some() {
                self.problems.push(format!("{at}: unknown field '{key}'"));
            }
        }
    }

    fn string(&mut self, schema: &Value, value: &Value, at: &str) {
        let format = schema["format"].as_str();
        if let Some(f @ ("int64" | "uint64")) = format {
            // proto3 JSON: a 64-bit integer "will be a decimal string. Either numbers or strings are accepted"
            // (protobuf.dev/programming-guides/json): Google takes both, answers only strings.
            let ok = match value {
                Value::String(s) => integer_fits(s, Some(f)),
                Value::Number(n) if self.side == Side::Request => {
                    integer_fits(&n.to_string(), Some(f))
                }
                _ => false,
            };
            if !ok {
                let want = match self.side {
                    Side::Request => format!("{f} (decimal string or integer)"),
                    Side::Response => format!("{f} as a decimal string"),
                };
                self.wrong(at, &want, value);
            }
            return;
        }
        let Some(text) = value.as_str() else {
            let want = format.map_or("string".to_string(), |f| format!("string/{f}"));
            return self.wrong(at, &want, value);
        };
        if let Some(allowed) = schema["enum"].as_array() {
            if !allowed.iter().any(|a| a == text) {
                self.problems.push(format!(
                    "{at}: '{text}' is not one of {}",
                    Value::Array(allowed.clone())
                ));
            }
        }
        let well_formed = match format {
            Some("google-duration") => is_duration(text),
            Some("google-datetime") | Some("date-time") => {
                chrono::DateTime::parse_from_rfc3339(text).is_ok()
            }
            Some("byte") => is_base64(text),
            _ => true,
        };
        if !well_formed {
            self.problems.push(format!(
                "{at}: '{text}' is not a well-formed {}",
                format.unwrap_or_default()
            ));
        }
    }

    fn wrong(&mut self, at: &str, want: &str, value: &Value) {
        let mut shown = value.to_string();
        if shown.len() > 60 {
            let cut = (0..=60)
                .rev()
                .find(|i| shown.is_char_boundary(*i))
                .unwrap_or(0);
            shown.truncate(cut);
        }
        self.problems
            .push(format!("{at}: expected {want}, got {shown}"));
    }
}

/// A decimal integer within the range of the discovery `format` (int32 when none is given, as protobuf maps
/// `type: integer` without a format).
fn integer_fits(text: &str, format: Option<&str>) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match format {
        Some("uint32") => text.parse::<u32>().is_ok(),
        Some("int64") => text.parse::<i64>().is_ok(),
        Some("uint64") => text.parse::<u64>().is_ok(),
        _ => text.parse::<i32>().is_ok(),
    }
}

/// proto3 JSON `google.protobuf.Duration`: seconds with up to nine fractional digits and a trailing `s`.
fn is_duration(text: &str) -> bool {
    let Some(number) = text.strip_suffix('s') else {
        return false;
    };
    let number = number.strip_prefix('-').unwrap_or(number);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction) && fraction.len() <= 9
}

/// proto3 JSON `bytes`: standard or URL-safe base64, padded or not.
fn is_base64(text: &str) -> bool {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, URL_SAFE].iter().any(|e| e.decode(text).is_ok())
        || [STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .any(|e| e.decode(text).is_ok())
}

fn type_label(spec: &Value) -> String {
    match (spec["type"].as_str(), spec["format"].as_str()) {
        (Some(t), Some(f)) => format!("{t}/{f}"),
        (Some(t), None) => t.to_string(),
        _ => "value".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RUN: &str = "/run/v2/projects/p/locations/r/services";

    fn entry(method: &str, path: &str, body: Value, status: u16, response: Value) -> Value {
        json!({"method": method, "path": path, "query": {}, "body": body.to_string(),
               "status": status, "response": response})
    }

    fn problems_of(e: &Value) -> Vec<String> {
        check_entry(e).1
    }

    #[test]
    fn a_conforming_create_and_its_operation_pass() {
        let e = json!({"method": "POST", "path": RUN, "query": {"serviceId": "s"},
            "body": json!({"template": {"containers": [{"image": "gcr.io/x/y"}],
                           "timeout": "1.500s"}}).to_string(),
            "status": 200,
            "response": {"name": "projects/p/locations/r/operations/o", "done": false}});
        let (method, problems) = check_entry(&e);
        assert_eq!(
            method.as_deref(),
            Some("run.projects.locations.services.create")
        );
        assert_eq!(problems, Vec::<String>::new());
    }

    #[test]
    fn unknown_paths_and_methods_are_reported() {
        let e = entry("GET", "/nowhere/v1/x", Value::Null, 200, json!({}));
        assert!(problems_of(&e)[0].contains("not under any known API prefix"));
        let e = entry("PUT", &format!("{RUN}/s"), Value::Null, 200, json!({}));
        let (method, problems) = check_entry(&e);
        assert_eq!(method, None);
        assert_eq!(
            problems,
            ["no PUT method of this path in the run discovery document"]
        );
    }

    #[test]
    fn unknown_and_badly_typed_query_parameters_are_reported_and_system_ones_pass() {
        let e = json!({"method": "GET", "path": format!("{RUN}?pageSize=ten&bogus=1"),
                       "query": {"$alt": "json;enum-encoding=int", "showDeleted": "yes"},
                       "body": "", "status": 200, "response": {}});
        let problems = problems_of(&e);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems
            .iter()
            .any(|p| p.contains("'bogus' is not a parameter")));
        assert!(problems.iter().any(|p| p.contains("pageSize='ten'")));
        assert!(problems.iter().any(|p| p.contains("showDeleted='yes'")));
    }

    #[test]
    fn a_missing_required_query_parameter_is_reported() {
        // compute.backendServices.deleteSignedUrlKey requires keyName.
        let path = "/compute/v1/projects/p/global/backendServices/b/deleteSignedUrlKey";
        let e = entry("POST", path, Value::Null, 200, json!({}));
        assert_eq!(
            problems_of(&e),
            ["required query parameter 'keyName' of compute.backendServices.deleteSignedUrlKey is missing"]
        );
        let mut e = e;
        e["query"] = json!({"keyName": "k"});
        assert_eq!(problems_of(&e), Vec::<String>::new());
    }

    #[test]
    fn every_problem_of_a_request_body_is_reported() {
        let body = json!({"template": {"bogus": 1, "scaling": {"maxInstanceCount": "many"},
                          "timeout": "90 seconds", "containers": {"image": "i"}},
                          "ingress": "INGRESS_TRAFFIC_SOMEWHERE"});
        let e = json!({"method": "POST", "path": RUN, "query": {"serviceId": "s"},
                       "body": body.to_string(), "status": 400, "response": {}});
        let problems = problems_of(&e);
        for want in [
            "body.template: unknown field 'bogus'",
            "body.template.scaling.maxInstanceCount: expected integer/int32",
            "body.template.timeout: '90 seconds' is not a well-formed google-duration",
            "body.template.containers: expected array",
            "body.ingress: 'INGRESS_TRAFFIC_SOMEWHERE' is not one of",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(want)),
                "{want} not in {problems:?}"
            );
        }
        assert_eq!(problems.len(), 5, "{problems:?}");
    }

    #[test]
    fn a_body_for_a_method_without_one_and_text_that_is_not_json_are_reported() {
        let e = entry("GET", &format!("{RUN}/s"), json!({"x": 1}), 200, json!({}));
        assert_eq!(
            problems_of(&e),
            ["run.projects.locations.services.get takes no request body"]
        );
        let mut e = entry("POST", RUN, Value::Null, 400, json!({}));
        e["body"] = json!("{not json");
        e["query"] = json!({"serviceId": "s"});
        assert_eq!(problems_of(&e), ["request body is not JSON"]);
    }

    #[test]
    fn successful_answers_are_checked_and_error_answers_are_not() {
        let bad = json!({"name": "projects/p/locations/r/services/s", "generation": 1,
                         "surprise": true, "createTime": "yesterday"});
        let e = entry("GET", &format!("{RUN}/s"), Value::Null, 200, bad.clone());
        let problems = problems_of(&e);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems
            .iter()
            .any(|p| p.starts_with("response.generation: expected int64 as a decimal string")));
        assert!(problems
            .iter()
            .any(|p| p == "response: unknown field 'surprise'"));
        assert!(problems
            .iter()
            .any(|p| p.contains("'yesterday' is not a well-formed google-datetime")));
        let e = entry("GET", &format!("{RUN}/s"), Value::Null, 404, bad);
        assert_eq!(problems_of(&e), Vec::<String>::new());
    }

    #[test]
    fn a_64_bit_integer_may_be_a_number_in_a_request_only() {
        // dns.resourceRecordSets.create: ResourceRecordSet.ttl is int32; Change.id is a string. Compute's
        // BackendService.id is uint64.
        let path = "/compute/v1/projects/p/global/backendServices";
        let e = entry("POST", path, json!({"name": "b", "id": 5}), 200, json!({}));
        assert_eq!(problems_of(&e), Vec::<String>::new());
        let e = entry("POST", path, json!({"name": "b", "id": -5}), 200, json!({}));
        assert_eq!(problems_of(&e).len(), 1);
    }

    #[test]
    fn control_plane_calls_are_skipped_and_an_empty_log_does_not_conform() {
        let mut report = Report::default();
        report.add_log(
            "log",
            "{\"method\":\"POST\",\"path\":\"/_emulator/reset\"}\n\n",
        );
        assert_eq!(report.requests, 0);
        assert!(!report.conforms());
    }

    #[test]
    fn a_nonconforming_log_fails_and_names_each_bad_request() {
        let good = json!({"method": "GET", "path": "/cloudresourcemanager/v1/projects/p", "query": {},
                          "body": "", "status": 200, "response": {"projectId": "p",
                          "projectNumber": "123"}});
        let bad = entry(
            "GET",
            &format!("{RUN}/s"),
            json!({"x": 1}),
            200,
            json!({"uid": 7}),
        );
        let text = format!("{good}\n{bad}\nnot json\n");
        let mut report = Report::default();
        report.add_log("requests.jsonl", &text);
        assert!(!report.conforms());
        assert_eq!(report.requests, 3);
        assert_eq!(report.nonconforming_requests(), 2);
        assert_eq!(report.methods["cloudresourcemanager.projects.get"], 1);
        let text = report.render();
        assert!(
            text.contains("NONCONFORMING requests.jsonl:2: GET /run/v2/projects/p/locations/r/services/s: run.projects.locations.services.get takes no request body"),
            "{text}"
        );
        assert!(text.contains("requests.jsonl:2: GET /run/v2/projects/p/locations/r/services/s: response.uid: expected string"), "{text}");
        assert!(
            text.contains("requests.jsonl:3: ?: the log line is not JSON"),
            "{text}"
        );
        assert!(
            text.ends_with("3 requests, 3 methods, 2 nonconforming requests (3 problems)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_conforming_log_conforms() {
        let good = json!({"method": "GET", "path": "/cloudresourcemanager/v1/projects/p", "query": {},
                          "body": "", "status": 200, "response": {"projectId": "p"}});
        let mut report = Report::default();
        report.add_log("requests.jsonl", &format!("{good}\n"));
        assert!(report.conforms(), "{}", report.render());
    }

    #[test]
    fn durations_integers_and_bytes_follow_proto3_json() {
        assert!(is_duration("1.500s") && is_duration("0s") && is_duration("-3s"));
        assert!(!is_duration("1.5") && !is_duration("s") && !is_duration("1.0000000001s"));
        assert!(integer_fits("2147483647", None) && !integer_fits("2147483648", None));
        assert!(
            !integer_fits("-1", Some("uint64"))
                && integer_fits("18446744073709551615", Some("uint64"))
        );
        assert!(is_base64("BwXhqDw4MfU=") && !is_base64("not base64!"));
    }
}
