//! Ingesting a delimited export larger than memory (issue #16): `rollaudit ingest` in pieces.
//!
//! A whole-file load holds the text and every converted column at once, so a national export
//! of tens of gigabytes could not even be ingested. Here the text is read a piece at a time:
//!
//! 1. **Pieces.** About `piece_bytes` of text (decompressed and decoded) is read, and cut at
//!    the last record start in it, found by the quote-aware pre-scan the parallel loader uses
//!    ([`delimited::batch_starts`]): a quoted field with line breaks is never cut. The rest is
//!    carried into the next piece. A piece that holds no record start but its first (one record
//!    longer than a piece) grows until it does.
//! 2. **Sorted runs.** Each piece, given the file's header, is loaded like a file of its own
//!    (the same conversion, the same rejects), and its line numbers are moved to the file's.
//!    Its rows, sorted by `voter_id` with the piece's repeated ids rejected, go to a run file.
//! 3. **Merge.** The runs are merged in `voter_id` order into the ingested Parquet file, a row
//!    group of each run in memory at a time. An id found in several runs is kept in the first
//!    (its first line) and rejected in the others, and a repeat rejected inside a later piece
//!    is re-pointed at that first line: the rejects are those of a whole-file load. While the
//!    runs' ids follow each other (an export sorted by voter id), each is written into the
//!    file as soon as it is sorted instead ([`Concatenation`]): the same bytes.
//!
//! The rejects of repeats found while merging need their raw text, which the runs do not
//! keep; the source is read a second time for those lines only, and only when there are any.
//!
//! Memory is about three pieces (the text, its converted rows, the sort) while loading, and a
//! row group per run while merging. UTF-16 text (two bytes per character, not cut at a byte
//! that is a line break) and columnar inputs are loaded whole, as before.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use polars::prelude::{DataFrame, IdxCa, ParquetCompression, ParquetWriter};

use super::delimited::{self, count_breaks};
use super::source::read_full;
use super::source::{self, GZIP_MAGIC};
use super::table::{internal, raw_text};
use super::{IngestedReader, InputFormat, LoadError, LoadReport, Progress, Reject, RejectReason};
use crate::model::{Field, FINGERPRINT_COLUMN, LINE_COLUMN};
use crate::profile::{Encoding, Profile};
use crate::snapshot::{Digest, Snapshot};

/// The default piece: 256 MiB of text, about 1.3 million rows of a 26-column export, which
/// loads in about 1 GiB.
pub const DEFAULT_PIECE_BYTES: usize = 256 << 20;

/// Bytes of the input's start read to tell its format and encoding.
const PROBE_BYTES: usize = 64;

/// Rows per row group of a run file: the merge holds one group of every run.
const RUN_GROUP_ROWS: usize = 65_536;

/// Rows per row group of the merged file.
const OUT_GROUP_ROWS: usize = 131_072;

/// What a pieced ingest did: the load's account and the file's digest.
pub struct PiecedIngest {
    pub report: LoadReport,
    pub digest: Digest,
}

