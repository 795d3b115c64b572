//! The converted rows of one input, whatever its format, made into a snapshot: batches
//! concatenated, rows sorted by `voter_id`, every repeated id after the first rejected with
//! the line of the first, and every row accounted for in the [`LoadReport`].

use std::path::{Path, PathBuf};

use polars::prelude::{Column, DataFrame, IdxCa, IntoColumn, StringChunked, UInt64Chunked};
use rayon::prelude::*;

use super::convert::{ConvertedBatch, Layout};
use super::{InputFormat, LoadError, LoadReport, Reject, RejectReason};
use crate::model::{Field, FINGERPRINT_COLUMN, LINE_COLUMN};
use crate::snapshot::{values_at, Snapshot};

/// Most chunks a loaded text column may keep: a row-index read walks the chunk list, so a
/// column in more pieces than this is glued into one (see `into_snapshot`). The row groups of
/// an ingested 10M-row Parquet file stay under it (its diff classified 10x the rows of the 1M
/// file in 9x the time), while a CSV load's batches (one per 16,384 rows) pass it from about
/// 1M rows.
const MAX_CHUNKS: usize = 64;

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
            // An ingested file's ids arrive in order, unique (its reader checks them): nothing
            // to sort or reject.
            if strictly_increasing(&ids) {
                (0..df.height() as u32).collect()
            } else {
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
            }
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
            // Every column, one at a time (`glue_columns`): with polars' `rechunk_mut`, a
            // 10,000,000-voter snapshot of 2.1 GB peaked at 4.4 GB while it loaded; now 2.9 GB.
            crate::snapshot::glue_columns(&mut df, |_| true).map_err(|e| internal(path, e))?;
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
            approximate_fields: match self.layout.age_on {
                Some(_) => vec![Field::BirthYear],
                None => Vec::new(),
            },
        };
        Ok((Snapshot::new(df, fields), report))
    }
}

/// `batches` (the rows of one piece of text, in order) as one batch whose columns are each one
/// chunk, or `None` when there are none. A streamed load glues each piece on a thread of its
/// own while the next piece converts ([`super::streamed`]): the snapshot then has one chunk a
/// piece, under [`MAX_CHUNKS`], instead of one a batch, which `into_snapshot` glued whole on
/// one core at the end (2 to 3 s of a 10,000,000-row load, perf).
pub(super) fn one_batch(
    mut batches: Vec<ConvertedBatch>,
) -> Result<Option<ConvertedBatch>, polars::prelude::PolarsError> {
    let Some(width) = batches.first().map(|b| b.columns.len()) else {
        return Ok(None);
    };
    // A column at a time, last first, its parts taken out of the batches: only one column is
    // ever held twice (a piece can be the whole file).
    let mut columns = Vec::with_capacity(width);
    for _ in 0..width {
        let mut parts = batches.iter_mut().map(|b| {
            b.columns
                .pop()
                .expect("a layout's batches have the same columns")
        });
        let mut column = parts.next().expect("one batch at least");
        for part in parts {
            column.append(&part)?;
        }
        columns.push(column.rechunk());
        // As `glue_columns` does: glibc would keep the freed parts' pages.
        crate::snapshot::release_freed_memory();
    }
    columns.reverse();
    let mut batches = batches.into_iter();
    let mut one = batches.next().expect("one batch at least");
    one.columns = columns;
    for batch in batches {
        one.fingerprints.extend(batch.fingerprints);
        one.lines.extend(batch.lines);
        one.rejects.extend(batch.rejects);
        one.ranges.extend(batch.ranges);
    }
    Ok(Some(one))
}

/// Whether every id is greater than the one before it (missing as empty), checked in blocks
/// on every core; each block starts at the last row of the block before.
fn strictly_increasing(ids: &StringChunked) -> bool {
    const BLOCK: usize = 1 << 16;
    let n = ids.len();
    (0..n.div_ceil(BLOCK)).into_par_iter().all(|b| {
        let rows = (b * BLOCK).saturating_sub(1)..((b + 1) * BLOCK).min(n);
        let mut values = values_at(ids, rows).map(|v| v.unwrap_or(""));
        let mut previous = values.next();
        values.all(|id| {
            let increasing = previous < Some(id);
            previous = Some(id);
            increasing
        })
    })
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
pub(super) fn internal(path: &Path, source: polars::prelude::PolarsError) -> LoadError {
    LoadError::Columnar {
        path: PathBuf::from(path),
        format: "internal",
        source,
    }
}

pub(super) fn raw_text(text: &[u8], start: usize, end: usize) -> String {
    let bytes = &text[start.min(text.len())..end.min(text.len())];
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\r', '\n'])
        .to_string()
}
