//! Fitting the model on the candidate pairs' patterns and scoring the pairs, in one part or,
//! when the candidates do not fit in memory at once, in parts ([`DedupeConfig::pairs_per_part`]):
//! the steps [`dedupe`](super::dedupe) and [`link`](super::link) share.

use std::collections::HashMap;

use rayon::prelude::*;

use super::blocking::{Blocks, Pairs};
use super::compare::{Comparison, Packed, Pattern};
use super::fellegi_sunter::{self, Model};
use super::records::{Records, NO_DATE};
use super::{spill, sweep, unrelated, DedupeConfig, Guard, ScoredPair, PERSONAL_FIELDS};

/// The candidates compared, the model fitted on their patterns and the pairs scored: the steps
/// `dedupe` and [`link`] share. `all_pairs` is the number of record pairs the candidates were
/// drawn from; `households` says from the fitted model whether the household guards apply.
///
/// When the blocks emit more than [`DedupeConfig::pairs_per_part`] pairs, the candidates are
/// made, compared and scored in parts, each the pairs whose first row lies in one range: once
/// to count the patterns EM is fitted on, once more to score them. The counts are the whole
/// register's and the parts in order are the whole sorted list, so the result is the one
/// part's. The first pass keeps the parts' patterns on disk for the second ([`spill`]); where
/// it cannot, the parts are compared twice.
pub(crate) fn fit_and_score(
    records: &Records,
    blocks: &mut Blocks,
    first_rows: u32,
    all_pairs: f64,
    config: &DedupeConfig,
    households: impl Fn(&Model) -> bool,
) -> Scored {
    let parts = blocks
        .emitted()
        .div_ceil(config.pairs_per_part.max(1) as u64)
        .max(1);
    let step = u64::from(first_rows).div_ceil(parts).max(1);
    let ranges: Vec<std::ops::Range<u32>> = (0..parts)
        .map(|k| {
            let at = |k: u64| (k * step).min(u64::from(first_rows)) as u32;
            at(k)..at(k + 1)
        })
        .collect();
    let mut total: HashMap<Pattern, u64, foldhash::fast::RandomState> = HashMap::default();
    let mut candidates = 0u64;
    // One part's pairs and patterns are kept for scoring rather than made again; the patterns
    // of several are kept on disk ([`spill`]) where they can be.
    let mut kept = None;
    let mut spilled = (ranges.len() > 1)
        .then(|| spill::Parts::new(blocks.emitted()))
        .and_then(Result::ok);
    for range in &ranges {
        let (part, new) = blocks.pairs_from(range.clone());
        blocks.credit(&new);
        if ranges.len() == 1 {
            // The only part's pairs are made: the expanded blocks go before its patterns
            // are computed, not after (about 450 MB at 10,000,000 voters).
            blocks.drop_blocks();
        }
        candidates += part.len() as u64;
        let patterns = sweep::compare_all(records, &part);
        for (p, n) in fellegi_sunter::pattern_counts(&patterns) {
            *total.entry(p).or_insert(0) += n as u64;
        }
        if ranges.len() == 1 {
            kept = Some((part, patterns));
        } else if let Some(parts) = &mut spilled {
            if parts.write(&patterns).is_err() {
                spilled = None;
            }
        }
    }
    let mut counts: Vec<(Pattern, f64)> = total.into_iter().map(|(p, n)| (p, n as f64)).collect();
    counts.sort_unstable_by_key(|&(p, _)| p);
    let model = fit_model(records, &counts, all_pairs, config);
    let guards = households(&model);
    let mut pairs = Vec::new();
    let mut spilled = spilled.and_then(|parts| parts.read().ok());
    for range in &ranges {
        let (part, patterns) = kept.take().unwrap_or_else(|| {
            let (part, _) = blocks.pairs_from(range.clone());
            let read = spilled.as_mut().map(|parts| parts.next_part(part.len()));
            let patterns = match read {
                Some(Ok(patterns)) => patterns,
                _ => {
                    // Compared again from here on.
                    spilled = None;
                    sweep::compare_all(records, &part)
                }
            };
            (part, patterns)
        });
        pairs.extend(score(
            records, &part, &patterns, &counts, &model, config, guards,
        ));
    }
    Scored {
        model,
        pairs,
        candidates,
        parts: ranges.len(),
    }
}

