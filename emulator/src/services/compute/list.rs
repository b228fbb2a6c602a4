//! Compute list responses: `filter`, `maxResults`/`pageToken` paging, Google's list shape.

use serde_json::{json, Map, Value};

use super::errors;
use super::filter::Filter;
use super::refs::CANONICAL_PREFIX;
use crate::error::ApiError;
use crate::services::pages;
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
        Some(text) => Some(Filter::parse(text).map_err(|why| {
            errors::invalid("filter", text, &format!("Invalid list filter: {why}."))
        })?),
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
            out.insert(
                "nextPageToken".into(),
                json!(pages::encode_token(start + page)),
            );
        }
    }
    out.insert(
        "selfLink".into(),
        json!(format!("{CANONICAL_PREFIX}{path}")),
    );
    Ok(Reply::json(Value::Object(out)))
}

fn decode_token(token: &str) -> Result<usize, ApiError> {
    pages::decode_token(token).ok_or_else(|| {
        ApiError::invalid_argument(format!(
            "Invalid value for field 'pageToken': '{token}'. The page token is not valid."
        ))
    })
}

/// Answers an aggregated list over `scoped` (scope name such as `regions/us-central1`, item), in scope then name
/// order: `items` maps each scope to `{<field>: [...]}`; every scope in `scopes` with no item on this page gets
/// Google's `NO_RESULTS_ON_PAGE` warning instead. `kind` is e.g. `compute#networkEndpointGroupAggregatedList`,
/// `path` the aggregated path (`projects/p/aggregated/networkEndpointGroups`).
pub fn aggregated_reply(
    call: &Call,
    kind: &str,
    path: &str,
    field: &str,
    scopes: &[String],
    scoped: Vec<(String, Value)>,
) -> Result<Reply, ApiError> {
    let filter = match call
        .query("filter")
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        Some(text) => Some(Filter::parse(text).map_err(|why| {
            errors::invalid("filter", text, &format!("Invalid list filter: {why}."))
        })?),
        None => None,
    };
    let mut scoped: Vec<(String, Value)> = scoped
        .into_iter()
        .filter(|(_, i)| filter.as_ref().is_none_or(|f| f.matches(i)))
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
    let rest = scoped.split_off(start.min(scoped.len()));
    let more = rest.len() > page;
    let mut by_scope: std::collections::BTreeMap<String, Vec<Value>> =
        scopes.iter().map(|s| (s.clone(), Vec::new())).collect();
    for (scope, item) in rest.into_iter().take(page) {
        by_scope.entry(scope).or_default().push(item);
    }
    let items: Map<String, Value> = by_scope
        .into_iter()
        .map(|(scope, list)| {
            let entry = if list.is_empty() {
                json!({"warning": {
                    "code": "NO_RESULTS_ON_PAGE",
                    "message": format!("There are no results for scope '{scope}' on this page."),
                    "data": [{"key": "scope", "value": scope}]
                }})
            } else {
                json!({ field: list })
            };
            (scope, entry)
        })
        .collect();
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    out.insert("id".into(), json!(path));
    out.insert("items".into(), Value::Object(items));
    if more {
        out.insert(
            "nextPageToken".into(),
            json!(pages::encode_token(start + page)),
        );
    }
    out.insert(
        "selfLink".into(),
        json!(format!("{CANONICAL_PREFIX}{path}")),
    );
    Ok(Reply::json(Value::Object(out)))
}
