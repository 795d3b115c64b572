//! The audit's artefacts: `report.json`, `flagged.csv` and `flagged.parquet`,
//! `changes.parquet`, the deduplicator's files, and `index.html`.
//!
//! # `report.json`
//! The machine-readable report (`schema_version` 1, JSON Schema in
//! `src/report/report.schema.json`, checked against real output by the tests). Keys:
//!
//! - `schema_version`, `tool` (`name`, `version`), `command_line` (the arguments as given),
//!   `as_of` (the run's reference time: `--as-of`, else `SOURCE_DATE_EPOCH`, else now),
//!   `redacted`.
//! - `provenance`: `inputs` (per snapshot: `path`, `date`, `sha256` of the file, `digest` of
//!   the loaded rows, `rows_read`, `rows_loaded`, `rows_rejected`, `reject_reasons`),
//!   `profile` (`name`, `sha256` of its TOML), `calendar` and `deceased` (`path`, `sha256`, or
//!   null), `configuration_sha256` (SHA-256 of the thresholds as printed by `{:?}`).
//! - `summary`: `snapshots`, `latest_rows`, `findings_by_severity`, `duplicate_clusters`,
//!   `max_severity`, `incidents_by_severity`, `max_incident_severity`.
//! - `incidents`: the findings grouped by underlying event, most severe first (fields in
//!   `report::incidents`).
//! - `findings`: every finding, most severe first: `id, rule, severity, scope, scope_value,
//!   snapshot_date, voter_ids, affected_voters, evidence {observed, expected, effect_size,
//!   p_value, q_value, baseline, facts}`.
//! - `rule_runs`: every rule and detector with `ran`, `skipped` (and the missing fields) or
//!   `not_applicable` (and why).
//! - `duplicate_clusters`: `cluster_id, voter_ids`.
//! - `changes`: per interval `from, to, identical, counts {added, removed, modified,
//!   unchanged}, change_kinds {kind: records}, schema_drift {only_old, only_new}`.
//!
//! The same inputs, options and `as_of` give a byte-identical file: maps are sorted, lists
//! are in a defined order, and nothing else varies.
//!
//! # `changes.parquet`
//! The change logs of every interval, one after the other, in the columns of
//! `report::diff` (`voter_id, field, old_value, new_value, change_kind`) plus `snapshot_from`
//! and `snapshot_to`. Under `--redact`, values of personal fields are keyed hashes. It and
//! `flagged.parquet` are written a row group of [`ROW_GROUP_ROWS`] rows at a time.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::{
    DataFrame, DataType, Field as PlField, IntoColumn, ParquetWriter, Schema, StringChunkedBuilder,
};
use rayon::prelude::*;
use serde_json::{json, Map, Value};

use super::findings::{finding_json, run_json, severity_counts_json, write_flagged_csv};
use super::redact::{Redactor, REDACTED_FIELDS};
use super::{write_atomically, write_atomically_with, RunInfo, WriteError};
use crate::audit::AuditResult;
use crate::dates::IsoDate;
use crate::findings::Finding;
use crate::model::Field;

/// Current `report.json` schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema of `report.json`.
pub const REPORT_SCHEMA: &str = include_str!("report.schema.json");

/// The findings as they will be shown: redacted when asked (borrowed otherwise: at 10^7
/// voters a copy of every finding's voter ids is a gigabyte).
pub fn shown_findings<'a>(
    result: &'a AuditResult,
    redactor: Option<&Redactor>,
) -> Cow<'a, [Finding]> {
    match redactor {
        Some(r) => Cow::Owned(result.findings.iter().map(|f| r.finding(f)).collect()),
        None => Cow::Borrowed(&result.findings),
    }
}

