//! Memory: what a run will need, and what a file may declare.
//!
//! Two guards share one quantity, the memory the kernel says this process can have
//! ([`available_memory`]):
//! - before a run, [`estimate`] predicts its peak from the input files alone, and the binary
//!   refuses a run that cannot fit rather than be killed halfway;
//! - during a load, [`Limits`] bounds what a columnar file may declare before polars
//!   allocates from it.
//!
//! # What a run will need
//! A register audit holds every snapshot in Arrow memory, so its peak grows with the size of
//! its inputs. [`estimate`] predicts the peak from the input files alone (sizes on disk, the
//! gzip trailer), before anything is read, and the binary refuses a run whose estimate
//! exceeds the memory the kernel says is available.
//!
//! ## The model
//! Each input counts as the bytes of text it holds (`T`): a CSV file its size; a gzip file
//! its uncompressed size from the gzip trailer (`ISIZE`, the size modulo 2^32, so a trailer
//! smaller than the compressed file is taken to have wrapped and the file counts as
//! [`GZIP_RATIO`] times its size); a Parquet or Arrow file [`COLUMNAR_RATIO`] times its size.
//! The peak is then
//!
//! `peak = RETAINED * ΣT + TRANSIENT * max T`
//!
//! - [`RETAINED`] = 3.5: a loaded snapshot (typed Arrow columns, fingerprints, the diff's
//!   and the dedupe's working sets) stays resident until the run ends;
//! - [`TRANSIENT`] = 2: while one file loads, its text and the batches converted from it are
//!   held at once.
//!
//! Fitted on release runs over generated registers of 1M voters (190 MB of CSV each) on the
//! project's 2-core, 24 GiB machine: `ingest` of one CSV peaked at 1004 MiB (model 1045),
//! `diff` of two at 1505 MiB (model 1710), `audit` of three at 2.35 GB (model 2375). The
//! constants err on the high side: refusing a run that would have fitted costs a flag
//! (`--skip-memory-check`), being killed by the kernel after an hour costs the hour.
//!
//! An audit whose snapshots are all ingested files or delimited exports (read a piece at a
//! time) has a model of its own ([`estimate_audit`]): it holds them coded, and plans its
//! dedupe within the budget. So do `scan` and `dedupe` of such a snapshot ([`estimate_one`]).
//!
//! # What a file may declare
//!
//! Parquet and Arrow IPC files carry lengths (rows, values, buffer sizes, decompressed sizes)
//! that polars' readers trust: they allocate what the file declares before reading it, and an
//! allocation that fails aborts the process, which no `catch_unwind` can turn into an error. A
//! hostile file declaring 1.7e18 bytes must therefore be refused before polars sees it.
//!
//! The bounds come from one quantity, the memory the machine has to give: what the file
//! declares must fit in it, or loading it could not succeed anyway.
//! - **Bytes**: the column data a file declares (buffer lengths, decompressed lengths, the
//!   uncompressed sizes of Parquet column chunks), summed over the whole file, must not exceed
//!   the memory available, since polars materialises all of it.
//! - **Values**: a field node or column chunk declares a count of values; every value costs
//!   at least one byte once loaded (the loader renders each one as text), so the count summed
//!   over the file must not exceed the available bytes. This catches Null columns, which store
//!   nothing in the file and cost memory only once read.
//! - **Rows**: every loaded row costs the loader at least [`ROW_COST`] bytes (its fingerprint
//!   and its line number, 8 bytes each), so rows summed over the file must not exceed the
//!   available bytes divided by that.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{GZIP_MAGIC, PARQUET_MAGIC};
use crate::profile::Profile;

/// Resident bytes per byte of input text kept for the whole run.
pub const RETAINED: f64 = 3.5;
/// Extra resident bytes per byte of text of the file being loaded.
pub const TRANSIENT: f64 = 2.0;
/// Text bytes per byte of an ingested Parquet or Arrow file: our 1M-voter register is 190 MB
/// as CSV and 69 MB as ingested Parquet (2.75x), rounded up.
pub const COLUMNAR_RATIO: f64 = 3.0;
/// Text bytes per byte of gzip when the trailer cannot tell (files over 4 GiB): register
/// CSVs compress 4-5x with gzip's default level; 6 errs on the high side.
pub const GZIP_RATIO: f64 = 6.0;

