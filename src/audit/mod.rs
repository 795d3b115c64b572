//! The audit job: every stage of rollaudit over a series of snapshots, in one call.
//!
//! Load the latest snapshot (each is dated by `FILE@YYYY-MM-DD` or a `YYYY-MM-DD` in the file
//! name), scan it with the record rules and deduplicate it (an ingested file is deduplicated
//! a window at a time before it loads: `dedupe_windows`); then load the earlier ones in date
//! order, diffing each consecutive pair as it loads and keeping of the earlier one only what
//! the detectors and the change log need (a first snapshot that is an ingested file is not
//! loaded at all, but diffed a window at a time: `windowed`; within a `--memory-limit` that
//! does not hold that plan, the latest is not loaded either, but scanned, kept and diffed a
//! window at a time: `AuditJob::latest_in_windows`); then run the change
//! detectors (on the records of the latest snapshot that its last diff, dedupe and the
//! findings name, when the audit reads windows: `keep_named_latest`). CSV exports can be read
//! from ingested copies that keep the exports' provenance, so that these plans serve them
//! too (`staged`). The result is plain data; `report::audit` writes the artefacts and the
//! binary prints the summary and picks the exit status.

use std::path::{Path, PathBuf};

use crate::anomalies::{self, AnomalyConfig, AnomalyResult, Interval};
use crate::calendar::ElectionCalendar;
use crate::dedupe::{self, DedupeConfig, DedupeResult};
use crate::diff::{self, DiffConfig, DiffResult, Merged};
use crate::findings::{Evidence, Finding, RuleRun, Scope, Severity};
use crate::incidents::{self, Incident};
use crate::load::{self, LoadError, LoadReport, Progress};
use crate::profile::Profile;
use crate::rules::{self, ScanConfig, ScanResult};
use crate::snapshot::{Digest, Snapshot};

mod staged;
pub use staged::{export_of, is_export, stage_exports, Staged};

/// One snapshot named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditInput {
    pub path: PathBuf,
    /// Snapshot date, days since 1970-01-01.
    pub date: i32,
}

/// Why the audit could not run. One line each, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0}: no snapshot date: put a YYYY-MM-DD in the file name or write FILE@YYYY-MM-DD")]
    NoDate(String),
    #[error("{0}: the date after @ is not a YYYY-MM-DD date")]
    BadDate(String),
    #[error("two snapshots have the same date {0}")]
    SameDate(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("deduplication failed")]
    Dedupe(#[from] dedupe::DedupeError),
    #[error("the keyed join of {old} and {new} failed: {reason}")]
    Join {
        old: String,
        new: String,
        reason: String,
    },
}

/// A diff's keyed join done by an engine that reads the two snapshot files itself (the
/// cluster, `crate::cluster`, issue #20): it returns the rows to classify
/// ([`diff::diff_with`] says which), and the diff classifies them here.
pub trait FileJoin: Sync {
    /// The [`Merged`] rows of `old` and `new` (files, and the snapshots loaded from them);
    /// `drift` as [`diff::diff_with`] gives it. An error is one line.
    fn join(
        &self,
        files: (&Path, &Path),
        snapshots: (&Snapshot, &Snapshot),
        drift: Option<&[crate::model::Field]>,
    ) -> Result<Merged, String>;
}

impl AuditInput {
    /// `FILE@YYYY-MM-DD`, or `FILE` whose name holds a `YYYY-MM-DD`.
    pub fn parse(spec: &str) -> Result<AuditInput, AuditError> {
        if let Some((file, date)) = spec.rsplit_once('@') {
            let date = crate::dates::parse_iso_date(date)
                .ok_or_else(|| AuditError::BadDate(spec.to_string()))?;
            return Ok(AuditInput {
                path: PathBuf::from(file),
                date,
            });
        }
        let name = Path::new(spec)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let date =
            rules::date_in_file_name(&name).ok_or_else(|| AuditError::NoDate(spec.to_string()))?;
        Ok(AuditInput {
            path: PathBuf::from(spec),
            date,
        })
    }
}

/// Thresholds of every stage.
#[derive(Clone, Debug, Default)]
pub struct AuditConfig {
    pub scan: ScanConfig,
    pub diff: DiffConfig,
    pub dedupe: DedupeConfig,
    pub anomalies: AnomalyConfig,
}

