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
//! ## Constraints: a fit that cannot collapse
//! Exports differ in which fields they have, and EM on an export it was not tuned for can
//! hand the matches to the wrong class (FEBRL: F1 0.003 to 0.08 before these constraints).
//! So, whatever the fields:
//! - after each M-step, `m` is pooled so that every field's likelihood ratio `m/u` falls from
//!   its strongest agreement level to disagreement, and no agreement level has `m < u`
//!   (`constraints::sane_ratios`): agreeing is never evidence *against* being one person;
//! - `m` is re-estimated with [`PRIOR_PAIRS`] pseudo-pairs at its start (a Dirichlet prior);
//! - the household class has `h = u` on the [`PERSONAL`] fields, is fitted only with one of
//!   the [`HOUSEHOLD_FIELDS`], and is kept only when BIC says the data identify it;
//! - absent and constant fields are not used; a name whose `m` collapses takes its prior.
//!
//! `fit` records each decision in the model ([`FieldStatus`], [`HouseholdFit`]).
//!
//! # Term frequencies
//! An exact given- or family-name match on value `v` gets `log2(u_avg / tf(v))` bits on top
//! of the level weight, where `tf(v)` is `v`'s share of the register and `u_avg = sum tf^2`
//! the chance that two random records agree on the field: SMITH (0.8% of a US register) is
//! weaker evidence than ZBIGNIEW. As in Splink, `tf(v)` is floored at one record. `close`
//! names get no adjustment: adjusting them by the commoner name's frequency (Splink's rule
//! for fuzzy levels) was tried, and at 10,000,000 generated voters it traded precision 0.991
//! for 0.986 and recall 0.943 for 0.947 (F1 unchanged), and it lost a pair of FEBRL 4.

use std::collections::HashMap;

use rayon::prelude::*;

use super::compare::{Comparison, Packed, Pattern, MISSING};
use super::constraints::sane_ratios;

/// Start of `lambda`, the share of candidate pairs that are one person: blocking keeps pairs
/// that share a strong key, so this is far above the register-wide rate; EM moves it.
pub const LAMBDA_START: f64 = 0.05;

/// Start of the share of candidate pairs that are two members of one household: blocking on
/// address, phone and email makes them the largest group of candidates.
pub const HOUSEHOLD_START: f64 = 0.3;

pub use super::constraints::PROBABILITY_FLOOR;

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
        Comparison::GivenName => &[0.70, 0.08, 0.14, 0.05, 0.03],
        Comparison::FamilyName => &[0.85, 0.06, 0.04, 0.03, 0.02],
        Comparison::MiddleName => &[0.70, 0.20, 0.10],
        Comparison::BirthDate => &[0.88, 0.04, 0.04, 0.02, 0.02],
        Comparison::Address => &[0.45, 0.05, 0.05, 0.08, 0.02, 0.10, 0.10, 0.15],
        Comparison::Sex | Comparison::NameSuffix => &[0.97, 0.03],
        // A copied id is exact but for keying errors, about as many again as a whole wrong id.
        Comparison::NationalId => &[0.94, 0.03, 0.03],
        // A year is wrong about as often as a full date is `different` (above).
        Comparison::BirthYear => &[0.98, 0.02],
        Comparison::Phone | Comparison::Email => &[0.85, 0.15],
    }
}

/// Starting `h` per level: two people of one household share address, usually surname and
/// often phone, and differ in given name, birth date, and half the time sex.
fn h_start(c: Comparison) -> &'static [f64] {
    match c {
        Comparison::GivenName => &[0.02, 0.01, 0.02, 0.05, 0.90],
        Comparison::FamilyName => &[0.75, 0.01, 0.04, 0.02, 0.18],
        Comparison::MiddleName => &[0.05, 0.05, 0.90],
        Comparison::BirthDate => &[0.02, 0.001, 0.01, 0.05, 0.919],
        Comparison::Address => &[0.88, 0.02, 0.02, 0.015, 0.005, 0.02, 0.02, 0.02],
        Comparison::Sex => &[0.40, 0.60],
        Comparison::NameSuffix => &[0.01, 0.99],
        Comparison::NationalId => &[0.001, 0.001, 0.998],
        Comparison::BirthYear => &[0.05, 0.95],
        Comparison::Phone => &[0.50, 0.50],
        Comparison::Email => &[0.30, 0.70],
    }
}

