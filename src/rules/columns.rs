//! Whole-column reads for the rules: each field's values collected once into a plain vector,
//! so that the rule kernels loop over slices instead of asking polars row by row. The text
//! columns that are not coded (`voter_id`, `national_id`, `address_line`, `phone`, `email`)
//! are the exception, read by row ([`FieldColumn::str`]): a vector of one held 16 bytes a
//! row, and the scan of 10,000,000 voters held four at once, 0.5 GB beside the snapshot, for
//! no gain in speed (8.7 and 9.0 s read by row against 9.0 and 9.3 s from vectors).
//!
//! Also the address key several rules share (from [`crate::normalize`], as dedupe's), and
//! [`Groups`], the group-by behind every rule that counts records per address, phone, email
//! or national id.

use std::collections::BTreeMap;

use hashbrown::hash_table::{Entry, HashTable};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::model::{Field, Status};
use crate::normalize::push_address_words;
use crate::snapshot::{judge_texts, FieldColumn, Judged, Snapshot};

/// A record's standing on the roll (see the rules' module docs, "Which records count").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    Active,
    Inactive,
    Pending,
    Removed,
    /// No status: treated as active.
    Unknown,
}

impl Standing {
    pub fn name(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Inactive => "inactive",
            Standing::Pending => "pending",
            Standing::Removed => "removed",
            Standing::Unknown => "unknown",
        }
    }

    /// Can vote as the roll stands (active, or no status to say otherwise).
    pub fn votes(self) -> bool {
        matches!(self, Standing::Active | Standing::Unknown)
    }

    /// On the roll now or soon: active, pending, or unknown.
    pub fn current(self) -> bool {
        matches!(
            self,
            Standing::Active | Standing::Pending | Standing::Unknown
        )
    }
}

/// The `voter_id` of every row (of a death registry: its record numbers).
pub(crate) fn ids(snap: &Snapshot) -> Vec<&str> {
    snap.voter_ids()
        .iter()
        .map(|v| v.unwrap_or_default())
        .collect()
}

/// The standing of every row.
pub(crate) fn standings(snap: &Snapshot) -> Vec<Standing> {
    let Some(status) = snap.column(Field::Status) else {
        return vec![Standing::Unknown; snap.rows()];
    };
    let judged = judge_texts(status, snap.rows(), |v| {
        Some(match Status::from_name(v)? {
            Status::Active => Standing::Active,
            Status::Inactive => Standing::Inactive,
            Status::Pending => Standing::Pending,
            Status::Removed => Standing::Removed,
        })
    });
    (0..snap.rows())
        .map(|row| judged.at(row).copied().unwrap_or(Standing::Unknown))
        .collect()
}

/// A date (days since 1970) or year field's values, `None` when the snapshot lacks it.
pub(crate) fn days(snap: &Snapshot, field: Field) -> Option<Vec<Option<i32>>> {
    match snap.column(field)? {
        FieldColumn::Day(ca) | FieldColumn::Year(ca) => Some(ca.iter().collect()),
        _ => None,
    }
}

/// What a record says about its birth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Birth {
    Unknown,
    /// Days since 1970.
    Date(i32),
    /// Only the year (North Carolina publishes no more).
    Year(i32),
}

/// Every row's birth, from `birth_date` where present, else `birth_year`; `None` when the
/// snapshot has neither field.
pub(crate) fn births(snap: &Snapshot) -> Option<Vec<Birth>> {
    let dates = days(snap, Field::BirthDate);
    let years = days(snap, Field::BirthYear);
    if dates.is_none() && years.is_none() {
        return None;
    }
    Some(
        (0..snap.rows())
            .map(|r| {
                let date = dates.as_ref().and_then(|d| d[r]);
                let year = years.as_ref().and_then(|y| y[r]);
                match (date, year) {
                    (Some(d), _) => Birth::Date(d),
                    (None, Some(y)) => Birth::Year(y),
                    (None, None) => Birth::Unknown,
                }
            })
            .collect(),
    )
}

