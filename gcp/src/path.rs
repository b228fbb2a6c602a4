//! Request paths: every name put into a URL path is exactly one segment, percent-encoded, so a name read from
//! state, an import ID or an API answer can never add a segment, climb with `..`, or start a query or fragment.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// Characters escaped in a path segment. `/`, `?`, `#` and `%` are what could change the URL's meaning; the rest
/// are what RFC 3986 does not allow in a segment. `*`, `.`, `-`, `_`, `~`, `@`, `:` and `,` stay, as Google's
/// clients send them (record types such as `*.meshapps.internal.`, service accounts, `-` as every location).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'[')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `name` as one path segment. A segment that is only dots stays as it is: the URL parser would resolve it (also
/// encoded, by the WHATWG rules), and [`crate::Endpoints::url`] refuses such a path instead.
pub fn seg(name: &str) -> Cow<'_, str> {
    utf8_percent_encode(name, SEGMENT).into()
}

/// True when a segment of `path` would be resolved by the URL parser (`.`, `..`, or their encoded forms).
pub(crate) fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|s| {
        let s = s.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_with_slash_dots_query_fragment_or_percent_is_encoded() {
        assert_eq!(
            seg("../../../global/backendServices/foreign-backend"),
            "..%2F..%2F..%2Fglobal%2FbackendServices%2Fforeign-backend"
        );
        assert_eq!(seg("svc?alt=json"), "svc%3Falt=json");
        assert_eq!(seg("a#b"), "a%23b");
        assert_eq!(seg("100%"), "100%25");
        assert_eq!(seg("a b\\c"), "a%20b%5Cc");
        // Ordinary names are unchanged, so paths stay what Google's own clients send.
        for plain in [
            "target-neg",
            "*.meshapps.internal.",
            "-",
            "app@p.iam.gserviceaccount.com",
        ] {
            assert_eq!(seg(plain), plain);
        }
    }

    #[test]
    fn dot_segments_are_found_in_any_spelling() {
        for p in [
            "projects/p/..",
            "projects/./x",
            "projects/%2e%2E/x",
            "projects/.%2e",
        ] {
            assert!(has_dot_segment(p), "{p}");
        }
        for p in ["projects/p/..%2Fx", "projects/a.b/x", "projects/.../x"] {
            assert!(!has_dot_segment(p), "{p}");
        }
    }
}
