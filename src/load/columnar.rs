//! Parquet and Arrow IPC inputs.
//!
//! Two paths. A file that `rollaudit ingest` wrote (canonical columns with their canonical
//! types, plus `_fingerprint` and `_line`) is taken as it is. Any other columnar file goes
//! through the same row conversion as delimited text, with its column names as the header,
//! so a profile maps it and a bad value rejects its row; row numbers (1-based) stand in for
//! line numbers.

use std::cell::Cell;
use std::io::Cursor;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use polars::io::parquet::metadata::FileMetadata;
use polars::prelude::{
    Column, DataFrame, DataType, IpcReader, ParquetReader, PolarsError, SerReader, StringChunked,
};
use rayon::prelude::*;

use super::convert::{BatchConverter, ConvertedBatch, Layout, BATCH_ROWS};
use super::delimited::resolve_layout;
use super::ipc_check;
use super::memory::{gib, Limits};
use super::parquet_pages::{self, ChunkPages};
use super::table::LoadedTable;
use super::{InputFormat, LoadError};
use crate::dates::{DateFormat, IsoDate, IsoTimestamp};
use crate::model::{Field, FieldKind, FINGERPRINT_COLUMN, LINE_COLUMN};
use crate::profile::Profile;

/// Reads a columnar file; with `coded`, the batches of a file that is not ingested have
/// their repeating text fields coded as each is converted (as a CSV export's are), so the
/// file's rows are never held uncoded twice over (the frame polars read, then the batches).
pub(crate) fn read(
    bytes: Vec<u8>,
    format: InputFormat,
    path: &Path,
    profile: &Profile,
    coded: bool,
) -> Result<LoadedTable, LoadError> {
    let df = read_frame(bytes, format, path, &Limits::of_machine())?;
    if let Some(table) = as_ingested(&df, path)? {
        return Ok(table);
    }
    read_generic(df, path, profile, coded)
}

/// Reads a whole Parquet or Arrow IPC file with polars, after checking that what the file
/// declares fits the machine (polars allocates declared lengths before reading them, and a
/// failed allocation aborts the process): an IPC file's footer and messages in
/// `ipc_check.rs`, a Parquet file's footer here ([`check_parquet`]) and its page headers in
/// `parquet_pages.rs`.
///
/// polars' readers panic on some corrupt files rather than returning an error (polars-parquet
/// 0.55 `expect`s well-formed thrift in the footer: "thrift bool field"; found by the
/// `load_csv` fuzz target, input in `tests/fuzz/regressions/load_csv/`). Such a panic is caught
/// here and reported as what it is, a corrupt file. The reader only fills a frame it owns, so
/// nothing half-updated outlives the panic.
fn read_frame(
    bytes: Vec<u8>,
    format: InputFormat,
    path: &Path,
    limits: &Limits,
) -> Result<DataFrame, LoadError> {
    let columnar_err = |source| LoadError::Columnar {
        path: path.to_path_buf(),
        format: format.name(),
        source,
    };
    let malformed = |why| LoadError::Malformed {
        path: path.to_path_buf(),
        format: format.name(),
        why,
    };
    let read = move || match format {
        InputFormat::Parquet => {
            // The footer is parsed once, from a borrowed reader, and handed to the reader that
            // reads the file; the checks read the bytes in between.
            let metadata = ParquetReader::new(Cursor::new(bytes.as_slice()))
                .get_metadata()
                .map_err(columnar_err)?
                .clone();
            let all = 0..metadata.row_groups.len();
            check_row_groups(&metadata, all, None, &bytes, 0, bytes.len() as u64, limits)
                .map_err(malformed)?;
            let mut reader = ParquetReader::new(Cursor::new(bytes));
            reader.set_metadata(metadata);
            reader.finish().map_err(columnar_err)
        }
        _ => {
            ipc_check::check(&bytes, limits).map_err(malformed)?;
            IpcReader::new(Cursor::new(bytes))
                .finish()
                .map_err(columnar_err)
        }
    };
    catch_reader_panic(format, path, read)
}

