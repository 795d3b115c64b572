//! Ingested Parquet files written and read a piece at a time, for registers larger than memory.
//!
//! An ingested file (what `rollaudit ingest` writes) holds the canonical columns, the
//! fingerprint and the source line of every row, sorted by `voter_id` with unique ids. Two such
//! files can be diffed by merging them in `voter_id` order without holding either in memory
//! (`diff::stream`):
//!
//! - [`IngestedReader`] reads one row group at a time. Each group is checked before polars
//!   reads it (its footer figures and page headers, as a whole-file load checks them), and its
//!   rows after: no missing `voter_id`, ids strictly increasing across the whole file. A file
//!   that breaks the order is refused at the first row out of place, since a merge over it
//!   would silently pair the wrong records.
//! - [`IngestedWriter`] writes one from canonical CSV text handed over in pieces, each
//!   converted by the loader (one code path defines the types), which is how `rollaudit
//!   generate` writes a 10^8-row snapshot as Parquet without its whole text in memory.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::io::parquet::metadata::FileMetadataRef;
use polars::io::parquet::write::BatchedWriter;
use polars::prelude::{
    DataFrame, IntoColumn, IpcWriter, ParquetCompression, ParquetReader, ParquetWriter,
    PolarsResult, SerReader, SerWriter, StringChunked,
};
use rayon::prelude::*;

use super::columnar::{as_ingested, catch_reader_panic, check_row_groups, is_read};
use super::memory::Limits;
use super::source::PARQUET_MAGIC;
use super::{load_bytes, InputFormat, LoadError, LoadReport, Loaded, NoProgress};
use crate::model::{Field, FINGERPRINT_COLUMN, LINE_COLUMN};
use crate::profile::Profile;
use crate::snapshot::{compact_frame, Snapshot};

/// Columns of a row group decoded at once. polars decodes a text column into 16-byte views
/// plus its bytes before an audit codes it ([`compact_frame`]): a group of 1,048,576 rows
/// (`generate`'s) held about 0.9 GB of such columns when its 28 were read together, beside
/// the snapshot an audit holds; four at a time hold about a seventh of that, and a column
/// is still decoded once.
const COLUMNS_AT_ONCE: usize = 4;

/// Reads an ingested Parquet file one row group at a time, in file order.
pub struct IngestedReader {
    path: PathBuf,
    file_size: u64,
    metadata: FileMetadataRef,
    fields: Vec<Field>,
    /// The next row group to read, and its first row.
    next: usize,
    offset: usize,
    /// The last `voter_id` read, which the next must exceed.
    last_id: Option<String>,
    limits: Limits,
    /// Columns to read (all when `None`).
    columns: Option<Vec<String>>,
}

