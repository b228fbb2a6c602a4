//! The mesh's random choices (weighted destinations, fault and failure percentages) from one seeded stream.
//!
//! SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014; the
//! reference code is Vigna's `splitmix64.c` at https://prng.di.unimi.it/splitmix64.c) rather than `rand`'s
//! `StdRng`: `rand` documents `StdRng` as not reproducible across its versions, and tests assert the exact
//! sequences a seed gives. The algorithm is fixed here, so a seed means the same choices forever.

/// A SplitMix64 stream.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1) from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True for `percent` out of 100 draws. Always takes one draw, so the stream does not depend on the value.
    pub fn percent(&mut self, percent: f64) -> bool {
        self.unit() * 100.0 < percent
    }

    /// An index chosen with probability `weight / sum(weights)`; None when every weight is 0. Always takes one
    /// draw.
    pub fn weighted(&mut self, weights: &[u64]) -> Option<usize> {
        let total: u64 = weights.iter().fold(0u64, |a, w| a.saturating_add(*w));
        let draw = self.unit();
        if total == 0 {
            return None;
        }
        let mut point = draw * total as f64;
        for (i, w) in weights.iter().enumerate() {
            if *w > 0 && point < *w as f64 {
                return Some(i);
            }
            point -= *w as f64;
        }
        // Rounding at the very top of the range: the last destination with a weight.
        weights.iter().rposition(|w| *w > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_output() {
        // splitmix64.c seeded with 0: the first outputs.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn weights_of_zero_are_never_chosen_and_all_zero_chooses_nothing() {
        let mut r = SplitMix64::new(7);
        for _ in 0..1000 {
            assert_eq!(r.weighted(&[0, 5, 0]), Some(1));
        }
        assert_eq!(r.weighted(&[0, 0]), None);
        assert!(!r.percent(0.0));
        assert!(r.percent(100.0));
    }
}
