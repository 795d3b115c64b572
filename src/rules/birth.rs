//! `R-BIRTH-FUTURE`, `R-BIRTH-PLACEHOLDER` and `R-BIRTH-OVERREP`: birth dates that are not a
//! person's birth date.
//!
//! # `R-BIRTH-FUTURE`
//! A birth date (or year) after the snapshot date: impossible, a typing error or a forged
//! record. Severity `medium`.
//!
//! # `R-BIRTH-PLACEHOLDER`
//! Systems that require a birth date fill unknown ones with a default. DOMAIN.md: in Ohio
//! 6,498 of 9,108 same-name-and-birth-date pairs were on the placeholder 1800-01-01. The
//! list: 1800-01-01, January 1 of any year up to 1901, 1899-12-30 and 1899-12-31 (the
//! spreadsheet serial-date epochs); 1970-01-01 is left out. A placeholder makes the age unknowable and defeats every name-and-birth-date match (the
//! Ohio case), so the record must be verified: severity `medium`. The dates are the ones
//! deduplication treats as missing ([`crate::normalize::is_placeholder_birth_date`]), plus any
//! a data team adds ([`ScanConfig::extra_placeholder_birth_dates`](super::ScanConfig)).
//!
//! # `R-BIRTH-OVERREP`
//! A birth date held by far more records than its neighbouring days: an unlisted default
//! (first of January for people without documents, a clerk's habitual value). Expected count
//! of a date = the mean count of the other dates within ±30 days (the window absorbs the
//! seasonality of births and ageing), at least half a record per window. The count is tested
//! against a Poisson distribution with that mean; the p-values of all distinct dates in the
//! register are adjusted by Benjamini-Hochberg, and a date is reported when it has at least 5
//! records, at least 3 times its expected count and q <= 0.001 (birthday coincidences, even
//! twins, never reach that: at 20,000 voters a date expects ~0.7 records, and 9 are needed).
//! Severity `low` (a data-entry convention until shown otherwise), `medium` from 10 times the
//! expected count: a date that common is a default value, not a birthday. All thresholds are
//! in [`OverrepConfig`](super::OverrepConfig). Configured placeholders are excluded (they
//! have their own rule). Removed records are not counted.

use rayon::prelude::*;

use crate::dates::IsoDate;
use crate::findings::{Evidence, RuleRun, RuleStatus, Scope, Severity};
use crate::model::Field;

use super::columns::{Birth, Standing};
use super::{Context, Output};
use crate::stats::{benjamini_hochberg, poisson_upper_tail};

pub(crate) const FUTURE: &str = "R-BIRTH-FUTURE";
pub(crate) const PLACEHOLDER: &str = "R-BIRTH-PLACEHOLDER";
pub(crate) const OVERREP: &str = "R-BIRTH-OVERREP";

/// A birth date that stands for "unknown": the shared list or one the configuration adds.
pub(crate) fn is_placeholder(ctx: &Context<'_>, day: i32) -> bool {
    crate::normalize::is_placeholder_birth_date(day)
        || ctx.config.extra_placeholder_birth_dates.contains(&day)
}

pub(crate) fn check(ctx: &Context<'_>, out: &mut Output) {
    let Some(births) = &ctx.births else {
        for rule in [FUTURE, PLACEHOLDER] {
            out.run(RuleRun {
                rule,
                status: RuleStatus::Skipped {
                    missing: vec![Field::BirthDate, Field::BirthYear],
                },
            });
        }
        return;
    };
    out.run(RuleRun::check(FUTURE, |_| true, &[]));
    out.run(ctx.check(PLACEHOLDER, &[Field::BirthDate]));
    let snapshot_year = crate::dates::civil_from_days(ctx.snapshot_date).0;
    for (row, &birth) in births.iter().enumerate() {
        let future = match birth {
            Birth::Date(d) => d > ctx.snapshot_date,
            Birth::Year(y) => y > snapshot_year,
            Birth::Unknown => false,
        };
        if future {
            out.push(ctx.record(
                FUTURE,
                Severity::Medium,
                row,
                Evidence {
                    observed: 0.0,
                    baseline: format!("snapshot date {}", IsoDate(ctx.snapshot_date)),
                    facts: vec![(
                        "birth",
                        match birth {
                            Birth::Year(_) => "year after the snapshot's year",
                            _ => "date after the snapshot date",
                        }
                        .to_string(),
                    )],
                    ..Evidence::default()
                },
            ));
        }
        if let Birth::Date(d) = birth {
            if is_placeholder(ctx, d) {
                out.push(ctx.record(
                    PLACEHOLDER,
                    Severity::Medium,
                    row,
                    Evidence {
                        observed: 0.0,
                        baseline: "configured placeholder birth dates".into(),
                        // The configured value matched (the pattern), equal to the voter's.
                        facts: vec![("placeholder", IsoDate(d).to_string())],
                        ..Evidence::default()
                    },
                ));
            }
        }
    }
}

