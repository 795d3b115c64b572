//! A small deterministic random number generator, keyed so that parallel work stays
//! reproducible.
//!
//! The generator must give byte-identical output for the same seed on any machine and any
//! number of threads. A single shared stream would make the result depend on the order in
//! which rayon runs its tasks, so every random decision draws from a generator *keyed* by
//! `(seed, stream, a, b)`: e.g. `(seed, Stream::Churn, interval, voter index)`. Keyed
//! generators are independent of scheduling by construction.
//!
//! The core is SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014): one 64-bit state, a Weyl increment and a strong output mix. It
//! is not cryptographic and need not be: it only has to look random to statistical tests.
//! No floating-point function whose result could differ between platforms is used on the
//! decision path except `ln`, `exp`, `sqrt`, `cos`, which Rust's std delegates to the
//! platform libm; results are rounded to integers or compared with probabilities, so a last-bit
//! difference could only matter on an exact tie (probability ~2^-52 per draw).

/// The Weyl increment of SplitMix64 (the odd constant nearest 2^64 / golden ratio).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function (Stafford's "Mix13" variant), a bijection on `u64`.
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Independent purposes that draw random numbers; part of every key so that, say, the
/// choice of a voter's name never correlates with the choice of their death.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    Geography = 1,
    Household,
    Churn,
    Move,
    Overdispersion,
    NewRegistration,
    Anomaly,
    Duplicate,
}

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for one purpose and one item: the same key always gives the same sequence.
    pub(crate) fn keyed(seed: u64, stream: Stream, a: u64, b: u64) -> Rng {
        let s = mix64(seed ^ GOLDEN_GAMMA);
        let s = mix64(s ^ (stream as u64).wrapping_mul(GOLDEN_GAMMA));
        let s = mix64(s ^ a.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let s = mix64(s ^ b.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7));
        Rng { state: s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-32 for n < 2^32).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0, "below(0) has no value to return");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range_i32(&mut self, lo: i32, hi: i32) -> i32 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo) as u64 + 1) as i32
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A standard normal deviate (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A lognormal multiplier with mean 1 and log-standard-deviation `sigma`.
    pub(crate) fn lognormal_mean_one(&mut self, sigma: f64) -> f64 {
        (sigma * self.normal() - sigma * sigma / 2.0).exp()
    }

    /// An element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Chooses `k` distinct items of `items` (all of them if `k >= len`), in a random order
    /// (partial Fisher-Yates on a copy).
    pub(crate) fn sample<T: Copy>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut pool = items.to_vec();
        let k = k.min(pool.len());
        for i in 0..k {
            let j = i + self.below((pool.len() - i) as u64) as usize;
            pool.swap(i, j);
        }
        pool.truncate(k);
        pool
    }
}

/// Walker's alias method: O(1) draws from a fixed discrete distribution.
#[derive(Clone, Debug)]
pub(crate) struct AliasTable {
    /// Acceptance threshold of each column, scaled to `u32::MAX`.
    threshold: Vec<u32>,
    alias: Vec<u32>,
}

impl AliasTable {
    /// Builds the table from non-negative weights (at least one positive).
    pub(crate) fn new(weights: &[f64]) -> AliasTable {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        assert!(
            n > 0 && total > 0.0,
            "an alias table needs a positive weight"
        );
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let mut threshold = vec![u32::MAX; n];
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            threshold[s] = (scaled[s] * f64::from(u32::MAX)) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        AliasTable { threshold, alias }
    }

    pub(crate) fn draw(&self, rng: &mut Rng) -> usize {
        let r = rng.next_u64();
        let column = ((u128::from(r >> 32) * self.alias.len() as u128) >> 32) as usize;
        if (r as u32) < self.threshold[column] {
            column
        } else {
            self.alias[column] as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_generators_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| Rng::keyed(7, Stream::Churn, 1, 2).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let b = Rng::keyed(7, Stream::Churn, 2, 1).next_u64();
        let c = Rng::keyed(8, Stream::Churn, 1, 2).next_u64();
        let d = Rng::keyed(7, Stream::Move, 1, 2).next_u64();
        assert!(a[0] != b && a[0] != c && a[0] != d);
    }

    #[test]
    fn unit_and_below_stay_in_range_with_the_right_mean() {
        let mut rng = Rng::keyed(1, Stream::Anomaly, 0, 0);
        let n = 200_000;
        let mean = (0..n).map(|_| rng.unit()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!((0..10_000).all(|_| rng.below(7) < 7));
        let lognormal = (0..n).map(|_| rng.lognormal_mean_one(0.5)).sum::<f64>() / n as f64;
        assert!((lognormal - 1.0).abs() < 0.01, "lognormal mean {lognormal}");
    }

    #[test]
    fn alias_table_follows_its_weights() {
        let table = AliasTable::new(&[1.0, 0.0, 3.0, 6.0]);
        let mut rng = Rng::keyed(3, Stream::Household, 0, 0);
        let mut counts = [0usize; 4];
        for _ in 0..100_000 {
            counts[table.draw(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        // Expected 10,000 / 30,000 / 60,000; a binomial sd is below 160.
        assert!((counts[0] as i64 - 10_000).abs() < 800, "{counts:?}");
        assert!((counts[3] as i64 - 60_000).abs() < 800, "{counts:?}");
    }

    #[test]
    fn sample_gives_distinct_items() {
        let mut rng = Rng::keyed(3, Stream::Anomaly, 0, 0);
        let mut s = rng.sample(&(0..100).collect::<Vec<u32>>(), 30);
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 30);
    }
}