/// What a run over some inputs is expected to need.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryEstimate {
    /// Bytes of text the inputs hold (see the module documentation).
    pub input_text_bytes: u64,
    /// Predicted peak resident memory.
    pub peak_bytes: u64,
}

/// Estimates the peak memory of a run that loads `inputs`. A file that cannot be opened is
/// counted as empty: the load itself reports it, with its own message.
pub fn estimate(inputs: &[&Path]) -> MemoryEstimate {
    let sizes: Vec<u64> = inputs.iter().map(|p| text_bytes(p).unwrap_or(0)).collect();
    let total: u64 = sizes.iter().sum();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    MemoryEstimate {
        input_text_bytes: total,
        peak_bytes: (RETAINED * total as f64 + TRANSIENT * largest as f64) as u64,
    }
}

/// An audit whose snapshots are all ingested files holds them coded (each is coded a row
/// group at a time as it is read: `load_ingested_coded`), and its dedupe compares its
/// candidates in parts sized to the budget. Its peak is then its dedupe
/// ([`AUDIT_DEDUPE_RETAINED`]) or the stage that holds two snapshots and the diff, which no
/// plan shrinks:
///
/// `peak = CODED_BASE + CODED_RETAINED * H` (snapshots), plus [`estimate`]'s share for any
/// other input (a death registry), where `H` is the text of the snapshots held whole at once
/// ([`held_at_once`]).
///
/// Fitted on release audits of two generated snapshots on the project's 2-core, 24 GiB
/// machine, at the smallest plans: 1M voters (T = 397 MiB in all) peaked at 770 MiB (model
/// 856), 10M voters (T = 4,053 MiB) at 5,546 MiB (model 5,974; 5,674 MiB with dedupe in one
/// part). For longer series see [`held_at_once`].
pub const CODED_RETAINED: f64 = 1.4;
/// What the process holds whatever the inputs (code, thread stacks, the string mapping).
pub const CODED_BASE: u64 = 300 << 20;

/// The share of an earlier snapshot's text an audit keeps once its diffs are taken: the
/// records they name (`diff::keep_named`). A generated series changes about 7% of its records
/// a quarter, so a snapshot between two diffs keeps about 14%; a quarter leaves room for
/// busier registers.
pub const KEPT_SHARE: f64 = 0.25;

/// The text of the snapshots an audit holds at once, from each snapshot's text `T` in date
/// order. The latest is held from the start (its scan and dedupe run first); the earlier
/// ones load in date order, each diffed with the one after it and then shrunk to the records
/// the diffs name (`crate::audit::run`). So the diff of snapshots `t` and `t + 1` holds those
/// two and the latest whole, and [`KEPT_SHARE`] of each snapshot before `t`: the largest such
/// sum (for two snapshots, both). A first snapshot diffed a window at a time is never whole:
/// its diff holds the [`KEPT_SHARE`] of it that it keeps and one window, `first_window` of it
/// (`Some` when it is windowed). Four ingested snapshots of 3M voters (T = 590 MiB each)
/// peaked at 2,726 MiB (session 18; 2,735 to 2,796 MiB in sessions 15 and 16); the coded
/// model gives 2,985 MiB, and gave 3,604 MiB when every snapshot was counted whole.
pub fn held_at_once(in_date_order: &[u64], first_window: Option<f64>) -> u64 {
    let Some(&latest) = in_date_order.last() else {
        return 0;
    };
    let last_pair = in_date_order.len().saturating_sub(2);
    let mut kept = 0.0;
    let mut most = latest;
    for (t, pair) in in_date_order.windows(2).enumerate() {
        let beside = if t < last_pair { latest } else { 0 };
        let old = match first_window {
            Some(window) if t == 0 => ((KEPT_SHARE + window.min(1.0)) * pair[0] as f64) as u64,
            _ => pair[0],
        };
        most = most.max(old + pair[1] + beside + kept as u64);
        kept += KEPT_SHARE * pair[0] as f64;
    }
    most
}