/// The range of ages a birth allows on `on`: exact for a date, two possible ages for a year.
pub(crate) fn age_range(birth: Birth, on: i32) -> Option<(i32, i32)> {
    match birth {
        Birth::Unknown => None,
        Birth::Date(d) => {
            let a = super::age_on(d, on);
            Some((a, a))
        }
        Birth::Year(y) => {
            let a = crate::dates::civil_from_days(on).0 - y;
            Some((a - 1, a))
        }
    }
}

/// Writes a phone number's digits into `out`.
pub(crate) fn push_phone_digits(s: &str, out: &mut String) {
    out.extend(s.chars().filter(char::is_ascii_digit));
}

/// The columns of every row's address key: the normalised address line (or house number
/// and street), unit, locality and postcode. Keys are written on demand ([`Addresses::key`])
/// rather than held, one `String` per row: the rules need every key only as a hash
/// ([`Groups`]) and the text of a few.
pub(crate) struct Addresses<'a> {
    line: Part<'a>,
    street: Part<'a>,
    number: Part<'a>,
    unit: Part<'a>,
    locality: Part<'a>,
    postcode: Part<'a>,
}

/// One part of an address, normalised as it is written. A coded part (street, locality,
/// postcode ...: [`Snapshot::compact`]) is normalised once per distinct value.
enum Part<'a> {
    Missing,
    Text(FieldColumn<'a>),
    Coded(Judged<String>),
}

impl<'a> Part<'a> {
    fn of(snap: &'a Snapshot, field: Field) -> Self {
        match snap.column(field) {
            None => Part::Missing,
            Some(coded @ FieldColumn::Coded(_)) => {
                Part::Coded(judge_texts(coded, snap.rows(), |v| {
                    let mut words = String::new();
                    push_address_words(v, &mut words);
                    Some(words)
                }))
            }
            Some(text @ FieldColumn::Text(_)) => Part::Text(text),
            Some(_) => Part::Missing,
        }
    }

    /// Whether row `r` has a value (perhaps one without a word).
    fn present(&self, r: usize) -> bool {
        match self {
            Part::Missing => false,
            Part::Text(values) => values.str(r).is_some(),
            Part::Coded(words) => words.at(r).is_some(),
        }
    }

    /// Appends row `r`'s value's words to `out` ([`push_address_words`]); false when it has
    /// no value.
    fn push(&self, r: usize, out: &mut String) -> bool {
        match self {
            Part::Missing => false,
            Part::Text(values) => values.str(r).map(|v| push_address_words(v, out)).is_some(),
            Part::Coded(words) => words.at(r).map(|w| out.push_str(w)).is_some(),
        }
    }
}

impl<'a> Addresses<'a> {
    /// `None` when the snapshot has neither `address_line` nor `street`.
    pub fn of(snap: &'a Snapshot) -> Option<Self> {
        if !snap.has(Field::AddressLine) && !snap.has(Field::Street) {
            return None;
        }
        Some(Addresses {
            line: Part::of(snap, Field::AddressLine),
            street: Part::of(snap, Field::Street),
            number: Part::of(snap, Field::HouseNumber),
            unit: Part::of(snap, Field::Unit),
            locality: Part::of(snap, Field::Locality),
            postcode: Part::of(snap, Field::Postcode),
        })
    }

    /// Writes row `r`'s address key into the empty `key`; false for a row without an address
    /// (the key is then empty).
    pub fn key(&self, r: usize, key: &mut String) -> bool {
        if !self.line.push(r, key) {
            if !self.street.present(r) {
                return false;
            }
            self.number.push(r, key);
            let number_end = key.len();
            self.street.push(r, key);
            if number_end > 0 && key.len() > number_end {
                key.insert(number_end, ' ');
            }
        }
        if key.is_empty() {
            return false;
        }
        for part in [&self.unit, &self.locality, &self.postcode] {
            key.push('|');
            part.push(r, key);
        }
        true
    }

    /// Row `r`'s address key, `None` for a row without an address.
    pub fn key_of(&self, r: usize) -> Option<String> {
        let mut key = String::new();
        self.key(r, &mut key).then_some(key)
    }
}

