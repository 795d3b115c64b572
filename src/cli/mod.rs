//! The command line: arguments as parsed ([`args`]), resolved once into the library's inputs
//! ([`config`]), the commands that run them ([`commands`]) and what they print ([`render`]).
//! Before any command, the memory estimate of its inputs decides whether it can run.

mod args;
mod commands;
mod config;
mod render;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use rollaudit::generate::{self, GenerateConfig};
use rollaudit::load;

pub use args::Args;
use args::{AuditArgs, Command, ScanArgs};
use config::Reading;

use crate::progress::Timings;

/// Share of the memory the kernel reports available that a run plans to use when
/// `--memory-limit` is not given: the rest is left to the page cache (which the loads read
/// through) and to whatever else runs beside the audit.
const DEFAULT_MEMORY_SHARE: f64 = 0.9;

pub fn run(args: Args) -> Result<ExitCode> {
    let mut stream_instead = false;
    let mut scan_in_windows = false;
    let budget = args.memory_limit.or_else(|| {
        rollaudit::load::memory::available_memory()
            .map(|available| (available as f64 * DEFAULT_MEMORY_SHARE) as u64)
    });
    // The plan is made within the budget even with --skip-memory-check, which only runs what
    // would be refused: an audit of 100M voters so skipped loaded its latest snapshot whole
    // after its dedupe, instead of reading it in windows, and the kernel killed it (session
    // 27).
    let check = match budget {
        Some(budget) => memory_check(&args.command, budget)?,
        None => MemoryCheck::default(),
    };
    let latest_in_windows = check.latest_in_windows;
    if let Some(shortfall) = check.shortfall {
        match &args.command {
            // A streamed diff holds one window, not the files.
            Command::Diff { stream: true, .. } => {}
            Command::Diff { old, new, .. }
                if load::IngestedReader::open(old).is_ok()
                    && load::IngestedReader::open(new).is_ok() =>
            {
                eprintln!("{shortfall}");
                eprintln!("both are ingested Parquet files: diffing them a window at a time");
                stream_instead = true;
            }
            // The record rules read an ingested file a window at a time, but a death
            // registry's fuzzy links are estimated on the whole register.
            Command::Scan(ScanArgs {
                snapshot, rules, ..
            }) if rules.deceased.is_none()
                && load::IngestedReader::open(&dated_path(snapshot)).is_ok() =>
            {
                eprintln!("{shortfall}");
                eprintln!("an ingested Parquet file: scanning it a window at a time");
                scan_in_windows = true;
            }
            _ if args.skip_memory_check => {
                eprintln!("{shortfall}; running anyway (--skip-memory-check)");
            }
            _ => bail!(
                "{shortfall}. Split the register into partitions (e.g. one export per \
                 region) and run each, use a machine with more memory, or pass \
                 --skip-memory-check to try anyway"
            ),
        }
    }
    match args.command {
        Command::Profiles => commands::profiles(),
        Command::Ingest {
            input,
            load,
            output,
            piece_bytes,
        } => {
            let piece_bytes = piece_size(piece_bytes, args.memory_limit);
            commands::ingest(&input, &Reading::resolve(&load)?, &output, piece_bytes)
        }
        Command::Inspect { file, load } => commands::inspect(&file, &Reading::resolve(&load)?),
        Command::Audit(audit) => {
            let mut run = config::Audit::resolve(&audit)?;
            run.piece_bytes = piece_size(None, args.memory_limit);
            let mut latest_in_windows = latest_in_windows;
            let timings = Timings::new(run.timings);
            let _staging = match (&check.stage_exports, budget) {
                (Some(note), Some(budget)) => {
                    eprintln!("{note}");
                    let staging = Staging::new(&run.output)?;
                    let skip = args.skip_memory_check;
                    timings.begin("ingest");
                    let in_windows = stage_audit(&mut run, &audit, &staging, budget, skip)?;
                    let read = run.staged.iter().map(|s| s.report.rows_read).sum();
                    timings.end();
                    timings.rows("ingest", read);
                    latest_in_windows = in_windows.then(|| {
                        "the latest snapshot is read a window at a time for its diff too, \
                         which takes longer"
                            .to_string()
                    });
                    Some(staging)
                }
                _ => None,
            };
            run.config.dedupe.pairs_per_part = pairs_per_part(budget);
            // Read a window at a time, the latest's dedupe runs before anything is held: its
            // pairs may take what its records leave of the budget.
            let latest = run.inputs.iter().max_by_key(|i| i.date);
            if let (Some(budget), Some(latest), Some(_)) = (budget, latest, &latest_in_windows) {
                run.config.dedupe.pairs_per_part = windowed_pairs_per_part(budget, &latest.path);
            }
            if let Some(note) = &latest_in_windows {
                eprintln!("{note}");
            }
            run.latest_in_windows = latest_in_windows.is_some();
            commands::audit(&run, timings)
        }
        Command::Scan(scan) => {
            let mut run = config::Scan::resolve(&scan)?;
            run.piece_bytes = piece_size(None, args.memory_limit);
            run.window_rows =
                scan_in_windows.then_some(rollaudit::diff::stream::DEFAULT_WINDOW_ROWS);
            commands::scan(&run)
        }
        Command::Dedupe {
            snapshot,
            load,
            exact_only,
            output,
        } => commands::dedupe(
            &snapshot,
            &Reading::resolve(&load)?,
            exact_only,
            budget,
            piece_size(None, args.memory_limit),
            &output,
        ),
        Command::EvalDedupe { labels, predicted } => commands::eval_dedupe(&labels, &predicted),
        Command::Diff {
            old,
            new,
            profile,
            old_profile,
            new_profile,
            strict,
            timings,
            stream,
            window_rows,
            output,
        } => {
            let side = |p: Option<String>| -> Result<Reading> {
                Ok(Reading {
                    profile: config::profile(p.as_deref().unwrap_or(&profile))?,
                    strict,
                })
            };
            let timings = Timings::new(timings);
            let status = if stream || stream_instead {
                commands::diff_streamed(&old, &new, window_rows, &output, &timings)?
            } else {
                let (old_side, new_side) = (side(old_profile)?, side(new_profile)?);
                commands::diff(&old, &old_side, &new, &new_side, &output, &timings)?
            };
            timings.report();
            Ok(status)
        }
        Command::Cluster { role } => commands::cluster(role),
        Command::Generate {
            voters,
            snapshots,
            interval,
            seed,
            start,
            anomalies,
            format,
            output,
        } => {
            let start = match start {
                Some(s) => rollaudit::dates::parse_iso_date(&s)
                    .with_context(|| format!("--start {s:?} is not a YYYY-MM-DD date"))?,
                None => generate::default_start(),
            };
            commands::generate(&GenerateConfig {
                voters,
                snapshots,
                interval_days: interval,
                seed,
                out_dir: output,
                anomalies,
                format,
                start,
            })
        }
    }
}

