//! Kernel benchmarks on a generated register: loading (parse, type, fingerprint, sort), the
//! keyed diff, and area aggregation (changed records per kind and area; the change detectors,
//! which count changes per precinct, district and operator and fit the peer-rate model).
//! Sizes default to 1M voters; `ROLLAUDIT_BENCH_VOTERS` overrides. Blocking and pair scoring
//! are in `benches/dedupe.rs`.
//!
//! Run: `cargo bench --bench kernels`. Throughput is reported in bytes/s for loading and
//! rows/s for the rest (rows of both snapshots).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rollaudit::anomalies::{detect, AnomalyConfig, Interval};
use rollaudit::diff::{diff, DiffConfig};
use rollaudit::generate::{generate, GenerateConfig, OutputFormat};
use rollaudit::load::{load_bytes, NoProgress};
use rollaudit::profile::Profile;
use rollaudit::report::diff::summary as area_summary;

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

    let (old, new) = (load(&old_csv), load(&new_csv));
    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    group.throughput(Throughput::Elements((old.rows() + new.rows()) as u64));
    group.bench_function("merge_and_classify", |b| {
        b.iter(|| diff(&old, &new, &DiffConfig::default()))
    });
    group.finish();

    let result = diff(&old, &new, &DiffConfig::default());
    let interval = Interval {
        from: 0,
        to: 90,
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
}

criterion_group!(benches, kernels);
criterion_main!(benches);
