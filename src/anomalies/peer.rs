//! Area rates against peers (`A-PEER-RATE`) and against the area's own history
//! (`A-HISTORY-RATE`).
//!
//! For every interval, area level (precinct, district, region) and change kind, the count of
//! changed records in each area is compared with its exposure (the area's records in the
//! earlier snapshot; in the later one for new registrations) under the overdispersed binomial
//! model of [`RateModel`], fitted to the peer areas of the same level in the same interval.
//! Every test from every detector run here goes through Benjamini-Hochberg together, and an
//! area is flagged only when it is extreme in significance **and** in size:
//!
//! - `q <= Q_MAX` (0.001): with thousands of tests per audit, one false discovery in a
//!   thousand flagged areas;
//! - rate ratio `>= MIN_RATIO` (3) against the model: VoteShield and the Caltech work flag
//!   departures that matter, not statistically detectable drift;
//! - excess `>= MIN_EXCESS` (10 records): a court will not hear about four removals.
//!
//! `A-HISTORY-RATE` findings are at most `medium`: one earlier interval of one area is weaker
//! evidence than a whole set of peers.
//!
//! A parent area (district, region) is reported only if it is still significant after its
//! flagged children are taken out: otherwise the children already explain it.
//!
//! The history test (three or more snapshots) compares an area's rate in an interval with its
//! own pooled rate in the earlier intervals, scaled by the register-wide change between those
//! periods, so a uniform register-wide wave (list maintenance) is not an area anomaly. The
//! earlier rate is itself a count, so besides the overdispersed test against it the area must
//! pass the conditional binomial test of the two counts. Areas of a redistricted district
//! have no comparable history and are not tested.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::rates::RateModel;
use super::routine::Routine;
use super::{
    median, sorted, voter_id, AnomalyResult, FieldOf, Interval, Prepared, Series, SeriesPoint,
    AREA_LEVELS,
};
use crate::diff::ChangeKind;
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::hashing::Map;
use crate::model::Field;
use crate::snapshot::Snapshot;
use crate::stats::{benjamini_hochberg, binomial_upper_tail, normal_upper_tail};

/// The change kinds whose area rates are compared.
const TESTED_KINDS: [ChangeKind; 12] = [
    ChangeKind::Removal,
    ChangeKind::NewRegistration,
    ChangeKind::Inactivation,
    ChangeKind::Reactivation,
    ChangeKind::MoveOutOfPrecinct,
    ChangeKind::MoveWithinPrecinct,
    ChangeKind::NameChange,
    ChangeKind::BirthDateChange,
    ChangeKind::SexChange,
    ChangeKind::PartyChange,
    ChangeKind::PrecinctReassignment,
    ChangeKind::IdReuse,
];

#[derive(Clone, Debug)]
pub struct PeerConfig {
    pub q_max: f64,
    pub min_ratio: f64,
    pub min_excess: f64,
    /// Areas with fewer records are not tested (their rates are noise): 20.
    pub min_exposure: u64,
    /// Ratio at or above which a flagged area is `high` rather than `medium` (with at least
    /// `high_min_count` records): a tenfold rate is no longer explainable by local conditions.
    pub high_ratio: f64,
    pub high_min_count: u64,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            q_max: 0.001,
            min_ratio: 3.0,
            min_excess: 10.0,
            min_exposure: 20,
            high_ratio: 10.0,
            high_min_count: 30,
        }
    }
}

/// Per interval and level: area -> (exposure, changed records per kind, parent area).
pub(crate) struct AreaTable {
    pub(super) exposure_old: HashMap<String, u64>,
    exposure_new: HashMap<String, u64>,
    /// Per kind, per area: the changed records, as indices into the interval's
    /// `diff.records`. Their ids are read for the flagged areas only: an owned id per changed
    /// record, level and kind took a second at 10,000,000 voters.
    changed: HashMap<ChangeKind, HashMap<String, Vec<u32>>>,
    parent: HashMap<String, String>,
}

/// An area level's records in a snapshot, summed over its parts in row order: records per
/// area, and each area's parent on its first record (of the first part that has the area).
#[derive(Default)]
pub(crate) struct Exposure {
    records: HashMap<String, u64>,
    parent: HashMap<String, String>,
}

impl Exposure {
    /// Adds the next part of the snapshot.
    pub(super) fn add(&mut self, part: &Snapshot, field: Field, parent: Option<Field>) {
        let parent = parent.filter(|&p| part.has(p));
        for (area, (n, first_parent)) in super::area_counts(part, field, parent) {
            if let Some(p) = first_parent {
                if !self.parent.contains_key(area) {
                    self.parent.insert(area.to_string(), p.to_string());
                }
            }
            match self.records.get_mut(area) {
                Some(records) => *records += n,
                None => {
                    self.records.insert(area.to_string(), n);
                }
            }
        }
    }
}

