//! Change anomalies across snapshots: which mass edits a human must look at, and which are
//! routine.
//!
//! Input: consecutive snapshot pairs and their [`DiffResult`]s, and optionally the election
//! calendar. Output: [`Finding`]s (plain data) and the list of detectors that ran or were
//! skipped. The detectors, each in its own module with its thresholds explained there:
//!
//! | rule | module | what it flags |
//! |---|---|---|
//! | `A-PEER-RATE` | [`peer`] | an area (precinct, district, region) whose rate of one change kind stands out from peer areas in the same interval, under an overdispersed model, after Benjamini-Hochberg control over every test |
//! | `A-HISTORY-RATE` | [`peer`] | an area whose rate jumped against its own earlier intervals (three or more snapshots), beyond any register-wide jump |
//! | `A-SKEW` | [`skew`] | removals whose party, age band or sex composition differs from what the area's population predicts |
//! | `A-EVENT-TRANSITION` | [`events`] | many records with the same field transition in one area (party A to B; status to removed with one reason; reactivations; birth-date edits) |
//! | `A-EVENT-ADDRESS` | [`events`] | many unrelated voters moved to, or newly registered at, one address |
//! | `A-OPERATOR-NIGHT`, `A-OPERATOR-BURST`, `A-OPERATOR-VOLUME` | [`operators`] | a night far above the account's own and its peers', weekend work, bursts in one hour, one account far above its peers |
//! | `A-CAL-FREEZE`, `A-CAL-QUIET` | [`calendar_rules`] | edits after the roll freeze; systematic removals inside the quiet period |
//! | `A-ID-REUSE` | here | a voter id now holding another person (never legitimate) |
//! | `A-ROUTINE-REDISTRICT`, `A-ROUTINE-UNIFORM`, `A-REKEY` | [`routine`] | explained mass events, at info level: renumbered precincts, removals uniform across all districts, re-keyed records |
//!
//! # Architecture invariant
//! Explained routine events are identified first and suppress the alarms they would
//! otherwise raise (a redistricting is a 100% precinct-reassignment rate in one district);
//! any other finding whose voters are mostly explained by a routine event is downgraded to
//! `info` and says which event explains it.

mod calendar_rules;
mod events;
mod operators;
mod peer;
pub mod rates;
mod routine;
mod skew;

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::calendar::ElectionCalendar;
use crate::diff::{ChangeKind, DiffResult, RecordChange};
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::model::Field;
use crate::snapshot::{FieldColumn, Snapshot};

/// One interval between consecutive snapshots, with its diff.
pub struct Interval<'a> {
    /// Snapshot dates, days since 1970-01-01.
    pub from: i32,
    pub to: i32,
    pub old: &'a Snapshot,
    pub new: &'a Snapshot,
    pub diff: &'a DiffResult,
}

/// Thresholds of the change detectors; defaults documented where each is used.
#[derive(Clone, Debug, Default)]
pub struct AnomalyConfig {
    pub peer: peer::PeerConfig,
    pub events: events::EventConfig,
    pub operators: operators::OperatorConfig,
    pub skew: skew::SkewConfig,
    pub calendar: calendar_rules::CalendarConfig,
}

/// What the change detectors found.
#[derive(Clone, Debug, Default)]
pub struct AnomalyResult {
    pub findings: Vec<Finding>,
    pub runs: Vec<RuleRun>,
    /// The rate of every flagged area and account in each interval beside its peers', for
    /// the charts of the report page.
    pub series: Vec<Series>,
}

/// One flagged area's or account's rate in every interval of the series, beside its peers':
/// what a reader needs to see that one interval stands out (issue #17).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub scope: Scope,
    /// The area or account, as in the findings' `scope_value`.
    pub subject: String,
    /// The change kind of an area's rate; `None` for an account's edits.
    pub kind: Option<&'static str>,
    /// What the values count: `changes per 1,000 records` or `edits`.
    pub unit: &'static str,
    pub points: Vec<SeriesPoint>,
}