/// A loaded snapshot with its provenance.
pub struct LoadedInput {
    pub input: AuditInput,
    /// SHA-256 of the input file's bytes, hex.
    pub sha256: String,
    pub report: LoadReport,
    /// The digest of the whole snapshot (its `rows` are the snapshot's).
    pub digest: Digest,
    /// An earlier snapshot only the records its diffs name (see
    /// [`crate::anomalies::Prepared`]), with the diffs' rows renumbered to match. The latest
    /// whole, or, when the audit reads windows ([`AuditJob::window_rows`]), only the records
    /// its last diff, dedupe and findings name (`keep_named_latest`).
    pub snapshot: Snapshot,
}

/// Everything the audit found.
pub struct AuditResult {
    /// In date order.
    pub inputs: Vec<LoadedInput>,
    /// `diffs[t]` is between `inputs[t]` and `inputs[t + 1]`.
    pub diffs: Vec<DiffResult>,
    pub scan: ScanResult,
    pub dedupe: DedupeResult,
    pub anomalies: AnomalyResult,
    /// What the detectors took of each interval's whole snapshots, in interval order.
    pub prepared: Vec<anomalies::Prepared>,
    /// All findings (record rules, duplicates, change anomalies), most severe first.
    pub findings: Vec<Finding>,
    /// The findings grouped by underlying event ([`crate::incidents`]), most severe first.
    pub incidents: Vec<Incident>,
    /// Every rule and detector, ran or skipped.
    pub runs: Vec<RuleRun>,
}

/// The stages, for progress reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Load,
    Scan,
    Diff,
    Dedupe,
    Anomalies,
    /// Every finding merged, ordered and grouped into incidents ([`incidents::group`]).
    Incidents,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Scan => "scan",
            Stage::Diff => "diff",
            Stage::Dedupe => "dedupe",
            Stage::Anomalies => "anomalies",
            Stage::Incidents => "incidents",
        }
    }
}

/// What an audit is asked to do: its inputs and what they are checked against.
pub struct AuditJob<'a> {
    /// The snapshots, in any order (they are sorted by date).
    pub inputs: Vec<AuditInput>,
    /// The layout of every snapshot.
    pub profile: &'a Profile,
    pub calendar: Option<&'a ElectionCalendar>,
    /// A death registry, already loaded.
    pub deceased: Option<&'a Snapshot>,
    pub config: &'a AuditConfig,
    /// Text read at a time from a delimited export ([`load::DEFAULT_PIECE_BYTES`] unless
    /// memory is short): the load holds about three pieces beside the rows converted.
    pub piece_bytes: usize,
    /// Who joins each pair of snapshots for its diff: `None` for the merge here.
    pub join: Option<&'a dyn FileJoin>,
    /// The rows of a window when an ingested file is read a window at a time, never held
    /// whole (see [`run`]): the latest snapshot for its dedupe, and the first of a series for
    /// its diff; the latest then keeps, after its last diff, only the records the rest of the
    /// audit reads. `None` loads every snapshot whole and keeps the latest whole.
    pub window_rows: Option<usize>,
    /// With `window_rows`, in a series of two ingested snapshots: the latest is never loaded
    /// whole. Without a death registry its scan reads it a window at a time
    /// ([`rules::scan_windows`]); it keeps only the records its scan and dedupe name *before*
    /// the diff, which reads it again a window at a time (see [`run`]). At 10,000,000 voters
    /// the audit's peak fell from about 3.7 to 2.4 GiB and it took 96 s instead of 70 s: the
    /// CLI asks for it when `--memory-limit` does not hold the default plan
    /// ([`crate::load::memory::estimate_audit`]).
    pub latest_in_windows: bool,
    /// The delimited exports among `inputs` that are read from ingested copies
    /// ([`stage_exports`]): the report gives the exports' provenance. Empty otherwise.
    pub staged: &'a [Staged],
}

