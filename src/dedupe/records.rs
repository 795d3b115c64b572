//! The snapshot's identity fields, normalised once into flat columns of small integers.
//!
//! Blocking and scoring touch every candidate pair; they must never parse, fold or allocate.
//! So every field is normalised here, once per snapshot ([`crate::normalize`]): names become
//! ids into one interner (the same id space for given, middle and family names, so a swapped
//! pair compares by id), other fields become 64-bit xxh3 hashes of their keys (0 = missing),
//! dates stay day numbers. Per distinct name, the sound key and nickname classes are computed
//! once, not per pair.

use std::collections::HashMap;

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::phonetic::sound_key;
use crate::dates::civil_from_days;
use crate::model::Field;
use crate::normalize::{
    address_key, canonical_given, email_key, family_core_key, is_placeholder_birth_date, name_key,
    nickname_classes, ocr_key, phone_key,
};
use crate::snapshot::{FieldColumn, Snapshot};

/// Marks a missing birth date or year.
pub(crate) const NO_DATE: i32 = i32::MIN;

/// Distinct normalised names, id 0 being the missing name.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    pub values: Vec<Box<str>>,
    /// Sound key per name ([`sound_key`]).
    pub sound: Vec<u32>,
    /// Nickname classes per name (`normalize::nickname_classes`).
    pub nick: Vec<u128>,
    /// Hash of the first three letters of the formal name (`canonical_given`), for blocking.
    pub canon_prefix: Vec<u64>,
    /// First letter of the formal name, 0 for the missing name.
    pub canon_initial: Vec<u8>,
    /// Hash of the name's [`ocr_key`].
    pub ocr: Vec<u64>,
    /// Family-name key without particles, as a name id (0 if it equals the name itself).
    pub core: Vec<u32>,
    index: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
}

impl NameTable {
    fn new() -> NameTable {
        let mut t = NameTable::default();
        t.intern(String::new());
        t
    }

    fn intern(&mut self, key: String) -> u32 {
        if let Some(&id) = self.index.get(key.as_str()) {
            return id;
        }
        let id = self.values.len() as u32;
        let canon = canonical_given(&key);
        let prefix: String = canon.chars().take(3).collect();
        self.sound.push(sound_key(&key));
        self.nick.push(nickname_classes(&key));
        self.canon_prefix.push(if key.is_empty() {
            0
        } else {
            xxh3_64(prefix.as_bytes())
        });
        self.canon_initial.push(canon.bytes().next().unwrap_or(0));
        self.core.push(0);
        self.ocr.push(xxh3_64(ocr_key(&key).as_bytes()));
        let key: Box<str> = key.into();
        self.values.push(key.clone());
        self.index.insert(key, id);
        id
    }

    pub fn get(&self, id: u32) -> &str {
        &self.values[id as usize]
    }
}

/// Normalised identity columns, one entry per snapshot row.
#[derive(Debug)]
pub(crate) struct Records {
    pub names: NameTable,
    pub given: Vec<u32>,
    pub middle: Vec<u32>,
    pub family: Vec<u32>,
    /// Suffix code: 0 missing, else a hash of the normalised suffix (`JR`, `SR`, `II`...).
    pub suffix: Vec<u64>,
    /// Birth date in days since 1970-01-01, or [`NO_DATE`] (placeholders included).
    pub birth: Vec<i32>,
    /// Birth year (from the date, else the `birth_year` column), or [`NO_DATE`].
    pub year: Vec<i32>,
    /// First folded letter of the sex code, 0 missing.
    pub sex: Vec<u8>,
    /// Hash of the full address key, 0 missing.
    pub address: Vec<u64>,
    /// Hash of the address key before its unit designator (`12 OAK ST` of `12 OAK ST # 4`).
    pub building: Vec<u64>,
    /// Hash of the house number, 0 missing.
    pub house: Vec<u64>,
    /// The house number as packed digits (see [`Records::national_digits`]), 0 when it is
    /// not a number: for the keying errors of the `street` level.
    pub house_digits: Vec<u64>,
    /// Street name key (`N OAK ST`) as an id into [`Records::streets`], 0 missing.
    pub street: Vec<u32>,
    /// Distinct street keys, id 0 being the missing street.
    pub streets: Vec<Box<str>>,
    /// Hash of the postcode (else the locality), 0 missing.
    pub area: Vec<u64>,
    /// Hash of the locality, 0 missing.
    pub locality: Vec<u64>,
    /// Hash of the electoral district, 0 missing.
    pub district: Vec<u64>,
    pub phone: Vec<u64>,
    pub email: Vec<u64>,
    pub national_id: Vec<u64>,
    /// The national id as digits, for the one-digit comparison: `(length << 56) | value`
    /// when it is 1 to 15 digits (separators dropped), else 0.
    pub national_digits: Vec<u64>,
    /// Occurrences of each name id as a given name / as a family name (term frequencies).
    pub given_count: Vec<u32>,
    pub family_count: Vec<u32>,
}

fn hash_key(key: &str) -> u64 {
    if key.is_empty() {
        0
    } else {
        xxh3_64(key.as_bytes()).max(1)
    }
}

