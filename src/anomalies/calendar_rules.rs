//! Changes that break the election calendar.
//!
//! - `A-CAL-FREEZE`: records edited (by their `changed_at`) after the roll freeze. Any such
//!   edit needs an explanation; `high` from `freeze_high` (10) records, else `medium`.
//! - `A-CAL-QUIET`: systematic removals inside the quiet period before election day. The US
//!   NVRA (52 U.S.C. 20507(c)(2)(A)) requires programmes that systematically remove voters to
//!   finish 90 days before a federal election; removals on the voter's request, for death or
//!   for a criminal conviction are excepted, and so are individual confirmed moves. So
//!   removals whose reason is `deceased`, `voter-request`, `felony` or `moved` are left out,
//!   and at least `quiet_min` (10) remaining removals in the window are `high`. A removal is
//!   the removal of a registered voter: a pending application closed (`pending` to
//!   `removed`, say "unverified") is not one; on an independent clean 1M series these were
//!   the only high finding (issue #17). Without `changed_at`, removals count as inside when
//!   the whole interval lies in the window.

use super::{in_new, in_old, records_of, sorted, voter_id, AnomalyResult, Interval};
use crate::calendar::ElectionCalendar;
use crate::dates::{IsoDate, MS_PER_DAY};
use crate::diff::ChangeKind;
use crate::findings::{Evidence, Finding, RuleRun, RuleStatus, Scope, Severity};
use crate::model::Field;
use crate::snapshot::FieldColumn;

#[derive(Clone, Debug)]
pub struct CalendarConfig {
    pub freeze_high: usize,
    pub quiet_min: usize,
    /// Removal reasons the quiet period allows (lower-case `status_reason` values).
    pub quiet_exempt_reasons: Vec<String>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        CalendarConfig {
            freeze_high: 10,
            quiet_min: 10,
            quiet_exempt_reasons: [
                "deceased",
                "voter-request",
                "voter request",
                "felony",
                "moved",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

fn changed_day(iv: &Interval<'_>, row: Option<u32>) -> Option<i32> {
    match iv.new.column(Field::ChangedAt)? {
        FieldColumn::Millis(ca) => ca
            .get(row? as usize)
            .map(|ms| ms.div_euclid(MS_PER_DAY) as i32),
        _ => None,
    }
}

pub(crate) fn detect(
    intervals: &[Interval<'_>],
    calendar: Option<&ElectionCalendar>,
    config: &CalendarConfig,
    out: &mut AnomalyResult,
) {
    let Some(cal) = calendar else {
        for rule in ["A-CAL-FREEZE", "A-CAL-QUIET"] {
            out.runs.push(crate::findings::RuleRun {
                rule,
                status: RuleStatus::NotApplicable {
                    why: "no --calendar given",
                },
            });
        }
        return;
    };
    let has = |f| intervals[0].new.has(f);
    out.runs
        .push(RuleRun::check("A-CAL-FREEZE", has, &[Field::ChangedAt]));
    out.runs
        .push(RuleRun::check("A-CAL-QUIET", has, &[Field::Status]));
    for iv in intervals {
        if let (Some(freeze), true) = (cal.roll_freeze, has(Field::ChangedAt)) {
            let ids: Vec<String> = iv
                .diff
                .records
                .iter()
                .filter(|r| r.kinds != [ChangeKind::Rekey])
                .filter(|r| changed_day(iv, r.new_row).is_some_and(|d| d > freeze && d <= iv.to))
                .map(|r| voter_id(iv, r))
                .collect();
            if !ids.is_empty() {
                out.findings.push(Finding {
                    rule: "A-CAL-FREEZE",
                    severity: if ids.len() >= config.freeze_high {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    scope: Scope::Snapshot,
                    scope_value: IsoDate(iv.to).to_string(),
                    evidence: Evidence {
                        observed: ids.len() as f64,
                        expected: Some(0.0),
                        baseline: format!("roll frozen after {} ({})", IsoDate(freeze), cal.name),
                        ..Evidence::default()
                    },
                    voter_ids: sorted(ids),
                    snapshot_date: Some(iv.to),
                });
            }
        }
        let Some(quiet_start) = cal.quiet_start() else {
            continue;
        };
        let ids: Vec<String> = records_of(iv, ChangeKind::Removal)
            // A pending application closed (never verified) removes no registered voter.
            .filter(|r| {
                !in_old(iv, r, Field::Status).is_some_and(|s| s.eq_ignore_ascii_case("pending"))
            })
            .filter(|r| {
                let reason = in_new(iv, r, Field::StatusReason)
                    .unwrap_or_default()
                    .to_lowercase();
                !config.quiet_exempt_reasons.contains(&reason)
            })
            .filter(|r| match changed_day(iv, r.new_row) {
                Some(d) => d >= quiet_start && d <= cal.election_day,
                None => iv.from >= quiet_start,
            })
            .map(|r| voter_id(iv, r))
            .collect();
        if ids.len() >= config.quiet_min {
            out.findings.push(Finding {
                rule: "A-CAL-QUIET",
                severity: Severity::High,
                scope: Scope::Snapshot,
                scope_value: IsoDate(iv.to).to_string(),
                evidence: Evidence {
                    observed: ids.len() as f64,
                    expected: Some(0.0),
                    baseline: format!(
                        "no systematic removals from {} to election day {}",
                        IsoDate(quiet_start),
                        IsoDate(cal.election_day)
                    ),
                    ..Evidence::default()
                },
                voter_ids: sorted(ids),
                snapshot_date: Some(iv.to),
            });
        }
    }
}
