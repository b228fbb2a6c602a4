//! AIP-158 paging for list methods: `pageSize`, `pageToken`, `nextPageToken`.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::services::pages;
use crate::services::Call;

const MAX_PAGE: usize = 1000;

/// `{ <field>: [...], nextPageToken? }` for one page of `items`; an empty list answers `{}` as Google does.
pub fn page(call: &Call, field: &str, items: Vec<Value>) -> Result<Value, ApiError> {
    let size = call
        .query("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(MAX_PAGE)
        .min(MAX_PAGE);
    let start = match call.query("pageToken").filter(|t| !t.is_empty()) {
        Some(token) => decode(token)?,
        None => 0,
    };
    let total = items.len();
    let shown: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let mut out = Map::new();
    if !shown.is_empty() {
        out.insert(field.to_string(), Value::Array(shown));
    }
    if start + size < total {
        out.insert(
            "nextPageToken".into(),
            Value::from(pages::encode_token(start + size)),
        );
    }
    Ok(Value::Object(out))
}

fn decode(token: &str) -> Result<usize, ApiError> {
    pages::decode_token(token).ok_or_else(|| {
        ApiError::invalid_argument(format!("The page token '{token}' is not valid."))
    })
}