/// The row's text, trimmed; empty for missing.
pub(crate) fn text<'a>(col: &Option<FieldColumn<'a>>, row: usize) -> &'a str {
    col.as_ref().and_then(|c| c.str(row)).unwrap_or("").trim()
}

/// The national id's key: its letters and digits (separators dropped), hashed; 0 missing.
/// One character repeated (`000000000`, `XXXXXX`) is a placeholder, not an id: missing.
pub(crate) fn national_id_key(s: &str) -> u64 {
    let kept: String;
    let key = if s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        s // the common case: nothing to drop, nothing to copy
    } else {
        kept = s.chars().filter(char::is_ascii_alphanumeric).collect();
        &kept
    };
    let mut chars = key.chars();
    let first = chars.next();
    if first.is_some() && chars.all(|c| Some(c) == first) && key.len() > 1 {
        return 0;
    }
    hash_key(key)
}

/// See [`Records::national_digits`].
fn national_digits(s: &str) -> u64 {
    let key: String = s.chars().filter(char::is_ascii_alphanumeric).collect();
    if key.is_empty() || key.len() > 15 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    key.parse::<u64>()
        .map_or(0, |v| (key.len() as u64) << 56 | v)
}

fn suffix_key(s: &str) -> u64 {
    let k = crate::normalize::letters(s);
    let k = match k.as_str() {
        "JUNIOR" => "JR",
        "SENIOR" => "SR",
        "ND" | "SECOND" => "II",
        "RD" | "THIRD" => "III",
        "TH" | "FOURTH" => "IV",
        other => other,
    };
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    match digits.as_str() {
        "2" => hash_key("II"),
        "3" => hash_key("III"),
        "4" => hash_key("IV"),
        _ => hash_key(k),
    }
}

/// Per-row normalised strings, computed in parallel before the sequential interning.
struct RowKeys {
    given: String,
    middle: String,
    family: String,
    family_core: String,
}

/// The rows of every part, one part after the other.
fn concat<T>(parts: &[&Snapshot], f: impl Fn(&Snapshot) -> Vec<T>) -> Vec<T> {
    let mut out = Vec::new();
    for part in parts {
        out.extend(f(part));
    }
    out
}

/// `key` of every row's text in `field`.
fn hashed(parts: &[&Snapshot], field: Field, key: fn(&str) -> u64) -> Vec<u64> {
    concat(parts, |s| {
        let c = s.column(field);
        (0..s.rows())
            .into_par_iter()
            .map(|r| key(text(&c, r)))
            .collect()
    })
}

fn row_keys(snapshot: &Snapshot) -> Vec<RowKeys> {
    let col = |f: Field| snapshot.column(f);
    let (given_c, middle_c, family_c) = (
        col(Field::GivenName),
        col(Field::MiddleName),
        col(Field::FamilyName),
    );
    (0..snapshot.rows())
        .into_par_iter()
        .map(|r| {
            let family = text(&family_c, r);
            RowKeys {
                given: name_key(text(&given_c, r)),
                middle: name_key(text(&middle_c, r)),
                family: name_key(family),
                family_core: family_core_key(family),
            }
        })
        .collect()
}

impl Records {
    pub fn from_snapshot(snapshot: &Snapshot) -> Records {
        Records::from_snapshots(&[snapshot])
    }

    /// The rows of several snapshots, one part after the other, in one id space (names
    /// interned once): a death registry after the register it is linked to.
    pub fn from_snapshots(parts: &[&Snapshot]) -> Records {
        let keys = concat(parts, row_keys);
        let n = keys.len();
        let mut names = NameTable::new();
        let (mut given, mut middle, mut family) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for k in keys {
            given.push(names.intern(k.given));
            middle.push(names.intern(k.middle));
            let f = names.intern(k.family);
            if !k.family_core.is_empty() && names.get(f) != k.family_core {
                let core = names.intern(k.family_core);
                names.core[f as usize] = core;
            }
            family.push(f);
        }
        let mut given_count = vec![0u32; names.values.len()];
        let mut family_count = vec![0u32; names.values.len()];
        given.iter().for_each(|&g| given_count[g as usize] += 1);
        family.iter().for_each(|&f| family_count[f as usize] += 1);
        given_count[0] = 0;
        family_count[0] = 0;

        let (birth, year) = concat(parts, |s| {
            let (b, y) = birth_columns(s);
            b.into_iter().zip(y).collect()
        })
        .into_iter()
        .unzip();
        let addresses = concat(parts, address_columns);
        let mut streets: Vec<Box<str>> = vec!["".into()];
        let mut street_ids: HashMap<&str, u32, foldhash::fast::RandomState> =
            HashMap::from_iter([("", 0)]);
        let street = addresses
            .iter()
            .map(|a| {
                *street_ids.entry(a.street.as_str()).or_insert_with(|| {
                    streets.push(a.street.as_str().into());
                    (streets.len() - 1) as u32
                })
            })
            .collect();
        let area = concat(parts, |s| {
            let (pc, loc) = (s.column(Field::Postcode), s.column(Field::Locality));
            (0..s.rows())
                .into_par_iter()
                .map(|r| {
                    let p = text(&pc, r);
                    let v = if p.is_empty() { text(&loc, r) } else { p };
                    hash_key(&address_key(v))
                })
                .collect()
        });
        let place = |s: &str| hash_key(&address_key(s));
        let locality = hashed(parts, Field::Locality, place);
        let sex = concat(parts, |s| {
            let sex_c = s.column(Field::Sex);
            (0..s.rows())
                .map(|r| {
                    text(&sex_c, r)
                        .chars()
                        .find_map(crate::normalize::fold_letter)
                        .map_or(0, |f| f.as_bytes()[0])
                })
                .collect()
        });
        Records {
            given,
            middle,
            family,
            suffix: hashed(parts, Field::NameSuffix, suffix_key),
            birth,
            year,
            sex,
            address: addresses.iter().map(|a| a.address).collect(),
            building: addresses.iter().map(|a| a.building).collect(),
            house: addresses.iter().map(|a| a.house).collect(),
            house_digits: addresses.iter().map(|a| a.house_digits).collect(),
            street,
            streets,
            area,
            locality,
            district: hashed(parts, Field::District, place),
            phone: hashed(parts, Field::Phone, |s| {
                phone_key(s).map_or(0, |p| p.max(1))
            }),
            email: hashed(parts, Field::Email, |s| {
                email_key(s).map_or(0, |e| hash_key(&e))
            }),
            national_digits: hashed(parts, Field::NationalId, national_digits),
            national_id: hashed(parts, Field::NationalId, national_id_key),
            names,
            given_count,
            family_count,
        }
    }

