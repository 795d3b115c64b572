//! The deduplication's artefacts: `duplicates.csv`, `clusters.csv` and `dedupe.json`.
//!
//! They hold voter ids, never names or birth dates, so they can travel to people who must not
//! see personal data; the evidence is in the levels and weights. Every voter id passes
//! through [`safe_cell`].
//!
//! # Format
//! `duplicates.csv`, one row per scored pair at or above the review threshold, ordered by
//! the pair's rows (voter-id order):
//!
//! | column | meaning |
//! |---|---|
//! | `voter_id_a`, `voter_id_b` | the pair, `a` < `b` |
//! | `probability` | match probability, 6 decimals |
//! | `match_weight` | bits, 3 decimals |
//! | `status` | `matched` (in a cluster), `review` (below the threshold) or `guarded` (a household guard vetoed it) |
//! | `guard` | `generation_suffix`, `twin_pattern`, `household_ids`, `generations`, `namesake`, `kept_apart` (see `dedupe::Guard`) or empty |
//! | `cluster_id` | the cluster of a matched pair, else empty |
//! | `explanation` | `field=level(+weight)` for every field, `;`-separated (`[swapped]` after the names when compared crosswise), then `household_pattern(+w)` (the model's correction for fields agreeing together as a household's do) and `prior(+w)`; they sum to `match_weight` |
//!
//! e.g. `V000000017,V000019901,0.999870,12.902,matched,,C3f0e...,given_name=close(+2.41);
//! family_name=exact(+6.10);middle_name=missing(+0.00);birth_date=exact(+9.87);...`
//!
//! `clusters.csv`: `cluster_id, voter_id, cluster_size`, one row per member, clusters in
//! order of their smallest voter id. `exact.csv`: `group_id, voter_id, group_size`, the
//! same for the groups of the exact pass ([`crate::dedupe::exact`]), which `dedupe.json`
//! also counts under `exact`; `dedupe --exact-only` writes `exact.csv` and `exact.json`
//! alone.
//!
//! `dedupe.json` (`schema_version` 2: version 1 had `u_random` per level, no model health,
//! pair completeness or `exact`, and `counts.exact_groups` required one address too):
//! ```json
//! {"schema_version": 2, "rows": 20000, "snapshot_digest": "…",
//!  "config": {"threshold": 0.65, "review_threshold": 0.5, "max_block_size": 1000,
//!             "random_pairs": 100000, "seed": 111546413966437, "term_frequency": true},
//!  "absent_fields": [],
//!  "blocking": [{"rule": "national_id", "description": "…", "keyed_records": 18000,
//!                "blocks": 180, "pairs": 180, "new_pairs": 180, "skipped_blocks": 0,
//!                "skipped_records": 0, "largest_skipped_block": 0, "over_budget": false,
//!                "refined_blocks": 0}],
//!  "candidate_pairs": 41234,
//!  "pair_completeness": {"estimate": 0.99, "estimated_duplicate_pairs": 202.0,
//!                        "matched_by_birth_date_rules": 190, "matched_by_other_rules": 150,
//!                        "matched_by_both": 141, "method": "…"},
//!  "model": {"lambda": 1.9e-7, "prior_weight": -22.3, "em_iterations": 9, "converged": true,
//!            "classes": ["one_person", "household", "unrelated"],
//!            "household_class": {"fitted": true, "reason": "…", "gain_nats": 5120.4,
//!                                "penalty_nats": 61.2},
//!            "fields_used": ["given_name", "family_name", …],
//!            "fields_dropped": [{"field": "phone", "reason": "absent: …"}],
//!            "comparisons": [{"field": "given_name", "status": "learned",
//!               "compared_share": 0.98, "levels": [
//!               {"level": "exact", "m": 0.66, "h": 0.0094, "u": 0.0094, "weight": 6.1}]}]},
//!  "counts": {"listed_pairs": 260, "matched_pairs": 200, "review_pairs": 50,
//!             "guarded_pairs": {"twin_pattern": 3, "generation_suffix": 7},
//!             "clusters": 198, "records_in_clusters": 398,
//!             "exact_groups": 12, "records_in_exact_groups": 24},
//!  "chance": {"records": 19800, "p_same_birth_date": 0.00004, "same_name_pairs": 900,
//!             "expected_pairs": 0.036, "found_pairs": 25, "matched_pairs": 24}}
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::{safe_cell, write_atomically, write_csv, WriteError};
use crate::dedupe::{Cluster, Comparison, DedupeResult, ExactDuplicates, ScoredPair};
use crate::snapshot::Snapshot;