/// Ingests the delimited text of `path` into the ingested Parquet file `out`, a piece of about
/// `piece_bytes` at a time. `None` when the input is not delimited text in a byte encoding
/// (UTF-8, Latin-1): the caller loads it whole.
pub fn ingest_in_pieces(
    path: &Path,
    profile: &Profile,
    out: &Path,
    piece_bytes: usize,
    progress: &dyn Progress,
) -> Result<Option<PiecedIngest>, LoadError> {
    let Some(mut pieces) = Pieces::open(path, profile, piece_bytes)? else {
        return Ok(None);
    };
    progress.start(pieces.file_bytes);
    let runs_dir = RunsDir::new(out)?;
    let mut runs: Vec<PathBuf> = Vec::new();
    let mut rejects: Vec<Reject> = Vec::new();
    let mut report: Option<LoadReport> = None;
    let mut only: Option<Snapshot> = None;
    // While the runs' ids follow each other (an export sorted by voter id), each run is
    // written into `out` as soon as it is sorted, on a thread of its own beside the next
    // piece's load: the merge would only write them one after the other.
    let (mut in_order, mut last_id) = (true, None::<String>);
    let mut concatenation: Option<Concatenation> = None;
    while let Some(piece) = pieces.next()? {
        progress.advance(piece.raw_bytes);
        let table = delimited::read(
            piece.text,
            pieces.encoding,
            path,
            profile,
            &super::NoProgress,
            false,
        )?;
        let (mut snapshot, mut piece_report) =
            table.into_snapshot(path, InputFormat::Delimited, pieces.gzipped)?;
        shift_lines(
            &mut snapshot.df,
            &mut piece_report.rejects,
            piece.line_shift,
            path,
        )?;
        rejects.append(&mut piece_report.rejects);
        report = Some(match report.take() {
            None => piece_report,
            Some(mut total) => {
                total.rows_read += piece_report.rows_read;
                total.rows_loaded += piece_report.rows_loaded;
                total
            }
        });
        if piece.last && runs.is_empty() {
            only = Some(snapshot);
            break;
        }
        let run = runs_dir.path(runs.len());
        write_run(&snapshot.df, &run)?;
        runs.push(run);
        let ids = snapshot.voter_ids();
        // (polars' `get` panics past the end: a piece of rejected rows only has none.)
        let ends = (!ids.is_empty()).then(|| (ids.get(0), ids.get(ids.len() - 1)));
        if let Some((Some(first), Some(last))) = ends {
            // In order while each run's ids all come after the last run's.
            in_order &= last_id.as_deref().is_none_or(|before| before < first);
            last_id = Some(last.to_string());
        }
        if in_order {
            concatenation
                .get_or_insert_with(|| Concatenation::start(out, path))
                .add(runs.last().expect("just written"));
        } else {
            // Out of order: the runs are merged at the end, and what was written goes.
            concatenation = None;
        }
    }
    progress.finish();
    let mut report = report.ok_or_else(|| LoadError::Empty {
        path: path.to_path_buf(),
    })?;
    let digest = match only {
        Some(snapshot) => {
            super::write_snapshot(&snapshot, out)?;
            snapshot.digest
        }
        None => {
            let merged = match concatenation.take() {
                Some(concatenated) => concatenated.finish(&runs)?,
                None => merge_runs(&runs, out, path)?,
            };
            if !merged.repeats.is_empty() {
                repoint_repeats(&mut rejects, &merged.repeats);
                let raw = raw_lines(path, profile, piece_bytes, &merged.repeats)?;
                rejects.extend(merged.repeats.iter().zip(raw).map(|(&(line, first), raw)| {
                    Reject {
                        line,
                        reason: RejectReason::DuplicateVoterId { first_line: first },
                        raw,
                    }
                }));
            }
            report.rows_loaded = merged.rows;
            merged.digest
        }
    };
    rejects.sort_by_key(|r| r.line);
    report.rows_rejected = rejects.len() as u64;
    report.rejects = rejects;
    debug_assert_eq!(
        report.rows_read,
        report.rows_loaded + report.rows_rejected,
        "row conservation"
    );
    Ok(Some(PiecedIngest { report, digest }))
}

/// A piece of text ready to load: the header, then whole records.
pub(super) struct Piece {
    pub text: Vec<u8>,
    /// Added to the piece's line numbers to make them the file's.
    pub line_shift: u64,
    /// Input bytes (as stored: compressed, undecoded) read for this piece.
    pub raw_bytes: u64,
    last: bool,
}

/// The text of one input, read a piece at a time.
pub(super) struct Pieces {
    reader: Box<dyn Read + Send>,
    path: PathBuf,
    profile: Profile,
    latin1: bool,
    pub encoding: &'static str,
    pub gzipped: bool,
    pub file_bytes: u64,
    piece_bytes: usize,
    /// The header record as it stands in the file, line break included (empty without one).
    header: Vec<u8>,
    /// Decoded text not yet handed out; it starts at a record start (or at the header).
    carry: Vec<u8>,
    /// The file line of `carry`'s first byte.
    line: u64,
    eof: bool,
    first: bool,
}

