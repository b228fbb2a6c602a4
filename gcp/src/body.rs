//! Reading response bodies safely (size caps) and parsing Google's error envelopes in both styles.

use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::Value;

/// Largest error body we read; Google's are a few KiB, an HTML error page maybe 2 KiB.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;
/// Largest successful body we read. The biggest answers are list pages: 500 Cloud Run services of ~10 KiB are
/// 5 MiB, and IAM policies are capped at 64 KiB, so anything near this is not an answer to our request.
pub(crate) const MAX_SUCCESS_BODY: usize = 16 * 1024 * 1024;
/// How much of an unparseable body we quote in a message.
const SNIPPET: usize = 200;

/// What an error body says, whatever its shape.
#[derive(Debug, Default)]
pub(crate) struct ServiceError {
    pub status: Option<String>,
    pub reasons: Vec<String>,
    pub message: String,
    /// The body was Google's JSON error envelope (not an HTML page from a proxy or a wrong URL).
    pub is_google: bool,
}

impl ServiceError {
    /// Parses `{"error": {...}}` with `status` (AIP style) and/or `errors[].reason` (discovery style) and
    /// `details[].reason` (ErrorInfo). Anything else yields a message that says what arrived instead.
    pub fn parse(http_status: u16, body: &[u8]) -> ServiceError {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return ServiceError {
                message: describe_unparseable(http_status, body),
                ..Default::default()
            };
        };
        let Some(err) = value.get("error") else {
            return ServiceError {
                message: format!(
                    "HTTP {http_status} with a JSON body that is not a Google error: {}",
                    snippet(body)
                ),
                ..Default::default()
            };
        };
        // Some older endpoints answer `{"error": "message"}`.
        if let Some(text) = err.as_str() {
            return ServiceError {
                message: text.to_string(),
                ..Default::default()
            };
        }
        if !err.is_object() {
            return ServiceError {
                message: format!(
                    "HTTP {http_status} with a malformed Google error: {}",
                    snippet(body)
                ),
                ..Default::default()
            };
        }
        let status = err
            .get("status")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let mut reasons: Vec<String> = Vec::new();
        for item in err
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = item.get("reason").and_then(Value::as_str) {
                push_unique(&mut reasons, r);
            }
        }
        for detail in err
            .get("details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let is_info = detail
                .get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("google.rpc.ErrorInfo"));
            if let (true, Some(r)) = (is_info, detail.get("reason").and_then(Value::as_str)) {
                push_unique(&mut reasons, r);
            }
        }
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                err.get("errors")?
                    .as_array()?
                    .iter()
                    .find_map(|e| e.get("message")?.as_str().map(str::to_string))
            })
            .unwrap_or_else(|| format!("HTTP {http_status} without a message"));
        ServiceError {
            status,
            reasons,
            message,
            is_google: true,
        }
    }
}

fn push_unique(v: &mut Vec<String>, r: &str) {
    if !r.is_empty() && !v.iter().any(|x| x == r) {
        v.push(r.to_string());
    }
}

fn describe_unparseable(http_status: u16, body: &[u8]) -> String {
    if body.is_empty() {
        return format!("HTTP {http_status} with an empty body");
    }
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    let what = if trimmed.starts_with('<') {
        "an HTML page"
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        "malformed or truncated JSON"
    } else {
        "a non-JSON body"
    };
    format!(
        "HTTP {http_status} with {what} instead of a Google error: {}",
        snippet(body)
    )
}

/// Decodes the body of a 2xx answer of a method whose discovery document declares a response; `Err` says what
/// arrived instead, for a message. Follows Google's generated clients: 204 No Content is the empty message (`{}`),
/// while a 200 with an empty body is an error, since Google sends `{}` for an empty message (Cloud DNS's
/// `ResourceRecordSetsDeleteResponse`, `google.protobuf.Empty`) and an empty 200 comes from something else.
pub(crate) fn decode_success<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, String> {
    if status == 204 {
        return serde_json::from_slice(b"{}")
            .map_err(|e| format!("answered 204 No Content where the method returns data: {e}"));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(format!(
            "answered {status} with an empty body instead of the JSON the method returns"
        ));
    }
    serde_json::from_slice(body).map_err(|e| describe_undecodable(status, body, &e))
}

/// Checks the body of a 2xx answer of a method whose discovery document declares no response (Cloud DNS
/// `managedZones.delete` answers 204): an empty body or any JSON is fine. Google's clients ignore the body there;
/// we still refuse a body that is not JSON (an HTML login page), which says Google never saw the request.
pub(crate) fn check_no_response(status: u16, body: &[u8]) -> Result<(), String> {
    if status == 204 || body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    serde_json::from_slice::<Value>(body)
        .map(|_| ())
        .map_err(|e| describe_undecodable(status, body, &e))
}

/// Why a 2xx body failed to decode as the method's JSON, quoting its start.
fn describe_undecodable(status: u16, body: &[u8], e: &serde_json::Error) -> String {
    if std::str::from_utf8(body).is_err() {
        return format!(
            "answered {status} with a body that is not UTF-8 text, so not JSON; it starts with bytes {}",
            hex_start(body)
        );
    }
    let what = if String::from_utf8_lossy(body).trim_start().starts_with('<') {
        "an HTML page instead of JSON (a proxy or login page answered?)".to_string()
    } else {
        match e.classify() {
            Category::Eof => format!("truncated JSON ({e})"),
            Category::Data => format!("JSON of the wrong shape ({e})"),
            Category::Syntax | Category::Io => format!("a body that is not JSON ({e})"),
        }
    };
    format!(
        "answered {status} with {what}; body starts: {}",
        snippet(body)
    )
}

/// The first bytes of a body in hex, for bodies that are not text.
fn hex_start(body: &[u8]) -> String {
    let mut out: Vec<String> = body.iter().take(16).map(|b| format!("{b:02x}")).collect();
    if body.len() > 16 {
        out.push("…".into());
    }
    out.join(" ")
}

/// The first characters of a body, whitespace collapsed and control characters replaced, for messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET * 4)]);
    let collapsed: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    let mut out: String = collapsed.chars().take(SNIPPET).collect();
    if collapsed.chars().count() > SNIPPET {
        out.push('…');
    }
    out
}

/// Reads at most `cap` bytes of a response; `Ok((bytes, truncated))`.
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = cap - out.len();
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, false))
}

/// google.rpc.Code number → (name, HTTP status), as in google/rpc/code.proto.
pub(crate) fn rpc_code(code: i64) -> (Option<&'static str>, Option<u16>) {
    let (name, http) = match code {
        0 => ("OK", 200),
        1 => ("CANCELLED", 499),
        2 => ("UNKNOWN", 500),
        3 => ("INVALID_ARGUMENT", 400),
        4 => ("DEADLINE_EXCEEDED", 504),
        5 => ("NOT_FOUND", 404),
        6 => ("ALREADY_EXISTS", 409),
        7 => ("PERMISSION_DENIED", 403),
        8 => ("RESOURCE_EXHAUSTED", 429),
        9 => ("FAILED_PRECONDITION", 400),
        10 => ("ABORTED", 409),
        11 => ("OUT_OF_RANGE", 400),
        12 => ("UNIMPLEMENTED", 501),
        13 => ("INTERNAL", 500),
        14 => ("UNAVAILABLE", 503),
        15 => ("DATA_LOSS", 500),
        16 => ("UNAUTHENTICATED", 401),
        _ => return (None, None),
    };
    (Some(name), Some(http))
}
