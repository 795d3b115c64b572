//! Skewed removals (`A-SKEW`): removals whose composition by party, age band or sex differs
//! from what the area's own population predicts.
//!
//! A purge aimed at one party, or at the young, can hide inside a normal overall removal rate
//! (DOMAIN.md: Brennan Center). The expected composition is indirectly standardised: each
//! category's register-wide removal propensity (deaths are concentrated among the old, so a
//! naive comparison with the population would flag every district's age profile) applied to
//! the area's population, then scaled to the area's removal count. The test is Pearson's
//! chi-square over categories with an expected count of at least 1.
//!
//! Flagged when, for an area with at least `min_removals` (30) removals, the
//! Benjamini-Hochberg `q <= q_max` (0.001) **and** one category's share of removals departs
//! from its expected share by at least `min_share_gap` (15 percentage points: household and
//! neighbourhood clustering make small departures significant yet meaningless). `high` from a
//! gap of `high_share_gap` (30 points).

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::{sorted, voter_id, AnomalyResult, Interval, Prepared, AREA_LEVELS};
use crate::diff::ChangeKind;
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::model::Field;
use crate::snapshot::{judge_texts, FieldColumn, Snapshot};
use crate::stats::{benjamini_hochberg, chi_square_upper_tail};

#[derive(Clone, Debug)]
pub struct SkewConfig {
    pub min_removals: usize,
    pub q_max: f64,
    pub min_share_gap: f64,
    pub high_share_gap: f64,
}

impl Default for SkewConfig {
    fn default() -> Self {
        SkewConfig {
            min_removals: 30,
            q_max: 0.001,
            min_share_gap: 0.15,
            high_share_gap: 0.30,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Party,
    AgeBand,
    Sex,
}

impl Dimension {
    fn name(self) -> &'static str {
        match self {
            Dimension::Party => "party",
            Dimension::AgeBand => "age_band",
            Dimension::Sex => "sex",
        }
    }
}

/// Age bands in years at the later snapshot date.
const AGE_BANDS: [(i32, &str); 6] = [
    (25, "18-24"),
    (35, "25-34"),
    (50, "35-49"),
    (65, "50-64"),
    (80, "65-79"),
    (i32::MAX, "80+"),
];

/// Each row's category in one dimension, as an index into sorted category names: the
/// register is read once per dimension, and the tests below count with indices instead of
/// strings (at 10^7 rows, an owned string per row and map lookup made this detector the
/// slowest).
struct Categories {
    /// Sorted, distinct.
    names: Vec<String>,
    /// Per row of OLD, `None` where the value is missing.
    of_row: Vec<Option<u32>>,
}

impl Categories {
    fn of(snap: &Snapshot, dim: Dimension, at: i32) -> Categories {
        let rows = snap.rows();
        match dim {
            Dimension::Party | Dimension::Sex => {
                let field = if dim == Dimension::Party {
                    Field::Party
                } else {
                    Field::Sex
                };
                Categories::of_text(snap, field).unwrap_or_else(|| intern(vec![None; rows]))
            }
            Dimension::AgeBand => match snap.column(Field::BirthYear) {
                Some(FieldColumn::Day(years) | FieldColumn::Year(years)) => {
                    let year_at = crate::dates::civil_from_days(at).0;
                    let bands: Vec<Option<usize>> = years
                        .iter()
                        .map(|year| {
                            let age = year_at - year?;
                            AGE_BANDS.iter().position(|(upper, _)| age < *upper)
                        })
                        .collect();
                    // The bands some row is in, in the order first met.
                    let mut slot = [None; AGE_BANDS.len()];
                    let mut names = Vec::new();
                    for &b in bands.iter().flatten() {
                        if slot[b].is_none() {
                            slot[b] = Some(names.len() as u32);
                            names.push(AGE_BANDS[b].1.to_string());
                        }
                    }
                    ranked(names, bands.iter().map(|b| slot[(*b)?]))
                }
                _ => intern(vec![None; rows]),
            },
        }
    }

