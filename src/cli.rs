//! Command-line arguments and the commands behind them.
//!
//! The clap structs stay close to the command line; each command resolves them once into the
//! library's inputs (a [`Profile`], a `GenerateConfig`) and renders what the library returns.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use polars::prelude::DataFrame;
use rollaudit::findings::Severity;
use rollaudit::generate::{self, GenerateConfig};
use rollaudit::load::{self, LoadReport, Loaded};
use rollaudit::model::{Field, FINGERPRINT_COLUMN, LINE_COLUMN};
use rollaudit::profile::Profile;
use rollaudit::report;

use crate::progress::{Bar, Timings};

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  the command ran
  1  findings at or above --fail-on (commands that report findings)
  2  error: unusable input, bad arguments, --strict with rejected rows";

#[derive(Parser)]
#[command(
    name = "rollaudit",
    version,
    about = "Voter-register integrity checker: load, diff and audit register snapshots",
    after_help = EXIT_STATUS_HELP
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// Run even when the inputs are estimated to need more memory than is available
    /// (the estimate and its model: `rollaudit::limits`).
    #[arg(long, global = true)]
    skip_memory_check: bool,
}

#[derive(Subcommand)]
enum Command {
    /// List the built-in profiles (source layouts).
    Profiles,
    /// Convert an export once into columnar form (Parquet or Arrow IPC) with fingerprints,
    /// sorted by voter_id; rejected rows go to OUT's .rejects.csv beside it.
    Ingest {
        /// The export: CSV/TSV (optionally .gz), Parquet or Arrow IPC.
        input: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
        /// Output file: .parquet, or .arrow / .ipc for Arrow IPC.
        #[arg(short, long)]
        output: PathBuf,
        /// Read a CSV/TSV export this many bytes of text at a time (sorted runs merged by
        /// voter_id), so an export larger than memory can be ingested; about four times this
        /// is held at once.
        #[arg(long, default_value_t = load::DEFAULT_PIECE_BYTES)]
        piece_bytes: usize,
    },
    /// Print row counts, schema, missing values per field, the snapshot digest and rejects.
    Inspect {
        file: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// The audit before an election phase: load every snapshot, scan the latest, diff each
    /// consecutive pair, deduplicate the latest, detect change anomalies, write the reports
    /// (report.json, flagged.csv/.parquet, changes.parquet, duplicates.csv, index.html).
    Audit(AuditArgs),
    /// Duplicate registrations in one snapshot: duplicates.csv (pairs with per-field
    /// explanations), clusters.csv, dedupe.json (blocking, model, chance estimate).
    Dedupe {
        snapshot: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
        /// Only the exact pass (same normalised name and birth date, or same national id):
        /// exact.csv and exact.json, no model.
        #[arg(long)]
        exact_only: bool,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Pairwise precision, recall and F1 of a clustering against labels; both CSV files with
    /// a header and the columns record id, cluster id (e.g. clusters.csv of `dedupe`).
    EvalDedupe { labels: PathBuf, predicted: PathBuf },
    /// Check one snapshot against the record rules: OUTPUT/flagged.csv and OUTPUT/scan.json.
    Scan(ScanArgs),
    /// Diff two snapshots: change log (Parquet and CSV), summary by kind and area, diff.json.
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// Profile for both sides (overridden by --old-profile / --new-profile).
        #[arg(long, default_value = "canonical")]
        profile: String,
        #[arg(long)]
        old_profile: Option<String>,
        #[arg(long)]
        new_profile: Option<String>,
        /// Treat any rejected row as an error (exit 2).
        #[arg(long)]
        strict: bool,
        /// Print each stage's wall time, rows per second and peak memory on stderr.
        #[arg(long)]
        timings: bool,
        /// Read the two files a window of rows at a time, in bounded memory: for registers
        /// larger than memory. Both must be ingested Parquet files (`rollaudit ingest`
        /// output). Chosen by itself when the files would not fit in memory whole.
        #[arg(long)]
        stream: bool,
        /// Rows each side reads before a window is diffed, with --stream.
        #[arg(long, default_value_t = rollaudit::diff::stream::DEFAULT_WINDOW_ROWS)]
        window_rows: usize,
        /// Output directory.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Generate a synthetic register series with ground truth (truth.json) and an election
    /// calendar (election.toml).
    Generate {
        /// Voters in the first snapshot.
        #[arg(long, default_value_t = 20_000)]
        voters: usize,
        /// Number of successive snapshots.
        #[arg(long, default_value_t = 4)]
        snapshots: usize,
        /// Time between snapshots, e.g. 90d or 12w.
        #[arg(long, default_value = "90d", value_parser = generate::parse_interval)]
        interval: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Date of the first snapshot (YYYY-MM-DD).
        #[arg(long)]
        start: Option<String>,
        /// default | none | KIND[=MAGNITUDE],KIND...
        #[arg(long, default_value = "default")]
        anomalies: generate::AnomalySelection,
        /// csv | csv.gz | parquet
        #[arg(long, default_value = "csv")]
        format: generate::OutputFormat,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(clap::Args)]
struct AuditArgs {
    /// Snapshots, each FILE (with a YYYY-MM-DD in its name) or FILE@YYYY-MM-DD.
    #[arg(required = true, num_args = 1..)]
    snapshots: Vec<String>,
    #[arg(long, default_value = "canonical")]
    profile: String,
    /// Election calendar (format in the README).
    #[arg(long)]
    calendar: Option<PathBuf>,
    /// Death registry in the canonical layout, matched on name and birth date.
    #[arg(long)]
    deceased: Option<PathBuf>,
    /// Institution addresses (dormitories, care homes, barracks) for the crowded-address rule.
    #[arg(long)]
    allowlist: Option<PathBuf>,
    /// Replace names, addresses, phones and emails by keyed hashes in every output. The key is
    /// read from --redact-key-file or the ROLLAUDIT_REDACT_KEY environment variable.
    #[arg(long)]
    redact: bool,
    #[arg(long)]
    redact_key_file: Option<PathBuf>,
    /// Exit with status 1 when a finding reaches this severity (info, low, medium, high,
    /// critical).
    #[arg(long, value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// The run's reference time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) recorded in report.json;
    /// default SOURCE_DATE_EPOCH, else now.
    #[arg(long)]
    as_of: Option<String>,
    /// Treat any rejected row as an error (exit 2).
    #[arg(long)]
    strict: bool,
    /// Print each stage's wall time, rows per second and peak memory on stderr.
    #[arg(long)]
    timings: bool,
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// The snapshot: FILE (with a YYYY-MM-DD in its name) or FILE@YYYY-MM-DD.
    snapshot: String,
    #[command(flatten)]
    load: LoadArgs,
    /// Election calendar: election day, registration cut-off, voting ages.
    #[arg(long)]
    calendar: Option<PathBuf>,
    /// Death registry in the canonical layout, matched on name and birth date.
    #[arg(long)]
    deceased: Option<PathBuf>,
    /// Institution addresses, CSV: address_line[,locality[,postcode[,kind]]].
    #[arg(long)]
    allowlist: Option<PathBuf>,
    /// Reference date for ages (YYYY-MM-DD); default election day, else the snapshot date.
    #[arg(long)]
    as_of: Option<String>,
    /// Exit with status 1 when a finding reaches this severity.
    #[arg(long, value_parser = parse_severity)]
    fail_on: Option<Severity>,
    #[arg(short, long)]
    output: PathBuf,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::from_name(s).ok_or_else(|| "one of info, low, medium, high, critical".to_string())
}

#[derive(clap::Args)]
struct LoadArgs {
    /// A built-in profile name (see `rollaudit profiles`) or a path to a profile .toml.
    #[arg(long, default_value = "canonical")]
    profile: String,
    /// Treat any rejected row as an error (exit 2).
    #[arg(long)]
    strict: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut stream_instead = false;
    if !args.skip_memory_check {
        if let Some(shortfall) = memory_shortfall(&input_paths(&args.command)) {
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
                _ => bail!(
                    "{shortfall}. Split the register into partitions (e.g. one export per \
                     region) and run each, use a machine with more memory, or pass \
                     --skip-memory-check to try anyway"
                ),
            }
        }
    }
    match args.command {
        Command::Profiles => profiles(),
        Command::Ingest {
            input,
            load,
            output,
            piece_bytes,
        } => ingest(&input, &load, &output, piece_bytes),
        Command::Inspect { file, load } => inspect(&file, &load),
        Command::Audit(args) => audit(&args),
        Command::Scan(args) => scan(&args),
        Command::Dedupe {
            snapshot,
            load: load_args,
            exact_only,
            output,
        } => {
            // From an ingested file, only the columns the pass reads are loaded.
            let loaded = match load::IngestedReader::open(&snapshot).is_ok() {
                true => {
                    let fields: &[Field] = match exact_only {
                        true => &rollaudit::dedupe::exact::FIELDS,
                        false => &rollaudit::dedupe::FIELDS,
                    };
                    let loaded = load::load_ingested(&snapshot, fields)?;
                    check_strict(&snapshot, &load_args, &loaded.report)?;
                    loaded
                }
                false => load(&snapshot, &load_args)?.0,
            };
            println!("{}", conservation_line(&loaded.report));
            let exact_line = |e: &rollaudit::dedupe::ExactDuplicates| {
                format!(
                    "exact pass: {} groups ({} pairs on name and birth date, {} on national id)",
                    e.groups.len(),
                    e.name_birth_pairs,
                    e.national_id_pairs
                )
            };
            if exact_only {
                let exact = rollaudit::dedupe::exact_duplicates(&loaded.snapshot);
                report::dedupe::write_exact(&output, &exact, &loaded.snapshot)?;
                println!("{}", exact_line(&exact));
                println!("wrote {}", output.display());
                return Ok(ExitCode::SUCCESS);
            }
            let config = rollaudit::dedupe::DedupeConfig::default();
            let result = rollaudit::dedupe::dedupe(&loaded.snapshot, &config)?;
            report::dedupe::write_dedupe(&output, &result, &loaded.snapshot)?;
            let c = &result.chance;
            println!("{}", exact_line(&result.exact));
            println!(
                "{} candidate pairs, {} matched pairs in {} clusters",
                result.candidates,
                result.matched().count(),
                result.clusters.len()
            );
            println!(
                "same name and birth date: {} pairs found, {:.1} expected by coincidence",
                c.found_pairs, c.expected_pairs
            );
            println!("wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalDedupe { labels, predicted } => {
            let read = |p: &Path| -> Result<Vec<(String, String)>> {
                let bytes =
                    std::fs::read(p).with_context(|| format!("{}: cannot read", p.display()))?;
                rollaudit::dedupe::evaluate::parse_labels(&bytes)
                    .with_context(|| format!("{}: not a labels file", p.display()))
            };
            let s = rollaudit::dedupe::evaluate::evaluate(&read(&predicted)?, &read(&labels)?);
            println!(
                "precision {:.4}  recall {:.4}  F1 {:.4}  ({} of {} predicted pairs true; {} true pairs)",
                s.precision, s.recall, s.f1, s.true_positives, s.predicted_pairs, s.true_pairs
            );
            Ok(ExitCode::SUCCESS)
        }
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
            let side = |p: Option<String>| LoadArgs {
                profile: p.unwrap_or_else(|| profile.clone()),
                strict,
            };
            let timings = Timings::new(timings);
            let status = if stream || stream_instead {
                diff_streamed(&old, &new, window_rows, &output, &timings)?
            } else {
                diff(
                    &old,
                    &side(old_profile),
                    &new,
                    &side(new_profile),
                    &output,
                    &timings,
                )?
            };
            timings.report();
            Ok(status)
        }
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
            if snapshots == 0 {
                bail!("--snapshots must be at least 1");
            }
            let config = GenerateConfig {
                voters,
                snapshots,
                interval_days: interval,
                seed,
                out_dir: output,
                anomalies,
                format,
                start,
            };
            let summary = generate::generate(&config)?;
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
    }
}

/// `--as-of`, else `SOURCE_DATE_EPOCH`, else now, as `YYYY-MM-DDTHH:MM:SSZ`.
fn as_of(arg: Option<&str>) -> Result<String> {
    let ms = match arg {
        Some(s) => {
            let full = if s.len() == 10 {
                format!("{s}T00:00:00Z")
            } else {
                s.to_string()
            };
            rollaudit::dates::DateFormat::compile("%Y-%m-%dT%H:%M:%SZ")
                .expect("a valid format")
                .parse_timestamp(&full)
                .with_context(|| {
                    format!("--as-of {s:?} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
                })?
        }
        None => match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) => {
                let secs: i64 = v.trim().parse().with_context(|| {
                    format!("SOURCE_DATE_EPOCH {v:?} is not a number of seconds")
                })?;
                secs * 1000
            }
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        },
    };
    Ok(format!("{}Z", rollaudit::dates::IsoTimestamp(ms)))
}

fn audit(args: &AuditArgs) -> Result<ExitCode> {
    use rollaudit::audit::{AuditConfig, AuditInput};
    let inputs = args
        .snapshots
        .iter()
        .map(|s| AuditInput::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let profile = Profile::resolve(&args.profile)?;
    let calendar = args
        .calendar
        .as_deref()
        .map(rollaudit::calendar::ElectionCalendar::from_path)
        .transpose()?;
    let mut config = AuditConfig::default();
    if let Some(path) = &args.allowlist {
        config.scan.allowlist = rollaudit::rules::Allowlist::from_path(path)?;
    }
    let deceased = match &args.deceased {
        Some(path) => {
            let loaded = load::load_path(path, &Profile::canonical(), &load::NoProgress)?;
            Some((
                path.clone(),
                rollaudit::audit::sha256_file(path)?,
                loaded.snapshot,
            ))
        }
        None => None,
    };
    let redactor = if args.redact {
        let key = match (&args.redact_key_file, std::env::var("ROLLAUDIT_REDACT_KEY")) {
            (Some(path), _) => std::fs::read(path)
                .with_context(|| format!("{}: cannot read the redaction key", path.display()))?,
            (None, Ok(k)) if !k.is_empty() => k.into_bytes(),
            _ => bail!("--redact needs a key: --redact-key-file FILE or ROLLAUDIT_REDACT_KEY"),
        };
        Some(rollaudit::report::redact::Redactor::new(&key))
    } else {
        None
    };
    let as_of = as_of(args.as_of.as_deref())?;
    let bar = Bar::new("loading");
    let spinner = crate::progress::StageSpinner::new();
    let timings = Timings::new(args.timings);
    let result = rollaudit::audit::run(
        inputs,
        &profile,
        calendar.as_ref(),
        deceased.as_ref().map(|d| &d.2),
        &config,
        &bar,
        &|stage| {
            spinner.stage(stage.name());
            timings.begin(stage.name());
        },
    )?;
    spinner.finish();
    timings.begin("reports");
    if args.strict {
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
    let calendar_text = calendar.as_ref().map(|c| c.text.as_str());
    let run = report::audit::RunInfo {
        command_line: &command_line,
        as_of: &as_of,
        profile_name: &profile.name,
        profile_text: &profile.text,
        calendar: args.calendar.as_deref().zip(calendar_text),
        deceased: deceased.as_ref().map(|d| (d.0.as_path(), d.1.clone())),
        configuration: format!("{config:?}"),
        redactor: redactor.as_ref(),
    };
    report::audit::write_audit(&args.output, &result, &run)?;
    timings.end();
    let rows = |i: &rollaudit::audit::LoadedInput| i.snapshot.rows() as u64;
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
    print!("{}", render_audit_summary(&result, redactor.as_ref()));
    println!("wrote {}", args.output.join("index.html").display());
    let worst = result.findings.iter().map(|f| f.severity).max();
    Ok(match (args.fail_on, worst) {
        (Some(bar), Some(w)) if w >= bar => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// Findings listed on the terminal after the counts.
const TOP_FINDINGS: usize = 15;

fn render_audit_summary(
    result: &rollaudit::audit::AuditResult,
    redactor: Option<&rollaudit::report::redact::Redactor>,
) -> String {
    let mut out = String::new();
    for i in &result.inputs {
        let _ = writeln!(
            out,
            "{} {}: {}",
            rollaudit::dates::IsoDate(i.input.date),
            i.input.path.display(),
            conservation_line(&i.report)
        );
    }
    for (t, d) in result.diffs.iter().enumerate() {
        let c = &d.counts;
        let _ = writeln!(
            out,
            "changes {} -> {}: added {}, removed {}, modified {}",
            rollaudit::dates::IsoDate(result.inputs[t].input.date),
            rollaudit::dates::IsoDate(result.inputs[t + 1].input.date),
            c.added,
            c.removed,
            c.modified
        );
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            format!(
                "{} {}",
                s.name(),
                result.findings.iter().filter(|f| f.severity == *s).count()
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "findings: {}; duplicate clusters {}",
        counts.join(", "),
        result.dedupe.clusters.len()
    );
    // Every rule that fired at medium or above, with its count and worst severity: the
    // one-line answer to "what was found".
    let mut by_rule: std::collections::BTreeMap<&str, (usize, Severity)> = Default::default();
    for f in result
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
    {
        let e = by_rule.entry(f.rule).or_insert((0, f.severity));
        e.0 += 1;
        e.1 = e.1.max(f.severity);
    }
    if !by_rule.is_empty() {
        let parts: Vec<String> = by_rule
            .iter()
            .map(|(rule, (n, worst))| format!("{rule} {n} (worst {})", worst.name()))
            .collect();
        let _ = writeln!(out, "rules at medium or above: {}", parts.join(", "));
    }
    let shown = report::audit::shown_findings(result, redactor);
    for f in shown
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .take(TOP_FINDINGS)
    {
        let _ = writeln!(
            out,
            "  {:<8} {:<20} {:<9} {:<28} {:>6} voters  {}",
            f.severity.name(),
            f.rule,
            f.scope.name(),
            f.scope_value,
            f.voter_ids.len(),
            f.snapshot_date
                .map(|d| rollaudit::dates::IsoDate(d).to_string())
                .unwrap_or_default()
        );
    }
    out
}

fn scan(args: &ScanArgs) -> Result<ExitCode> {
    let input = rollaudit::audit::AuditInput::parse(&args.snapshot)?;
    let (loaded, _) = load(&input.path, &args.load)?;
    let calendar = args
        .calendar
        .as_deref()
        .map(rollaudit::calendar::ElectionCalendar::from_path)
        .transpose()?;
    let as_of = args
        .as_of
        .as_deref()
        .map(|s| {
            rollaudit::dates::parse_iso_date(s)
                .with_context(|| format!("--as-of {s:?} is not a YYYY-MM-DD date"))
        })
        .transpose()?;
    let mut config = rollaudit::rules::ScanConfig {
        as_of,
        ..Default::default()
    };
    if let Some(path) = &args.allowlist {
        config.allowlist = rollaudit::rules::Allowlist::from_path(path)?;
    }
    let deceased = args
        .deceased
        .as_deref()
        .map(|p| load(p, &args.load))
        .transpose()?;
    let result = rollaudit::rules::scan(
        &loaded.snapshot,
        input.date,
        calendar.as_ref(),
        &config,
        deceased.as_ref().map(|(d, _)| &d.snapshot),
    );
    report::findings::write_scan(
        &args.output,
        &result,
        &loaded.snapshot,
        &input.path.display().to_string(),
    )?;
    println!("{}", conservation_line(&loaded.report));
    print!("{}", report::findings::scan_summary(&result));
    println!("wrote {}", args.output.display());
    Ok(match (args.fail_on, result.max_severity()) {
        (Some(bar), Some(w)) if w >= bar => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn profiles() -> Result<ExitCode> {
    for name in Profile::builtin_names() {
        let p = Profile::resolve(name)?;
        println!("{name:<12} {}", p.description);
    }
    println!("\nOr pass --profile PATH.toml (format in the README).");
    Ok(ExitCode::SUCCESS)
}

fn load(path: &Path, args: &LoadArgs) -> Result<(Loaded, Profile)> {
    load_with(path, args, &Bar::new("loading"))
}

fn load_with(path: &Path, args: &LoadArgs, bar: &Bar) -> Result<(Loaded, Profile)> {
    let profile = Profile::resolve(&args.profile)?;
    let loaded = load::load_path(path, &profile, bar)?;
    check_strict(path, args, &loaded.report)?;
    Ok((loaded, profile))
}

/// `--strict`: any rejected row is an error.
fn check_strict(path: &Path, args: &LoadArgs, report: &load::LoadReport) -> Result<()> {
    if args.strict && report.rows_rejected > 0 {
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

/// The files a command will load, for the memory estimate.
fn input_paths(command: &Command) -> Vec<PathBuf> {
    let dated = |spec: &String| {
        rollaudit::audit::AuditInput::parse(spec)
            .map(|i| i.path)
            .unwrap_or_else(|_| PathBuf::from(spec))
    };
    match command {
        // A delimited export is ingested a piece at a time; a columnar one is loaded whole.
        Command::Ingest { input, .. } => match load::InputFormat::by_name(input) {
            load::InputFormat::Delimited => Vec::new(),
            _ => vec![input.clone()],
        },
        Command::Inspect { file, .. } => vec![file.clone()],
        Command::Dedupe { snapshot, .. } => vec![snapshot.clone()],
        Command::Diff { old, new, .. } => vec![old.clone(), new.clone()],
        Command::Scan(a) => std::iter::once(dated(&a.snapshot))
            .chain(a.deceased.clone())
            .collect(),
        Command::Audit(a) => a
            .snapshots
            .iter()
            .map(dated)
            .chain(a.deceased.clone())
            .collect(),
        Command::Profiles | Command::EvalDedupe { .. } | Command::Generate { .. } => Vec::new(),
    }
}

/// What a run is estimated to need when that is more memory than the machine has free (the
/// caller refuses it before any work, or streams instead), as one sentence naming the inputs.
fn memory_shortfall(paths: &[PathBuf]) -> Option<String> {
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let estimate = rollaudit::limits::estimate(&refs);
    let available = rollaudit::limits::available_memory()?;
    if estimate.peak_bytes <= available {
        return None;
    }
    use rollaudit::limits::gib;
    Some(format!(
        "{}: this run needs about {} of memory ({} of input text; model in rollaudit::limits) \
         and {} is available",
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        gib(estimate.peak_bytes),
        gib(estimate.input_text_bytes),
        gib(available)
    ))
}

fn conservation_line(report: &LoadReport) -> String {
    format!(
        "rows read {} = loaded {} + rejected {}",
        report.rows_read, report.rows_loaded, report.rows_rejected
    )
}

/// Where ingest puts the rejects of `output`: `register.parquet` -> `register.rejects.csv`.
fn rejects_path(output: &Path) -> PathBuf {
    output.with_extension("rejects.csv")
}

fn ingest(input: &Path, args: &LoadArgs, output: &Path, piece_bytes: usize) -> Result<ExitCode> {
    let profile = Profile::resolve(&args.profile)?;
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
        match load::ingest_in_pieces(input, &profile, &staged, piece_bytes, &bar)? {
            Some(done) => {
                let placed = check_strict(input, args, &done.report).and_then(|()| {
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
            // Columnar or UTF-16 input: loaded whole.
            None => {
                let (loaded, _) = load_with(input, args, &bar)?;
                loaded.snapshot.write(output)?;
                (
                    loaded.report,
                    loaded.snapshot.rows() as u64,
                    loaded.snapshot.digest,
                )
            }
        };
    let rejects = rejects_path(output);
    report::write_rejects_csv(&rejects, &report.rejects)?;
    println!("{}", conservation_line(&report));
    println!("wrote {} ({rows} rows, digest {digest})", output.display());
    if report.rows_rejected > 0 {
        println!(
            "rejected rows with line numbers and reasons: {}",
            rejects.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn diff(
    old: &Path,
    old_args: &LoadArgs,
    new: &Path,
    new_args: &LoadArgs,
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
        let other = scope.spawn(|| load_with(new, new_args, &new_bar));
        let first = load_with(old, old_args, &old_bar);
        let second = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, second)
    });
    let ((old_loaded, _), (new_loaded, _)) = (old_loaded?, new_loaded?);
    println!(
        "{}: {}",
        old.display(),
        conservation_line(&old_loaded.report)
    );
    println!(
        "{}: {}",
        new.display(),
        conservation_line(&new_loaded.report)
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
    print_diff(&totals, &kinds, dir);
    Ok(ExitCode::SUCCESS)
}

/// `diff --stream`: two ingested Parquet files, a window at a time (`diff::stream`).
fn diff_streamed(
    old: &Path,
    new: &Path,
    window_rows: usize,
    dir: &Path,
    timings: &Timings,
) -> Result<ExitCode> {
    use rollaudit::diff::stream;
    let config = rollaudit::diff::DiffConfig::default();
    timings.begin("re-keying pass");
    let rekeyed = stream::find_rekeyed(old, new, &config, window_rows)?;
    timings.begin("diff and write");
    let mut writer = report::diff::DiffWriter::create(dir)?;
    let (mut windows, mut rows) = (0u64, 0u64);
    stream::diff_files(old, new, &config, rekeyed, window_rows, |result, o, n| {
        windows += 1;
        rows += (o.rows() + n.rows()) as u64;
        Ok(writer.append(result, o, n)?)
    })?;
    let (totals, kinds) = writer.finish()?;
    timings.end();
    timings.rows("re-keying pass", rows);
    timings.rows("diff and write", rows);
    println!("diffed in {windows} windows of about {window_rows} rows a side");
    print_diff(&totals, &kinds, dir);
    Ok(ExitCode::SUCCESS)
}

fn print_diff(
    totals: &rollaudit::diff::DiffResult,
    kinds: &std::collections::BTreeMap<rollaudit::diff::ChangeKind, u64>,
    dir: &Path,
) {
    let c = &totals.counts;
    if totals.identical {
        println!("identical: equal digests ({})", totals.old_digest);
    }
    println!(
        "added {}  removed {}  modified {}  unchanged {}",
        c.added, c.removed, c.modified, c.unchanged
    );
    if !totals.drift.is_empty() {
        let names = |f: &[Field]| f.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
        println!(
            "schema drift: only in old [{}], only in new [{}] (not compared)",
            names(&totals.drift.only_old),
            names(&totals.drift.only_new)
        );
    }
    for (kind, n) in kinds {
        println!("  {:<22} {n}", kind.name());
    }
    println!("wrote {}", dir.display());
}

fn inspect(file: &Path, args: &LoadArgs) -> Result<ExitCode> {
    let (loaded, profile) = load(file, args)?;
    print!("{}", render_inspect(&loaded, &profile, file));
    Ok(ExitCode::SUCCESS)
}

fn render_inspect(loaded: &Loaded, profile: &Profile, file: &Path) -> String {
    let r = &loaded.report;
    let snap = &loaded.snapshot;
    let mut out = String::new();
    let gz = if r.gzipped { ", gzip" } else { "" };
    let _ = writeln!(out, "file     {}", file.display());
    let _ = writeln!(
        out,
        "format   {}{gz}, encoding {}",
        r.format.name(),
        r.encoding
    );
    let _ = writeln!(out, "profile  {} ({})", profile.name, profile.origin);
    let _ = writeln!(out, "{}", conservation_line(r));
    let _ = writeln!(out, "digest   {}", snap.digest);
    let _ = writeln!(out, "schema   {} canonical fields", snap.fields.len());
    let _ = write!(out, "{}", render_schema(&snap.df));
    if !r.missing_fields.is_empty() {
        let names: Vec<_> = r.missing_fields.iter().map(|f| f.name()).collect();
        let _ = writeln!(
            out,
            "missing  {} (checks needing them are skipped)",
            names.join(", ")
        );
    }
    if !r.unmapped_columns.is_empty() {
        let _ = writeln!(
            out,
            "unmapped {} source columns: {}",
            r.unmapped_columns.len(),
            abbreviate(&r.unmapped_columns, 12)
        );
    }
    let summary = r.reject_summary();
    if summary.is_empty() {
        let _ = writeln!(out, "rejects  none");
    } else {
        let parts: Vec<String> = summary.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "rejects  {}", parts.join(", "));
        for rej in r.rejects.iter().take(5) {
            let _ = writeln!(out, "  line {}: {}", rej.line, rej.reason);
        }
        if r.rejects.len() > 5 {
            let _ = writeln!(out, "  ... {} more", r.rejects.len() - 5);
        }
    }
    out
}

fn render_schema(df: &DataFrame) -> String {
    let mut out = String::new();
    for c in df.columns() {
        let name = c.name().as_str();
        if name == FINGERPRINT_COLUMN || name == LINE_COLUMN {
            continue;
        }
        let kind = Field::from_name(name).map_or("?", |f| match f.kind() {
            rollaudit::model::FieldKind::Text => "text",
            rollaudit::model::FieldKind::Status => "status",
            rollaudit::model::FieldKind::Date => "date",
            rollaudit::model::FieldKind::Year => "year",
            rollaudit::model::FieldKind::Timestamp => "timestamp",
        });
        let _ = writeln!(out, "  {name:<18} {kind:<9} {:>10} missing", c.null_count());
    }
    out
}

fn abbreviate(items: &[String], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(String::as_str).collect();
    let more = items.len().saturating_sub(max);
    if more > 0 {
        format!("{}, ... ({more} more)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
