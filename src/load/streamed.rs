//! A delimited export loaded into memory a piece of text at a time (issue #16).
//!
//! A whole-file load held the export's decoded text beside its converted columns until the
//! end, for the raw text of the rows it might reject as repeated ids. At 10,000,000 voters
//! that is 1.9 GB of text, and it set the peak of an audit of two CSV exports (6.7 GB), held
//! while the earlier snapshot loaded beside the latest one.
//!
//! Here the text is read and cut into pieces by `ingest`'s reader ([`Pieces`]) on a thread of
//! its own, and each piece is converted on every core as it arrives, while the next one is
//! read, then dropped: memory holds the converted rows and about three pieces. A piece's
//! batches are glued into one chunk on another thread while the next piece converts
//! ([`one_batch`]), so the snapshot has a chunk a piece and no whole-column glue at the end.
//! The rows, their order, the rejects and their lines are a whole-file load's. Only repeated
//! ids are found once every piece is in; the raw text of their rows is read again from the
//! source, for those lines only, as `ingest` does.

use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::thread::ScopedJoinHandle;

use polars::prelude::PolarsError;

use super::convert::ConvertedBatch;
use super::pieces::{raw_lines, Piece, Pieces};
use super::table::{internal, one_batch, LoadedTable};
use super::{delimited, InputFormat, LoadError, Loaded, NoProgress, Progress, RejectReason};
use crate::profile::Profile;

/// A piece's batches being glued into one.
type Gluing<'scope> = ScopedJoinHandle<'scope, Result<Option<ConvertedBatch>, PolarsError>>;

/// Whether [`load`] reads `path` a piece at a time: it is delimited text in a byte encoding
/// and `profile` is not fixed-width. It costs the 64-byte probe the loads start with; an
/// input that cannot be opened answers `false` (its load reports why).
pub fn reads_in_pieces(path: &Path, profile: &Profile) -> bool {
    matches!(Pieces::open(path, profile, 1), Ok(Some(_)))
}

/// Loads the delimited text of `path` a piece of about `piece_bytes` at a time. `None` when
/// the input is not delimited text in a byte encoding (UTF-8, Latin-1), or is fixed-width:
/// the caller loads it whole.
pub(super) fn load(
    path: &Path,
    profile: &Profile,
    piece_bytes: usize,
    progress: &dyn Progress,
    coded: bool,
) -> Result<Option<Loaded>, LoadError> {
    let Some(mut pieces) = Pieces::open(path, profile, piece_bytes)? else {
        return Ok(None);
    };
    progress.start(pieces.file_bytes);
    let (encoding, gzipped) = (pieces.encoding, pieces.gzipped);
    let mut whole: Option<LoadedTable> = None;
    std::thread::scope(|scope| -> Result<(), LoadError> {
        // One piece waits while one is converted: reading and cutting the next overlaps the
        // conversion without a third piece in memory.
        let (send, receive) = sync_channel::<Result<Piece, LoadError>>(1);
        scope.spawn(move || {
            while let Some(next) = pieces.next().transpose() {
                // A closed channel means the loader stopped on an error of its own.
                let failed = next.is_err();
                if send.send(next).is_err() || failed {
                    break;
                }
            }
        });
        // Each piece's batches are glued into one on a thread of their own while the next
        // piece converts (`table::one_batch`); one piece at a time.
        let mut gluing: Option<Gluing<'_>> = None;
        let mut glued: Vec<ConvertedBatch> = Vec::new();
        let mut collect = |gluing: Option<Gluing<'_>>| -> Result<(), LoadError> {
            if let Some(handle) = gluing {
                let one = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                glued.extend(one.map_err(|e| internal(path, e))?);
            }
            Ok(())
        };
        for piece in receive {
            let piece = piece?;
            progress.advance(piece.raw_bytes);
            let mut table =
                delimited::read(piece.text, encoding, path, profile, &NoProgress, coded)?;
            // The piece's text goes now; its rows' byte ranges in it mean nothing after.
            table.text = None;
            let mut batches = std::mem::take(&mut table.batches);
            for batch in &mut batches {
                batch.ranges = Vec::new();
                batch.lines.iter_mut().for_each(|l| *l += piece.line_shift);
                batch
                    .rejects
                    .iter_mut()
                    .for_each(|r| r.line += piece.line_shift);
            }
            collect(gluing.take())?;
            gluing = Some(scope.spawn(move || one_batch(batches)));
            match &mut whole {
                None => whole = Some(table),
                Some(whole) => whole.rows_read += table.rows_read,
            }
        }
        collect(gluing.take())?;
        if let Some(whole) = &mut whole {
            whole.batches = glued;
        }
        Ok(())
    })?;
    let Some(whole) = whole else {
        return Ok(None);
    };
    progress.finish();
    let (snapshot, mut report) = whole.into_snapshot(path, InputFormat::Delimited, gzipped)?;
    // The rows rejected as repeats, in line order (the report's rejects are sorted), with
    // their raw text from a second read.
    let repeats: Vec<(u64, u64)> = report
        .rejects
        .iter()
        .filter_map(|r| match r.reason {
            RejectReason::DuplicateVoterId { first_line } => Some((r.line, first_line)),
            _ => None,
        })
        .collect();
    if !repeats.is_empty() {
        let mut raw = raw_lines(path, profile, piece_bytes, &repeats)?.into_iter();
        for r in &mut report.rejects {
            if matches!(r.reason, RejectReason::DuplicateVoterId { .. }) {
                r.raw = raw.next().unwrap_or_default();
            }
        }
    }
    Ok(Some(Loaded { snapshot, report }))
}