/// `report.json` as a JSON tree, but for its `findings` list (see [`Report`]).
fn report_head(
    result: &AuditResult,
    findings: &[Finding],
    run: &RunInfo<'_>,
) -> Map<String, Value> {
    let sha = crate::load::sha256_hex;
    let inputs: Vec<Value> = result
        .inputs
        .iter()
        .map(|i| {
            let reasons: Map<String, Value> = i
                .report
                .reject_summary()
                .into_iter()
                .map(|(k, n)| (k.to_string(), json!(n)))
                .collect();
            json!({
                "path": i.input.path.display().to_string(),
                "date": IsoDate(i.input.date).to_string(),
                "sha256": i.sha256,
                "digest": i.digest.to_string(),
                "rows_read": i.report.rows_read,
                "rows_loaded": i.report.rows_loaded,
                "rows_rejected": i.report.rows_rejected,
                "reject_reasons": reasons,
            })
        })
        .collect();
    let changes: Vec<Value> = result
        .diffs
        .iter()
        .enumerate()
        .map(|(t, d)| {
            let kinds: Map<String, Value> = d
                .kind_counts()
                .into_iter()
                .map(|(k, n)| (k.name().to_string(), json!(n)))
                .collect();
            let names = |f: &[Field]| f.iter().map(|f| f.name()).collect::<Vec<_>>();
            json!({
                "from": IsoDate(result.inputs[t].input.date).to_string(),
                "to": IsoDate(result.inputs[t + 1].input.date).to_string(),
                "identical": d.identical,
                "counts": {"added": d.counts.added, "removed": d.counts.removed,
                           "modified": d.counts.modified, "unchanged": d.counts.unchanged},
                "change_kinds": kinds,
                "schema_drift": {"only_old": names(&d.drift.only_old), "only_new": names(&d.drift.only_new)},
            })
        })
        .collect();
    let latest = result.inputs.last().expect("an audit has a snapshot");
    let ids = latest.snapshot.voter_ids();
    let clusters: Vec<Value> = result
        .dedupe
        .clusters
        .iter()
        .map(|c| {
            let members: Vec<&str> = c.rows.iter().filter_map(|&r| ids.get(r as usize)).collect();
            json!({"cluster_id": c.id, "voter_ids": members})
        })
        .collect();
    let head = json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "rollaudit", "version": env!("CARGO_PKG_VERSION")},
        "command_line": run.command_line,
        "as_of": run.as_of,
        "redacted": run.redactor.is_some(),
        "provenance": {
            "inputs": inputs,
            "profile": {"name": run.profile_name, "sha256": sha(run.profile_text.as_bytes())},
            "calendar": run.calendar.map(|(p, text)| json!({"path": p.display().to_string(), "sha256": sha(text.as_bytes())})),
            "deceased": run.deceased.as_ref().map(|(p, digest)| json!({"path": p.display().to_string(), "sha256": digest})),
            "configuration_sha256": sha(run.configuration.as_bytes()),
        },
        "summary": {
            "snapshots": result.inputs.len(),
            "latest_rows": latest.digest.rows,
            "findings_by_severity": severity_counts_json(findings),
            "duplicate_clusters": result.dedupe.clusters.len(),
            "max_severity": findings.iter().map(|f| f.severity).max().map(|s| s.name()),
            "incidents_by_severity": super::incidents::severity_counts_json(&result.incidents),
            "max_incident_severity": result.incidents.iter().map(|i| i.severity).max().map(|s| s.name()),
        },
        "incidents": super::incidents::incidents_json(&result.incidents, findings, latest.input.date),
        "rule_runs": result.runs.iter().map(run_json).collect::<Vec<_>>(),
        "duplicate_clusters": clusters,
        "changes": changes,
    });
    match head {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// `report.json`: the head's keys in order (serde_json's maps are sorted) with `findings`
/// in its place, each finding turned into JSON only as it is written. At 10^7 voters the
/// findings hold millions of voter ids, and a whole JSON tree of them took gigabytes; the
/// bytes are those of the tree written at once.
struct Report<'a> {
    head: Map<String, Value>,
    findings: &'a [Finding],
}

impl serde::Serialize for Report<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        const FINDINGS: &str = "findings";
        let mut map = s.serialize_map(Some(self.head.len() + 1))?;
        let mut pending = true;
        for (key, value) in &self.head {
            if pending && key.as_str() > FINDINGS {
                map.serialize_entry(FINDINGS, &ReportFindings(self.findings))?;
                pending = false;
            }
            map.serialize_entry(key, value)?;
        }
        if pending {
            map.serialize_entry(FINDINGS, &ReportFindings(self.findings))?;
        }
        map.end()
    }
}

