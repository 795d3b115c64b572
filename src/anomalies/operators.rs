//! The audit trail: who edited, and when (`changed_at`, `changed_by` on changed records).
//!
//! DOMAIN.md lists mass edits by one account or at odd hours among the real attack patterns.
//! Electoral offices work weekday office hours, so edits are judged against that:
//!
//! - `A-OPERATOR-NIGHT`: an account's night (22:00 to 05:59) with at least `min_off_hours`
//!   (20) edits and at least `night_factor` (10) times its usual night, the larger of its own
//!   median night in the interval and its peers' (the median of the accounts' medians):
//!   `high`. A clerk who never works nights is flagged from 20 edits in one night however
//!   many day edits it has (the share of night edits an earlier version required let 800
//!   night edits of a busy clerk pass on a 2M-voter series, issue #17), and an online portal
//!   that edits every night is judged against its own nights, not taken for an attack. At
//!   weekends: an account with at least `min_off_hours` weekend edits that are at least
//!   `min_off_share` (half) of its edits: `medium`.
//! - `A-OPERATOR-BURST`: one account's edits in one clock hour at least `min_burst` (30) and
//!   `burst_factor` (10) times the median busy hour of all accounts: `medium`.
//! - `A-OPERATOR-VOLUME`: an account whose edit count is at least `volume_z` (6) robust
//!   standard deviations (median and MAD over accounts, MAD scaled by 1.4826 to estimate a
//!   normal sigma) and at least `volume_factor` (3) times the median account: `medium`. Needs
//!   at least 5 accounts to have peers.

use std::collections::BTreeMap;

use super::{median, sorted, voter_id, AnomalyResult, Interval, Series, SeriesPoint};
use crate::dates::MS_PER_DAY;
use crate::diff::ChangeKind;
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::hashing::Map;
use crate::model::Field;
use crate::snapshot::FieldColumn;

#[derive(Clone, Debug)]
pub struct OperatorConfig {
    pub min_off_hours: usize,
    pub min_off_share: f64,
    pub night_factor: f64,
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
            night_factor: 10.0,
            min_burst: 30,
            burst_factor: 10.0,
            volume_z: 6.0,
            volume_factor: 3.0,
        }
    }
}

/// One edit: (the record's index in the interval's `diff.records`, timestamp in ms). Its
/// voter id is read only for the edits a finding names.
type Edit = (u32, i64);

/// Edits per operator within the interval, by NEW's audit trail.
pub(crate) fn edits_by_operator(iv: &Interval<'_>) -> BTreeMap<String, Vec<Edit>> {
    // Borrowed accounts in a hash map while every edit is counted; owned and ordered for the
    // few accounts.
    let mut by_op: Map<&str, Vec<Edit>> = Map::default();
    let (Some(FieldColumn::Millis(at)), Some(by)) = (
        iv.new.column(Field::ChangedAt),
        iv.new.column(Field::ChangedBy),
    ) else {
        return BTreeMap::new();
    };
    let (lo, hi) = (iv.from as i64 * MS_PER_DAY, (iv.to as i64 + 1) * MS_PER_DAY);
    for (i, r) in iv.diff.records.iter().enumerate() {
        let Some(j) = r.new_row else { continue };
        if r.kinds == [ChangeKind::Rekey] {
            continue;
        }
        let (Some(ts), Some(op)) = (at.get(j as usize), by.str(j as usize)) else {
            continue;
        };
        if ts >= lo && ts < hi {
            by_op.entry(op).or_default().push((i as u32, ts));
        }
    }
    let owned = by_op.into_iter().map(|(op, edits)| (op.to_string(), edits));
    owned.collect()
}

/// One account's night edits, by night (the day the night starts on: 22:00 of that day to
/// 05:59 of the next), and its usual night.
struct Nights<'a> {
    edits: BTreeMap<i64, Vec<&'a Edit>>,
    /// The median of its edits per night over every night of the interval, nights without
    /// edits included.
    usual: f64,
}

fn nights_by_operator<'a>(
    by_op: &'a BTreeMap<String, Vec<Edit>>,
    iv: &Interval<'_>,
) -> BTreeMap<&'a str, Nights<'a>> {
    let nights_in = (iv.to - iv.from).max(1) as usize;
    by_op
        .iter()
        .map(|(op, edits)| {
            let mut by_night: BTreeMap<i64, Vec<&Edit>> = BTreeMap::new();
            for e in edits.iter().filter(|(_, ts)| !(6..22).contains(&hour(*ts))) {
                let night = (e.1 - 6 * 3_600_000).div_euclid(MS_PER_DAY);
                by_night.entry(night).or_default().push(e);
            }
            let mut counts: Vec<f64> = by_night.values().map(|v| v.len() as f64).collect();
            counts.resize(nights_in.max(counts.len()), 0.0);
            let usual = median(&mut counts);
            (
                op.as_str(),
                Nights {
                    edits: by_night,
                    usual,
                },
            )
        })
        .collect()
}

