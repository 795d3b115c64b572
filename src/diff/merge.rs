//! The keyed merge: one pass over two `voter_id`-sorted snapshots.
//!
//! Sorted unique ids make the join a linear merge, with no hash table: memory is the output,
//! and the pass reads each id once. Pairs whose fingerprints agree are dropped here when the
//! two sides have the same fields (fingerprints then cover the same columns).

use crate::snapshot::Snapshot;

/// The rows the diff must look at, in `voter_id` order: the result of the keyed join, from
/// [`merge`] or from an engine that joins the snapshots' files ([`super::diff_with`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// (OLD row, NEW row): both set for a candidate modification, one set for a dropped or an
    /// added record.
    pub pairs: Vec<(Option<u32>, Option<u32>)>,
    pub added: Vec<u32>,
    pub dropped: Vec<u32>,
}

/// Merges OLD and NEW on `voter_id`. With `same_fields`, equal fingerprints mean unchanged.
pub(crate) fn merge(old: &Snapshot, new: &Snapshot, same_fields: bool) -> Merged {
    let old_ids = old.voter_ids();
    let new_ids = new.voter_ids();
    let old_fp = old.fingerprints();
    let new_fp = new.fingerprints();
    let mut merged = Merged {
        pairs: Vec::new(),
        added: Vec::new(),
        dropped: Vec::new(),
    };
    let mut old_iter = old_ids
        .iter()
        .map(|v| v.unwrap_or(""))
        .enumerate()
        .peekable();
    let mut new_iter = new_ids
        .iter()
        .map(|v| v.unwrap_or(""))
        .enumerate()
        .peekable();
    loop {
        let step = match (old_iter.peek(), new_iter.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((_, a)), Some((_, b))) => a.cmp(b),
        };
        match step {
            std::cmp::Ordering::Less => {
                let (i, _) = old_iter.next().expect("peeked");
                merged.dropped.push(i as u32);
                merged.pairs.push((Some(i as u32), None));
            }
            std::cmp::Ordering::Greater => {
                let (j, _) = new_iter.next().expect("peeked");
                merged.added.push(j as u32);
                merged.pairs.push((None, Some(j as u32)));
            }
            std::cmp::Ordering::Equal => {
                let (i, _) = old_iter.next().expect("peeked");
                let (j, _) = new_iter.next().expect("peeked");
                if !(same_fields && old_fp[i] == new_fp[j]) {
                    merged.pairs.push((Some(i as u32), Some(j as u32)));
                }
            }
        }
    }
    merged
}
