//! Parquet and Arrow IPC inputs.
//!
//! Two paths. A file that `rollaudit ingest` wrote (canonical columns with their canonical
//! types, plus `_fingerprint` and `_line`) is taken as it is. Any other columnar file goes
//! through the same row conversion as delimited text, with its column names as the header,
//! so a profile maps it and a bad value rejects its row; row numbers (1-based) stand in for
//! line numbers.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::{
    Column, DataFrame, DataType, IpcReader, ParquetReader, PolarsError, PolarsResult, SerReader,
    StringChunked,
};
use rayon::prelude::*;

use super::convert::{BatchConverter, ConvertedBatch, Layout};
use super::delimited::{resolve_layout, LoadedTable};
use super::{InputFormat, LoadError};
use crate::dates::{DateFormat, IsoDate, IsoTimestamp};
use crate::model::{Field, FieldKind, FINGERPRINT_COLUMN, LINE_COLUMN};
use crate::profile::Profile;

/// Rows per conversion task.
const BATCH_ROWS: usize = 16_384;

pub(crate) fn read(
    bytes: Vec<u8>,
    format: InputFormat,
    path: &Path,
    profile: &Profile,
) -> Result<LoadedTable, LoadError> {
    let columnar_err = |source| LoadError::Columnar {
        path: path.to_path_buf(),
        format: format.name(),
        source,
    };
    let df = read_frame(bytes, format).map_err(columnar_err)?;
    if let Some(table) = as_ingested(&df, path)? {
        return Ok(table);
    }
    read_generic(df, path, profile)
}

/// Reads a whole Parquet or Arrow IPC file with polars.
///
/// polars' readers panic on some corrupt files rather than returning an error (polars-parquet
/// 0.55 `expect`s well-formed thrift in the footer: "thrift bool field"; found by the
/// `load_csv` fuzz target, input in `tests/fuzz/regressions/load_csv/`). Such a panic is caught
/// here and reported as what it is, a corrupt file. The reader only fills a frame it owns, so
/// nothing half-updated outlives the panic.
fn read_frame(bytes: Vec<u8>, format: InputFormat) -> PolarsResult<DataFrame> {
    let read = move || match format {
        InputFormat::Parquet => ParquetReader::new(Cursor::new(bytes)).finish(),
        _ => IpcReader::new(Cursor::new(bytes)).finish(),
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(PolarsError::ComputeError(
            format!("the {} reader failed: {why}", format.name()).into(),
        ))
    })
}

/// The file is our own ingest output: canonical columns, canonical types, fingerprints.
fn as_ingested(df: &DataFrame, path: &Path) -> Result<Option<LoadedTable>, LoadError> {
    let mut fields = Vec::new();
    let (mut fingerprints, mut lines) = (None, None);
    for c in df.columns() {
        match c.name().as_str() {
            FINGERPRINT_COLUMN if c.dtype() == &DataType::UInt64 => fingerprints = Some(c),
            LINE_COLUMN if c.dtype() == &DataType::UInt64 => lines = Some(c),
            name => match Field::from_name(name) {
                Some(f) if c.dtype() == &f.dtype() => fields.push((f, c.clone())),
                _ => return Ok(None),
            },
        }
    }
    let (Some(fingerprints), Some(lines)) = (fingerprints, lines) else {
        return Ok(None);
    };
    if fields.windows(2).any(|w| w[0].0 >= w[1].0)
        || !fields.iter().any(|(f, _)| *f == Field::VoterId)
    {
        return Ok(None);
    }
    if fields[0].1.null_count() > 0 {
        return Err(LoadError::ColumnType {
            path: path.to_path_buf(),
            column: "voter_id".into(),
            why: "has missing values in an ingested file".into(),
        });
    }
    let values = |c: &Column| -> Vec<u64> {
        c.u64()
            .expect("dtype checked above")
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect()
    };
    let rows = df.height();
    let layout = Layout {
        sources: fields
            .iter()
            .enumerate()
            .map(|(i, (f, _))| (*f, i))
            .collect(),
        width: fields.len(),
        derive_birth_year: false,
    };
    Ok(Some(LoadedTable {
        batches: vec![ConvertedBatch {
            columns: fields.into_iter().map(|(_, c)| c).collect(),
            fingerprints: values(fingerprints),
            lines: values(lines),
            rejects: Vec::new(),
            ranges: Vec::new(),
        }],
        text: None,
        encoding: "-",
        rows_read: rows as u64,
        layout,
        unmapped: Vec::new(),
    }))
}