impl IngestedReader {
    /// Opens `path` and checks that it is an ingested file (from its schema; the rows are
    /// checked as they are read).
    pub fn open(path: &Path) -> Result<IngestedReader, LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let not_ingested = || LoadError::NotIngested {
            path: path.to_path_buf(),
        };
        let magic = read_at(path, 0, PARQUET_MAGIC.len() as u64)?;
        if magic != PARQUET_MAGIC {
            return Err(not_ingested());
        }
        let file = File::open(path).map_err(io)?;
        let file_size = file.metadata().map_err(io)?.len();
        let metadata = catch_reader_panic(InputFormat::Parquet, path, || {
            let metadata = ParquetReader::new(file)
                .get_metadata()
                .map_err(|source| LoadError::Columnar {
                    path: path.to_path_buf(),
                    format: "Parquet",
                    source,
                })?
                .clone();
            Ok(metadata)
        })?;
        let mut reader = IngestedReader {
            path: path.to_path_buf(),
            file_size,
            metadata,
            fields: Vec::new(),
            next: 0,
            offset: 0,
            last_id: None,
            limits: Limits::of_machine(),
            columns: None,
        };
        // The schema, from a read of no rows.
        let empty = reader.read_rows(0, 0)?;
        let table = as_ingested(&empty, path)?.ok_or_else(not_ingested)?;
        reader.fields = table.layout.fields();
        Ok(reader)
    }

    /// The canonical fields the file has (of those [`project`] kept).
    ///
    /// [`project`]: IngestedReader::project
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Reads only these fields (those the file has) from now on, with the fingerprint and
    /// line columns.
    pub fn project(&mut self, only: &[Field]) {
        self.fields.retain(|f| only.contains(f));
        let mut columns: Vec<String> = self.fields.iter().map(|f| f.name().to_string()).collect();
        columns.extend([FINGERPRINT_COLUMN.to_string(), LINE_COLUMN.to_string()]);
        self.columns = Some(columns);
    }

    /// No rows, with the columns a group would have.
    pub fn empty(&self) -> Result<DataFrame, LoadError> {
        self.read_rows(0, 0)
    }

    /// A polars error on frames built from this file's groups.
    pub fn internal(&self, source: polars::prelude::PolarsError) -> LoadError {
        LoadError::Columnar {
            path: self.path.clone(),
            format: "Parquet",
            source,
        }
    }

    /// Rows the file declares.
    pub fn rows(&self) -> u64 {
        self.metadata.num_rows as u64
    }

    /// The next row group (canonical columns, `_fingerprint`, `_line`), or `None` after the
    /// last.
    pub fn next_group(&mut self) -> Result<Option<DataFrame>, LoadError> {
        if self.next == self.metadata.row_groups.len() {
            return Ok(None);
        }
        let df = self.group(self.next, self.offset, &|_| {})?;
        self.accept(&df)?;
        Ok(Some(df))
    }

    /// The next row groups, at least one and as many as hold `rows` (all that are left, if
    /// fewer), each read on a core of its own and given to `each` a few columns at a time
    /// ([`COLUMNS_AT_ONCE`]), then checked in file order
    /// as [`next_group`] checks them (the error reported is the one a read in order meets
    /// first). Empty after the last group.
    ///
    /// [`next_group`]: IngestedReader::next_group
    pub fn next_groups(
        &mut self,
        rows: usize,
        each: impl Fn(&mut DataFrame) + Sync,
    ) -> Result<Vec<DataFrame>, LoadError> {
        let mut wanted = Vec::new();
        let (mut index, mut offset) = (self.next, self.offset);
        let end = self.offset.saturating_add(rows);
        while index < self.metadata.row_groups.len() && (wanted.is_empty() || offset < end) {
            wanted.push((index, offset));
            offset += self.metadata.row_groups[index].num_rows();
            index += 1;
        }
        let groups: Vec<Result<DataFrame, LoadError>> = wanted
            .par_iter()
            .map(|&(index, offset)| self.group(index, offset, &each))
            .collect();
        groups
            .into_iter()
            .map(|group| {
                let group = group?;
                self.accept(&group)?;
                Ok(group)
            })
            .collect()
    }

    /// Row group `index`, whose first row is `offset`, checked on its own: its byte ranges
    /// and page headers before polars reads it. The order of its ids, which depends on the
    /// groups before it, is [`accept`]'s to check. Groups can be read in any order, and on
    /// any thread.
    ///
    /// The group is read [`COLUMNS_AT_ONCE`] columns at a time, each part given to `each`
    /// (which codes it, for an audit) before the next is read, and the parts are joined in
    /// the columns' order: the frame is the one a read of every column at once gives.
    ///
    /// [`accept`]: IngestedReader::accept
    fn group(
        &self,
        index: usize,
        offset: usize,
        each: &(dyn Fn(&mut DataFrame) + Sync),
    ) -> Result<DataFrame, LoadError> {
        let group = &self.metadata.row_groups[index];
        let malformed = |why| LoadError::Malformed {
            path: self.path.clone(),
            format: "Parquet",
            why,
        };
        // Only the chunks polars will read are read and checked (a projected load of four
        // columns reads a fifth of the file), each into its place in a zeroed buffer the
        // size of the group: pages of the chunks left out are never touched.
        let only = self.columns.as_deref();
        let ranges: Vec<_> = group
            .parquet_columns()
            .iter()
            .filter(|c| {
                let root = c.descriptor().path_in_schema.first();
                is_read(root.map(|r| r.as_str()), only)
            })
            .map(|c| c.byte_range())
            .collect();
        let start = ranges.iter().map(|r| r.start).min().unwrap_or(0);
        let end = ranges.iter().map(|r| r.end).max().unwrap_or(0);
        if end > self.file_size || start > end {
            return Err(malformed(format!(
                "row group {} extends beyond the end of the file (truncated?)",
                index + 1
            )));
        }
        let bytes = read_ranges(&self.path, start..end, &ranges)?;
        check_row_groups(
            &self.metadata,
            index..index + 1,
            only,
            &bytes,
            start,
            self.file_size,
            &self.limits,
        )
        .map_err(malformed)?;
        drop(bytes);
        let rows = group.num_rows();
        // The columns in the order a read of all of them gives (a read of no rows).
        let names: Vec<String> = self
            .empty()?
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let mut parts = names.chunks(COLUMNS_AT_ONCE).map(|names| {
            let mut part = self.read_columns(offset, rows, Some(names.to_vec()))?;
            each(&mut part);
            Ok::<_, LoadError>(part)
        });
        let mut df = parts
            .next()
            .unwrap_or_else(|| self.read_rows(offset, rows))?;
        for part in parts {
            df.hstack_mut(part?.columns())
                .map_err(|e| self.internal(e))?;
        }
        Ok(df)
    }

    /// Takes the next group, read by [`group`]: checks that its ids continue the file's order.
    ///
    /// [`group`]: IngestedReader::group
    fn accept(&mut self, df: &DataFrame) -> Result<(), LoadError> {
        self.check_order(df)?;
        self.next += 1;
        self.offset += df.height();
        Ok(())
    }

    fn read_rows(&self, offset: usize, rows: usize) -> Result<DataFrame, LoadError> {
        self.read_columns(offset, rows, self.columns.clone())
    }

    /// Rows `offset..offset + rows` of the `columns` named (all when `None`).
    fn read_columns(
        &self,
        offset: usize,
        rows: usize,
        columns: Option<Vec<String>>,
    ) -> Result<DataFrame, LoadError> {
        let columnar = |source| LoadError::Columnar {
            path: self.path.clone(),
            format: "Parquet",
            source,
        };
        catch_reader_panic(InputFormat::Parquet, &self.path, || {
            let file = File::open(&self.path).map_err(|source| LoadError::Io {
                path: self.path.clone(),
                source,
            })?;
            let mut reader = ParquetReader::new(file);
            reader.set_metadata(self.metadata.clone());
            reader
                .with_columns(columns)
                .with_slice(Some((offset, rows)))
                .finish()
                .map_err(columnar)
        })
    }

    /// Ids present and strictly increasing, from the previous group on.
    fn check_order(&mut self, df: &DataFrame) -> Result<(), LoadError> {
        let ids: &StringChunked = df
            .column(Field::VoterId.name())
            .and_then(|c| c.str())
            .map_err(|source| LoadError::Columnar {
                path: self.path.clone(),
                format: "Parquet",
                source,
            })?;
        let mut previous: Option<&str> = self.last_id.as_deref();
        for (k, id) in ids.iter().enumerate() {
            let row = self.offset + k + 1;
            let Some(id) = id else {
                return Err(LoadError::ColumnType {
                    path: self.path.clone(),
                    column: "voter_id".into(),
                    why: format!("row {row}: missing in an ingested file"),
                });
            };
            if previous.is_some_and(|p| p >= id) {
                return Err(LoadError::NotSorted {
                    path: self.path.clone(),
                    row: row as u64,
                });
            }
            previous = Some(id);
        }
        // Only the group's last id is kept, for the next group's first.
        self.last_id = previous.map(str::to_string);
        Ok(())
    }
}

