//! The Fellegi-Sunter model: how much each agreement level says about "same person", learned
//! from the register itself by EM, without labels.
//!
//! For a comparison `f` at level `l`, `m` = P(level l | the pair is one person) and
//! `u` = P(level l | two people); the level's weight is `log2(m / u)` bits. A pair's match
//! weight is the prior `log2(lambda / (1 - lambda))` plus the weights of its non-missing
//! levels (a missing level is no evidence either way), and its match probability is
//! `2^w / (1 + 2^w)`.
//!
//! # Estimation
//! `u` starts from random record pairs (almost all two people), `m` from the priors below,
//! `lambda` from [`LAMBDA_START`]. EM then re-estimates `lambda`, `m` and `u` on the candidate
//! pairs, assuming levels independent given the class (the fastLink model, Enamorado, Fifield
//! and Imai 2019). EM runs on distinct patterns with their counts, so its cost does not grow
//! with the number of pairs. `u` is re-estimated on candidates rather than kept from random
//! pairs (as Splink does) because blocking on address fills the candidates with household
//! members: with random-pair `u`, sharing an address looks like near-proof of identity and
//! households would match.
//!
//! ## Constraints
//! After each M-step, `m` is pooled so that every field's likelihood ratio `m/u` falls from
//! its strongest agreement level to disagreement ([`monotone_ratios`]): agreeing is never
//! evidence *against* being one person. Unconstrained EM on blocked pairs happily finds
//! other two-group splits (pairs that share a birth date versus pairs that share a name);
//! the constraint rules those out.
//!
//! ## Training pairs
//! EM learns whatever two groups best explain its pairs. Blocking on shared address, phone
//! and email fills the candidates with household members, which outnumber duplicates by
//! tens to one; trained on all candidates, EM's "match" class becomes "same household"
//! (observed on generated registers: `lambda` 0.73 and a *positive* weight for different
//! given names). So EM trains only on [`trainable`] pairs: those that agree at least in
//! part on a personal identifier (given name similar or better, birth date same year or
//! better, or the national id). The excluded pairs disagree outright on both given name and
//! birth date; they are still scored, with the weights learned here, and those two levels'
//! weights make them clear non-matches. This is the same idea as Splink's advice to train on
//! blocking rules that fix personal identifiers.
//!
//! # Term frequencies
//! An exact given- or family-name match on value `v` gets `log2(u_avg / tf(v))` bits on top
//! of the level weight, where `tf(v)` is `v`'s share of the register and `u_avg = sum tf^2`
//! the chance that two random records agree on the field: SMITH (0.8% of a US register) is
//! weaker evidence than ZBIGNIEW. As in Splink, `tf(v)` is floored at one record.

use std::collections::HashMap;

use rayon::prelude::*;

use super::compare::{Comparison, Pattern, MISSING, SIMILAR};

/// The birth-date level `year` (same year only).
const YEAR: u8 = 3;

/// Start of `lambda`, the share of candidate pairs that are one person: blocking keeps pairs
/// that share a strong key, so this is far above the register-wide rate; EM moves it.
pub const LAMBDA_START: f64 = 0.05;

/// Floor on every `m` and `u` probability. A level EM never sees in a class would get an
/// infinite weight; the floor caps any one level at about +/-13 bits (1 : 10,000), so that no
/// single field can outvote all others.
pub const PROBABILITY_FLOOR: f64 = 1e-4;

/// EM stops when no parameter moves by more than this between iterations.
pub const EM_TOLERANCE: f64 = 1e-6;

/// Starting `m` per level (strongest first), from record-linkage practice: true matches agree
/// exactly on most fields and rarely disagree outright (Splink's default m priors).
fn m_start(c: Comparison) -> &'static [f64] {
    match c {
        Comparison::GivenName => &[0.70, 0.20, 0.05, 0.05],
        Comparison::FamilyName => &[0.80, 0.12, 0.04, 0.04],
        Comparison::MiddleName => &[0.70, 0.20, 0.10],
        Comparison::BirthDate => &[0.85, 0.05, 0.04, 0.03, 0.03],
        Comparison::Address => &[0.50, 0.05, 0.15, 0.30],
        Comparison::Sex | Comparison::NameSuffix | Comparison::NationalId => &[0.97, 0.03],
        Comparison::Phone | Comparison::Email => &[0.85, 0.15],
    }
}