/// The table of one area level of `iv`, from `old` and `new`, the level's [`Exposure`] in the
/// whole of OLD and of NEW (`iv.old`, and `iv.new` when `new` is given, may hold only the
/// records the diff names; without `new`, NEW's is counted from `iv.new`).
pub(super) fn area_table(
    iv: &Interval<'_>,
    field: Field,
    parent: Option<Field>,
    old: Exposure,
    new: Option<Exposure>,
) -> AreaTable {
    let Exposure {
        records: exposure_old,
        parent: mut parents,
    } = old;
    let new = new.unwrap_or_else(|| {
        let mut new = Exposure::default();
        new.add(iv.new, field, parent);
        new
    });
    // An area's parent as OLD has it, else as NEW has it.
    for (area, p) in new.parent {
        parents.entry(area).or_insert(p);
    }
    let exposure_new = new.records;
    // Borrowed areas while every changed record is counted (at 100,000,000 voters, ten
    // million of them at each of three levels); owned ones for the few areas and kinds.
    let mut by_area: Map<(ChangeKind, &str), Vec<u32>> = Map::default();
    let area_of = FieldOf::of(iv, field);
    for (i, r) in iv.diff.records.iter().enumerate() {
        // The area a new registration was registered in, else where the record was.
        let area = if r.kinds.contains(&ChangeKind::NewRegistration) {
            area_of.after(r)
        } else {
            area_of.was(r)
        }
        .unwrap_or_default();
        for k in r.kinds.iter().filter(|k| TESTED_KINDS.contains(k)) {
            by_area.entry((*k, area)).or_default().push(i as u32);
        }
    }
    let mut changed: HashMap<ChangeKind, HashMap<String, Vec<u32>>> = HashMap::new();
    for ((kind, area), records) in by_area {
        changed
            .entry(kind)
            .or_default()
            .insert(area.to_string(), records);
    }
    AreaTable {
        exposure_old,
        exposure_new,
        changed,
        parent: parents,
    }
}

