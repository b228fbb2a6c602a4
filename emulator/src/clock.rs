//! The emulator's clock: real time at an adjustable rate plus a virtual offset tests can advance.
//!
//! Every input that moves it is bounded, and every calculation saturates, so no request, flag or seed can overflow
//! it: one `advance` of a billion years once made every later request, reset included, panic.

use chrono::{DateTime, Duration, Offset, Utc};
use std::time::Instant;

/// The longest duration accepted anywhere (a seed, the control plane, a request body): the range of
/// `google.protobuf.Duration`, "-315,576,000,000 to +315,576,000,000 inclusive" seconds (about 10,000 years).
pub const MAX_DURATION_SECS: i64 = 315_576_000_000;

/// The fastest clock rate and the largest time scale accepted: a thousand times real time.
pub const MAX_RATE: f64 = 1000.0;

/// The latest instant the clock reports: far enough below chrono's limit that adding any accepted duration to it
/// (twice, for a scaled one) cannot overflow.
fn latest() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC - max_duration() - max_duration() - max_duration()
}

fn max_duration() -> Duration {
    Duration::seconds(MAX_DURATION_SECS)
}

/// Checks a clock rate or time scale: finite, not negative, at most [`MAX_RATE`].
pub fn check_rate(name: &str, value: f64) -> Result<f64, String> {
    if value.is_finite() && (0.0..=MAX_RATE).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{name}: {value} is out of range; give a number from 0 to {MAX_RATE}"
        ))
    }
}

/// A duration saturated to ±[`MAX_DURATION_SECS`].
pub fn clamp_duration(d: Duration) -> Duration {
    d.clamp(-max_duration(), max_duration())
}

/// `now = origin + (real time since origin) × rate + offset`; rate 0 freezes time.
#[derive(Clone, Debug)]
pub struct Clock {
    origin: DateTime<Utc>,
    origin_real: Instant,
    rate: f64,
    offset: Duration,
}

impl Clock {
    /// A clock that follows real time.
    pub fn real() -> Clock {
        Clock {
            origin: Utc::now(),
            origin_real: Instant::now(),
            rate: 1.0,
            offset: Duration::zero(),
        }
    }

    /// A clock that stands still at `at` until advanced.
    pub fn frozen(at: DateTime<Utc>) -> Clock {
        Clock {
            origin: at,
            origin_real: Instant::now(),
            rate: 0.0,
            offset: Duration::zero(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let real = self.origin_real.elapsed().as_secs_f64() * self.rate;
        // `as` saturates (NaN gives 0); the clamp keeps the sum below chrono's limit.
        let elapsed = clamp_duration(Duration::microseconds((real * 1_000_000.0) as i64));
        self.origin
            .checked_add_signed(elapsed)
            .and_then(|t| t.checked_add_signed(self.offset))
            .map_or_else(latest, |t| t.min(latest()))
    }

    /// Moves virtual time forward (saturating at the clock's latest instant).
    pub fn advance(&mut self, by: Duration) {
        self.offset = clamp_duration(self.offset.checked_add(&by).unwrap_or_else(max_duration));
    }

    /// Changes how fast time passes from now on (0 = frozen, 1 = real time), kept within 0 ..= [`MAX_RATE`].
    pub fn set_rate(&mut self, rate: f64) {
        let now = self.now();
        self.origin = now;
        self.offset = Duration::zero();
        self.origin_real = Instant::now();
        self.rate = if rate.is_finite() {
            rate.clamp(0.0, MAX_RATE)
        } else {
            0.0
        };
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Real time to sleep until virtual time `at` is reached, or None when the clock is frozen.
    pub fn real_time_until(&self, at: DateTime<Utc>) -> Option<std::time::Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        let virtual_left = (at - self.now())
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as f64;
        // A tiny rate makes this huge: callers wake up and look again, so a day is long enough.
        let day = std::time::Duration::from_secs(86_400);
        Some(
            std::time::Duration::try_from_secs_f64(virtual_left / 1_000_000.0 / self.rate)
                .map_or(day, |d| d.min(day)),
        )
    }
}

/// RFC 3339 with microseconds and `Z`, as Google writes timestamps.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Compute's `creationTimestamp` style: milliseconds and a numeric offset.
pub fn compute_timestamp(t: DateTime<Utc>) -> String {
    let pacific = chrono::FixedOffset::west_opt(7 * 3600).unwrap_or_else(|| Utc.fix());
    t.with_timezone(&pacific)
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// Parses a duration such as `90s`, `1m30s` or `1.5s` (Google's JSON duration form included); `None` when it is
/// not one or lies outside `google.protobuf.Duration`'s range.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let d = if let Some(secs) = text.strip_suffix('s').and_then(|s| s.parse::<f64>().ok()) {
        if !secs.is_finite() || secs.abs() > MAX_DURATION_SECS as f64 {
            return None;
        }
        Duration::microseconds((secs * 1_000_000.0) as i64)
    } else {
        humantime::parse_duration(text)
            .ok()
            .and_then(|d| Duration::from_std(d).ok())?
    };
    (d.abs() <= max_duration()).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut clock = Clock::frozen(at);
        assert_eq!(clock.now(), at);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), at + Duration::seconds(90));
    }

    #[test]
    fn no_advance_or_rate_overflows_the_clock() {
        let mut clock = Clock::real();
        clock.advance(Duration::MAX);
        clock.advance(Duration::MAX);
        let late = clock.now();
        assert!(late <= latest());
        // Anything the emulator adds to `now` stays representable.
        assert!(late
            .checked_add_signed(max_duration() + max_duration())
            .is_some());
        clock.set_rate(f64::MAX);
        clock.set_rate(f64::NAN);
        assert_eq!(clock.rate(), 0.0);
        clock.set_rate(1e-300);
        assert!(clock.real_time_until(late).is_some());
        let mut back = Clock::real();
        back.advance(Duration::MIN);
        assert!(back.now() < Utc::now());
    }

    #[test]
    fn durations_beyond_google_s_range_are_not_durations() {
        assert_eq!(parse_duration("315576000001s"), None);
        assert_eq!(parse_duration("1e400s"), None);
        assert_eq!(parse_duration("NaNs"), None);
        assert_eq!(parse_duration("infs"), None);
        assert_eq!(parse_duration("99999999999999h"), None);
        assert_eq!(
            parse_duration("315576000000s"),
            Some(Duration::seconds(MAX_DURATION_SECS))
        );
        assert!(check_rate("rate", 1e300).is_err());
        assert!(check_rate("rate", -1.0).is_err());
        assert!(check_rate("rate", f64::NAN).is_err());
        assert_eq!(check_rate("rate", 0.02), Ok(0.02));
    }

    #[test]
    fn durations_parse_in_google_and_human_forms() {
        assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("1m 30s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("0.5s"), Some(Duration::milliseconds(500)));
    }
}