/// Resident bytes per byte of the latest snapshot's text while an audit deduplicates it
/// whole: the coded snapshot and dedupe's working set, beside the scan's findings. Two
/// 10M-voter ingested snapshots of seed 42 (T = 2,023 and 2,032 MiB) peaked at 5,464 MiB in
/// dedupe (session 23, commit 3832035), 2.54 T above [`CODED_BASE`]; 1M (T = 187 MiB) at
/// 758 MiB. A latest snapshot that is a delimited export is deduplicated so.
pub const AUDIT_DEDUPE_RETAINED: f64 = 2.6;

/// The same for an ingested file deduplicated a window at a time before it loads
/// (`crate::audit::dedupe_windows`), by `audit` or `dedupe`: dedupe's working set alone, the
/// normalised records above all. The 10M audit above peaked at 2,982 MiB in that stage
/// (session 24), 1.32 T above the base; at 1M, 421 MiB (0.65 T: the candidate pairs per
/// record grow with the register). `rollaudit dedupe` of the 10M latest file (T = 2,032 MiB)
/// peaked at 2,948 to 3,008 MiB over four runs, with its report's load; at 1M, 451 MiB. Since
/// its records are 96 bytes a row (session 27), 2,552 MiB at 10M (1.11 T above the base) and
/// 421 MiB at 1M.
pub const DEDUPE_WINDOWED_RETAINED: f64 = 1.2;

/// Resident bytes per byte of the latest snapshot's text that dedupe from windows holds
/// whatever the part of its candidate pairs: the normalised records and voter ids, and the
/// blocking. With `--memory-limit 3.4G` (a part's pairs within 870 MiB) the 10M audit's dedupe
/// peaked at 2,422 MiB, at most 0.62 T beside the part and the base; the 100M audit (T = 20.7
/// GiB) held 20,275 MiB while it compared parts within 2,637 MiB, 0.82 T beside them
/// (session 26). With 96-byte records (session 27) it held 14.6 GiB between parts, 0.69 T,
/// but a part held up to 3.5 GiB where [`crate::dedupe::BYTES_PER_PAIR`] gave it 2.4: the
/// 0.85 is kept, and its margin pays for that.
pub const DEDUPE_RECORDS_RETAINED: f64 = 0.85;

/// The same for the blocking that precedes the comparisons, whatever the parts: with parts
/// within 2,637 MiB the 100M audit peaked there at 22,980 MiB (RSS sampled every 5 s), 1.07
/// T above the base; the 10M audit's dedupe stayed below its comparisons' (session 26). With
/// 96-byte records and 8-byte unsorted keys (session 27), at 19,139 MiB, 0.89 T.
pub const DEDUPE_BLOCKING_RETAINED: f64 = 0.9;

/// Resident bytes per byte of the latest snapshot's text while its scan reads it a window at
/// a time (`crate::rules::scan_windows`): 9 bytes a row for each of four key hashes, the
/// grouping of one, a window and the records reported. `rollaudit scan` of the 10M latest
/// file (T = 2,032 MiB) peaked at 877 MiB, of a 100M one (T = 20.7 GiB) at 6,311 MiB (session
/// 26): 0.28 T above the base both times.
pub const SCAN_WINDOWED_RETAINED: f64 = 0.3;

/// Resident bytes per byte of the latest snapshot's text while an audit scans it: the coded
/// snapshot and the rules' working set. The 10M audit above peaked at 3,831 MiB in its scan
/// (session 24), 1.74 T above the base; at 1M, 572 MiB (1.45 T). Since the rules read the
/// uncoded text columns by row (session 25), the 10M scan peaked at 3,145 and 3,197 MiB
/// (1.40 and 1.43 T). It is the peak only where dedupe is not ([`DEDUPE_WINDOWED_RETAINED`])
/// and the diffs hold less.
pub const AUDIT_SCAN_RETAINED: f64 = 1.5;

