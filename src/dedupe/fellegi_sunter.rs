//! The Fellegi-Sunter model: how much each agreement level says about "same person", learned
//! from the register itself by EM, without labels.
//!
//! For a comparison `f` at level `l`, `m` = P(level l | the pair is one person). Blocked
//! candidate pairs hold two other kinds of pair that behave very differently: members of one
//! household (shared address, surname, phone; different given name and birth date) and
//! unrelated people. The model therefore has three classes, one person (`m`), one household
//! (`h`) and unrelated (`u`), with shares `lambda`, `household_share` and the rest, and
//! levels independent given the class. A pair's match weight is the log2 posterior odds of
//! "one person" against the other two; its match probability is `2^w / (1 + 2^w)`. A
//! missing level is no evidence either way.
//!
//! For explanations, each level also has a weight `log2(m / n)`, `n` being its probability
//! among pairs that are not one person; a pair's weight is the prior plus its level weights
//! plus a household adjustment ([`Model::household_adjustment`]), the part of the evidence
//! that lies in fields agreeing together the way a household's do.
//!
//! # Estimation
//! The model describes *all* `n (n - 1) / 2` record pairs of the register, not only the
//! candidates: blocking decides which pairs are scored, not what their fields say. So:
//! - `u` is measured on the register at large ([`super::unrelated`]: exact name and birth-date
//!   agreement from value counts, other levels from random pairs) and kept fixed. Measured on
//!   candidates instead, it made every agreement look common (blocking requires one) and the
//!   agreements dependent on each other (a candidate that does not share the birth date was
//!   kept because it shares the address), and the more so the larger the register: recall at
//!   the default threshold fell from 0.96 at 20,000 voters to 0.88 at 100,000.
//! - `lambda` and `household_share` are register-wide: EM runs over all pairs, the pairs no
//!   blocking rule brought together being taken as unrelated (blocking recall ~1), which
//!   reduces to EM on the candidates' patterns with the shares divided by `n (n - 1) / 2`.
//!   The prior weight therefore falls with the register's size, as the chance of a
//!   coincidental agreement rises (the birthday problem): about -22 bits at 100,000 voters,
//!   -26 at 1,000,000.
//! - `m` and `h` start from the priors below and EM re-estimates them on the candidate pairs
//!   (the fastLink approach, Enamorado, Fifield and Imai 2019, with a household class added;
//!   Splink's too, with `u` from random pairs). EM runs on distinct patterns with their
//!   counts, so its cost does not grow with the number of pairs.
//!
//! Why three classes: blocking on address, phone and email fills the candidates with household
//! members, tens for every duplicate. Trained with two classes, EM's "match" class becomes
//! "same household" (observed on generated registers: `lambda` 0.73 and a *positive* weight
//! for different given names), and with `u` kept from random pairs (Splink's choice) a shared
//! address and phone outweigh a different given name and birth date.
//!
//! ## Constraints
//! After each M-step, `m` is pooled so that every field's likelihood ratio `m/u` falls from
//! its strongest agreement level to disagreement ([`monotone_ratios`]): agreeing is never
//! evidence *against* being one person.
//!
//! # Term frequencies
//! An exact given- or family-name match on value `v` gets `log2(u_avg / tf(v))` bits on top
//! of the level weight, where `tf(v)` is `v`'s share of the register and `u_avg = sum tf^2`
//! the chance that two random records agree on the field: SMITH (0.8% of a US register) is
//! weaker evidence than ZBIGNIEW. As in Splink, `tf(v)` is floored at one record.

use std::collections::HashMap;

use rayon::prelude::*;

use super::compare::{Comparison, Pattern, MISSING};

/// Start of `lambda`, the share of candidate pairs that are one person: blocking keeps pairs
/// that share a strong key, so this is far above the register-wide rate; EM moves it.
pub const LAMBDA_START: f64 = 0.05;

/// Start of the share of candidate pairs that are two members of one household: blocking on
/// address, phone and email makes them the largest group of candidates.
pub const HOUSEHOLD_START: f64 = 0.3;

/// Floor on every probability of every class. A level EM never sees in a class would get an
/// infinite weight; the floor caps any one level at about +/-13 bits (1 : 10,000), so that no
/// single field can outvote all others.
pub const PROBABILITY_FLOOR: f64 = 1e-4;

/// EM stops when no parameter moves by more than this between iterations.
pub const EM_TOLERANCE: f64 = 1e-6;

/// Comparisons whose `m` is fixed at [`m_start`] rather than estimated. The birth date anchors
/// the match class to "same person": left free while `u` was re-estimated on candidates, EM
/// found other tight groups among blocked pairs (same-name strangers, households) and `m` for
/// birth date became equal to `u`. The national id is fixed too: when both records carry one,
/// one person has one id but for a keying error; left free, EM absorbed same-name strangers
/// with different ids into the match class and learned that a different national id was weak
/// evidence (-0.8 bits). With `u` measured on the whole register, names can be learned: their
/// error rates vary most between registers (on generated ones, 28% of duplicates have a
/// `close` given name against the 22% of the prior).
pub const FIXED_M: [Comparison; 2] = [Comparison::BirthDate, Comparison::NationalId];