/// Runs the whole audit. `stage` is told when each stage starts; `progress` follows loads.
pub fn run(
    job: AuditJob<'_>,
    progress: &dyn Progress,
    stage: &dyn Fn(Stage),
) -> Result<AuditResult, AuditError> {
    let AuditJob {
        mut inputs,
        profile,
        calendar,
        deceased,
        config,
        piece_bytes,
        join,
        window_rows,
        latest_in_windows,
        staged,
    } = job;
    inputs.sort_by_key(|i| i.date);
    if let Some(w) = inputs.windows(2).find(|w| w[0].date == w[1].date) {
        return Err(AuditError::SameDate(
            crate::dates::IsoDate(w[0].date).to_string(),
        ));
    }
    // Every input must open before any work: a missing earlier snapshot is reported at once,
    // not after the latest one's scan and dedupe.
    for input in &inputs {
        load::check_readable(&input.path)?;
    }
    let load = |input: AuditInput| -> Result<LoadedInput, AuditError> {
        // Two snapshots are held together for the diff and the detectors: coded, each is
        // about two fifths smaller (`Snapshot::compact`).
        let (l, sha256) =
            load::load_path_hashed_coded(&input.path, profile, piece_bytes, progress)?;
        let mut loaded = LoadedInput {
            input,
            sha256,
            report: l.report,
            digest: l.snapshot.digest,
            snapshot: l.snapshot,
        };
        staged::as_export(staged, &mut loaded);
        Ok(loaded)
    };
    // The latest snapshot first: scan and dedupe need only it, and run before any earlier
    // snapshot is loaded, so that dedupe's working set (at 10,000,000 voters it raised the
    // audit's peak by 1.3 GB) sits beside nothing else. Then the earlier snapshots load in
    // date order, each interval diffed as soon as its later snapshot is in: the detectors take
    // what they need of the two whole snapshots (`anomalies::prepare`), and the earlier one
    // shrinks to the records its diffs name. So an audit holds at most three whole snapshots
    // (two earlier ones beside the latest), whatever the length of the series, instead of all
    // of them.
    //
    // A latest snapshot that is an ingested file is deduplicated before it loads, from
    // windows of the fields dedupe reads (`dedupe_windows`): dedupe's working set then sits
    // beside no snapshot at all.
    let ingested = |input: &AuditInput| load::IngestedReader::open(&input.path).is_ok();
    let latest = inputs.pop().expect("at least one snapshot");
    let deduplicated = match window_rows {
        Some(window_rows) if ingested(&latest) => {
            stage(Stage::Dedupe);
            Some(dedupe_windows(&latest.path, &config.dedupe, window_rows)?)
        }
        _ => None,
    };
    let series_of_two = inputs.len() == 1;
    // Asked to read the latest snapshot a window at a time for its diff, the scan reads it so
    // too, when it can (no death registry: `rules::scan_windows`): it keeps only the records
    // its findings and dedupe name, and the latest is never whole.
    let (latest, scan, mut latest_kept_rows) = match &deduplicated {
        Some(dedupe)
            if latest_in_windows
                && series_of_two
                && deceased.is_none()
                && join.is_none()
                && ingested(&inputs[0]) =>
        {
            stage(Stage::Scan);
            let window_rows = window_rows.expect("deduplicated a window at a time");
            let (latest, scan, rows) =
                scan_windows(latest, dedupe, calendar, &config.scan, window_rows, staged)?;
            (latest, scan, Some(rows))
        }
        _ => {
            stage(Stage::Load);
            let latest = load(latest)?;
            stage(Stage::Scan);
            let scan = rules::scan(
                &latest.snapshot,
                latest.input.date,
                calendar,
                &config.scan,
                deceased,
                &latest.report.rejects,
            );
            (latest, scan, None)
        }
    };
    let latest_windowed = deduplicated.is_some();
    let mut dedupe = match deduplicated {
        Some(d) => d,
        None => {
            stage(Stage::Dedupe);
            dedupe::dedupe(&latest.snapshot, &config.dedupe)?
        }
    };
    let ids = latest.snapshot.voter_ids();
    let duplicates = match &latest_kept_rows {
        Some(rows) => duplicate_findings(&dedupe, latest.input.date, |row| {
            rows.binary_search(&row).ok().and_then(|k| ids.get(k))
        }),
        None => duplicate_findings(&dedupe, latest.input.date, |row| ids.get(row as usize)),
    };

    let mut earlier = inputs.into_iter();
    let first = earlier.next();
    let mut latest = Some(latest);
    let mut next_in_date_order = || -> Result<Option<LoadedInput>, AuditError> {
        match earlier.next() {
            Some(input) => {
                stage(Stage::Load);
                load(input).map(Some)
            }
            None => Ok(latest.take()),
        }
    };
    let mut loaded: Vec<LoadedInput> = Vec::new();
    let mut diffs: Vec<DiffResult> = Vec::new();
    let mut prepared: Vec<anomalies::Prepared> = Vec::new();
    // The first snapshot of a series is the old side of one interval only: an ingested file
    // there is diffed a window at a time against the next snapshot, and only the records the
    // diff names are kept (`windowed`). The next is whole in memory; or, asked for
    // (`latest_in_windows`) when it is the latest and an ingested file read a window at a
    // time for its dedupe, it is read so for this diff too, having kept only the records the
    // scan and dedupe name: an audit of two ingested snapshots then holds neither whole past
    // its scan.
    let mut latest_kept = false;
    let mut current = match (first, window_rows, join) {
        (Some(first), Some(window_rows), None) if ingested(&first) => {
            let mut next = next_in_date_order()?.expect("a later snapshot follows the first");
            stage(Stage::Diff);
            let kept = latest_kept_rows.take().or_else(|| {
                (latest_in_windows && series_of_two && latest_windowed).then(|| {
                    let rows = rows_named(&next.snapshot, &scan.findings, dedupe.named_rows());
                    next.snapshot = kept_of(&next.snapshot, &rows);
                    rows
                })
            });
            let (first, d, p, kept) =
                windowed(first, &mut next, kept, config, window_rows, staged, stage)?;
            if let Some(rows) = kept {
                dedupe.renumber(&rows);
                latest_kept = true;
            }
            loaded.push(first);
            diffs.push(d);
            prepared.push(p);
            next
        }
        (Some(first), ..) => {
            stage(Stage::Load);
            load(first)?
        }
        (None, ..) => next_in_date_order()?.expect("at least one snapshot"),
    };
    while let Some(next) = next_in_date_order()? {
        stage(Stage::Diff);
        let mut d = match join {
            None => diff::diff(&current.snapshot, &next.snapshot, &config.diff),
            Some(join) => {
                let files = (current.input.path.as_path(), next.input.path.as_path());
                let on_files = |old: &Snapshot, new: &Snapshot, drift: Option<&[_]>| {
                    join.join(files, (old, new), drift)
                };
                diff::diff_with(&current.snapshot, &next.snapshot, &config.diff, on_files).map_err(
                    |reason| AuditError::Join {
                        old: files.0.display().to_string(),
                        new: files.1.display().to_string(),
                        reason,
                    },
                )?
            }
        };
        stage(Stage::Anomalies);
        prepared.push(anomalies::prepare(
            &Interval {
                from: current.input.date,
                to: next.input.date,
                old: &current.snapshot,
                new: &next.snapshot,
                diff: &d,
            },
            &config.anomalies,
        ));
        current.snapshot = diff::keep_named(&current.snapshot, diffs.last_mut(), &mut d);
        diffs.push(d);
        loaded.push(std::mem::replace(&mut current, next));
    }
    if window_rows.is_some() && !latest_kept {
        keep_named_latest(&mut current, diffs.last_mut(), &mut dedupe, &scan.findings);
    }
    loaded.push(current);
    stage(Stage::Anomalies);
    let intervals: Vec<Interval> = diffs
        .iter()
        .enumerate()
        .map(|(t, d)| Interval {
            from: loaded[t].input.date,
            to: loaded[t + 1].input.date,
            old: &loaded[t].snapshot,
            new: &loaded[t + 1].snapshot,
            diff: d,
        })
        .collect();
    let anomalies = anomalies::detect_prepared(&intervals, &prepared, calendar, &config.anomalies);

    stage(Stage::Incidents);
    let mut findings = scan.findings.clone();
    findings.extend(duplicates);
    findings.extend(anomalies.findings.iter().cloned());
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.snapshot_date.cmp(&b.snapshot_date))
            .then(a.rule.cmp(b.rule))
            .then(a.scope_value.cmp(&b.scope_value))
            .then(a.voter_ids.cmp(&b.voter_ids))
    });
    let mut runs = scan.runs.clone();
    runs.push(RuleRun {
        rule: DUPLICATE_RULE,
        status: crate::findings::RuleStatus::Ran,
    });
    runs.extend(anomalies.runs.iter().cloned());
    let series: Vec<(i32, &Snapshot)> =
        loaded.iter().map(|l| (l.input.date, &l.snapshot)).collect();
    let incidents = incidents::group(&findings, &series);
    staged::name_exports(staged, &mut loaded);
    Ok(AuditResult {
        inputs: loaded,
        diffs,
        scan,
        dedupe,
        anomalies,
        prepared,
        findings,
        incidents,
        runs,
    })
}