/// The peak of an audit over `snapshots`, in date order (and `others`, loaded whole): the
/// coded model when every snapshot is an ingested file or delimited text that `profile`
/// reads a piece at a time ([`super::reads_in_pieces`]: its batches are coded as they are
/// converted, and at most a few pieces of its text are held, so it is held like an ingested
/// file; its text counts as its size here, or its gzip trailer's), unless [`estimate`]'s
/// model with the snapshots held at once ([`held_at_once`]) as the retained text of the
/// snapshots is lower, as it is for small inputs; else that model.
///
/// The coded model is the largest of three stages: the dedupe ([`AUDIT_DEDUPE_RETAINED`], or
/// [`DEDUPE_WINDOWED_RETAINED`] of a latest ingested file read `window_rows` at a time), the
/// scan ([`AUDIT_SCAN_RETAINED`]) and the diffs ([`CODED_RETAINED`] of the snapshots held at
/// once). With `window_first`, a first snapshot that is an ingested file is diffed
/// `window_rows` at a time, as `audit` does but on a cluster: it counts as the share it keeps
/// and a window's share of its rows. The 10M audit above peaked at 4,097 MiB in its diff
/// (session 24), against 4,136 MiB from the model (a window a tenth of the file).
///
/// The coded model fits the streamed loads of CSV exports too: the audit of two 10M-voter CSV
/// exports (T = 3,646 MiB) peaked at 5,219 MiB in its anomalies stage (session 21, commit
/// 4e7379b), against 5,405 MiB from the model.
pub fn estimate_audit(
    snapshots: &[&Path],
    others: &[&Path],
    profile: &Profile,
    window_rows: Option<usize>,
    window_first: bool,
) -> MemoryEstimate {
    let ingested = |p: Option<&&Path>| p.and_then(|p| super::IngestedReader::open(p).ok());
    // The share of the first snapshot's rows in one window, when it is diffed a window at a
    // time.
    let first_window = match (window_rows, ingested(snapshots.first())) {
        (Some(rows), Some(first)) if window_first && snapshots.len() >= 2 => {
            Some(rows as f64 / first.rows().max(1) as f64)
        }
        _ => None,
    };
    let latest_windowed = window_rows.is_some() && ingested(snapshots.last()).is_some();
    estimate_coded(snapshots, others, profile, |sizes| {
        let held = held_at_once(sizes, first_window);
        audit_stages(sizes, latest_windowed, held)
    })
}

/// [`estimate_audit`] of an audit of two ingested snapshots whose latest is read a window of
/// `window_rows` at a time for its scan and diff too, keeping only the records its scan and
/// dedupe name (`crate::audit::AuditJob::latest_in_windows`), within `budget`: its diff holds
/// [`KEPT_SHARE`] and a window's share of each snapshot, its scan
/// [`SCAN_WINDOWED_RETAINED`] (without a death registry, among `others`, which needs the
/// latest whole: [`AUDIT_SCAN_RETAINED`]), and its dedupe its pairs in parts
/// ([`dedupe_in_parts`]). `None` for any other audit. At 10M voters this model gives the
/// budget itself down to about 2.5 GiB (the audit peaked at 2,452 MiB within 3 GiB); at 100M
/// voters the larger of the budget and 18.9 GiB (dedupe's blocking), which this 24 GiB
/// machine's default budget (90% of the memory available, about 19 GiB when nothing else
/// runs) only just holds.
pub fn estimate_audit_latest_in_windows(
    snapshots: &[&Path],
    others: &[&Path],
    profile: &Profile,
    window_rows: usize,
    budget: u64,
) -> Option<MemoryEstimate> {
    let [first, latest] = snapshots else {
        return None;
    };
    let rows = |p: &Path| Some(super::IngestedReader::open(p).ok()?.rows().max(1) as f64);
    let shares =
        [rows(first)?, rows(latest)?].map(|n| KEPT_SHARE + (window_rows as f64 / n).min(1.0));
    let scan = match others {
        [] => SCAN_WINDOWED_RETAINED,
        _ => AUDIT_SCAN_RETAINED,
    };
    Some(estimate_coded(snapshots, others, profile, |sizes| {
        let held = sizes
            .iter()
            .zip(shares)
            .map(|(&t, share)| share * t as f64)
            .sum::<f64>();
        let latest = sizes.last().copied().unwrap_or(0);
        let dedupe = dedupe_in_parts(latest, budget);
        largest_stage(dedupe, scan * latest as f64, held as u64)
    }))
}

