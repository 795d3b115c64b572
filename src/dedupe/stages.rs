//! The first stages of [`dedupe`](super::dedupe) one at a time, for benchmarks and
//! diagnostics: normalisation, blocking and pair comparison. `dedupe` itself runs the same
//! functions; nothing here is needed to use the module.

use super::blocking::{self, BlockingStat, Pairs};
use super::compare::Packed;
use super::records::Records;
use super::sweep;
use super::DedupeConfig;
use crate::snapshot::Snapshot;

/// A snapshot's identity fields, normalised (opaque).
pub struct Normalised(pub(crate) Records);

/// Normalises the identity fields of `snapshot` (names interned, keys hashed).
pub fn normalise(snapshot: &Snapshot) -> Normalised {
    Normalised(Records::from_snapshot(snapshot))
}

/// The candidate pairs of `config`'s blocking rules, sorted and distinct, and the statistics
/// per rule.
pub fn block(records: &Normalised, config: &DedupeConfig) -> (Pairs, Vec<BlockingStat>) {
    blocking::candidate_pairs(&records.0, &config.rules, config.max_block_size, None)
}

/// The agreement pattern of every pair, in parallel.
pub fn compare_pairs(records: &Normalised, pairs: &Pairs) -> Vec<Packed> {
    sweep::compare_all(&records.0, pairs)
}