/// A fitted model. Vectors are indexed by [`Comparison::index`], then by level.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Prior probability that a candidate pair is one person.
    pub lambda: f64,
    pub m: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
    /// `u` measured on random pairs, before EM (reported beside the fitted `u`).
    pub u_random: Vec<Vec<f64>>,
    pub iterations: usize,
    pub converged: bool,
    /// `log2(m / u)` per comparison and level.
    pub weights: Vec<Vec<f64>>,
}

impl Model {
    /// The prior weight, `log2(lambda / (1 - lambda))`.
    pub fn prior_weight(&self) -> f64 {
        (self.lambda / (1.0 - self.lambda)).log2()
    }

    /// The weight of `level` of `c`; 0 for a missing level.
    pub fn weight(&self, c: Comparison, level: u8) -> f64 {
        if level == MISSING {
            0.0
        } else {
            self.weights[c.index()][level as usize]
        }
    }

    /// The match weight of a pattern before term-frequency adjustments.
    pub fn pattern_weight(&self, p: Pattern) -> f64 {
        self.prior_weight()
            + Comparison::ALL
                .iter()
                .map(|&c| self.weight(c, p.level(c)))
                .sum::<f64>()
    }
}

/// Probability from a match weight in bits.
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// Whether EM trains on a pair with this pattern (see "Training pairs" above).
pub fn trainable(p: Pattern) -> bool {
    let given = p.level(Comparison::GivenName);
    let birth = p.level(Comparison::BirthDate);
    (given != MISSING && given <= SIMILAR)
        || (birth != MISSING && birth <= YEAR)
        || p.level(Comparison::NationalId) == 0
}

/// Distinct patterns (swapped bit cleared) and how many pairs have each.
pub(crate) fn pattern_counts(patterns: &[Pattern]) -> Vec<(Pattern, f64)> {
    let counts = patterns
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut h: HashMap<Pattern, u64> = HashMap::new();
            for p in chunk {
                *h.entry(p.levels_only()).or_insert(0) += 1;
            }
            h
        })
        .reduce(HashMap::new, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_insert(0) += v;
            }
            a
        });
    let mut v: Vec<(Pattern, f64)> = counts.into_iter().map(|(p, c)| (p, c as f64)).collect();
    v.sort_unstable_by_key(|&(p, _)| p);
    v
}

/// Level frequencies of a set of patterns, per comparison (missing levels left out).
pub(crate) fn level_frequencies(counts: &[(Pattern, f64)]) -> Vec<Vec<f64>> {
    let mut freq: Vec<Vec<f64>> = Comparison::ALL
        .iter()
        .map(|c| vec![0.0; c.levels().len()])
        .collect();
    for &(p, n) in counts {
        for c in Comparison::ALL {
            let l = p.level(c);
            if l != MISSING {
                freq[c.index()][l as usize] += n;
            }
        }
    }
    freq.iter_mut().for_each(|f| normalise(f));
    freq
}

fn normalise(probs: &mut [f64]) {
    let total: f64 = probs.iter().sum();
    if total <= 0.0 {
        let even = 1.0 / probs.len() as f64;
        probs.iter_mut().for_each(|p| *p = even);
        return;
    }
    probs
        .iter_mut()
        .for_each(|p| *p = (*p / total).max(PROBABILITY_FLOOR));
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
}

fn log_likelihood(probs: &[Vec<f64>], p: Pattern) -> f64 {
    Comparison::ALL
        .iter()
        .map(|&c| match p.level(c) {
            MISSING => 0.0,
            l => probs[c.index()][l as usize].ln(),
        })
        .sum()
}