/// A row's grouping key written into an empty buffer; false, or an empty key, for a row
/// without one.
pub(crate) type KeyOf<'a> = dyn Fn(usize, &mut String) -> bool + Sync + 'a;

/// Marks a row that belongs to no group.
const NO_GROUP: u32 = u32::MAX;

/// Marks a row without a key among the hashes.
const NO_KEY: u64 = 0;

/// [`Groups`] groups the rows in `2^PART_BITS` parts by hash: at 10,000,000 addresses a
/// part's table holds about 16,000 groups, a few hundred kilobytes.
const PART_BITS: u32 = 8;
const PARTS: usize = 1 << PART_BITS;

/// Rows grouped by equal key: one code per row, one count per group.
///
/// The rules count registrations per address, phone, email or id over every row, but report
/// only the few groups above a threshold. So a key is written into a reused buffer and kept
/// only as its 64-bit hash: grouping compares hashes, and the keys of the reported groups are
/// written again and compared as text ([`Groups::at_least`]), so that every reported group is
/// exact. A `String` key per row made the address and contact rules most of `scan`'s time
/// (0.92 of 1.76 s at 1,007,296 voters). Two keys of one hash would share a count in the
/// distribution a threshold is taken from; with 64-bit hashes the chance that any two of 10^8
/// distinct keys collide is about 3 in 10^4, and one collision moves one count.
pub(crate) struct Groups {
    /// Each group's number of rows.
    pub sizes: Vec<u32>,
    /// Each group's `flag` (see [`Hashed::new`]): the same for every row of a group, since
    /// it is a property of the key.
    pub flags: Vec<bool>,
    /// Each row's group, or [`NO_GROUP`].
    code: Vec<u32>,
}

/// Every row's key hash ([`NO_KEY`] for a row without a key or not kept) and its key's flag:
/// what [`Groups::of`] groups. A register read a window at a time has the windows' hashes
/// one after the other ([`Hashed::append`], `super::windows`).
#[derive(Default)]
pub(crate) struct Hashed {
    hashes: Vec<u64>,
    flags: Vec<bool>,
}

impl Hashed {
    /// The keys of the rows that have one and for which `keep(row)` holds, written and hashed
    /// on every core; `flag` marks a key (an allowlisted address, a placeholder phone).
    pub fn new(
        rows: usize,
        key: &KeyOf<'_>,
        keep: impl Fn(usize) -> bool + Sync,
        flag: impl Fn(&str) -> bool + Sync,
    ) -> Self {
        Self::by(rows, key, keep, flag, xxh3_64)
    }

    /// [`Hashed::new`] with the hash function given (the tests make every key collide).
    fn by(
        rows: usize,
        key: &KeyOf<'_>,
        keep: impl Fn(usize) -> bool + Sync,
        flag: impl Fn(&str) -> bool + Sync,
        hash: fn(&[u8]) -> u64,
    ) -> Self {
        let (hashes, flags) = (0..rows)
            .into_par_iter()
            .map_init(String::new, |buf, row| {
                buf.clear();
                if !keep(row) || !key(row, buf) || buf.is_empty() {
                    return (NO_KEY, false);
                }
                (hash(buf.as_bytes()).max(NO_KEY + 1), flag(buf))
            })
            .unzip();
        Hashed { hashes, flags }
    }

    /// `next`'s rows after these.
    pub fn append(&mut self, mut next: Hashed) {
        self.hashes.append(&mut next.hashes);
        self.flags.append(&mut next.flags);
    }
}

