//! Retry policy, backoff and the sleep function, all passed in as values so tests control time.
//!
//! # What is retried
//!
//! Exactly what Google's own clients retry for the APIs csmrun calls, and nothing else
//! ([`crate::Error::retry_class`] names the class of each retried error). Sources: the google provider's
//! `google/transport/error_retry_predicates.go` (its `defaultErrorRetryPredicates`, applied to every request by
//! `retry_transport.go`, plus `IamServiceAccountNotFound` used by `tpgiamresource/iam.go`), and the client
//! libraries' retry settings in googleapis' `compute_grpc_service_config.json` and `run_grpc_service_config.json`.
//!
//! | class | APIs | source |
//! | --- | --- | --- |
//! | no HTTP answer: connect failure, connection reset, unexpected EOF mid-body, per-request timeout | all | `isNetworkTemporaryError`, `isNetworkTimeoutError`, `isIoEOFError`, `isConnectionResetNetworkError` |
//! | 429, 500, 502, 503 | all | `isCommonRetryableErrorCode` (Run's and Compute's client configs retry `UNAVAILABLE`) |
//! | 504 | all | Compute's client config retries `DEADLINE_EXCEEDED`; a 504 is the front end's timeout of the request, which `isNetworkTimeoutError` retries when the client times out first |
//! | 409 with reason `operationInProgress` | all | `is409OperationInProgressError` |
//! | 403 with ErrorInfo reason `CONCURRENT_OPERATIONS_QUOTA_EXCEEDED` | Compute | `is403ConcurrentOperationsQuotaError` |
//! | 403 "Quota exceeded for quota metric '…' and limit '… per minute' of service …" | all | `is403QuotaExceededPerMinuteError` |
//! | 403 reason `rateLimitExceeded` / `userRateLimitExceeded` (domain `usageLimits`) | Compute, Cloud DNS | the rate-limit answer of the discovery-style APIs (hashicorp/terraform-provider-google#8360; Compute sends it with the ErrorInfo above) |
//! | 400 reason `resourceNotReady` about a network or subnetwork | all | `isNetworkUnreadyError`, `isSubnetworkUnreadyError` |
//! | 400 "Service account … does not exist" on `setIamPolicy`/`getIamPolicy` (a service account created moments ago is not yet visible to IAM) | Cloud Run, Resource Manager | `IamServiceAccountNotFound` |
//! | 404 on an operation poll (an operation can be briefly invisible after it starts) | all | `IsNotFoundRetryableError` (per-resource in the google provider) |
//!
//! Not retried, as those clients do not: any other 400, 401, any other 403 (`forbidden`, `PERMISSION_DENIED`, a
//! per-day quota), 404 outside operation polls, any other 409 (`alreadyExists`, `ABORTED`: a stale etag is re-read
//! and re-applied by the caller, like the google provider's IAM read-modify-write), 412 `conditionNotMet` (a stale
//! fingerprint: re-read, like `IsFingerprintError`/`MetadataRetryWrapper`), 501. The predicates for other
//! products (Cloud SQL, App Engine, Firestore, ...) and `IsCloudRunCreationConflict` (every 409 of the Cloud Run
//! v1 resource, which would hide a real name clash) do not apply. Cloud DNS and Resource Manager have no predicate
//! of their own.
//!
//! Every retry is bounded by the attempt count of [`RetryPolicy`] and by the caller's deadline (the resource
//! timeout), with jittered exponential backoff ([`Backoff`]); a server's `Retry-After` is honoured up to the cap.

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

    /// Waits `d` the way this `Sleep` does.
    pub fn sleep(&self, d: Duration) -> SleepFuture {
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
