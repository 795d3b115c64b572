//! Kernel benchmarks on a generated register: loading (parse, type, fingerprint, sort), the
//! record rules of `scan`, the keyed diff, area aggregation (changed records per kind and
//! area), the change detectors (which count changes per precinct, district and operator and
//! fit the peer-rate model) and the writing of an audit's artefacts. Sizes default to 1M
//! voters; `ROLLAUDIT_BENCH_VOTERS` overrides. Blocking and pair scoring are in
//! `benches/dedupe.rs`.
//!
//! Run: `cargo bench --bench kernels`. Throughput is reported in bytes/s for loading, in rows
//! of the scanned snapshot for the rules, in changed records for the detectors (issue #15's
//! targets: 5M rows/s and 5M changed rows/s), and in rows of both snapshots for the rest.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rollaudit::anomalies::{detect, AnomalyConfig, Interval};
use rollaudit::audit::{self, AuditConfig, AuditInput};
use rollaudit::diff::{diff, DiffConfig};
use rollaudit::generate::{generate, GenerateConfig, OutputFormat};
use rollaudit::load::{load_bytes, NoProgress};
use rollaudit::profile::Profile;
use rollaudit::report::audit::write_audit;
use rollaudit::report::diff::summary as area_summary;
use rollaudit::report::RunInfo;
use rollaudit::rules::{date_in_file_name, scan, ScanConfig};

fn voters() -> usize {
    std::env::var("ROLLAUDIT_BENCH_VOTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn kernels(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = GenerateConfig::new(voters(), 2, 90, 7, dir.path());
    config.format = OutputFormat::Csv;
    let summary = generate(&config).expect("generate the benchmark register");
    let old_csv = std::fs::read(&summary.files[0]).expect("read snapshot 1");
    let new_csv = std::fs::read(&summary.files[1]).expect("read snapshot 2");
    let profile = Profile::canonical();
    let load = |bytes: &[u8]| {
        load_bytes(
            bytes.to_vec(),
            Path::new("bench.csv"),
            &profile,
            &NoProgress,
        )
        .expect("the generated register loads")
        .snapshot
    };

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(old_csv.len() as u64));
    group.bench_function("csv_to_snapshot", |b| b.iter(|| load(&old_csv)));
    group.finish();

    // Coded as `scan` and `audit` hold them (`Snapshot::compact`): the kernels below are
    // measured on what the commands run them on.
    let (mut old, mut new) = (load(&old_csv), load(&new_csv));
    old.compact();
    new.compact();
    let date = |i: usize| {
        let name = summary.files[i].file_name().expect("a file name");
        date_in_file_name(&name.to_string_lossy()).expect("a dated file name")
    };
    let (from, to) = (date(0), date(1));
    let mut group = c.benchmark_group("rules");
    group.sample_size(10);
    group.throughput(Throughput::Elements(new.rows() as u64));
    group.bench_function("record_rules", |b| {
        b.iter(|| scan(&new, to, None, &ScanConfig::default(), None, &[]))
    });
    group.finish();

    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    group.throughput(Throughput::Elements((old.rows() + new.rows()) as u64));
    group.bench_function("merge_and_classify", |b| {
        b.iter(|| diff(&old, &new, &DiffConfig::default()))
    });
    group.finish();

    let result = diff(&old, &new, &DiffConfig::default());
    let interval = Interval {
        from,
        to,
        old: &old,
        new: &new,
        diff: &result,
    };
    let mut group = c.benchmark_group("areas");
    group.sample_size(10);
    group.throughput(Throughput::Elements((old.rows() + new.rows()) as u64));
    group.bench_function("summary_by_kind_and_area", |b| {
        b.iter(|| area_summary(&result, &old, &new))
    });
    group.finish();

    let mut group = c.benchmark_group("detectors");
    group.sample_size(10);
    group.throughput(Throughput::Elements(result.records.len() as u64));
    group.bench_function("change_detectors", |b| {
        b.iter(|| {
            detect(
                std::slice::from_ref(&interval),
                None,
                &AnomalyConfig::default(),
            )
        })
    });
    group.finish();

    let inputs = summary.files[..2]
        .iter()
        .map(|f| AuditInput::parse(&f.display().to_string()).expect("a dated file name"))
        .collect();
    let config = AuditConfig::default();
    let job = audit::AuditJob {
        inputs,
        profile: &profile,
        calendar: None,
        deceased: None,
        config: &config,
        piece_bytes: rollaudit::load::DEFAULT_PIECE_BYTES,
        join: None,
        window_rows: Some(rollaudit::diff::stream::DEFAULT_WINDOW_ROWS),
        latest_in_windows: false,
        staged: &[],
    };
    let result = audit::run(job, &NoProgress, &|_| {}).expect("the generated series audits");
    let out = dir.path().join("audit");
    let run = RunInfo {
        command_line: &[],
        as_of: "2026-01-01T00:00:00Z",
        profile_name: "canonical",
        profile_text: "",
        calendar: None,
        deceased: None,
        configuration: format!("{config:?}"),
        redactor: None,
    };
    let mut group = c.benchmark_group("reports");
    group.sample_size(10);
    group.throughput(Throughput::Elements((old.rows() + new.rows()) as u64));
    group.bench_function("write_audit", |b| {
        b.iter(|| write_audit(&out, &result, &run).expect("the artefacts are written"))
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
