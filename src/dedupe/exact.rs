//! The exact-duplicate pass: records with the same normalised given name, family name and
//! full birth date, or the same national id. No model, no blocking: two sorts and a walk, so
//! it runs first and alone (`rollaudit dedupe --exact-only`) when a data team wants the
//! cheap answer, and it is reported beside the model's clusters in every run.
//!
//! It is not a verdict. Name and birth date are the Interstate Crosscheck key, which pairs
//! different people born on the same day by the million in a national file (see
//! [`super::chance`], whose estimate of those coincidences is reported beside it); a shared
//! national id is strong, but a keying error gives two people one id. The groups say where a
//! human or the model should look first.
//!
//! Keys are the ones the model compares ([`crate::normalize::name_key`] for names, birth dates
//! without placeholders, national ids without separators), so `O'Brien` and `OBRIEN` group.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::cluster::{connected_components, Cluster};
use super::records::{birth_columns, national_id_key, text, Records, NO_DATE};
use crate::model::Field;
use crate::normalize::name_key_into;
use crate::snapshot::Snapshot;

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

/// The exact pass on a snapshot, without the model's normalisation of other fields: the fast
/// path of `--exact-only`.
pub fn exact_duplicates(snapshot: &Snapshot) -> ExactDuplicates {
    let (given, family, id) = (
        snapshot.column(Field::GivenName),
        snapshot.column(Field::FamilyName),
        snapshot.column(Field::NationalId),
    );
    let name: Vec<u64> = (0..snapshot.rows())
        .into_par_iter()
        .map_init(
            || (String::new(), String::new()),
            |(g, f), r| {
                name_key_into(text(&given, r), g);
                name_key_into(text(&family, r), f);
                if g.is_empty() || f.is_empty() {
                    0
                } else {
                    g.push('\u{1f}');
                    g.push_str(f);
                    xxh3_64(g.as_bytes()).max(1)
                }
            },
        )
        .collect();
    let id: Vec<u64> = (0..snapshot.rows())
        .into_par_iter()
        .map(|r| national_id_key(text(&id, r)))
        .collect();
    let keys = Keys {
        name: &name,
        birth: &birth_columns(snapshot).0,
        id: &id,
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

/// Sorts each key, counts the pairs of every run and joins its rows.
fn group<'a>(keys: &Keys<'_>, voter_id: impl Fn(u32) -> &'a str) -> ExactDuplicates {
    let n = keys.name.len();
    let mut by_name: Vec<(u64, i32, u32)> = (0..n)
        .filter(|&i| keys.name[i] != 0 && keys.birth[i] != NO_DATE)
        .map(|i| (keys.name[i], keys.birth[i], i as u32))
        .collect();
    by_name.par_sort_unstable();
    let mut by_id: Vec<(u64, u32)> = (0..n)
        .filter(|&i| keys.id[i] != 0)
        .map(|i| (keys.id[i], i as u32))
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
