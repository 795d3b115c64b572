//! Integration tests: the real binary run as a user would (one temporary directory per test),
//! and the library's invariants as property tests.

// The architecture lib.rs describes: layers, file reads, import circles, file sizes.
mod architecture;
// The audit job: artefacts, schema, reruns, exit codes, hostile names, redaction.
mod audit;
// Change anomalies against the generator's ground truth.
mod anomalies;
// Duplicate registrations: normalisation, phonetics, households, ground truth.
mod dedupe;
// Snapshot diff: the change taxonomy, the CLI artefacts, the invariants.
mod diff;
// The synthetic register generator: distributions, ground truth, determinism, sample data.
mod generate;
// What each fuzz target checks, shared with the targets in tests/fuzz (no cargo-fuzz needed here).
#[path = "fuzz/checks.rs"]
mod fuzz_checks;
// The hostile-input corpus (one table, every outcome counted) and the fuzzers' regressions.
mod hostile;
// Built-in layouts of real exports against synthetic files written from their layouts.
mod layouts;
// Loading real-looking exports: rejects with line numbers, one-line errors, encodings.
mod ingest;
// Invariants over generated inputs: dedupe pairs and clusters, row conservation through ingest.
mod properties;
// The streamed diff against the in-memory one; the ingested-file reader and writer.
mod stream;
// Record rules on one snapshot: each rule, households and institutions, ground truth.
mod scan;
// Running the binary in a temporary directory.
mod util;
