//! Findings for people and pipelines: `flagged.csv` (one row per finding and voter) and the
//! JSON form of a finding, used by `scan.json` and the full report.
//!
//! # Format
//! ## `flagged.csv`
//! Header `finding_id,rule,severity,scope,scope_value,voter_id,snapshot_date,detail,incident_id`, one row
//! per finding and affected voter (a finding without voters has one row with an empty
//! `voter_id`), in the engine's order (rule, scope value).
//! - `finding_id`: `F` and 12 hex digits of xxh3-64 over the rule, scope, scope value and
//!   sorted voter ids ([`finding_id`]): the same finding on the same input has the same id
//!   on every run and machine, so case notes can refer to it.
//! - `snapshot_date`: `YYYY-MM-DD`, empty if unknown.
//! - `detail`: the evidence in words: `observed 12; expected 18; baseline ...; facts`.
//! - `incident_id`: the incident the finding belongs to (see `report::incidents`): the
//!   findings of one event share it.
//!
//! Every cell that can hold voter-supplied text (`scope_value`, `voter_id`, `detail`) goes
//! through [`safe_cell`]: a value starting with a formula character gets a leading `'`.
//!
//! JSON is not a spreadsheet: values are as they are, without the `'` prefix.

use std::path::Path;

use serde_json::{json, Map, Value};
use xxhash_rust::xxh3::xxh3_64;

use super::{safe_cell, write_csv, WriteError};
use crate::dates::IsoDate;
use crate::findings::{Evidence, Finding, RuleRun, RuleStatus, Severity};
use crate::incidents::Incident;

/// A finding's stable id: `F` and the top 48 bits of xxh3-64 over rule, scope, scope value
/// and the sorted voter ids, each followed by a 0x1f separator.
pub fn finding_id(f: &Finding) -> String {
    let mut ids: Vec<&str> = f.voter_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    let mut bytes = Vec::new();
    for part in [f.rule, f.scope.name(), f.scope_value.as_str()]
        .into_iter()
        .chain(ids)
    {
        bytes.extend_from_slice(part.as_bytes());
        bytes.push(0x1f);
    }
    format!("F{:012x}", xxh3_64(&bytes) >> 16)
}

/// A number as evidence text: integers without decimals, very small values in scientific
/// notation, others to 4 significant decimals.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The evidence in words: `observed 12; expected 18; ...; baseline ...; name=value ...`.
pub fn detail(e: &Evidence) -> String {
    let mut parts = vec![format!("observed {}", number(e.observed))];
    let measures = [
        ("expected", e.expected),
        ("effect", e.effect_size),
        ("p", e.p_value),
        ("q", e.q_value),
    ];
    for (name, value) in measures {
        if let Some(v) = value {
            parts.push(format!("{name} {}", number(v)));
        }
    }
    if !e.baseline.is_empty() {
        parts.push(format!("baseline: {}", e.baseline));
    }
    parts.extend(e.facts.iter().map(|(k, v)| format!("{k}={v}")));
    parts.join("; ")
}

fn finite(x: Option<f64>) -> Value {
    x.filter(|v| v.is_finite())
        .map_or(Value::Null, |v| json!(v))
}

/// A finding as JSON (see the module docs for the shape).
pub fn finding_json(f: &Finding) -> Value {
    let e = &f.evidence;
    let facts: Map<String, Value> = e
        .facts
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect();
    json!({
        "id": finding_id(f),
        "rule": f.rule,
        "severity": f.severity.name(),
        "scope": f.scope.name(),
        "scope_value": f.scope_value,
        "snapshot_date": f.snapshot_date.map(|d| IsoDate(d).to_string()),
        "voter_ids": f.voter_ids,
        "evidence": {
            "observed": finite(Some(e.observed)),
            "expected": finite(e.expected),
            "effect_size": finite(e.effect_size),
            "p_value": finite(e.p_value),
            "q_value": finite(e.q_value),
            "baseline": e.baseline,
            "facts": facts,
        },
    })
}

/// A rule run as JSON: `{"rule", "status": "ran" | "skipped" | "not_applicable", ...}`.
pub fn run_json(r: &RuleRun) -> Value {
    match &r.status {
        RuleStatus::Ran => json!({"rule": r.rule, "status": "ran"}),
        RuleStatus::Skipped { missing } => json!({
            "rule": r.rule,
            "status": "skipped",
            "missing": missing.iter().map(|f| f.name()).collect::<Vec<_>>(),
        }),
        RuleStatus::NotApplicable { why } => {
            json!({"rule": r.rule, "status": "not_applicable", "why": why})
        }
    }
}

/// Findings per severity name, `info` to `critical`.
pub fn severity_counts_json(findings: &[Finding]) -> Value {
    severity_counts(findings.iter().map(|f| f.severity))
}

