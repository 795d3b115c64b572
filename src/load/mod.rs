//! Loading register exports into a [`Snapshot`].
//!
//! Only this module opens input files. It reads delimited text (CSV/TSV, any delimiter,
//! optionally gzip-compressed, in UTF-8, Latin-1 or UTF-16), Parquet and Arrow IPC, chosen by
//! magic bytes and then extension, and maps them through a [`Profile`] onto the canonical model.
//!
//! # Architecture invariant: no row is lost silently
//! Every source row is either loaded or rejected with its line number, raw text and a reason;
//! `rows_read == rows_loaded + rows_rejected` holds for every [`LoadReport`] (a debug
//! assertion checks it). An input that cannot be used at all (missing file, no `voter_id`
//! column, truncated Parquet) is a [`LoadError`] naming the file and, where it applies, the
//! column; it never panics. Reasons never quote voters' values: the rejects file carries the
//! raw row for case work, logs do not.

mod columnar;
mod convert;
mod delimited;
mod fixed;
#[doc(hidden)]
pub use delimited::batch_starts_both_ways;
mod ingested;
mod ipc_check;
pub mod memory;
mod parquet_pages;
mod pieces;
mod source;
mod streamed;
mod table;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use polars::prelude::PolarsError;

use crate::model::Field;
use crate::profile::Profile;
use crate::snapshot::Snapshot;
#[cfg(feature = "cluster")]
pub(crate) use convert::{hash_value, Value};
pub use ingested::{
    ingested_report, load_ingested, load_ingested_coded, write_snapshot, IngestedReader,
    IngestedWriter,
};
pub use pieces::{ingest_in_pieces, PiecedIngest, DEFAULT_PIECE_BYTES};
pub use source::{sha256_hex, sha256_of_file, InputFormat};
pub(crate) use source::{GZIP_MAGIC, PARQUET_MAGIC};
pub use streamed::reads_in_pieces;

/// A loaded snapshot and the account of how it was loaded.
pub struct Loaded {
    pub snapshot: Snapshot,
    pub report: LoadReport,
}

/// How an input was loaded: counts, rejects, and what the layout lacked.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// The input as named by the user.
    pub source: PathBuf,
    pub format: InputFormat,
    pub gzipped: bool,
    /// The text encoding actually used (`-` for columnar inputs).
    pub encoding: &'static str,
    /// Data rows found (header excluded; blank lines are not rows).
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_rejected: u64,
    /// Rejected rows in source order.
    pub rejects: Vec<Reject>,
    /// Canonical fields the input does not provide (checks needing them are skipped).
    pub missing_fields: Vec<Field>,
    /// Source columns the profile does not map.
    pub unmapped_columns: Vec<String>,
    /// Fields derived, not read, whose value may be off by one unit: `birth_year` from an
    /// age (the true year is the one given or the one before).
    pub approximate_fields: Vec<Field>,
}

impl LoadReport {
    /// Rejected rows counted by reason kind (stable, value-free keys).
    pub fn reject_summary(&self) -> BTreeMap<&'static str, u64> {
        let mut summary = BTreeMap::new();
        for r in &self.rejects {
            *summary.entry(r.reason.kind()).or_insert(0) += 1;
        }
        summary
    }
}

/// A row that was not loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line where the row starts (row number for columnar inputs).
    pub line: u64,
    pub reason: RejectReason,
    /// The row as it appeared in the source (invalid bytes shown as U+FFFD).
    pub raw: String,
}

/// Why a row was rejected. The text names fields, never values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    FieldCount {
        expected: usize,
        found: usize,
    },
    InvalidUtf8 {
        field: Field,
    },
    NulByte {
        field: Field,
    },
    EmptyVoterId,
    DuplicateVoterId {
        first_line: u64,
    },
    UnknownStatus,
    BadDate {
        field: Field,
        format: String,
    },
    BadYear,
    /// `birth_year` derived from an age: the age is not a whole number of years up to 150.
    BadAge,
}

impl RejectReason {
    /// A short stable key for summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            RejectReason::FieldCount { .. } => "field_count",
            RejectReason::InvalidUtf8 { .. } => "invalid_utf8",
            RejectReason::NulByte { .. } => "nul_byte",
            RejectReason::EmptyVoterId => "empty_voter_id",
            RejectReason::DuplicateVoterId { .. } => "duplicate_voter_id",
            RejectReason::UnknownStatus => "unknown_status",
            RejectReason::BadDate { .. } => "bad_date",
            RejectReason::BadYear => "bad_year",
            RejectReason::BadAge => "bad_age",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::FieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")?;
                if found > expected {
                    write!(f, " (a delimiter inside an unquoted value?)")?;
                } else if *found == 1 && *expected > 1 {
                    write!(f, " (an unbalanced quote?)")?;
                }
                Ok(())
            }
            RejectReason::InvalidUtf8 { field } => {
                write!(f, "{}: invalid UTF-8 (wrong encoding in the profile?)", field.name())
            }
            RejectReason::NulByte { field } => write!(f, "{}: contains a NUL byte", field.name()),
            RejectReason::EmptyVoterId => write!(f, "voter_id is empty"),
            RejectReason::DuplicateVoterId { first_line } => {
                write!(f, "voter_id repeats the row at line {first_line}")
            }
            RejectReason::UnknownStatus => write!(
                f,
                "status: value is not in the profile's value map nor one of active, inactive, removed, pending"
            ),
            RejectReason::BadDate { field, format } => {
                write!(f, "{}: not a valid date in format {format}", field.name())
            }
            RejectReason::BadYear => write!(f, "birth_year: not a year (1 to 4 digits)"),
            RejectReason::BadAge => {
                write!(f, "birth_year: the age it is derived from is not 0 to 150 years")
            }
        }
    }
}