impl Pieces {
    /// `None` when the input is not delimited text in a byte encoding, or is fixed-width
    /// (its reader has no piecewise cut yet): the caller loads it whole. Pieces are at least
    /// a byte.
    pub(super) fn open(
        path: &Path,
        profile: &Profile,
        piece_bytes: usize,
    ) -> Result<Option<Pieces>, LoadError> {
        if profile.is_fixed_width() {
            return Ok(None);
        }
        let piece_bytes = piece_bytes.max(1);
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let file_bytes = file.metadata().map_err(io)?.len();
        let mut magic = [0u8; 2];
        let got = read_full(&mut file, &mut magic).map_err(io)?;
        let gzipped = magic[..got] == *GZIP_MAGIC;
        let file = std::io::Cursor::new(magic[..got].to_vec()).chain(file);
        let reader: Box<dyn Read + Send> = if gzipped {
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        let mut pieces = Pieces {
            reader,
            path: path.to_path_buf(),
            profile: profile.clone(),
            latin1: false,
            encoding: "utf-8",
            gzipped,
            file_bytes,
            piece_bytes,
            header: Vec::new(),
            carry: Vec::new(),
            line: 1,
            eof: false,
            first: true,
        };
        // The format is told from the first bytes, before a piece is read: a columnar input
        // goes to its own reader having cost a probe. The first piece is never shorter than
        // the probe, which also decides the byte-order mark.
        let mut head = Vec::new();
        pieces.read_onto(&mut head, PROBE_BYTES)?;
        let probe = source::classify(head.clone(), path);
        let byte_encoding = matches!(profile.encoding, Encoding::Utf8 | Encoding::Latin1);
        let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
        if !matches!(probe.map(|p| p.format), Ok(InputFormat::Delimited)) || !byte_encoding || utf16
        {
            return Ok(None);
        }
        if !pieces.eof && piece_bytes > PROBE_BYTES {
            pieces.read_onto(&mut head, piece_bytes - PROBE_BYTES)?;
        }
        // The first read decides the encoding label and drops a byte-order mark, as a
        // whole-file load does; a text that looks like UTF-16 is refused there, so it goes
        // there.
        let Ok((text, label)) = source::decode_text(head, profile.encoding, path) else {
            return Ok(None);
        };
        // A byte-order mark wins over the profile: the rest is decoded as the first piece was.
        pieces.latin1 = label == "latin-1";
        pieces.encoding = label;
        pieces.carry = text;
        Ok(Some(pieces))
    }

    /// Appends up to `want` more input bytes, decompressed, to `buf` (zeroing a whole piece
    /// first kept its pages resident, however short the file); sets `eof` at the end.
    fn read_onto(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<u64, LoadError> {
        buf.reserve(want);
        let got = (&mut self.reader)
            .take(want as u64)
            .read_to_end(buf)
            .map_err(|source| LoadError::Gzip {
                path: self.path.clone(),
                source,
            })?;
        self.eof |= got < want;
        Ok(got as u64)
    }

    /// The next piece. After the first, `carry` starts with the header, so that a piece's
    /// text (the header, then its records) is cut from it without being copied again.
    pub(super) fn next(&mut self) -> Result<Option<Piece>, LoadError> {
        let mut raw_bytes = 0u64;
        if !self.first && !self.eof {
            raw_bytes += self.read_more()?;
        } else if self.first {
            raw_bytes += self.carry.len() as u64;
        }
        let prefix = if self.first { 0 } else { self.header.len() };
        if self.carry.len() == prefix && self.eof && !self.first {
            return Ok(None);
        }
        loop {
            // The body starts after the header.
            let body = if self.first {
                self.header_end()
            } else {
                (prefix, self.line)
            };
            let cut = if self.eof {
                Some((self.carry.len(), 0))
            } else {
                delimited::record_starts(&self.carry, body, &self.profile)
                    .last()
                    .copied()
                    .filter(|&(at, _)| at > body.0)
            };
            let Some((cut, cut_line)) = cut else {
                // No record starts after the first: a record longer than a piece.
                raw_bytes += self.read_more()?;
                continue;
            };
            if self.first {
                self.header = self.carry[..body.0].to_vec();
            }
            let mut rest = Vec::with_capacity(self.header.len() + self.carry.len() - cut);
            rest.extend_from_slice(&self.header);
            rest.extend_from_slice(&self.carry[cut..]);
            self.carry.truncate(cut);
            let text = std::mem::replace(&mut self.carry, rest);
            // The loader numbers a later piece's first record after the header's lines.
            let line_shift = match self.first {
                true => 0,
                false => self.line - (1 + count_breaks(&self.header, 0, self.header.len())),
            };
            self.first = false;
            if !self.eof {
                self.line = cut_line;
            }
            return Ok(Some(Piece {
                text,
                line_shift,
                raw_bytes,
                last: self.eof && self.carry.len() == self.header.len(),
            }));
        }
    }

    /// Where the first piece's body starts, and its line: after the header record when the
    /// profile has one.
    fn header_end(&self) -> (usize, u64) {
        if !self.profile.header {
            return (0, 1);
        }
        let end = delimited::first_record_end(&self.carry, &self.profile);
        (end, 1 + count_breaks(&self.carry, 0, end))
    }

    /// Reads up to a piece more into `carry`, decoded; returns the input bytes read.
    fn read_more(&mut self) -> Result<u64, LoadError> {
        if self.latin1 {
            let mut raw = Vec::new();
            self.read_onto(&mut raw, self.piece_bytes)?;
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&raw);
            self.carry.extend_from_slice(text.as_bytes());
            return Ok(raw.len() as u64);
        }
        // UTF-8 is read straight into `carry`.
        let mut carry = std::mem::take(&mut self.carry);
        let got = self.read_onto(&mut carry, self.piece_bytes);
        self.carry = carry;
        got
    }
}

/// Adds `shift` to a piece's line numbers: its rows' and its rejects'.
fn shift_lines(
    df: &mut DataFrame,
    rejects: &mut [Reject],
    shift: u64,
    path: &Path,
) -> Result<(), LoadError> {
    if shift == 0 {
        return Ok(());
    }
    for r in rejects.iter_mut() {
        r.line += shift;
        if let RejectReason::DuplicateVoterId { first_line } = &mut r.reason {
            *first_line += shift;
        }
    }
    super::ingested::shift_line_column(df, shift).map_err(|e| internal(path, e))
}

/// A directory for the run files beside the output, removed with everything in it when
/// dropped (after the merge, or on an error).
struct RunsDir(PathBuf);

impl RunsDir {
    fn new(out: &Path) -> Result<RunsDir, LoadError> {
        let dir = crate::files::temp_name(&out.with_extension("runs"));
        std::fs::create_dir(&dir).map_err(|source| LoadError::WriteIo {
            path: dir.clone(),
            source,
        })?;
        Ok(RunsDir(dir))
    }

