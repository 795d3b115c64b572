//! The exact-duplicate pass: records with the same normalised given name, family name and
//! full birth date, or the same national id. No model, no blocking: a sketch that sets aside
//! the rows whose key is held once, a sort of the others and a walk, so it runs first and
//! alone (`rollaudit dedupe --exact-only`) when a data team wants the cheap answer, and it is
//! reported beside the model's clusters in every run.
//!
//! It is not a verdict. Name and birth date are the Interstate Crosscheck key, which pairs
//! different people born on the same day by the million in a national file (see
//! [`super::chance`], whose estimate of those coincidences is reported beside it); a shared
//! national id is strong, but a keying error gives two people one id. The groups say where a
//! human or the model should look first.
//!
//! Keys are the ones the model compares ([`crate::normalize::name_key`] for names, birth dates
//! without placeholders, national ids without separators), so `O'Brien` and `OBRIEN` group.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::cluster::{connected_components, Cluster};
use super::records::{national_id_key, Records, NO_DATE};
use crate::model::Field;
use crate::normalize::{is_placeholder_birth_date, name_key_into};
use crate::snapshot::{arrays_at, values_at, FieldColumn, Snapshot};

/// What the exact pass found. Plain data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExactDuplicates {
    /// Groups of rows joined by either key (a row sharing a name and birth date with one row
    /// and an id with another joins the three), ordered by smallest row, ids as clusters'.
    pub groups: Vec<Cluster>,
    /// Pairs of rows sharing given name, family name and birth date.
    pub name_birth_pairs: u64,
    /// Pairs of rows sharing a national id.
    pub national_id_pairs: u64,
    /// National id values held by more than [`MAX_RECORDS_PER_ID`] records, left out.
    pub skipped_ids: u64,
}

/// A national id held by more records than this is a placeholder or a data-entry default
/// (`UNKNOWN`, a clerk's test value), not one person's id: it is left out of the groups and
/// counted, so that it cannot join hundreds of records. Ten leaves room for a person
/// registered several times.
pub const MAX_RECORDS_PER_ID: usize = 10;

/// The fields the exact pass reads (besides `voter_id`): a command running only this pass
/// loads no others.
pub const FIELDS: [Field; 4] = [
    Field::GivenName,
    Field::FamilyName,
    Field::BirthDate,
    Field::NationalId,
];

/// Per row: the name key (0 when either name is missing), the birth date (or [`NO_DATE`]) and
/// the national id key (0 when missing).
struct Keys<'a> {
    name: &'a [u64],
    birth: &'a [i32],
    id: &'a [u64],
}

/// Rows per block of the key computation: a block's rows are read in one pass over the
/// columns, and the blocks are spread over the cores.
const BLOCK: usize = 1 << 16;

/// Hashed name keys ([`name_key_into`]) of a thread's rows, each distinct short name
/// normalised once.
///
/// A name of at most 12 bytes is held whole in its 16-byte Arrow view, so equal views are
/// equal names and the view is the cache's key: the common names of a register are looked up,
/// not normalised and hashed again, without reading their bytes. Longer names (their views
/// point into a buffer) are normalised every time. The cache is emptied when it reaches
/// [`Names::MAX_CACHED`] names, so that a register of mostly distinct names cannot make it large.
#[derive(Default)]
struct Names {
    by_view: HashMap<u128, u64, foldhash::fast::RandomState>,
    /// For a coded column ([`FieldColumn::Coded`]): by code.
    by_code: HashMap<u32, u64, foldhash::fast::RandomState>,
    key: String,
}

impl Names {
    const MAX_CACHED: usize = 1 << 16;

    /// The hashed key of the name in every row of `rows` into `out`; 0 for a missing or empty
    /// one.
    fn keys(&mut self, column: FieldColumn<'_>, rows: Range<usize>, out: &mut [u64]) {
        let (by_view, by_code, key) = (&mut self.by_view, &mut self.by_code, &mut self.key);
        let mut hash = |name: &str| {
            name_key_into(name.trim(), key);
            match key.is_empty() {
                true => 0,
                false => xxh3_64(key.as_bytes()).max(1),
            }
        };
        let mut out = out.iter_mut();
        match column {
            FieldColumn::Text(ca) => {
                for (array, at) in arrays_at(ca, rows) {
                    let views = array.views();
                    for (i, key) in at.zip(&mut out) {
                        let Some(name) = array.get(i) else {
                            *key = 0;
                            continue;
                        };
                        let view = views[i];
                        if by_view.len() == Self::MAX_CACHED {
                            by_view.clear();
                        }
                        *key = match view.length <= 12 {
                            true => *by_view.entry(view.as_u128()).or_insert_with(|| hash(name)),
                            false => hash(name),
                        };
                    }
                }
            }
            FieldColumn::Coded(ca) => {
                let mapping = ca.get_mapping();
                for (code, key) in values_at(ca.physical(), rows).zip(out) {
                    let Some(code) = code else {
                        *key = 0;
                        continue;
                    };
                    if by_code.len() == Self::MAX_CACHED {
                        by_code.clear();
                    }
                    *key = *by_code.entry(code).or_insert_with(|| {
                        hash(
                            mapping
                                .cat_to_str(code)
                                .expect("a coded column's codes are in its mapping"),
                        )
                    });
                }
            }
            _ => out.for_each(|key| *key = 0),
        }
    }
}

