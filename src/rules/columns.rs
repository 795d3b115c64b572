//! Whole-column reads for the rules: each field's values collected once into a plain vector,
//! so that the rule kernels loop over slices instead of asking polars row by row.
//!
//! Also the address key several rules share (from [`crate::normalize`], as dedupe's), and
//! [`Groups`], the group-by behind every rule that counts records per address, phone, email
//! or national id.

use hashbrown::hash_table::{Entry, HashTable};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::model::{Field, Status};
use crate::normalize::push_address_words;
use crate::snapshot::{FieldColumn, Snapshot};

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

/// The `voter_id` of every row.
pub(crate) fn ids(snap: &Snapshot) -> Vec<&str> {
    snap.voter_ids()
        .iter()
        .map(|v| v.unwrap_or_default())
        .collect()
}

/// The standing of every row.
pub(crate) fn standings(snap: &Snapshot) -> Vec<Standing> {
    match snap.texts(Field::Status) {
        None => vec![Standing::Unknown; snap.rows()],
        Some(values) => values
            .into_iter()
            .map(|v| match v.and_then(Status::from_name) {
                Some(Status::Active) => Standing::Active,
                Some(Status::Inactive) => Standing::Inactive,
                Some(Status::Pending) => Standing::Pending,
                Some(Status::Removed) => Standing::Removed,
                None => Standing::Unknown,
            })
            .collect(),
    }
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

/// A phone number's digits.
pub(crate) fn normalise_phone(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn at<'a>(col: &Option<Vec<Option<&'a str>>>, row: usize) -> Option<&'a str> {
    col.as_ref().and_then(|c| c[row])
}

/// Every row's address key and display line, `None` when the snapshot has neither
/// `address_line` nor `street`. The key is the normalised address line (or house number and
/// street), unit, locality and postcode; rows without an address have `None`.
pub(crate) fn addresses(snap: &Snapshot) -> Option<Vec<Option<String>>> {
    let line = snap.texts(Field::AddressLine);
    let street = snap.texts(Field::Street);
    if line.is_none() && street.is_none() {
        return None;
    }
    let number = snap.texts(Field::HouseNumber);
    let unit = snap.texts(Field::Unit);
    let locality = snap.texts(Field::Locality);
    let postcode = snap.texts(Field::Postcode);
    Some(
        (0..snap.rows())
            .into_par_iter()
            .map(|r| {
                let mut key = String::new();
                match at(&line, r) {
                    Some(l) => push_address_words(l, &mut key),
                    None => {
                        let s = at(&street, r)?;
                        push_address_words(at(&number, r).unwrap_or(""), &mut key);
                        let number_end = key.len();
                        push_address_words(s, &mut key);
                        if number_end > 0 && key.len() > number_end {
                            key.insert(number_end, ' ');
                        }
                    }
                };
                if key.is_empty() {
                    return None;
                }
                for part in [at(&unit, r), at(&locality, r), at(&postcode, r)] {
                    key.push('|');
                    push_address_words(part.unwrap_or(""), &mut key);
                }
                Some(key)
            })
            .collect(),
    )
}

/// Marks a row that belongs to no group.
const NO_GROUP: u32 = u32::MAX;

/// Rows grouped by equal key: one code per row and one count per key.
///
/// The rules count registrations per address, phone, email or id over every row, but report
/// only the few groups above a threshold, so the rows of a group are gathered only for those
/// ([`Groups::at_least`]). A vector per group and the std SipHash map made the grouping most
/// of `scan`'s time.
pub(crate) struct Groups<'k> {
    /// Each group's key, in order of first appearance.
    pub keys: Vec<&'k str>,
    /// Each group's number of rows.
    pub sizes: Vec<u32>,
    /// Each row's group, or [`NO_GROUP`].
    code: Vec<u32>,
}

impl<'k> Groups<'k> {
    /// Groups the rows whose key is present and not empty, and for which `keep(row)` holds.
    ///
    /// The keys are hashed on every core first; the one sequential pass then probes a table
    /// sized for every row at once. A map grown insert by insert, hashing as it went, showed
    /// as a fifth of the samples of a 10,000,000-voter scan.
    pub fn new(keys: impl Iterator<Item = Option<&'k str>>, keep: impl Fn(usize) -> bool) -> Self {
        let keys: Vec<Option<&'k str>> = keys
            .enumerate()
            .map(|(row, key)| key.filter(|k| !k.is_empty() && keep(row)))
            .collect();
        let hashes: Vec<u64> = keys
            .par_iter()
            .map(|key| key.map_or(0, |k| xxh3_64(k.as_bytes())))
            .collect();
        let mut table: HashTable<u32> =
            HashTable::with_capacity(keys.iter().filter(|k| k.is_some()).count());
        let mut groups = Groups {
            keys: Vec::new(),
            sizes: Vec::new(),
            code: Vec::with_capacity(keys.len()),
        };
        let mut group_hash: Vec<u64> = Vec::new();
        for (key, &hash) in keys.iter().zip(&hashes) {
            let Some(key) = *key else {
                groups.code.push(NO_GROUP);
                continue;
            };
            let same = |&g: &u32| groups.keys[g as usize] == key;
            let code = match table.entry(hash, same, |&g| group_hash[g as usize]) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    let code = groups.keys.len() as u32;
                    e.insert(code);
                    groups.keys.push(key);
                    groups.sizes.push(0);
                    group_hash.push(hash);
                    code
                }
            };
            groups.sizes[code as usize] += 1;
            groups.code.push(code);
        }
        groups
    }

    /// Each group's key and size.
    pub fn iter(&self) -> impl Iterator<Item = (&'k str, usize)> + '_ {
        self.keys
            .iter()
            .copied()
            .zip(self.sizes.iter().map(|&n| n as usize))
    }

    /// The groups of at least `min` rows, sorted by key, each with its rows in ascending order.
    pub fn at_least(&self, min: usize) -> Vec<(&'k str, Vec<u32>)> {
        let mut slot = vec![NO_GROUP; self.keys.len()];
        let mut out: Vec<(&str, Vec<u32>)> = Vec::new();
        for (group, (key, size)) in self.iter().enumerate() {
            if size >= min {
                slot[group] = out.len() as u32;
                out.push((key, Vec::with_capacity(size)));
            }
        }
        if !out.is_empty() {
            for (row, &code) in self.code.iter().enumerate() {
                if let Some(&s) = slot.get(code as usize).filter(|&&s| s != NO_GROUP) {
                    out[s as usize].1.push(row as u32);
                }
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_keep_their_digits() {
        assert_eq!(normalise_phone("+1 (982) 838-8743"), "19828388743");
    }

    #[test]
    fn year_only_births_allow_two_ages() {
        let on = crate::dates::parse_iso_date("2026-10-22").unwrap();
        assert_eq!(age_range(Birth::Year(2008), on), Some((17, 18)));
        assert_eq!(age_range(Birth::Unknown, on), None);
    }
}
