//! Proto3 JSON output encoding of well-known scalar types, driven by the discovery schema: what Google's JSON
//! transcoder writes back for a value a client sent in any accepted spelling.
//!
//! - `format: google-duration`: seconds with 0, 3, 6 or 9 fractional digits and an `s` (`"1.5s"` → `"1.500s"`).
//! - `format: google-datetime`: RFC 3339, `Z`-normalised, 0, 3, 6 or 9 fractional digits.
//! - `format: int64` / `uint64`: a JSON string, also when the client sent a number.
//!
//! Source: the protobuf JSON mapping (<https://protobuf.dev/programming-guides/json/>): "Generated output always
//! contains 0, 3, 6, or 9 fractional digits, depending on required precision, followed by the suffix "s"", and
//! for Timestamp "generated output will always be Z-normalized and uses 0, 3, 6 or 9 fractional digits"; and the
//! discovery documents, which type every int64 field `"type": "string"`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::discovery::Document;

/// Largest duration proto3 allows, in seconds (about 10,000 years; `google/protobuf/duration.proto`).
const MAX_SECONDS: u64 = 315_576_000_000;

/// Rewrites, in place, every duration, timestamp and 64-bit integer of `value` (an instance of schema `schema`
/// of `doc`) the way Google's proto3 JSON encoder writes it. Values that do not parse are left alone: the
/// request checks refuse them before anything is stored.
pub fn encode(doc: &Document, schema: &str, value: &mut Value) {
    if let Some(spec) = doc.schema(schema) {
        encode_with(doc, spec, value);
    }
}

fn encode_with(doc: &Document, spec: &Value, value: &mut Value) {
    if let Some(name) = spec["$ref"].as_str() {
        if let Some(target) = doc.schema(name) {
            encode_with(doc, target, value);
        }
        return;
    }
    match value {
        Value::Object(object) => {
            let props = spec["properties"].as_object();
            let extra = spec.get("additionalProperties");
            for (key, sub) in object.iter_mut() {
                if let Some(p) = props.and_then(|p| p.get(key)) {
                    encode_with(doc, p, sub);
                } else if let Some(e) = extra {
                    encode_with(doc, e, sub);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                encode_with(doc, &spec["items"], item);
            }
        }
        _ => encode_scalar(spec["format"].as_str(), value),
    }
}

fn encode_scalar(format: Option<&str>, value: &mut Value) {
    let encoded = match (format, &*value) {
        (Some("google-duration"), Value::String(s)) => duration(s),
        (Some("google-datetime"), Value::String(s)) => timestamp(s),
        (Some("int64" | "uint64"), Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Some(e) = encoded {
        *value = Value::String(e);
    }
}

/// A proto3 JSON duration as Google reads it: optional `-`, decimal seconds with at most nine fractional
/// digits, `s`. Returns (negative, seconds, nanos).
pub fn parse_duration(text: &str) -> Option<(bool, u64, u32)> {
    let body = text.strip_suffix('s')?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let seconds: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    if seconds > MAX_SECONDS {
        return None;
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some((negative, seconds, nanos))
}

/// The canonical proto3 JSON spelling of a duration (`"1.5s"` → `"1.500s"`, `"30.000s"` → `"30s"`).
pub fn duration(text: &str) -> Option<String> {
    let (negative, seconds, nanos) = parse_duration(text)?;
    let sign = if negative && (seconds, nanos) != (0, 0) {
        "-"
    } else {
        ""
    };
    Some(format!("{sign}{seconds}{}s", fraction(nanos)))
}

/// `""`, `".123"`, `".123456"` or `".123456789"`: the fewest groups of three digits that hold `nanos`.
fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    }
}

/// The canonical proto3 JSON spelling of a timestamp: UTC, `Z`, 0, 3, 6 or 9 fractional digits.
pub fn timestamp(text: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    Some(format_timestamp(t))
}

/// [`timestamp`] of a time the emulator made.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    let whole = t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let stem = whole.trim_end_matches('Z');
    format!("{stem}{}Z", fraction(t.timestamp_subsec_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Api;
    use crate::discovery::document;
    use serde_json::json;

    #[test]
    fn durations_come_back_with_zero_three_six_or_nine_fractional_digits() {
        for (sent, back) in [
            ("1.5s", "1.500s"),
            ("0.25s", "0.250s"),
            ("30s", "30s"),
            ("30.000s", "30s"),
            ("0.000001s", "0.000001s"),
            ("0.0000015s", "0.000001500s"),
            ("1.000000001s", "1.000000001s"),
            (".5s", "0.500s"),
            ("-0s", "0s"),
            ("-1.5s", "-1.500s"),
            ("0s", "0s"),
        ] {
            assert_eq!(duration(sent).as_deref(), Some(back), "{sent}");
        }
        for bad in [
            "",
            "s",
            "1",
            "1.5",
            "1m",
            "1.0000000001s",
            "1e3s",
            "+1s",
            "1..5s",
            ".s",
            "315576000001s",
        ] {
            assert_eq!(duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps_are_utc_with_the_precision_they_need() {
        for (sent, back) in [
            ("2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00Z"),
            ("2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00.500Z"),
            (
                "2026-01-01T01:00:00.123456+01:00",
                "2026-01-01T00:00:00.123456Z",
            ),
            (
                "2026-01-01T00:00:00.123456789Z",
                "2026-01-01T00:00:00.123456789Z",
            ),
        ] {
            assert_eq!(timestamp(sent).as_deref(), Some(back), "{sent}");
        }
    }

    #[test]
    fn the_schema_decides_which_fields_are_durations_and_int64() {
        let doc = document(Api::NetworkServices);
        let mut route = json!({
            "description": "1.5s",
            "rules": [{"action": {
                "timeout": "1.5s",
                "retryPolicy": {"perTryTimeout": "0.25s", "numRetries": 3},
                "faultInjectionPolicy": {"delay": {"fixedDelay": "2.000000s", "percentage": 5}}
            }}],
            "createTime": "2026-01-01T00:00:00.000000Z"
        });
        encode(doc, "HttpRoute", &mut route);
        let action = &route["rules"][0]["action"];
        assert_eq!(action["timeout"], "1.500s");
        assert_eq!(action["retryPolicy"]["perTryTimeout"], "0.250s");
        assert_eq!(
            action["retryPolicy"]["numRetries"], 3,
            "int32 stays a number"
        );
        assert_eq!(action["faultInjectionPolicy"]["delay"]["fixedDelay"], "2s");
        assert_eq!(
            route["description"], "1.5s",
            "a string field is not a duration"
        );
        assert_eq!(route["createTime"], "2026-01-01T00:00:00Z");

        let compute = document(Api::Compute);
        let mut bs =
            json!({"id": 42, "outlierDetection": {"interval": {"seconds": 10, "nanos": 0}}});
        encode(compute, "BackendService", &mut bs);
        assert_eq!(bs["id"], "42");
        assert_eq!(bs["outlierDetection"]["interval"]["seconds"], "10");
        assert_eq!(bs["outlierDetection"]["interval"]["nanos"], 0);
    }
}
