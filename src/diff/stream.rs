//! The diff of registers larger than memory: two ingested Parquet files merged a window at a
//! time.
//!
//! Both files are sorted by `voter_id` with unique ids ([`IngestedReader`] checks it as it
//! reads), so the keyed merge of [`super::diff`] can run over aligned windows. Each side
//! buffers at least `window_rows` rows (whole row groups); the window then takes, from both
//! sides, every buffered row with an id up to the smaller of the two sides' last buffered ids
//! (a side that has reached its end does not bound it). No id of a later window can fall in an
//! earlier one, so every id is paired exactly as a merge of the whole files would pair it.
//! Memory holds one window and the rows carried over to the next, not the register; the
//! caller writes each window's change log before the next is read.
//!
//! # Re-keying across windows
//! A re-keying pairs a record that left with one that arrived under another id, and the two
//! ids are generally in different windows. A first pass therefore reads only the columns that
//! decide it (ids, status, names, birth date and address line), diffs the windows without
//! re-keying, and pairs the exits with the arrivals of the whole register by the same
//! one-to-one identity rule the in-memory diff uses ([`super::classify`]). The second pass
//! diffs every field and labels the pairs it was given. Both passes read the files; the
//! first reads about a third of their columns.
//!
//! # One side in memory
//! An audit holds its latest snapshot whole (its scan and dedupe need it) and diffs an earlier
//! ingested snapshot against it without loading that one ([`Input::Loaded`]): the windows are
//! then cut by the file's row groups alone, each taking the slice of the latest snapshot up to
//! the window's last id, and the earlier snapshot is never held whole (issue #16).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::DataFrame;

use super::classify::{identity, one_to_one};
use super::{diff, ChangeKind, DiffConfig, DiffResult, RekeyedIds, Rekeying};
use crate::load::{IngestedReader, LoadError};
use crate::model::{Field, FINGERPRINT_COLUMN, LINE_COLUMN};
use crate::snapshot::{compact_frame, Snapshot};

/// Rows each side buffers before a window is cut, by default: at 10^6 rows a side a window
/// holds about 1 GB of Arrow memory in all (two sides of ~25 text columns), small enough for
/// any machine that runs the tool and large enough that the per-window work (one parallel
/// classification, one Parquet row group of the change log) stays amortised.
pub const DEFAULT_WINDOW_ROWS: usize = 1_000_000;

/// Fields the re-keying pass reads: the merge key, what makes a record an exit, and the
/// identity a re-keyed record keeps.
const REKEY_FIELDS: [Field; 7] = [
    Field::VoterId,
    Field::GivenName,
    Field::FamilyName,
    Field::BirthDate,
    Field::BirthYear,
    Field::AddressLine,
    Field::Status,
];