/// Comparisons whose `h` is `u`: two members of one household are two people, so they agree
/// on what identifies a person (given and middle name, birth date or year, national id) no
/// more often than two unrelated people do. Twins share a birth date and Jr/Sr a given name;
/// the guards (see [`super::Guard`]) keep those apart. The household class learns only the
/// fields a household shares (family name, address, phone, email, sex, suffix). This is what
/// keeps the class from absorbing the matches: left free, on FEBRL 3 (a benchmark register
/// with no households) EM gave the household class the true pairs, `m` of the given name
/// fell to `u` and every true pair paid -9.5 bits.
pub const PERSONAL: [Comparison; 5] = [
    Comparison::GivenName,
    Comparison::MiddleName,
    Comparison::BirthDate,
    Comparison::BirthYear,
    Comparison::NationalId,
];

/// The fields that tell a household from unrelated people: without any of them the household
/// class has nothing to be learned from and is not fitted.
pub const HOUSEHOLD_FIELDS: [Comparison; 3] =
    [Comparison::Address, Comparison::Phone, Comparison::Email];

/// A comparison whose strongest agreement holds for at least this share of random pairs that
/// carry it says nothing (a register with one sex code, one postcode) and is left out.
pub const CONSTANT_AGREEMENT: f64 = 0.99;

/// Pseudo-pairs added to each class's level counts, spread as the starting values (the
/// posterior mode under a Dirichlet prior one above them), so a field that few candidate pairs
/// carry (a sparse phone column, a register of 1,000 records) stays near its documented
/// prior instead of swinging to the probability floor. Against the thousands of pairs of a
/// real register it weighs nothing.
pub const PRIOR_PAIRS: f64 = 5.0;

/// How a comparison takes part in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldStatus {
    /// Compared; `m` learned by EM.
    Learned,
    /// Compared; `m` fixed at documented error rates ([`FIXED_M`]).
    Fixed,
    /// Compared; EM found agreement on this name no evidence of one person (`m` = `u` at
    /// every level), which no name can be, so `m` is fixed at the documented prior instead.
    PriorAfterCheck,
    /// Not compared: no random pair of records carries it on both sides (the export lacks
    /// the field, or holds it for too few records).
    Absent,
    /// Not compared: nearly every pair of records agrees on it ([`CONSTANT_AGREEMENT`]).
    Constant,
}

impl FieldStatus {
    pub const fn name(self) -> &'static str {
        match self {
            FieldStatus::Learned => "learned",
            FieldStatus::Fixed => "fixed",
            FieldStatus::PriorAfterCheck => "prior_after_check",
            FieldStatus::Absent => "absent",
            FieldStatus::Constant => "constant",
        }
    }

    /// Why, in a sentence, for `dedupe.json`.
    pub const fn reason(self) -> &'static str {
        match self {
            FieldStatus::Learned => "compared; m learned by EM",
            FieldStatus::Fixed => "compared; m fixed at documented error rates",
            FieldStatus::PriorAfterCheck => {
                "compared; EM found agreement on this name no evidence of one person, which \
                 no name can be, so m is its documented prior"
            }
            FieldStatus::Absent => {
                "absent: no random pair of records carries it on both sides (the export lacks \
                 it or holds it for too few records)"
            }
            FieldStatus::Constant => {
                "constant: at least 99% of random pairs agree on it, so agreement says nothing"
            }
        }
    }

    /// Whether the comparison contributes to the match weight.
    pub const fn used(self) -> bool {
        matches!(
            self,
            FieldStatus::Learned | FieldStatus::Fixed | FieldStatus::PriorAfterCheck
        )
    }
}

/// Whether the household class was fitted, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HouseholdFit {
    /// Fitted: the class improves the fit by more than its parameters cost (BIC).
    Kept { gain: f64, penalty: f64 },
    /// Not fitted: no address, phone or email to tell a household from strangers.
    NoSharedFields,
    /// Fitted, then dropped: the class improved the log-likelihood by `gain` nats, less than
    /// the BIC penalty of its parameters; the data cannot identify it, so the two-class model
    /// (one person, not one person) is used.
    NotIdentified { gain: f64, penalty: f64 },
}

impl HouseholdFit {
    pub fn kept(self) -> bool {
        matches!(self, HouseholdFit::Kept { .. })
    }

    /// Why, in a sentence, for `dedupe.json`.
    pub const fn reason(self) -> &'static str {
        match self {
            HouseholdFit::Kept { .. } => {
                "fitted: the household class improves the fit by more than its parameters \
                 cost (BIC)"
            }
            HouseholdFit::NoSharedFields => {
                "not fitted: no address, phone or email to tell a household from strangers; \
                 two classes (one person, not one person)"
            }
            HouseholdFit::NotIdentified { .. } => {
                "not identified: the household class improves the fit by less than its \
                 parameters cost (BIC), so the data cannot tell it apart; two classes (one \
                 person, not one person)"
            }
        }
    }

    /// The log-likelihood gain of the class and the BIC penalty of its parameters (nats),
    /// when it was fitted.
    pub fn gain_and_penalty(self) -> Option<(f64, f64)> {
        match self {
            HouseholdFit::Kept { gain, penalty }
            | HouseholdFit::NotIdentified { gain, penalty } => Some((gain, penalty)),
            HouseholdFit::NoSharedFields => None,
        }
    }
}

