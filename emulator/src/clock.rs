//! The emulator's clock: real time at an adjustable rate plus a virtual offset tests can advance.

use chrono::{DateTime, Duration, Offset, Utc};
use std::time::Instant;

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
        let elapsed = Duration::microseconds((real * 1_000_000.0) as i64);
        self.origin + elapsed + self.offset
    }

    /// Moves virtual time forward.
    pub fn advance(&mut self, by: Duration) {
        self.offset += by;
    }

    /// Changes how fast time passes from now on (0 = frozen, 1 = real time).
    pub fn set_rate(&mut self, rate: f64) {
        let now = self.now();
        self.origin = now;
        self.offset = Duration::zero();
        self.origin_real = Instant::now();
        self.rate = rate.max(0.0);
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
        Some(std::time::Duration::from_secs_f64(
            virtual_left / 1_000_000.0 / self.rate,
        ))
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

/// Parses a duration such as `90s`, `1m30s` or `1.5s` (Google's JSON duration form included).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(secs) = text.strip_suffix('s').and_then(|s| s.parse::<f64>().ok()) {
        return Some(Duration::microseconds((secs * 1_000_000.0) as i64));
    }
    humantime::parse_duration(text)
        .ok()
        .and_then(|d| Duration::from_std(d).ok())
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
    fn durations_parse_in_google_and_human_forms() {
        assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("1m 30s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("0.5s"), Some(Duration::milliseconds(500)));
    }
}