/// `R-BIRTH-OVERREP`: a rule across records, where [`check`]'s are of one record each.
pub(crate) fn check_overrep(ctx: &Context<'_>, out: &mut Output) {
    if let (Some(births), true) = (&ctx.births, ctx.has(Field::BirthDate)) {
        overrep(ctx, births, out);
    }
    out.run(ctx.check(OVERREP, &[Field::BirthDate]));
}

/// The records `R-BIRTH-OVERREP` counts, as (birth date, row): dated, not removed, and not on
/// a placeholder date.
pub(crate) fn counted(ctx: &Context<'_>, births: &[Birth]) -> Vec<(i32, u32)> {
    births
        .par_iter()
        .enumerate()
        .filter_map(|(row, &birth)| match birth {
            Birth::Date(d) if ctx.standing[row] != Standing::Removed && !is_placeholder(ctx, d) => {
                Some((d, row as u32))
            }
            _ => None,
        })
        .collect()
}

/// A birth date `R-BIRTH-OVERREP` reports: its count, expected count, p- and q-value.
pub(crate) struct Overrepresented {
    pub date: i32,
    count: usize,
    expected: f64,
    p: f64,
    q: f64,
}

/// The dates of `histogram` (each counted date with its records, ascending by date) that the
/// rule reports, in date order.
pub(crate) fn overrepresented(
    histogram: &[(i32, usize)],
    cfg: &super::OverrepConfig,
) -> Vec<Overrepresented> {
    // Where each date's run would start in the records sorted by date (`starts` ends with
    // their number).
    let mut starts = Vec::with_capacity(histogram.len() + 1);
    let mut total = 0;
    for &(_, n) in histogram {
        starts.push(total);
        total += n;
    }
    starts.push(total);
    let window = cfg.window_days.max(1);
    let mut tested = Vec::new();
    for (i, &(d, count)) in histogram.iter().enumerate() {
        if count < cfg.min_count {
            continue;
        }
        let lo = histogram.partition_point(|&(x, _)| x < d - window);
        let hi = histogram.partition_point(|&(x, _)| x <= d + window);
        let neighbours = starts[hi] - starts[lo] - count;
        let expected = (neighbours as f64).max(0.5) / (2 * window) as f64;
        let p = poisson_upper_tail(count as u64, expected);
        tested.push((i, expected, p));
    }
    let p: Vec<f64> = tested.iter().map(|t| t.2).collect();
    let q = benjamini_hochberg(&p, histogram.len());
    tested
        .into_iter()
        .zip(q)
        .map(|((i, expected, p), q)| Overrepresented {
            date: histogram[i].0,
            count: histogram[i].1,
            expected,
            p,
            q,
        })
        .filter(|o| o.q <= cfg.max_q && o.count as f64 / o.expected >= cfg.min_ratio)
        .collect()
}

/// Each date of `dated` (sorted) with its number of records.
pub(crate) fn histogram(dated: &[(i32, u32)]) -> Vec<(i32, usize)> {
    let mut out: Vec<(i32, usize)> = Vec::new();
    for &(d, _) in dated {
        match out.last_mut() {
            Some((last, n)) if *last == d => *n += 1,
            _ => out.push((d, 1)),
        }
    }
    out
}

fn overrep(ctx: &Context<'_>, births: &[Birth], out: &mut Output) {
    let cfg = &ctx.config.overrep;
    // The counted records as (date, row) in one sorted vector: each date's rows are a run of
    // it, in row order. A map of a vector per date, grown row by row, was most of this rule's
    // time. The dates are judged by the whole register's counts: these rows', or, of a
    // register read a window at a time, the histogram of its windows (`super::windows`),
    // these rows then holding every record of the dates reported.
    let mut dated = counted(ctx, births);
    dated.par_sort_unstable();
    let own;
    let histogram = match ctx.whole {
        Some(whole) => &whole.birth_dates,
        None => {
            own = histogram(&dated);
            &own
        }
    };
    let window = cfg.window_days.max(1);
    for o in overrepresented(histogram, cfg) {
        let d = o.date;
        let run = dated.partition_point(|&(x, _)| x < d)..dated.partition_point(|&(x, _)| x <= d);
        let rows: Vec<u32> = dated[run].iter().map(|&(_, r)| r).collect();
        let (expected, p, q) = (o.expected, o.p, o.q);
        let ratio = rows.len() as f64 / expected;
        let severity = if ratio >= cfg.medium_ratio {
            Severity::Medium
        } else {
            Severity::Low
        };
        out.push(ctx.group(
            OVERREP,
            severity,
            Scope::Snapshot,
            format!("birth_date {}", IsoDate(d)),
            &rows,
            Evidence {
                observed: rows.len() as f64,
                expected: Some(expected),
                effect_size: Some(ratio),
                p_value: Some(p),
                q_value: Some(q),
                baseline: format!(
                    "mean records per birth date within ±{window} days; Poisson test, \
                     Benjamini-Hochberg over {} distinct birth dates",
                    histogram.len()
                ),
                facts: vec![("birth_date", IsoDate(d).to_string())],
            },
        ));
    }
}