/// A fitted model. Vectors are indexed by [`Comparison::index`], then by level.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Share of all record pairs that are one person.
    pub lambda: f64,
    /// Share of all record pairs that are two members of one household (0 when the class was
    /// not fitted).
    pub household_share: f64,
    /// P(level | one person).
    pub m: Vec<Vec<f64>>,
    /// P(level | two members of one household); unused (and left at its starting values)
    /// when the class was not fitted.
    pub h: Vec<Vec<f64>>,
    /// P(level | two unrelated people), measured on the register ([`super::unrelated`]).
    pub u: Vec<Vec<f64>>,
    /// Per comparison, the share of random record pairs that carry it on both sides.
    pub compared: Vec<f64>,
    /// Per comparison, how it takes part.
    pub status: Vec<FieldStatus>,
    pub household: HouseholdFit,
    pub iterations: usize,
    pub converged: bool,
    /// Per level, `log2(m / n)` with `n` the level's probability among pairs that are not one
    /// person (households and unrelated people together): the level's evidence on its own;
    /// 0 for a comparison not used.
    pub weights: Vec<Vec<f64>>,
}

impl Model {
    /// The prior weight, `log2(lambda / (1 - lambda))`.
    pub fn prior_weight(&self) -> f64 {
        (self.lambda / (1.0 - self.lambda)).log2()
    }

    /// The weight of `level` of `c`; 0 for a missing level or an unused comparison.
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
        let used = |c: Comparison| self.status[c.index()].used();
        let lm = self.lambda.ln() + log_likelihood(&self.m, p, used);
        let lu = (1.0 - self.lambda - self.household_share).ln() + log_likelihood(&self.u, p, used);
        let other = if self.household.kept() {
            let lh = self.household_share.ln() + log_likelihood(&self.h, p, used);
            lh.max(lu) + (-(lh - lu).abs()).exp().ln_1p()
        } else {
            lu
        };
        (lm - other) / std::f64::consts::LN_2
    }

    /// What the per-field weights miss: the pattern weight minus the prior and the field
    /// weights. Household members agree on several fields at once (address, surname, phone);
    /// the household class accounts for that correlation, independent per-field weights
    /// cannot. Negative when the agreement looks like a household's; 0 without the class.
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
pub(crate) fn pattern_counts(patterns: &[Packed]) -> Vec<(Pattern, f64)> {
    // Counted packed (a few thousand distinct values), unpacked once each.
    let packed = patterns
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut h: HashMap<Packed, u64, foldhash::fast::RandomState> = HashMap::default();
            for &p in chunk {
                *h.entry(p.levels_only()).or_insert(0) += 1;
            }
            h
        })
        .reduce(HashMap::default, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_insert(0) += v;
            }
            a
        });
    let mut v: Vec<(Pattern, f64)> = packed
        .into_iter()
        .map(|(p, c)| (p.unpack(), c as f64))
        .collect();
    v.sort_unstable_by_key(|&(p, _)| p);
    v
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

fn log_likelihood(probs: &[Vec<f64>], p: Pattern, used: impl Fn(Comparison) -> bool) -> f64 {
    Comparison::ALL
        .iter()
        .map(|&c| match p.level(c) {
            MISSING => 0.0,
            _ if !used(c) => 0.0,
            l => probs[c.index()][l as usize].ln(),
        })
        .sum()
}

/// The classes EM separates: one person, one household, unrelated.
const CLASSES: usize = 3;

type Classes = [Vec<Vec<f64>>; CLASSES];

/// What EM is told about the comparisons: which are used, and whose `m` is fixed.
struct Setup {
    status: Vec<FieldStatus>,
    household: bool,
    /// Candidate pairs (the patterns' counts summed).
    candidates: f64,
    all_pairs: f64,
    max_iterations: usize,
}

impl Setup {
    fn used(&self, c: Comparison) -> bool {
        self.status[c.index()].used()
    }

    fn fixed(&self, c: Comparison) -> bool {
        matches!(
            self.status[c.index()],
            FieldStatus::Fixed | FieldStatus::PriorAfterCheck
        )
    }
}

