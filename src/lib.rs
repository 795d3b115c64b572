//! rollaudit: a voter-register integrity checker.
//!
//! Electoral bodies export their register again and again; attacks and errors on it show up as
//! changes between those exports. rollaudit loads each export as Arrow columns (through
//! polars), and later stages compare, deduplicate and check them.
//!
//! # Code map (the pipeline, in order)
//! - [`model`]: the canonical register fields. Everything after loading speaks only this.
//! - [`profile`]: how a source layout (delimiter, encoding, column names, codes) maps onto the
//!   model; built-in `canonical` and `ncvoter`, or a TOML file.
//! - [`load`]: opens the registers (exports, ingested files, in pieces when an export is
//!   larger than memory) and every other input file: configuration text for its parser, the
//!   SHA-256 a report cites, read on the load's own pass. Rows are loaded or rejected with a
//!   line number and reason, never lost. [`load::memory`] estimates what a run will need
//!   before any work, and bounds what a columnar file may declare.
//! - [`snapshot`]: a loaded register: columns sorted by `voter_id`, a fingerprint per row, an
//!   order-independent digest.
//! - [`rules`]: record rules on one snapshot (`scan`): impossible ages and dates, hostile
//!   names, crowded addresses, shared contacts, death-registry matches.
//! - [`diff`]: what changed between two snapshots, record by record and field by field, with
//!   each change classified (new registration, removal, move, re-keying, id reuse, ...).
//! - [`dedupe`]: duplicate registrations in one snapshot (blocking, agreement levels, a
//!   Fellegi-Sunter model fitted by EM, guards for twins and namesakes, clusters), and death
//!   registries linked to a register with the same model.
//! - [`generate`]: synthetic registers with ground truth, for tests, demos and benchmarks.
//! - [`anomalies`]: change anomalies across snapshots (peer and history rates, skew, edit
//!   events, the audit trail, the calendar), with routine mass events explained first.
//! - [`audit`]: the whole job over a series of snapshots, as one call returning plain data.
//!   `cluster` (with `--features cluster`) runs its diffs' keyed joins on Apache DataFusion
//!   Ballista, for registers that outgrow one machine (issue #20).
//! - [`findings`]: what rules and detectors report: rule id, severity, scope, evidence, voter
//!   ids. Plain data. [`calendar`]: the election calendar the rules check against.
//! - [`report`]: writers of user-facing artefacts (rejects files, change logs, summaries).
//! - [`files`]: writing a file whole or not at all (temporary name, rename, owner-only
//!   permissions), the bottom layer every writer uses, so no engine part imports `report`.
//! - [`normalize`]: identity normalisation (names, addresses, phones, placeholder birth
//!   dates), one definition for the rules and deduplication. [`stats`]: the tail
//!   probabilities and false-discovery control that rules and detectors share.
//! - [`dates`]: calendar arithmetic and date formats shared by all of the above;
//!   [`hashing`]: the hash maps of the hot loops.
//!
//! # Architecture invariants
//! - The library never prints and never exits; it returns data and errors that say which
//!   file, line and column they concern. The `rollaudit` binary alone decides output, progress
//!   bars and exit codes.
//! - Engine results are plain data; only `report` formats them for people.
//! - No stage reads a source layout: profiles are applied once, in `load`.
//! - Only `load` (and the binary) reads files; no engine module (snapshot, diff, dedupe,
//!   rules, anomalies, model, findings, normalize, stats) imports `report` or the command
//!   line; no two modules import each other; no source file is over 800 lines. These are
//!   checked on the source text by `tests/architecture.rs`.

// The first invariant, held by lints: only the binary prints or exits.
#![deny(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::dbg_macro,
    clippy::exit
)]

pub mod anomalies;
pub mod audit;
pub mod calendar;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod dates;
pub mod dedupe;
pub mod diff;
pub mod files;
pub mod findings;
pub mod generate;
pub mod hashing;
pub mod incidents;
pub mod load;
pub mod model;
pub mod normalize;
pub mod profile;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod stats;