/// The file of a snapshot named `FILE` or `FILE@YYYY-MM-DD`.
fn dated_path(spec: &str) -> PathBuf {
    rollaudit::audit::AuditInput::parse(spec)
        .map(|i| i.path)
        .unwrap_or_else(|_| PathBuf::from(spec))
}

/// The files a command will load, for the memory estimate.
fn input_paths(command: &Command) -> Vec<PathBuf> {
    match command {
        // A delimited export is ingested a piece at a time; a columnar one is loaded whole.
        Command::Ingest { input, .. } => match load::InputFormat::by_name(input) {
            load::InputFormat::Delimited => Vec::new(),
            _ => vec![input.clone()],
        },
        Command::Inspect { file, .. } => vec![file.clone()],
        Command::Dedupe { snapshot, .. } => vec![snapshot.clone()],
        Command::Diff { old, new, .. } => vec![old.clone(), new.clone()],
        Command::Scan(a) => std::iter::once(dated_path(&a.snapshot))
            .chain(a.rules.deceased.clone())
            .collect(),
        Command::Audit(a) => {
            let dated = a.snapshots.iter().map(|spec| {
                let date = rollaudit::audit::AuditInput::parse(spec).map_or(i32::MAX, |i| i.date);
                (date, dated_path(spec))
            });
            audit_paths(dated, a)
        }
        Command::Profiles
        | Command::EvalDedupe { .. }
        | Command::Generate { .. }
        | Command::Cluster { .. } => Vec::new(),
    }
}

