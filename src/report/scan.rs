//! `scan`'s artefacts and terminal summary: `flagged.csv` (see [`super::findings`]) and
//! `scan.json`, with the scan's findings grouped into incidents as the audit groups its own.
//!
//! # `scan.json` (`schema_version` 1)
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
//! `incident_counts` and `incidents` follow `counts`, in the form of `report.json`'s (see
//! [`super::incidents`]).
//! JSON is not a spreadsheet: values are as they are, without the `'` prefix.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::findings::{
    finding_json, incident_of_findings, run_json, severity_counts_json, write_flagged_csv,
};
use super::{write_atomically, WriteError};
use crate::dates::IsoDate;
use crate::findings::{Finding, RuleStatus, Severity};
use crate::incidents::Incident;
use crate::rules::ScanResult;
use crate::snapshot::Snapshot;

/// The current `scan.json` schema version.
pub const SCHEMA_VERSION: u32 = 1;

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
            "rows": snapshot.digest.rows,
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
    use crate::findings::{Evidence, Scope};

    fn finding() -> Finding {
        Finding {
            rule: "R-NAME-MARKUP",
            severity: Severity::Medium,
            scope: Scope::Record,
            scope_value: "V1".into(),
            evidence: Evidence::default(),
            voter_ids: vec!["V1".into()],
            snapshot_date: Some(0),
        }
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
}