/// An input that cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot read {what}", path.display())]
    Config {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: gzip stream is corrupt or truncated", path.display())]
    Gzip {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {why}", path.display())]
    Encoding { path: PathBuf, why: String },
    #[error("{}: empty input (no header row)", path.display())]
    Empty { path: PathBuf },
    #[error("{}: line 1: header is not valid text in the profile's encoding", path.display())]
    HeaderEncoding { path: PathBuf },
    #[error("{}: required column for {field} ({column}) is missing", path.display())]
    MissingColumn {
        path: PathBuf,
        field: &'static str,
        column: String,
    },
    #[error("{}: column {column:?} appears more than once in the header (positions {first} and {second})", path.display())]
    DuplicateColumn {
        path: PathBuf,
        column: String,
        first: usize,
        second: usize,
    },
    #[error("{}: cannot read {format} file (truncated or corrupt?)", path.display())]
    Columnar {
        path: PathBuf,
        format: &'static str,
        #[source]
        source: PolarsError,
    },
    /// A columnar file whose structure is inconsistent or declares more than memory holds,
    /// found before its reader allocates from it (see `memory.rs`).
    #[error("{}: cannot read {format} file: {why}", path.display())]
    Malformed {
        path: PathBuf,
        format: &'static str,
        why: String,
    },
    #[error("{}: column {column}: {why}", path.display())]
    ColumnType {
        path: PathBuf,
        column: String,
        why: String,
    },
    #[error(
        "{}: not an ingested Parquet file (canonical columns with _fingerprint and _line, as \
         `rollaudit ingest` writes them); the streaming diff reads only those",
        path.display()
    )]
    NotIngested { path: PathBuf },
    #[error(
        "{}: row {row}: voter_id is not greater than the one before; the file must be sorted \
         by voter_id with unique ids (as `rollaudit ingest` writes it)",
        path.display()
    )]
    NotSorted { path: PathBuf, row: u64 },
    #[error("{}: cannot write", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("{}: cannot write", path.display())]
    WriteIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Receives load progress; the binary draws a bar with it, the library never does.
pub trait Progress: Sync {
    /// The amount of work in input bytes, once known.
    fn start(&self, _total_bytes: u64) {}
    /// `bytes` more of the input were read.
    fn advance(&self, _bytes: u64) {}
    fn finish(&self) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Loads one input file through a profile.
pub fn load_path(
    path: &Path,
    profile: &Profile,
    progress: &dyn Progress,
) -> Result<Loaded, LoadError> {
    load_file(path, profile, DEFAULT_PIECE_BYTES, progress, false)
}

/// [`load_path`] reading a delimited text `piece_bytes` at a time: for tests that cut a
/// small export into many pieces.
#[doc(hidden)]
pub fn load_path_in_pieces(
    path: &Path,
    profile: &Profile,
    piece_bytes: usize,
) -> Result<Loaded, LoadError> {
    streamed::load(path, profile, piece_bytes, &NoProgress, false)?.ok_or_else(|| {
        LoadError::Malformed {
            path: path.to_path_buf(),
            format: "delimited",
            why: "not delimited text in a byte encoding".to_string(),
        }
    })
}

/// `path` loaded `piece_bytes` of text at a time when it is delimited text ([`streamed`]),
/// else whole.
fn load_file(
    path: &Path,
    profile: &Profile,
    piece_bytes: usize,
    progress: &dyn Progress,
    coded: bool,
) -> Result<Loaded, LoadError> {
    match streamed::load(path, profile, piece_bytes, progress, coded)? {
        Some(loaded) => Ok(loaded),
        None => load_raw(source::read_input(path)?, path, profile, progress, coded),
    }
}

/// [`load_file`], with the file's SHA-256 taken on another thread meanwhile.
fn load_file_hashed(
    path: &Path,
    profile: &Profile,
    piece_bytes: usize,
    progress: &dyn Progress,
    coded: bool,
) -> Result<(Loaded, String), LoadError> {
    std::thread::scope(|scope| {
        let sha256 = scope.spawn(|| source::sha256_of_file(path));
        let loaded = load_file(path, profile, piece_bytes, progress, coded);
        let sha256 = sha256.join().expect("the hashing thread does not panic");
        Ok((loaded?, sha256?))
    })
}

/// Reads a configuration file (a profile, an election calendar, an allowlist) as text, for
/// its parser; `what` names it in the error.
pub fn read_config(path: &Path, what: &'static str) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Config {
        path: path.to_path_buf(),
        what,
        source,
    })
}