/// Loads only the `only` fields (and `voter_id`) of an ingested file, a row group at a time:
/// a command that reads a few columns (the exact pass reads four of 26) decodes no others, and
/// holds none of them. The rows are the whole load's, checked as [`IngestedReader`] checks
/// them, so the snapshot's digest is the same. The report is the file's: a field left unread
/// is not counted missing.
pub fn load_ingested(path: &Path, only: &[Field]) -> Result<Loaded, LoadError> {
    read_groups(path, only, false)
}

/// [`load_ingested`] with each row group's text columns coded as it is read
/// ([`Snapshot::compact`]): the snapshot never exists uncoded. At 10,000,000 voters a
/// whole-file read held the file's 0.7 GB and about 4.1 GB of uncoded columns before they
/// could be coded. With every field, the snapshot is the one a whole-file load and `compact`
/// give.
pub fn load_ingested_coded(path: &Path, only: &[Field]) -> Result<Loaded, LoadError> {
    let loaded = read_groups(path, only, true);
    crate::snapshot::release_freed_memory();
    loaded
}

/// [`load_ingested`], each group coded as it is read when `coded`.
fn read_groups(path: &Path, only: &[Field], coded: bool) -> Result<Loaded, LoadError> {
    let mut reader = IngestedReader::open(path)?;
    let present = reader.fields().to_vec();
    let mut keep = only.to_vec();
    keep.push(Field::VoterId);
    reader.project(&keep);
    let code = |group: &mut DataFrame| {
        if coded {
            compact_frame(group);
        }
    };
    // Every group, read on every core.
    let groups = reader.next_groups(usize::MAX, code)?;
    let mut df = reader.empty()?;
    code(&mut df);
    for group in groups {
        df.vstack_mut_owned(group).map_err(|e| reader.internal(e))?;
    }
    let table = as_ingested(&df, path)?.ok_or_else(|| LoadError::NotIngested {
        path: path.to_path_buf(),
    })?;
    // The table shares the frame's columns: with the frame gone, each column's row-group
    // chunks are freed as `into_snapshot` glues it.
    drop(df);
    let (snapshot, mut report) = table.into_snapshot(path, InputFormat::Parquet, false)?;
    report.missing_fields.retain(|f| !present.contains(f));
    Ok(Loaded { snapshot, report })
}