/// One interval of a [`Series`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesPoint {
    /// The interval's end (days since 1970-01-01).
    pub to: i32,
    /// The subject's value; `None` where it had no records or edits to count.
    pub own: Option<f64>,
    /// The median over its peers (the areas of its level with enough records, or the
    /// accounts editing in the interval); `None` when it has none.
    pub peers: Option<f64>,
}

impl Series {
    /// The series a finding's chart draws from, if any: by scope, subject and change kind.
    pub fn of<'s>(series: &'s [Series], f: &Finding) -> Option<&'s Series> {
        let kind = f
            .evidence
            .facts
            .iter()
            .find(|(n, _)| *n == "change_kind")
            .map(|(_, v)| v.as_str());
        series
            .iter()
            .find(|s| s.scope == f.scope && s.subject == f.scope_value && s.kind == kind)
    }
}

/// The median of `v` (upper middle for an even count; 0 for none). Sorts `v`.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// What the detectors read of the whole of an interval's two snapshots: the records of each
/// area, the population each removal is weighed against, the residents of the addresses that
/// received arrivals. Everything else they read is a record the diff names, so once this is
/// taken an earlier snapshot can shrink to those records
/// ([`crate::snapshot::Snapshot::subset`]) and the detectors find the same: an audit then
/// holds at most two earlier snapshots whole beside the latest, not the whole series, and an
/// audit of two ingested snapshots none, its first being diffed a window at a time (issue
/// #16). Taken by [`prepare`] from two whole snapshots, or by [`EarlierCounts`] and
/// [`prepare_counted`] from an earlier one read in parts.
pub struct Prepared {
    /// Records in OLD.
    old_rows: u64,
    /// Per level of [`AREA_LEVELS`]: each area's records on both sides and changed records.
    areas: Vec<peer::AreaTable>,
    /// The interval's removal-composition tests, before the correction over all of them.
    skew: Vec<skew::Test>,
    /// The addresses that received arrivals, with their records in OLD.
    arrived: events::Arrived,
}

impl Prepared {
    /// Records per value of an area field in OLD (missing values under "").
    pub fn old_sizes(&self, field: Field) -> std::collections::BTreeMap<String, u64> {
        AREA_LEVELS
            .iter()
            .position(|(f, _)| *f == field)
            .map(|level| {
                let exposure = &self.areas[level].exposure_old;
                exposure.iter().map(|(a, n)| (a.clone(), *n)).collect()
            })
            .unwrap_or_default()
    }
}

/// What the detectors read of every record of an interval's earlier snapshot, counted part
/// by part: the snapshot whole ([`prepare`]), or the windows of an ingested file that an
/// audit diffs a window at a time, never holding it whole (issue #16). The counts add up, so
/// the [`Prepared`] is the same either way.
pub struct EarlierCounts {
    rows: u64,
    /// Per level of [`AREA_LEVELS`].
    areas: Vec<peer::Exposure>,
    population: skew::Population,
}

impl EarlierCounts {
    /// Nothing counted yet, of an earlier snapshot with `fields`, for an interval ending at
    /// `to` (days since 1970-01-01).
    pub fn new(fields: &[Field], to: i32) -> EarlierCounts {
        EarlierCounts {
            rows: 0,
            areas: no_exposures(),
            population: skew::Population::new(fields, to),
        }
    }

    /// Counts the next part of the snapshot (parts in row order), the area levels and the
    /// removal population side by side.
    pub fn add(&mut self, part: &Snapshot) {
        self.rows += part.rows() as u64;
        let (areas, population) = (&mut self.areas, &mut self.population);
        rayon::join(|| add_exposures(areas, part), || population.add(part));
    }
}

/// What the detectors read of every record of an interval's later snapshot, counted part by
/// part like [`EarlierCounts`]: the records of each area. An audit that never holds its
/// latest snapshot whole through its last diff counts them from the diff's windows.
pub struct LaterCounts {
    /// Per level of [`AREA_LEVELS`].
    areas: Vec<peer::Exposure>,
}