/// The working set of dedupe from windows of an ingested file of `latest` bytes of text, run
/// before anything else is held, within `budget`: its blocking
/// ([`DEDUPE_BLOCKING_RETAINED`]), or [`DEDUPE_RECORDS_RETAINED`] beside a part of its
/// candidate pairs ([`windowed_pairs_within`]), when that is less than all of them at once
/// ([`DEDUPE_WINDOWED_RETAINED`]).
fn dedupe_in_parts(latest: u64, budget: u64) -> f64 {
    let parts = DEDUPE_RECORDS_RETAINED * latest as f64 + pairs_within(budget, latest) as f64;
    (DEDUPE_WINDOWED_RETAINED * latest as f64)
        .min(parts.max(DEDUPE_BLOCKING_RETAINED * latest as f64))
}

/// The bytes a part of dedupe's candidate pairs may take within `budget` where it reads the
/// ingested file `latest` a window at a time before anything else is held (`rollaudit
/// dedupe`, or an audit that reads its latest a window at a time,
/// [`estimate_audit_latest_in_windows`]): what the base and its normalised records
/// ([`DEDUPE_RECORDS_RETAINED`]) leave, and at least an eighth of the budget. The default
/// plan gives a quarter (`crate::dedupe::pairs_per_part_within`); at 100M voters on a 24 GiB
/// machine that quarter took the audit to 22.7 GiB, over its 20.5 GiB budget (session 26).
pub fn windowed_pairs_within(budget: u64, latest: &Path) -> u64 {
    pairs_within(budget, text_bytes(latest).unwrap_or(0))
}

/// [`windowed_pairs_within`] of a latest snapshot of `latest` bytes of text.
fn pairs_within(budget: u64, latest: u64) -> u64 {
    let records = CODED_BASE + (DEDUPE_RECORDS_RETAINED * latest as f64) as u64;
    budget.saturating_sub(records).max(budget / 8)
}

/// The largest stage of an audit's coded model: its dedupe, its scan, or its diffs holding
/// `held` bytes of text (`sizes` the snapshots' text in date order).
fn audit_stages(sizes: &[u64], latest_windowed: bool, held: u64) -> u64 {
    let latest = sizes.last().copied().unwrap_or(0) as f64;
    let dedupe = if latest_windowed {
        DEDUPE_WINDOWED_RETAINED
    } else {
        AUDIT_DEDUPE_RETAINED
    } * latest;
    largest_stage(dedupe, AUDIT_SCAN_RETAINED * latest, held)
}

/// [`CODED_BASE`] and the largest of a dedupe and a scan holding `dedupe` and `scan` bytes
/// and the diffs holding `held` bytes of text.
fn largest_stage(dedupe: f64, scan: f64, held: u64) -> u64 {
    let diffs = CODED_RETAINED * held as f64;
    CODED_BASE + dedupe.max(scan).max(diffs) as u64
}

/// Resident bytes per byte of text of the one snapshot a `scan` or `dedupe` holds coded,
/// beside the rules' or the dedupe's working set. Fitted on release runs on the project's
/// 2-core, 24 GiB machine (session 22, commit d1f4c74), at 10M voters: `dedupe` of the CSV
/// export (T = 1,829 MiB) peaked at 4,467 MiB (model 4,690), of the same register ingested
/// (T = 2,191 MiB) at 4,250 MiB (model 5,558); `scan` of each at 3,330 and 3,281 MiB. At 1M
/// voters (T = 183 MiB), `dedupe` 505 MiB and `scan` 470 MiB (model 739). The whole-load model
/// gave 10,060 MiB for the 10M CSV.
pub const ONE_CODED_RETAINED: f64 = 2.4;

/// The peak of a `scan` or `dedupe` of `snapshot` (and `others`, loaded whole): when the
/// snapshot is coded as it is read (an ingested file, or delimited text `profile` reads a
/// piece at a time), `CODED_BASE + ONE_CODED_RETAINED * T` plus [`estimate`]'s share for the
/// others, unless [`estimate`]'s model for every input is lower; else that model. With
/// `dedupe_within` a budget, an ingested file is deduplicated a window at a time, its
/// candidate pairs in parts within that budget ([`dedupe_in_parts`]), and only the voter ids
/// the result names are read for its report.
pub fn estimate_one(
    snapshot: &Path,
    others: &[&Path],
    profile: &Profile,
    dedupe_within: Option<u64>,
) -> MemoryEstimate {
    let windowed = dedupe_within.filter(|_| super::IngestedReader::open(snapshot).is_ok());
    estimate_coded(&[snapshot], others, profile, |sizes| {
        CODED_BASE
            + match windowed {
                Some(budget) => dedupe_in_parts(sizes[0], budget),
                None => ONE_CODED_RETAINED * sizes[0] as f64,
            } as u64
    })
}

