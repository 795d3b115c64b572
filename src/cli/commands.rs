//! The command bodies: each takes its resolved configuration, calls the library, writes
//! the artefacts through `report`, prints through `render` and returns the exit status.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use rollaudit::generate::{self, GenerateConfig};
use rollaudit::load::{self, Loaded};
use rollaudit::model::Field;
use rollaudit::profile::Profile;
use rollaudit::report;

use super::args::ClusterRole;
use super::config::{self, Reading};
use super::render;
use crate::progress::{Bar, StageSpinner, Timings};

/// Exit status 1 when the worst incident reaches `--fail-on`.
fn fail_on(
    bar: Option<rollaudit::findings::Severity>,
    worst: Option<rollaudit::findings::Severity>,
) -> ExitCode {
    match (bar, worst) {
        (Some(bar), Some(w)) if w >= bar => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// `timings` may already hold the ingest of the exports (`super::stage_audit`).
pub fn audit(run: &config::Audit, timings: Timings) -> Result<ExitCode> {
    let deceased = match &run.rules.deceased {
        Some(path) => {
            let (loaded, sha256) =
                load::load_path_hashed(path, &Profile::canonical(), &load::NoProgress)?;
            Some((path.clone(), sha256, loaded.snapshot))
        }
        None => None,
    };
    let join = match &run.cluster {
        Some(scheduler) => Some(cluster::connect(scheduler, &run.inputs)?),
        None => None,
    };
    let bar = Bar::new("loading");
    let spinner = StageSpinner::new();
    let job = rollaudit::audit::AuditJob {
        inputs: run.inputs.clone(),
        profile: &run.reading.profile,
        calendar: run.rules.calendar(),
        deceased: deceased.as_ref().map(|d| &d.2),
        config: &run.config,
        piece_bytes: run.piece_bytes,
        join: join.as_deref(),
        window_rows: Some(rollaudit::diff::stream::DEFAULT_WINDOW_ROWS),
        latest_in_windows: run.latest_in_windows,
        staged: &run.staged,
    };
    let result = rollaudit::audit::run(job, &bar, &|stage| {
        spinner.stage(stage.name());
        timings.begin(stage.name());
    })?;
    spinner.finish();
    timings.begin("reports");
    if run.reading.strict {
        if let Some(i) = result.inputs.iter().find(|i| i.report.rows_rejected > 0) {
            bail!(
                "{}: --strict: {} rows rejected; first at line {}: {}",
                i.input.path.display(),
                i.report.rows_rejected,
                i.report.rejects[0].line,
                i.report.rejects[0].reason
            );
        }
    }
    let command_line: Vec<String> = std::env::args().skip(1).collect();
    let info = report::RunInfo {
        command_line: &command_line,
        as_of: &run.as_of,
        profile_name: &run.reading.profile.name,
        profile_text: &run.reading.profile.text,
        calendar: run
            .rules
            .calendar
            .as_ref()
            .map(|(path, c)| (path.as_path(), c.text.as_str())),
        deceased: deceased.as_ref().map(|d| (d.0.as_path(), d.1.clone())),
        configuration: format!("{:?}", run.config),
        redactor: run.redactor.as_ref(),
    };
    report::audit::write_audit(&run.output, &result, &info)?;
    timings.end();
    let rows = |i: &rollaudit::audit::LoadedInput| i.digest.rows;
    let latest = result.inputs.last().map_or(0, rows);
    let changed: u64 = result.diffs.iter().map(|d| d.records.len() as u64).sum();
    let read: u64 = result.inputs.iter().map(|i| i.report.rows_read).sum();
    let pairs: u64 = result
        .inputs
        .windows(2)
        .map(|w| rows(&w[0]) + rows(&w[1]))
        .sum();
    for (stage, n) in [
        ("load", read),
        ("scan", latest),
        ("diff", pairs),
        ("dedupe", latest),
        ("anomalies", changed),
    ] {
        timings.rows(stage, n);
    }
    timings.report();
    print!("{}", render::audit_summary(&result, run.redactor.as_ref()));
    println!("wrote {}", run.output.join("index.html").display());
    let worst = result.incidents.iter().map(|i| i.severity).max();
    Ok(fail_on(run.fail_on, worst))
}

/// `rollaudit cluster scheduler|executor`: runs until stopped.
pub fn cluster(role: ClusterRole) -> Result<ExitCode> {
    cluster::run(role)?;
    Ok(ExitCode::SUCCESS)
}

pub fn scan(run: &config::Scan) -> Result<ExitCode> {
    let path = run.input.path.as_path();
    // Of a file read a window at a time, only the records the findings name are held.
    let (result, snapshot, report) = match run.window_rows {
        Some(window_rows) => {
            let report = load::ingested_report(path)?;
            check_strict(path, &run.reading, &report)?;
            let scanned = rollaudit::rules::scan_windows(
                path,
                run.input.date,
                run.rules.calendar(),
                &run.config,
                &report.rejects,
                window_rows,
                &[],
            )?;
            (scanned.result, scanned.kept, report)
        }
        None => {
            let loaded = load_coded(path, &run.reading, &Field::ALL, run.piece_bytes)?;
            let deceased = match &run.rules.deceased {
                Some(path) => Some(load::load_path(
                    path,
                    &Profile::canonical(),
                    &load::NoProgress,
                )?),
                None => None,
            };
            let result = rollaudit::rules::scan(
                &loaded.snapshot,
                run.input.date,
                run.rules.calendar(),
                &run.config,
                deceased.as_ref().map(|d| &d.snapshot),
                &loaded.report.rejects,
            );
            (result, loaded.snapshot, loaded.report)
        }
    };
    let incidents = result.incidents(&snapshot);
    report::scan::write_scan(
        &run.output,
        &result,
        &incidents,
        &snapshot,
        &path.display().to_string(),
    )?;
    println!("{}", render::conservation(&report));
    print!("{}", report::scan::scan_summary(&result, &incidents));
    println!("wrote {}", run.output.display());
    let worst = incidents.iter().map(|i| i.severity).max();
    Ok(fail_on(run.fail_on, worst))
}

pub fn profiles() -> Result<ExitCode> {
    let width = Profile::builtin_names().map(str::len).max().unwrap_or(0);
    for name in Profile::builtin_names() {
        let p = Profile::builtin(name).expect("a built-in name");
        println!("{name:<width$} {}", p.description);
        if let Some(source) = &p.source {
            println!("{:<width$} from {source}", "");
        }
    }
    println!("\nOr pass --profile PATH.toml (format in docs/profiles.md).");
    Ok(ExitCode::SUCCESS)
}

pub fn inspect(file: &Path, reading: &Reading) -> Result<ExitCode> {
    let loaded = load(file, reading)?;
    print!("{}", render::inspect(&loaded, &reading.profile, file));
    Ok(ExitCode::SUCCESS)
}

pub fn dedupe(
    snapshot: &Path,
    reading: &Reading,
    exact_only: bool,
    budget: Option<u64>,
    piece_bytes: usize,
    output: &Path,
) -> Result<ExitCode> {
    let ingested = load::IngestedReader::open(snapshot).is_ok();
    if exact_only {
        // From an ingested file only the four fields the pass reads are loaded, as text (it is
        // timed against DuckDB).
        let loaded = if ingested {
            let loaded = load::load_ingested(snapshot, &rollaudit::dedupe::exact::FIELDS)?;
            check_strict(snapshot, reading, &loaded.report)?;
            loaded
        } else {
            load(snapshot, reading)?
        };
        println!("{}", render::conservation(&loaded.report));
        let exact = rollaudit::dedupe::exact_duplicates(&loaded.snapshot);
        report::dedupe::write_exact(output, &exact, &loaded.snapshot)?;
        println!("{}", render::exact(&exact));
    } else {
        // Deduplicated from windows before anything else is held, an ingested file's pairs
        // may take what its records leave of the budget; else a quarter of it.
        let pairs_per_part = match budget {
            Some(budget) if ingested => super::windowed_pairs_per_part(budget, snapshot),
            _ => super::pairs_per_part(budget),
        };
        let config = rollaudit::dedupe::DedupeConfig {
            pairs_per_part,
            ..Default::default()
        };
        // An ingested file is deduplicated a window at a time, as an audit does, and only the
        // voter ids of the records the result names are read for the report: the register is
        // never held whole (issue #16).
        let (load_report, named, result) = if ingested {
            let load_report = load::ingested_report(snapshot)?;
            check_strict(snapshot, reading, &load_report)?;
            let window_rows = rollaudit::diff::stream::DEFAULT_WINDOW_ROWS;
            let mut result = rollaudit::audit::dedupe_windows(snapshot, &config, window_rows)?;
            let mut rows: Vec<u32> = result.named_rows().collect();
            rows.sort_unstable();
            rows.dedup();
            let named = rollaudit::diff::stream::voter_ids_at(snapshot, &rows, window_rows)?;
            result.renumber(&rows);
            (load_report, named, result)
        } else {
            let only = &rollaudit::dedupe::FIELDS;
            let loaded = load_coded(snapshot, reading, only, piece_bytes)?;
            let result = rollaudit::dedupe::dedupe(&loaded.snapshot, &config)?;
            (loaded.report, loaded.snapshot, result)
        };
        println!("{}", render::conservation(&load_report));
        report::dedupe::write_dedupe(output, &result, &named)?;
        print!("{}", render::dedupe(&result));
    }
    println!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

pub fn eval_dedupe(labels: &Path, predicted: &Path) -> Result<ExitCode> {
    let read = |p: &Path| -> Result<Vec<(String, String)>> {
        let bytes = std::fs::read(p).with_context(|| format!("{}: cannot read", p.display()))?;
        rollaudit::dedupe::evaluate::parse_labels(&bytes)
            .with_context(|| format!("{}: not a labels file", p.display()))
    };
    let s = rollaudit::dedupe::evaluate::evaluate(&read(predicted)?, &read(labels)?);
    println!(
        "precision {:.4}  recall {:.4}  F1 {:.4}  ({} of {} predicted pairs true; {} true pairs)",
        s.precision, s.recall, s.f1, s.true_positives, s.predicted_pairs, s.true_pairs
    );
    Ok(ExitCode::SUCCESS)
}

pub fn generate(config: &GenerateConfig) -> Result<ExitCode> {
    if config.snapshots == 0 {
        bail!("--snapshots must be at least 1");
    }
    let summary = generate::generate(config)?;
    for (file, rows) in summary.files.iter().zip(&summary.rows_per_snapshot) {
        println!("{}  {rows} rows", file.display());
    }
    println!(
        "planted {} events and {} duplicates; ground truth in {}",
        summary.planted,
        summary.duplicates,
        config.out_dir.join("truth.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn load(path: &Path, reading: &Reading) -> Result<Loaded> {
    load_with(path, reading, &Bar::new("loading"))
}

/// A snapshot with its repeating text fields coded, about two fifths smaller while the rules
/// or dedupe run (`load::load_path_coded`), reading only the `only` fields of an ingested
/// file and a delimited export `piece_bytes` at a time.
fn load_coded(
    path: &Path,
    reading: &Reading,
    only: &[Field],
    piece_bytes: usize,
) -> Result<Loaded> {
    let bar = Bar::new("loading");
    let loaded = load::load_path_coded(path, &reading.profile, piece_bytes, &bar, only)?;
    check_strict(path, reading, &loaded.report)?;
    Ok(loaded)
}

fn load_with(path: &Path, reading: &Reading, bar: &Bar) -> Result<Loaded> {
    let loaded = load::load_path(path, &reading.profile, bar)?;
    check_strict(path, reading, &loaded.report)?;
    Ok(loaded)
}

/// `--strict`: any rejected row is an error.
fn check_strict(path: &Path, reading: &Reading, report: &load::LoadReport) -> Result<()> {
    if reading.strict && report.rows_rejected > 0 {
        let first = &report.rejects[0];
        bail!(
            "{}: --strict: {} rows rejected; first at line {}: {}",
            path.display(),
            report.rows_rejected,
            first.line,
            first.reason
        );
    }
    Ok(())
}

/// Where ingest puts the rejects of `output`: `register.parquet` -> `register.rejects.csv`.
fn rejects_path(output: &Path) -> PathBuf {
    output.with_extension("rejects.csv")
}

pub fn ingest(
    input: &Path,
    reading: &Reading,
    output: &Path,
    piece_bytes: usize,
) -> Result<ExitCode> {
    let bar = Bar::new("ingesting");
    // Written beside the output first (its extension kept, which picks the format), and moved
    // into place only when --strict finds no reject: a refused run leaves what was there.
    let staged = output.with_file_name(format!(
        ".{}.{}.{}",
        output.file_stem().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        output.extension().unwrap_or_default().to_string_lossy()
    ));
    let (report, rows, digest) =
        match load::ingest_in_pieces(input, &reading.profile, &staged, piece_bytes, &bar)? {
            Some(done) => {
                let placed = check_strict(input, reading, &done.report).and_then(|()| {
                    std::fs::rename(&staged, output)
                        .with_context(|| format!("{}: cannot write", output.display()))
                });
                if let Err(e) = placed {
                    let _ = std::fs::remove_file(&staged);
                    return Err(e);
                }
                let rows = done.report.rows_loaded;
                (done.report, rows, done.digest)
            }
            // Columnar, UTF-16 or fixed-width input: loaded whole.
            None => {
                let loaded = load_with(input, reading, &bar)?;
                load::write_snapshot(&loaded.snapshot, output)?;
                (
                    loaded.report,
                    loaded.snapshot.rows() as u64,
                    loaded.snapshot.digest,
                )
            }
        };
    let rejects = rejects_path(output);
    report::write_rejects_csv(&rejects, &report.rejects)?;
    println!("{}", render::conservation(&report));
    println!("wrote {} ({rows} rows, digest {digest})", output.display());
    if report.rows_rejected > 0 {
        println!(
            "rejected rows with line numbers and reasons: {}",
            rejects.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn diff(
    old: &Path,
    old_reading: &Reading,
    new: &Path,
    new_reading: &Reading,
    dir: &Path,
    timings: &Timings,
) -> Result<ExitCode> {
    timings.begin("load");
    // The two loads run side by side: the CSV split of each is sequential, so two of them
    // keep two cores busy where one would not. They run on their own threads, not in
    // `rayon::join`: a load blocks its thread while rayon workers convert its batches, and
    // two loads blocking both workers of a 2-thread pool would wait for each other forever.
    let (old_bar, new_bar) = Bar::pair("loading old", "loading new");
    let (old_loaded, new_loaded) = std::thread::scope(|scope| {
        let other = scope.spawn(|| load_with(new, new_reading, &new_bar));
        let first = load_with(old, old_reading, &old_bar);
        let second = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, second)
    });
    let (old_loaded, new_loaded) = (old_loaded?, new_loaded?);
    println!(
        "{}: {}",
        old.display(),
        render::conservation(&old_loaded.report)
    );
    println!(
        "{}: {}",
        new.display(),
        render::conservation(&new_loaded.report)
    );
    timings.begin("diff");
    let result = rollaudit::diff::diff(
        &old_loaded.snapshot,
        &new_loaded.snapshot,
        &rollaudit::diff::DiffConfig::default(),
    );
    timings.begin("write");
    let (totals, kinds) =
        report::diff::write_diff(dir, &result, &old_loaded.snapshot, &new_loaded.snapshot)?;
    timings.end();
    let (old_rows, new_rows) = (old_loaded.snapshot.rows(), new_loaded.snapshot.rows());
    timings.rows(
        "load",
        old_loaded.report.rows_read + new_loaded.report.rows_read,
    );
    timings.rows("diff", (old_rows + new_rows) as u64);
    timings.rows("write", result.log.len() as u64);
    print!("{}", render::diff(&totals, &kinds, dir));
    Ok(ExitCode::SUCCESS)
}

/// `diff --stream`: two ingested Parquet files, a window at a time (`diff::stream`).
pub fn diff_streamed(
    old: &Path,
    new: &Path,
    window_rows: usize,
    dir: &Path,
    timings: &Timings,
) -> Result<ExitCode> {
    use rollaudit::diff::stream;
    let config = rollaudit::diff::DiffConfig::default();
    timings.begin("re-keying pass");
    let (old, new) = (stream::Input::File(old), stream::Input::File(new));
    let rekeyed = stream::find_rekeyed(old, new, &config, window_rows)?;
    timings.begin("diff and write");
    let mut writer = report::diff::DiffWriter::create(dir)?;
    let (mut windows, mut rows) = (0u64, 0u64);
    stream::diff_windows(old, new, &config, rekeyed, window_rows, |result, o, n| {
        windows += 1;
        rows += (o.rows() + n.rows()) as u64;
        Ok(writer.append(&result, o, n)?)
    })?;
    let (totals, kinds) = writer.finish()?;
    timings.end();
    timings.rows("re-keying pass", rows);
    timings.rows("diff and write", rows);
    println!("diffed in {windows} windows of about {window_rows} rows a side");
    print!("{}", render::diff(&totals, &kinds, dir));
    Ok(ExitCode::SUCCESS)
}

/// The distributed engine, in a build with `--features cluster`.
#[cfg(feature = "cluster")]
mod cluster {
    use anyhow::{bail, Context, Result};
    use rollaudit::audit::{AuditInput, FileJoin};
    use rollaudit::cluster::{self, ClusterJoin, ExecutorOptions, SchedulerOptions};

    use super::ClusterRole;

    /// A client of the scheduler, once every input is known to be an ingested file.
    pub fn connect(scheduler: &str, inputs: &[AuditInput]) -> Result<Box<dyn FileJoin>> {
        for input in inputs {
            if let Err(e) = rollaudit::load::IngestedReader::open(&input.path) {
                bail!(
                    "--cluster reads ingested Parquet files (`rollaudit ingest`), which the \
                     executors read themselves: {e}"
                );
            }
        }
        Ok(Box::new(ClusterJoin::connect(scheduler)?))
    }

    pub fn run(role: ClusterRole) -> Result<()> {
        match role {
            ClusterRole::Scheduler {
                bind,
                external_host,
                executor_timeout,
            } => {
                eprintln!("rollaudit cluster scheduler: listening on {bind}");
                cluster::run_scheduler(&SchedulerOptions {
                    bind,
                    external_host,
                    executor_timeout_seconds: executor_timeout,
                })?;
            }
            ClusterRole::Executor(a) => {
                let scheduler = a
                    .scheduler
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                    .with_context(|| format!("--scheduler {:?} is not HOST:PORT", a.scheduler))?;
                eprintln!(
                    "rollaudit cluster executor: serving {} on {}:{}",
                    a.scheduler, a.bind_host, a.port
                );
                cluster::run_executor(&ExecutorOptions {
                    scheduler,
                    bind_host: a.bind_host,
                    external_host: a.external_host,
                    port: a.port,
                    grpc_port: a.grpc_port,
                    work_dir: a.work_dir,
                    vcores: a.vcores,
                    heartbeat_seconds: a.heartbeat,
                })?;
            }
        }
        Ok(())
    }
}

/// A build without the distributed engine says how to get one.
#[cfg(not(feature = "cluster"))]
mod cluster {
    use anyhow::{bail, Result};
    use rollaudit::audit::{AuditInput, FileJoin};

    use super::ClusterRole;

    const NOT_BUILT: &str = "this rollaudit was built without the distributed engine: build \
                             it with `cargo build --release --features cluster`";

    pub fn connect(_scheduler: &str, _inputs: &[AuditInput]) -> Result<Box<dyn FileJoin>> {
        bail!("--cluster: {NOT_BUILT}")
    }

    pub fn run(_role: ClusterRole) -> Result<()> {
        bail!("cluster: {NOT_BUILT}")
    }
}