/// How many of `severities` are at each severity, every severity present (0 when none).
pub fn severity_counts(severities: impl Iterator<Item = Severity>) -> Value {
    let n = Severity::tally(severities);
    let counts: Map<String, Value> = Severity::ALL
        .iter()
        .map(|s| (s.name().to_string(), json!(n[*s as usize])))
        .collect();
    Value::Object(counts)
}

/// The columns of `flagged.csv` and `flagged.parquet`.
pub(crate) const FLAGGED_COLUMNS: [&str; 9] = [
    "finding_id",
    "rule",
    "severity",
    "scope",
    "scope_value",
    "voter_id",
    "snapshot_date",
    "detail",
    "incident_id",
];

/// The incident id of each finding (by index), for `flagged.csv`'s `incident_id`.
pub fn incident_of_findings(incidents: &[Incident], findings: usize) -> Vec<Option<&str>> {
    let mut of = vec![None; findings];
    for i in incidents {
        for &f in &i.findings {
            of[f] = Some(i.id.as_str());
        }
    }
    of
}

/// The rows of `flagged.csv` and `flagged.parquet`, in [`FLAGGED_COLUMNS`] order: one per
/// finding and voter, and one without a voter for a finding that names none;
/// `incident_of[k]` is the incident of finding `k` (see [`super::incidents`]).
pub(crate) fn flagged_rows<'a>(
    findings: &'a [Finding],
    incident_of: &'a [Option<&'a str>],
) -> impl Iterator<Item = [Option<String>; 9]> + 'a {
    findings.iter().enumerate().flat_map(move |(k, f)| {
        let id = finding_id(f);
        let incident = incident_of.get(k).copied().flatten().map(str::to_string);
        let date = f.snapshot_date.map(|d| IsoDate(d).to_string());
        let detail = detail(&f.evidence);
        let voters: Vec<Option<String>> = if f.voter_ids.is_empty() {
            vec![None]
        } else {
            f.voter_ids.iter().cloned().map(Some).collect()
        };
        voters.into_iter().map(move |voter| {
            [
                Some(id.clone()),
                Some(f.rule.to_string()),
                Some(f.severity.name().to_string()),
                Some(f.scope.name().to_string()),
                Some(f.scope_value.clone()),
                voter,
                date.clone(),
                Some(detail.clone()),
                incident.clone(),
            ]
        })
    })
}

/// Writes `flagged.csv` (format in the module docs). Missing values are empty cells.
pub fn write_flagged_csv(
    path: &Path,
    findings: &[Finding],
    incident_of: &[Option<&str>],
) -> Result<(), WriteError> {
    write_csv(path, |w| {
        w.write_record(FLAGGED_COLUMNS)?;
        for row in flagged_rows(findings, incident_of) {
            w.write_record(
                row.iter()
                    .map(|v| safe_cell(v.as_deref().unwrap_or("")).into_owned()),
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Scope;

    fn finding() -> Finding {
        Finding {
            rule: "R-NAME-MARKUP",
            severity: Severity::Medium,
            scope: Scope::Record,
            scope_value: "=V1".into(),
            evidence: Evidence {
                observed: 1.0,
                expected: Some(0.5),
                p_value: Some(1.5e-9),
                baseline: "name fields".into(),
                facts: vec![("family_name", "formula prefix '='".into())],
                ..Evidence::default()
            },
            voter_ids: vec!["=V1".into()],
            snapshot_date: Some(0),
        }
    }

    #[test]
    fn ids_are_stable_and_independent_of_voter_order() {
        let a = finding();
        let mut b = finding();
        b.voter_ids = vec!["=V1".into()];
        assert_eq!(finding_id(&a), finding_id(&b));
        assert_eq!(finding_id(&a).len(), 13);
        b.voter_ids.push("V2".into());
        let mut c = b.clone();
        c.voter_ids.reverse();
        assert_eq!(finding_id(&b), finding_id(&c));
        assert_ne!(finding_id(&a), finding_id(&b));
    }

    #[test]
    fn csv_cells_cannot_run_as_formulas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flagged.csv");
        write_flagged_csv(&path, &[finding()], &[]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert!(row.contains(",'=V1,'=V1,1970-01-01,"), "{row}");
        assert!(row.contains("p 1.500e-9"), "{row}");
    }

    #[test]
    fn json_carries_every_part_of_the_evidence() {
        let v = finding_json(&finding());
        assert_eq!(v["rule"], "R-NAME-MARKUP");
        assert_eq!(v["evidence"]["expected"], 0.5);
        assert_eq!(v["evidence"]["q_value"], Value::Null);
        assert_eq!(v["evidence"]["facts"]["family_name"], "formula prefix '='");
        assert_eq!(v["voter_ids"][0], "=V1");
    }
}