/// The account a whole load of the ingested file `path` gives ([`load_ingested`]), without
/// loading it: for a file an audit reads a window at a time.
pub fn ingested_report(path: &Path) -> Result<LoadReport, LoadError> {
    let reader = IngestedReader::open(path)?;
    let table = as_ingested(&reader.empty()?, path)?.ok_or_else(|| LoadError::NotIngested {
        path: path.to_path_buf(),
    })?;
    let (_, mut report) = table.into_snapshot(path, InputFormat::Parquet, false)?;
    report.rows_read = reader.rows();
    report.rows_loaded = reader.rows();
    Ok(report)
}

/// Writes a snapshot as Parquet (`.parquet`) or Arrow IPC (any other extension, e.g.
/// `.arrow`), through a temporary file renamed into place, so a reader never sees half a
/// file.
pub fn write_snapshot(snapshot: &Snapshot, path: &Path) -> Result<(), LoadError> {
    let tmp = crate::files::temp_name(path);
    let io_err = |source| LoadError::WriteIo {
        path: path.to_path_buf(),
        source,
    };
    let file = crate::files::create_private(&tmp).map_err(io_err)?;
    let mut df = snapshot.df.clone();
    let parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let written = if parquet {
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Snappy)
            .finish(&mut df)
            .map(|_| ())
    } else {
        IpcWriter::new(file).finish(&mut df)
    };
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(LoadError::Write {
            path: path.to_path_buf(),
            source,
        });
    }
    std::fs::rename(&tmp, path).map_err(io_err)
}

/// The bytes of `path` in `span`, where only `ranges` (within it) are read; the rest is zero.
fn read_ranges(
    path: &Path,
    span: std::ops::Range<u64>,
    ranges: &[std::ops::Range<u64>],
) -> Result<Vec<u8>, LoadError> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = usize::try_from(span.end - span.start).map_err(|e| io(std::io::Error::other(e)))?;
    let mut bytes = vec![0u8; len];
    let mut file = File::open(path).map_err(io)?;
    for r in ranges {
        let at = (r.start - span.start) as usize..(r.end - span.start) as usize;
        file.seek(SeekFrom::Start(r.start)).map_err(io)?;
        file.read_exact(&mut bytes[at]).map_err(io)?;
    }
    Ok(bytes)
}

