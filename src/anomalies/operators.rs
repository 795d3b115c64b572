//! The audit trail: who edited, and when (`changed_at`, `changed_by` on changed records).
//!
//! DOMAIN.md lists mass edits by one account or at odd hours among the real attack patterns.
//! Electoral offices work weekday office hours, so edits are judged against that:
//!
//! - `A-OPERATOR-NIGHT`: an account with at least `min_off_hours` (20) edits in the interval
//!   made at night (22:00 to 05:59), which are at least `min_off_share` (half) of its edits:
//!   `high`. The same at weekends only: `medium`.
//! - `A-OPERATOR-BURST`: one account's edits in one clock hour at least `min_burst` (30) and
//!   `burst_factor` (10) times the median busy hour of all accounts: `medium`.
//! - `A-OPERATOR-VOLUME`: an account whose edit count is at least `volume_z` (6) robust
//!   standard deviations (median and MAD over accounts, MAD scaled by 1.4826 to estimate a
//!   normal sigma) and at least `volume_factor` (3) times the median account: `medium`. Needs
//!   at least 5 accounts to have peers.

use std::collections::{BTreeMap, HashMap};

use super::{sorted, voter_id, AnomalyResult, Interval};
use crate::dates::MS_PER_DAY;
use crate::diff::ChangeKind;
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::model::Field;
use crate::snapshot::FieldColumn;

#[derive(Clone, Debug)]
pub struct OperatorConfig {
    pub min_off_hours: usize,
    pub min_off_share: f64,
    pub min_burst: usize,
    pub burst_factor: f64,
    pub volume_z: f64,
    pub volume_factor: f64,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        OperatorConfig {
            min_off_hours: 20,
            min_off_share: 0.5,
            min_burst: 30,
            burst_factor: 10.0,
            volume_z: 6.0,
            volume_factor: 3.0,
        }
    }
}

/// One edit: (voter id, timestamp in ms).
type Edit = (String, i64);

/// Edits per operator within the interval, by NEW's audit trail.
pub(crate) fn edits_by_operator(iv: &Interval<'_>) -> BTreeMap<String, Vec<Edit>> {
    let mut by_op: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
    let (Some(FieldColumn::Millis(at)), Some(by)) = (
        iv.new.column(Field::ChangedAt),
        iv.new.column(Field::ChangedBy),
    ) else {
        return by_op;
    };
    let (lo, hi) = (iv.from as i64 * MS_PER_DAY, (iv.to as i64 + 1) * MS_PER_DAY);
    for r in &iv.diff.records {
        let Some(j) = r.new_row else { continue };
        if r.kinds == [ChangeKind::Rekey] {
            continue;
        }
        let (Some(ts), Some(op)) = (at.get(j as usize), by.str(j as usize)) else {
            continue;
        };
        if ts >= lo && ts < hi {
            by_op
                .entry(op.to_string())
                .or_default()
                .push((voter_id(iv, r), ts));
        }
    }
    by_op
}

fn hour(ts: i64) -> i64 {
    ts.rem_euclid(MS_PER_DAY) / 3_600_000
}

/// Monday = 0; 1970-01-01 was a Thursday.
fn weekday(ts: i64) -> i64 {
    (ts.div_euclid(MS_PER_DAY) + 3).rem_euclid(7)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

pub(crate) fn detect(intervals: &[Interval<'_>], config: &OperatorConfig, out: &mut AnomalyResult) {
    for rule in ["A-OPERATOR-NIGHT", "A-OPERATOR-BURST", "A-OPERATOR-VOLUME"] {
        out.runs.push(RuleRun::check(
            rule,
            |f| intervals[0].new.has(f),
            &[Field::ChangedAt, Field::ChangedBy],
        ));
    }
    for iv in intervals {
        let by_op = edits_by_operator(iv);
        if by_op.is_empty() {
            continue;
        }
        let finding = |rule,
                       severity,
                       op: &str,
                       observed: f64,
                       expected,
                       baseline: String,
                       facts,
                       ids: Vec<String>| Finding {
            rule,
            severity,
            scope: Scope::Operator,
            scope_value: op.to_string(),
            evidence: Evidence {
                observed,
                expected,
                baseline,
                facts,
                ..Evidence::default()
            },
            voter_ids: sorted(ids),
            snapshot_date: Some(iv.to),
        };
        // Off hours.
        for (op, edits) in &by_op {
            let night: Vec<&Edit> = edits
                .iter()
                .filter(|(_, ts)| !(6..22).contains(&hour(*ts)))
                .collect();
            let weekend: Vec<&Edit> = edits.iter().filter(|(_, ts)| weekday(*ts) >= 5).collect();
            for (list, severity, what) in [
                (&night, Severity::High, "night (22:00-05:59)"),
                (&weekend, Severity::Medium, "weekend"),
            ] {
                if list.len() >= config.min_off_hours
                    && list.len() as f64 >= config.min_off_share * edits.len() as f64
                {
                    out.findings.push(finding(
                        "A-OPERATOR-NIGHT",
                        severity,
                        op,
                        list.len() as f64,
                        Some(0.0),
                        "electoral offices edit the register in weekday office hours".into(),
                        vec![
                            ("when", what.to_string()),
                            ("edits_total", edits.len().to_string()),
                        ],
                        list.iter().map(|(id, _)| id.clone()).collect(),
                    ));
                }
            }
        }
        // Bursts within one clock hour.
        let mut buckets: HashMap<(&str, i64), Vec<&Edit>> = HashMap::new();
        for (op, edits) in &by_op {
            for e in edits {
                buckets
                    .entry((op.as_str(), e.1.div_euclid(3_600_000)))
                    .or_default()
                    .push(e);
            }
        }
        let typical = median(&mut buckets.values().map(|v| v.len() as f64).collect::<Vec<_>>());
        let mut bursts: BTreeMap<(&str, i64), &Vec<&Edit>> = BTreeMap::new();
        for (k, v) in &buckets {
            if v.len() >= config.min_burst && v.len() as f64 >= config.burst_factor * typical {
                bursts.insert(*k, v);
            }
        }
        for ((op, hour_index), edits) in bursts {
            out.findings.push(finding(
                "A-OPERATOR-BURST",
                Severity::Medium,
                op,
                edits.len() as f64,
                Some(typical),
                "median edits per busy account-hour in the interval".into(),
                vec![(
                    "hour",
                    crate::dates::IsoTimestamp(hour_index * 3_600_000).to_string(),
                )],
                edits.iter().map(|(id, _)| id.clone()).collect(),
            ));
        }
        // Volume against peers.
        if by_op.len() >= 5 {
            let mut counts: Vec<f64> = by_op.values().map(|v| v.len() as f64).collect();
            let med = median(&mut counts);
            let mut dev: Vec<f64> = counts.iter().map(|c| (c - med).abs()).collect();
            let mad = median(&mut dev) * 1.4826;
            for (op, edits) in &by_op {
                let x = edits.len() as f64;
                let z = (x - med) / mad.max(1.0);
                if z >= config.volume_z && x >= config.volume_factor * med {
                    let mut f = finding(
                        "A-OPERATOR-VOLUME",
                        Severity::Medium,
                        op,
                        x,
                        Some(med),
                        format!("median of {} accounts in the interval", by_op.len()),
                        vec![("robust_z", format!("{z:.1}"))],
                        edits.iter().map(|(id, _)| id.clone()).collect(),
                    );
                    f.evidence.effect_size = Some(z);
                    out.findings.push(f);
                }
            }
        }
    }
}