impl Groups {
    /// The rows of `hashed` grouped by hash: on every core, a part of the hashes at a time (a
    /// map grown insert by insert, hashing as it went, once showed as a fifth of the samples
    /// of a 10,000,000-voter scan).
    pub fn of(hashed: Hashed) -> Self {
        let Hashed {
            hashes,
            flags: row_flags,
        } = hashed;
        let rows = hashes.len();
        // Grouped a part at a time, the part given by a hash's top bits, each part on a table
        // of its own: one table for every row outgrew the processor's caches at 10,000,000
        // voters, where its probes were a quarter of `scan`'s CPU (perf). Each part's
        // entries are its rows' hashes in row order.
        let part_of = |hash: u64| (hash >> (u64::BITS - PART_BITS)) as usize;
        let mut starts = vec![0usize; PARTS + 1];
        for &hash in hashes.iter().filter(|&&h| h != NO_KEY) {
            starts[part_of(hash) + 1] += 1;
        }
        for p in 0..PARTS {
            starts[p + 1] += starts[p];
        }
        let mut entries = vec![(0u64, 0u32); starts[PARTS]];
        let mut fill = starts.clone();
        for (row, &hash) in hashes.iter().enumerate() {
            if hash != NO_KEY {
                let p = part_of(hash);
                entries[fill[p]] = (hash, row as u32);
                fill[p] += 1;
            }
        }
        drop(hashes);
        // Each part's entries numbered by group, groups in order of first appearance, and
        // each group's size.
        let parts: Vec<(Vec<u32>, Vec<u32>)> = (0..PARTS)
            .into_par_iter()
            .map(|p| {
                let entries = &entries[starts[p]..starts[p + 1]];
                let mut table: HashTable<u32> = HashTable::with_capacity(entries.len());
                let (mut group_hash, mut sizes) = (Vec::<u64>::new(), Vec::<u32>::new());
                let mut local = Vec::with_capacity(entries.len());
                for &(hash, _) in entries {
                    let same = |&g: &u32| group_hash[g as usize] == hash;
                    let code = match table.entry(hash, same, |&g| group_hash[g as usize]) {
                        Entry::Occupied(e) => *e.get(),
                        Entry::Vacant(e) => {
                            let code = sizes.len() as u32;
                            e.insert(code);
                            sizes.push(0);
                            group_hash.push(hash);
                            code
                        }
                    };
                    sizes[code as usize] += 1;
                    local.push(code);
                }
                (local, sizes)
            })
            .collect();
        // A part's groups are numbered after those of the parts before it; a group's flag is
        // its first row's.
        let mut groups = Groups {
            sizes: Vec::new(),
            flags: Vec::new(),
            code: vec![NO_GROUP; rows],
        };
        for (p, (local, sizes)) in parts.into_iter().enumerate() {
            let first = groups.sizes.len() as u32;
            for (&(_, row), &l) in entries[starts[p]..starts[p + 1]].iter().zip(&local) {
                if (first + l) as usize == groups.flags.len() {
                    groups.flags.push(row_flags[row as usize]);
                }
                groups.code[row as usize] = first + l;
            }
            groups.sizes.extend(sizes);
        }
        groups
    }

    /// The sizes of the groups whose key is not flagged.
    pub fn unflagged_sizes(&self) -> Vec<usize> {
        self.sizes
            .iter()
            .zip(&self.flags)
            .filter(|(_, &flagged)| !flagged)
            .map(|(&n, _)| n as usize)
            .collect()
    }

    /// Marks in `marks` (one per row) the rows of the groups of at least `min` rows.
    pub fn mark_at_least(&self, min: usize, marks: &mut [bool]) {
        let big: Vec<bool> = self.sizes.iter().map(|&n| n as usize >= min).collect();
        for (mark, &code) in marks.iter_mut().zip(&self.code) {
            if big.get(code as usize) == Some(&true) {
                *mark = true;
            }
        }
    }