    fn path(&self, k: usize) -> PathBuf {
        self.0.join(format!("run-{k:05}.parquet"))
    }
}

impl Drop for RunsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_run(df: &DataFrame, path: &Path) -> Result<(), LoadError> {
    let file = crate::files::create_private(path).map_err(|source| LoadError::WriteIo {
        path: path.to_path_buf(),
        source,
    })?;
    let mut df = df.clone();
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Uncompressed)
        .with_row_group_size(Some(RUN_GROUP_ROWS))
        .finish(&mut df)
        .map(|_| ())
        .map_err(|source| LoadError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// What merging the runs wrote.
struct Merged {
    rows: u64,
    digest: Digest,
    /// Repeated ids found across runs: (line rejected, first line), by line.
    repeats: Vec<(u64, u64)>,
}

/// One run's current row group.
struct Head {
    reader: IngestedReader,
    df: DataFrame,
    ids: Vec<Option<String>>,
    lines: Vec<u64>,
    pos: usize,
}

impl Head {
    fn load(mut reader: IngestedReader, path: &Path) -> Result<Option<Head>, LoadError> {
        let Some(df) = reader.next_group()? else {
            return Ok(None);
        };
        let ids = df
            .column(Field::VoterId.name())
            .and_then(|c| {
                c.str()
                    .map(|s| s.iter().map(|v| v.map(str::to_string)).collect())
            })
            .map_err(|e| internal(path, e))?;
        let lines = df
            .column(LINE_COLUMN)
            .and_then(|c| c.u64().map(|s| s.into_no_null_iter().collect()))
            .map_err(|e| internal(path, e))?;
        Ok(Some(Head {
            reader,
            df,
            ids,
            lines,
            pos: 0,
        }))
    }

    fn id(&self) -> Option<&str> {
        self.ids.get(self.pos).and_then(|v| v.as_deref())
    }
}

/// Merges the sorted runs into `out` in `voter_id` order (see the module docs).
fn merge_runs(runs: &[PathBuf], out: &Path, source: &Path) -> Result<Merged, LoadError> {
    let mut heads: Vec<Option<Head>> = Vec::with_capacity(runs.len());
    for run in runs {
        heads.push(Head::load(IngestedReader::open(run)?, source)?);
    }
    let mut writer = super::IngestedWriter::create(out, source);
    let mut merged = Merged {
        rows: 0,
        digest: Digest::default(),
        repeats: Vec::new(),
    };
    // Rows of the next output group, as (run, row in its current group).
    let mut pending: Vec<(usize, usize)> = Vec::with_capacity(OUT_GROUP_ROWS);
    loop {
        let smallest = heads
            .iter()
            .enumerate()
            .filter_map(|(k, h)| h.as_ref().and_then(|h| h.id()).map(|id| (id, k)))
            .min();
        let Some((id, first)) = smallest else { break };
        let id = id.to_string();
        let first_line = heads[first].as_ref().map_or(0, |h| h.lines[h.pos]);
        pending.push((first, heads[first].as_ref().map_or(0, |h| h.pos)));
        // Runs are in line order: a later run's row with this id repeats the first.
        let mut exhausted = false;
        for (k, head) in heads.iter_mut().enumerate() {
            let Some(h) = head else { continue };
            if h.id() == Some(id.as_str()) {
                if k != first {
                    merged.repeats.push((h.lines[h.pos], first_line));
                }
                h.pos += 1;
                exhausted |= h.pos == h.ids.len();
            }
        }
        if exhausted || pending.len() == OUT_GROUP_ROWS {
            flush(&heads, &mut pending, &mut writer, &mut merged, source)?;
            for head in heads.iter_mut() {
                if head.as_ref().is_some_and(|h| h.pos == h.ids.len()) {
                    let h = head.take().expect("checked above");
                    *head = Head::load(h.reader, source)?;
                }
            }
        }
    }
    flush(&heads, &mut pending, &mut writer, &mut merged, source)?;
    if merged.rows == 0 {
        // Every run empty: an ingested file of no rows, as a whole-file load writes it.
        let empty = IngestedReader::open(&runs[0])?.empty()?;
        writer.write_frame(empty)?;
    }
    writer.finish()?;
    merged.repeats.sort_unstable();
    Ok(merged)
}

/// [`merge_runs`] of runs whose ids follow each other: each run's row groups are written as
/// they are, one run after the other, as the runs are given. The merge writes the same groups
/// (it takes a run's rows until its current group is exhausted or an output group is full,
/// and the next run's ids come after all of them), so the file is the same bytes. The merge
/// (each row gathered, then every group encoded, at about one core) was the last two fifths
/// of ingesting a 10,000,000-voter export sorted by id (the generator's, and many registers'
/// own order); here the encoding runs beside the next piece's load. An empty group (a piece
/// whose rows were all rejected) adds nothing, as in the merge.
struct Concatenation {
    runs: Option<std::sync::mpsc::Sender<PathBuf>>,
    /// Set when the concatenation is given up: the thread stops at its next group.
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    writing: Option<std::thread::JoinHandle<Result<(super::IngestedWriter, Merged), LoadError>>>,
}

impl Concatenation {
    fn start(out: &Path, source: &Path) -> Concatenation {
        let (runs, to_write) = std::sync::mpsc::channel::<PathBuf>();
        let (out, source) = (out.to_path_buf(), source.to_path_buf());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let writing = std::thread::spawn(move || {
            let mut writer = super::IngestedWriter::create(&out, &source);
            let mut merged = Merged {
                rows: 0,
                digest: Digest::default(),
                repeats: Vec::new(),
            };
            for run in to_write {
                let mut reader = IngestedReader::open(&run)?;
                while let Some(group) = reader.next_group()? {
                    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                        // Given up: the result is dropped, and the unfinished file with it.
                        return Ok((writer, merged));
                    }
                    // A run group over an output group's rows is cut where the merge cuts it.
                    for at in (0..group.height()).step_by(OUT_GROUP_ROWS) {
                        let part = group.slice(at as i64, OUT_GROUP_ROWS);
                        count_group(&part, &mut merged, &source)?;
                        writer.write_frame(part)?;
                    }
                }
            }
            Ok((writer, merged))
        });
        Concatenation {
            runs: Some(runs),
            stop,
            writing: Some(writing),
        }
    }

    /// Writes `run` after the runs before it (a failed writer says why at [`finish`]).
    ///
    /// [`finish`]: Concatenation::finish
    fn add(&self, run: &Path) {
        if let Some(runs) = &self.runs {
            let _ = runs.send(run.to_path_buf());
        }
    }

    /// Waits for the runs given to be written, and moves the file into place. `runs` are
    /// those runs (an export whose every row was rejected is written as an empty file).
    fn finish(mut self, runs: &[PathBuf]) -> Result<Merged, LoadError> {
        self.runs = None;
        let writing = self.writing.take().expect("finished once");
        let (mut writer, merged) = writing.join().expect("the writing thread does not panic")?;
        if merged.rows == 0 {
            writer.write_frame(IngestedReader::open(&runs[0])?.empty()?)?;
        }
        writer.finish()?;
        Ok(merged)
    }
}

impl Drop for Concatenation {
    /// A concatenation given up (runs out of order, an error) waits for its thread, whose
    /// unfinished file is then removed ([`super::IngestedWriter`]'s drop).
    fn drop(&mut self) {
        self.runs = None;
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(writing) = self.writing.take() {
            let _ = writing.join();
        }
    }
}

/// [`merge_runs`] of runs whose ids follow each other ([`Concatenation`]).
#[cfg(test)]
fn concatenate_runs(runs: &[PathBuf], out: &Path, source: &Path) -> Result<Merged, LoadError> {
    let concatenation = Concatenation::start(out, source);
    for run in runs {
        concatenation.add(run);
    }
    concatenation.finish(runs)
}

/// Adds a written group's rows to `merged`'s count and digest.
fn count_group(group: &DataFrame, merged: &mut Merged, source: &Path) -> Result<(), LoadError> {
    let fingerprints: Vec<u64> = group
        .column(FINGERPRINT_COLUMN)
        .and_then(|c| c.u64().map(|s| s.into_no_null_iter().collect()))
        .map_err(|e| internal(source, e))?;
    merged.digest = merged.digest.combine(Digest::of(&fingerprints));
    merged.rows += group.height() as u64;
    Ok(())
}

/// Writes the pending rows as one row group, gathered from the runs' current groups.
fn flush(
    heads: &[Option<Head>],
    pending: &mut Vec<(usize, usize)>,
    writer: &mut super::IngestedWriter,
    merged: &mut Merged,
    source: &Path,
) -> Result<(), LoadError> {
    if pending.is_empty() {
        return Ok(());
    }
    // The runs' groups one above the other, and each pending row's index in that stack.
    let mut offsets = vec![0usize; heads.len()];
    let mut stack: Option<DataFrame> = None;
    let mut height = 0;
    for (k, head) in heads.iter().enumerate() {
        offsets[k] = height;
        if let Some(h) = head {
            height += h.df.height();
            match &mut stack {
                None => stack = Some(h.df.clone()),
                Some(s) => {
                    s.vstack_mut(&h.df).map_err(|e| internal(source, e))?;
                }
            }
        }
    }
    let stack = stack.expect("a pending row comes from a run with a group");
    let idx: Vec<u32> = pending
        .iter()
        .map(|&(k, row)| (offsets[k] + row) as u32)
        .collect();
    let mut group = stack
        .take(&IdxCa::from_vec("idx".into(), idx))
        .map_err(|e| internal(source, e))?;
    group.rechunk_mut();
    count_group(&group, merged, source)?;
    writer.write_frame(group)?;
    pending.clear();
    Ok(())
}

/// Re-points the rejects of repeats inside a piece whose first line was itself rejected as a
/// repeat across pieces: at the first line of all.
fn repoint_repeats(rejects: &mut [Reject], repeats: &[(u64, u64)]) {
    for r in rejects.iter_mut() {
        if let RejectReason::DuplicateVoterId { first_line } = &mut r.reason {
            if let Ok(k) = repeats.binary_search_by_key(first_line, |&(line, _)| line) {
                *first_line = repeats[k].1;
            }
        }
    }
}

/// The raw text of the records starting on the lines of `repeats` (sorted), read again from
/// the source.
pub(super) fn raw_lines(
    path: &Path,
    profile: &Profile,
    piece_bytes: usize,
    repeats: &[(u64, u64)],
) -> Result<Vec<String>, LoadError> {
    let mut pieces =
        Pieces::open(path, profile, piece_bytes)?.expect("the source was read in pieces before");
    let mut raw = Vec::with_capacity(repeats.len());
    let mut want = repeats.iter().map(|&(line, _)| line).peekable();
    while let Some(piece) = pieces.next()? {
        let starts = delimited::record_starts(&piece.text, (0, 1), &pieces.profile);
        // The header's start is not a row's.
        let header = usize::from(pieces.profile.header);
        for (i, &(at, line)) in starts.iter().enumerate().skip(header) {
            let line = line + piece.line_shift;
            if want.peek() == Some(&line) {
                let end = starts.get(i + 1).map_or(piece.text.len(), |s| s.0);
                raw.push(raw_text(&piece.text, at, end));
                want.next();
            }
        }
        if want.peek().is_none() {
            break;
        }
    }
    // A line the second read did not find (the file changed underneath): no text, not a panic.
    raw.resize(repeats.len(), String::new());
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs whose ids follow each other, concatenated, are the bytes the merge writes: two
    /// runs of 150,000 rows, each read back in several row groups.
    #[test]
    fn runs_in_order_are_written_as_the_merge_writes_them() {
        let mut csv = String::from("voter_id,given_name,family_name,birth_date\n");
        for i in 0..300_000 {
            let day = i % 28 + 1;
            csv.push_str(&format!(
                "V{i:07},G{},F{},1970-01-{day:02}\n",
                i % 97,
                i % 1009
            ));
        }
        let source = Path::new("in-order.csv");
        let loaded = super::super::load_bytes(
            csv.into_bytes(),
            source,
            &Profile::canonical(),
            &super::super::NoProgress,
        )
        .unwrap();
        let df = loaded.snapshot.df;
        let out =
            std::env::temp_dir().join(format!("rollaudit-runs-{}.parquet", std::process::id()));
        let dir = RunsDir::new(&out).unwrap();
        let runs = [dir.path(0), dir.path(1)];
        write_run(&df.slice(0, 150_000), &runs[0]).unwrap();
        write_run(&df.slice(150_000, 150_000), &runs[1]).unwrap();
        let mut groups = 0;
        let mut run = IngestedReader::open(&runs[0]).unwrap();
        while run.next_group().unwrap().is_some() {
            groups += 1;
        }
        assert!(
            groups >= 2,
            "a run of 150,000 rows is read in {groups} group(s)"
        );

        let (merged_file, concatenated_file) = (
            dir.0.join("merged.parquet"),
            dir.0.join("concatenated.parquet"),
        );
        let merged = merge_runs(&runs, &merged_file, source).unwrap();
        let concatenated = concatenate_runs(&runs, &concatenated_file, source).unwrap();
        assert_eq!(
            (merged.rows, merged.digest, merged.repeats.len()),
            (300_000, loaded.snapshot.digest, 0)
        );
        assert_eq!(
            (concatenated.rows, concatenated.digest),
            (merged.rows, merged.digest)
        );
        assert!(
            std::fs::read(&merged_file).unwrap() == std::fs::read(&concatenated_file).unwrap(),
            "the two files differ"
        );
    }
}