/// One side of a streamed diff.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// An ingested file, read a row group at a time.
    File(&'a Path),
    /// An ingested file read a row group at a time, each coded as it is read
    /// ([`Snapshot::compact`]), as an audit holds its snapshots.
    CodedFile(&'a Path),
    /// A snapshot already in memory (an audit's latest), loaded from the file named, and
    /// taken a slice at a time.
    Loaded(&'a Snapshot, &'a Path),
}

/// One side being read, and its rows not yet given to a window.
struct Side {
    /// `None` for a snapshot in memory: all its rows are buffered from the start.
    reader: Option<IngestedReader>,
    path: PathBuf,
    coded: bool,
    fields: Vec<Field>,
    buffered: Option<DataFrame>,
    /// No rows, with the side's columns.
    empty: DataFrame,
    done: bool,
}

impl Side {
    fn open(input: Input<'_>, only: Option<&[Field]>) -> Result<Side, LoadError> {
        let (path, coded) = match input {
            Input::File(path) => (path, false),
            Input::CodedFile(path) => (path, true),
            Input::Loaded(snapshot, path) => {
                let mut fields = snapshot.fields.clone();
                if let Some(only) = only {
                    fields.retain(|f| only.contains(f));
                }
                let mut columns: Vec<&str> = fields.iter().map(|f| f.name()).collect();
                columns.extend([FINGERPRINT_COLUMN, LINE_COLUMN]);
                let df = snapshot
                    .df
                    .select(columns)
                    .map_err(|source| LoadError::Columnar {
                        path: path.to_path_buf(),
                        format: "Parquet",
                        source,
                    })?;
                return Ok(Side {
                    reader: None,
                    path: path.to_path_buf(),
                    coded: false,
                    fields,
                    empty: df.clear(),
                    buffered: Some(df),
                    done: true,
                });
            }
        };
        let mut reader = IngestedReader::open(path)?;
        if let Some(only) = only {
            reader.project(only);
        }
        let mut empty = reader.empty()?;
        if coded {
            compact_frame(&mut empty);
        }
        Ok(Side {
            fields: reader.fields().to_vec(),
            reader: Some(reader),
            path: path.to_path_buf(),
            coded,
            buffered: None,
            empty,
            done: false,
        })
    }

    fn rows(&self) -> usize {
        self.buffered.as_ref().map_or(0, DataFrame::height)
    }

    /// Reads whole row groups, on every core, until at least `rows` are buffered or the
    /// file ends.
    fn fill(&mut self, rows: usize) -> Result<(), LoadError> {
        while !self.done && self.rows() < rows {
            let Some(reader) = self.reader.as_mut() else {
                self.done = true;
                break;
            };
            let coded = self.coded;
            let buffered = self.buffered.as_ref().map_or(0, DataFrame::height);
            let groups = reader.next_groups(rows - buffered, |group| {
                if coded {
                    compact_frame(group);
                }
            })?;
            self.done = groups.is_empty();
            for group in groups {
                match &mut self.buffered {
                    Some(df) => {
                        df.vstack_mut_owned(group).map_err(|e| reader.internal(e))?;
                    }
                    None => self.buffered = Some(group),
                }
            }
        }
        Ok(())
    }

    /// The last buffered id (the largest, as the file is sorted).
    fn last_id(&self) -> Option<String> {
        let df = self.buffered.as_ref()?;
        let ids = df.column(Field::VoterId.name()).ok()?.str().ok()?;
        ids.get(df.height().checked_sub(1)?).map(str::to_string)
    }

    /// Takes the buffered rows with ids up to `bound` (all of them without one) as a snapshot.
    fn take_through(&mut self, bound: Option<&str>) -> Result<Snapshot, LoadError> {
        let df = match self.buffered.take() {
            Some(df) => df,
            None => self.empty.clone(),
        };
        let cut = match bound {
            None => df.height(),
            Some(bound) => {
                let ids = df
                    .column(Field::VoterId.name())
                    .and_then(|c| c.str())
                    .map_err(|e| self.internal(e))?;
                partition_point(df.height(), |k| ids.get(k).is_some_and(|id| id <= bound))
            }
        };
        let (head, rest) = (df.slice(0, cut), df.slice(cut as i64, df.height() - cut));
        if rest.height() > 0 {
            self.buffered = Some(rest);
        }
        Ok(Snapshot::new(head, self.fields.clone()))
    }

    fn internal(&self, source: polars::prelude::PolarsError) -> LoadError {
        match &self.reader {
            Some(reader) => reader.internal(source),
            None => LoadError::Columnar {
                path: self.path.clone(),
                format: "Parquet",
                source,
            },
        }
    }
}

/// The first index in `0..n` where `below` is false (`below` is true on a prefix).
fn partition_point(n: usize, below: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Calls `each` with every aligned window of the two files, in `voter_id` order (at least
/// once, with empty snapshots, if both files are empty).
fn windows(
    old: &mut Side,
    new: &mut Side,
    window_rows: usize,
    mut each: impl FnMut(&Snapshot, &Snapshot) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    let window_rows = window_rows.max(1);
    let mut any = false;
    loop {
        old.fill(window_rows)?;
        new.fill(window_rows)?;
        if any && old.rows() == 0 && new.rows() == 0 {
            return Ok(());
        }
        // A side still reading holds at least `window_rows` rows, so the side giving the
        // bound gives all of them: every window makes progress.
        let bound = [&*old, &*new]
            .into_iter()
            .filter(|s| !s.done)
            .filter_map(Side::last_id)
            .min();
        let (o, n) = (
            old.take_through(bound.as_deref())?,
            new.take_through(bound.as_deref())?,
        );
        each(&o, &n)?;
        any = true;
    }
}

/// An error of the streamed diff: reading an input, or what the caller does with a window.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Write(#[from] crate::files::WriteError),
}

/// Diffs two ingested Parquet files, or one and a snapshot in memory, window by window (see
/// the module documentation), calling `each` with every window's result and snapshots in
/// `voter_id` order. `rekeyed` comes from [`find_rekeyed`] on the same inputs. The results add
/// up to the in-memory diff's: the same change log in the same order, the same records and
/// counts.
pub fn diff_windows(
    old: Input<'_>,
    new: Input<'_>,
    config: &DiffConfig,
    rekeyed: RekeyedIds,
    window_rows: usize,
    mut each: impl FnMut(DiffResult, &Snapshot, &Snapshot) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    let config = DiffConfig {
        rekeying: Rekeying::Known(Arc::new(rekeyed)),
        ..config.clone()
    };
    let (mut old, mut new) = (Side::open(old, None)?, Side::open(new, None)?);
    windows(&mut old, &mut new, window_rows, |o, n| {
        each(diff(o, n, &config), o, n)
    })
}

/// Calls `each` with the rows of `input`, `only` the fields given (those it has) and the id, at least
/// `window_rows` at a time (whole row groups): a pass over a file the caller does not hold.
pub fn each_window(
    input: Input<'_>,
    only: &[Field],
    window_rows: usize,
    mut each: impl FnMut(&Snapshot),
) -> Result<(), LoadError> {
    // The reader checks the ids' order as it reads.
    let mut only = only.to_vec();
    only.push(Field::VoterId);
    let mut side = Side::open(input, Some(&only))?;
    loop {
        side.fill(window_rows.max(1))?;
        if side.rows() == 0 {
            return Ok(());
        }
        each(&side.take_through(None)?);
    }
}

/// The records at `rows` (ascending, distinct) of the ingested file at `path`, only their
/// voter ids, read a window of `window_rows` at a time, with the whole file's digest: what a
/// report names of a register never held whole (`rollaudit dedupe` of 100M voters names a
/// few million).
pub fn voter_ids_at(path: &Path, rows: &[u32], window_rows: usize) -> Result<Snapshot, LoadError> {
    let fields = [Field::VoterId];
    let (mut parts, mut digest) = (Vec::new(), crate::snapshot::Digest::default());
    let (mut offset, mut next) = (0, 0);
    each_window(Input::File(path), &fields, window_rows, |window| {
        let end = offset + window.rows() as u32;
        let upto = next + rows[next..].partition_point(|&row| row < end);
        let local: Vec<u32> = rows[next..upto].iter().map(|&row| row - offset).collect();
        parts.push(window.subset(&local));
        digest = digest.combine(window.digest);
        (offset, next) = (end, upto);
    })?;
    kept_parts(path, parts, Some(&fields), digest)
}

/// `parts`, windows of the ingested file at `path` or records of them, as one snapshot with
/// `digest` (the whole file's); for a file of no rows, none, with the file's columns (only
/// those of `only` when given).
pub fn kept_parts(
    path: &Path,
    parts: Vec<Snapshot>,
    only: Option<&[Field]>,
    digest: crate::snapshot::Digest,
) -> Result<Snapshot, LoadError> {
    let mut kept = match super::stacked(parts) {
        Some(kept) => kept,
        None => {
            let mut reader = IngestedReader::open(path)?;
            if let Some(only) = only {
                reader.project(only);
            }
            Snapshot::new(reader.empty()?, reader.fields().to_vec())
        }
    };
    kept.digest = digest;
    Ok(kept)
}

/// The first pass: the exits and arrivals of the whole register, paired one to one.
pub fn find_rekeyed(
    old: Input<'_>,
    new: Input<'_>,
    config: &DiffConfig,
    window_rows: usize,
) -> Result<RekeyedIds, StreamError> {
    let config = DiffConfig {
        rekeying: Rekeying::Skip,
        ..config.clone()
    };
    let mut old = Side::open(old, Some(&REKEY_FIELDS))?;
    let mut new = Side::open(new, Some(&REKEY_FIELDS))?;
    let mut exits: Vec<(String, String)> = Vec::new();
    let mut arrivals: Vec<(String, String)> = Vec::new();
    windows(&mut old, &mut new, window_rows, |o, n| {
        let result = diff(o, n, &config);
        for r in &result.records {
            match (r.old_row, r.new_row) {
                (Some(i), _) if r.kinds.contains(&ChangeKind::Removal) => {
                    if let (Some(key), Some(id)) =
                        (identity(o, i as usize), o.voter_ids().get(i as usize))
                    {
                        exits.push((key, id.to_string()));
                    }
                }
                (None, Some(j)) => {
                    if let (Some(key), Some(id)) =
                        (identity(n, j as usize), n.voter_ids().get(j as usize))
                    {
                        arrivals.push((key, id.to_string()));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    })?;
    let arrivals: HashMap<String, String> = one_to_one(exits, arrivals)
        .into_iter()
        .map(|(exit, arrival)| (arrival, exit))
        .collect();
    Ok(RekeyedIds::new(arrivals))
}
