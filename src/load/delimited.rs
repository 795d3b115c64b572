//! Delimited text (CSV, TSV, any one-byte delimiter) into converted batches.
//!
//! One thread splits the text into records with the `csv` crate (quoted fields may hold
//! delimiters and newlines; `\n`, `\r\n` and `\r` all end a record) and copies them into
//! batches; rayon converts the batches in parallel. The layout is resolved once from the header
//! (or, for headerless files, from the profile's positions and the first row's width).

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use polars::prelude::{Column, DataFrame, IdxCa, IntoColumn, UInt64Chunked};
use rayon::prelude::*;

use super::convert::{BatchConverter, ConvertedBatch, Layout};
use super::{InputFormat, LoadError, LoadReport, Progress, Reject, RejectReason};
use crate::model::{Field, FINGERPRINT_COLUMN, LINE_COLUMN};
use crate::profile::{ColumnRef, Profile};
use crate::snapshot::Snapshot;

/// Rows per batch: large enough to amortise a rayon task, small enough that a few batches in
/// flight stay a few MB.
const BATCH_ROWS: usize = 16_384;

/// Most chunks a loaded text column may keep: a row-index read walks the chunk list, so a
/// column in more pieces than this is glued into one (see `into_snapshot`). The row groups of
/// an ingested 10M-row Parquet file stay under it (its diff classified 10x the rows of the 1M
/// file in 9x the time), while a CSV load's batches (one per 16,384 rows) pass it from about
/// 1M rows.
const MAX_CHUNKS: usize = 64;

/// Records of one batch, copied out of the reader.
struct RecordBatch {
    index: usize,
    /// All fields of all records, back to back.
    data: Vec<u8>,
    /// End offset in `data` of every field.
    ends: Vec<usize>,
    /// Per record: (first field index in `ends`, field count, line, byte start, byte end).
    records: Vec<(usize, usize, u64, usize, usize)>,
}

/// The decoded input and each accepted row's byte range in it.
pub(crate) struct SourceText {
    pub text: Vec<u8>,
    pub ranges: Vec<(usize, usize)>,
}

/// The converted rows of one input, not yet sorted or checked for repeated ids.
pub(crate) struct LoadedTable {
    pub batches: Vec<ConvertedBatch>,
    /// Raw text of accepted rows, for rejecting repeated ids later. `None` for columnar inputs.
    pub text: Option<SourceText>,
    pub encoding: &'static str,
    pub rows_read: u64,
    pub layout: Layout,
    pub unmapped: Vec<String>,
}