/// What [`fit_and_score`] returns.
pub(crate) struct Scored {
    pub(crate) model: Model,
    /// Pairs at or above the review threshold, ordered by (a, b).
    pub(crate) pairs: Vec<ScoredPair>,
    /// Distinct candidate pairs compared.
    pub(crate) candidates: u64,
    /// Parts the candidates were compared in.
    pub(crate) parts: usize,
}

/// The model fitted on the candidates' distinct patterns and their `counts`
/// ([`fellegi_sunter::pattern_counts`]), with `u` measured on `records` and `all_pairs` the
/// record pairs the candidates were drawn from.
fn fit_model(
    records: &Records,
    counts: &[(Pattern, f64)],
    all_pairs: f64,
    config: &DedupeConfig,
) -> Model {
    let (u, compared) = unrelated::unrelated_u(records, config);
    fellegi_sunter::fit(counts, u, compared, all_pairs, config.max_em_iterations)
}

/// Scores the candidate pairs: match weight, probability, guard; only pairs at or above the
/// review threshold are kept. `households` says whether the household guards apply.
fn score(
    r: &Records,
    candidates: &Pairs,
    patterns: &[Packed],
    counts: &[(Pattern, f64)],
    model: &Model,
    config: &DedupeConfig,
    households: bool,
) -> Vec<ScoredPair> {
    let personal = PERSONAL_FIELDS
        .iter()
        .any(|c| model.status[c.index()].used());
    let zeros = |n: usize| vec![0.0f32; n];
    let (given_tf, family_tf) = if config.term_frequency {
        (
            fellegi_sunter::tf_adjustments(&r.given_count),
            fellegi_sunter::tf_adjustments(&r.family_count),
        )
    } else {
        (zeros(r.given_count.len()), zeros(r.family_count.len()))
    };
    // The weight of each distinct pattern once (a few thousand, the ones EM counted), not of
    // each pair (millions): the per-field log-likelihoods were a tenth of a dedupe. A weight
    // depends on the levels only, not on whether the names were compared crosswise.
    // Keyed by the packed levels, so that a pair below the review threshold is never unpacked.
    let weights: HashMap<Packed, f64, foldhash::fast::RandomState> = counts
        .iter()
        .map(|&(p, _)| (Packed::pack(p), model.pattern_weight(p)))
        .collect();
    candidates
        .codes()
        .par_iter()
        .zip(patterns)
        .filter_map(|(&code, &packed)| {
            let (a, b) = Pairs::unpack(code);
            // Swapped, the given name of `a` is compared with the family name of `b` (and so
            // on): each side's own frequency is the adjustment of its level.
            let exact = |c| packed.exact(c);
            let g_tf = if exact(Comparison::GivenName) {
                given_tf[r.rows[a as usize].given as usize]
            } else {
                0.0
            };
            let f_tf = if exact(Comparison::FamilyName) {
                family_tf[r.rows[a as usize].family as usize]
            } else {
                0.0
            };
            let match_weight = weights[&packed.levels_only()] + f64::from(g_tf + f_tf);
            let probability = fellegi_sunter::probability(match_weight);
            if probability < config.review_threshold {
                return None;
            }
            let pattern = packed.unpack();
            let years = |row: u32| Some(r.rows[row as usize].year).filter(|&y| y != NO_DATE);
            let years_apart = years(a).zip(years(b)).map(|(x, y)| x.abs_diff(y));
            let guard = Guard::of(pattern, households, personal, years_apart);
            Some(ScoredPair {
                a,
                b,
                pattern,
                given_tf: g_tf,
                family_tf: f_tf,
                match_weight,
                probability,
                guard,
                matched: probability >= config.threshold && guard.is_none(),
                cluster: None,
            })
        })
        .collect()
}