/// The model of a run over `snapshots` (in date order) and `others`: the whole-load model,
/// with the snapshots held at once ([`held_at_once`]) as their retained text; or, when every
/// snapshot is coded as it is read and it is lower, `coded`'s peak from the snapshots' text
/// plus [`estimate`]'s for the others.
fn estimate_coded(
    snapshots: &[&Path],
    others: &[&Path],
    profile: &Profile,
    coded: impl Fn(&[u64]) -> u64,
) -> MemoryEstimate {
    let size = |p: &&Path| text_bytes(p).unwrap_or(0);
    let sizes: Vec<u64> = snapshots.iter().map(size).collect();
    let rest = estimate(others);
    let input_text_bytes = sizes.iter().sum::<u64>() + rest.input_text_bytes;
    let coded_as_read =
        |p: &&Path| super::IngestedReader::open(p).is_ok() || super::reads_in_pieces(p, profile);
    let largest = snapshots.iter().chain(others).map(size).max().unwrap_or(0);
    let retained = held_at_once(&sizes, None) + rest.input_text_bytes;
    let whole = (RETAINED * retained as f64 + TRANSIENT * largest as f64) as u64;
    // Loaded whole, a run holds at least what it holds coded: the whole-load model bounds
    // both, and is the closer one for small inputs, where the coded model's base dominates.
    let peak_bytes = if !snapshots.is_empty() && snapshots.iter().all(coded_as_read) {
        (coded(&sizes) + rest.peak_bytes).min(whole)
    } else {
        whole
    };
    MemoryEstimate {
        input_text_bytes,
        peak_bytes,
    }
}

/// The first bytes of `path`, enough for the magic numbers below.
fn magic(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut magic = [0u8; 4];
    let read = file.read(&mut magic)?;
    Ok(magic[..read].to_vec())
}

/// Whether `magic` opens a Parquet or Arrow IPC file: the file format's `ARROW1` (its first
/// four bytes), or a stream's continuation marker.
fn is_columnar(magic: &[u8]) -> bool {
    magic == PARQUET_MAGIC || magic == b"ARRO" || magic == [0xff, 0xff, 0xff, 0xff]
}

/// An ingested Parquet file's size per byte of the export's text: 727 MB for the 1,905 MB CSV
/// export of a generated register of 10,000,000 voters (seed 7), 0.38.
pub const INGESTED_RATIO: f64 = 0.4;

/// The disk the ingested copies of the delimited exports among `paths` need while they are
/// made (`crate::audit::stage_exports`): every copy ([`INGESTED_RATIO`] times its text), and
/// the largest once more for the sorted runs its ingest merges (an export not sorted by
/// voter id).
pub fn ingested_copies_bytes(paths: &[&Path]) -> u64 {
    let copies: Vec<u64> = paths
        .iter()
        .map(|p| (INGESTED_RATIO * text_bytes(p).unwrap_or(0) as f64) as u64)
        .collect();
    copies.iter().sum::<u64>() + copies.iter().max().copied().unwrap_or(0)
}

/// The bytes of text one input holds.
fn text_bytes(path: &Path) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let magic = magic(&mut file)?;
    let magic = magic.as_slice();
    if magic.starts_with(GZIP_MAGIC) {
        if size < 18 {
            return Ok(size);
        }
        file.seek(SeekFrom::End(-4))?;
        let mut isize = [0u8; 4];
        file.read_exact(&mut isize)?;
        let isize = u64::from(u32::from_le_bytes(isize));
        return Ok(if isize >= size {
            isize
        } else {
            (GZIP_RATIO * size as f64) as u64
        });
    }
    if is_columnar(magic) {
        return Ok((COLUMNAR_RATIO * size as f64) as u64);
    }
    Ok(size)
}

