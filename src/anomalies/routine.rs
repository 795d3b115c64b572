//! Routine mass events, explained first so that they do not raise alarms.
//!
//! VoteShield's published method labels the likely root cause of changes so that the
//! unexplained ones stand out (DOMAIN.md). Three causes are recognised here and reported at
//! `info`:
//! - **Redistricting** (`A-ROUTINE-REDISTRICT`): at least [`REDISTRICT_SHARE`] of a
//!   district's records changed precinct with no address change. Legitimate and massive; the
//!   peer detector then skips precinct reassignments in that district.
//! - **Uniform list maintenance** (`A-ROUTINE-UNIFORM`): one removal reason applied to at
//!   least [`UNIFORM_MIN_SHARE`] of the register, present in at least
//!   [`UNIFORM_COVERAGE`] of districts, with no district departing from the others by more
//!   than [`UNIFORM_MAX_Z`] standard errors of the overdispersed model.
//! - **Re-keying** (`A-REKEY`): records that left and came back under a new id with the same
//!   name, birth date and address.

use std::collections::{BTreeMap, HashSet};

use super::rates::RateModel;
use super::{records_of, sorted, voter_id, AnomalyResult, FieldOf, Interval, Prepared};
use crate::dates::IsoDate;
use crate::diff::ChangeKind;
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::hashing::Map;
use crate::model::Field;

/// Share of a district's records reassigned for the change to read as redistricting: a
/// renumbering moves (nearly) everyone; 80% leaves room for records that also moved house.
const REDISTRICT_SHARE: f64 = 0.8;
/// Smallest removal wave (share of OLD rows) worth explaining: 1% in one interval is above
/// routine deaths (~0.9% a year) and moves, so it is a programme, not background.
const UNIFORM_MIN_SHARE: f64 = 0.01;
/// Share of districts the reason must reach to count as uniform.
const UNIFORM_COVERAGE: f64 = 0.9;
/// Largest standardised departure of any district for the wave to count as uniform.
const UNIFORM_MAX_Z: f64 = 4.0;

/// What was explained, for the other detectors to leave alone.
#[derive(Default)]
pub(crate) struct Routine {
    /// (interval index, district) pairs that were redistricted.
    pub redistricted: HashSet<(usize, String)>,
    /// Per snapshot date, the voter id of every record a routine event explains, with its
    /// rule.
    pub explained: BTreeMap<i32, Map<String, &'static str>>,
}

/// Share of a finding's voters that a routine event must explain for the finding to be
/// downgraded to `info`: a batch job that ran list maintenance is a burst of edits by one
/// account, and is routine.
pub(crate) const EXPLAINED_SHARE: f64 = 0.9;

impl Routine {
    /// Downgrades findings that are mostly about records a routine event explains.
    pub(crate) fn explain(&self, findings: &mut [Finding]) {
        for f in findings.iter_mut().filter(|f| f.severity > Severity::Info) {
            let Some(explained) = f.snapshot_date.and_then(|d| self.explained.get(&d)) else {
                continue;
            };
            let mut by_rule: Map<&'static str, usize> = Map::default();
            for id in &f.voter_ids {
                if let Some(rule) = explained.get(id.as_str()) {
                    *by_rule.entry(rule).or_default() += 1;
                }
            }
            if let Some((rule, n)) = by_rule.into_iter().max_by_key(|(r, n)| (*n, *r)) {
                if n as f64 >= EXPLAINED_SHARE * f.voter_ids.len() as f64 {
                    f.severity = Severity::Info;
                    f.evidence.facts.push(("explained_by", rule.to_string()));
                }
            }
        }
    }
}

