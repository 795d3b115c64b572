//! The diff's artefacts: the change log (Parquet and CSV), the summary by area, and
//! `diff.json`.
//!
//! # Format
//! `changes.parquet` / `changes.csv`, one row per changed field of a record:
//!
//! | column | meaning |
//! |---|---|
//! | `voter_id` | the record (NEW's id; OLD's for a dropped record) |
//! | `field` | canonical field name |
//! | `old_value` | value in OLD, in canonical text form (ISO dates); empty/null if missing |
//! | `new_value` | value in NEW; empty/null if missing |
//! | `change_kind` | see the taxonomy in `rollaudit::diff` |
//!
//! A new record has one row per non-missing field (`old_value` null); a dropped record has one
//! row, `field = voter_id`, `new_value` null. Applying the rows to OLD, in order, gives NEW
//! exactly: set `field` to `new_value`, create the record on its first row, delete it on a
//! `voter_id` row whose `new_value` is null. In the CSV (for people), values that a
//! spreadsheet would run as a formula are prefixed with `'`; the Parquet file holds them as
//! they are.
//!
//! `summary.csv`: `change_kind, district, precinct, records`: changed records per kind and
//! area (NEW's area, OLD's for a dropped record); a record counts once per kind.
//!
//! `diff.json` (`schema_version` 1):
//! ```json
//! {"schema_version": 1, "identical": false,
//!  "old": {"digest": "…", "rows": 20000}, "new": {"digest": "…", "rows": 20410},
//!  "counts": {"added": 700, "removed": 290, "modified": 1500, "unchanged": 18210},
//!  "schema_drift": {"only_old": [], "only_new": ["email"]},
//!  "compared_fields": ["voter_id", "given_name", "…"],
//!  "change_kinds": {"removal": 310, "…": 0},
//!  "removal_reasons": {"deceased": 120, "(dropped from the export)": 5}}
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::{
    DataFrame, DataType, IntoColumn, ParquetWriter, Schema, StringChunkedBuilder,
};
use serde_json::json;

use super::{safe_cell, write_atomically, write_csv, WriteError};
use rayon::prelude::*;

use crate::diff::{Change, ChangeKind, DiffResult};
use crate::model::Field;
use crate::snapshot::{FieldColumn, Snapshot};

/// The change log rendered as text columns (in log order). Text values are borrowed from the
/// snapshots; only dates and timestamps are formatted into new strings (at 10M rows the log
/// holds about 20M values, and one allocation each was most of the time spent writing it).
pub struct RenderedLog<'a> {
    pub voter_id: Vec<&'a str>,
    pub field: Vec<&'static str>,
    pub old_value: Vec<Option<Cow<'a, str>>>,
    pub new_value: Vec<Option<Cow<'a, str>>>,
    pub change_kind: Vec<&'static str>,
}

/// Reads the values of the change log out of the two snapshots, in parallel chunks (the
/// output keeps log order).
pub fn render_log<'a>(log: &[Change], old: &'a Snapshot, new: &'a Snapshot) -> RenderedLog<'a> {
    let (old_columns, new_columns) = (old.columns(), new.columns());
    let (old_ids, new_ids) = (old.voter_ids(), new.voter_ids());
    let value = |columns: &[Option<FieldColumn<'a>>], field: Field, row: Option<u32>| {
        columns[field.index()].as_ref()?.text(row? as usize)
    };
    let render = |chunk: &[Change]| {
        let mut out = RenderedLog::with_capacity(chunk.len());
        for c in chunk {
            let id = match c.new_row {
                Some(j) => new_ids.get(j as usize),
                None => c.old_row.and_then(|i| old_ids.get(i as usize)),
            };
            out.voter_id.push(id.unwrap_or_default());
            out.field.push(c.field.name());
            out.old_value.push(value(&old_columns, c.field, c.old_row));
            out.new_value
                .push(if c.field == Field::VoterId && c.new_row.is_none() {
                    None
                } else {
                    value(&new_columns, c.field, c.new_row)
                });
            out.change_kind.push(c.kind.name());
        }
        out
    };
    let parts: Vec<RenderedLog> = log.par_chunks(RENDER_CHUNK).map(render).collect();
    let mut out = RenderedLog::with_capacity(log.len());
    for mut p in parts {
        out.voter_id.append(&mut p.voter_id);
        out.field.append(&mut p.field);
        out.old_value.append(&mut p.old_value);
        out.new_value.append(&mut p.new_value);
        out.change_kind.append(&mut p.change_kind);
    }
    out
}

