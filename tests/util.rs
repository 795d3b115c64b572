//! Helpers for running the real `rollaudit` binary in a temporary directory.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use polars::prelude::ParquetWriter;
use rollaudit::snapshot::Snapshot;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A temporary working directory for one test; removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a file and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write a fixture");
        path
    }

    /// Runs `rollaudit ARGS` with this directory as the working directory.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// Runs `rollaudit ARGS` with these environment variables set besides the inherited ones.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_rollaudit"))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.tmp.path())
            .output()
            .expect("run rollaudit");
        Run::from(output, args)
    }

    /// Runs `rollaudit ARGS` with these inherited environment variables removed, so that the
    /// outcome does not depend on the environment the tests run in.
    pub fn run_without_env(&self, args: &[&str], remove: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rollaudit"));
        command.args(args).current_dir(self.tmp.path());
        for name in remove {
            command.env_remove(name);
        }
        Run::from(command.output().expect("run rollaudit"), args)
    }

    /// Like [`Dir::run`], but a run still going after `limit` is killed and fails the test as a
    /// hang. The streams go to anonymous files, so a chatty child cannot block on a full pipe.
    pub fn run_within(&self, args: &[&str], limit: Duration) -> Run {
        let mut stdout = tempfile::tempfile().expect("a file for stdout");
        let mut stderr = tempfile::tempfile().expect("a file for stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rollaudit"))
            .args(args)
            .current_dir(self.tmp.path())
            .stdout(Stdio::from(stdout.try_clone().expect("clone stdout file")))
            .stderr(Stdio::from(stderr.try_clone().expect("clone stderr file")))
            .spawn()
            .expect("run rollaudit");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for rollaudit") {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("rollaudit {} hung: killed after {limit:?}", args.join(" "));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let read = |file: &mut std::fs::File| {
            let mut bytes = Vec::new();
            file.rewind().expect("rewind an output file");
            file.read_to_end(&mut bytes).expect("read an output file");
            bytes
        };
        let output = Output {
            status,
            stdout: read(&mut stdout),
            stderr: read(&mut stderr),
        };
        Run::from(output, args)
    }
}

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    args: String,
}

impl Run {
    fn from(output: Output, args: &[&str]) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            args: args.join(" "),
        }
    }

    /// Asserts the exit status, showing both streams when it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "rollaudit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.stdout, self.stderr
        );
        self
    }

    /// An error run: exit 2, exactly one line on stderr, no panic.
    pub fn expect_one_line_error(&self) -> &Run {
        self.expect_code(2);
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "one-line error expected:\n{}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

/// The repository's root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A generated series, loaded: snapshot dates (days since 1970) and snapshots in date order,
/// and the parsed `truth.json`.
pub struct Series {
    pub dates: Vec<i32>,
    pub snapshots: Vec<rollaudit::snapshot::Snapshot>,
    pub truth: serde_json::Value,
}

/// Generates `snapshots` snapshots 90 days apart into `dir` and loads them.
pub fn generated_series(
    dir: &Path,
    voters: usize,
    snapshots: usize,
    seed: u64,
    anomalies: rollaudit::generate::AnomalySelection,
) -> Series {
    let mut config = rollaudit::generate::GenerateConfig::new(voters, snapshots, 90, seed, dir);
    config.anomalies = anomalies;
    let summary = rollaudit::generate::generate(&config).expect("generate");
    let profile = rollaudit::profile::Profile::canonical();
    let mut series = Series {
        dates: Vec::new(),
        snapshots: Vec::new(),
        truth: serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap()).unwrap(),
    };
    for file in &summary.files {
        let name = file.file_name().unwrap().to_string_lossy();
        let Some(date) = name.strip_prefix("register-") else {
            continue;
        };
        series
            .dates
            .push(rollaudit::dates::parse_iso_date(&date[..10]).unwrap());
        let loaded = rollaudit::load::load_path(file, &profile, &rollaudit::load::NoProgress);
        series.snapshots.push(loaded.expect("load").snapshot);
    }
    series
}

/// Reads and parses an election calendar file.
pub fn calendar_of(path: &Path) -> rollaudit::calendar::ElectionCalendar {
    let text = std::fs::read_to_string(path).expect("a calendar file");
    rollaudit::calendar::ElectionCalendar::parse(&text, &path.display().to_string())
        .expect("a valid calendar")
}