/// Fits the model by EM on the candidates' pattern counts, `u` starting from `u_random`.
pub(crate) fn fit(
    counts: &[(Pattern, f64)],
    u_random: Vec<Vec<f64>>,
    max_iterations: usize,
) -> Model {
    let mut m: Vec<Vec<f64>> = Comparison::ALL
        .iter()
        .map(|&c| m_start(c).to_vec())
        .collect();
    let mut u = u_random.clone();
    let mut lambda = LAMBDA_START;
    let mut iterations = 0;
    let mut converged = false;
    let total: f64 = counts.iter().map(|&(_, n)| n).sum();
    while iterations < max_iterations && total > 0.0 {
        iterations += 1;
        let mut m_next: Vec<Vec<f64>> = m.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut u_next = m_next.clone();
        let mut matches = 0.0;
        for &(p, n) in counts {
            let lm = lambda.ln() + log_likelihood(&m, p);
            let lu = (1.0 - lambda).ln() + log_likelihood(&u, p);
            let g = 1.0 / (1.0 + (lu - lm).exp());
            matches += n * g;
            for c in Comparison::ALL {
                let l = p.level(c);
                if l != MISSING {
                    m_next[c.index()][l as usize] += n * g;
                    u_next[c.index()][l as usize] += n * (1.0 - g);
                }
            }
        }
        m_next.iter_mut().for_each(|v| normalise(v));
        u_next.iter_mut().for_each(|v| normalise(v));
        for (mv, uv) in m_next.iter_mut().zip(&u_next) {
            monotone_ratios(mv, uv);
        }
        let lambda_next = (matches / total).clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR);
        let change = max_change(&m, &m_next)
            .max(max_change(&u, &u_next))
            .max((lambda - lambda_next).abs());
        (m, u, lambda) = (m_next, u_next, lambda_next);
        if change < EM_TOLERANCE {
            converged = true;
            break;
        }
    }
    let weights = m
        .iter()
        .zip(&u)
        .map(|(mv, uv)| mv.iter().zip(uv).map(|(a, b)| (a / b).log2()).collect())
        .collect();
    Model {
        lambda,
        m,
        u,
        u_random,
        iterations,
        converged,
        weights,
    }
}

/// Makes `m[l] / u[l]` non-increasing in `l` (levels run from strongest agreement to
/// disagreement) by pooling adjacent violators: within a pooled run `m` is proportional to
/// `u`, with the run's total `m` kept. This is the maximum-likelihood `m` under the
/// constraint, for fixed `u` (pool-adjacent-violators, Barlow et al. 1972).
pub(crate) fn monotone_ratios(m: &mut [f64], u: &[f64]) {
    // Runs as (first level, m total, u total).
    let mut runs: Vec<(usize, f64, f64)> = Vec::with_capacity(m.len());
    for l in 0..m.len() {
        runs.push((l, m[l], u[l]));
        while runs.len() >= 2 {
            let (_, m2, u2) = runs[runs.len() - 1];
            let (_, m1, u1) = runs[runs.len() - 2];
            if m1 * u2 >= m2 * u1 {
                break;
            }
            runs.pop();
            let last = runs.len() - 1;
            runs[last].1 = m1 + m2;
            runs[last].2 = u1 + u2;
        }
    }
    for (i, &(start, mt, ut)) in runs.iter().enumerate() {
        let end = runs.get(i + 1).map_or(m.len(), |r| r.0);
        for l in start..end {
            m[l] = mt * u[l] / ut;
        }
    }
}

fn max_change(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Term-frequency adjustments in bits per name id, for one field's counts
/// (see the module docs). Ids with no occurrence get 0.
pub(crate) fn tf_adjustments(counts: &[u32]) -> Vec<f32> {
    let total: f64 = counts.iter().map(|&c| f64::from(c)).sum();
    if total == 0.0 {
        return vec![0.0; counts.len()];
    }
    let u_avg: f64 = counts.iter().map(|&c| (f64::from(c) / total).powi(2)).sum();
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                let tf = f64::from(c).max(1.0) / total;
                (u_avg / tf).log2() as f32
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf_is_negative_for_common_and_positive_for_rare_values() {
        let adj = tf_adjustments(&[0, 80, 10, 10, 1]);
        assert_eq!(adj[0], 0.0);
        assert!(adj[1] < 0.0);
        assert!(adj[4] > adj[2]);
    }

    #[test]
    fn pooled_ratios_are_monotone_and_keep_mass() {
        let u = [0.1, 0.2, 0.3, 0.4];
        let mut m = [0.1, 0.5, 0.1, 0.3];
        monotone_ratios(&mut m, &u);
        let r: Vec<f64> = m.iter().zip(&u).map(|(a, b)| a / b).collect();
        assert!(r.windows(2).all(|w| w[0] >= w[1] - 1e-12), "{r:?}");
        assert!((m.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mut ok = [0.7, 0.2, 0.05, 0.05];
        monotone_ratios(&mut ok, &u);
        assert_eq!(ok, [0.7, 0.2, 0.05, 0.05]);
    }

    #[test]
    fn probability_of_weights() {
        assert!((probability(0.0) - 0.5).abs() < 1e-12);
        assert!(probability(10.0) > 0.999);
        assert!(probability(-10.0) < 0.001);
    }
}