/// Any other columnar file: every column rendered as text, then converted row by row.
fn read_generic(df: DataFrame, path: &Path, profile: &Profile) -> Result<LoadedTable, LoadError> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let (layout, unmapped) = resolve_layout(Some(&names), names.len(), profile, path)?;
    // Typed date columns are rendered as ISO text, so their fields must parse as ISO.
    let mut profile = profile.clone();
    let mut texts: Vec<StringChunked> = Vec::with_capacity(names.len());
    for (i, c) in df.columns().iter().enumerate() {
        let (text, iso) = as_text(c).map_err(|why| LoadError::ColumnType {
            path: path.to_path_buf(),
            column: names[i].clone(),
            why,
        })?;
        if let Some(iso) = iso {
            for (field, _) in layout.sources.iter().filter(|(_, s)| *s == i) {
                if matches!(field.kind(), FieldKind::Date | FieldKind::Timestamp) {
                    profile.date_formats.insert(
                        *field,
                        DateFormat::compile(iso).expect("the ISO formats compile"),
                    );
                }
            }
        }
        texts.push(text);
    }
    let rows = df.height();
    let starts: Vec<usize> = (0..rows).step_by(BATCH_ROWS).collect();
    let batches = starts
        .par_iter()
        .map(|&start| {
            let end = (start + BATCH_ROWS).min(rows);
            let mut conv = BatchConverter::new(&profile, &layout, end - start);
            let mut fields: Vec<&[u8]> = Vec::with_capacity(texts.len());
            for row in start..end {
                fields.clear();
                fields.extend(texts.iter().map(|t| t.get(row).unwrap_or("").as_bytes()));
                let line = row as u64 + 1;
                conv.push_row(&fields, line, (0, 0), || {
                    texts
                        .iter()
                        .map(|t| t.get(row).unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join(",")
                });
            }
            conv.finish()
        })
        .collect();
    Ok(LoadedTable {
        batches,
        text: None,
        encoding: "-",
        rows_read: rows as u64,
        layout,
        unmapped,
    })
}

/// A column as text; for typed dates, also the ISO format their text is in.
fn as_text(c: &Column) -> Result<(StringChunked, Option<&'static str>), String> {
    let name = c.name().clone();
    let render = |values: Vec<Option<String>>| {
        let mut ca: StringChunked = values.into_iter().collect();
        ca.rename(name.clone());
        ca.rechunk().into_owned()
    };
    match c.dtype() {
        DataType::Date => {
            let days = c.date().map_err(|e| e.to_string())?.physical().clone();
            let values = days
                .iter()
                .map(|d| d.map(|d| IsoDate(d).to_string()))
                .collect();
            Ok((render(values), Some("%Y-%m-%d")))
        }
        DataType::Datetime(unit, _) => {
            let per_ms = match unit {
                polars::prelude::TimeUnit::Milliseconds => 1,
                polars::prelude::TimeUnit::Microseconds => 1_000,
                polars::prelude::TimeUnit::Nanoseconds => 1_000_000,
            };
            let ts = c.datetime().map_err(|e| e.to_string())?.physical().clone();
            let values = ts
                .iter()
                .map(|t| t.map(|t| IsoTimestamp(t.div_euclid(per_ms)).to_string()))
                .collect();
            Ok((render(values), Some("%Y-%m-%dT%H:%M:%S")))
        }
        _ => {
            let s = c
                .cast(&DataType::String)
                .map_err(|e| format!("cannot be read as text ({e})"))?;
            let ca = s.str().map_err(|e| e.to_string())?.rechunk().into_owned();
            Ok((ca, None))
        }
    }
}
