//! How many same-name-same-birth-date pairs chance alone would produce (the exact pass
//! itself is [`super::exact`]).
//!
//! # The chance estimate (the Crosscheck trap)
//! Interstate Crosscheck called any two records with equal first name, last name and birth
//! date a potential duplicate. Goel et al. ("One Person, One Vote", APSR 2020) showed that
//! most such pairs are different people born on the same day: the birthday problem. For each
//! group of `n_g` records sharing a normalised given + family name, the expected number of
//! coincidental pairs is `C(n_g, 2) * p`, with `p` the probability that two different people
//! of the register share a birth date, estimated from the register's own birth dates:
//! `p = sum_d c_d (c_d - 1) / (N (N - 1))` (`c_d` records born on day `d`, `N` records with a
//! birth date; the without-replacement form of `sum f_d^2`). The sum over groups is reported
//! beside the pairs actually found.
//!
//! It assumes birth dates independent of names. Given names follow birth cohorts (a MADISON
//! is young), which makes real coincidences somewhat more frequent than this predicts: when
//! found pairs barely exceed expected pairs, the rule is finding coincidences, not people.

use rayon::prelude::*;

use super::records::{Records, Row, NO_DATE};

/// The birthday-problem estimate for the exact name + birth-date rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ChanceEstimate {
    /// Records with given name, family name and birth date (placeholders excluded).
    pub records: u64,
    /// Probability that two different records share a birth date.
    pub p_same_birth_date: f64,
    /// Pairs sharing given + family name, whatever their birth dates.
    pub same_name_pairs: u64,
    /// Same-name pairs expected to share a birth date by chance.
    pub expected_pairs: f64,
    /// Same-name pairs that do share a birth date.
    pub found_pairs: u64,
    /// Of the found pairs, those the model matched (filled in by `dedupe`).
    pub matched_pairs: u64,
}

fn pairs_of(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Lengths of runs of equal values in a sorted slice.
fn run_lengths<T: PartialEq>(sorted: &[T]) -> impl Iterator<Item = u64> + '_ {
    sorted.chunk_by(|a, b| a == b).map(|run| run.len() as u64)
}

/// The estimate over the rows with both names and a birth date.
pub(crate) fn chance_estimate(r: &Records) -> ChanceEstimate {
    let rows: Vec<&Row> = r
        .rows
        .iter()
        .filter(|x| x.given != 0 && x.family != 0 && x.birth != NO_DATE)
        .collect();
    let n = rows.len() as u64;
    let mut dates: Vec<i32> = rows.iter().map(|x| x.birth).collect();
    dates.par_sort_unstable();
    let same_date: u64 = run_lengths(&dates).map(|c| c * c.saturating_sub(1)).sum();
    let p = if n >= 2 {
        same_date as f64 / (n * (n - 1)) as f64
    } else {
        0.0
    };
    let mut names: Vec<(u32, u32, i32)> =
        rows.iter().map(|x| (x.given, x.family, x.birth)).collect();
    names.par_sort_unstable();
    let name_only: Vec<(u32, u32)> = names.iter().map(|&(g, f, _)| (g, f)).collect();
    let same_name_pairs: u64 = run_lengths(&name_only).map(pairs_of).sum();
    let found_pairs: u64 = run_lengths(&names).map(pairs_of).sum();
    ChanceEstimate {
        records: n,
        p_same_birth_date: p,
        same_name_pairs,
        expected_pairs: same_name_pairs as f64 * p,
        found_pairs,
        matched_pairs: 0,
    }
}
