//! Generator throughput: a register of 100k voters over 2 snapshots (default anomalies, plain
//! CSV), reported as records written per second. `ROLLAUDIT_BENCH_VOTERS` overrides the size.
//!
//! Run: `cargo bench --bench generate`. The 10M-voter end-to-end figure is measured with the
//! release binary instead (see `sample-data/README.md`): a criterion sample of that size
//! would take minutes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rollaudit::generate::{generate, GenerateConfig, OutputFormat};

fn voters() -> usize {
    std::env::var("ROLLAUDIT_BENCH_VOTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn bench_generate(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let voters = voters();
    let config = GenerateConfig {
        format: OutputFormat::Csv,
        ..GenerateConfig::new(voters, 2, 90, 42, dir.path())
    };
    let rows: usize = generate(&config)
        .expect("generate a warm-up register")
        .rows_per_snapshot
        .iter()
        .sum();
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function(format!("{voters} voters x 2 snapshots, csv"), |b| {
        b.iter(|| generate(&config).expect("generate"))
    });
    group.finish();
}

criterion_group!(benches, bench_generate);
criterion_main!(benches);