/// Starting `m` per level (strongest first), and the fixed `m` of [`FIXED_M`]: error rates of
/// re-registrations from record-linkage practice (Christen, "Data Matching", ch. 3; Splink's
/// default priors). Given names vary most (nicknames, typos: exact in ~70% of true matches),
/// family names less, birth dates are exact in ~88% and otherwise transposed, mistyped by a
/// digit or off by more (rare).
fn m_start(c: Comparison) -> &'static [f64] {
    match c {
        Comparison::GivenName => &[0.70, 0.22, 0.05, 0.03],
        Comparison::FamilyName => &[0.85, 0.10, 0.03, 0.02],
        Comparison::MiddleName => &[0.70, 0.20, 0.10],
        Comparison::BirthDate => &[0.88, 0.04, 0.04, 0.02, 0.02],
        Comparison::Address => &[0.50, 0.05, 0.10, 0.10, 0.25],
        Comparison::Sex | Comparison::NameSuffix | Comparison::NationalId => &[0.97, 0.03],
        // A year is wrong about as often as a full date is `different` (above).
        Comparison::BirthYear => &[0.98, 0.02],
        Comparison::Phone | Comparison::Email => &[0.85, 0.15],
    }
}

/// Starting `h` per level: two people of one household share address, usually surname and
/// often phone, and differ in given name, birth date, and half the time sex.
fn h_start(c: Comparison) -> &'static [f64] {
    match c {
        Comparison::GivenName => &[0.02, 0.03, 0.05, 0.90],
        Comparison::FamilyName => &[0.75, 0.05, 0.02, 0.18],
        Comparison::MiddleName => &[0.05, 0.05, 0.90],
        Comparison::BirthDate => &[0.02, 0.001, 0.01, 0.05, 0.919],
        Comparison::Address => &[0.90, 0.02, 0.02, 0.02, 0.04],
        Comparison::Sex => &[0.40, 0.60],
        Comparison::NameSuffix => &[0.01, 0.99],
        Comparison::NationalId => &[0.001, 0.999],
        Comparison::BirthYear => &[0.05, 0.95],
        Comparison::Phone => &[0.50, 0.50],
        Comparison::Email => &[0.30, 0.70],
    }
}

/// A fitted model. Vectors are indexed by [`Comparison::index`], then by level.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Share of candidate pairs that are one person.
    pub lambda: f64,
    /// Share of candidate pairs that are two members of one household.
    pub household_share: f64,
    /// P(level | one person).
    pub m: Vec<Vec<f64>>,
    /// P(level | two members of one household).
    pub h: Vec<Vec<f64>>,
    /// P(level | two unrelated people), measured on the register ([`super::unrelated`]).
    pub u: Vec<Vec<f64>>,
    /// The `u` measured on the register; EM keeps `u` fixed, so this equals [`Model::u`]
    /// (kept because `dedupe.json` reports it per level).
    pub u_random: Vec<Vec<f64>>,
    pub iterations: usize,
    pub converged: bool,
    /// Per level, `log2(m / n)` with `n` the level's probability among candidate pairs that
    /// are not one person (households and unrelated people together): the level's evidence
    /// on its own.
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

    /// The match weight of a pattern in bits, before term-frequency adjustments: the log2
    /// posterior odds of "one person" against "household members or unrelated people".
    pub fn pattern_weight(&self, p: Pattern) -> f64 {
        let lm = self.lambda.ln() + log_likelihood(&self.m, p);
        let lh = self.household_share.ln() + log_likelihood(&self.h, p);
        let lu = (1.0 - self.lambda - self.household_share).ln() + log_likelihood(&self.u, p);
        let other = lh.max(lu) + (-(lh - lu).abs()).exp().ln_1p();
        (lm - other) / std::f64::consts::LN_2
    }

    /// What the per-field weights miss: the pattern weight minus the prior and the field
    /// weights. Household members agree on several fields at once (address, surname, phone);
    /// the household class accounts for that correlation, independent per-field weights
    /// cannot. Negative when the agreement looks like a household's.
    pub fn household_adjustment(&self, p: Pattern) -> f64 {
        let additive: f64 = self.prior_weight()
            + Comparison::ALL
                .iter()
                .map(|&c| self.weight(c, p.level(c)))
                .sum::<f64>();
        self.pattern_weight(p) - additive
    }
}

/// Probability from a match weight in bits.
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
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

