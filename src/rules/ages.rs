//! `R-AGE-UNDER` and `R-AGE-OVER`: ages that the roll cannot hold on the reference date.
//!
//! # `R-AGE-UNDER`
//! A record that is not pending (active, inactive: inactive voters may still vote after
//! confirming their address, or without status) whose holder is below the voting age on
//! the reference date (election day when a calendar is given): they would receive a ballot
//! they are not entitled to. The voting age is the calendar's `voting_age`, else
//! [`ScanConfig::voting_age`](super::ScanConfig) (18, the voting age of nearly every
//! democracy). Pending records are excluded: a pre-registration below voting age is lawful,
//! and the age at registration is checked by `R-REG-UNDER-AGE`. With only a birth year the
//! rule fires when even the oldest possible age (born on 1 January) is below the voting age.
//! Severity `medium` (one record that cannot be right).
//!
//! # `R-AGE-OVER`
//! A current or inactive record older than [`ScanConfig::max_age`](super::ScanConfig) (115:
//! the oldest verified human reached 122, and the oldest living people are typically 114 to
//! 116, Gerontology Research Group tables). Such a record is a death not processed or a
//! wrong birth date, and either way a ballot nobody should cast. With only a birth year it
//! fires when even the youngest possible age exceeds the limit. Placeholder birth dates
//! (1900-01-01 ...) are reported once, by `R-BIRTH-PLACEHOLDER`, not here. Severity `medium`.
//!
//! Removed records are checked too, at `low` (see the severity policy in [`super`]).

use crate::dates::IsoDate;
use crate::findings::{Evidence, RuleRun, Severity};
use crate::model::Field;

use super::columns::{age_range, Birth, Standing};
use super::{Context, Output};

pub(crate) const UNDER: &str = "R-AGE-UNDER";
pub(crate) const OVER: &str = "R-AGE-OVER";

pub(crate) fn check(ctx: &Context<'_>, out: &mut Output) {
    let Some(births) = &ctx.births else {
        let missing = vec![Field::BirthDate, Field::BirthYear];
        for rule in [UNDER, OVER] {
            out.run(RuleRun {
                rule,
                status: crate::findings::RuleStatus::Skipped {
                    missing: missing.clone(),
                },
            });
        }
        return;
    };
    out.run(RuleRun::check(UNDER, |_| true, &[]));
    out.run(RuleRun::check(OVER, |_| true, &[]));
    let baseline =
        |limit: &str| format!("{limit} on {} ({})", IsoDate(ctx.as_of), ctx.as_of_source);
    // A birth date between these two has an age neither rule reports; the rest (year-only
    // births too) are aged one by one.
    let of_voting_age = latest_birth_of_age(ctx.voting_age as i32, ctx.as_of);
    let over_max_age = latest_birth_of_age(ctx.config.max_age as i32 + 1, ctx.as_of);
    for (row, &birth) in births.iter().enumerate() {
        if matches!(birth, Birth::Date(d) if d > over_max_age && d <= of_voting_age) {
            continue;
        }
        let Some((youngest, oldest)) = age_range(birth, ctx.as_of) else {
            continue;
        };
        let standing = ctx.standing[row];
        let facts = || {
            vec![
                ("birth", birth_kind(birth).to_string()),
                ("as_of", IsoDate(ctx.as_of).to_string()),
            ]
        };
        if standing != Standing::Pending && oldest < ctx.voting_age as i32 {
            out.push(ctx.record(
                UNDER,
                Severity::Medium,
                row,
                Evidence {
                    observed: oldest as f64,
                    expected: Some(ctx.voting_age as f64),
                    baseline: baseline(&format!("voting age {}", ctx.voting_age)),
                    facts: facts(),
                    ..Evidence::default()
                },
            ));
        }
        let placeholder = matches!(birth, Birth::Date(d) if super::birth::is_placeholder(ctx, d));
        if !placeholder && youngest > ctx.config.max_age as i32 {
            out.push(ctx.record(
                OVER,
                Severity::Medium,
                row,
                Evidence {
                    observed: youngest as f64,
                    expected: Some(ctx.config.max_age as f64),
                    baseline: baseline(&format!("oldest plausible age {}", ctx.config.max_age)),
                    facts: facts(),
                    ..Evidence::default()
                },
            ));
        }
    }
}

/// The latest birth date (days since 1970) of someone `age` or older on `on`. Ages only grow
/// with an earlier birth, so a search with [`super::age_on`] itself finds it: a birth date `b`
/// is of age exactly when `b` is at most this, with no calendar arithmetic of its own to get
/// wrong. Computing two calendar dates for each of a million records was most of the rule's
/// time.
fn latest_birth_of_age(age: i32, on: i32) -> i32 {
    // `on - 367 * age - 1` is old enough for any age: a year has at most 366 days.
    let (mut old_enough, mut too_young) = (on - 367 * age.max(0) - 1, on + 1);
    while too_young - old_enough > 1 {
        let mid = old_enough + (too_young - old_enough) / 2;
        if super::age_on(mid, on) >= age {
            old_enough = mid;
        } else {
            too_young = mid;
        }
    }
    old_enough
}

/// What a finding says about a birth: how precisely it is known, never the date itself (the
/// voter id identifies the record; the age, where the rule measures one, is the evidence).
pub(crate) fn birth_kind(birth: Birth) -> &'static str {
    match birth {
        Birth::Date(_) => "full date",
        Birth::Year(_) => "year only",
        Birth::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_iso_date;

    /// Against the age of every birth date over 130 years, on ordinary days and around 29
    /// February.
    #[test]
    fn the_latest_birth_of_an_age_splits_the_ages_where_age_on_does() {
        for on in [
            "2026-10-22",
            "2024-02-29",
            "2025-02-28",
            "2025-03-01",
            "1970-01-01",
        ] {
            let on = parse_iso_date(on).unwrap();
            for age in [0, 1, 16, 18, 116] {
                let latest = latest_birth_of_age(age, on);
                for birth in on - 130 * 366..=on + 10 {
                    assert_eq!(
                        super::super::age_on(birth, on) >= age,
                        birth <= latest,
                        "age {age} on {on}, born {birth}"
                    );
                }
            }
        }
    }
}
