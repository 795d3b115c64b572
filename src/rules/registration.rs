//! `R-REG-BEFORE-BIRTH`, `R-REG-UNDER-AGE`, `R-REG-AFTER-CUTOFF` and `R-REG-FUTURE`:
//! registration dates the law or the calendar rules out.
//!
//! # `R-REG-BEFORE-BIRTH`
//! Registered before being born (with only a birth year: registered in an earlier year).
//! One of the two dates is false. Severity `medium`.
//!
//! # `R-REG-UNDER-AGE`
//! Registered below the minimum registration age: the calendar's `pre_registration_age`,
//! else [`ScanConfig::min_registration_age`](super::ScanConfig) (16, the youngest
//! pre-registration age in US states, NCSL). With only a birth year the rule fires when even
//! the oldest possible age at registration is below it. Registrations before birth are left to
//! `R-REG-BEFORE-BIRTH`. Severity `medium`.
//!
//! # `R-REG-AFTER-CUTOFF`
//! An active record registered after the calendar's `registration_cutoff` and on or before
//! election day: it is on the roll of an election it registered too late for. Pending
//! records after the cut-off are how late registrations should look and are not flagged;
//! registrations after election day belong to the next cycle. Jurisdictions with same-day
//! registration leave `registration_cutoff` out of the calendar. Not applicable without a
//! calendar or a cut-off. Severity `medium`.
//!
//! # `R-REG-FUTURE`
//! A registration dated after the snapshot date: impossible in an export. Severity `medium`.
//!
//! Removed records are checked too, at `low` (see the severity policy in [`super`]).
//! Findings say how the dates relate (and the days late or the age at registration), never
//! the voter's dates themselves: the voter id identifies the record.

use crate::dates::{civil_from_days, IsoDate};
use crate::findings::{Evidence, RuleRun, RuleStatus, Severity};
use crate::model::Field;

use super::ages::birth_kind;
use super::columns::{days, Birth};
use super::{age_on, Context, Output};

pub(crate) const BEFORE_BIRTH: &str = "R-REG-BEFORE-BIRTH";
pub(crate) const UNDER_AGE: &str = "R-REG-UNDER-AGE";
pub(crate) const AFTER_CUTOFF: &str = "R-REG-AFTER-CUTOFF";
pub(crate) const FUTURE: &str = "R-REG-FUTURE";

pub(crate) fn check(ctx: &Context<'_>, out: &mut Output) {
    let Some(registered) = days(ctx.snap, Field::RegistrationDate) else {
        for rule in [BEFORE_BIRTH, UNDER_AGE, AFTER_CUTOFF, FUTURE] {
            out.run(ctx.check(rule, &[Field::RegistrationDate]));
        }
        return;
    };
    let births = &ctx.births;
    let cutoff = ctx.calendar.and_then(|c| c.registration_cutoff);
    let birth_runs = match births {
        Some(_) => RuleStatus::Ran,
        None => RuleStatus::Skipped {
            missing: vec![Field::BirthDate, Field::BirthYear],
        },
    };
    for rule in [BEFORE_BIRTH, UNDER_AGE] {
        out.run(RuleRun {
            rule,
            status: birth_runs.clone(),
        });
    }
    out.run(RuleRun {
        rule: AFTER_CUTOFF,
        status: match (ctx.calendar, cutoff) {
            (None, _) => RuleStatus::NotApplicable {
                why: "no election calendar given",
            },
            (Some(_), None) => RuleStatus::NotApplicable {
                why: "the calendar has no registration_cutoff",
            },
            _ => RuleStatus::Ran,
        },
    });
    out.run(RuleRun::check(FUTURE, |_| true, &[]));
    let min_age = ctx.min_registration_age as i32;
    for (row, reg) in registered.iter().enumerate() {
        let Some(reg) = *reg else { continue };
        if reg > ctx.snapshot_date {
            out.push(ctx.record(
                FUTURE,
                Severity::Medium,
                row,
                Evidence {
                    baseline: format!("snapshot date {}", IsoDate(ctx.snapshot_date)),
                    facts: vec![("registration_date", "after the snapshot date".into())],
                    ..Evidence::default()
                },
            ));
        }
        if let Some(c) = cutoff {
            let election_day = ctx.calendar.map_or(i32::MAX, |c| c.election_day);
            if reg > c && reg <= election_day && ctx.standing[row].votes() {
                out.push(ctx.record(
                    AFTER_CUTOFF,
                    Severity::Medium,
                    row,
                    Evidence {
                        observed: (reg - c) as f64,
                        baseline: format!(
                            "registration cut-off {} (calendar); observed = days late",
                            IsoDate(c)
                        ),
                        facts: vec![(
                            "registration_date",
                            "after the cut-off, on or before election day".into(),
                        )],
                        ..Evidence::default()
                    },
                ));
            }
        }
        let Some(birth) = births.as_ref().map(|b| b[row]) else {
            continue;
        };
        let (before_birth, oldest_age) = match birth {
            Birth::Unknown => continue,
            Birth::Date(b) => (reg < b, age_on(b, reg)),
            Birth::Year(y) => {
                let reg_year = civil_from_days(reg).0;
                (reg_year < y, reg_year - y)
            }
        };
        let mut facts = vec![("birth", birth_kind(birth).to_string())];
        if before_birth {
            facts.push(("registration_date", "before the birth".into()));
            out.push(ctx.record(
                BEFORE_BIRTH,
                Severity::Medium,
                row,
                Evidence {
                    baseline: "birth".into(),
                    facts,
                    ..Evidence::default()
                },
            ));
        } else if oldest_age < min_age {
            out.push(ctx.record(
                UNDER_AGE,
                Severity::Medium,
                row,
                Evidence {
                    observed: oldest_age as f64,
                    expected: Some(min_age as f64),
                    baseline: format!("minimum registration age {min_age}"),
                    facts,
                    ..Evidence::default()
                },
            ));
        }
    }
}