/// Memory the kernel could give this process without swapping (`MemAvailable` in
/// /proc/meminfo), in bytes; `None` where that is not known.
pub fn available_memory() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable:",
    )
}

/// This process's peak resident memory so far (`VmHWM` in /proc/self/status), in bytes;
/// `None` where that is not known.
pub fn peak_resident_memory() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmHWM:",
    )
}

/// The value of a `Key:  1234 kB` line of a /proc file, in bytes.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix(key))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// A byte count for messages: `3.2 GiB`, or `512.0 MiB` below a GiB.
pub fn gib(bytes: u64) -> String {
    if bytes < 1 << 30 {
        // A small register's estimate would read 0.0 GiB.
        return format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64);
    }
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Memory assumed when `/proc/meminfo` cannot be read (not Linux, or /proc not mounted):
/// 16 GiB, a large workstation. Any real export fits; 1.7e18 bytes does not.
pub const FALLBACK_MEMORY: u64 = 16 << 30;

/// Bytes each loaded row costs at the least: its fingerprint and line number (`u64` each).
pub const ROW_COST: u64 = 16;

/// The bounds for one load.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of memory a load may count on.
    pub memory: u64,
}

impl Limits {
    /// The bounds on this machine now: `MemAvailable` from `/proc/meminfo` (the kernel's
    /// estimate of memory that can be allocated without swapping), else [`FALLBACK_MEMORY`].
    pub(crate) fn of_machine() -> Limits {
        Limits {
            memory: available_memory().unwrap_or(FALLBACK_MEMORY),
        }
    }

    /// Column data bytes a file may declare in total.
    pub fn max_bytes(&self) -> u64 {
        self.memory
    }

    /// Values (field-node lengths, column-chunk value counts) a file may declare in total.
    pub fn max_values(&self) -> u64 {
        self.memory
    }