impl Default for LaterCounts {
    fn default() -> LaterCounts {
        LaterCounts {
            areas: no_exposures(),
        }
    }
}

impl LaterCounts {
    /// Counts the next part of the snapshot (parts in row order).
    pub fn add(&mut self, part: &Snapshot) {
        add_exposures(&mut self.areas, part);
    }
}

/// An empty [`peer::Exposure`] for every area level.
fn no_exposures() -> Vec<peer::Exposure> {
    AREA_LEVELS
        .iter()
        .map(|_| peer::Exposure::default())
        .collect()
}

/// Adds `part`'s records to the [`peer::Exposure`] of every area level, on every core.
fn add_exposures(areas: &mut [peer::Exposure], part: &Snapshot) {
    areas
        .par_iter_mut()
        .enumerate()
        .for_each(|(level, exposure)| {
            let parent = AREA_LEVELS.get(level + 1).map(|l| l.0);
            exposure.add(part, AREA_LEVELS[level].0, parent)
        })
}

/// Takes what the detectors need of the whole of `iv`'s snapshots (see [`Prepared`]).
pub fn prepare(iv: &Interval<'_>, config: &AnomalyConfig) -> Prepared {
    let mut counts = EarlierCounts::new(&iv.old.fields, iv.to);
    counts.add(iv.old);
    let mut residents = prepare_counted(iv, counts, None, config);
    residents.count(iv.old);
    residents.prepared()
}

/// [`Prepared`] from `counts`, those of the whole of OLD, `later`, those of the whole of NEW
/// (`None` when `iv.new` is whole: they are counted from it), and the records `iv`'s diff
/// names (`iv.old`, and `iv.new` with `later`, may hold only those). What is left is to count
/// the residents of the arrivals' addresses in every part of OLD ([`Residents::count`]).
pub fn prepare_counted(
    iv: &Interval<'_>,
    counts: EarlierCounts,
    later: Option<LaterCounts>,
    config: &AnomalyConfig,
) -> Residents {
    let EarlierCounts {
        rows,
        areas,
        population,
    } = counts;
    let later: Vec<Option<peer::Exposure>> = match later {
        Some(later) => later.areas.into_iter().map(Some).collect(),
        None => AREA_LEVELS.iter().map(|_| None).collect(),
    };
    // The parts are independent passes over the diff's records and NEW, side by side.
    let ((areas, skew), arrived) = rayon::join(
        || {
            rayon::join(
                || {
                    areas
                        .into_par_iter()
                        .zip(later)
                        .enumerate()
                        .map(|(level, (old, new))| {
                            let parent = AREA_LEVELS.get(level + 1).map(|l| l.0);
                            peer::area_table(iv, AREA_LEVELS[level].0, parent, old, new)
                        })
                        .collect()
                },
                || skew::tests(iv, &population, &config.skew),
            )
        },
        || events::arrived(iv, &config.events),
    );
    Residents(Prepared {
        old_rows: rows,
        areas,
        skew,
        arrived,
    })
}

/// A [`Prepared`] whose arrivals' residents in OLD are still to be counted, part by part as
/// [`EarlierCounts`] are.
pub struct Residents(Prepared);

impl Residents {
    /// Whether any part of OLD is still to be read: no arrivals qualified, none is.
    pub fn wanted(&self) -> bool {
        self.0.arrived.wants_residents()
    }

    /// Counts the residents in the next part of OLD.
    pub fn count(&mut self, part: &Snapshot) {
        self.0.arrived.count_residents(part);
    }

    /// The prepared interval, every part of OLD counted.
    pub fn prepared(self) -> Prepared {
        self.0
    }
}

