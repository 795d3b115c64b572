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
//! ## `scan.json` (`schema_version` 1)
//! ```json
//! {"schema_version": 1,
//!  "snapshot": {"source": "register-2026-10-02.csv", "rows": 20497,
//!               "digest": "9f0c…-20497", "date": "2026-10-02"},
//!  "parameters": {"as_of": "2026-10-22", "address_threshold": "12", "…": "…"},
//!  "rules": [{"rule": "R-AGE-UNDER", "status": "ran"},
//!            {"rule": "R-DECEASED-MATCH", "status": "not_applicable",
//!             "why": "no death registry given (--deceased)"},
//!            {"rule": "R-ID-REPEATED", "status": "skipped", "missing": ["national_id"]}],
//!  "counts": {"info": 2, "low": 0, "medium": 24, "high": 3, "critical": 0},
//!  "findings": [{"id": "F1a2b3c4d5e6f", "rule": "R-ADDRESS-CROWDED", "severity": "high",
//!                "scope": "address", "scope_value": "29 COLLEGE WAY, KONHAVEN 10435",
//!                "snapshot_date": "2026-10-02", "voter_ids": ["V000020011", "…"],
//!                "evidence": {"observed": 47, "expected": 6, "effect_size": 7.8,
//!                             "p_value": null, "q_value": null,
//!                             "baseline": "current registrations per address: …",
//!                             "facts": {"threshold": "12", "burst": "45 registered within 30 days"}}}]}
//! ```
//! JSON is not a spreadsheet: values are as they are, without the `'` prefix.

use std::path::Path;

use serde_json::{json, Map, Value};
use xxhash_rust::xxh3::xxh3_64;

use super::{safe_cell, write_atomically, WriteError};
use crate::dates::IsoDate;
use crate::findings::{Evidence, Finding, RuleRun, RuleStatus, Severity};
use crate::incidents::Incident;
use crate::rules::ScanResult;
use crate::snapshot::Snapshot;

/// The current `scan.json` schema version.
pub const SCHEMA_VERSION: u32 = 1;

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
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let row_err = |e: csv::Error| err(std::io::Error::other(e));
    w.write_record(FLAGGED_COLUMNS).map_err(row_err)?;
    for row in flagged_rows(findings, incident_of) {
        w.write_record(
            row.iter()
                .map(|v| safe_cell(v.as_deref().unwrap_or("")).into_owned()),
        )
        .map_err(row_err)?;
    }
    let bytes = w.into_inner().map_err(|e| err(e.into_error()))?;
    write_atomically(path, &bytes)
}

/// `scan.json` for a scan of `snapshot`, read from `source` (format in the module docs).
pub fn scan_json(
    result: &ScanResult,
    incidents: &[Incident],
    snapshot: &Snapshot,
    source: &str,
) -> Value {
    let date = result.date().map(|d| IsoDate(d).to_string());
    let parameters: Map<String, Value> = result
        .parameters
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "snapshot": {
            "source": source,
            "rows": snapshot.rows(),
            "digest": snapshot.digest.to_string(),
            "date": date,
        },
        "parameters": parameters,
        "rules": result.runs.iter().map(run_json).collect::<Vec<_>>(),
        "counts": severity_counts_json(&result.findings),
        "incident_counts": super::incidents::severity_counts_json(incidents),
        "incidents": super::incidents::incidents_json(incidents, &result.findings, result.date().unwrap_or(0)),
        "findings": result.findings.iter().map(finding_json).collect::<Vec<_>>(),
    })
}

/// A short text summary of a scan for the terminal: counts by severity, findings per rule,
/// the rules that did not run with the reason, and the worst incidents.
pub fn scan_summary(result: &ScanResult, incidents: &[Incident]) -> String {
    let counts = result.severity_counts();
    let mut out = String::from("findings:");
    for (s, n) in Severity::ALL.iter().zip(counts) {
        out.push_str(&format!(" {} {n}", s.name()));
    }
    out.push('\n');
    for rule in crate::rules::RULES {
        let of_rule: Vec<&Finding> = result.findings.iter().filter(|f| f.rule == rule).collect();
        let status = result
            .runs
            .iter()
            .find(|r| r.rule == rule)
            .map(|r| &r.status);
        let line = match status {
            Some(RuleStatus::Skipped { missing }) => {
                let names: Vec<&str> = missing.iter().map(|f| f.name()).collect();
                format!("skipped (no {})", names.join(", "))
            }
            Some(RuleStatus::NotApplicable { why }) => format!("not applicable: {why}"),
            _ if of_rule.is_empty() => "ran, nothing found".to_string(),
            _ => {
                let worst = of_rule
                    .iter()
                    .map(|f| f.severity)
                    .max()
                    .unwrap_or(Severity::Info);
                format!("{} findings, worst {}", of_rule.len(), worst.name())
            }
        };
        out.push_str(&format!("  {rule:<20} {line}\n"));
    }
    let date = result.date().unwrap_or(0);
    out.push_str(&super::incidents::summary(
        incidents,
        &result.findings,
        date,
    ));
    out
}

/// Writes `DIR/flagged.csv` and `DIR/scan.json`, creating `DIR` if needed; `incidents` are
/// the scan's ([`ScanResult::incidents`]).
pub fn write_scan(
    dir: &Path,
    result: &ScanResult,
    incidents: &[Incident],
    snapshot: &Snapshot,
    source: &str,
) -> Result<(), WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_path_buf(),
        source,
    })?;
    let incident_of = incident_of_findings(incidents, result.findings.len());
    write_flagged_csv(&dir.join("flagged.csv"), &result.findings, &incident_of)?;
    let json = scan_json(result, incidents, snapshot, source);
    let mut bytes = serde_json::to_vec_pretty(&json).expect("a JSON value always serialises");
    bytes.push(b'\n');
    write_atomically(&dir.join("scan.json"), &bytes)
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
    fn the_summary_names_every_rule_once() {
        let result = ScanResult {
            findings: vec![finding()],
            runs: Vec::new(),
            parameters: Vec::new(),
        };
        let text = scan_summary(&result, &[]);
        assert!(text.starts_with("findings: info 0 low 0 medium 1 high 0 critical 0\n"));
        assert_eq!(text.lines().count(), 1 + crate::rules::RULES.len() + 1);
        assert!(
            text.contains("R-NAME-MARKUP        1 findings, worst medium"),
            "{text}"
        );
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