/// The interval from `first`, an ingested file, to `next`, diffed a window of `window_rows`
/// rows at a time ([`diff::stream`]): the diff, what the detectors take of both snapshots,
/// and of `first` its provenance and the records the diff names. Its file is read three
/// times: the fields that decide re-keyings, every field for the diff and the counts of
/// [`anomalies::EarlierCounts`], and, when arrivals qualify as a bulk registration, the
/// address and precinct of every record for their residents.
///
/// `next` is whole in memory, or, with `kept` (the rows of the whole file that `next` holds,
/// ascending), an ingested file read a window at a time like `first` (twice: re-keyings, then
/// the diff and [`anomalies::LaterCounts`]). The records the diff names are then added to
/// those of `next`, the diff's rows renumbered to them, and the rows of the file they are
/// returned.
fn windowed(
    first: AuditInput,
    next: &mut LoadedInput,
    kept: Option<Vec<u32>>,
    config: &AuditConfig,
    window_rows: usize,
    staged: &[Staged],
    stage: &dyn Fn(Stage),
) -> Result<WindowedInterval, AuditError> {
    use diff::stream::{self, Input};
    let path = first.path.as_path();
    let latest = match kept {
        Some(_) => Input::CodedFile(&next.input.path),
        None => Input::Loaded(&next.snapshot, &next.input.path),
    };
    let rekey_latest = match kept {
        Some(_) => Input::File(&next.input.path),
        None => latest,
    };
    let stream_error = |e: stream::StreamError| match e {
        stream::StreamError::Load(e) => AuditError::Load(e),
        stream::StreamError::Write(e) => unreachable!("the audit's windows write nothing: {e}"),
    };
    let (sha256, report, (counts, later, streamed)) =
        staged::with_provenance(path, staged, |report| {
            let rekeyed =
                stream::find_rekeyed(Input::File(path), rekey_latest, &config.diff, window_rows)
                    .map_err(stream_error)?;
            let present: Vec<_> = crate::model::Field::ALL
                .into_iter()
                .filter(|f| !report.missing_fields.contains(f))
                .collect();
            let mut counts = anomalies::EarlierCounts::new(&present, next.input.date);
            let (mut diff, mut later) = match kept {
                Some(_) => (
                    diff::KeptDiff::keeping_new(),
                    Some(anomalies::LaterCounts::default()),
                ),
                None => (diff::KeptDiff::default(), None),
            };
            let windows = stream::diff_windows(
                Input::CodedFile(path),
                latest,
                &config.diff,
                rekeyed,
                window_rows,
                |part, old, new| {
                    counts.add(old);
                    if let Some(later) = later.as_mut() {
                        later.add(new);
                    }
                    diff.add(part, old, new);
                    Ok(())
                },
            );
            windows.map_err(stream_error)?;
            let diff = diff
                .finish()
                .expect("a streamed diff has at least one window");
            Ok((counts, later, diff))
        })?;
    let diff::Kept {
        diff: mut d,
        old: kept_old,
        new: kept_new,
    } = streamed;
    let kept = match (kept, kept_new) {
        (Some(rows), Some((rows_new, named))) => {
            let (merged, rows) = merge_kept(&next.snapshot, &rows, named, &rows_new);
            d.renumber(None, Some(&rows));
            next.snapshot = merged;
            Some(rows)
        }
        _ => None,
    };
    stage(Stage::Anomalies);
    let iv = Interval {
        from: first.date,
        to: next.input.date,
        old: &kept_old,
        new: &next.snapshot,
        diff: &d,
    };
    let mut residents = anomalies::prepare_counted(&iv, counts, later, &config.anomalies);
    if residents.wanted() {
        let only = [
            crate::model::Field::AddressLine,
            crate::model::Field::Precinct,
        ];
        stream::each_window(Input::File(path), &only, window_rows, |part| {
            residents.count(part)
        })?;
    }
    let prepared = residents.prepared();
    let digest = d.old_digest;
    Ok((
        LoadedInput {
            input: first,
            sha256,
            report,
            digest,
            snapshot: kept_old,
        },
        d,
        prepared,
        kept,
    ))
}

