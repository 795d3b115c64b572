//! The audit on a localhost cluster (issue #20, `--features cluster`): a Ballista scheduler and
//! two executor processes of the built binary, against the single-machine audit of the same
//! ingested series.

#[allow(dead_code)]
mod util;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use rollaudit::audit::AuditInput;
use rollaudit::cluster::{functions, ClusterJoin, FINGERPRINT};
use rollaudit::load::DEFAULT_PIECE_BYTES;
use rollaudit::model::{Field, FINGERPRINT_COLUMN};

use util::{files_of, library_audit, without_column, Dir};

/// A port free now (the processes bind it a moment later), and never one this test process
/// handed out before. The tests run side by side, and a port released by one test's probe can
/// be handed to the next probe, another test's: an executor that cannot bind its port exits,
/// and its cluster never has both executors (seen once in CI).
fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        if GIVEN
            .lock()
            .expect("no test panics holding it")
            .insert(port)
        {
            return port;
        }
    }
}

/// A scheduler and executors, killed when dropped.
struct Cluster {
    scheduler: String,
    port: u16,
    executors: Vec<Child>,
    scheduler_process: Child,
    /// Each process's standard error, quoted when the cluster does not come up.
    logs: Vec<PathBuf>,
}

impl Cluster {
    fn start(dir: &Dir, executors: usize) -> Cluster {
        let port = free_port();
        let scheduler = format!("127.0.0.1:{port}");
        let mut logs = Vec::new();
        let mut spawn = |name: &str, args: &[&str]| -> Child {
            let log = dir.path(&format!("{name}.log"));
            let stderr = std::fs::File::create(&log).expect("a log file");
            logs.push(log);
            Command::new(env!("CARGO_BIN_EXE_rollaudit"))
                .args(args)
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("start a cluster process")
        };
        // An executor silent for 6 s is lost (30 s by default), so that the test of a killed
        // executor does not wait long.
        let scheduler_process = spawn(
            "scheduler",
            &[
                "cluster",
                "scheduler",
                "--bind",
                &scheduler,
                "--executor-timeout",
                "6",
            ],
        );
        let executors = (0..executors)
            .map(|i| {
                let work = dir.path(&format!("executor-{i}"));
                spawn(
                    &format!("executor-{i}"),
                    &[
                        "cluster",
                        "executor",
                        "--scheduler",
                        &scheduler,
                        "--port",
                        &free_port().to_string(),
                        "--grpc-port",
                        &free_port().to_string(),
                        "--vcores",
                        "2",
                        "--heartbeat",
                        "2",
                        "--work-dir",
                        work.to_str().unwrap(),
                    ],
                )
            })
            .collect();
        let cluster = Cluster {
            scheduler,
            port,
            executors,
            scheduler_process,
            logs,
        };
        cluster.wait_for_executors();
        cluster
    }