/// Change-log rows rendered per parallel task.
const RENDER_CHUNK: usize = 64 * 1024;

impl RenderedLog<'_> {
    fn with_capacity(n: usize) -> Self {
        RenderedLog {
            voter_id: Vec::with_capacity(n),
            field: Vec::with_capacity(n),
            old_value: Vec::with_capacity(n),
            new_value: Vec::with_capacity(n),
            change_kind: Vec::with_capacity(n),
        }
    }
}

fn io(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> WriteError {
    WriteError {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

/// Writes `changes.parquet`, `changes.csv`, `summary.csv` and `diff.json` into `dir`;
/// returns what [`DiffWriter::finish`] does.
pub fn write_diff(
    dir: &Path,
    result: &DiffResult,
    old: &Snapshot,
    new: &Snapshot,
) -> Result<DiffTotals, WriteError> {
    let mut writer = DiffWriter::create(dir)?;
    writer.append(result, old, new)?;
    writer.finish()
}

/// Writes a diff's artefacts from its parts: the whole diff, or the windows of a streamed diff
/// (`diff::stream`) in `voter_id` order. The change log is written as each part comes; the
/// summary, the counts and `diff.json` add up over the parts and are written by
/// [`finish`](DiffWriter::finish). Files go to temporary names, renamed into place at the end:
/// a run that stops early leaves none of them half written.
pub struct DiffWriter {
    dir: PathBuf,
    parquet: BatchedWriter<File>,
    csv: csv::Writer<BufWriter<File>>,
    /// (temporary, final) names of the two log files.
    files: [(PathBuf, PathBuf); 2],
    done: bool,
    summary: BTreeMap<(ChangeKind, String, String), u64>,
    reasons: BTreeMap<String, u64>,
    kinds: BTreeMap<ChangeKind, u64>,
    /// The totals so far, in a result without log or records.
    totals: Option<DiffResult>,
}

/// Change-log rows rendered and written at a time: about 110 MB of rendered rows and as much
/// again in the Parquet batch, however many rows a part's log has (a million new records
/// make twenty million rows).
pub(crate) const WRITE_CHUNK: usize = 1 << 20;

const LOG_COLUMNS: [&str; 5] = ["voter_id", "field", "old_value", "new_value", "change_kind"];

impl DiffWriter {
    pub fn create(dir: &Path) -> Result<DiffWriter, WriteError> {
        std::fs::create_dir_all(dir).map_err(|source| WriteError {
            path: dir.to_path_buf(),
            source,
        })?;
        let files = ["changes.parquet", "changes.csv"].map(|name| {
            let path = dir.join(name);
            (super::temp_name(&path), path)
        });
        let open = |(tmp, path): &(PathBuf, PathBuf)| {
            super::create_private(tmp).map_err(|source| WriteError {
                path: path.clone(),
                source,
            })
        };
        let schema: Schema = LOG_COLUMNS
            .iter()
            .map(|name| polars::prelude::Field::new((*name).into(), DataType::String))
            .collect();
        let parquet = ParquetWriter::new(open(&files[0])?)
            .batched(&schema)
            .map_err(|e| io(&files[0].1, e))?;
        let mut csv = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, open(&files[1])?));
        csv.write_record(LOG_COLUMNS)
            .map_err(|e| io(&files[1].1, e))?;
        Ok(DiffWriter {
            dir: dir.to_path_buf(),
            parquet,
            csv,
            files,
            done: false,
            summary: BTreeMap::new(),
            reasons: BTreeMap::new(),
            kinds: BTreeMap::new(),
            totals: None,
        })
    }

    /// Writes one part's change log and adds up its counts.
    pub fn append(
        &mut self,
        result: &DiffResult,
        old: &Snapshot,
        new: &Snapshot,
    ) -> Result<(), WriteError> {
        // A piece at a time: the log of a window of new registrations has a row per field.
        for piece in result.log.chunks(WRITE_CHUNK) {
            let log = render_log(piece, old, new);
            // The two encodings of the log are independent: one core each.
            let (parquet, csv) = rayon::join(
                || write_log_parquet(&mut self.parquet, &self.files[0].1, &log),
                || write_log_csv(&mut self.csv, &self.files[1].1, &log),
            );
            parquet?;
            csv?;
        }
        for (key, n) in summary(result, old, new) {
            *self.summary.entry(key).or_insert(0) += n;
        }
        for (reason, n) in removal_reasons(result, new) {
            *self.reasons.entry(reason).or_insert(0) += n;
        }
        for (kind, n) in result.kind_counts() {
            *self.kinds.entry(kind).or_insert(0) += n;
        }
        let part = result.totals();
        self.totals = Some(match self.totals.take() {
            None => part,
            Some(t) => t.plus(part),
        });
        Ok(())
    }

    /// Writes the summary and `diff.json`, and moves the log files into place; returns the
    /// totals (a result without log or records) and the records per change kind.
    pub fn finish(mut self) -> Result<DiffTotals, WriteError> {
        let dir = self.dir.clone();
        self.parquet.finish().map_err(|e| io(&self.files[0].1, e))?;
        self.csv.flush().map_err(|source| WriteError {
            path: self.files[1].1.clone(),
            source,
        })?;
        for (tmp, path) in &self.files {
            std::fs::rename(tmp, path).map_err(|source| WriteError {
                path: path.clone(),
                source,
            })?;
        }
        self.done = true;
        write_summary_csv(&dir.join("summary.csv"), &self.summary)?;
        let totals = self.totals.take().unwrap_or_default();
        let json = serde_json::to_vec_pretty(&diff_json(
            &totals,
            &self.kinds,
            &self.reasons,
            self.summary.len(),
        ))
        .map_err(|e| io(&dir.join("diff.json"), e))?;
        write_atomically(&dir.join("diff.json"), &json)?;
        Ok((totals, std::mem::take(&mut self.kinds)))
    }
}

/// A whole diff's totals (a result without log or records) and its records per change kind.
pub type DiffTotals = (DiffResult, BTreeMap<ChangeKind, u64>);

impl Drop for DiffWriter {
    fn drop(&mut self) {
        if !self.done {
            for (tmp, _) in &self.files {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

fn write_log_parquet(
    writer: &mut BatchedWriter<File>,
    path: &Path,
    log: &RenderedLog,
) -> Result<(), WriteError> {
    let n = log.voter_id.len();
    let text_column = |name: &str, values: &mut dyn Iterator<Item = Option<&str>>| {
        let mut b = StringChunkedBuilder::new(name.into(), n);
        for v in values {
            b.append_option(v);
        }
        b.finish().into_column()
    };
    let columns = vec![
        text_column("voter_id", &mut log.voter_id.iter().map(|s| Some(*s))),
        text_column("field", &mut log.field.iter().map(|s| Some(*s))),
        text_column("old_value", &mut log.old_value.iter().map(|s| s.as_deref())),
        text_column("new_value", &mut log.new_value.iter().map(|s| s.as_deref())),
        text_column("change_kind", &mut log.change_kind.iter().map(|s| Some(*s))),
    ];
    let df = DataFrame::new(n, columns).map_err(|e| io(path, e))?;
    writer.write_batch(&df).map_err(|e| io(path, e))
}

fn write_log_csv(
    w: &mut csv::Writer<BufWriter<File>>,
    path: &Path,
    log: &RenderedLog,
) -> Result<(), WriteError> {
    for k in 0..log.voter_id.len() {
        w.write_record([
            safe_cell(log.voter_id[k]).as_ref(),
            log.field[k],
            &safe_cell(log.old_value[k].as_deref().unwrap_or("")),
            &safe_cell(log.new_value[k].as_deref().unwrap_or("")),
            log.change_kind[k],
        ])
        .map_err(|e| io(path, e))?;
    }
    Ok(())
}

/// Changed records per (kind, district, precinct).
pub fn summary(
    result: &DiffResult,
    old: &Snapshot,
    new: &Snapshot,
) -> BTreeMap<(ChangeKind, String, String), u64> {
    let (old_columns, new_columns) = (old.columns(), new.columns());
    let area = |columns: &[Option<FieldColumn<'_>>], row: u32, f: Field| -> String {
        columns[f.index()]
            .as_ref()
            .and_then(|c| c.text(row as usize))
            .map(|v| v.into_owned())
            .unwrap_or_default()
    };
    let mut counts = BTreeMap::new();
    for r in &result.records {
        let (columns, row) = match (r.new_row, r.old_row) {
            (Some(j), _) => (&new_columns, j),
            (None, Some(i)) => (&old_columns, i),
            (None, None) => continue,
        };
        let district = area(columns, row, Field::District);
        let precinct = area(columns, row, Field::Precinct);
        for k in &r.kinds {
            *counts
                .entry((*k, district.clone(), precinct.clone()))
                .or_insert(0) += 1;
        }
    }
    counts
}

fn write_summary_csv(
    path: &Path,
    summary: &BTreeMap<(ChangeKind, String, String), u64>,
) -> Result<(), WriteError> {
    write_csv(path, |w| {
        w.write_record(["change_kind", "district", "precinct", "records"])?;
        for ((kind, district, precinct), n) in summary {
            w.write_record([
                kind.name(),
                &safe_cell(district),
                &safe_cell(precinct),
                &n.to_string(),
            ])?;
        }
        Ok(())
    })
}

/// Removals by `status_reason` in NEW (dropped records have none).
pub fn removal_reasons(result: &DiffResult, new: &Snapshot) -> BTreeMap<String, u64> {
    let reasons = new.column(Field::StatusReason);
    let mut out = BTreeMap::new();
    for r in result
        .records
        .iter()
        .filter(|r| r.kinds.contains(&ChangeKind::Removal))
    {
        let reason = match (r.new_row, reasons) {
            (Some(j), Some(c)) => c
                .text(j as usize)
                .map_or_else(|| "(no reason given)".to_string(), |v| v.into_owned()),
            (Some(_), None) => "(no status_reason field)".to_string(),
            (None, _) => "(dropped from the export)".to_string(),
        };
        *out.entry(reason).or_insert(0) += 1;
    }
    out
}

fn diff_json(
    totals: &DiffResult,
    kinds: &BTreeMap<ChangeKind, u64>,
    reasons: &BTreeMap<String, u64>,
    summary_rows: usize,
) -> serde_json::Value {
    let names = |fields: &[Field]| fields.iter().map(|f| f.name()).collect::<Vec<_>>();
    let kinds: BTreeMap<&str, u64> = kinds.iter().map(|(k, n)| (k.name(), *n)).collect();
    let c = &totals.counts;
    json!({
        "schema_version": 1,
        "identical": totals.identical,
        "old": {"digest": totals.old_digest.to_string(), "rows": c.old_rows},
        "new": {"digest": totals.new_digest.to_string(), "rows": c.new_rows},
        "counts": {"added": c.added, "removed": c.removed, "modified": c.modified, "unchanged": c.unchanged},
        "schema_drift": {"only_old": names(&totals.drift.only_old), "only_new": names(&totals.drift.only_new)},
        "compared_fields": names(&totals.compared),
        "change_kinds": kinds,
        "removal_reasons": reasons,
        "summary_rows": summary_rows,
    })
}
