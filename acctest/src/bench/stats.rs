//! Median / p90 / min of repeated samples.

use std::time::Duration;

use serde::Serialize;

/// A summary of samples (milliseconds or seconds, as the field name says).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub median: f64,
    pub p90: f64,
    pub min: f64,
    pub n: usize,
}

impl Summary {
    /// Nearest-rank percentiles of `samples`; all zero when there are none.
    pub fn of(samples: &[f64]) -> Summary {
        let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        if s.is_empty() {
            return Summary {
                median: 0.0,
                p90: 0.0,
                min: 0.0,
                n: 0,
            };
        }
        let pct = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
        Summary {
            median: pct(0.5),
            p90: pct(0.9),
            min: s[0],
            n: s.len(),
        }
    }

    /// Summary of durations in milliseconds.
    pub fn of_durations(samples: &[Duration]) -> Summary {
        let ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        Summary::of(&ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_taken_from_the_sorted_samples() {
        let s = Summary::of(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((s.median, s.min, s.n), (3.0, 1.0, 5));
        assert_eq!(s.p90, 5.0);
        assert_eq!(Summary::of(&[]).n, 0);
    }
}