/// (rule, interval, parent level, change kind, parent area).
type ParentKey = (&'static str, usize, usize, ChangeKind, String);

/// One area test.
struct Test {
    rule: &'static str,
    interval: usize,
    level: usize,
    kind: ChangeKind,
    area: String,
    k: u64,
    n: u64,
    expected: f64,
    z: f64,
    p: f64,
    baseline: String,
}

pub(crate) fn detect(
    intervals: &[Interval<'_>],
    prepared: &[Prepared],
    routine: &Routine,
    config: &PeerConfig,
    out: &mut AnomalyResult,
) {
    let levels: Vec<(usize, Field, Scope)> = AREA_LEVELS
        .iter()
        .enumerate()
        .filter(|(_, (f, _))| intervals[0].old.has(*f))
        .map(|(i, (f, s))| (i, *f, *s))
        .collect();
    let has = |f| intervals[0].old.has(f);
    out.runs
        .push(RuleRun::check("A-PEER-RATE", has, &[Field::Precinct]));
    out.runs.push(if intervals.len() >= 2 {
        RuleRun::check("A-HISTORY-RATE", has, &[Field::Precinct])
    } else {
        RuleRun {
            rule: "A-HISTORY-RATE",
            status: crate::findings::RuleStatus::NotApplicable {
                why: "needs three or more snapshots",
            },
        }
    });
    if levels.is_empty() {
        return;
    }
    // tables[t][level]
    let tables: Vec<Vec<&AreaTable>> = prepared
        .iter()
        .map(|p| levels.iter().map(|&(li, _, _)| &p.areas[li]).collect())
        .collect();

    let mut tests = Vec::new();
    let mut models: HashMap<(usize, usize, ChangeKind), RateModel> = HashMap::new();
    for (t, per_level) in tables.iter().enumerate() {
        for (l, table) in per_level.iter().enumerate() {
            for kind in TESTED_KINDS {
                let exposure = exposure_for(table, kind);
                let mut areas: Vec<(&String, u64, u64)> = exposure
                    .iter()
                    .filter(|(_, n)| **n >= config.min_exposure)
                    .map(|(a, n)| (a, count(table, kind, a), *n))
                    .collect();
                areas.sort();
                let pairs: Vec<(u64, u64)> = areas.iter().map(|(_, k, n)| (*k, *n)).collect();
                let Some(model) = RateModel::fit(&pairs) else {
                    continue;
                };
                models.insert((t, l, kind), model);
                for (area, k, n) in areas {
                    if k == 0 {
                        continue;
                    }
                    let z = model.z(k, n);
                    tests.push(Test {
                        rule: "A-PEER-RATE",
                        interval: t,
                        level: l,
                        kind,
                        area: area.clone(),
                        k,
                        n,
                        expected: model.expected(n),
                        z,
                        p: normal_upper_tail(z),
                        baseline: format!(
                            "{} peer {}s, same interval: rate {:.4}, overdispersion rho {:.4}",
                            pairs.len(),
                            levels[l].2.name(),
                            model.p,
                            model.rho
                        ),
                    });
                }
            }
        }
    }
    history_tests(&tables, &levels, &models, routine, config, &mut tests);

    let q = benjamini_hochberg(&tests.iter().map(|t| t.p).collect::<Vec<_>>(), tests.len());
    let flagged_idx: Vec<usize> = (0..tests.len())
        .filter(|&i| {
            let t = &tests[i];
            q[i] <= config.q_max
                && t.k as f64 >= config.min_ratio * t.expected
                && t.k as f64 - t.expected >= config.min_excess
                && !explained(t, &tables, &levels, routine)
        })
        .collect();
    // Children flagged per (rule, interval, level of parent, kind, parent area).
    let mut flagged_children: HashMap<ParentKey, (u64, u64)> = HashMap::new();
    for &i in &flagged_idx {
        let t = &tests[i];
        if let Some(parent) = tables[t.interval][t.level].parent.get(&t.area) {
            let e = flagged_children
                .entry((t.rule, t.interval, t.level + 1, t.kind, parent.clone()))
                .or_default();
            e.0 += t.k;
            e.1 += t.n;
        }
    }
    let mut already: HashSet<(usize, usize, ChangeKind, String)> = HashSet::new();
    let mut charted: std::collections::BTreeSet<(usize, ChangeKind, String)> = Default::default();
    for i in flagged_idx {
        let t = &tests[i];
        if let Some(&(ck, cn)) =
            flagged_children.get(&(t.rule, t.interval, t.level, t.kind, t.area.clone()))
        {
            // Take the flagged children out and test what is left.
            let Some(model) = models.get(&(t.interval, t.level, t.kind)) else {
                continue;
            };
            let (k, n) = (t.k.saturating_sub(ck), t.n.saturating_sub(cn));
            if n == 0 || normal_upper_tail(model.z(k, n)) > config.q_max {
                continue;
            }
        }
        if t.rule == "A-HISTORY-RATE"
            && already.contains(&(t.interval, t.level, t.kind, t.area.clone()))
        {
            continue;
        }
        already.insert((t.interval, t.level, t.kind, t.area.clone()));
        let ratio = t.k as f64 / t.expected.max(1e-9);
        // A history test compares with as little as one earlier interval of the same area:
        // weaker evidence than a whole set of peers, so it asks for review, never more.
        let severity = if t.rule == "A-PEER-RATE"
            && ratio >= config.high_ratio
            && t.k >= config.high_min_count
        {
            Severity::High
        } else {
            Severity::Medium
        };
        let iv = &intervals[t.interval];
        out.findings.push(Finding {
            rule: t.rule,
            severity,
            scope: levels[t.level].2,
            scope_value: t.area.clone(),
            evidence: Evidence {
                observed: t.k as f64,
                expected: Some(t.expected),
                effect_size: Some(ratio),
                p_value: Some(t.p),
                q_value: Some(q[i]),
                baseline: t.baseline.clone(),
                facts: vec![
                    ("change_kind", t.kind.name().to_string()),
                    ("exposure", t.n.to_string()),
                    ("z", format!("{:.1}", t.z)),
                ],
            },
            // The ids are copied for the flagged tests only (every test used to carry a copy
            // of its area's changed ids).
            voter_ids: sorted(
                changed_records(tables[t.interval][t.level], t.kind, &t.area)
                    .iter()
                    .map(|&i| voter_id(iv, &iv.diff.records[i as usize]))
                    .collect(),
            ),
            snapshot_date: Some(iv.to),
        });
        charted.insert((t.level, t.kind, t.area.clone()));
    }
    // The peers' median rate of each (interval, level, kind), taken once: charted areas of
    // one level share it (taken per area, it was quadratic in the areas: 1.2 s at
    // 10,000,000 voters).
    let mut peer_medians: HashMap<(usize, usize, ChangeKind), Option<f64>> = HashMap::new();
    for (level, kind, area) in charted {
        let points = tables
            .iter()
            .zip(intervals)
            .enumerate()
            .map(|(t, (per_level, iv))| {
                let table = &per_level[level];
                let per_mille = |a: &str, n: u64| count(table, kind, a) as f64 * 1000.0 / n as f64;
                let exposure = exposure_for(table, kind);
                let peers = *peer_medians.entry((t, level, kind)).or_insert_with(|| {
                    let mut peers: Vec<f64> = exposure
                        .iter()
                        .filter(|(_, &n)| n >= config.min_exposure)
                        .map(|(a, &n)| per_mille(a, n))
                        .collect();
                    (!peers.is_empty()).then(|| median(&mut peers))
                });
                SeriesPoint {
                    to: iv.to,
                    own: exposure
                        .get(&area)
                        .filter(|&&n| n > 0)
                        .map(|&n| per_mille(&area, n)),
                    peers,
                }
            })
            .collect();
        out.series.push(Series {
            scope: levels[level].2,
            subject: area,
            kind: Some(kind.name()),
            unit: "changes per 1,000 records",
            points,
        });
    }
}

fn exposure_for(table: &AreaTable, kind: ChangeKind) -> &HashMap<String, u64> {
    if kind == ChangeKind::NewRegistration {
        &table.exposure_new
    } else {
        &table.exposure_old
    }
}

/// The changed records of one kind in one area (indices into the interval's diff records).
fn changed_records<'t>(table: &'t AreaTable, kind: ChangeKind, area: &str) -> &'t [u32] {
    table
        .changed
        .get(&kind)
        .and_then(|areas| areas.get(area))
        .map_or(&[], Vec::as_slice)
}