fn io(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> WriteError {
    WriteError {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

fn create_dir(dir: &Path) -> Result<(), WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `duplicates.csv`, `clusters.csv`, `exact.csv` and `dedupe.json` into `dir`
/// (created if needed).
pub fn write_dedupe(
    dir: &Path,
    result: &DedupeResult,
    snapshot: &Snapshot,
) -> Result<(), WriteError> {
    create_dir(dir)?;
    write_duplicates_csv(&dir.join("duplicates.csv"), result, snapshot)?;
    write_groups_csv(
        &dir.join("clusters.csv"),
        "cluster_id",
        &result.clusters,
        snapshot,
    )?;
    write_exact_csv(&dir.join("exact.csv"), &result.exact, snapshot)?;
    let path = dir.join("dedupe.json");
    let mut json =
        serde_json::to_vec_pretty(&dedupe_json(result, snapshot)).map_err(|e| io(&path, e))?;
    json.push(b'\n');
    write_atomically(&path, &json)
}

fn voter_id(snapshot: &Snapshot, row: u32) -> &str {
    snapshot
        .voter_ids()
        .get(row as usize)
        .expect("result rows are rows of the snapshot it was computed on")
}

/// The pair's `field=level(+weight)` list.
pub fn explanation(result: &DedupeResult, pair: &ScoredPair) -> String {
    let mut out = String::new();
    for (i, s) in result.explain(pair).iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        let swapped = pair.pattern.swapped()
            && matches!(s.comparison, Comparison::GivenName | Comparison::FamilyName);
        let _ = write!(
            out,
            "{}={}{}({:+.2})",
            s.comparison.name(),
            s.level,
            if swapped { "[swapped]" } else { "" },
            s.weight
        );
    }
    let _ = write!(
        out,
        ";household_pattern({:+.2});prior({:+.2})",
        result.model.household_adjustment(pair.pattern),
        result.model.prior_weight()
    );
    out
}

fn status(pair: &ScoredPair) -> &'static str {
    if pair.matched {
        "matched"
    } else if pair.guard.is_some() {
        "guarded"
    } else {
        "review"
    }
}

fn write_duplicates_csv(
    path: &Path,
    result: &DedupeResult,
    snapshot: &Snapshot,
) -> Result<(), WriteError> {
    write_csv(path, |w| {
        w.write_record([
            "voter_id_a",
            "voter_id_b",
            "probability",
            "match_weight",
            "status",
            "guard",
            "cluster_id",
            "explanation",
        ])?;
        for p in &result.pairs {
            let cluster = p
                .cluster
                .map(|c| result.clusters[c as usize].id.as_str())
                .unwrap_or("");
            w.write_record([
                safe_cell(voter_id(snapshot, p.a)).as_ref(),
                &safe_cell(voter_id(snapshot, p.b)),
                &format!("{:.6}", p.probability),
                &format!("{:.3}", p.match_weight),
                status(p),
                p.guard.map_or("", |g| g.name()),
                cluster,
                &explanation(result, p),
            ])?;
        }
        Ok(())
    })
}

/// One row per member of each group: `ID_COLUMN, voter_id, SIZE_COLUMN`.
fn write_groups_csv(
    path: &Path,
    id_column: &str,
    groups: &[Cluster],
    snapshot: &Snapshot,
) -> Result<(), WriteError> {
    let size_column = id_column.replace("_id", "_size");
    write_csv(path, |w| {
        w.write_record([id_column, "voter_id", size_column.as_str()])?;
        for c in groups {
            let size = c.rows.len().to_string();
            for &row in &c.rows {
                w.write_record([c.id.as_str(), &safe_cell(voter_id(snapshot, row)), &size])?;
            }
        }
        Ok(())
    })
}

/// The exact pass's part of `dedupe.json` (and the whole of `exact.json`).
fn exact_json(exact: &ExactDuplicates) -> serde_json::Value {
    json!({
        "definition": "same normalised given name, family name and full birth date, or the \
                       same national id (separators dropped); groups joined through either",
        "groups": exact.groups.len(),
        "records_in_groups": exact.groups.iter().map(|g| g.rows.len()).sum::<usize>(),
        "name_birth_pairs": exact.name_birth_pairs,
        "national_id_pairs": exact.national_id_pairs,
        "skipped_id_values": exact.skipped_ids,
    })
}

/// Writes the exact pass alone (`dedupe --exact-only`): `exact.csv` and `exact.json`.
pub fn write_exact(
    dir: &Path,
    exact: &ExactDuplicates,
    snapshot: &Snapshot,
) -> Result<(), WriteError> {
    create_dir(dir)?;
    write_exact_csv(&dir.join("exact.csv"), exact, snapshot)?;
    let path = dir.join("exact.json");
    let mut json = serde_json::to_vec_pretty(&json!({
        "schema_version": 1,
        "rows": snapshot.rows(),
        "snapshot_digest": snapshot.digest.to_string(),
        "exact": exact_json(exact),
    }))
    .map_err(|e| io(&path, e))?;
    json.push(b'\n');
    write_atomically(&path, &json)
}

fn write_exact_csv(
    path: &Path,
    exact: &ExactDuplicates,
    snapshot: &Snapshot,
) -> Result<(), WriteError> {
    write_groups_csv(path, "group_id", &exact.groups, snapshot)
}

/// The `dedupe.json` document (format in the module docs).
pub fn dedupe_json(result: &DedupeResult, snapshot: &Snapshot) -> serde_json::Value {
    let c = &result.config;
    let model = &result.model;
    let comparisons: Vec<serde_json::Value> = Comparison::ALL
        .iter()
        .map(|&cmp| {
            let i = cmp.index();
            let levels: Vec<serde_json::Value> = cmp
                .levels()
                .iter()
                .enumerate()
                .map(|(l, name)| {
                    json!({
                        "level": name,
                        "m": model.m[i][l],
                        "h": model.h[i][l],
                        "u": model.u[i][l],
                        "weight": model.weights[i][l],
                    })
                })
                .collect();
            json!({
                "field": cmp.name(),
                "status": model.status[i].name(),
                "compared_share": model.compared[i],
                "levels": levels,
            })
        })
        .collect();
    let (fields_used, fields_dropped): (Vec<Comparison>, Vec<Comparison>) = Comparison::ALL
        .iter()
        .partition(|c| model.status[c.index()].used());
    let fields_dropped: Vec<serde_json::Value> = fields_dropped
        .iter()
        .map(|c| json!({"field": c.name(), "reason": model.status[c.index()].reason()}))
        .collect();
    let fitted = model.household.kept();
    let figures = model.household.gain_and_penalty();
    let classes: &[&str] = if fitted {
        &["one_person", "household", "unrelated"]
    } else {
        &["one_person", "not_one_person"]
    };
    let blocking: Vec<serde_json::Value> = result
        .blocking
        .iter()
        .map(|s| {
            json!({
                "rule": s.rule.name(),
                "description": s.rule.description(),
                "keyed_records": s.keyed_records,
                "blocks": s.blocks,
                "pairs": s.pairs,
                "new_pairs": s.new_pairs,
                "skipped_blocks": s.skipped_blocks,
                "skipped_records": s.skipped_records,
                "largest_skipped_block": s.largest_skipped_block,
                "over_budget": s.over_budget,
                "refined_blocks": s.refined_blocks,
            })
        })
        .collect();
    let mut guarded: BTreeMap<&str, u64> = BTreeMap::new();
    for p in result.pairs.iter().filter(|p| !p.matched) {
        if let Some(g) = p.guard {
            *guarded.entry(g.name()).or_insert(0) += 1;
        }
    }
    let matched = result.matched().count();
    let ch = &result.chance;
    json!({
        "schema_version": 2,
        "rows": result.rows,
        "snapshot_digest": snapshot.digest.to_string(),
        "config": {
            "threshold": c.threshold,
            "review_threshold": c.review_threshold,
            "max_block_size": c.max_block_size,
            "random_pairs": c.random_pairs,
            "max_em_iterations": c.max_em_iterations,
            "seed": c.seed,
            "term_frequency": c.term_frequency,
        },
        "absent_fields": result.absent_fields.iter().map(|f| f.name()).collect::<Vec<_>>(),
        "blocking": blocking,
        "candidate_pairs": result.candidates,
        "pair_completeness": {
            "estimate": result.completeness.estimate,
            "estimated_duplicate_pairs": result.completeness.estimated_pairs,
            "matched_by_birth_date_rules": result.completeness.by_birth_date_rules,
            "matched_by_other_rules": result.completeness.by_other_rules,
            "matched_by_both": result.completeness.by_both,
            "method": "capture-recapture (Lincoln-Petersen, Chapman) between the birth-date \
                       rules and the others over the matched pairs; optimistic when errors \
                       break both groups at once",
        },
        "model": {
            "lambda": model.lambda,
            "prior_weight": model.prior_weight(),
            "em_iterations": model.iterations,
            "converged": model.converged,
            "classes": classes,
            "household_class": {
                "fitted": fitted,
                "reason": model.household.reason(),
                "gain_nats": figures.map(|f| f.0),
                "penalty_nats": figures.map(|f| f.1),
            },
            "fields_used": fields_used.iter().map(|c| c.name()).collect::<Vec<_>>(),
            "fields_dropped": fields_dropped,
            "comparisons": comparisons,
        },
        "counts": {
            "listed_pairs": result.pairs.len(),
            "matched_pairs": matched,
            "review_pairs": result.pairs.iter().filter(|p| !p.matched && p.guard.is_none()).count(),
            "guarded_pairs": guarded,
            "clusters": result.clusters.len(),
            "records_in_clusters": result.clusters.iter().map(|c| c.rows.len()).sum::<usize>(),
            "exact_groups": result.exact.groups.len(),
            "records_in_exact_groups": result.exact.groups.iter().map(|g| g.rows.len()).sum::<usize>(),
        },
        "exact": exact_json(&result.exact),
        "chance": {
            "records": ch.records,
            "p_same_birth_date": ch.p_same_birth_date,
            "same_name_pairs": ch.same_name_pairs,
            "expected_pairs": ch.expected_pairs,
            "found_pairs": ch.found_pairs,
            "matched_pairs": ch.matched_pairs,
        },
    })
}