/// The exact pass on a snapshot, without the model's normalisation of other fields: the fast
/// path of `--exact-only`.
pub fn exact_duplicates(snapshot: &Snapshot) -> ExactDuplicates {
    let n = snapshot.rows();
    let (given, family, id) = (
        snapshot.column(Field::GivenName),
        snapshot.column(Field::FamilyName),
        snapshot.column(Field::NationalId),
    );
    let date = match snapshot.column(Field::BirthDate) {
        Some(FieldColumn::Day(ca)) => Some(ca),
        _ => None,
    };
    let (mut name, mut birth, mut ids) = (vec![0u64; n], vec![NO_DATE; n], vec![0u64; n]);
    name.par_chunks_mut(BLOCK)
        .zip(birth.par_chunks_mut(BLOCK))
        .zip(ids.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each_init(Names::default, |names, (b, ((name, birth), ids))| {
            let rows = b * BLOCK..b * BLOCK + name.len();
            if let (Some(given), Some(family)) = (given, family) {
                let mut family_keys = vec![0u64; name.len()];
                names.keys(given, rows.clone(), name);
                names.keys(family, rows.clone(), &mut family_keys);
                for (key, family) in name.iter_mut().zip(family_keys) {
                    *key = match (*key, family) {
                        (0, _) | (_, 0) => 0,
                        (g, f) => {
                            xxh3_64(&(u128::from(g) << 64 | u128::from(f)).to_le_bytes()).max(1)
                        }
                    };
                }
            }
            if let Some(date) = date {
                for (d, v) in birth.iter_mut().zip(values_at(date, rows.clone())) {
                    *d = v
                        .filter(|&d| !is_placeholder_birth_date(d))
                        .unwrap_or(NO_DATE);
                }
            }
            if let Some(id) = id {
                for (key, v) in ids.iter_mut().zip(id.strs(rows)) {
                    *key = national_id_key(v.unwrap_or("").trim());
                }
            }
        });
    let keys = Keys {
        name: &name,
        birth: &birth,
        id: &ids,
    };
    group(&keys, |row| voter_id(snapshot, row))
}

/// The exact pass on normalised records (inside [`super::dedupe`]).
pub(crate) fn from_records<'a>(r: &Records, voter_id: impl Fn(u32) -> &'a str) -> ExactDuplicates {
    let name: Vec<u64> = r
        .rows
        .iter()
        .map(|x| {
            if x.given == 0 || x.family == 0 {
                0
            } else {
                u64::from(x.given) << 32 | u64::from(x.family)
            }
        })
        .collect();
    let birth: Vec<i32> = r.rows.iter().map(|x| x.birth).collect();
    let id: Vec<u64> = r.rows.iter().map(|x| x.national_id).collect();
    let keys = Keys {
        name: &name,
        birth: &birth,
        id: &id,
    };
    group(&keys, voter_id)
}

fn voter_id(snapshot: &Snapshot, row: u32) -> &str {
    snapshot
        .voter_ids()
        .get(row as usize)
        .expect("a group row is a snapshot row, and voter_id is never null")
}

/// Sorts each key, counts the pairs of every run and joins its rows. Only the rows whose key
/// [`may_repeat`] are sorted: in a register nearly every key is held once.
fn group<'a>(keys: &Keys<'_>, voter_id: impl Fn(u32) -> &'a str) -> ExactDuplicates {
    let n = keys.name.len();
    let name_birth = |i: usize| {
        (keys.name[i] != 0 && keys.birth[i] != NO_DATE)
            .then(|| mix(keys.name[i] ^ (keys.birth[i] as u32 as u64).rotate_left(32)))
    };
    let mut by_name: Vec<(u64, i32, u32)> = may_repeat(n, name_birth)
        .into_iter()
        .map(|i| (keys.name[i as usize], keys.birth[i as usize], i))
        .collect();
    by_name.par_sort_unstable();
    let id = |i: usize| (keys.id[i] != 0).then(|| mix(keys.id[i]));
    let mut by_id: Vec<(u64, u32)> = may_repeat(n, id)
        .into_iter()
        .map(|i| (keys.id[i as usize], i))
        .collect();
    by_id.par_sort_unstable();
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut pairs = |runs: &mut dyn Iterator<Item = Vec<u32>>| -> u64 {
        let mut count = 0;
        for rows in runs {
            let k = rows.len() as u64;
            count += k * (k - 1) / 2;
            edges.extend(rows.windows(2).map(|w| (w[0], w[1])));
        }
        count
    };
    let name_birth_pairs = pairs(
        &mut by_name
            .chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
            .filter(|run| run.len() >= 2)
            .map(|run| run.iter().map(|&(_, _, r)| r).collect()),
    );
    let skipped_ids = by_id
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > MAX_RECORDS_PER_ID)
        .count() as u64;
    let national_id_pairs = pairs(
        &mut by_id
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|run| (2..=MAX_RECORDS_PER_ID).contains(&run.len()))
            .map(|run| run.iter().map(|&(_, r)| r).collect()),
    );
    ExactDuplicates {
        groups: connected_components(n, edges.into_iter(), voter_id),
        name_birth_pairs,
        national_id_pairs,
        skipped_ids,
    }
}