/// One EM run's result.
struct EmFit {
    probs: Classes,
    shares: [f64; CLASSES],
    iterations: usize,
    converged: bool,
    /// Log-likelihood (nats) of the candidates' patterns under the fit.
    log_likelihood: f64,
}

/// Fits the model by EM on the candidates' pattern counts, with `u` fixed at `u_unrelated`
/// (see [Estimation](self#estimation)), `compared` the share of random pairs that carry each
/// comparison on both sides, and `all_pairs` the number of record pairs in the register,
/// `n (n - 1) / 2`.
///
/// Which comparisons are used, whether the household class is fitted and any fallback are
/// decided here and recorded in the model ([`Model::status`], [`Model::household`]):
/// 1. a comparison no random pair carries is absent, one nearly every pair agrees on is
///    constant; neither is used;
/// 2. with an address, phone or email, EM fits three classes and two, and keeps the
///    household class only when it pays for its parameters (BIC on the candidates'
///    patterns); without them, two;
/// 3. a given or family name whose learned `m` equals `u` at every level gets its documented
///    prior instead, and EM runs again.
pub(crate) fn fit(
    counts: &[(Pattern, f64)],
    u_unrelated: Vec<Vec<f64>>,
    compared: Vec<f64>,
    all_pairs: f64,
    max_iterations: usize,
) -> Model {
    let total: f64 = counts.iter().map(|&(_, n)| n).sum();
    let mut setup = Setup {
        status: Comparison::ALL
            .iter()
            .map(|&c| {
                if compared[c.index()] <= 0.0 {
                    FieldStatus::Absent
                } else if u_unrelated[c.index()][0] >= CONSTANT_AGREEMENT {
                    FieldStatus::Constant
                } else if FIXED_M.contains(&c) {
                    FieldStatus::Fixed
                } else {
                    FieldStatus::Learned
                }
            })
            .collect(),
        household: false,
        candidates: total,
        all_pairs: all_pairs.max(total).max(1.0),
        max_iterations,
    };
    let can_household = HOUSEHOLD_FIELDS.iter().any(|&c| setup.used(c));
    let (em, household) = loop {
        let (em, household) = choose_classes(counts, &u_unrelated, &mut setup, can_household);
        let collapsed: Vec<Comparison> = [Comparison::GivenName, Comparison::FamilyName]
            .into_iter()
            .filter(|&c| {
                setup.status[c.index()] == FieldStatus::Learned
                    && em.probs[0][c.index()][0] <= u_unrelated[c.index()][0] * (1.0 + 1e-9)
            })
            .collect();
        if collapsed.is_empty() {
            break (em, household);
        }
        for c in collapsed {
            setup.status[c.index()] = FieldStatus::PriorAfterCheck;
        }
    };
    let EmFit {
        probs: [m, h, u],
        shares,
        iterations,
        converged,
        ..
    } = em;
    let weights = level_weights(&m, &h, &u, shares[0], shares[1], &setup.status);
    Model {
        lambda: shares[0],
        household_share: shares[1],
        m,
        h,
        u,
        compared,
        status: setup.status,
        household,
        iterations,
        converged,
        weights,
    }
}

/// Runs EM with and (when possible) without the household class and keeps the household
/// class only when its log-likelihood gain beats the BIC penalty of its free parameters.
fn choose_classes(
    counts: &[(Pattern, f64)],
    u: &[Vec<f64>],
    setup: &mut Setup,
    can_household: bool,
) -> (EmFit, HouseholdFit) {
    setup.household = false;
    let two = run_em(counts, u, setup);
    if !can_household {
        return (two, HouseholdFit::NoSharedFields);
    }
    setup.household = true;
    let three = run_em(counts, u, setup);
    let free: usize = 1 + Comparison::ALL
        .iter()
        .filter(|&&c| setup.used(c) && !PERSONAL.contains(&c))
        .map(|c| c.levels().len() - 1)
        .sum::<usize>();
    let penalty = 0.5 * free as f64 * setup.candidates.max(2.0).ln();
    let gain = three.log_likelihood - two.log_likelihood;
    if gain > penalty {
        (three, HouseholdFit::Kept { gain, penalty })
    } else {
        setup.household = false;
        (two, HouseholdFit::NotIdentified { gain, penalty })
    }
}