fn zeros() -> Vec<Vec<f64>> {
    Comparison::ALL
        .iter()
        .map(|c| vec![0.0; c.levels().len()])
        .collect()
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

/// The classes EM separates: one person, one household, unrelated.
const CLASSES: usize = 3;

/// Fits the model by EM on the candidates' pattern counts, with `u` fixed at `u_unrelated`
/// (see [Estimation](self#estimation)) and `all_pairs` the number of record pairs in the
/// register, `n (n - 1) / 2`.
pub(crate) fn fit(
    counts: &[(Pattern, f64)],
    u_unrelated: Vec<Vec<f64>>,
    all_pairs: f64,
    max_iterations: usize,
) -> Model {
    let start = |f: fn(Comparison) -> &'static [f64]| -> Vec<Vec<f64>> {
        Comparison::ALL.iter().map(|&c| f(c).to_vec()).collect()
    };
    let mut probs: [Vec<Vec<f64>>; CLASSES] = [start(m_start), start(h_start), u_unrelated.clone()];
    let total: f64 = counts.iter().map(|&(_, n)| n).sum();
    let all_pairs = all_pairs.max(total).max(1.0);
    let mut shares = [
        LAMBDA_START * total / all_pairs,
        HOUSEHOLD_START * total / all_pairs,
        0.0,
    ];
    shares[2] = 1.0 - shares[0] - shares[1];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iterations && total > 0.0 {
        iterations += 1;
        let (next, shares_next) = em_step(counts, &probs, &shares, all_pairs);
        // Shares are compared on the log scale: register-wide they are tiny.
        let change = (0..CLASSES)
            .map(|k| {
                max_change(&probs[k], &next[k]).max((shares[k].ln() - shares_next[k].ln()).abs())
            })
            .fold(0.0, f64::max);
        (probs, shares) = (next, shares_next);
        if change < EM_TOLERANCE {
            converged = true;
            break;
        }
    }
    let [m, h, u] = probs;
    let weights = level_weights(&m, &h, &u, shares[0], shares[1]);
    Model {
        lambda: shares[0],
        household_share: shares[1],
        m,
        h,
        u,
        u_random: u_unrelated,
        iterations,
        converged,
        weights,
    }
}

type Classes = [Vec<Vec<f64>>; CLASSES];

/// One EM iteration over all `all_pairs` record pairs, the pairs that are not candidates
/// being unrelated by assumption: class responsibilities per candidate pattern, then the
/// re-estimated `m` (floored, made monotone against `u`) and `h`, and the register-wide class
/// shares. `u` stays as measured.
fn em_step(
    counts: &[(Pattern, f64)],
    probs: &Classes,
    shares: &[f64; CLASSES],
    all_pairs: f64,
) -> (Classes, [f64; CLASSES]) {
    let mut next: Classes = [zeros(), zeros(), probs[2].clone()];
    let mut mass = [0.0; CLASSES];
    for &(p, n) in counts {
        let ll: [f64; CLASSES] =
            std::array::from_fn(|k| shares[k].ln() + log_likelihood(&probs[k], p));
        let top = ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: [f64; CLASSES] = std::array::from_fn(|k| (ll[k] - top).exp());
        let sum: f64 = w.iter().sum();
        for k in 0..CLASSES - 1 {
            let g = n * w[k] / sum;
            mass[k] += g;
            for c in Comparison::ALL {
                let l = p.level(c);
                if l != MISSING {
                    next[k][c.index()][l as usize] += g;
                }
            }
        }
    }
    for class in next.iter_mut().take(CLASSES - 1) {
        class.iter_mut().for_each(|v| normalise(v));
    }
    let [m, _, u] = &mut next;
    for (c, (mv, uv)) in Comparison::ALL.iter().zip(m.iter_mut().zip(u.iter())) {
        if FIXED_M.contains(c) {
            mv.copy_from_slice(m_start(*c));
        } else {
            monotone_ratios(mv, uv);
        }
    }
    let floor = 1.0 / all_pairs;
    let m_share = (mass[0] / all_pairs).max(floor);
    let h_share = (mass[1] / all_pairs).max(floor);
    (next, [m_share, h_share, 1.0 - m_share - h_share])
}

fn level_weights(
    m: &[Vec<f64>],
    h: &[Vec<f64>],
    u: &[Vec<f64>],
    lambda: f64,
    household: f64,
) -> Vec<Vec<f64>> {
    let unrelated = 1.0 - lambda - household;
    (0..m.len())
        .map(|f| {
            (0..m[f].len())
                .map(|l| {
                    let other = (household * h[f][l] + unrelated * u[f][l]) / (1.0 - lambda);
                    (m[f][l] / other).log2()
                })
                .collect()
        })
        .collect()
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
        let want = [0.7, 0.2, 0.05, 0.05];
        let mut ok = want;
        monotone_ratios(&mut ok, &u);
        assert!(
            ok.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{ok:?}"
        );
    }

    #[test]
    fn probability_of_weights() {
        assert!((probability(0.0) - 0.5).abs() < 1e-12);
        assert!(probability(10.0) > 0.999);
        assert!(probability(-10.0) < 0.001);
    }
}
