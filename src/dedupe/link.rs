//! Linking a second file to a register with the deduplication model: a death registry's
//! entries to the voters they name.
//!
//! Registries and registers are typed by different clerks, so an exact name and birth-date
//! key misses every entry with a typo (in a test, 6 of 50 entries whose family name had two
//! adjacent letters swapped). The link uses the same normalisation, blocking rules,
//! agreement levels and Fellegi-Sunter fit as [`super::dedupe`], on the pairs *across* the
//! two files only: the records are one id space (the register's rows, then the registry's),
//! blocking emits only pairs with one record on each side, `u` is measured on random pairs
//! of the records, and EM runs on the cross pairs' patterns, over all `n_register *
//! n_registry` cross pairs (so the prior is the link's own: how many of all voter-entry pairs
//! are one person). A registry of a few hundred entries gives EM few pairs; the Dirichlet
//! prior of [`super::fellegi_sunter::PRIOR_PAIRS`] keeps `m` near its documented starts.
//!
//! The household guards always apply: a living twin must never be taken for the dead one,
//! and a registry rarely has the address that shows a register's households.

use super::blocking;
use super::records::Records;
use super::scoring::{fit_and_score, Scored};
use super::{BlockingStat, DedupeConfig, DedupeError, Model, ScoredPair};
use crate::model::Field;
use crate::snapshot::Snapshot;

/// What linking found. Plain data.
#[derive(Clone, Debug)]
pub struct Linkage {
    pub model: Model,
    pub blocking: Vec<BlockingStat>,
    /// Distinct cross pairs scored.
    pub candidates: u64,
    /// Pairs at or above the review threshold, `a` a register row and `b` a registry row
    /// (numbered from 0 within the registry), ordered by (a, b).
    pub pairs: Vec<ScoredPair>,
}

/// Links the records of `registry` to those of `register`.
pub fn link(
    register: &Snapshot,
    registry: &Snapshot,
    config: &DedupeConfig,
) -> Result<Linkage, DedupeError> {
    super::validate(register, config)?;
    if !registry.has(Field::GivenName) && !registry.has(Field::FamilyName) {
        return Err(DedupeError::NoNames);
    }
    if register.rows() + registry.rows() > blocking::MAX_ROWS {
        return Err(DedupeError::TooManyRows {
            rows: register.rows() + registry.rows(),
            max: blocking::MAX_ROWS,
        });
    }
    let records = Records::from_snapshots(&[register, registry]);
    let split = register.rows() as u32;
    let mut blocks =
        blocking::Blocks::build(&records, &config.rules, config.max_block_size, Some(split));
    let Scored {
        model,
        mut pairs,
        candidates,
        ..
    } = fit_and_score(
        &records,
        &mut blocks,
        split,
        register.rows() as f64 * registry.rows() as f64,
        config,
        |_| true,
    );
    for p in &mut pairs {
        p.b -= split;
    }
    Ok(Linkage {
        model,
        blocking: blocks.stats,
        candidates,
        pairs,
    })
}
