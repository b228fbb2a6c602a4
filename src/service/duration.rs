//! Go-style duration strings (`10s`, `1.5s`, `20m`, `1h30m`, `250ms`) as used in the schema and by Google's APIs.

use std::time::Duration;

/// Parses a duration of one or more `<number><unit>` terms; units `ns`, `us`, `ms`, `s`, `m`, `h`.
///
/// A bare `0` is accepted (Go does the same); negative durations are not.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{s:?} has a number without a unit (use e.g. \"10s\")"))?;
        if num_len == 0 {
            return Err(format!(
                "{s:?} is not a duration (use e.g. \"10s\", \"1.5s\", \"20m\")"
            ));
        }
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "{s:?} has unknown unit {unit:?} (use ns, us, ms, s, m or h)"
                ))
            }
        };
        total_nanos = total_nanos
            .checked_add(
                scaled(num, unit_nanos)
                    .ok_or_else(|| format!("{s:?} has a malformed number {num:?}"))?,
            )
            .ok_or_else(|| format!("{s:?} is too long"))?;
        rest = next;
    }
    let secs =
        u64::try_from(total_nanos / 1_000_000_000).map_err(|_| format!("{s:?} is too long"))?;
    Ok(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

/// `num` (decimal, maybe fractional) times `unit_nanos`, exactly to the nanosecond.
fn scaled(num: &str, unit_nanos: u128) -> Option<u128> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    let int_v: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut total = int_v.checked_mul(unit_nanos)?;
    let mut scale = unit_nanos;
    for d in frac.chars() {
        scale /= 10;
        total = total.checked_add(u128::from(d.to_digit(10)?) * scale)?;
    }
    Some(total)
}

/// The largest `google.protobuf.Duration`: "Range is approximately +-10,000 years", exactly 315,576,000,000 s
/// (duration.proto); Google refuses a longer one.
pub const MAX_GOOGLE: Duration = Duration::from_secs(315_576_000_000);

/// Formats a bound for messages in the schema's own form: `24h`, `1h`, `90m`, `45s`, `1.5s`.
pub fn to_go(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 {
        to_google(d)
    } else if secs != 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// `now + d`, or the furthest instant representable when that overflows (a bound far in the future).
pub fn deadline_after(now: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(MAX_GOOGLE))
        .unwrap_or(now)
}

/// Formats a duration the way Google's JSON APIs take it: seconds with up to nine decimals and an `s`.
pub fn to_google(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        let frac = format!("{:09}", d.subsec_nanos());
        format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
    }
}

/// Reads a duration in Google's proto3 JSON form: decimal seconds with at most nine fractional digits and an `s`
/// (`"30s"`, `"1.500s"`, `".5s"`). Google answers with 0, 3, 6 or 9 fractional digits whatever the request said,
/// so a read-back duration is compared by value, never by spelling. Negative durations are `None` (csmrun sends
/// none), as is anything else that is not this form.
pub fn parse_google(s: &str) -> Option<Duration> {
    let body = s.strip_suffix('s')?;
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(Duration::new(secs, nanos))
}

/// Whether two strings are Google durations of the same length (`"1.5s"` and `"1.500s"`).
pub fn same_google(a: &str, b: &str) -> bool {
    matches!((parse_google(a), parse_google(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_durations_compare_by_value_not_spelling() {
        for (sent, back) in [
            ("1.5s", "1.500s"),
            ("0.25s", "0.250s"),
            ("30s", "30s"),
            ("30s", "30.000s"),
            ("0s", "0.000s"),
            (".5s", "0.500s"),
            ("0.000001s", "0.000001000s"),
            ("0.0000015s", "0.000001500s"),
            ("1.000000001s", "1.000000001s"),
            ("5400s", "5400.000000000s"),
        ] {
            assert!(
                same_google(sent, back),
                "{sent} and {back} are one duration"
            );
            assert!(
                same_google(back, sent),
                "{back} and {sent} are one duration"
            );
        }
        for (a, b) in [
            ("1.5s", "1.050s"),
            ("1s", "1.000000001s"),
            ("30s", "3s"),
            ("1.5s", "1.5"),
            ("1m", "60s"),
            ("1.0000000001s", "1s"),
            ("-1s", "-1s"),
            ("s", "s"),
            ("1e3s", "1000s"),
        ] {
            assert!(
                !same_google(a, b),
                "{a} and {b} are not the same Google duration"
            );
        }
        assert_eq!(
            parse_google("18446744073709551615.999999999s"),
            Some(Duration::new(u64::MAX, 999_999_999))
        );
        assert_eq!(parse_google("18446744073709551616s"), None, "no overflow");
    }

    #[test]
    fn parses_go_style_durations() {
        let cases = [
            ("10s", Duration::from_secs(10)),
            ("1.5s", Duration::from_millis(1500)),
            ("20m", Duration::from_secs(1200)),
            ("1h30m", Duration::from_secs(5400)),
            ("250ms", Duration::from_millis(250)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            (".5s", Duration::from_millis(500)),
        ];
        for (s, want) in cases {
            assert_eq!(parse(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn rejects_malformed_durations() {
        for s in ["", "10", "10 s", "ten", "-5s", "1.2.3s", "5d", "s", "1.s5"] {
            assert!(parse(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn a_deadline_after_a_huge_duration_saturates_instead_of_panicking() {
        let now = tokio::time::Instant::now();
        let far = deadline_after(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(3600 * 24 * 365));
        assert_eq!(
            deadline_after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert_eq!(to_go(Duration::from_secs(86_400)), "24h");
        assert_eq!(to_go(Duration::from_secs(90)), "90s");
        assert_eq!(to_go(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn formats_for_google_apis() {
        assert_eq!(to_google(Duration::from_secs(10)), "10s");
        assert_eq!(to_google(Duration::from_millis(1500)), "1.5s");
        assert_eq!(to_google(Duration::from_nanos(1)), "0.000000001s");
    }
}
