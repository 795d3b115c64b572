//! The statistics rules and detectors share: an order-statistic quantile, the Poisson,
//! binomial, normal and chi-square upper tails, and Benjamini-Hochberg false-discovery control.
//!
//! Hand-written (no statistics crate is a dependency) and kept small; each function states
//! its definition and source so that a second party can reproduce the numbers, and the tests
//! check them against closed forms and published tables.

/// The `q` quantile of `values` by the lower nearest rank: the value at index
/// `floor(q * (n - 1))` of the sorted values. Taking the lower rank keeps a handful of
/// outliers in a small register from becoming the baseline themselves. `None` when empty.
pub fn quantile(values: &mut [usize], q: f64) -> Option<usize> {
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
        // Each sum once: the record rules' birth-date test asks for tens of thousands of
        // them, and summing on every call was a tenth of a 1,000,000-voter scan's CPU.
        static EXACT: std::sync::OnceLock<[f64; 256]> = std::sync::OnceLock::new();
        let exact = EXACT
            .get_or_init(|| std::array::from_fn(|k| (2..=k as u64).map(|i| (i as f64).ln()).sum()));
        return exact[k as usize];
    }
    let n = k as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
        - 1.0 / (360.0 * n * n * n)
}

/// `P(X >= k)` for `X ~ Poisson(lambda)`, summed term by term from `k` upwards (accurate in the
/// far tail, where `1 - cdf` would cancel to zero).
pub fn poisson_upper_tail(k: u64, lambda: f64) -> f64 {
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

/// `P(X >= k)` for `X ~ Binomial(m, p)`, summed term by term from `k` upwards in the tail (the
/// complement below the mean), each term from its neighbour: `C(m, x+1) p^(x+1) q^(m-x-1) =
/// C(m, x) p^x q^(m-x) * (m - x) / (x + 1) * p / q`. The conditional test of two Poisson counts
/// (is `k` of `m` events in one period more than its share `p` of the exposure?) is this tail.
pub fn binomial_upper_tail(k: u64, m: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > m || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let ln_term = |x: u64| {
        ln_factorial(m) - ln_factorial(x) - ln_factorial(m - x)
            + x as f64 * p.ln()
            + (m - x) as f64 * (1.0 - p).ln()
    };
    let odds = p / (1.0 - p);
    if (k as f64) <= m as f64 * p {
        // Not a tail: one minus the terms below `k`, summed downwards from `k - 1` (near the
        // mean, so the first term does not underflow however large `m` is).
        let (mut term, mut below) = (ln_term(k - 1).exp(), 0.0);
        for x in (0..k).rev() {
            below += term;
            if term <= below * 1e-17 {
                break;
            }
            term *= x as f64 / (m - x + 1) as f64 / odds;
        }
        return (1.0 - below).clamp(0.0, 1.0);
    }
    let (mut term, mut sum) = (ln_term(k).exp(), 0.0);
    for x in k..=m {
        sum += term;
        if term <= sum * 1e-17 {
            break;
        }
        term *= (m - x) as f64 / (x + 1) as f64 * odds;
    }
    sum.min(1.0)
}

/// Benjamini-Hochberg adjusted p-values (q-values) for `p` out of `m` tests in all (`m` may
/// exceed `p.len()` when the untested hypotheses are known to have large p-values):
/// `q_(i) = min over j >= i of p_(j) * m / j`, in the input order.
pub fn benjamini_hochberg(p: &[f64], m: usize) -> Vec<f64> {
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

/// Upper tail of the standard normal, `P(Z >= z)`, via `erfc` (W. J. Cody's rational
/// approximation as in Numerical Recipes' `erfcc`, relative error < 1.2e-7).
pub fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Upper tail of the chi-square distribution with `k` degrees of freedom:
/// `Q(k/2, x/2)`, the regularised upper incomplete gamma function.
pub fn chi_square_upper_tail(x: f64, k: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    gamma_q(k / 2.0, x / 2.0)
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised upper incomplete gamma `Q(a, x)`: series for `x < a + 1`, Lentz's continued
/// fraction otherwise (Numerical Recipes, 6.2).
fn gamma_q(a: f64, x: f64) -> f64 {
    let ln_prefix = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (1.0 - sum * ln_prefix.exp()).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (ln_prefix.exp() * h).clamp(0.0, 1.0)
    }
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

    /// Closed forms: `P(X >= 16)` of Binomial(16, 1/2) is `2^-16`; `P(X >= 8)` is
    /// 39,203 / 65,536 (the binomial coefficients of 16 from 8 up, summed); `P(X >= 3)` of
    /// Binomial(10, 0.1) is `1 - 0.9^10 - 10 * 0.1 * 0.9^9 - 45 * 0.01 * 0.9^8`.
    #[test]
    fn binomial_tail_matches_closed_forms() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.max(1e-300) + 1e-15;
        assert!(close(binomial_upper_tail(16, 16, 0.5), 2f64.powi(-16)));
        assert!(close(binomial_upper_tail(8, 16, 0.5), 39_203.0 / 65_536.0));
        let below = 0.9f64.powi(10) + 0.9f64.powi(9) + 0.45 * 0.9f64.powi(8);
        assert!(close(binomial_upper_tail(3, 10, 0.1), 1.0 - below));
        assert_eq!(binomial_upper_tail(0, 10, 0.1), 1.0);
        assert_eq!(binomial_upper_tail(11, 10, 0.1), 0.0);
        // Far tail: P(X = 300) of Binomial(300, 1/3) is 3^-300, and nothing above.
        let far = binomial_upper_tail(300, 300, 1.0 / 3.0);
        assert!((far.ln() - (-300.0 * 3f64.ln())).abs() < 1e-6, "{far}");
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

    #[test]
    fn normal_tail_matches_tables() {
        // Standard normal table values.
        for (z, p) in [
            (0.0, 0.5),
            (1.0, 0.158_655_25),
            (1.96, 0.024_997_9),
            (3.0, 0.001_349_9),
        ] {
            assert!((normal_upper_tail(z) - p).abs() < 1e-6, "{z}");
        }
    }

    #[test]
    fn chi_square_tail_matches_tables() {
        // Critical values: P(X >= 3.841 | 1 df) = 0.05, P(X >= 9.210 | 2 df) = 0.01,
        // P(X >= 11.070 | 5 df) = 0.05.
        for (x, k, p) in [
            (3.841_458_8, 1.0, 0.05),
            (9.210_340_4, 2.0, 0.01),
            (11.070_497_7, 5.0, 0.05),
        ] {
            assert!((chi_square_upper_tail(x, k) - p).abs() < 1e-6, "{x} {k}");
        }
    }

    #[test]
    fn bh_matches_a_hand_calculation() {
        // p sorted: 0.01, 0.02, 0.03, 0.5 with m = 4: raw p*m/rank = 0.04, 0.04, 0.04, 0.5.
        let q = benjamini_hochberg(&[0.5, 0.01, 0.03, 0.02], 4);
        let expected = [0.5, 0.04, 0.04, 0.04];
        for (a, b) in q.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }
}
