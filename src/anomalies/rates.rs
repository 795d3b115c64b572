//! The overdispersed binomial model of area rates the detectors compare areas with.
//!
//! Why overdispersion: change rates differ between areas far more than a binomial (or
//! Poisson) model predicts (DOMAIN.md; VoteShield, the Caltech Orange County work), so a naive
//! z-score on counts flags dozens of healthy precincts in every export. We use the
//! beta-binomial variance `n p (1-p) (1 + (n-1) rho)`, with `p` and `rho` estimated robustly
//! from the peers themselves (a few extreme areas cannot inflate the baseline that is meant to
//! expose them), and a one-sided normal tail on the standardised excess.

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