/// The rows, ascending, whose key (`None`: the row has none) might be another row's too: every
/// row whose key is repeated, and some others.
///
/// A sketch of two bits per bucket, about eight buckets per row: a key's bucket is marked
/// `seen`, and `twice` when it was seen already. Two rows with one key fall in one bucket, so
/// both are kept; a row alone in its bucket is dropped. With eight buckets a row, about one
/// key in eight shares its bucket by chance and is kept for the sort to tell apart.
/// `key` must be well mixed in its high bits ([`mix`]).
fn may_repeat(n: usize, key: impl Fn(usize) -> Option<u64> + Sync) -> Vec<u32> {
    let buckets = (n * 8).next_power_of_two().max(64);
    let shift = 64 - buckets.trailing_zeros();
    let at = |k: u64| {
        let b = (k >> shift) as usize;
        (b / 64, 1u64 << (b % 64))
    };
    let words = || {
        (0..buckets / 64)
            .map(|_| AtomicU64::new(0))
            .collect::<Vec<_>>()
    };
    let (seen, twice) = (words(), words());
    (0..n).into_par_iter().for_each(|i| {
        if let Some(k) = key(i) {
            let (w, bit) = at(k);
            if seen[w].fetch_or(bit, Ordering::Relaxed) & bit != 0 {
                twice[w].fetch_or(bit, Ordering::Relaxed);
            }
        }
    });
    (0..n)
        .into_par_iter()
        .filter(|&i| {
            key(i).is_some_and(|k| {
                let (w, bit) = at(k);
                twice[w].load(Ordering::Relaxed) & bit != 0
            })
        })
        .map(|i| i as u32)
        .collect()
}

/// A bijective mix of a key's bits (the splitmix64 finaliser), so that interned ids, which
/// differ only in their low bits, spread over [`may_repeat`]'s buckets.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::name_key;
    use polars::prelude::{Categories, DataType, IntoSeries, NewChunkedArray, StringChunked};
    use proptest::prelude::*;

    /// Cached or not, short or long, a name's key is the hash of its normalised form, computed
    /// here directly from `name_key`; missing and letterless names have none.
    #[test]
    fn name_keys_are_the_hashes_of_normalised_names() {
        let values = [
            Some("Smith"),
            Some("SMITH"),
            Some("O'Brien"),
            None,
            Some("Smith"),
            Some("Featherstonehaugh-Wolfeschlegel"),
            Some(" - "),
            Some("0'BRIEN"),
            Some("Featherstonehaugh-Wolfeschlegel"),
            Some(""),
        ];
        let ca = StringChunked::from_slice_options("n".into(), &values);
        let mut out = vec![u64::MAX; values.len()];
        let mut names = Names::default();
        names.keys(FieldColumn::Text(&ca), 0..values.len(), &mut out);
        // Again, from the cache.
        let mut again = vec![u64::MAX; values.len()];
        names.keys(FieldColumn::Text(&ca), 0..values.len(), &mut again);
        let expected: Vec<u64> = values
            .iter()
            .map(|v| match name_key(v.unwrap_or("")) {
                k if k.is_empty() => 0,
                k => xxh3_64(k.as_bytes()).max(1),
            })
            .collect();
        assert_eq!(out, expected);
        assert_eq!(again, expected);
        // And from the same names stored as codes.
        let coded = ca
            .into_series()
            .cast(&DataType::from_categories(Categories::global()))
            .expect("text casts to codes");
        let mut from_codes = vec![u64::MAX; values.len()];
        names.keys(
            FieldColumn::Coded(coded.cat32().expect("coded")),
            0..values.len(),
            &mut from_codes,
        );
        assert_eq!(from_codes, expected);
        assert_eq!(out[0], out[1]);
        assert_eq!(out[2], out[7], "OCR digit read as a letter");
        assert_eq!(out[3], 0);
        assert_eq!(out[6], 0);
    }

    proptest! {
        /// The sketch keeps every row whose key another row holds (whatever else it keeps):
        /// checked against counting the keys, with keys drawn from a few values so that they
        /// repeat.
        #[test]
        fn may_repeat_keeps_every_repeated_key(keys in prop::collection::vec(prop::option::of(0u64..40), 0..300)) {
            let kept = may_repeat(keys.len(), |i| keys[i].map(mix));
            prop_assert!(kept.windows(2).all(|w| w[0] < w[1]));
            for (i, k) in keys.iter().enumerate() {
                let Some(k) = k else {
                    prop_assert!(!kept.contains(&(i as u32)));
                    continue;
                };
                if keys.iter().filter(|&&o| o == Some(*k)).count() > 1 {
                    prop_assert!(kept.contains(&(i as u32)), "row {} (key {}) dropped", i, k);
                }
            }
        }
    }
}
