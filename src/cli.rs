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
use rollaudit::generate::{self, GenerateConfig};
use rollaudit::load::{self, LoadReport, Loaded};
use rollaudit::model::{Field, FINGERPRINT_COLUMN, LINE_COLUMN};
use rollaudit::profile::Profile;
use rollaudit::report;

use crate::progress::Bar;

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
    },
    /// Print row counts, schema, missing values per field, the snapshot digest and rejects.
    Inspect {
        file: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
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
struct LoadArgs {
    /// A built-in profile name (see `rollaudit profiles`) or a path to a profile .toml.
    #[arg(long, default_value = "canonical")]
    profile: String,
    /// Treat any rejected row as an error (exit 2).
    #[arg(long)]
    strict: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Profiles => profiles(),
        Command::Ingest {
            input,
            load,
            output,
        } => ingest(&input, &load, &output),
        Command::Inspect { file, load } => inspect(&file, &load),
        Command::Diff {
            old,
            new,
            profile,
            old_profile,
            new_profile,
            strict,
            output,
        } => {
            let side = |p: Option<String>| LoadArgs {
                profile: p.unwrap_or_else(|| profile.clone()),
                strict,
            };
            diff(&old, &side(old_profile), &new, &side(new_profile), &output)
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

fn profiles() -> Result<ExitCode> {
    for name in Profile::builtin_names() {
        let p = Profile::resolve(name)?;
        println!("{name:<12} {}", p.description);
    }
    println!("\nOr pass --profile PATH.toml (format in the README).");
    Ok(ExitCode::SUCCESS)
}

fn load(path: &Path, args: &LoadArgs) -> Result<(Loaded, Profile)> {
    let profile = Profile::resolve(&args.profile)?;
    let bar = Bar::new("loading");
    let loaded = load::load_path(path, &profile, &bar)?;
    if args.strict && loaded.report.rows_rejected > 0 {
        let first = &loaded.report.rejects[0];
        bail!(
            "{}: --strict: {} rows rejected; first at line {}: {}",
            path.display(),
            loaded.report.rows_rejected,
            first.line,
            first.reason
        );
    }
    Ok((loaded, profile))
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

fn ingest(input: &Path, args: &LoadArgs, output: &Path) -> Result<ExitCode> {
    let (loaded, _) = load(input, args)?;
    loaded.snapshot.write(output)?;
    let rejects = rejects_path(output);
    report::write_rejects_csv(&rejects, &loaded.report.rejects)?;
    println!("{}", conservation_line(&loaded.report));
    println!(
        "wrote {} ({} rows, digest {})",
        output.display(),
        loaded.snapshot.rows(),
        loaded.snapshot.digest
    );
    if loaded.report.rows_rejected > 0 {
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
) -> Result<ExitCode> {
    let (old_loaded, _) = load(old, old_args)?;
    println!(
        "{}: {}",
        old.display(),
        conservation_line(&old_loaded.report)
    );
    let (new_loaded, _) = load(new, new_args)?;
    println!(
        "{}: {}",
        new.display(),
        conservation_line(&new_loaded.report)
    );
    let result = rollaudit::diff::diff(
        &old_loaded.snapshot,
        &new_loaded.snapshot,
        &rollaudit::diff::DiffConfig::default(),
    );
    report::diff::write_diff(dir, &result, &old_loaded.snapshot, &new_loaded.snapshot)?;
    let c = &result.counts;
    if result.identical {
        println!("identical: equal digests ({})", result.old_digest);
    }
    println!(
        "added {}  removed {}  modified {}  unchanged {}",
        c.added, c.removed, c.modified, c.unchanged
    );
    if !result.drift.is_empty() {
        let names = |f: &[Field]| f.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
        println!(
            "schema drift: only in old [{}], only in new [{}] (not compared)",
            names(&result.drift.only_old),
            names(&result.drift.only_new)
        );
    }
    for (kind, n) in result.kind_counts() {
        println!("  {:<22} {n}", kind.name());
    }
    println!("wrote {}", dir.display());
    Ok(ExitCode::SUCCESS)
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
