//! The command line as clap parses it: flags and their help, nothing resolved. Flags shared
//! by several commands live in one struct ([`LoadArgs`], [`RuleArgs`]), flattened into each.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use rollaudit::findings::Severity;
use rollaudit::generate;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  the command ran
  1  an incident (the findings of one event, grouped) at or above --fail-on
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
    pub command: Command,
    /// Run even when the inputs are estimated to need more memory than is available
    /// (the estimate and its model: `rollaudit::load::memory`), in the plan that needs the
    /// least, with a note on stderr.
    #[arg(long, global = true)]
    pub skip_memory_check: bool,
    /// The memory a run may plan to use, e.g. 8G or 512M (K, M, G, T: powers of 1024). Default:
    /// 90% of the memory the kernel says is available now. A run estimated to need more is
    /// refused before any work (a diff of two ingested files streams instead; an audit plans
    /// its dedupe within it, and ingests its CSV exports first where they do not fit), and
    /// `ingest`, `audit`, `scan` and `dedupe` read a CSV in pieces of at most an eighth of it.
    #[arg(long, global = true, value_parser = parse_size)]
    pub memory_limit: Option<u64>,
}

/// A byte count with an optional binary unit: `1048576`, `512M`, `8G`, `1.5GiB`.
pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("{s:?}: a size such as 512M or 8G")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?}: a size such as 512M or 8G"))?;
    let bytes = value * (1u64 << shift) as f64;
    if !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(format!("{s:?}: at least one byte"));
    }
    Ok(bytes as u64)
}

#[derive(Subcommand)]
pub enum Command {
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
        /// is held at once. Default 256 MiB, or an eighth of --memory-limit if that is less.
        #[arg(long)]
        piece_bytes: Option<usize>,
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
    /// The distributed engine's processes (Apache DataFusion Ballista, with rollaudit's
    /// functions), for `audit --cluster`. Needs a build with `--features cluster`.
    Cluster {
        #[command(subcommand)]
        role: ClusterRole,
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

/// Seconds without a heartbeat after which the cluster's scheduler takes an executor for lost
/// and runs its tasks again elsewhere: three missed heartbeats ([`HEARTBEAT_SECONDS`]).
/// Ballista's own defaults (180 s, heartbeats every 60 s) suit long jobs on large clusters; an
/// audit is a batch job someone waits on. With a 6 s timeout, the test audit whose executor
/// was killed finished about 6 s later (`tests/cluster.rs`); with Ballista's, 3 minutes later.
const EXECUTOR_TIMEOUT_SECONDS: u64 = 30;

/// Seconds between an executor's heartbeats to the scheduler.
const HEARTBEAT_SECONDS: u64 = 10;

#[derive(Subcommand)]
pub enum ClusterRole {
    /// The scheduler: plans each job and hands its tasks to the executors. Runs until stopped.
    Scheduler {
        /// Address to listen on; 0.0.0.0:50050 to serve executors on other machines.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
        /// The host name executors and clients reach the scheduler by.
        #[arg(long, default_value = "localhost")]
        external_host: String,
        /// Seconds without a heartbeat after which an executor is taken for lost and its
        /// tasks run again elsewhere (Ballista's own default is 180).
        #[arg(long, default_value_t = EXECUTOR_TIMEOUT_SECONDS)]
        executor_timeout: u64,
    },
    /// An executor: runs tasks, reading the snapshot files at the paths the audit names
    /// (shared storage when on several machines). Runs until stopped.
    Executor(ExecutorArgs),
}

#[derive(clap::Args)]
pub struct ExecutorArgs {
    /// The scheduler, HOST:PORT.
    #[arg(long, default_value = "localhost:50050")]
    pub scheduler: String,
    /// Address its services listen on; 0.0.0.0 on a cluster of several machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_host: String,
    /// The host name the scheduler and other executors reach it by (default: the address
    /// it connects to the scheduler from).
    #[arg(long)]
    pub external_host: Option<String>,
    /// Arrow Flight port (shuffle reads and results).
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// gRPC port (tasks from the scheduler).
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Directory for shuffle files (created if missing).
    #[arg(long)]
    pub work_dir: PathBuf,
    /// Tasks run at once; 0 for one per core.
    #[arg(long, default_value_t = 0)]
    pub vcores: usize,
    /// Seconds between heartbeats to the scheduler; keep it well under the scheduler's
    /// --executor-timeout (Ballista's own default is 60).
    #[arg(long, default_value_t = HEARTBEAT_SECONDS)]
    pub heartbeat: u64,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Snapshots, each FILE (with a YYYY-MM-DD in its name) or FILE@YYYY-MM-DD.
    #[arg(required = true, num_args = 1..)]
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Replace names, addresses, phones and emails by keyed hashes in every output. The key is
    /// read from --redact-key-file or the ROLLAUDIT_REDACT_KEY environment variable.
    #[arg(long)]
    pub redact: bool,
    #[arg(long)]
    pub redact_key_file: Option<PathBuf>,
    /// Exit with status 1 when an incident (the findings of one event, see report.json's
    /// `incidents`) reaches this severity (info, low, medium, high, critical).
    #[arg(long, value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// The run's reference time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) recorded in report.json;
    /// default SOURCE_DATE_EPOCH, else now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Print each stage's wall time, rows per second and peak memory on stderr.
    #[arg(long)]
    pub timings: bool,
    /// Run each diff's keyed join on a cluster: its scheduler's HOST:PORT (`rollaudit cluster
    /// scheduler`). Every snapshot must then be an ingested Parquet file (`rollaudit ingest`)
    /// that the executors can read at the same path. Needs a build with `--features cluster`.
    #[arg(long, value_name = "HOST:PORT")]
    pub cluster: Option<String>,
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(clap::Args)]
pub struct ScanArgs {
    /// The snapshot: FILE (with a YYYY-MM-DD in its name) or FILE@YYYY-MM-DD.
    pub snapshot: String,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Reference date for ages (YYYY-MM-DD); default election day, else the snapshot date.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Exit with status 1 when an incident (the findings of one event, see scan.json's
    /// `incidents`) reaches this severity (info, low, medium, high, critical).
    #[arg(long, value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    #[arg(short, long)]
    pub output: PathBuf,
}

/// What the record rules check against, shared by `audit` and `scan`.
#[derive(clap::Args)]
pub struct RuleArgs {
    /// Election calendar: election day, registration cut-off, voting ages (format in
    /// docs/audit.md).
    #[arg(long)]
    pub calendar: Option<PathBuf>,
    /// Death registry in the canonical layout, matched on name and birth date.
    #[arg(long)]
    pub deceased: Option<PathBuf>,
    /// Institution addresses (dormitories, care homes, barracks) for the crowded-address rule,
    /// CSV: address_line[,locality[,postcode[,kind]]].
    #[arg(long)]
    pub allowlist: Option<PathBuf>,
}

pub(super) fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::from_name(s).ok_or_else(|| "one of info, low, medium, high, critical".to_string())
}

/// How an input is read, shared by every command that loads one.
#[derive(clap::Args)]
pub struct LoadArgs {
    /// A built-in profile name (see `rollaudit profiles`) or a path to a profile .toml.
    #[arg(long, default_value = "canonical")]
    pub profile: String,
    /// Treat any rejected row as an error (exit 2).
    #[arg(long)]
    pub strict: bool,
}