/// Checks what the footer and the page headers of `groups` declare ([`check_parquet`] and
/// `parquet_pages.rs`), of the columns polars will read: all, or those named in `only` (a
/// column never read cannot harm the reader, and need not be read to be checked). `bytes`
/// holds the file from offset `base` on, at least up to the end of the groups' last checked
/// column chunk (other chunks' bytes may be anything); `file_size` is the whole file's.
pub(crate) fn check_row_groups(
    metadata: &FileMetadata,
    groups: Range<usize>,
    only: Option<&[String]>,
    bytes: &[u8],
    base: u64,
    file_size: u64,
    limits: &Limits,
) -> Result<(), String> {
    let groups = &metadata.row_groups[groups];
    let columns = || {
        groups.iter().flat_map(move |rg| {
            let rows = rg.num_rows() as u64;
            rg.parquet_columns()
                .iter()
                .filter(move |c| {
                    let root = c.descriptor().path_in_schema.first();
                    is_read(root.map(|r| r.as_str()), only)
                })
                .map(move |c| (rows, c))
        })
    };
    let chunks = columns().map(|(_, c)| ParquetChunk {
        values: c.num_values(),
        uncompressed: c.uncompressed_size(),
        compressed: c.compressed_size(),
        end: c.byte_range().end,
    });
    let rows = groups.iter().map(|rg| rg.num_rows() as u64);
    check_parquet(rows, chunks, file_size, limits)?;
    let pages = columns().map(|(rows, c)| {
        let range = c.byte_range();
        ChunkPages {
            range: range.start.saturating_sub(base)..range.end.saturating_sub(base),
            values: c.num_values(),
            rows,
        }
    });
    parquet_pages::check(bytes, pages, limits)
}

/// Whether a reader of the columns `only` (all when `None`) reads the column chunk whose
/// path in the schema starts at `root`.
pub(crate) fn is_read(root: Option<&str>, only: Option<&[String]>) -> bool {
    only.is_none_or(|names| root.is_some_and(|root| names.iter().any(|n| n == root)))
}

/// Runs a polars reader, turning a panic inside it into an error (see [`read_frame`]).
pub(crate) fn catch_reader_panic<T>(
    format: InputFormat,
    path: &Path,
    read: impl FnOnce() -> Result<T, LoadError>,
) -> Result<T, LoadError> {
    quiet_reader_panics();
    READING.with(|r| r.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    READING.with(|r| r.set(false));
    result.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(LoadError::Columnar {
            path: path.to_path_buf(),
            format: format.name(),
            source: PolarsError::ComputeError(
                format!("the {} reader failed: {why}", format.name()).into(),
            ),
        })
    })
}

thread_local! {
    /// This thread is inside [`read_frame`]'s `catch_unwind`.
    static READING: Cell<bool> = const { Cell::new(false) };
}

/// A panic caught in [`read_frame`] becomes an error, but the panic hook runs first and the
/// default one prints the message and a backtrace to stderr, so the binary's one-line error
/// would come after a screenful. The hook installed here (once, wrapping the one it replaces)
/// stays silent for a panic on a thread inside `read_frame` and passes every other panic on.
/// A panic on one of polars' worker threads would still be printed (none is known).
fn quiet_reader_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !READING.with(Cell::get) {
                previous(info)
            }
        }));
    });
}

/// What a Parquet footer declares about one column chunk.
struct ParquetChunk {
    values: i64,
    uncompressed: i64,
    compressed: i64,
    /// Where the chunk's pages end in the file.
    end: u64,
}

/// The sizes in a Parquet footer against the file and the [`Limits`]: polars sizes its
/// decoders from a chunk's declared value count (`Vec::with_capacity`). The page headers
/// inside the chunks declare sizes and counts too; `parquet_pages.rs` checks those against
/// these footer figures once they have passed.
fn check_parquet(
    rows: impl Iterator<Item = u64>,
    chunks: impl Iterator<Item = ParquetChunk>,
    file_size: u64,
    limits: &Limits,
) -> Result<(), String> {
    let rows = rows.fold(0u64, u64::saturating_add);
    if rows > limits.max_rows() {
        return Err(format!(
            "declares more rows than fit in the {} of memory available (at least {} bytes each)",
            gib(limits.memory),
            super::memory::ROW_COST
        ));
    }
    let (mut values, mut bytes) = (0u64, 0u64);
    for (i, c) in chunks.enumerate() {
        if c.values < 0 || c.uncompressed < 0 || c.compressed < 0 {
            return Err(format!(
                "column chunk {} declares a negative size or value count",
                i + 1
            ));
        }
        if c.end > file_size {
            return Err(format!(
                "column chunk {} extends beyond the end of the file (truncated?)",
                i + 1
            ));
        }
        values = values.saturating_add(c.values as u64);
        bytes = bytes.saturating_add(c.uncompressed as u64);
        if values > limits.max_values() {
            return Err(format!(
                "declares more values than fit in the {} of memory available (at least a byte each)",
                gib(limits.memory)
            ));
        }
        if bytes > limits.max_bytes() {
            return Err(format!(
                "declares more column data than the {} of memory available",
                gib(limits.max_bytes())
            ));
        }
    }
    Ok(())
}