fn hour(ts: i64) -> i64 {
    ts.rem_euclid(MS_PER_DAY) / 3_600_000
}

/// Monday = 0; 1970-01-01 was a Thursday.
fn weekday(ts: i64) -> i64 {
    (ts.div_euclid(MS_PER_DAY) + 3).rem_euclid(7)
}

pub(crate) fn detect(intervals: &[Interval<'_>], config: &OperatorConfig, out: &mut AnomalyResult) {
    for rule in ["A-OPERATOR-NIGHT", "A-OPERATOR-BURST", "A-OPERATOR-VOLUME"] {
        out.runs.push(RuleRun::check(
            rule,
            |f| intervals[0].new.has(f),
            &[Field::ChangedAt, Field::ChangedBy],
        ));
    }
    // Edits per account in each interval, for the charts of flagged accounts.
    let mut volumes: Vec<(i32, BTreeMap<String, usize>)> = Vec::new();
    let flagged_from = out.findings.len();
    for iv in intervals {
        let by_op = edits_by_operator(iv);
        volumes.push((
            iv.to,
            by_op.iter().map(|(op, e)| (op.clone(), e.len())).collect(),
        ));
        if by_op.is_empty() {
            continue;
        }
        let id = |e: &Edit| voter_id(iv, &iv.diff.records[e.0 as usize]);
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
        // Nights, each against the account's own nights and its peers'.
        let nights = nights_by_operator(&by_op, iv);
        let peers = median(&mut nights.values().map(|n| n.usual).collect::<Vec<_>>());
        for (op, n) in &nights {
            let usual = n.usual.max(peers);
            let flagged: Vec<(&i64, &Vec<&Edit>)> = n
                .edits
                .iter()
                .filter(|(_, e)| {
                    e.len() >= config.min_off_hours
                        && e.len() as f64 >= config.night_factor * usual.max(1.0)
                })
                .collect();
            let Some((worst, most)) = flagged.iter().max_by_key(|(d, e)| (e.len(), -**d)) else {
                continue;
            };
            let ids: Vec<String> = flagged
                .iter()
                .flat_map(|(_, e)| e.iter().map(|e| id(e)))
                .collect();
            out.findings.push(finding(
                "A-OPERATOR-NIGHT",
                Severity::High,
                op,
                ids.len() as f64,
                Some(usual * flagged.len() as f64),
                format!(
                    "the account's usual night: {} edits (its own median night in the \
                     interval, or its peers' if higher)",
                    usual
                ),
                vec![
                    ("when", "night (22:00-05:59)".to_string()),
                    ("nights", flagged.len().to_string()),
                    (
                        "worst_night",
                        format!(
                            "{} to {} ({} edits)",
                            crate::dates::IsoDate(**worst as i32),
                            crate::dates::IsoDate(**worst as i32 + 1),
                            most.len()
                        ),
                    ),
                    ("edits_total", by_op[*op].len().to_string()),
                ],
                ids,
            ));
        }
        // Weekends.
        for (op, edits) in &by_op {
            let weekend: Vec<&Edit> = edits.iter().filter(|(_, ts)| weekday(*ts) >= 5).collect();
            if weekend.len() >= config.min_off_hours
                && weekend.len() as f64 >= config.min_off_share * edits.len() as f64
            {
                out.findings.push(finding(
                    "A-OPERATOR-NIGHT",
                    Severity::Medium,
                    op,
                    weekend.len() as f64,
                    Some(0.0),
                    "electoral offices edit the register in weekday office hours".into(),
                    vec![
                        ("when", "weekend".to_string()),
                        ("edits_total", edits.len().to_string()),
                    ],
                    weekend.iter().map(|e| id(e)).collect(),
                ));
            }
        }
        // Bursts within one clock hour.
        let mut buckets: Map<(&str, i64), Vec<&Edit>> = Map::default();
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
                edits.iter().map(|e| id(e)).collect(),
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
                        edits.iter().map(id).collect(),
                    );
                    f.evidence.effect_size = Some(z);
                    out.findings.push(f);
                }
            }
        }
    }
    let mut flagged: Vec<String> = out.findings[flagged_from..]
        .iter()
        .map(|f| f.scope_value.clone())
        .collect();
    flagged.sort_unstable();
    flagged.dedup();
    for op in flagged {
        let points = volumes
            .iter()
            .map(|(to, counts)| SeriesPoint {
                to: *to,
                own: counts.get(&op).map(|&n| n as f64),
                peers: (!counts.is_empty())
                    .then(|| median(&mut counts.values().map(|&n| n as f64).collect::<Vec<_>>())),
            })
            .collect();
        out.series.push(Series {
            scope: Scope::Operator,
            subject: op,
            kind: None,
            unit: "edits",
            points,
        });
    }
}
