//! Deduplication benchmarks on a generated register: the whole pipeline (normalisation,
//! blocking, EM, scoring, clustering), then its three kernels alone, the normalisation of
//! every record's keys, blocking and pair comparison, in candidate pairs per second. 100,000 voters by default;
//! `ROLLAUDIT_BENCH_VOTERS` overrides (issue 8 runs 1M and 10M).
//!
//! Run: `cargo bench --bench dedupe`. Throughput is reported in candidate pairs per second
//! (criterion's "elements"), the number printed once before the measurement.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rollaudit::dedupe::{dedupe, stages, DedupeConfig};
use rollaudit::generate::{generate, GenerateConfig, OutputFormat};
use rollaudit::load::{load_bytes, NoProgress};
use rollaudit::profile::Profile;

fn voters() -> usize {
    std::env::var("ROLLAUDIT_BENCH_VOTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn bench_dedupe(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = GenerateConfig::new(voters(), 1, 90, 7, dir.path());
    config.format = OutputFormat::Csv;
    let summary = generate(&config).expect("generate the benchmark register");
    let csv = std::fs::read(&summary.files[0]).expect("read the snapshot");
    let snapshot = load_bytes(
        csv,
        Path::new("bench.csv"),
        &Profile::canonical(),
        &NoProgress,
    )
    .expect("the generated register loads")
    .snapshot;
    let dedupe_config = DedupeConfig::default();
    let probe = dedupe(&snapshot, &dedupe_config).expect("dedupe runs");
    eprintln!(
        "{} records, {} candidate pairs, {} matched pairs, {} clusters",
        probe.rows,
        probe.candidates,
        probe.matched().count(),
        probe.clusters.len()
    );

    let mut group = c.benchmark_group("dedupe");
    group.sample_size(10);
    group.throughput(Throughput::Elements(probe.candidates));
    group.bench_function("block_score_cluster", |b| {
        b.iter(|| dedupe(&snapshot, &dedupe_config).expect("dedupe runs"))
    });
    // Coded as the commands hold it (`Snapshot::compact`): names and places are normalised
    // once per distinct value.
    let mut coded = snapshot.clone();
    coded.compact();
    group.bench_function("normalise", |b| b.iter(|| stages::normalise(&coded)));
    let records = stages::normalise(&snapshot);
    group.bench_function("blocking", |b| {
        b.iter(|| stages::block(&records, &dedupe_config))
    });
    let (pairs, _) = stages::block(&records, &dedupe_config);
    group.bench_function("pair_comparison", |b| {
        b.iter(|| stages::compare_pairs(&records, &pairs))
    });
    group.finish();
}

criterion_group!(benches, bench_dedupe);
criterion_main!(benches);