    /// A text field's categories, `None` when the snapshot lacks it: by code where the column
    /// is coded (a register holds a few parties and areas; interning every row's text, once
    /// per dimension and area level, was about 0.7 s of this detector's 2.4 s at 10,000,000
    /// voters), else by text.
    fn of_text(snap: &Snapshot, field: Field) -> Option<Categories> {
        match snap.column(field)? {
            coded @ FieldColumn::Coded(_) => {
                let judged = judge_texts(coded, snap.rows(), |v| Some(v.to_string()));
                let names = judged.verdicts.clone();
                let mut next = 0u32;
                let index = judged.map(|_| {
                    next += 1;
                    next - 1
                });
                Some(ranked(
                    names,
                    (0..snap.rows()).map(|row| index.at(row).copied()),
                ))
            }
            _ => Some(intern(snap.texts(field)?)),
        }
    }
}

/// Categories from each row's index into `names` (distinct, each some row's value),
/// renumbered in name order: what [`intern`] gives for the same values.
fn ranked(names: Vec<String>, of_row: impl Iterator<Item = Option<u32>>) -> Categories {
    let mut order: Vec<u32> = (0..names.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
    let mut rank = vec![0u32; names.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    Categories {
        of_row: of_row.map(|i| i.map(|i| rank[i as usize])).collect(),
        names: order.iter().map(|&i| names[i as usize].clone()).collect(),
    }
}

/// Distinct values sorted, and each value's index among them.
fn intern(values: Vec<Option<&str>>) -> Categories {
    let mut index: HashMap<&str, u32, foldhash::fast::RandomState> = HashMap::default();
    for &v in values.iter().flatten() {
        let next = index.len() as u32;
        index.entry(v).or_insert(next);
    }
    let mut names: Vec<&str> = index.keys().copied().collect();
    names.sort_unstable();
    for (i, name) in names.iter().enumerate() {
        index.insert(name, i as u32);
    }
    let of_row = values.iter().map(|v| v.map(|v| index[v])).collect();
    Categories {
        names: names.into_iter().map(String::from).collect(),
        of_row,
    }
}

#[derive(Clone)]
pub(crate) struct Test {
    interval: usize,
    scope: crate::findings::Scope,
    area: String,
    dim: Dimension,
    removals: usize,
    category: String,
    observed_share: f64,
    expected_share: f64,
    p: f64,
    /// The removals of the category, as indices into the interval's `diff.records`: their ids
    /// are read for the flagged tests only.
    records: Vec<u32>,
}

/// The population removals are weighed against, in an interval's earlier snapshot, summed
/// over its parts: records per category of each dimension the snapshot has, over the whole
/// register and per area of each level above the precinct. Counts add up part by part, so
/// the tests are those of the whole snapshot whether it was held whole or read a window at a
/// time (issue #16).
pub(crate) struct Population {
    /// The later snapshot's date, at which ages are taken.
    at: i32,
    /// The area levels the snapshot has, each with its field.
    levels: Vec<(Scope, Field)>,
    dims: Vec<DimensionCounts>,
}

/// One dimension's records per category, and per level the records per (area, category).
struct DimensionCounts {
    dim: Dimension,
    total: BTreeMap<String, u64>,
    areas: Vec<BTreeMap<(String, String), u64>>,
}

impl Population {
    /// Nothing counted yet, of a snapshot with `fields`, for an interval ending at `at`.
    pub(crate) fn new(fields: &[Field], at: i32) -> Population {
        let levels: Vec<(Scope, Field)> = AREA_LEVELS[1..]
            .iter()
            .filter(|(field, _)| fields.contains(field))
            .map(|(field, scope)| (*scope, *field))
            .collect();
        let dims = DIMENSIONS
            .into_iter()
            .filter(|(_, f)| fields.contains(f))
            .map(|(dim, _)| DimensionCounts {
                dim,
                total: BTreeMap::new(),
                areas: vec![BTreeMap::new(); levels.len()],
            })
            .collect();
        Population { at, levels, dims }
    }

    /// Adds the next part of the snapshot: each dimension on a core of its own.
    pub(crate) fn add(&mut self, part: &Snapshot) {
        // Each row's area at each level, read once for all dimensions.
        let areas: Vec<Option<Categories>> = self
            .levels
            .par_iter()
            .map(|(_, field)| Categories::of_text(part, *field))
            .collect();
        let at = self.at;
        self.dims.par_iter_mut().for_each(|counts| {
            let cats = Categories::of(part, counts.dim, at);
            let n = cats.names.len();
            let mut total = vec![0u64; n];
            for c in cats.of_row.iter().flatten() {
                total[*c as usize] += 1;
            }
            add_counts(&mut counts.total, cats.names.iter().cloned().zip(total));
            for (area_of, sums) in areas.iter().zip(&mut counts.areas) {
                let Some(area_of) = area_of else { continue };
                // Records per area and category (dense: few categories).
                let mut area_pop = vec![0u64; area_of.names.len() * n];
                for (a, c) in area_of.of_row.iter().zip(&cats.of_row) {
                    if let (Some(a), Some(c)) = (a, c) {
                        area_pop[*a as usize * n + *c as usize] += 1;
                    }
                }
                let named = area_pop.iter().enumerate().map(|(i, &k)| {
                    let (a, c) = (i / n, i % n);
                    ((area_of.names[a].clone(), cats.names[c].clone()), k)
                });
                add_counts(sums, named.filter(|(_, k)| *k > 0));
            }
        });
    }
}

fn add_counts<K: Ord>(sums: &mut BTreeMap<K, u64>, counts: impl Iterator<Item = (K, u64)>) {
    for (key, k) in counts {
        *sums.entry(key).or_insert(0) += k;
    }
}

/// The index of `row`'s category among the sorted names of the whole register, through its
/// local index in `local` and `global`, that index for each local name ([`to_global`]).
fn global_index(local: &Categories, row: usize, global: &[Option<u32>]) -> Option<u32> {
    global[local.of_row[row]? as usize]
}

/// The index in `global` (sorted) of each of `local`'s names: one search per name, not per
/// row.
fn to_global(local: &Categories, global: &[&String]) -> Vec<Option<u32>> {
    let index = |name: &String| global.binary_search(&name).ok().map(|i| i as u32);
    local.names.iter().map(index).collect()
}

/// The removal-composition tests of one interval (its index left at 0) against `population`,
/// that of the whole of OLD (`iv.old` may hold only the records the diff names).
pub(crate) fn tests(iv: &Interval<'_>, population: &Population, config: &SkewConfig) -> Vec<Test> {
    let t = 0;
    let removed: Vec<(usize, u32)> = (iv.diff.records.iter().zip(0..))
        .filter(|(r, _)| r.kinds.contains(&ChangeKind::Removal))
        .filter_map(|(r, i)| r.old_row.map(|row| (row as usize, i)))
        .collect();
    // The removed records' areas at each level.
    let areas: Vec<(Scope, Option<Categories>)> = population
        .levels
        .par_iter()
        .map(|(scope, field)| (*scope, Categories::of_text(iv.old, *field)))
        .collect();
    // The dimensions on every core, their tests in dimension order.
    let per_dimension = population.dims.par_iter().map(|of_dim| {
        let mut tests = Vec::new();
        let names: Vec<&String> = of_dim.total.keys().collect();
        let n = names.len();
        // Register-wide propensity per category.
        let pop: Vec<f64> = of_dim.total.values().map(|&k| k as f64).collect();
        let cats = Categories::of(iv.old, of_dim.dim, iv.to);
        let of_cats = to_global(&cats, &names);
        let category = |row: usize| global_index(&cats, row, &of_cats);
        let mut rem = vec![0.0f64; n];
        for (row, _) in &removed {
            if let Some(c) = category(*row) {
                rem[c as usize] += 1.0;
            }
        }
        let propensity = |c: usize| rem[c] / pop[c];
        for ((scope, area_of), sums) in areas.iter().zip(&of_dim.areas) {
            let Some(area_of) = area_of else { continue };
            // Population per area and category, areas in name order.
            let mut area_names: Vec<&String> = sums.keys().map(|(a, _)| a).collect();
            area_names.dedup();
            let mut area_pop = vec![0.0f64; area_names.len() * n];
            for ((a, c), &k) in sums {
                let (a, c) = (
                    area_names.binary_search(&a).expect("an area counted"),
                    names.binary_search(&c).expect("a category counted"),
                );
                area_pop[a * n + c] = k as f64;
            }
            // Removals per area, in area order.
            let of_areas = to_global(area_of, &area_names);
            let mut area_rem: BTreeMap<u32, Vec<(u32, u32)>> = BTreeMap::new();
            for &(row, record) in &removed {
                let area = global_index(area_of, row, &of_areas);
                if let (Some(a), Some(c)) = (area, category(row)) {
                    area_rem.entry(a).or_default().push((c, record));
                }
            }
            for (area, items) in area_rem {
                if items.len() < config.min_removals {
                    continue;
                }
                let counts = &area_pop[area as usize * n..(area as usize + 1) * n];
                // Categories present in the area, in name order.
                let present = || (0..n).filter(|&c| counts[c] > 0.0);
                let weight: f64 = present().map(|c| counts[c] * propensity(c)).sum();
                if weight <= 0.0 {
                    continue;
                }
                let total = items.len() as f64;
                let mut observed = vec![0.0f64; n];
                for (c, _) in &items {
                    observed[*c as usize] += 1.0;
                }
                let (mut chi2, mut used) = (0.0, 0usize);
                let mut worst: Option<(usize, f64, f64)> = None;
                for c in present() {
                    let e = total * counts[c] * propensity(c) / weight;
                    if e < 1.0 {
                        continue;
                    }
                    let o = observed[c];
                    chi2 += (o - e).powi(2) / e;
                    used += 1;
                    let gap = (o - e) / total;
                    if worst.as_ref().is_none_or(|w| gap > w.1 - w.2) {
                        worst = Some((c, o / total, e / total));
                    }
                }
                let Some((category, observed_share, expected_share)) = worst else {
                    continue;
                };
                if used < 2 {
                    continue;
                }
                tests.push(Test {
                    interval: t,
                    scope: *scope,
                    area: area_names[area as usize].clone(),
                    dim: of_dim.dim,
                    removals: items.len(),
                    records: items
                        .iter()
                        .filter(|(c, _)| *c as usize == category)
                        .map(|&(_, record)| record)
                        .collect(),
                    category: names[category].clone(),
                    observed_share,
                    expected_share,
                    p: chi_square_upper_tail(chi2, (used - 1) as f64),
                });
            }
        }
        tests
    });
    per_dimension.collect::<Vec<_>>().concat()
}

/// The dimensions, each with the field it is read from.
const DIMENSIONS: [(Dimension, Field); 3] = [
    (Dimension::Party, Field::Party),
    (Dimension::AgeBand, Field::BirthYear),
    (Dimension::Sex, Field::Sex),
];

pub(crate) fn detect(
    intervals: &[Interval<'_>],
    prepared: &[Prepared],
    config: &SkewConfig,
    out: &mut AnomalyResult,
) {
    out.runs.push(RuleRun::check(
        "A-SKEW",
        |f| intervals[0].old.has(f),
        &[Field::District, Field::Party],
    ));
    // The dimensions of the first interval's snapshot, for every interval.
    let dims: Vec<Dimension> = DIMENSIONS
        .into_iter()
        .filter(|(_, f)| intervals[0].old.has(*f))
        .map(|(d, _)| d)
        .collect();
    let tests: Vec<Test> = prepared
        .iter()
        .enumerate()
        .flat_map(|(t, p)| {
            p.skew
                .iter()
                .filter(|test| dims.contains(&test.dim))
                .map(move |test| Test {
                    interval: t,
                    ..test.clone()
                })
        })
        .collect();
    let q = benjamini_hochberg(&tests.iter().map(|t| t.p).collect::<Vec<_>>(), tests.len());
    for (t, q) in tests.into_iter().zip(q) {
        let gap = t.observed_share - t.expected_share;
        if q > config.q_max || gap < config.min_share_gap {
            continue;
        }
        let iv = &intervals[t.interval];
        out.findings.push(Finding {
            rule: "A-SKEW",
            severity: if gap >= config.high_share_gap {
                Severity::High
            } else {
                Severity::Medium
            },
            scope: t.scope,
            scope_value: t.area,
            evidence: Evidence {
                observed: t.observed_share,
                expected: Some(t.expected_share),
                effect_size: Some(gap),
                p_value: Some(t.p),
                q_value: Some(q),
                baseline: "the area's population, weighted by each category's register-wide removal propensity".into(),
                facts: vec![
                    ("dimension", t.dim.name().to_string()),
                    ("category", t.category),
                    ("removals", t.removals.to_string()),
                ],
            },
            voter_ids: sorted(
                t.records
                    .iter()
                    .map(|&i| voter_id(iv, &iv.diff.records[i as usize]))
                    .collect(),
            ),
            snapshot_date: Some(iv.to),
        });
    }
}