    pub fn len(&self) -> usize {
        self.given.len()
    }
}

pub(crate) fn birth_columns(snapshot: &Snapshot) -> (Vec<i32>, Vec<i32>) {
    let n = snapshot.rows();
    let date_c = snapshot.column(Field::BirthDate);
    let year_c = snapshot.column(Field::BirthYear);
    let birth: Vec<i32> = (0..n)
        .map(|r| {
            date_c
                .as_ref()
                .and_then(|c| c.day(r))
                .filter(|&d| !is_placeholder_birth_date(d))
                .unwrap_or(NO_DATE)
        })
        .collect();
    let year = (0..n)
        .map(|r| match birth[r] {
            NO_DATE => year_c
                .as_ref()
                .and_then(|c| c.day(r))
                .filter(|&y| y >= 1900)
                .unwrap_or(NO_DATE),
            d => civil_from_days(d).0,
        })
        .collect();
    (birth, year)
}

/// One row's address keys.
struct AddressKeys {
    address: u64,
    building: u64,
    house: u64,
    house_digits: u64,
    street: String,
}

/// The address keys of every row: `address_line` when present (the building being the line
/// before its unit designator, the house number its first word when that starts with a digit,
/// the street the rest), else house number, street and unit joined (the building being house
/// number and street: a unit written as a name, such as FEBRL's `address_2` property names,
/// has no designator to cut at).
fn address_columns(snapshot: &Snapshot) -> Vec<AddressKeys> {
    let n = snapshot.rows();
    let line = snapshot.column(Field::AddressLine);
    let house = snapshot.column(Field::HouseNumber);
    let street = snapshot.column(Field::Street);
    let unit = snapshot.column(Field::Unit);
    (0..n)
        .into_par_iter()
        .map(|r| {
            let l = text(&line, r);
            if !l.is_empty() {
                let key = address_key(l);
                let building = key.split(" #").next().unwrap_or("").trim();
                let (house, street) = match building.split_once(' ') {
                    Some((h, s)) if h.starts_with(|c: char| c.is_ascii_digit()) => (h, s),
                    _ => ("", building),
                };
                return AddressKeys {
                    address: hash_key(&key),
                    building: hash_key(building),
                    house: hash_key(house),
                    house_digits: national_digits(house),
                    street: street.to_string(),
                };
            }
            let (h, st) = (address_key(text(&house, r)), address_key(text(&street, r)));
            let building = format!("{h} {st}");
            let u = text(&unit, r);
            let full = if u.is_empty() {
                building.clone()
            } else if u.starts_with(|c: char| c.is_ascii_digit()) {
                format!("{building} # {u}")
            } else {
                format!("{building} {u}")
            };
            AddressKeys {
                address: hash_key(&address_key(&full)),
                building: hash_key(building.trim()),
                house: hash_key(&h),
                house_digits: national_digits(&h),
                street: st,
            }
        })
        .collect()
}

/// The records of a canonical CSV text, for the tests of the modules that compare them.
#[cfg(test)]
pub(crate) fn of_csv(csv: &str) -> Records {
    let snapshot = crate::load::load_bytes(
        csv.as_bytes().to_vec(),
        std::path::Path::new("register.csv"),
        &crate::profile::Profile::canonical(),
        &crate::load::NoProgress,
    )
    .expect("the test register loads")
    .snapshot;
    Records::from_snapshot(&snapshot)
}
