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

use std::collections::BTreeMap;

use super::stats::{benjamini_hochberg, chi_square_upper_tail};
use super::{records_of, sorted, voter_id, AnomalyResult, Interval, AREA_LEVELS};
use crate::diff::ChangeKind;
use crate::findings::{Evidence, Finding, RuleRun, Severity};
use crate::model::Field;
use crate::snapshot::Snapshot;

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

fn category(snap: &Snapshot, row: usize, dim: Dimension, at: i32) -> Option<String> {
    match dim {
        Dimension::Party => snap.column(Field::Party)?.text(row).map(|v| v.into_owned()),
        Dimension::Sex => snap.column(Field::Sex)?.text(row).map(|v| v.into_owned()),
        Dimension::AgeBand => {
            let year = snap.column(Field::BirthYear)?.day(row)?;
            let age = crate::dates::civil_from_days(at).0 - year;
            AGE_BANDS
                .iter()
                .find(|(upper, _)| age < *upper)
                .map(|(_, name)| name.to_string())
        }
    }
}

struct Test {
    interval: usize,
    scope: crate::findings::Scope,
    area: String,
    dim: Dimension,
    removals: usize,
    category: String,
    observed_share: f64,
    expected_share: f64,
    p: f64,
    ids: Vec<String>,
}

pub(crate) fn detect(intervals: &[Interval<'_>], config: &SkewConfig, out: &mut AnomalyResult) {
    let dims: Vec<Dimension> = [
        (Dimension::Party, Field::Party),
        (Dimension::AgeBand, Field::BirthYear),
        (Dimension::Sex, Field::Sex),
    ]
    .into_iter()
    .filter(|(_, f)| intervals[0].old.has(*f))
    .map(|(d, _)| d)
    .collect();
    out.runs.push(RuleRun::check(
        "A-SKEW",
        |f| intervals[0].old.has(f),
        &[Field::District, Field::Party],
    ));
    let mut tests = Vec::new();
    for (t, iv) in intervals.iter().enumerate() {
        let removed: Vec<(usize, String)> = records_of(iv, ChangeKind::Removal)
            .filter_map(|r| r.old_row.map(|i| (i as usize, voter_id(iv, r))))
            .collect();
        for dim in &dims {
            // Register-wide propensity per category.
            let mut pop: BTreeMap<String, f64> = BTreeMap::new();
            for row in 0..iv.old.rows() {
                if let Some(c) = category(iv.old, row, *dim, iv.to) {
                    *pop.entry(c).or_default() += 1.0;
                }
            }
            let mut rem: BTreeMap<String, f64> = BTreeMap::new();
            for (row, _) in &removed {
                if let Some(c) = category(iv.old, *row, *dim, iv.to) {
                    *rem.entry(c).or_default() += 1.0;
                }
            }
            let propensity =
                |c: &str| rem.get(c).copied().unwrap_or(0.0) / pop.get(c).copied().unwrap_or(1.0);
            for (field, scope) in AREA_LEVELS.iter().skip(1) {
                let Some(area_col) = iv.old.column(*field) else {
                    continue;
                };
                let mut area_pop: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
                for row in 0..iv.old.rows() {
                    if let (Some(a), Some(c)) =
                        (area_col.text(row), category(iv.old, row, *dim, iv.to))
                    {
                        *area_pop
                            .entry(a.into_owned())
                            .or_default()
                            .entry(c)
                            .or_default() += 1.0;
                    }
                }
                let mut area_rem: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
                for (row, id) in &removed {
                    if let (Some(a), Some(c)) =
                        (area_col.text(*row), category(iv.old, *row, *dim, iv.to))
                    {
                        area_rem
                            .entry(a.into_owned())
                            .or_default()
                            .push((c, id.clone()));
                    }
                }
                for (area, items) in area_rem {
                    if items.len() < config.min_removals {
                        continue;
                    }
                    let Some(cats) = area_pop.get(&area) else {
                        continue;
                    };
                    let weight: f64 = cats.iter().map(|(c, n)| n * propensity(c)).sum();
                    if weight <= 0.0 {
                        continue;
                    }
                    let total = items.len() as f64;
                    let mut observed: BTreeMap<&str, f64> = BTreeMap::new();
                    for (c, _) in &items {
                        *observed.entry(c.as_str()).or_default() += 1.0;
                    }
                    let (mut chi2, mut used) = (0.0, 0usize);
                    let mut worst: Option<(String, f64, f64)> = None;
                    let mut cat_names: Vec<&String> = cats.keys().collect();
                    cat_names.sort();
                    for c in cat_names {
                        let e = total * cats[c] * propensity(c) / weight;
                        if e < 1.0 {
                            continue;
                        }
                        let o = observed.get(c.as_str()).copied().unwrap_or(0.0);
                        chi2 += (o - e).powi(2) / e;
                        used += 1;
                        let gap = (o - e) / total;
                        if worst.as_ref().is_none_or(|w| gap > w.1 - w.2) {
                            worst = Some((c.clone(), o / total, e / total));
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
                        area,
                        dim: *dim,
                        removals: items.len(),
                        ids: items
                            .iter()
                            .filter(|(c, _)| *c == category)
                            .map(|(_, id)| id.clone())
                            .collect(),
                        category,
                        observed_share,
                        expected_share,
                        p: chi_square_upper_tail(chi2, (used - 1) as f64),
                    });
                }
            }
        }
    }
    let q = benjamini_hochberg(&tests.iter().map(|t| t.p).collect::<Vec<_>>());
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
            voter_ids: sorted(t.ids),
            snapshot_date: Some(iv.to),
        });
    }
}
