//! `u`: how often each agreement level occurs between two people who are not one person,
//! measured on the register itself, not on the candidate pairs.
//!
//! Blocking keeps pairs that agree on something (a birth date, a name's sound, an address),
//! so among candidate pairs agreeing fields are common *by construction* and, worse, depend
//! on one another: a candidate that does not share the birth date was kept because it shares
//! the address. Level frequencies measured on candidates therefore understate what an
//! agreement says, more so the larger the register (more candidates per duplicate). `u` is
//! instead a property of the register's pairs at large, which are almost all unrelated people
//! (Splink estimates it the same way, by sampling random pairs):
//!
//! - Exact agreement on given name, family name, birth date and birth year: computed exactly
//!   from the value counts, `sum_v c_v (c_v - 1) / (N (N - 1))` over the records that have
//!   the field (the chance that two distinct records share the value). These are the rarest and most
//!   telling levels; 1,000,000 random pairs would see an exact birth date ~40 times only.
//! - Every other level: its frequency among [`DedupeConfig::random_pairs`] random record
//!   pairs, drawn with a SplitMix64 sequence from [`DedupeConfig::seed`]; for the fields
//!   above, conditional on not agreeing exactly.
//!
//! A level no random pair reached is rare, not impossible: its `u` is floored at half a pair
//! in the sample, `0.5 / random_pairs` (the usual continuity correction for a zero count).

use rayon::prelude::*;

use super::compare::{self, Comparison, Packed, MISSING};
use super::fellegi_sunter::pattern_counts;
use super::records::{Records, Row, NO_DATE};
use super::DedupeConfig;

/// `u` per comparison and level (see the module docs), and per comparison the share of the
/// random pairs that carry it on both sides.
pub(crate) fn unrelated_u(r: &Records, config: &DedupeConfig) -> (Vec<Vec<f64>>, Vec<f64>) {
    let pairs = random_pairs(r.len(), config);
    let patterns: Vec<Packed> = pairs
        .par_iter()
        .map(|&(a, b)| Packed::pack(compare::compare(r, a, b)))
        .collect();
    let counts = pattern_counts(&patterns);
    let floor = 0.5 / config.random_pairs.max(1) as f64;
    // How often each date and each year occurs, for the chance that two records share one.
    let run_counts = |value: fn(&Row) -> i32| -> Vec<u32> {
        let mut values: Vec<i32> = r.rows.iter().map(value).filter(|&v| v != NO_DATE).collect();
        values.sort_unstable();
        values
            .chunk_by(|a, b| a == b)
            .map(|run| run.len() as u32)
            .collect()
    };
    let (birth_counts, year_counts) = (run_counts(|x| x.birth), run_counts(|x| x.year));
    let sampled = pairs.len().max(1) as f64;
    let compared = Comparison::ALL
        .iter()
        .map(|&c| {
            counts
                .iter()
                .filter(|(p, _)| p.level(c) != MISSING)
                .map(|&(_, n)| n)
                .sum::<f64>()
                / sampled
        })
        .collect();
    let u = Comparison::ALL
        .iter()
        .map(|&c| {
            let exact = match c {
                Comparison::GivenName => Some(same_value_chance(&r.given_count[1..])),
                Comparison::FamilyName => Some(same_value_chance(&r.family_count[1..])),
                Comparison::BirthDate => Some(same_value_chance(&birth_counts)),
                Comparison::BirthYear => Some(same_value_chance(&year_counts)),
                _ => None,
            };
            let mut freq = vec![0.0; c.levels().len()];
            for &(p, n) in &counts {
                let l = p.level(c);
                if l != MISSING && (exact.is_none() || l != 0) {
                    freq[l as usize] += n;
                }
            }
            let (first, rest_mass) = match exact {
                Some(e) => (1, 1.0 - e),
                None => (0, 1.0),
            };
            let total: f64 = freq[first..].iter().sum();
            let even = rest_mass / (freq.len() - first) as f64;
            for f in &mut freq[first..] {
                *f = if total > 0.0 {
                    (*f / total * rest_mass).max(floor)
                } else {
                    even
                };
            }
            if let Some(e) = exact {
                // No two records sharing a value: rarer than one pair in a trillion.
                freq[0] = e.max(1e-12);
            }
            let sum: f64 = freq.iter().sum();
            freq.iter_mut().for_each(|f| *f /= sum);
            freq
        })
        .collect();
    (u, compared)
}

/// The chance that two distinct records share a value, from the values' counts.
fn same_value_chance(counts: &[u32]) -> f64 {
    let n: f64 = counts.iter().map(|&c| f64::from(c)).sum();
    if n < 2.0 {
        return 0.0;
    }
    let same: f64 = counts
        .iter()
        .map(|&c| f64::from(c) * (f64::from(c) - 1.0))
        .sum();
    same / (n * (n - 1.0))
}

/// `config.random_pairs` distinct-row pairs `(a, b)`, `a < b`, from a SplitMix64 sequence.
fn random_pairs(n: usize, config: &DedupeConfig) -> Vec<(usize, usize)> {
    let n = n as u64;
    let mut state = config.seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut pairs = Vec::with_capacity(config.random_pairs);
    if n >= 2 {
        while pairs.len() < config.random_pairs {
            let (a, b) = (next() % n, next() % n);
            if a != b {
                pairs.push((a.min(b) as usize, a.max(b) as usize));
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_chance_by_hand() {
        // Three records share A, one has B: 3*2 ordered same-value pairs of 4*3.
        assert!((same_value_chance(&[3, 1]) - 6.0 / 12.0).abs() < 1e-12);
        assert_eq!(same_value_chance(&[1]), 0.0);
        assert_eq!(same_value_chance(&[1, 1, 1]), 0.0);
    }
}