fn run_em(counts: &[(Pattern, f64)], u: &[Vec<f64>], setup: &Setup) -> EmFit {
    let m: Vec<Vec<f64>> = Comparison::ALL
        .iter()
        .map(|&c| m_start(c).to_vec())
        .collect();
    let h = Comparison::ALL
        .iter()
        .map(|&c| {
            if PERSONAL.contains(&c) {
                u[c.index()].clone()
            } else {
                h_start(c).to_vec()
            }
        })
        .collect();
    let mut probs: Classes = [m, h, u.to_vec()];
    let total = setup.candidates;
    let all_pairs = setup.all_pairs;
    let household_start = if setup.household {
        HOUSEHOLD_START * total / all_pairs
    } else {
        0.0
    };
    let mut shares = [LAMBDA_START * total / all_pairs, household_start, 0.0];
    shares[2] = 1.0 - shares[0] - shares[1];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < setup.max_iterations && total > 0.0 {
        iterations += 1;
        let (next, shares_next) = em_step(counts, &probs, &shares, setup);
        // Shares are compared on the log scale: register-wide they are tiny.
        let change = (0..CLASSES)
            .filter(|&k| shares[k] > 0.0)
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
    // The pairs no rule made candidates are unrelated by assumption (as in EM): their term
    // belongs to the likelihood the class choice compares.
    let log_likelihood = counts
        .iter()
        .map(|&(p, n)| n * mixture(&probs, &shares, p, setup).0)
        .sum::<f64>()
        + (all_pairs - total).max(0.0) * shares[2].ln();
    EmFit {
        probs,
        shares,
        iterations,
        converged,
        log_likelihood,
    }
}

/// The log of the pattern's mixture probability and each class's log joint probability.
fn mixture(
    probs: &Classes,
    shares: &[f64; CLASSES],
    p: Pattern,
    setup: &Setup,
) -> (f64, [f64; CLASSES]) {
    let ll: [f64; CLASSES] = std::array::from_fn(|k| {
        if shares[k] > 0.0 {
            shares[k].ln() + log_likelihood(&probs[k], p, |c| setup.used(c))
        } else {
            f64::NEG_INFINITY
        }
    });
    let top = ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = ll.iter().map(|&l| (l - top).exp()).sum();
    (top + sum.ln(), ll)
}

/// One EM iteration over all `all_pairs` record pairs, the pairs that are not candidates
/// being unrelated by assumption: class responsibilities per candidate pattern, then the
/// re-estimated `m` (with its prior, made sane against `u`, or fixed) and `h` (`u` for the
/// [`PERSONAL`] fields), and the register-wide class shares. `u` stays as measured.
fn em_step(
    counts: &[(Pattern, f64)],
    probs: &Classes,
    shares: &[f64; CLASSES],
    setup: &Setup,
) -> (Classes, [f64; CLASSES]) {
    let prior = |f: fn(Comparison) -> &'static [f64]| -> Vec<Vec<f64>> {
        Comparison::ALL
            .iter()
            .map(|&c| f(c).iter().map(|&x| x * PRIOR_PAIRS).collect())
            .collect()
    };
    let mut next: Classes = [prior(m_start), prior(h_start), probs[2].clone()];
    let mut mass = [0.0; CLASSES];
    for &(p, n) in counts {
        let (total, ll) = mixture(probs, shares, p, setup);
        for k in 0..CLASSES - 1 {
            let g = n * (ll[k] - total).exp();
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
    let [m, h, u] = &mut next;
    for c in Comparison::ALL {
        let i = c.index();
        if setup.fixed(c) {
            m[i].copy_from_slice(m_start(c));
        } else {
            sane_ratios(&mut m[i], &u[i], c.disagreement());
        }
        if PERSONAL.contains(&c) {
            h[i].clone_from(&u[i]);
        }
    }
    let floor = 1.0 / setup.all_pairs;
    let m_share = (mass[0] / setup.all_pairs).max(floor);
    let h_share = if setup.household {
        (mass[1] / setup.all_pairs).max(floor)
    } else {
        0.0
    };
    (next, [m_share, h_share, 1.0 - m_share - h_share])
}

fn level_weights(
    m: &[Vec<f64>],
    h: &[Vec<f64>],
    u: &[Vec<f64>],
    lambda: f64,
    household: f64,
    status: &[FieldStatus],
) -> Vec<Vec<f64>> {
    let unrelated = 1.0 - lambda - household;
    (0..m.len())
        .map(|f| {
            (0..m[f].len())
                .map(|l| {
                    if !status[f].used() {
                        return 0.0;
                    }
                    let other = (household * h[f][l] + unrelated * u[f][l]) / (1.0 - lambda);
                    (m[f][l] / other).log2()
                })
                .collect()
        })
        .collect()
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
    fn probability_of_weights() {
        assert!((probability(0.0) - 0.5).abs() < 1e-12);
        assert!(probability(10.0) > 0.999);
        assert!(probability(-10.0) < 0.001);
    }
}
