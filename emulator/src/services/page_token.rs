//! Opaque list page tokens: the offset of the next item, base64url so clients cannot read it as a number.

use base64::Engine as _;

pub fn encode(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

/// The offset in a token `encode` made; `None` for anything else (each API words that error its own way).
pub fn decode(token: &str) -> Option<usize> {
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
    fn a_token_decodes_to_its_offset_and_others_do_not_decode() {
        assert_eq!(decode(&encode(42)), Some(42));
        assert_eq!(decode("not-a-token"), None);
        assert_eq!(decode(&encode(0)[1..]), None);
    }
}
