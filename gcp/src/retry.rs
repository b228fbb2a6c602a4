//! Retry policy, backoff and the sleep function, all passed in as values so tests control time.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the transport and the poller wait. Production uses tokio's timer (which tests can pause); tests may pass
/// an instant sleep that also records the requested delays.
#[derive(Clone)]
pub struct Sleep(Arc<dyn Fn(Duration) -> SleepFuture + Send + Sync>);

impl Sleep {
    /// `tokio::time::sleep`: real time, or virtual time under `tokio::time::pause`.
    pub fn tokio() -> Self {
        Sleep::new(|d| Box::pin(tokio::time::sleep(d)))
    }

    /// Returns at once; for tests that only care about the sequence of delays.
    pub fn instant() -> Self {
        Sleep::new(|_| Box::pin(std::future::ready(())))
    }

    pub fn new<F>(f: F) -> Self
    where
        F: Fn(Duration) -> SleepFuture + Send + Sync + 'static,
    {
        Sleep(Arc::new(f))
    }

    pub(crate) fn sleep(&self, d: Duration) -> SleepFuture {
        (self.0)(d)
    }
}

impl Default for Sleep {
    fn default() -> Self {
        Sleep::tokio()
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sleep")
    }
}

/// Exponential backoff with jitter: the n-th delay is uniform in `[c/2, c]` where
/// `c = min(initial * multiplier^n, max)`. Jitter keeps many concurrent writers (IAM, quota) from retrying in step.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration, multiplier: f64) -> Self {
        Backoff {
            initial,
            max,
            multiplier: if multiplier.is_finite() && multiplier >= 1.0 {
                multiplier
            } else {
                1.0
            },
        }
    }

    /// The upper bound of the delay before retry number `attempt` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.powi(attempt.min(64) as i32);
        let secs = self.initial.as_secs_f64() * factor;
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::try_from_secs_f64(secs).unwrap_or(self.max)
        }
    }

    /// A jittered delay before retry number `attempt` (0-based), never above [`Backoff::ceiling`].
    pub fn delay(&self, attempt: u32) -> Duration {
        let c = self.ceiling(attempt);
        let low = c / 2;
        if c <= low {
            return c;
        }
        let span = (c - low).as_nanos() as u64;
        low + Duration::from_nanos(rand::rng().random_range(0..=span))
    }
}

/// Which failures are retried and how often. Only [`crate::Error::is_retryable`] failures (plus a 404 on an
/// operation poll) are ever retried; this policy bounds how many times and how fast.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first; 1 means no retries.
    pub max_attempts: u32,
    pub backoff: Backoff,
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

impl Default for RetryPolicy {
    /// 8 attempts, 1 s doubling to 32 s: about two minutes of retrying, within a typical resource timeout.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(32), 2.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_grow_exponentially_up_to_the_cap() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30), 2.0);
        let got: Vec<u64> = (0..8).map(|i| b.ceiling(i).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn delays_are_jittered_within_half_to_full_ceiling() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 2.0);
        let mut distinct = std::collections::BTreeSet::new();
        for attempt in 0..10 {
            for _ in 0..50 {
                let d = b.delay(attempt);
                let c = b.ceiling(attempt);
                assert!(d >= c / 2 && d <= c, "attempt {attempt}: {d:?} vs {c:?}");
                distinct.insert(d);
            }
        }
        assert!(distinct.len() > 100, "jitter spreads delays");
    }

    #[test]
    fn a_bad_multiplier_becomes_constant_backoff() {
        for m in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8), m);
            assert_eq!(b.ceiling(5), Duration::from_secs(1), "multiplier {m}");
        }
    }
}
