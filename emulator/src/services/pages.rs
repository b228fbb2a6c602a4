//! List paging the APIs share: page slicing and opaque offset tokens (base64url, so clients cannot read them
//! as a number).

use base64::Engine as _;
use serde_json::Value;

/// The page of `items` from index `start` with at most `size` items, and the index of the next page's first
/// item when there is one (the plain-number token Cloud DNS and Cloud Run hand out).
pub fn slice(items: Vec<Value>, start: usize, size: usize) -> (Vec<Value>, Option<String>) {
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    let page = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    (page, next)
}

pub fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

/// The offset in a token `encode_token` made; `None` for anything else (each API words that error its own way).
pub fn decode_token(token: &str) -> Option<usize> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_names_the_next_index_only_when_items_remain() {
        let items: Vec<Value> = (0..5).map(Value::from).collect();
        assert_eq!(
            slice(items.clone(), 0, 2),
            (vec![Value::from(0), Value::from(1)], Some("2".into()))
        );
        assert_eq!(slice(items.clone(), 4, 2), (vec![Value::from(4)], None));
        assert_eq!(slice(items, 9, usize::MAX), (vec![], None));
    }

    #[test]
    fn a_token_decodes_to_its_offset_and_others_do_not_decode() {
        assert_eq!(decode_token(&encode_token(42)), Some(42));
        assert_eq!(decode_token("not-a-token"), None);
        assert_eq!(decode_token(&encode_token(0)[1..]), None);
    }
}