pub(crate) fn read(
    text: Vec<u8>,
    encoding: &'static str,
    path: &Path,
    profile: &Profile,
    progress: &dyn Progress,
) -> Result<LoadedTable, LoadError> {
    progress.start(text.len() as u64);
    let io_err = |e: csv::Error| LoadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(profile.delimiter)
        .quote(profile.quote)
        .has_headers(false)
        .flexible(true)
        .from_reader(&text[..]);
    let mut record = csv::ByteRecord::new();
    let (layout, unmapped) = if profile.header {
        if !rdr.read_byte_record(&mut record).map_err(io_err)? {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            });
        }
        let names = record
            .iter()
            .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| LoadError::HeaderEncoding {
                path: path.to_path_buf(),
            })?;
        resolve_layout(Some(&names), names.len(), profile, path)?
    } else {
        // Headerless: the first row's width is the file's width.
        let mut peek = csv::ReaderBuilder::new()
            .delimiter(profile.delimiter)
            .quote(profile.quote)
            .has_headers(false)
            .flexible(true)
            .from_reader(&text[..]);
        let width = if peek.read_byte_record(&mut record).map_err(io_err)? {
            record.len()
        } else {
            0
        };
        resolve_layout(None, width, profile, path)?
    };

    let mut rows_read = 0u64;
    let (tx, rx) = mpsc::sync_channel::<RecordBatch>(4);
    let text_ref = &text[..];
    let layout_ref = &layout;
    let mut batches = std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            rx.into_iter()
                .par_bridge()
                .map(|batch| {
                    (
                        batch.index,
                        convert_batch(&batch, text_ref, layout_ref, profile),
                    )
                })
                .collect::<Vec<_>>()
        });
        let result = (|| {
            let mut batch = new_batch(0);
            let mut reported = 0usize;
            let mut lines = LineCounter::new();
            while rdr.read_byte_record(&mut record).map_err(io_err)? {
                let end = rdr.position().byte() as usize;
                let (start, line) = lines.record_start(text_ref, record.position(), end);
                let first = batch.ends.len();
                let base = batch.data.len();
                batch.data.extend_from_slice(record.as_slice());
                let mut prev = 0;
                for field in record.iter() {
                    prev += field.len();
                    batch.ends.push(base + prev);
                }
                batch.records.push((first, record.len(), line, start, end));
                rows_read += 1;
                if batch.records.len() == BATCH_ROWS {
                    let next = new_batch(batch.index + 1);
                    progress.advance((end - reported) as u64);
                    reported = end;
                    if tx.send(std::mem::replace(&mut batch, next)).is_err() {
                        break;
                    }
                }
            }
            if !batch.records.is_empty() {
                let _ = tx.send(batch);
            }
            progress.advance((text_ref.len() - reported) as u64);
            Ok::<(), LoadError>(())
        })();
        drop(tx);
        let converted = worker.join().expect("conversion workers do not panic");
        result.map(|()| converted)
    })?;
    batches.sort_by_key(|(index, _)| *index);
    let batches: Vec<ConvertedBatch> = batches.into_iter().map(|(_, b)| b).collect();
    let ranges = batches
        .iter()
        .flat_map(|b| b.ranges.iter().copied())
        .collect();
    Ok(LoadedTable {
        batches,
        text: Some(SourceText { text, ranges }),
        encoding,
        rows_read,
        layout,
        unmapped,
    })
}

/// Line numbers of records, counted from the text itself.
///
/// The csv reader's position counts only `\n`, so in a file whose rows end in a bare `\r` (old
/// Mac exports, or one pasted row among `\r\n` rows) every later row would be numbered too
/// low, down to every row of a `\r`-only file on line 1. Rows end at `\n`, `\r\n` and `\r`
/// alike, so lines are counted the same way: from one record's start to the next, quoted line
/// breaks included, as an editor shows them.
struct LineCounter {
    /// Where the previous record started (0 before the first).
    pos: usize,
    /// The line `pos` is on.
    line: u64,
}

impl LineCounter {
    fn new() -> Self {
        LineCounter { pos: 0, line: 1 }
    }