/// Runs every change detector over intervals whose snapshots are whole.
pub fn detect(
    intervals: &[Interval<'_>],
    calendar: Option<&ElectionCalendar>,
    config: &AnomalyConfig,
) -> AnomalyResult {
    let prepared: Vec<Prepared> = intervals.iter().map(|iv| prepare(iv, config)).collect();
    detect_prepared(intervals, &prepared, calendar, config)
}

/// Runs every change detector over the intervals, `prepared[t]` taken from interval `t`'s
/// whole snapshots; `intervals` may hold only the records their diffs name.
pub fn detect_prepared(
    intervals: &[Interval<'_>],
    prepared: &[Prepared],
    calendar: Option<&ElectionCalendar>,
    config: &AnomalyConfig,
) -> AnomalyResult {
    let mut out = AnomalyResult::default();
    if intervals.is_empty() {
        return out;
    }
    let routine = routine::detect(intervals, prepared, &mut out);
    // The detectors after the routine events read the intervals and write findings of their
    // own: they run on every core, each into a result of its own, appended in this order (the
    // order in which they ran one after the other, so the runs and series keep theirs). One
    // after the other they held one core for about two and a half seconds at 10,000,000
    // voters (perf, session 22).
    type Detector<'d> = &'d (dyn Fn(&mut AnomalyResult) + Sync);
    let detectors: [Detector<'_>; 6] = [
        &|out| peer::detect(intervals, prepared, &routine, &config.peer, out),
        &|out| skew::detect(intervals, prepared, &config.skew, out),
        &|out| events::detect(intervals, prepared, &config.events, out),
        &|out| operators::detect(intervals, &config.operators, out),
        &|out| calendar_rules::detect(intervals, calendar, &config.calendar, out),
        &|out| id_reuse(intervals, out),
    ];
    let parts: Vec<AnomalyResult> = detectors
        .par_iter()
        .map(|detect| {
            let mut part = AnomalyResult::default();
            detect(&mut part);
            part
        })
        .collect();
    for part in parts {
        out.findings.extend(part.findings);
        out.runs.extend(part.runs);
        out.series.extend(part.series);
    }
    routine.explain(&mut out.findings);
    out.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.snapshot_date.cmp(&b.snapshot_date))
            .then(a.rule.cmp(b.rule))
            .then(a.scope_value.cmp(&b.scope_value))
    });
    let mut seen = HashSet::new();
    out.runs.retain(|r| seen.insert(r.rule));
    out
}

/// Every id reuse is a finding of its own: the same id now describes another person.
fn id_reuse(intervals: &[Interval<'_>], out: &mut AnomalyResult) {
    out.runs.push(RuleRun::check(
        "A-ID-REUSE",
        |f| intervals[0].new.has(f),
        &[Field::GivenName],
    ));
    for iv in intervals {
        let ids: Vec<String> = records_of(iv, ChangeKind::IdReuse)
            .map(|r| voter_id(iv, r))
            .collect();
        if ids.is_empty() {
            continue;
        }
        out.findings.push(Finding {
            rule: "A-ID-REUSE",
            severity: Severity::High,
            scope: Scope::Snapshot,
            scope_value: crate::dates::IsoDate(iv.to).to_string(),
            evidence: Evidence {
                observed: ids.len() as f64,
                expected: Some(0.0),
                baseline: "a voter id is never legitimately reassigned to another person".into(),
                ..Evidence::default()
            },
            voter_ids: sorted(ids),
            snapshot_date: Some(iv.to),
        });
    }
}

/// Records of the diff with a given kind.
pub(crate) fn records_of<'a>(
    iv: &'a Interval<'_>,
    kind: ChangeKind,
) -> impl Iterator<Item = &'a RecordChange> + 'a {
    iv.diff
        .records
        .iter()
        .filter(move |r| r.kinds.contains(&kind))
}

/// The record's voter id (NEW's, or OLD's for a dropped record).
pub(crate) fn voter_id(iv: &Interval<'_>, r: &RecordChange) -> String {
    match (r.new_row, r.old_row) {
        (Some(j), _) => iv.new.voter_ids().get(j as usize),
        (None, Some(i)) => iv.old.voter_ids().get(i as usize),
        _ => None,
    }
    .unwrap_or_default()
    .to_string()
}

