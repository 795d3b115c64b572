//! The few statistics the record rules need: an order-statistic quantile, the Poisson upper
//! tail and Benjamini-Hochberg adjusted p-values.
//!
//! Hand-written (no statistics crate is a dependency) and kept small; each function states
//! its definition so that a second party can reproduce the numbers.

/// The `q` quantile of `values` by the lower nearest rank: the value at index
/// `floor(q * (n - 1))` of the sorted values. Taking the lower rank keeps a handful of
/// outliers in a small register from becoming the baseline themselves. `None` when empty.
pub(crate) fn quantile(values: &mut [usize], q: f64) -> Option<usize> {
    if values.is_empty() {
        return None;
    }
    let k = ((q.clamp(0.0, 1.0) * (values.len() - 1) as f64).floor()) as usize;
    let (_, v, _) = values.select_nth_unstable(k);
    Some(*v)
}

/// `ln(k!)`: exact sums below 256, Stirling's series above (error below 1e-10 there).
fn ln_factorial(k: u64) -> f64 {
    if k < 256 {
        return (2..=k).map(|i| (i as f64).ln()).sum();
    }
    let n = k as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
        - 1.0 / (360.0 * n * n * n)
}

/// `P(X >= k)` for `X ~ Poisson(lambda)`, summed term by term from `k` upwards (accurate in the
/// far tail, where `1 - cdf` would cancel to zero).
pub(crate) fn poisson_upper_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    if (k as f64) <= lambda {
        // Not a tail: sum the complement instead.
        let below: f64 = (0..k)
            .map(|i| (-lambda + i as f64 * lambda.ln() - ln_factorial(i)).exp())
            .sum();
        return (1.0 - below).clamp(0.0, 1.0);
    }
    let mut term = (-lambda + k as f64 * lambda.ln() - ln_factorial(k)).exp();
    let mut sum = 0.0;
    let mut i = k;
    while term > sum * 1e-16 && i < k + 100_000 {
        sum += term;
        i += 1;
        term *= lambda / i as f64;
    }
    sum.min(1.0)
}

/// Benjamini-Hochberg adjusted p-values (q-values) for `p` out of `m` tests in all (`m` may
/// exceed `p.len()` when the untested hypotheses are known to have large p-values):
/// `q_(i) = min over j >= i of p_(j) * m / j`, in the input order.
pub(crate) fn benjamini_hochberg(p: &[f64], m: usize) -> Vec<f64> {
    let m = m.max(p.len()) as f64;
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_takes_the_lower_rank() {
        let mut v = vec![1, 2, 2, 3, 150];
        assert_eq!(quantile(&mut v, 0.999), Some(3));
        assert_eq!(quantile(&mut v, 1.0), Some(150));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X >= 3 | 1) = 1 - e^-1 (1 + 1 + 1/2) = 0.0803014 (closed form).
        assert!((poisson_upper_tail(3, 1.0) - 0.080_301_4).abs() < 1e-6);
        assert!((poisson_upper_tail(1, 2.0) - (1.0 - (-2.0f64).exp())).abs() < 1e-12);
        assert!(poisson_upper_tail(300, 10.0) < 1e-200);
        assert_eq!(poisson_upper_tail(0, 5.0), 1.0);
    }

    #[test]
    fn bh_matches_the_textbook_example() {
        // p = 0.01, 0.04, 0.03, 0.005 with m = 4: q = 0.02, 0.04, 0.04, 0.02.
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005], 4);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }
}
