//! `R-DECEASED-MATCH` (`--deceased FILE`): active voters who appear in a death registry.
//!
//! Deaths are ~0.9% of voters a year (DOMAIN.md) and an unprocessed death leaves a ballot
//! that someone else can cast. The registry is loaded like a register, in the canonical
//! layout (or through a profile): its `voter_id` column holds the registry's own record
//! number, and it needs `given_name`, `family_name` and `birth_date`; `national_id` is used
//! when both sides have it.
//!
//! # Matching and severity
//! Only voting records (active, or without status) are matched: removed and inactive ones
//! are already off the roll or on their way.
//! - `high`: the same `national_id` (separators ignored), the strongest identifier a register
//!   holds (Ansolabehere & Hersh: exact agreement on strong fields links about as reliably
//!   as a full SSN). The facts say whether name and birth date agree too.
//! - `medium`: the same normalised given name, family name and full birth date (letters only,
//!   upper case, diacritics folded: `Mc Donald` = `MCDONALD`, `José` = `JOSE`), and this is the only voting record with that key.
//!   Not `high`: Goel et al. ("One Person, One Vote") show that same-name-same-birth-date
//!   pairs of *different* people are expected by the million in a national file, so a human
//!   must confirm before removal (Crosscheck's purge on this key would have hit ~300
//!   legitimate voters per double vote prevented).
//! - `low`: the same key on several voting records: the registry names one person, and which
//!   one (if any) is unknown.
//! - Otherwise, the registry is linked to the register with the deduplication model
//!   ([`crate::dedupe::link`]: blocking, agreement levels, Fellegi-Sunter probability), which
//!   finds the entries a clerk typed differently (a family name with two letters swapped is
//!   `close`, not different). A link at or above the match threshold is `medium`, like an
//!   exact name and birth date (a human confirms before removal), when it is the entry's only
//!   link and no exact key matched the entry; otherwise, and in the review band
//!   (probability 0.5 to 0.8), `low`. The facts give the probability and each field's
//!   level and weight, never the values.
//!
//! A birth year alone never matches (too weak: DOMAIN.md, "with birth year only, correct
//! matching is much harder"). The registry's record number is reported as a fact.

use std::collections::HashMap;

use crate::dedupe::{self, DedupeConfig, ScoredPair};
use crate::findings::{Evidence, RuleRun, RuleStatus, Severity};
use crate::model::Field;
use crate::snapshot::Snapshot;

use super::columns::{days, ids};
use super::{Context, Output};
use crate::normalize::letters;

pub(crate) const RULE: &str = "R-DECEASED-MATCH";

const NEEDS: [Field; 3] = [Field::GivenName, Field::FamilyName, Field::BirthDate];

type Key = (String, String, i32);

/// Name-and-birth-date keys of every row (`None` when a part is missing).
fn keys(snap: &Snapshot) -> Option<Vec<Option<Key>>> {
    let given = snap.texts(Field::GivenName)?;
    let family = snap.texts(Field::FamilyName)?;
    let birth = days(snap, Field::BirthDate)?;
    Some(
        (0..snap.rows())
            .map(|r| {
                let g = letters(given[r]?);
                let f = letters(family[r]?);
                (!g.is_empty() && !f.is_empty()).then_some((g, f, birth[r]?))
            })
            .collect(),
    )
}

fn national_ids(snap: &Snapshot) -> Option<Vec<Option<String>>> {
    Some(
        snap.texts(Field::NationalId)?
            .into_iter()
            .map(|v| {
                let k: String = v?
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_uppercase)
                    .collect();
                (!k.is_empty()).then_some(k)
            })
            .collect(),
    )
}

