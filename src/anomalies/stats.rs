//! The statistics the detectors share: an overdispersed binomial model of area rates,
//! normal and chi-square tail probabilities, and Benjamini-Hochberg false-discovery control.
//!
//! Why overdispersion: change rates differ between areas far more than a binomial (or
//! Poisson) model predicts (DOMAIN.md; VoteShield, the Caltech Orange County work), so a naive
//! z-score on counts flags dozens of healthy precincts in every export. We use the
//! beta-binomial variance `n p (1-p) (1 + (n-1) rho)`, with `p` and `rho` estimated robustly
//! from the peers themselves (a few extreme areas cannot inflate the baseline that is meant to
//! expose them), and a one-sided normal tail on the standardised excess.

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

/// Benjamini-Hochberg adjusted p-values (q-values), in the input order.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank_from_top, &i) in order.iter().enumerate() {
        let rank = m - rank_from_top; // 1-based rank in ascending order
        running = running.min(p[i] * m as f64 / rank as f64);
        q[i] = running.min(1.0);
    }
    q
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

/// An overdispersed binomial baseline fitted to peer areas.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateModel {
    /// The typical rate.
    pub p: f64,
    /// Intra-area correlation: 0 is binomial; larger means areas differ more.
    pub rho: f64,
}

/// Share of the highest-rate areas left out of the pooled rate, so that the few areas a
/// detector should expose do not set their own baseline. 10% tolerates several anomalous
/// areas among dozens of peers.
const TRIM_SHARE: f64 = 0.10;
/// Median of the chi-square distribution with one degree of freedom: the median squared
/// standardised residual when the model is right. Matching it makes `rho` robust to outliers
/// (half the areas may be anything).
const CHI2_1_MEDIAN: f64 = 0.454_936_4;

impl RateModel {
    /// Fits `p` (trimmed pooled rate) and `rho` (robust moment match) to (count, exposure)
    /// pairs. Returns `None` with fewer than 3 usable areas.
    pub fn fit(areas: &[(u64, u64)]) -> Option<RateModel> {
        let usable: Vec<(f64, f64)> = areas
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|&(k, n)| (k as f64, n as f64))
            .collect();
        if usable.len() < 3 {
            return None;
        }
        let mut by_rate = usable.clone();
        by_rate.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
        let keep = usable.len() - ((usable.len() as f64 * TRIM_SHARE).ceil() as usize).max(1);
        let (k_sum, n_sum) = by_rate[..keep]
            .iter()
            .fold((0.0, 0.0), |(k, n), a| (k + a.0, n + a.1));
        // A floor of half an event over the whole exposure keeps p > 0 for rare kinds.
        let p = (k_sum.max(0.5) / n_sum).min(0.999);
        let residual2: Vec<(f64, f64)> = usable
            .iter()
            .map(|&(k, n)| ((k - n * p).powi(2) / (n * p * (1.0 - p)), n))
            .collect();
        let median_scaled = |rho: f64| {
            let mut v: Vec<f64> = residual2
                .iter()
                .map(|(r2, n)| r2 / (1.0 + (n - 1.0) * rho))
                .collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let rho = if median_scaled(0.0) <= CHI2_1_MEDIAN {
            0.0
        } else {
            let (mut lo, mut hi) = (0.0f64, 1.0f64);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if median_scaled(mid) > CHI2_1_MEDIAN {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            hi
        };
        Some(RateModel { p, rho })
    }

    /// Expected count for an exposure.
    pub fn expected(&self, n: u64) -> f64 {
        n as f64 * self.p
    }

    /// Standardised excess of `k` over the model at exposure `n`.
    pub fn z(&self, k: u64, n: u64) -> f64 {
        let n = n as f64;
        let var = n * self.p * (1.0 - self.p) * (1.0 + (n - 1.0).max(0.0) * self.rho);
        (k as f64 - n * self.p) / var.sqrt().max(1e-12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let q = benjamini_hochberg(&[0.5, 0.01, 0.03, 0.02]);
        let expected = [0.5, 0.04, 0.04, 0.04];
        for (a, b) in q.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

    #[test]
    fn fit_ignores_one_extreme_area_and_sees_overdispersion() {
        // 30 areas of 1000 at rate 2%, one at 60%.
        let mut areas: Vec<(u64, u64)> = (0..30).map(|i| (15 + (i % 11), 1000)).collect();
        areas.push((600, 1000));
        let m = RateModel::fit(&areas).unwrap();
        assert!((m.p - 0.02).abs() < 0.004, "{m:?}");
        assert!(m.z(600, 1000) > 20.0);
        assert!(m.z(25, 1000) < 3.0);
    }
}
