//! Compute list responses: `filter` (single comparisons), `maxResults`/`pageToken` paging, Google's list shape.

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::errors;
use super::refs::CANONICAL_PREFIX;
use crate::error::ApiError;
use crate::services::{Call, Reply};

const DEFAULT_PAGE: usize = 500;

/// Answers a list call over `items` (in name order): `kind` is e.g. `compute#backendServiceList`,
/// `path` the collection path (`projects/p/global/backendServices`).
pub fn reply(call: &Call, kind: &str, path: &str, items: Vec<Value>) -> Result<Reply, ApiError> {
    let filter = match call
        .query("filter")
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        Some(text) => Some(Filter::parse(text)?),
        None => None,
    };
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|i| filter.as_ref().is_none_or(|f| f.matches(i)))
        .collect();
    let page = call
        .query("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_PAGE)
        .min(DEFAULT_PAGE);
    let start = match call.query("pageToken") {
        Some(token) => decode_token(token)?,
        None => 0,
    };
    let rest = items.split_off(start.min(items.len()));
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    out.insert("id".into(), json!(path));
    if !rest.is_empty() {
        let more = rest.len() > page;
        let shown: Vec<Value> = rest.into_iter().take(page).collect();
        out.insert("items".into(), Value::Array(shown));
        if more {
            out.insert("nextPageToken".into(), json!(encode_token(start + page)));
        }
    }
    out.insert(
        "selfLink".into(),
        json!(format!("{CANONICAL_PREFIX}{path}")),
    );
    Ok(Reply::json(Value::Object(out)))
}

fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_token(token: &str) -> Result<usize, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "Invalid value for field 'pageToken': '{token}'. The page token is not valid."
            ))
        })
}

/// One comparison of Compute's filter language: `field = "value"`, `field != value`, `field eq value`,
/// `field ne value` (`eq`/`ne` take a regular expression). Nested fields use dots (`cloudRun.service`).
struct Filter {
    field: Vec<String>,
    negate: bool,
    matcher: Matcher,
}

enum Matcher {
    Equals(String),
    Regex(regex::Regex),
}

impl Filter {
    fn parse(text: &str) -> Result<Filter, ApiError> {
        let invalid = || {
            errors::invalid(
                "filter",
                text,
                "Only a single comparison such as name = \"x\" is supported by csmrun-emulator.",
            )
        };
        let text = text.trim_start_matches('(').trim_end_matches(')');
        for (op, negate, regex) in [
            (" != ", true, false),
            (" = ", false, false),
            (" ne ", true, true),
            (" eq ", false, true),
        ] {
            if let Some((field, value)) = text.split_once(op) {
                let value = value.trim().trim_matches('"').to_string();
                let matcher = if regex {
                    let anchored = format!("^(?:{value})$");
                    Matcher::Regex(regex::Regex::new(&anchored).map_err(|_| invalid())?)
                } else {
                    Matcher::Equals(value)
                };
                return Ok(Filter {
                    field: field.trim().split('.').map(str::to_string).collect(),
                    negate,
                    matcher,
                });
            }
        }
        Err(invalid())
    }

    fn matches(&self, item: &Value) -> bool {
        let mut v = item;
        for part in &self.field {
            match v.get(part) {
                Some(next) => v = next,
                None => return self.negate,
            }
        }
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let hit = match &self.matcher {
            Matcher::Equals(want) => &text == want,
            Matcher::Regex(re) => re.is_match(&text),
        };
        hit != self.negate
    }
}
