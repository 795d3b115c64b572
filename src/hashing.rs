//! The hash maps and sets of the engine's hot loops: keyed by voter ids, areas, accounts and
//! change signatures, millions of times a run at 100,000,000 voters.
//!
//! std's default hasher, SipHash, is built to resist crafted keys and costs several times
//! foldhash's on short strings; at 10,000,000 voters foldhash took the grouping of incidents
//! from 4.5 s to 2.6 s, and SipHash was 4% of the 100M audit's change detectors (perf,
//! session 30). foldhash's `RandomState` is seeded anew in every process, as std's is, so no
//! result may depend on the order of a map's entries (none here does: the outputs are
//! byte-identical from run to run).

use std::collections::{HashMap, HashSet};

pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub type Set<K> = HashSet<K, foldhash::fast::RandomState>;