/// Whether `path` opens for reading, with the error [`load_path`] would give if not: a run
/// over several inputs checks them all before its first long stage.
pub fn check_readable(path: &Path) -> Result<(), LoadError> {
    std::fs::File::open(path)
        .map(drop)
        .map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// [`load_path`], also returning the SHA-256 (hex) of the file's bytes as stored, computed on
/// the load's own read: what reports cite to identify their inputs.
pub fn load_path_hashed(
    path: &Path,
    profile: &Profile,
    progress: &dyn Progress,
) -> Result<(Loaded, String), LoadError> {
    load_file_hashed(path, profile, DEFAULT_PIECE_BYTES, progress, false)
}

/// Loads `path` with its repeating text fields coded ([`Snapshot::compact`]), reading only
/// the `only` fields of an ingested file: an ingested file a row group at a time
/// ([`load_ingested_coded`]), a CSV export a batch at a time as it is converted, any other
/// input whole and then coded, so that no snapshot is held uncoded where it can be helped. An
/// ingested file the group-wise reader refuses is loaded whole, which reports or accepts it
/// as it always has. Delimited text is read `piece_bytes` at a time ([`DEFAULT_PIECE_BYTES`]
/// unless memory is short).
pub fn load_path_coded(
    path: &Path,
    profile: &Profile,
    piece_bytes: usize,
    progress: &dyn Progress,
    only: &[Field],
) -> Result<Loaded, LoadError> {
    if let Ok(loaded) = load_ingested_coded(path, only) {
        return Ok(loaded);
    }
    Ok(compacted(load_file(
        path,
        profile,
        piece_bytes,
        progress,
        true,
    )?))
}

/// [`load_path_coded`] of every field, with the SHA-256 of the file's bytes: of an ingested
/// file from a read of its own on another thread, of any other input from the load's read.
/// Delimited text is read `piece_bytes` at a time ([`DEFAULT_PIECE_BYTES`] unless memory is
/// short).
pub fn load_path_hashed_coded(
    path: &Path,
    profile: &Profile,
    piece_bytes: usize,
    progress: &dyn Progress,
) -> Result<(Loaded, String), LoadError> {
    if IngestedReader::open(path).is_ok() {
        let (loaded, sha256) = std::thread::scope(|scope| {
            let sha256 = scope.spawn(|| source::sha256_of_file(path));
            let loaded = load_ingested_coded(path, &Field::ALL);
            (
                loaded,
                sha256.join().expect("the hashing thread does not panic"),
            )
        });
        if let (Ok(loaded), Ok(sha256)) = (loaded, sha256) {
            return Ok((loaded, sha256));
        }
    }
    let (loaded, sha256) = load_file_hashed(path, profile, piece_bytes, progress, true)?;
    Ok((compacted(loaded), sha256))
}

/// Codes what the readers left as text (all but a CSV export's batches), and returns the
/// freed memory.
fn compacted(mut loaded: Loaded) -> Loaded {
    loaded.snapshot.compact();
    loaded
}

/// Loads an input already in memory; `source_name` stands in for its path in messages.
pub fn load_bytes(
    bytes: Vec<u8>,
    source_name: &Path,
    profile: &Profile,
    progress: &dyn Progress,
) -> Result<Loaded, LoadError> {
    let raw = source::classify(bytes, source_name)?;
    load_raw(raw, source_name, profile, progress, false)
}

/// Converts canonical CSV text into an ingested file: Parquet for a `.parquet` path, else Arrow IPC.
pub fn canonical_csv_to_parquet(
    bytes: &[u8],
    source_name: &str,
    out: &Path,
) -> Result<(), LoadError> {
    let loaded = load_bytes(
        bytes.to_vec(),
        Path::new(source_name),
        &Profile::canonical(),
        &NoProgress,
    )?;
    write_snapshot(&loaded.snapshot, out)
}

fn load_raw(
    raw: source::RawInput,
    path: &Path,
    profile: &Profile,
    progress: &dyn Progress,
    coded: bool,
) -> Result<Loaded, LoadError> {
    progress.start(raw.bytes.len() as u64);
    let format = raw.format;
    let gzipped = raw.gzipped;
    let table = match format {
        InputFormat::Delimited => {
            let (text, encoding) = source::decode_text(raw.bytes, profile.encoding, path)?;
            match profile.is_fixed_width() {
                true => fixed::read(text, encoding, path, profile, progress)?,
                false => delimited::read(text, encoding, path, profile, progress, coded)?,
            }
        }
        InputFormat::Parquet | InputFormat::ArrowIpc => {
            columnar::read(raw.bytes, format, path, profile, coded)?
        }
    };
    progress.finish();
    let (snapshot, report) = table.into_snapshot(path, format, gzipped)?;
    debug_assert_eq!(
        report.rows_read,
        report.rows_loaded + report.rows_rejected,
        "row conservation"
    );
    Ok(Loaded { snapshot, report })
}