    /// Executors the scheduler counts alive, from its `/readyz` probe.
    fn alive_executors(&self) -> Option<usize> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        // "ready: N executors registered" or "not ready: N/M executors registered".
        let after = response.split("ready: ").nth(1)?;
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    /// The last lines of each process's standard error.
    fn log_tails(&self) -> String {
        self.logs
            .iter()
            .map(|log| {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(5)..].join("\n");
                format!("{}:\n{tail}", log.display())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn wait_for_executors(&self) {
        let started = Instant::now();
        while self.alive_executors() != Some(self.executors.len()) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the executors did not register: {:?}\n{}",
                self.alive_executors(),
                self.log_tails()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self
            .executors
            .iter_mut()
            .chain([&mut self.scheduler_process])
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A generated series of three snapshots as ingested Parquet files. The third export lacks
/// the email column, so its diff compares fewer fields than the files' fingerprints cover,
/// and the cluster takes fingerprints of the shared fields instead.
fn ingested_series(dir: &Dir) -> Vec<String> {
    dir.run(&[
        "generate",
        "--voters",
        "20000",
        "--snapshots",
        "3",
        "--seed",
        "20",
        "-o",
        "series",
    ])
    .expect_code(0);
    let mut csvs: Vec<PathBuf> = std::fs::read_dir(dir.path("series"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    csvs.sort();
    assert_eq!(csvs.len(), 3, "{csvs:?}");
    without_column(&csvs[2], "email");
    csvs.iter()
        .map(|csv| {
            let parquet = csv.with_extension("parquet");
            dir.run(&[
                "ingest",
                csv.to_str().unwrap(),
                "-o",
                parquet.to_str().unwrap(),
            ])
            .expect_code(0);
            parquet.to_str().unwrap().to_string()
        })
        .collect()
}

/// The series as the library's audit takes it, 90 days apart.
fn inputs_of(snapshots: &[String]) -> Vec<AuditInput> {
    snapshots
        .iter()
        .enumerate()
        .map(|(i, path)| AuditInput {
            path: PathBuf::from(path),
            date: 20_000 + 90 * i as i32,
        })
        .collect()
}

#[test]
fn the_fingerprint_function_is_the_loaders_fingerprint() {
    let dir = Dir::new();
    let files = ingested_series(&dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (i, file) in files.iter().enumerate() {
        let fields: Vec<Field> = rollaudit::load::IngestedReader::open(Path::new(file))
            .unwrap()
            .fields()
            .to_vec();
        let args: Vec<String> = fields
            .iter()
            .map(|f| format!("'{0}', \"{0}\"", f.name()))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) AS rows, \
             SUM(CASE WHEN {FINGERPRINT}({}) = \"{FINGERPRINT_COLUMN}\" THEN 1 ELSE 0 END) AS equal \
             FROM register",
            args.join(", ")
        );
        let (rows, equal) = runtime.block_on(async {
            let context = SessionContext::new();
            for function in functions() {
                context.register_udf(function.as_ref().clone());
            }
            context
                .register_parquet("register", file, ParquetReadOptions::default())
                .await
                .unwrap();
            let batches = context.sql(&sql).await.unwrap().collect().await.unwrap();
            let value = |column: usize| {
                use datafusion::arrow::array::AsArray;
                use datafusion::arrow::datatypes::Int64Type;
                batches[0]
                    .column(column)
                    .as_primitive::<Int64Type>()
                    .value(0)
            };
            (value(0), value(1))
        });
        assert!(rows > 19_000, "{file}: {rows} rows");
        assert_eq!(equal, rows, "{file}: fingerprints equal to the loader's");
        assert_eq!(
            fields.contains(&Field::Email),
            i < 2,
            "{file}: email column"
        );
    }
}

#[test]
fn an_audit_on_a_scheduler_and_two_executors_writes_the_local_audits_artefacts() {
    let dir = Dir::new();
    let snapshots = ingested_series(&dir);
    let inputs = inputs_of(&snapshots);
    // The local audit diffs the first snapshot a window at a time, as the command does.
    let windows = Some(rollaudit::diff::stream::DEFAULT_WINDOW_ROWS);
    let local = library_audit(
        &inputs,
        None,
        DEFAULT_PIECE_BYTES,
        None,
        windows,
        false,
        &dir.path("local"),
    );
    let cluster = Cluster::start(&dir, 2);
    let join = ClusterJoin::connect(&cluster.scheduler).expect("the cluster answers");
    let distributed = library_audit(
        &inputs,
        None,
        DEFAULT_PIECE_BYTES,
        Some(&join),
        windows,
        false,
        &dir.path("cluster"),
    );
    let names: Vec<&str> = local.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "report.json",
        "flagged.csv",
        "changes.parquet",
        "duplicates.csv",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert_eq!(
        local.len(),
        distributed.len(),
        "{names:?} against {:?}",
        distributed.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for ((name, bytes), (other, other_bytes)) in local.iter().zip(&distributed) {
        assert_eq!(name, other);
        assert!(bytes == other_bytes, "{name} differs on the cluster");
    }

    // The command line does the same. Only the copy of the command line in report.json and
    // index.html differs.
    let run = |out: &str, cluster: Option<&str>| -> String {
        let args = audit_command(&snapshots, out, cluster);
        dir.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .expect_code(0);
        args.join(" ")
    };
    let local_command = run("cli-local", None);
    let cluster_command = run("cli-cluster", Some(&cluster.scheduler));
    assert_same_audit(
        &dir.path("cli-local"),
        &local_command,
        &dir.path("cli-cluster"),
        &cluster_command,
    );
}

/// `rollaudit audit` of the series into `out`, on the cluster at `scheduler` if given.
fn audit_command(snapshots: &[String], out: &str, scheduler: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = ["audit", "--as-of", "2026-12-01", "-o", out]
        .map(String::from)
        .to_vec();
    if let Some(scheduler) = scheduler {
        args.extend(["--cluster".to_string(), scheduler.to_string()]);
    }
    args.extend(
        snapshots
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s}@2026-0{}-01", 1 + 3 * i)),
    );
    args
}

/// The artefacts of two audits by the binary are the same, but for the command line that
/// report.json and index.html quote.
fn assert_same_audit(local: &Path, local_command: &str, cluster: &Path, cluster_command: &str) {
    let (local, distributed) = (files_of(local), files_of(cluster));
    assert_eq!(local.len(), distributed.len());
    for ((name, bytes), (_, other_bytes)) in local.iter().zip(&distributed) {
        match name.as_str() {
            "report.json" => {
                let without_command = |bytes: &[u8]| {
                    let mut report: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                    let command = report["command_line"].take();
                    (report, command)
                };
                let (report, command) = without_command(bytes);
                let (other_report, other_command) = without_command(other_bytes);
                assert!(report == other_report, "report.json differs with --cluster");
                assert!(other_command.to_string().contains("--cluster"));
                assert!(!command.to_string().contains("--cluster"));
            }
            "index.html" => {
                let page = String::from_utf8_lossy(bytes).replace(local_command, "");
                let other_page = String::from_utf8_lossy(other_bytes).replace(cluster_command, "");
                assert!(page == other_page, "index.html differs with --cluster");
            }
            _ => assert!(bytes == other_bytes, "{name} differs with --cluster"),
        }
    }
}

#[test]
fn an_unreachable_scheduler_is_one_line_before_any_load() {
    let dir = Dir::new();
    let snapshots = ingested_series(&dir);
    let port = free_port().to_string();
    let scheduler = format!("127.0.0.1:{port}");
    let run = dir.run_within(
        &[
            "audit",
            "--cluster",
            &scheduler,
            "-o",
            "out",
            &format!("{}@2026-01-01", snapshots[0]),
            &format!("{}@2026-04-01", snapshots[1]),
        ],
        Duration::from_secs(120),
    );
    run.expect_one_line_error();
    assert!(run.stderr.contains(&scheduler), "{}", run.stderr);
    assert!(!dir.path("out").join("report.json").exists());
    // A CSV export is refused before the scheduler is asked: the executors read ingested
    // files.
    let csv = snapshots[0].replace(".parquet", ".csv");
    let run = dir.run(&["audit", "--cluster", &scheduler, "-o", "out", &csv]);
    run.expect_one_line_error();
    assert!(run.stderr.contains("rollaudit ingest"), "{}", run.stderr);
}

/// The jobs whose shuffle files an executor's work directory holds (a directory per job; the
/// `datafusion-*` ones are the executor's own scratch space).
fn jobs_in(work_dir: &Path) -> Vec<String> {
    std::fs::read_dir(work_dir).map_or(Vec::new(), |entries| {
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with("datafusion-"))
            .collect()
    })
}

#[test]
fn an_executor_killed_mid_audit_leaves_the_artefacts_or_one_line_and_no_report() {
    let dir = Dir::new();
    let snapshots = ingested_series(&dir);
    let audit_args = |out: &str, cluster: Option<&str>| audit_command(&snapshots, out, cluster);
    let local_args = audit_args("local", None);
    dir.run(&local_args.iter().map(String::as_str).collect::<Vec<_>>())
        .expect_code(0);

    let mut cluster = Cluster::start(&dir, 2);
    let stderr = dir.path("audit.stderr");
    let mut audit = Command::new(env!("CARGO_BIN_EXE_rollaudit"))
        .args(audit_args("cluster", Some(&cluster.scheduler)))
        .current_dir(dir.path(""))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("start the audit");
    // The second executor dies (SIGKILL) once the executors hold shuffle files of two jobs:
    // the query that checks the scheduler at the start, and the first diff's join. The rest
    // of that join, and the second one, meet an executor the scheduler still counts.
    let started = Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(status) = audit.try_wait().unwrap() {
            break status;
        }
        let mut jobs: Vec<String> = (0..2)
            .flat_map(|i| jobs_in(&dir.path(&format!("executor-{i}"))))
            .collect();
        jobs.sort();
        jobs.dedup();
        if !killed && jobs.len() >= 2 {
            cluster.executors[1].kill().unwrap();
            killed = true;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = audit.kill();
            panic!("the audit hung after an executor was killed (killed: {killed})");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        killed,
        "the audit finished before the executor could be killed"
    );
    let stderr = std::fs::read_to_string(&stderr).unwrap();
    // Shown with --nocapture: which of the two outcomes, and how long it took.
    eprintln!(
        "audit after the kill: {status} in {:.1} s {stderr}",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        assert_same_audit(
            &dir.path("local"),
            &local_args.join(" "),
            &dir.path("cluster"),
            &audit_args("cluster", Some(&cluster.scheduler)).join(" "),
        );
    } else {
        assert_eq!(status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(!dir.path("cluster").join("report.json").exists());
    }
}