fn count(table: &AreaTable, kind: ChangeKind, area: &str) -> u64 {
    changed_records(table, kind, area).len() as u64
}

/// Precinct reassignments inside a redistricted district are explained.
fn explained(
    t: &Test,
    tables: &[Vec<&AreaTable>],
    levels: &[(usize, Field, Scope)],
    routine: &Routine,
) -> bool {
    if t.kind != ChangeKind::PrecinctReassignment {
        return false;
    }
    let district = match levels[t.level].1 {
        Field::District => Some(t.area.clone()),
        Field::Precinct => tables[t.interval][t.level].parent.get(&t.area).cloned(),
        _ => return !routine.redistricted.is_empty(),
    };
    district.is_some_and(|d| routine.redistricted.contains(&(t.interval, d)))
}

fn history_tests(
    tables: &[Vec<&AreaTable>],
    levels: &[(usize, Field, Scope)],
    models: &HashMap<(usize, usize, ChangeKind), RateModel>,
    routine: &Routine,
    config: &PeerConfig,
    tests: &mut Vec<Test>,
) {
    // After a redistricting, a precinct code no longer names the same place: the district's
    // areas have no comparable history.
    let redrawn = |t: usize, l: usize, area: &str| -> bool {
        let district = match levels[l].1 {
            Field::District => Some(area.to_string()),
            Field::Precinct => tables[t][l].parent.get(area).cloned(),
            _ => None,
        };
        district.is_some_and(|d| (0..=t).any(|s| routine.redistricted.contains(&(s, d.clone()))))
    };
    for t in 1..tables.len() {
        for (l, _) in levels.iter().enumerate() {
            for kind in TESTED_KINDS {
                let Some(model) = models.get(&(t, l, kind)) else {
                    continue;
                };
                let total = |table: &AreaTable| -> (u64, u64) {
                    let n: u64 = exposure_for(table, kind).values().sum();
                    let k: u64 = exposure_for(table, kind)
                        .keys()
                        .map(|a| count(table, kind, a))
                        .sum();
                    (k, n)
                };
                let (k_now, n_now) = total(tables[t][l]);
                let (k_past, n_past) = (0..t)
                    .map(|s| total(tables[s][l]))
                    .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                if n_now == 0 || n_past == 0 {
                    continue;
                }
                let scale = (k_now as f64 / n_now as f64).max(1e-9)
                    / (k_past as f64 / n_past as f64).max(1e-9);
                let mut areas: BTreeMap<&String, u64> = BTreeMap::new();
                for (a, n) in exposure_for(tables[t][l], kind) {
                    areas.insert(a, *n);
                }
                for (area, n) in areas {
                    let k = count(tables[t][l], kind, area);
                    if n < config.min_exposure || k == 0 || redrawn(t, l, area) {
                        continue;
                    }
                    let (pk, pn) = (0..t).fold((0u64, 0u64), |acc, s| {
                        let table = &tables[s][l];
                        (
                            acc.0 + count(table, kind, area),
                            acc.1 + exposure_for(table, kind).get(area).copied().unwrap_or(0),
                        )
                    });
                    if pn < config.min_exposure {
                        continue;
                    }
                    // Half an event floor keeps a first-ever change from an infinite ratio.
                    let p = ((pk as f64).max(0.5) / pn as f64 * scale).min(0.999);
                    // Two tests, and the area must pass both (the larger p-value counts):
                    // against the earlier rate with the peers' overdispersion, as areas'
                    // rates vary more than chance; and the conditional binomial of the two
                    // counts (of the area's `k + pk` events, the later interval's share
                    // against its share of the exposure, scaled by the register-wide
                    // change), as the earlier rate is itself a count: 0 of 1,423 is not a
                    // rate of 0. On a clean 1,000,000-voter series the first alone flagged
                    // 97 areas, most with 0 or 1 earlier events against 11 to 20 now.
                    let own = RateModel { p, rho: model.rho };
                    let share = n as f64 * scale / (n as f64 * scale + pn as f64);
                    let m = k + pk;
                    let conditional_z = (k as f64 - m as f64 * share)
                        / (m as f64 * share * (1.0 - share)).sqrt().max(1e-12);
                    let z = own.z(k, n).min(conditional_z);
                    let p_value =
                        normal_upper_tail(own.z(k, n)).max(binomial_upper_tail(k, m, share));
                    tests.push(Test {
                        rule: "A-HISTORY-RATE",
                        interval: t,
                        level: l,
                        kind,
                        area: area.clone(),
                        k,
                        n,
                        expected: own.expected(n),
                        z,
                        p: p_value,
                        baseline: format!(
                            "the area's own {t} earlier interval(s): {pk} of {pn}, scaled by the register-wide change ({scale:.2}x)"
                        ),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One interval's precinct table: `(area, records, inactivated)` per precinct.
    fn table(areas: &[(&str, u64, u64)]) -> AreaTable {
        let exposure: HashMap<String, u64> =
            areas.iter().map(|(a, n, _)| (a.to_string(), *n)).collect();
        let inactivated = areas
            .iter()
            .map(|(a, _, k)| (a.to_string(), (0..*k as u32).collect()))
            .collect();
        let changed = HashMap::from([(ChangeKind::Inactivation, inactivated)]);
        AreaTable {
            exposure_old: exposure.clone(),
            exposure_new: exposure,
            changed,
            parent: HashMap::new(),
        }
    }

    /// The history test of areas `A` (0 inactivations of 1,400, then 16) and `B` (0, then
    /// 60) among 39 precincts of 1,400 with 7 in each interval. Against its earlier rate taken
    /// as known (half an event), A's 16 would be z = 21; of A's 16 events, the later interval's
    /// share under "nothing changed" is its share of the exposure scaled by the register-wide
    /// change, so the chance that all 16 fall in it is that share to the 16th.
    #[test]
    fn a_first_burst_is_judged_against_the_uncertainty_of_an_empty_history() {
        let interval = |a: u64, b: u64| {
            let mut areas = vec![("A", 1_400, a), ("B", 1_400, b)];
            let names: Vec<String> = (0..39).map(|i| format!("P{i:02}")).collect();
            areas.extend(names.iter().map(|n| (n.as_str(), 1_400, 7)));
            vec![table(&areas)]
        };
        let owned = [interval(0, 0), interval(16, 60)];
        let tables: Vec<Vec<&AreaTable>> = owned.iter().map(|t| t.iter().collect()).collect();
        let levels = [(0, Field::Precinct, Scope::Precinct)];
        let models: HashMap<_, _> = [(
            (1, 0, ChangeKind::Inactivation),
            RateModel { p: 0.005, rho: 0.0 },
        )]
        .into();
        let mut tests = Vec::new();
        let config = PeerConfig::default();
        history_tests(
            &tables,
            &levels,
            &models,
            &Routine::default(),
            &config,
            &mut tests,
        );
        let p_of = |area: &str| tests.iter().find(|t| t.area == area).expect("tested").p;

        let scale = (16.0 + 60.0 + 39.0 * 7.0) / (39.0 * 7.0);
        let share: f64 = scale / (scale + 1.0);
        let p_a = p_of("A");
        assert!((p_a / share.powi(16) - 1.0).abs() < 1e-9, "{p_a}");
        assert!(p_a > 1e-5, "{p_a}: no longer 'p < 1e-10'");
        assert!(p_of("B") < 1e-15, "a burst of 60 still stands out");
    }
}