pub(crate) fn detect(
    intervals: &[Interval<'_>],
    prepared: &[Prepared],
    out: &mut AnomalyResult,
) -> Routine {
    let has = |f| intervals[0].old.has(f) && intervals[0].new.has(f);
    out.runs.push(RuleRun::check(
        "A-ROUTINE-REDISTRICT",
        has,
        &[Field::District, Field::Precinct],
    ));
    out.runs.push(RuleRun::check(
        "A-ROUTINE-UNIFORM",
        has,
        &[Field::District, Field::Status, Field::StatusReason],
    ));
    out.runs
        .push(RuleRun::check("A-REKEY", has, &[Field::VoterId]));
    let mut routine = Routine::default();
    for (t, (iv, prepared)) in intervals.iter().zip(prepared).enumerate() {
        let sizes = || prepared.old_sizes(Field::District);
        if has(Field::District) && has(Field::Precinct) {
            redistricting(t, iv, sizes(), &mut routine, out);
        }
        if has(Field::District) && has(Field::StatusReason) {
            uniform_removals(iv, sizes(), prepared.old_rows, &mut routine, out);
        }
        let rekeyed: Vec<String> = records_of(iv, ChangeKind::Rekey)
            .map(|r| voter_id(iv, r))
            .collect();
        if !rekeyed.is_empty() {
            out.findings.push(Finding {
                rule: "A-REKEY",
                severity: Severity::Info,
                scope: Scope::Snapshot,
                scope_value: IsoDate(iv.to).to_string(),
                evidence: Evidence {
                    observed: rekeyed.len() as f64,
                    baseline: "same given name, family name, birth date and address under a new id"
                        .into(),
                    ..Evidence::default()
                },
                voter_ids: sorted(rekeyed),
                snapshot_date: Some(iv.to),
            });
        }
    }
    routine
}

/// `sizes`: the records of each district in OLD.
fn redistricting(
    t: usize,
    iv: &Interval<'_>,
    sizes: BTreeMap<String, u64>,
    routine: &mut Routine,
    out: &mut AnomalyResult,
) {
    // district -> (reassigned voter ids, (old precinct, new precinct) renamings)
    type Reassigned<'a> = (Vec<String>, HashSet<(&'a str, &'a str)>);
    let (district_of, precinct) = (
        FieldOf::of(iv, Field::District),
        FieldOf::of(iv, Field::Precinct),
    );
    let mut moved: BTreeMap<&str, Reassigned<'_>> = BTreeMap::new();
    for r in records_of(iv, ChangeKind::PrecinctReassignment) {
        let district = district_of.was(r).unwrap_or_default();
        let entry = moved.entry(district).or_default();
        entry.0.push(voter_id(iv, r));
        entry.1.insert((
            precinct.was(r).unwrap_or_default(),
            precinct.after(r).unwrap_or_default(),
        ));
    }
    for (district, (ids, renames)) in moved {
        let n = sizes.get(district).copied().unwrap_or(0);
        if n < 20 || (ids.len() as f64) < REDISTRICT_SHARE * n as f64 {
            continue;
        }
        routine.redistricted.insert((t, district.to_string()));
        let explained = routine.explained.entry(iv.to).or_default();
        for id in &ids {
            explained.insert(id.clone(), "A-ROUTINE-REDISTRICT");
        }
        out.findings.push(Finding {
            rule: "A-ROUTINE-REDISTRICT",
            severity: Severity::Info,
            scope: Scope::District,
            scope_value: district.to_string(),
            evidence: Evidence {
                observed: ids.len() as f64,
                expected: Some(n as f64),
                effect_size: Some(ids.len() as f64 / n as f64),
                baseline: format!("{n} records of the district in the earlier snapshot"),
                facts: vec![("precinct_renamings", renames.len().to_string())],
                ..Evidence::default()
            },
            voter_ids: sorted(ids),
            snapshot_date: Some(iv.to),
        });
    }
}

/// `sizes`: the records of each district in OLD, of `old_rows` in all.
fn uniform_removals(
    iv: &Interval<'_>,
    sizes: BTreeMap<String, u64>,
    old_rows: u64,
    routine: &mut Routine,
    out: &mut AnomalyResult,
) {
    let mut by_reason: BTreeMap<&str, BTreeMap<&str, Vec<String>>> = BTreeMap::new();
    let (reason_of, district_of) = (
        FieldOf::of(iv, Field::StatusReason),
        FieldOf::of(iv, Field::District),
    );
    for r in records_of(iv, ChangeKind::Removal) {
        let Some(reason) = reason_of.after(r) else {
            continue;
        };
        let district = district_of.was(r).unwrap_or_default();
        by_reason
            .entry(reason)
            .or_default()
            .entry(district)
            .or_default()
            .push(voter_id(iv, r));
    }
    let total = old_rows as f64;
    for (reason, districts) in by_reason {
        let count: usize = districts.values().map(Vec::len).sum();
        if (count as f64) < UNIFORM_MIN_SHARE * total {
            continue;
        }
        let areas: Vec<(u64, u64)> = sizes
            .iter()
            .map(|(d, n)| (districts.get(d.as_str()).map_or(0, Vec::len) as u64, *n))
            .collect();
        let covered = areas.iter().filter(|(k, _)| *k > 0).count();
        let Some(model) = RateModel::fit(&areas) else {
            continue;
        };
        let max_z = areas
            .iter()
            .map(|&(k, n)| model.z(k, n))
            .fold(f64::MIN, f64::max);
        if (covered as f64) < UNIFORM_COVERAGE * areas.len() as f64 || max_z > UNIFORM_MAX_Z {
            continue;
        }
        let explained = routine.explained.entry(iv.to).or_default();
        for id in districts.values().flatten() {
            explained.insert(id.clone(), "A-ROUTINE-UNIFORM");
        }
        out.findings.push(Finding {
            rule: "A-ROUTINE-UNIFORM",
            severity: Severity::Info,
            scope: Scope::Snapshot,
            scope_value: IsoDate(iv.to).to_string(),
            evidence: Evidence {
                observed: count as f64,
                effect_size: Some(max_z),
                baseline: format!(
                    "same rate in {covered} of {} districts (largest departure z = {max_z:.1})",
                    areas.len()
                ),
                facts: vec![("status_reason", reason.to_string())],
                ..Evidence::default()
            },
            voter_ids: sorted(districts.into_values().flatten().collect()),
            snapshot_date: Some(iv.to),
        });
    }
}