    /// Where a record really starts, and its line. The csv reader's position can point at the
    /// line terminator (or blank lines) before the record; those are skipped.
    fn record_start(
        &mut self,
        text: &[u8],
        pos: Option<&csv::Position>,
        end: usize,
    ) -> (usize, u64) {
        let mut start = pos.map_or(0, |p| p.byte() as usize).max(self.pos);
        while start < end && matches!(text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        // `\r\n` is one break: count every `\n`, and each `\r` not followed by one.
        let breaks = (self.pos..start)
            .filter(|&i| match text[i] {
                b'\n' => true,
                b'\r' => text.get(i + 1) != Some(&b'\n'),
                _ => false,
            })
            .count();
        self.line += breaks as u64;
        self.pos = start;
        (start, self.line)
    }
}

fn new_batch(index: usize) -> RecordBatch {
    RecordBatch {
        index,
        data: Vec::new(),
        ends: Vec::new(),
        records: Vec::with_capacity(BATCH_ROWS),
    }
}

fn convert_batch(
    batch: &RecordBatch,
    text: &[u8],
    layout: &Layout,
    profile: &Profile,
) -> ConvertedBatch {
    let mut conv = BatchConverter::new(profile, layout, batch.records.len());
    let mut fields: Vec<&[u8]> = Vec::with_capacity(layout.width);
    for &(first, count, line, start, end) in &batch.records {
        fields.clear();
        let mut from = if first == 0 { 0 } else { batch.ends[first - 1] };
        for &to in &batch.ends[first..first + count] {
            fields.push(&batch.data[from..to]);
            from = to;
        }
        conv.push_row(&fields, line, (start, end), || raw_text(text, start, end));
    }
    conv.finish()
}

fn raw_text(text: &[u8], start: usize, end: usize) -> String {
    let bytes = &text[start.min(text.len())..end.min(text.len())];
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\r', '\n'])
        .to_string()
}

/// Resolves which source column feeds each canonical field. `header` is `None` for headerless
/// files, whose profile must give positions.
pub(crate) fn resolve_layout(
    header: Option<&[String]>,
    width: usize,
    profile: &Profile,
    path: &Path,
) -> Result<(Layout, Vec<String>), LoadError> {
    let position_of = |name: &str| -> Result<Option<usize>, LoadError> {
        let Some(header) = header else {
            return Ok(None);
        };
        let mut hits = header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.eq_ignore_ascii_case(name))
            .map(|(i, _)| i);
        match (hits.next(), hits.next()) {
            (Some(first), Some(second)) => Err(LoadError::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.to_string(),
                first: first + 1,
                second: second + 1,
            }),
            (first, _) => Ok(first),
        }
    };
    let mut sources = Vec::new();
    if profile.columns.is_empty() {
        for field in Field::ALL {
            if let Some(i) = position_of(field.name())? {
                sources.push((field, i));
            }
        }
    } else {
        for (&field, column) in &profile.columns {
            let found = match column {
                ColumnRef::Names(names) => {
                    let mut found = None;
                    for name in names {
                        if let Some(i) = position_of(name)? {
                            found = Some(i);
                            break;
                        }
                    }
                    found
                }
                ColumnRef::Position(p) => (*p <= width).then(|| p - 1),
            };
            match found {
                Some(i) => sources.push((field, i)),
                None if field == Field::VoterId => {}
                None if matches!(column, ColumnRef::Position(_)) => {
                    return Err(LoadError::MissingColumn {
                        path: path.to_path_buf(),
                        field: field.name(),
                        column: format!("{column}, but rows have {width} columns"),
                    })
                }
                None => {}
            }
        }
    }
    if !sources.iter().any(|(f, _)| *f == Field::VoterId) {
        let column = profile
            .columns
            .get(&Field::VoterId)
            .map_or_else(|| "voter_id".to_string(), ToString::to_string);
        return Err(LoadError::MissingColumn {
            path: path.to_path_buf(),
            field: "voter_id",
            column,
        });
    }
    sources.sort();
    let has = |f: Field| sources.iter().any(|(g, _)| *g == f);
    let derive_birth_year = !has(Field::BirthYear) && has(Field::BirthDate);
    let unmapped = header
        .map(|h| {
            h.iter()
                .enumerate()
                .filter(|(i, _)| !sources.iter().any(|(_, s)| s == i))
                .map(|(_, name)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    Ok((
        Layout {
            sources,
            width,
            derive_birth_year,
        },
        unmapped,
    ))
}

impl LoadedTable {
    /// Concatenates the batches, sorts by `voter_id`, rejects repeated ids (every occurrence
    /// after the first in source order) and accounts for every row.
    pub fn into_snapshot(
        self,
        path: &Path,
        format: InputFormat,
        gzipped: bool,
    ) -> Result<(Snapshot, LoadReport), LoadError> {
        let fields = self.layout.fields();
        let mut rejects: Vec<Reject> = Vec::new();
        let mut frames = Vec::with_capacity(self.batches.len());
        for batch in self.batches {
            rejects.extend(batch.rejects);
            let height = batch.fingerprints.len();
            let mut columns = batch.columns;
            columns.push(
                UInt64Chunked::from_vec(FINGERPRINT_COLUMN.into(), batch.fingerprints)
                    .into_column(),
            );
            columns.push(UInt64Chunked::from_vec(LINE_COLUMN.into(), batch.lines).into_column());
            frames.push(DataFrame::new(height, columns).map_err(|e| internal(path, e))?);
        }
        let mut df = match frames.len() {
            0 => empty_frame(&fields, path)?,
            _ => {
                let mut iter = frames.into_iter();
                let mut df = iter.next().expect("at least one frame");
                for other in iter {
                    df.vstack_mut_owned(other).map_err(|e| internal(path, e))?;
                }
                df
            }
        };

        let order = {
            let ids = df
                .column(Field::VoterId.name())
                .and_then(|c| c.str().cloned())
                .map_err(|e| internal(path, e))?;
            let lines = line_values(&df, path)?;
            let mut keyed: Vec<(&str, u32)> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.unwrap_or(""), i as u32))
                .collect();
            keyed.par_sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
            let mut keep = Vec::with_capacity(keyed.len());
            let mut first_of_run = 0usize;
            for (k, &(id, row)) in keyed.iter().enumerate() {
                if k > 0 && keyed[k - 1].0 == id {
                    let first_row = keyed[first_of_run].1 as usize;
                    let row = row as usize;
                    rejects.push(Reject {
                        line: lines[row],
                        reason: RejectReason::DuplicateVoterId {
                            first_line: lines[first_row],
                        },
                        raw: match &self.text {
                            Some(src) => {
                                let (s, e) = src.ranges[row];
                                raw_text(&src.text, s, e)
                            }
                            None => format!("voter_id {id}"),
                        },
                    });
                } else {
                    first_of_run = k;
                    keep.push(row);
                }
            }
            keep
        };
        let sorted_already = order.len() == df.height() && order.windows(2).all(|w| w[0] < w[1]);
        if !sorted_already {
            let idx = IdxCa::from_vec("idx".into(), order);
            df = df.take(&idx).map_err(|e| internal(path, e))?;
        }
        // Text columns are read by row index, which polars resolves by walking the list of
        // chunks: free for a Parquet file's few row groups, but a CSV load has one chunk per
        // batch (610 at 10M rows), which made the 10M diff's classification 50x slower than at
        // 1M. Gluing copies every string (a third of the load time of an ingested Parquet
        // file), so only frames with a column of more than MAX_CHUNKS pieces are glued (the
        // fingerprint and line columns are made contiguous by `Snapshot::new` in any case).
        if df.columns().iter().any(|c| c.n_chunks() > MAX_CHUNKS) {
            // One column at a time: the old chunks of each go before the next is copied.
            df.rechunk_mut();
        }
        rejects.sort_by_key(|r| r.line);

        let rows_loaded = df.height() as u64;
        let report = LoadReport {
            source: path.to_path_buf(),
            format,
            gzipped,
            encoding: self.encoding,
            rows_read: self.rows_read,
            rows_loaded,
            rows_rejected: rejects.len() as u64,
            rejects,
            missing_fields: Field::ALL
                .into_iter()
                .filter(|f| !fields.contains(f))
                .collect(),
            unmapped_columns: self.unmapped,
        };
        Ok((Snapshot::new(df, fields), report))
    }
}

fn line_values(df: &DataFrame, path: &Path) -> Result<Vec<u64>, LoadError> {
    let ca = df
        .column(LINE_COLUMN)
        .and_then(|c| c.u64().cloned())
        .map_err(|e| internal(path, e))?;
    Ok(ca.into_no_null_iter().collect())
}

fn empty_frame(fields: &[Field], path: &Path) -> Result<DataFrame, LoadError> {
    let mut columns: Vec<Column> = fields
        .iter()
        .map(|f| Column::new_empty(f.name().into(), &f.dtype()))
        .collect();
    columns.push(UInt64Chunked::from_vec(FINGERPRINT_COLUMN.into(), Vec::new()).into_column());
    columns.push(UInt64Chunked::from_vec(LINE_COLUMN.into(), Vec::new()).into_column());
    DataFrame::new(0, columns).map_err(|e| internal(path, e))
}

/// A polars error on frames we built ourselves: a bug, but still reported, never a panic.
fn internal(path: &Path, source: polars::prelude::PolarsError) -> LoadError {
    LoadError::Columnar {
        path: PathBuf::from(path),
        format: "internal",
        source,
    }
}
