//! A tiny deterministic pseudo-random generator (SplitMix64) whose output never changes.
//!
//! Synthetic data must be reproducible from a seed across versions and
//! platforms, so this module pins the algorithm instead of depending on a
//! crate whose streams may change. It is not cryptographic.

/// The SplitMix64 increment ("golden gamma").
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 output function (a strong 64-bit mixer).
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64 (Steele, Lea & Flood 2014): one `u64` of state, fast, and frozen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose first output is the reference SplitMix64 output for `seed`.
    pub const fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A uniform integer in `0..n`; `0` when `n == 0`.
    ///
    /// Lemire's multiply-and-shift with rejection, so the result is exactly
    /// uniform and usually costs a single draw.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `lo..=hi`; `lo` when `hi < lo`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.wrapping_sub(lo) as u64;
        match span.checked_add(1) {
            Some(n) => lo.wrapping_add(self.below(n) as i64),
            None => self.next_u64() as i64,
        }
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (`p <= 0` or NaN: never; `p >= 1`: always).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element; `None` when `items` is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// An index chosen with probability proportional to `weights[i]`.
    ///
    /// Returns `0` when `weights` is empty or all weights are zero.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            let w = u64::from(w);
            if r < w {
                return i;
            }
            r -= w;
        }
        0
    }

    /// A new generator for the sub-stream `stream`, independent of this one.
    ///
    /// Advances `self` by one draw; the same parent state and `stream` always
    /// give the same child.
    pub fn fork(&mut self, stream: u64) -> SplitMix64 {
        let base = self.next_u64();
        SplitMix64::new(mix(base ^ mix(stream.wrapping_add(GAMMA))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_outputs_for_seed_zero() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn matches_the_reference_outputs_for_seed_1234567() {
        // From the reference C implementation (splitmix64.c, Vigna).
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(r.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn pins_the_derived_helpers() {
        // Part of the synthetic data's stability promise (checked against an
        // independent Python transcription of the same algorithms).
        let mut r = SplitMix64::new(42);
        let below: Vec<u64> = (0..5).map(|_| r.below(100)).collect();
        assert_eq!(below, [74, 15, 27, 34, 3]);
        let range: Vec<i64> = (0..3).map(|_| r.range(-10, 10)).collect();
        assert_eq!(range, [8, -6, 6]);
        let weighted: Vec<usize> = (0..5).map(|_| r.weighted(&[1, 2, 3])).collect();
        assert_eq!(weighted, [1, 2, 1, 1, 2]);
        let mut parent = SplitMix64::new(7);
        let mut child = parent.fork(3);
        assert_eq!(child.next_u64(), 0xd91d_06ae_64b1_8064);
        assert_eq!(parent.next_u64(), 0x044c_3cd7_f43c_661c);
        assert_eq!(SplitMix64::new(7).fork(3), SplitMix64::new(7).fork(3));
        assert_ne!(SplitMix64::new(7).fork(4), SplitMix64::new(7).fork(3));
    }

    #[test]
    fn below_and_range_stay_in_bounds() {
        let mut r = SplitMix64::new(1);
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let v = r.range(-3, 5);
            assert!((-3..=5).contains(&v));
        }
        assert_eq!(r.range(5, 5), 5);
        assert_eq!(r.range(9, 2), 9);
        let _ = r.range(i64::MIN, i64::MAX);
        let _ = r.below(u64::MAX);
    }

    #[test]
    fn below_is_roughly_uniform() {
        let mut r = SplitMix64::new(99);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[r.below(6) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (9_000..11_000).contains(&c)), "{counts:?}");
    }

    #[test]
    fn chance_handles_edges() {
        let mut r = SplitMix64::new(5);
        assert!((0..1000).all(|_| !r.chance(0.0)));
        assert!((0..1000).all(|_| r.chance(1.0)));
        assert!((0..1000).all(|_| !r.chance(f64::NAN)));
        let hits = (0..10_000).filter(|_| r.chance(0.25)).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
    }

    #[test]
    fn pick_and_weighted() {
        let mut r = SplitMix64::new(11);
        let empty: [u8; 0] = [];
        assert_eq!(r.pick(&empty), None);
        assert_eq!(r.pick(&[4]), Some(&4));
        assert_eq!(r.weighted(&[]), 0);
        assert_eq!(r.weighted(&[0, 0]), 0);
        assert!((0..1000).all(|_| r.weighted(&[0, 3, 0]) == 1));
        let ones = (0..10_000).filter(|_| r.weighted(&[1, 3]) == 1).count();
        assert!((7_000..8_000).contains(&ones), "{ones}");
    }
}