/// Reads `len` bytes of `path` from `start`.
fn read_at(path: &Path, start: u64, len: u64) -> Result<Vec<u8>, LoadError> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(len).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Adds `shift` to every row's `_line`: the line numbers of a piece of a file made the file's.
pub(super) fn shift_line_column(df: &mut DataFrame, shift: u64) -> PolarsResult<()> {
    if shift > 0 {
        let lines = df.column(LINE_COLUMN)?.u64()? + shift;
        df.with_column(lines.into_column())?;
    }
    Ok(())
}

/// Writes an ingested Parquet file from canonical CSV text given in pieces.
pub struct IngestedWriter {
    path: PathBuf,
    tmp: PathBuf,
    /// The name the text is loaded under (it appears in errors).
    source: PathBuf,
    writer: Option<BatchedWriter<File>>,
    /// Data rows read from the pieces so far: the line offset of the next piece.
    rows_read: u64,
    rows_written: u64,
    last_id: Option<String>,
    /// The file was moved into place: nothing to clean up.
    done: bool,
}

impl IngestedWriter {
    /// Starts writing `out` (through a temporary file renamed into place by [`finish`]).
    ///
    /// [`finish`]: IngestedWriter::finish
    pub fn create(out: &Path, source: &Path) -> IngestedWriter {
        IngestedWriter {
            path: out.to_path_buf(),
            tmp: crate::files::temp_name(out),
            source: source.to_path_buf(),
            writer: None,
            rows_read: 0,
            rows_written: 0,
            last_id: None,
            done: false,
        }
    }

    /// Converts one piece of canonical CSV text (its header row first) and appends its rows.
    /// Line numbers continue from the previous piece, as if the pieces were one file. The
    /// pieces must come in `voter_id` order, each sorted within.
    pub fn write_piece(&mut self, csv: Vec<u8>) -> Result<(), LoadError> {
        let loaded = load_bytes(csv, &self.source, &Profile::canonical(), &NoProgress)?;
        let mut df = loaded.snapshot.df;
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LoadError::Write { path, source }
        };
        shift_line_column(&mut df, self.rows_read).map_err(write_err(&self.path))?;
        self.rows_read += loaded.report.rows_read;
        self.write_frame(df)
    }

    /// Appends rows in ingested form (canonical columns, `_fingerprint`, `_line`), in
    /// `voter_id` order after the rows before them.
    pub fn write_frame(&mut self, mut df: DataFrame) -> Result<(), LoadError> {
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LoadError::Write { path, source }
        };
        if df.height() > 0 {
            if let Ok(column) = df.column(Field::VoterId.name()).and_then(|c| c.str()) {
                let (first, last) = (column.get(0), column.get(df.height() - 1));
                if self.last_id.as_deref() >= first {
                    return Err(LoadError::NotSorted {
                        path: self.source.clone(),
                        row: self.rows_written + 1,
                    });
                }
                self.last_id = last.map(str::to_string);
            }
        }
        // The batched writer needs the columns' chunks aligned.
        df.rechunk_mut();
        if self.writer.is_none() {
            let file =
                crate::files::create_private(&self.tmp).map_err(|source| LoadError::WriteIo {
                    path: self.path.clone(),
                    source,
                })?;
            let writer = ParquetWriter::new(file)
                .with_compression(ParquetCompression::Snappy)
                .batched(df.schema())
                .map_err(write_err(&self.path))?;
            self.writer = Some(writer);
        }
        let writer = self.writer.as_mut().expect("created above");
        writer.write_batch(&df).map_err(write_err(&self.path))?;
        self.rows_written += df.height() as u64;
        Ok(())
    }

    /// Writes the footer and moves the file into place; returns the rows written.
    pub fn finish(mut self) -> Result<u64, LoadError> {
        let Some(writer) = self.writer.take() else {
            return Err(LoadError::Empty {
                path: self.source.clone(),
            });
        };
        let done = writer.finish().map_err(|source| LoadError::Write {
            path: self.path.clone(),
            source,
        });
        let renamed = done.and_then(|_| {
            std::fs::rename(&self.tmp, &self.path).map_err(|source| LoadError::WriteIo {
                path: self.path.clone(),
                source,
            })
        });
        self.done = renamed.is_ok();
        renamed.map(|()| self.rows_written)
    }
}

impl Drop for IngestedWriter {
    /// A writer dropped before it finished (an error, a panic) leaves no partial file behind.
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