    /// Rows a file may declare in total.
    pub fn max_rows(&self) -> u64 {
        self.memory / ROW_COST
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_mem_available() {
        let text = "MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:   14493768 kB\n";
        assert_eq!(kib_field(text, "MemAvailable:"), Some(14_493_768 * 1024));
        assert_eq!(kib_field("MemTotal: 5 kB\n", "MemAvailable:"), None);
        assert_eq!(kib_field("MemAvailable: lots\n", "MemAvailable:"), None);
    }

    /// A CSV export of 1,000 bytes (`a.csv`) and a gzip one of 4,000 bytes of text
    /// (`c.csv.gz`) in `dir`.
    fn two_exports(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let csv = dir.join("a.csv");
        std::fs::write(&csv, vec![b'x'; 1000]).unwrap();
        let gz = dir.join("c.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&vec![b'y'; 4000]).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        (csv, gz)
    }

    #[test]
    fn the_peak_follows_the_model_for_each_kind_of_input() {
        let dir = tempfile::tempdir().unwrap();
        let (csv, gz) = two_exports(dir.path());
        let pq = dir.path().join("b.parquet");
        let mut bytes = b"PAR1".to_vec();
        bytes.resize(500, 0);
        std::fs::write(&pq, &bytes).unwrap();

        // 1000 text bytes, 3 x 500 = 1500, and 4000 from the gzip trailer.
        let e = estimate(&[&csv, &pq, &gz]);
        assert_eq!(e.input_text_bytes, 1000 + 1500 + 4000);
        assert_eq!(e.peak_bytes, (3.5 * 6500.0 + 2.0 * 4000.0) as u64);
        // A missing file counts as nothing (its load reports it).
        assert_eq!(estimate(&[&dir.path().join("nope.csv")]).peak_bytes, 0);
        // An audit of five snapshots loaded whole (fixed-width text) holds three whole and a
        // quarter of two at most (`held_at_once`), and the registry.
        let fixed = crate::profile::Profile::builtin("mi_qvf").unwrap();
        assert!(fixed.is_fixed_width());
        let e = estimate_audit(
            &[&csv, &csv, &csv, &csv, &csv],
            &[&gz],
            &fixed,
            Some(1),
            true,
        );
        assert_eq!(e.input_text_bytes, 5 * 1000 + 4000);
        assert_eq!(
            e.peak_bytes,
            (3.5 * (3500.0 + 4000.0) + 2.0 * 4000.0) as u64
        );
    }

    /// The ingested copies of a 1,000-byte CSV export and of a gzip export of 4,000 bytes of
    /// text take 0.4 of each on disk, and the larger once more while its runs merge.
    #[test]
    fn ingested_copies_are_counted_from_the_text_of_the_exports() {
        let dir = tempfile::tempdir().unwrap();
        let (csv, gz) = two_exports(dir.path());
        assert_eq!(ingested_copies_bytes(&[&csv, &gz]), 400 + 1600 + 1600);
        assert_eq!(ingested_copies_bytes(&[]), 0);
    }

    /// A CSV export of 1 GiB (sparse: a header and a row, then its length) is read in pieces
    /// and estimated by the coded models; through a fixed-width profile, or small, by the
    /// whole-load model. Expected values from the constants.
    #[test]
    fn a_large_export_read_in_pieces_is_estimated_coded() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("register.csv");
        let mut file = std::fs::File::create(&csv).unwrap();
        file.write_all(b"voter_id,given_name,family_name\n1,ANA,SILVA\n")
            .unwrap();
        let t: u64 = 1 << 30;
        file.set_len(t).unwrap();
        let canonical = crate::profile::Profile::canonical();
        let one = estimate_one(&csv, &[], &canonical, Some(u64::MAX));
        assert_eq!(one.input_text_bytes, t);
        assert_eq!(one.peak_bytes, CODED_BASE + (2.4 * t as f64) as u64);
        let audit = estimate_audit(&[&csv, &csv], &[], &canonical, Some(1), true);
        assert_eq!(audit.peak_bytes, CODED_BASE + (1.4 * 2.0 * t as f64) as u64);
        let fixed = crate::profile::Profile::builtin("mi_qvf").unwrap();
        assert_eq!(
            estimate_one(&csv, &[], &fixed, Some(u64::MAX)),
            estimate(&[&csv])
        );
        assert_eq!(
            estimate_one(&csv, &[], &fixed, Some(u64::MAX)).peak_bytes,
            (5.5 * t as f64) as u64
        );
        // 1 KiB: the whole-load model's 5.5 KiB, not the coded model's 300 MiB.
        file.set_len(1024).unwrap();
        assert_eq!(
            estimate_one(&csv, &[], &canonical, Some(u64::MAX)).peak_bytes,
            5632
        );
    }

    /// By hand from `audit::run`'s order of loads: the latest first, then each earlier
    /// snapshot diffed with the next one beside the latest, the first one perhaps a window at
    /// a time.
    #[test]
    fn an_audit_holds_two_adjacent_snapshots_beside_the_latest() {
        assert_eq!(held_at_once(&[], None), 0);
        assert_eq!(held_at_once(&[7], None), 7);
        assert_eq!(held_at_once(&[3, 7], None), 10);
        // Diffs (4, 8) beside 16: 28; (8, 16) beside a quarter of 4: 25.
        assert_eq!(held_at_once(&[4, 8, 16], None), 28);
        assert_eq!(held_at_once(&[16, 8, 4], None), 28);
        // (40, 4) beside 4: 48; (4, 80) beside 4 and 10: 98; (80, 4) beside 10 and 1: 95.
        assert_eq!(held_at_once(&[40, 4, 80, 4], None), 98);
        // Six of 100: the diff of the fourth and fifth holds three whole and a quarter of
        // three.
        assert_eq!(held_at_once(&[100; 6], None), 375);
        // A first snapshot diffed a window at a time counts as the quarter it keeps and its
        // window: with windows of no rows, (8, 7) holds 2 and 7; (4, 8) beside 16 holds 1, 8
        // and 16, as (8, 16) beside the kept 1.
        assert_eq!(held_at_once(&[8, 7], Some(0.0)), 9);
        assert_eq!(held_at_once(&[4, 8, 16], Some(0.0)), 25);
        assert_eq!(held_at_once(&[7], Some(0.0)), 7);
        // With windows of half its rows, (8, 7) holds 2 + 4 and 7; with windows larger than
        // the file, all of it and the quarter kept of it, 10 and 7.
        assert_eq!(held_at_once(&[8, 7], Some(0.5)), 13);
        assert_eq!(held_at_once(&[8, 7], Some(3.0)), 17);
    }
}