pub(crate) fn check(ctx: &Context<'_>, registry: Option<&Snapshot>, out: &mut Output) {
    let Some(registry) = registry else {
        out.run(RuleRun {
            rule: RULE,
            status: RuleStatus::NotApplicable {
                why: "no death registry given (--deceased)",
            },
        });
        return;
    };
    let missing: Vec<Field> = NEEDS
        .iter()
        .copied()
        .filter(|&f| !ctx.has(f) || !registry.has(f))
        .collect();
    if !missing.is_empty() {
        out.run(RuleRun {
            rule: RULE,
            status: RuleStatus::Skipped { missing },
        });
        return;
    }
    out.run(RuleRun::check(RULE, |_| true, &[]));
    let (Some(voter_keys), Some(dead_keys)) = (keys(ctx.snap), keys(registry)) else {
        return;
    };
    let dead_ids = ids(registry);
    let mut by_key: HashMap<&Key, u32> = HashMap::new();
    for (r, k) in dead_keys.iter().enumerate() {
        if let Some(k) = k {
            by_key.entry(k).or_insert(r as u32);
        }
    }
    let mut voters_per_key: HashMap<&Key, usize> = HashMap::new();
    for (r, k) in voter_keys.iter().enumerate() {
        if let Some(k) = k.as_ref().filter(|_| ctx.standing[r].votes()) {
            *voters_per_key.entry(k).or_default() += 1;
        }
    }
    let voter_nids = national_ids(ctx.snap);
    let dead_nids = national_ids(registry);
    let mut by_nid: HashMap<&str, u32> = HashMap::new();
    if let Some(nids) = &dead_nids {
        for (r, n) in nids.iter().enumerate() {
            if let Some(n) = n {
                by_nid.entry(n.as_str()).or_insert(r as u32);
            }
        }
    }
    let nid_match = |row: usize| {
        voter_nids
            .as_ref()
            .and_then(|n| n[row].as_deref())
            .and_then(|n| by_nid.get(n))
    };
    let key_match = |row: usize| voter_keys[row].as_ref().and_then(|k| by_key.get(k));
    // The best fuzzy link of each voting row that no exact key matches, and how many such
    // rows each registry entry links: an entry that links several voters, or that an exact
    // key already matched, names one person, and which one is unknown (`low`, as for a
    // shared exact key).
    let voting = |row: usize| ctx.standing[row].votes();
    let linkage = dedupe::link(ctx.snap, registry, &DedupeConfig::default()).ok();
    let mut best_link: HashMap<u32, &ScoredPair> = HashMap::new();
    if let Some(l) = &linkage {
        for p in l.pairs.iter().filter(|p| p.guard.is_none()) {
            let row = p.a as usize;
            if !voting(row) || nid_match(row).is_some() || key_match(row).is_some() {
                continue;
            }
            let best = best_link.entry(p.a).or_insert(p);
            if p.probability > best.probability {
                *best = p;
            }
        }
    }
    let mut links_per_entry: HashMap<u32, usize> = HashMap::new();
    for p in best_link.values() {
        *links_per_entry.entry(p.b).or_default() += 1;
    }
    let exactly_matched: std::collections::HashSet<u32> = (0..ctx.rows())
        .filter(|&row| voting(row))
        .filter_map(|row| nid_match(row).or_else(|| key_match(row)).copied())
        .collect();
    for (row, key) in voter_keys.iter().enumerate() {
        if !voting(row) {
            continue;
        }
        let key = key.as_ref();
        let nid_match = nid_match(row);
        let (dead_row, severity, matched_on) = if let Some(&d) = nid_match {
            let agrees = key.is_some() && key == dead_keys[d as usize].as_ref();
            let how = if agrees {
                "national_id, name and birth date"
            } else {
                "national_id (name or birth date differ)"
            };
            (d, Severity::High, how)
        } else if let Some(&d) = key_match(row) {
            let candidates = key
                .and_then(|k| voters_per_key.get(k))
                .copied()
                .unwrap_or(1);
            let severity = if candidates > 1 {
                Severity::Low
            } else {
                Severity::Medium
            };
            (d, severity, "given name, family name and birth date")
        } else if let (Some(p), Some(l)) = (best_link.get(&(row as u32)), &linkage) {
            let alone = links_per_entry.get(&p.b) == Some(&1) && !exactly_matched.contains(&p.b);
            let severity = if p.matched && alone {
                Severity::Medium
            } else {
                Severity::Low
            };
            let explanation: Vec<String> = dedupe::explain(&l.model, p)
                .iter()
                .filter(|f| f.level != "missing")
                .map(|f| format!("{}={}({:+.1})", f.comparison.name(), f.level, f.weight))
                .collect();
            out.push(ctx.record(
                RULE,
                severity,
                row,
                Evidence {
                    observed: p.probability,
                    baseline: format!("death registry ({} records)", registry.rows()),
                    facts: vec![
                        ("registry_record", dead_ids[p.b as usize].to_string()),
                        ("matched_on", "linkage model".to_string()),
                        ("probability", format!("{:.4}", p.probability)),
                        ("match_weight_bits", format!("{:.1}", p.match_weight)),
                        ("fields", explanation.join(";")),
                    ],
                    ..Evidence::default()
                },
            ));
            continue;
        } else {
            continue;
        };
        let candidates = key
            .and_then(|k| voters_per_key.get(k))
            .copied()
            .unwrap_or(1);
        out.push(ctx.record(
            RULE,
            severity,
            row,
            Evidence {
                observed: 1.0,
                baseline: format!("death registry ({} records)", registry.rows()),
                facts: vec![
                    ("registry_record", dead_ids[dead_row as usize].to_string()),
                    ("matched_on", matched_on.to_string()),
                    (
                        "voting_records_with_same_name_and_birth",
                        candidates.to_string(),
                    ),
                ],
                ..Evidence::default()
            },
        ));
    }
}