/// What [`windowed`] gives: the first snapshot's provenance and kept records, the diff, what
/// the detectors take of the interval, and the rows of the latest file its kept records are.
type WindowedInterval = (
    LoadedInput,
    DiffResult,
    anomalies::Prepared,
    Option<Vec<u32>>,
);

/// `a` and `b`, the records of one snapshot at its rows `rows_a` and `rows_b` (each
/// ascending), as one snapshot of the rows of both, ascending, and those rows. It keeps
/// `a`'s digest (the whole snapshot's, [`kept_of`]).
fn merge_kept(a: &Snapshot, rows_a: &[u32], b: Snapshot, rows_b: &[u32]) -> (Snapshot, Vec<u32>) {
    let mut at: Vec<(u32, u32)> = rows_a.iter().chain(rows_b).copied().zip(0..).collect();
    at.sort_unstable();
    at.dedup_by_key(|&mut (row, _)| row);
    let both = diff::stacked(vec![a.clone(), b]).expect("two parts");
    let order: Vec<u32> = at.iter().map(|&(_, k)| k).collect();
    let mut merged = both.subset(&order);
    merged.digest = a.digest;
    (merged, at.into_iter().map(|(row, _)| row).collect())
}

/// Shrinks the latest snapshot to the records the rest of the audit reads, once every stage
/// that reads all its records has run (the scan, dedupe, and the last diff with what the
/// detectors take of its whole snapshots: `anomalies::prepare`): the records `last_diff`
/// names in NEW, those `dedupe` names, and the voters `findings` name. The rows of the diff
/// and of dedupe are renumbered to them, as [`diff::keep_named`] does for an earlier
/// snapshot. The change detectors, the incidents and the reports read nothing else of it, so
/// the artefacts are the same (`tests/stream.rs` compares them with an audit that keeps it
/// whole); at 10,000,000 voters they hold about a tenth of its rows instead of 2.5 GB.
fn keep_named_latest(
    latest: &mut LoadedInput,
    last_diff: Option<&mut DiffResult>,
    dedupe: &mut DedupeResult,
    findings: &[Finding],
) {
    let in_diff = last_diff.as_ref().map(|d| d.named_rows().1);
    let also = dedupe.named_rows().chain(in_diff.into_iter().flatten());
    let rows = rows_named(&latest.snapshot, findings, also);
    if let Some(d) = last_diff {
        d.renumber(None, Some(&rows));
    }
    dedupe.renumber(&rows);
    latest.snapshot = kept_of(&latest.snapshot, &rows);
}