/// Every file of a directory, by name, sorted by name.
pub fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The audit of `inputs` by the library (canonical profile, default thresholds, no calendar),
/// reading delimited exports `piece_bytes` at a time, joining the diffs by `join` where given
/// and reading ingested snapshots `window_rows` at a time where given (`AuditJob::window_rows`),
/// its artefacts written into `out` with a fixed run record and returned by name ([`files_of`]).
pub fn library_audit(
    inputs: &[rollaudit::audit::AuditInput],
    calendar: Option<&rollaudit::calendar::ElectionCalendar>,
    piece_bytes: usize,
    join: Option<&dyn rollaudit::audit::FileJoin>,
    window_rows: Option<usize>,
    latest_in_windows: bool,
    out: &Path,
) -> Vec<(String, Vec<u8>)> {
    let profile = rollaudit::profile::Profile::canonical();
    let config = rollaudit::audit::AuditConfig::default();
    let job = rollaudit::audit::AuditJob {
        calendar,
        piece_bytes,
        join,
        window_rows,
        latest_in_windows,
        ..job(inputs, &profile, &config)
    };
    audit_job(job, out)
}

/// The audit of `inputs` with `profile` and `config` in the plain plan: no calendar, death
/// registry or cluster, exports read in pieces of the default size, every snapshot loaded
/// whole, none staged. Tests change the fields they are about.
pub fn job<'a>(
    inputs: &[rollaudit::audit::AuditInput],
    profile: &'a rollaudit::profile::Profile,
    config: &'a rollaudit::audit::AuditConfig,
) -> rollaudit::audit::AuditJob<'a> {
    rollaudit::audit::AuditJob {
        inputs: inputs.to_vec(),
        profile,
        calendar: None,
        deceased: None,
        config,
        piece_bytes: rollaudit::load::DEFAULT_PIECE_BYTES,
        join: None,
        window_rows: None,
        latest_in_windows: false,
        staged: &[],
    }
}

/// The artefacts of the audit `job` (no death registry, the canonical profile), written into
/// `out` with a fixed run record and returned by name ([`files_of`]).
pub fn audit_job(job: rollaudit::audit::AuditJob<'_>, out: &Path) -> Vec<(String, Vec<u8>)> {
    let configuration = format!("{:?}", job.config);
    let result = rollaudit::audit::run(job, &rollaudit::load::NoProgress, &|_| {})
        .expect("the series audits");
    let info = rollaudit::report::RunInfo {
        command_line: &[],
        as_of: "2026-10-20T00:00:00Z",
        profile_name: "canonical",
        profile_text: "",
        calendar: None,
        deceased: None,
        configuration,
        redactor: None,
    };
    rollaudit::report::audit::write_audit(out, &result, &info).expect("the artefacts are written");
    files_of(out)
}

/// Rewrites a CSV file without one of its columns.
pub fn without_column(path: &Path, column: &str) {
    let drop = column_of(path, column);
    rewrite(path, |_, record| {
        record
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, v)| v)
            .collect()
    });
}

/// Rewrites a CSV file with `value` in `column` of its data records `rows` (the first is 0).
pub fn with_value(path: &Path, column: &str, value: &str, rows: std::ops::Range<usize>) {
    let at = column_of(path, column);
    rewrite(path, |k, record| {
        let data = k.checked_sub(1).is_some_and(|row| rows.contains(&row));
        record
            .iter()
            .enumerate()
            .map(|(i, v)| if data && i == at { value } else { v })
            .collect()
    });
}

fn column_of(path: &Path, column: &str) -> usize {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    headers
        .iter()
        .position(|h| h == column)
        .expect("the column")
}

/// Rewrites a CSV file, each of its records (the header first, as record 0) as `f` makes it.
fn rewrite(path: &Path, f: impl Fn(usize, &csv::StringRecord) -> csv::StringRecord) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer.write_record(&f(0, &headers)).unwrap();
    for (k, record) in records.iter().enumerate() {
        writer.write_record(&f(k + 1, record)).unwrap();
    }
    writer.flush().unwrap();
}

/// Writes a snapshot as an ingested Parquet file with small row groups, so that a streamed
/// diff of it is cut into many windows.
pub fn write_in_groups(snapshot: &Snapshot, path: &Path, rows_per_group: usize) -> PathBuf {
    let mut df = snapshot.df.clone();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file)
        .with_row_group_size(Some(rows_per_group))
        .finish(&mut df)
        .unwrap();
    path.to_path_buf()
}

/// The CSV export of a generated register of 20,000 voters, one snapshot of `seed`.
pub fn one_snapshot(dir: &Dir, seed: u32) -> PathBuf {
    let seed = seed.to_string();
    let args = [
        "generate",
        "--voters",
        "20000",
        "--snapshots",
        "1",
        "--seed",
        &seed,
    ];
    dir.run(&[&args[..], &["-o", "series"]].concat())
        .expect_code(0);
    series_csv(&dir.path("series"))
}

pub fn series_csv(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("the generator writes CSV snapshots")
}