struct ReportFindings<'a>(&'a [Finding]);

impl serde::Serialize for ReportFindings<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|f| {
            let mut v = finding_json(f);
            v["affected_voters"] = json!(f.voter_ids.len());
            v
        }))
    }
}

/// Writes every artefact of the audit into `dir`.
pub fn write_audit(dir: &Path, result: &AuditResult, run: &RunInfo<'_>) -> Result<(), WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_path_buf(),
        source,
    })?;
    crate::files::remove_stale_temporaries(dir);
    let findings = shown_findings(result, run.redactor);
    let latest = result.inputs.last().expect("an audit has a snapshot");
    let incident_of = super::findings::incident_of_findings(&result.incidents, findings.len());
    let report_json = || {
        let report = Report {
            head: report_head(result, &findings, run),
            findings: &findings,
        };
        write_atomically_with(&dir.join("report.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, &report)?;
            w.write_all(b"\n")
        })
    };
    let index_html = || {
        let html = super::html::render(result, &findings, run);
        write_atomically(&dir.join("index.html"), html.as_bytes())
    };
    // The artefacts are independent files: they are written side by side, and the first
    // failure in this order is the one reported.
    let artefacts: [&Artefact; 6] = [
        &report_json,
        &|| write_flagged_csv(&dir.join("flagged.csv"), &findings, &incident_of),
        &|| write_flagged_parquet(&dir.join("flagged.parquet"), &findings, &incident_of),
        &|| write_changes_parquet(&dir.join("changes.parquet"), result, run.redactor),
        &|| super::dedupe::write_dedupe(dir, &result.dedupe, &latest.snapshot),
        &index_html,
    ];
    let written: Vec<Result<(), WriteError>> = artefacts.par_iter().map(|write| write()).collect();
    written.into_iter().collect()
}

/// Writes one artefact.
type Artefact<'a> = dyn Fn() -> Result<(), WriteError> + Sync + 'a;

/// Rows per Parquet row group of the text artefacts: polars' own default, so that a file of
/// fewer rows (the sample's) has the bytes of one written whole, while a larger one is written
/// a row group at a time and its builders never hold more than this many rows.
const ROW_GROUP_ROWS: usize = 512 * 512;

/// A Parquet file of text columns, written a row group at a time: rows go straight into Arrow
/// builders (no column of `String`s in between), and every [`ROW_GROUP_ROWS`] rows they are
/// encoded and written out.
struct TextParquet<'w> {
    names: Vec<String>,
    builders: Vec<StringChunkedBuilder>,
    rows: usize,
    written: bool,
    out: BatchedWriter<&'w mut dyn Write>,
}