/// The rows of `latest` that the voters of `findings` and `also` name, ascending and
/// distinct.
fn rows_named(
    latest: &Snapshot,
    findings: &[Finding],
    also: impl IntoIterator<Item = u32>,
) -> Vec<u32> {
    let mut rows = incidents::Named::of(findings).rows_found(latest);
    rows.extend(also);
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// The records of `snapshot` at `rows`, with the whole snapshot's digest: the reports give it
/// as the snapshot's provenance.
fn kept_of(snapshot: &Snapshot, rows: &[u32]) -> Snapshot {
    let mut kept = snapshot.subset(rows);
    kept.digest = snapshot.digest;
    kept
}

/// The scan of the latest snapshot, the ingested file of `latest`, read a window at a time
/// ([`rules::scan_windows`]): its provenance with only the records its findings and `dedupe`
/// name, the scan, and the rows of the file those records are (ascending).
fn scan_windows(
    latest: AuditInput,
    dedupe: &DedupeResult,
    calendar: Option<&ElectionCalendar>,
    config: &ScanConfig,
    window_rows: usize,
    staged: &[Staged],
) -> Result<(LoadedInput, ScanResult, Vec<u32>), AuditError> {
    let path = latest.path.as_path();
    let also: Vec<u32> = dedupe.named_rows().collect();
    let (sha256, report, scanned) = staged::with_provenance(path, staged, |report| {
        let date = latest.date;
        let rejects = &report.rejects;
        let s = rules::scan_windows(path, date, calendar, config, rejects, window_rows, &also)?;
        Ok(s)
    })?;
    let rules::Scanned { result, kept, rows } = scanned;
    // Of the records kept, those the findings and dedupe name, as `rows_named` gives of a
    // whole snapshot.
    let in_kept = |row: u32| rows.binary_search(&row).expect("dedupe's rows are kept") as u32;
    let at = rows_named(&kept, &result.findings, also.into_iter().map(in_kept));
    let snapshot = kept_of(&kept, &at);
    let rows = at.iter().map(|&k| rows[k as usize]).collect();
    let digest = kept.digest;
    let latest = LoadedInput {
        input: latest,
        sha256,
        report,
        digest,
        snapshot,
    };
    Ok((latest, result, rows))
}

/// Deduplication of the ingested file at `path`, read a window of `window_rows` rows at a
/// time, only the fields dedupe reads ([`dedupe::Windows`]): the result of the whole
/// snapshot's, without the snapshot.
pub fn dedupe_windows(
    path: &Path,
    config: &DedupeConfig,
    window_rows: usize,
) -> Result<DedupeResult, AuditError> {
    let report = load::ingested_report(path)?;
    let fields: Vec<_> = dedupe::FIELDS
        .into_iter()
        .filter(|f| !report.missing_fields.contains(f))
        .collect();
    let rows = usize::try_from(report.rows_loaded).unwrap_or(usize::MAX);
    let mut windows = dedupe::Windows::new(rows, &fields, config)?;
    let input = diff::stream::Input::CodedFile(path);
    diff::stream::each_window(input, &dedupe::FIELDS, window_rows, |w| windows.add(w))?;
    Ok(windows.dedupe())
}

pub use crate::findings::DUPLICATE_RULE;

/// One finding per duplicate cluster, `medium`: a probable double registration for case work,
/// never a removal by itself (DOMAIN.md: Crosscheck's purge rule hit ~300 legitimate voters
/// per double vote prevented).
fn duplicate_findings<'a>(
    result: &DedupeResult,
    date: i32,
    id_of: impl Fn(u32) -> Option<&'a str>,
) -> Vec<Finding> {
    // The weakest link of every cluster, in one pass over the pairs (a pass per cluster made
    // this step quadratic: seconds at 10M voters).
    let mut weakest_of = vec![1.0f64; result.clusters.len()];
    for p in &result.pairs {
        if let Some(w) = p.cluster.and_then(|k| weakest_of.get_mut(k as usize)) {
            *w = w.min(p.probability);
        }
    }
    result
        .clusters
        .iter()
        .zip(weakest_of)
        .map(|(c, weakest)| {
            let members: Vec<String> = c
                .rows
                .iter()
                .filter_map(|&row| id_of(row).map(str::to_string))
                .collect();
            Finding {
                rule: DUPLICATE_RULE,
                severity: Severity::Medium,
                scope: Scope::Record,
                scope_value: c.id.clone(),
                evidence: Evidence {
                    observed: members.len() as f64,
                    effect_size: Some(weakest),
                    baseline:
                        "weakest link: Fellegi-Sunter match probability, m and u estimated by EM"
                            .into(),
                    facts: vec![("cluster_size", members.len().to_string())],
                    ..Evidence::default()
                },
                voter_ids: members,
                snapshot_date: Some(date),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_dates_come_from_the_name_or_after_at() {
        let a = AuditInput::parse("data/register-2026-10-02.csv.gz").unwrap();
        assert_eq!(a.date, crate::dates::parse_iso_date("2026-10-02").unwrap());
        let b = AuditInput::parse("export.csv@2025-01-31").unwrap();
        assert_eq!(b.path, PathBuf::from("export.csv"));
        assert!(matches!(
            AuditInput::parse("export.csv"),
            Err(AuditError::NoDate(_))
        ));
        assert!(matches!(
            AuditInput::parse("e.csv@2025-02-30"),
            Err(AuditError::BadDate(_))
        ));
    }
}