/// An audit's files as the memory model takes them: its snapshots (dated) in date order, as
/// the audit loads them (`load::memory::held_at_once`), then the death registry, if any.
fn audit_paths(dated: impl Iterator<Item = (i32, PathBuf)>, a: &AuditArgs) -> Vec<PathBuf> {
    let mut dated: Vec<(i32, PathBuf)> = dated.collect();
    dated.sort_by_key(|&(date, _)| date);
    dated
        .into_iter()
        .map(|(_, path)| path)
        .chain(a.rules.deceased.clone())
        .collect()
}

/// Candidate pairs dedupe compares at once within the run's memory budget (all of them when
/// the machine does not say how much memory it has and no limit is given).
fn pairs_per_part(budget: Option<u64>) -> usize {
    budget.map_or(usize::MAX, rollaudit::dedupe::pairs_per_part_within)
}

/// The `pairs_per_part` of a dedupe that reads the ingested file `latest` a window at a time
/// before anything else is held: what its records leave of `budget`
/// (`load::memory::windowed_pairs_within`).
fn windowed_pairs_per_part(budget: u64, latest: &Path) -> usize {
    let bytes = rollaudit::load::memory::windowed_pairs_within(budget, latest);
    rollaudit::dedupe::pairs_per_part_in(bytes)
}

/// The CSV piece size of `ingest`, `audit`, `scan` and `dedupe`: `--piece-bytes` (`ingest`),
/// else the default capped at an eighth of `--memory-limit` (about four pieces' worth is held
/// at once), at least 1 MiB.
fn piece_size(explicit: Option<usize>, memory_limit: Option<u64>) -> usize {
    explicit.unwrap_or_else(|| match memory_limit {
        Some(limit) => ((limit / 8) as usize).clamp(1 << 20, load::DEFAULT_PIECE_BYTES),
        None => load::DEFAULT_PIECE_BYTES,
    })
}

/// The estimate of the audit `a` of `inputs` (`input_paths`) within `budget`, and whether its
/// plan reads the latest snapshot a window at a time for its diff too
/// (`AuditJob::latest_in_windows`): only when the default plan is estimated above `budget`,
/// the audit can (two ingested snapshots, no cluster), and that plan needs less. It is the
/// slower plan: at 10M voters its diff took 15.4 s instead of 8.0 s.
fn audit_plan(
    a: &AuditArgs,
    inputs: &[&Path],
    budget: u64,
) -> Result<(rollaudit::load::memory::MemoryEstimate, bool)> {
    // An audit's snapshots come first in its inputs, in date order, then a death registry if
    // any; how they load depends on the profile.
    let (snapshots, others) = inputs.split_at(a.snapshots.len());
    let profile = Reading::resolve(&a.load)?.profile;
    let window_rows = rollaudit::diff::stream::DEFAULT_WINDOW_ROWS;
    // Ingested files are read a window at a time (`commands::audit`), but on a cluster the
    // first snapshot loads whole for the engine's join.
    let default = rollaudit::load::memory::estimate_audit(
        snapshots,
        others,
        &profile,
        Some(window_rows),
        a.cluster.is_none(),
    );
    let lower = match a.cluster {
        None if default.peak_bytes > budget => {
            use rollaudit::load::memory::estimate_audit_latest_in_windows;
            estimate_audit_latest_in_windows(snapshots, others, &profile, window_rows, budget)
        }
        _ => None,
    };
    Ok(match lower {
        Some(lower) if lower.peak_bytes < default.peak_bytes => (lower, true),
        _ => (default, false),
    })
}