impl<'w> TextParquet<'w> {
    fn new(names: &[&str], w: &'w mut dyn Write) -> std::io::Result<TextParquet<'w>> {
        let schema: Schema = names
            .iter()
            .map(|n| PlField::new((*n).into(), DataType::String))
            .collect();
        let out = ParquetWriter::new(w)
            .batched(&schema)
            .map_err(std::io::Error::other)?;
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        Ok(TextParquet {
            builders: Self::builders(&names),
            names,
            rows: 0,
            written: false,
            out,
        })
    }

    fn builders(names: &[String]) -> Vec<StringChunkedBuilder> {
        names
            .iter()
            .map(|n| StringChunkedBuilder::new(n.as_str().into(), 0))
            .collect()
    }

    fn push<S: AsRef<str>>(
        &mut self,
        row: impl IntoIterator<Item = Option<S>>,
    ) -> std::io::Result<()> {
        for (b, v) in self.builders.iter_mut().zip(row) {
            b.append_option(v.as_ref().map(AsRef::as_ref));
        }
        self.rows += 1;
        if self.rows == ROW_GROUP_ROWS {
            self.write_group()?;
        }
        Ok(())
    }

    /// Encodes and writes the rows held (also when there are none and nothing was written:
    /// an empty file still has its columns).
    fn write_group(&mut self) -> std::io::Result<()> {
        let builders = std::mem::replace(&mut self.builders, Self::builders(&self.names));
        let cols: Vec<_> = builders
            .into_iter()
            .map(|b| b.finish().into_column())
            .collect();
        let df = DataFrame::new(self.rows, cols).map_err(std::io::Error::other)?;
        self.out.write_batch(&df).map_err(std::io::Error::other)?;
        self.rows = 0;
        self.written = true;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        if self.rows > 0 || !self.written {
            self.write_group()?;
        }
        self.out.finish().map(|_| ()).map_err(std::io::Error::other)
    }
}

fn write_flagged_parquet(
    path: &Path,
    findings: &[Finding],
    incident_of: &[Option<&str>],
) -> Result<(), WriteError> {
    write_atomically_with(path, |w| {
        let mut out = TextParquet::new(&super::findings::FLAGGED_COLUMNS, w)?;
        for row in super::findings::flagged_rows(findings, incident_of) {
            out.push(row)?;
        }
        out.finish()
    })
}

fn write_changes_parquet(
    path: &Path,
    result: &AuditResult,
    redactor: Option<&Redactor>,
) -> Result<(), WriteError> {
    let names = [
        "snapshot_from",
        "snapshot_to",
        "voter_id",
        "field",
        "old_value",
        "new_value",
        "change_kind",
    ];
    write_atomically_with(path, |w| {
        let mut out = TextParquet::new(&names, w)?;
        for (t, d) in result.diffs.iter().enumerate() {
            let (old, new) = (&result.inputs[t], &result.inputs[t + 1]);
            let (from, to) = (
                IsoDate(old.input.date).to_string(),
                IsoDate(new.input.date).to_string(),
            );
            // Rendered a piece at a time, as the diff's own writer does: at 10^7 voters an
            // interval's log is millions of rows.
            for piece in d.log.chunks(super::diff::WRITE_CHUNK) {
                let log = super::diff::render_log(piece, &old.snapshot, &new.snapshot);
                for k in 0..log.voter_id.len() {
                    let personal = Field::from_name(log.field[k])
                        .is_some_and(|f| REDACTED_FIELDS.contains(&f));
                    let redact = redactor.filter(|_| personal);
                    out.push([
                        Some(Cow::Borrowed(from.as_str())),
                        Some(Cow::Borrowed(to.as_str())),
                        Some(Cow::Borrowed(log.voter_id[k])),
                        Some(Cow::Borrowed(log.field[k])),
                        shown(log.old_value[k].as_deref(), redact),
                        shown(log.new_value[k].as_deref(), redact),
                        Some(Cow::Borrowed(log.change_kind[k])),
                    ])?;
                }
            }
        }
        out.finish()
    })
}

/// A change-log value as written: a keyed hash when `redact` is given.
fn shown<'v>(v: Option<&'v str>, redact: Option<&Redactor>) -> Option<Cow<'v, str>> {
    match redact {
        Some(r) => v.map(|v| Cow::Owned(r.token(v))),
        None => v.map(Cow::Borrowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{ParquetReader, SerReader};

    /// More rows than a row group: the file is written in parts, and reads back as the rows
    /// pushed, in order, nulls included.
    #[test]
    fn text_parquet_writes_row_groups_that_read_back_as_the_rows() {
        let rows = 2 * ROW_GROUP_ROWS + 7;
        let value = |i: usize| (!i.is_multiple_of(3)).then(|| format!("v{i}"));
        let mut bytes = Vec::new();
        {
            let mut out = TextParquet::new(&["id", "value"], &mut bytes).unwrap();
            for i in 0..rows {
                out.push([Some(i.to_string()), value(i)]).unwrap();
            }
            out.finish().unwrap();
        }
        let mut reader = ParquetReader::new(std::io::Cursor::new(bytes));
        assert_eq!(reader.get_metadata().unwrap().row_groups.len(), 3);
        let df = reader.finish().unwrap();
        assert_eq!(df.height(), rows);
        let ids = df.column("id").unwrap().str().unwrap().clone();
        let values = df.column("value").unwrap().str().unwrap().clone();
        for i in [0, 1, 2, ROW_GROUP_ROWS - 1, ROW_GROUP_ROWS, rows - 1] {
            assert_eq!(ids.get(i), Some(i.to_string().as_str()));
            assert_eq!(values.get(i).map(str::to_string), value(i));
        }
    }
}