/// The file is our own ingest output: canonical columns, canonical types, fingerprints.
pub(crate) fn as_ingested(df: &DataFrame, path: &Path) -> Result<Option<LoadedTable>, LoadError> {
    let mut fields = Vec::new();
    let (mut fingerprints, mut lines) = (None, None);
    for c in df.columns() {
        match c.name().as_str() {
            FINGERPRINT_COLUMN if c.dtype() == &DataType::UInt64 => fingerprints = Some(c),
            LINE_COLUMN if c.dtype() == &DataType::UInt64 => lines = Some(c),
            name => match Field::from_name(name) {
                // Text may arrive coded (`load_ingested_coded`).
                Some(f)
                    if c.dtype() == &f.dtype()
                        || (f.dtype() == DataType::String && c.dtype().is_categorical()) =>
                {
                    fields.push((f, c.clone()))
                }
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
        let ca = c.u64().expect("dtype checked above");
        if ca.null_count() > 0 {
            return ca.iter().map(|v| v.unwrap_or(0)).collect();
        }
        // Without nulls, the arrays' value buffers are the values: copied whole.
        let mut out = Vec::with_capacity(ca.len());
        for array in ca.downcast_iter() {
            out.extend_from_slice(array.values());
        }
        out
    };
    let rows = df.height();
    let layout = Layout {
        sources: fields
            .iter()
            .enumerate()
            .map(|(i, (f, _))| (*f, i))
            .collect(),
        joins: Vec::new(),
        age_on: None,
        width: fields.len(),
        derive_birth_year: false,
        coded: false,
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
fn read_generic(
    df: DataFrame,
    path: &Path,
    profile: &Profile,
    coded: bool,
) -> Result<LoadedTable, LoadError> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let (layout, unmapped) = resolve_layout(Some(&names), names.len(), profile, path)?;
    let layout = Layout { coded, ..layout };
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
    // Typed columns were rendered into new text ones: theirs are no longer needed.
    drop(df);
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
                conv.push_row(&fields[..], line, (0, 0), || {
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

#[cfg(test)]
mod tests {
    use polars::prelude::{NamedFrom, ParquetCompression, ParquetWriter, Series};
    use polars_parquet_format::thrift::protocol::TCompactOutputProtocol;
    use polars_parquet_format::PageType;

    use super::*;

    /// A register-like frame written by polars: 3,000 rows in row groups of 1,000, pages of
    /// at most 1 KiB, zstd, so each column chunk holds several pages (text with nulls, so
    /// validity and maybe dictionary pages too).
    fn polars_parquet() -> (DataFrame, Vec<u8>) {
        let rows = 3_000;
        let ids: Vec<String> = (0..rows).map(|i| format!("V{i:06}")).collect();
        let towns: Vec<Option<&str>> = (0..rows)
            .map(|i| ["Ash", "Elm", "Oak"].get(i % 4).copied())
            .collect();
        let years: Vec<i64> = (0..rows).map(|i| 1940 + (i % 60) as i64).collect();
        let mut df = DataFrame::new(
            rows,
            vec![
                Series::new("voter_id".into(), ids).into(),
                Series::new("town".into(), towns).into(),
                Series::new("birth_year".into(), years).into(),
            ],
        )
        .expect("a frame");
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(None))
            .with_row_group_size(Some(1_000))
            .with_data_page_size(Some(1_024))
            .finish(&mut df)
            .expect("write parquet");
        (df, bytes)
    }

    fn read_parquet(bytes: Vec<u8>) -> Result<DataFrame, LoadError> {
        read_frame(
            bytes,
            InputFormat::Parquet,
            Path::new("t.parquet"),
            &Limits::of_machine(),
        )
    }

    /// Where each page header of the file's first column chunk starts, with the header.
    fn first_chunk_pages(bytes: &[u8]) -> Vec<(usize, polars_parquet_format::PageHeader)> {
        let metadata = ParquetReader::new(Cursor::new(bytes))
            .get_metadata()
            .expect("metadata")
            .clone();
        let range = metadata.row_groups[0].parquet_columns()[0].byte_range();
        let mut pos = range.start as usize;
        let mut pages = Vec::new();
        while pos < range.end as usize {
            let (header, len) = parquet_pages::read_header(&bytes[pos..]).expect("a header");
            let next = pos + len + header.compressed_page_size as usize;
            pages.push((pos, header));
            pos = next;
        }
        pages
    }

    /// The file with the page header at `at` replaced by `header`, which must encode to the
    /// same length (so every offset in the footer stays right).
    fn with_header(bytes: &[u8], at: usize, header: &polars_parquet_format::PageHeader) -> Vec<u8> {
        let old_len = parquet_pages::read_header(&bytes[at..])
            .expect("a header")
            .1;
        let mut encoded = Vec::new();
        header
            .write_to_out_protocol(&mut TCompactOutputProtocol::new(&mut encoded))
            .expect("encode");
        assert_eq!(encoded.len(), old_len, "the edited header keeps its length");
        let mut out = bytes.to_vec();
        out[at..at + old_len].copy_from_slice(&encoded);
        out
    }

    #[test]
    fn a_parquet_file_written_by_polars_passes_the_page_checks() {
        let (df, bytes) = polars_parquet();
        let pages = first_chunk_pages(&bytes);
        assert!(pages.len() > 1, "several pages per chunk: {}", pages.len());
        let read = read_parquet(bytes).expect("a legit file loads");
        assert!(read.equals_missing(&df), "{read:?}");
    }

    #[test]
    fn a_parquet_page_declaring_a_negative_value_count_is_refused() {
        let (_, bytes) = polars_parquet();
        let (at, mut header) = first_chunk_pages(&bytes)
            .into_iter()
            .find(|(_, h)| h.type_ == PageType::DATA_PAGE)
            .expect("a v1 data page (polars' default)");
        // The fuzz finding, in a file polars wrote: -n encodes (zigzag varint: 2n - 1) as long
        // as n (2n) does, unless 2n is a power of 128 (not the case for these pages' counts).
        let v1 = header.data_page_header.as_mut().expect("v1 header");
        v1.num_values = -v1.num_values;
        let corrupt = with_header(&bytes, at, &header);
        match read_parquet(corrupt) {
            Err(LoadError::Malformed { why, .. }) => assert_eq!(
                why,
                "column chunk 1, page 1 declares a negative value, null or row count"
            ),
            other => panic!("expected a malformed-file error, got {other:?}"),
        }
    }

    #[test]
    fn a_parquet_page_running_past_its_column_chunk_is_refused() {
        let (_, bytes) = polars_parquet();
        let pages = first_chunk_pages(&bytes);
        let (at, mut header) = pages.last().cloned().expect("a page");
        // Grow the last page by one byte, still within the same varint length.
        header.compressed_page_size += 1;
        let corrupt = with_header(&bytes, at, &header);
        match read_parquet(corrupt) {
            Err(LoadError::Malformed { why, .. }) => assert_eq!(
                why,
                format!(
                    "column chunk 1, page {} extends beyond its column chunk (truncated?)",
                    pages.len()
                )
            ),
            other => panic!("expected a malformed-file error, got {other:?}"),
        }
    }

    fn chunk(values: i64, uncompressed: i64, end: u64) -> ParquetChunk {
        ParquetChunk {
            values,
            uncompressed,
            compressed: 10,
            end,
        }
    }

    fn check(rows: u64, chunks: Vec<ParquetChunk>) -> Result<(), String> {
        let limits = Limits { memory: 1 << 20 };
        check_parquet([rows].into_iter(), chunks.into_iter(), 1000, &limits)
    }

    #[test]
    fn parquet_footer_sizes_within_the_file_and_memory_pass() {
        assert_eq!(
            check(100, vec![chunk(100, 800, 500), chunk(100, 400, 1000)]),
            Ok(())
        );
    }

    #[test]
    fn parquet_footer_sizes_beyond_the_file_or_memory_are_refused() {
        let refused = |rows, c, needle: &str| {
            let err = check(rows, vec![c]).unwrap_err();
            assert!(err.contains(needle), "{err}");
        };
        // 1 MiB of memory: 65,536 rows of 16 bytes, 1,048,576 values or bytes.
        refused(65_537, chunk(1, 1, 10), "more rows");
        refused(1, chunk(1 << 21, 1, 10), "more values");
        refused(1, chunk(1, 1 << 60, 10), "more column data");
        refused(1, chunk(-1, 1, 10), "negative");
        refused(1, chunk(1, 1, 1001), "beyond the end of the file");
    }
}