/// What the memory check decides before any work.
#[derive(Default)]
struct MemoryCheck {
    /// What the run is estimated to need when that is more than the budget (the caller
    /// refuses it, or streams instead), as one sentence naming the inputs.
    shortfall: Option<String>,
    /// For an audit planned to read its latest snapshot a window at a time for its diff too
    /// ([`audit_plan`]), the line that tells the user so.
    latest_in_windows: Option<String>,
    /// For an audit whose exports do not fit as they are, the line that says they are
    /// ingested first ([`stage_audit`]).
    stage_exports: Option<String>,
}

/// The memory check of `command` within `budget`.
fn memory_check(command: &Command, budget: u64) -> Result<MemoryCheck> {
    use rollaudit::load::memory::gib;
    let paths = input_paths(command);
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let mut check = MemoryCheck::default();
    let estimate = match command {
        Command::Audit(a) => {
            let (estimate, in_windows) = audit_plan(a, &refs, budget)?;
            check.latest_in_windows = in_windows.then(|| {
                format!(
                    "the audit is planned within {} (about {}): the latest snapshot is read a \
                     window at a time for its diff too, which takes longer",
                    gib(budget),
                    gib(estimate.peak_bytes)
                )
            });
            estimate
        }
        // One snapshot first, then a death registry if any. `dedupe` of an ingested file
        // reads it a window at a time (`commands::dedupe`), but not for the exact pass.
        Command::Scan(ScanArgs { load, .. }) => {
            let profile = Reading::resolve(load)?.profile;
            rollaudit::load::memory::estimate_one(refs[0], &refs[1..], &profile, None)
        }
        Command::Dedupe {
            load, exact_only, ..
        } => {
            let profile = Reading::resolve(load)?.profile;
            let within = (!*exact_only).then_some(budget);
            rollaudit::load::memory::estimate_one(refs[0], &refs[1..], &profile, within)
        }
        _ => rollaudit::load::memory::estimate(&refs),
    };
    if estimate.peak_bytes <= budget {
        return Ok(check);
    }
    let shortfall = shortfall(&paths, &estimate, budget);
    match command {
        // Ingested copies of its exports may fit: checked again once they are made.
        Command::Audit(a)
            if a.cluster.is_none()
                && refs[..a.snapshots.len()]
                    .iter()
                    .any(|p| rollaudit::audit::is_export(p)) =>
        {
            check.stage_exports = Some(format!(
                "{shortfall}: its CSV exports are ingested first, a piece at a time, and read \
                 from there a window at a time"
            ));
        }
        _ => check.shortfall = Some(shortfall),
    }
    Ok(check)
}

/// The sentence that names a run over its budget, with its estimate.
fn shortfall(
    paths: &[PathBuf],
    estimate: &rollaudit::load::memory::MemoryEstimate,
    budget: u64,
) -> String {
    use rollaudit::load::memory::gib;
    format!(
        "{}: this run needs about {} of memory ({} of input text; model in rollaudit::load::memory) \
         and may use {} (--memory-limit, default 90% of the memory available)",
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        gib(estimate.peak_bytes),
        gib(estimate.input_text_bytes),
        gib(budget)
    )
}

/// The name of [`Staging`]'s directory before the process id.
const STAGING_PREFIX: &str = ".ingested-";

/// A directory for the ingested copies of an audit's exports, inside its output directory,
/// removed with everything in it when dropped (and the output directory too if it made it
/// and nothing was written there): the copies hold the register's personal data and as many
/// bytes, and are of no use once the audit is done.
struct Staging {
    dir: PathBuf,
    made_output: Option<PathBuf>,
}