/// A text field of the record in OLD (None for an added record).
pub(crate) fn in_old(iv: &Interval<'_>, r: &RecordChange, field: Field) -> Option<String> {
    FieldOf::of(iv, field).before(r).map(str::to_string)
}

/// A text field of the record in NEW (None for a dropped record).
pub(crate) fn in_new(iv: &Interval<'_>, r: &RecordChange, field: Field) -> Option<String> {
    FieldOf::of(iv, field).after(r).map(str::to_string)
}

/// A text field of the changed records, read in place in both snapshots: for the loops over
/// every changed record, where an owned copy per record (as [`in_old`] and [`in_new`] give)
/// was most of their time at 10,000,000 voters.
pub(crate) struct FieldOf<'a> {
    old: Option<FieldColumn<'a>>,
    new: Option<FieldColumn<'a>>,
}

impl<'a> FieldOf<'a> {
    pub fn of(iv: &Interval<'a>, field: Field) -> FieldOf<'a> {
        FieldOf {
            old: iv.old.column(field),
            new: iv.new.column(field),
        }
    }

    /// In OLD (None for an added record).
    pub fn before(&self, r: &RecordChange) -> Option<&'a str> {
        self.old.as_ref()?.str(r.old_row? as usize)
    }

    /// In NEW (None for a dropped record).
    pub fn after(&self, r: &RecordChange) -> Option<&'a str> {
        self.new.as_ref()?.str(r.new_row? as usize)
    }

    /// Where the record was: OLD's value if it had a row there, else NEW's.
    pub fn was(&self, r: &RecordChange) -> Option<&'a str> {
        match r.old_row {
            Some(_) => self.before(r),
            None => self.after(r),
        }
    }
}

/// Records per value of an area field (missing values under ""), and the `parent` field's
/// value on the first record of each (when `parent` is given). One pass over the column,
/// counting borrowed values, by code where the column is coded (one code per distinct text,
/// so four bytes are hashed instead of the text): the areas are few, the records many.
pub(crate) fn area_counts(
    snap: &Snapshot,
    field: Field,
    parent: Option<Field>,
) -> HashMap<&str, (u64, Option<&str>), foldhash::fast::RandomState> {
    let mut counts: HashMap<&str, (u64, Option<&str>), _> = HashMap::default();
    let parents = parent
        .and_then(|p| snap.column(p))
        .filter(|c| matches!(c, FieldColumn::Text(_) | FieldColumn::Coded(_)));
    let parent_at = |row: usize| parents.map(|p| p.str(row).unwrap_or(""));
    let rows = 0..snap.rows();
    match snap.column(field) {
        Some(area @ FieldColumn::Coded(ca)) => {
            // (records, first row) per code, then the codes' texts in first-row order: the
            // same entries, in the same order, as counting the texts row by row.
            let mut by_code: HashMap<Option<u32>, (u64, usize), foldhash::fast::RandomState> =
                HashMap::default();
            for (row, code) in crate::snapshot::values_at(ca.physical(), rows).enumerate() {
                by_code.entry(code).or_insert((0, row)).0 += 1;
            }
            let mut firsts: Vec<(Option<u32>, (u64, usize))> = by_code.into_iter().collect();
            firsts.sort_unstable_by_key(|(_, (_, row))| *row);
            for (_, (n, row)) in firsts {
                let text = area.str(row).unwrap_or("");
                counts.entry(text).or_insert_with(|| (0, parent_at(row))).0 += n;
            }
        }
        Some(area @ FieldColumn::Text(_)) => {
            for (row, text) in area.strs(rows).enumerate() {
                counts
                    .entry(text.unwrap_or(""))
                    .or_insert_with(|| (0, parent_at(row)))
                    .0 += 1;
            }
        }
        _ => {}
    }
    counts
}

pub(crate) fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// The three area levels, finest first.
pub(crate) const AREA_LEVELS: [(Field, Scope); 3] = [
    (Field::Precinct, Scope::Precinct),
    (Field::District, Scope::District),
    (Field::Region, Scope::Region),
];
