//! Kernel benchmarks on a generated register: loading (parse, type, fingerprint, sort) and
//! the keyed diff. Sizes default to 1M voters; `ROLLAUDIT_BENCH_VOTERS` overrides.
//!
//! Run: `cargo bench --bench kernels`. Throughput is reported in bytes/s for loading and
//! rows/s for the diff.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rollaudit::diff::{diff, DiffConfig};
use rollaudit::generate::{generate, GenerateConfig, OutputFormat};
use rollaudit::load::{load_bytes, NoProgress};
use rollaudit::profile::Profile;

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
}

criterion_group!(benches, kernels);
criterion_main!(benches);