impl Staging {
    fn new(output: &Path) -> Result<Staging> {
        let made_output = (!output.exists()).then(|| output.to_path_buf());
        // Copies that an earlier audit into this directory, killed, left behind (an output
        // directory serves one run at a time, as for `files::remove_stale_temporaries`).
        for entry in std::fs::read_dir(output).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix(STAGING_PREFIX).unwrap_or_default();
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = output.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        Ok(Staging { dir, made_output })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(output) = &self.made_output {
            // Only if empty: a refused audit leaves nothing behind.
            let _ = std::fs::remove_dir(output);
        }
    }
}

/// Ingests the exports of the audit `run` into `staging` and plans it again within `budget`
/// on the copies (`audit_plan`); over it, the audit is refused (or, with
/// `--skip-memory-check`, run anyway). Returns whether the latest is read a window at a time.
fn stage_audit(
    run: &mut config::Audit,
    args: &AuditArgs,
    staging: &Staging,
    budget: u64,
    skip_memory_check: bool,
) -> Result<bool> {
    // Refused before any copy is made where they cannot all be.
    let exports: Vec<&Path> = run
        .inputs
        .iter()
        .map(|i| i.path.as_path())
        .filter(|p| rollaudit::audit::is_export(p))
        .collect();
    let needed = rollaudit::load::memory::ingested_copies_bytes(&exports);
    if let Some(free) = rollaudit::files::free_bytes(&staging.dir) {
        if free < needed {
            use rollaudit::load::memory::gib;
            bail!(
                "{}: the ingested copies of the exports need about {} on disk and {} is free \
                 there; make room, or ingest them elsewhere (rollaudit ingest) and audit the \
                 Parquet files",
                run.output.display(),
                gib(needed),
                gib(free)
            );
        }
    }
    let bar = crate::progress::Bar::new("ingesting");
    let profile = &run.reading.profile;
    run.staged = rollaudit::audit::stage_exports(
        &mut run.inputs,
        profile,
        &staging.dir,
        run.piece_bytes,
        &bar,
    )?;
    let dated = run.inputs.iter().map(|i| (i.date, i.path.clone()));
    let paths = audit_paths(dated, args);
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (estimate, in_windows) = audit_plan(args, &refs, budget)?;
    if estimate.peak_bytes > budget {
        let exports: Vec<PathBuf> = paths
            .iter()
            .map(|p| match rollaudit::audit::export_of(&run.staged, p) {
                Some(s) => s.export.clone(),
                None => p.clone(),
            })
            .collect();
        let shortfall = shortfall(&exports, &estimate, budget);
        if !skip_memory_check {
            bail!("{shortfall}, even from ingested copies of the exports");
        }
        eprintln!("{shortfall}; running anyway (--skip-memory-check)");
    }
    Ok(in_windows)
}

#[cfg(test)]
mod tests {
    use super::args::parse_size;
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("2 tb"), Ok(2 << 40));
        for bad in ["", "G", "8X", "-1G", "0", "1.2.3M"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_piece_size_follows_the_memory_limit() {
        let default = load::DEFAULT_PIECE_BYTES;
        assert_eq!(piece_size(None, None), default);
        assert_eq!(piece_size(Some(4096), Some(1 << 30)), 4096);
        assert_eq!(piece_size(None, Some(1 << 30)), 128 << 20);
        assert_eq!(piece_size(None, Some(64 << 30)), default);
        assert_eq!(piece_size(None, Some(1 << 20)), 1 << 20);
    }

    #[test]
    fn a_run_over_its_budget_is_named_with_its_estimate() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("a.csv");
        std::fs::write(&csv, vec![b'x'; 1000]).unwrap();
        use clap::Parser;
        let inspect = Args::parse_from(["rollaudit", "inspect", csv.to_str().unwrap()]).command;
        // 1000 bytes of text: 3.5 x 1000 + 2 x 1000 = 5500 bytes by the model.
        assert_eq!(memory_check(&inspect, 5500).unwrap().shortfall, None);
        let message = memory_check(&inspect, 5499)
            .unwrap()
            .shortfall
            .expect("over budget");
        assert!(
            message.contains("a.csv") && message.contains("--memory-limit"),
            "{message}"
        );
    }
}