    /// The groups of at least `min` rows, sorted by key, each with its rows in ascending
    /// order. `key` must be the one the groups were made with: the rows of each group are
    /// keyed again and grouped by text, so that a hash shared by two keys splits back into
    /// them (each kept if it still has `min` rows).
    pub fn at_least(&self, min: usize, key: &KeyOf<'_>) -> Vec<(String, Vec<u32>)> {
        let mut slot = vec![NO_GROUP; self.sizes.len()];
        let mut gathered: Vec<Vec<u32>> = Vec::new();
        for (group, &size) in self.sizes.iter().enumerate() {
            if size as usize >= min {
                slot[group] = gathered.len() as u32;
                gathered.push(Vec::with_capacity(size as usize));
            }
        }
        if !gathered.is_empty() {
            for (row, &code) in self.code.iter().enumerate() {
                if let Some(&s) = slot.get(code as usize).filter(|&&s| s != NO_GROUP) {
                    gathered[s as usize].push(row as u32);
                }
            }
        }
        let mut out: Vec<(String, Vec<u32>)> = Vec::with_capacity(gathered.len());
        let mut buf = String::new();
        for rows in gathered {
            let mut by_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            for &row in &rows {
                buf.clear();
                key(row as usize, &mut buf);
                match by_key.get_mut(buf.as_str()) {
                    Some(r) => r.push(row),
                    None => {
                        by_key.insert(buf.clone(), vec![row]);
                    }
                }
            }
            out.extend(by_key.into_iter().filter(|(_, rows)| rows.len() >= min));
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys by hand from the normalisation (letters upper case, punctuation a word break),
    /// the same from a snapshot held as text and one whose parts are coded.
    #[test]
    fn address_keys_from_house_number_and_street_are_the_same_coded() {
        let csv = "voter_id,given_name,family_name,house_number,street,unit,locality,postcode\n\
                   V1,ANNA,LEE,12,Main St.,Apt 4,Springfield,10435\n\
                   V2,BEN,LEE,,Oak  Rd,,Ashton,\n\
                   V3,CARL,LEE,7,,,Ashton,11111\n";
        let load = || {
            crate::load::load_bytes(
                csv.as_bytes().to_vec(),
                std::path::Path::new("t.csv"),
                &crate::profile::Profile::canonical(),
                &crate::load::NoProgress,
            )
            .unwrap()
            .snapshot
        };
        let text = load();
        let mut coded = load();
        coded.compact();
        assert!(matches!(
            coded.column(Field::Street),
            Some(FieldColumn::Coded(_))
        ));
        let expected = [
            Some("12 MAIN ST|APT 4|SPRINGFIELD|10435".to_string()),
            Some("OAK RD||ASHTON|".to_string()),
            None,
        ];
        for snap in [&text, &coded] {
            let addresses = Addresses::of(snap).unwrap();
            let keys: Vec<Option<String>> = (0..3).map(|r| addresses.key_of(r)).collect();
            assert_eq!(keys, expected);
        }
    }

    #[test]
    fn phones_keep_their_digits() {
        let mut digits = String::new();
        push_phone_digits("+1 (982) 838-8743", &mut digits);
        assert_eq!(digits, "19828388743");
    }

    /// Every group reported is exact even when keys share a hash: with one hash for every
    /// key, the groups split back into their keys, and a key left with too few rows is not
    /// reported.
    #[test]
    fn groups_of_one_hash_split_back_into_their_keys() {
        let keys = ["B", "A", "", "B", "C", "A", "B", "A", "C"];
        let key = |row: usize, buf: &mut String| {
            buf.push_str(keys[row]);
            true
        };
        let keep = |row: usize| row != 8;
        let flag = |k: &str| k == "C";
        let groups = Groups::of(Hashed::by(keys.len(), &key, keep, flag, |_| 7));
        assert_eq!(groups.sizes, vec![7]);
        assert_eq!(
            groups.at_least(2, &key),
            vec![
                ("A".to_string(), vec![1, 5, 7]),
                ("B".to_string(), vec![0, 3, 6])
            ]
        );
        let groups = Groups::of(Hashed::new(keys.len(), &key, keep, flag));
        let mut sizes = groups.sizes.clone();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![1, 3, 3]);
        assert_eq!(groups.unflagged_sizes(), vec![3, 3]);
        assert_eq!(
            groups.at_least(1, &key),
            vec![
                ("A".to_string(), vec![1, 5, 7]),
                ("B".to_string(), vec![0, 3, 6]),
                ("C".to_string(), vec![4])
            ]
        );
    }

    #[test]
    fn year_only_births_allow_two_ages() {
        let on = crate::dates::parse_iso_date("2026-10-22").unwrap();
        assert_eq!(age_range(Birth::Year(2008), on), Some((17, 18)));
        assert_eq!(age_range(Birth::Unknown, on), None);
    }
}
