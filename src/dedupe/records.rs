//! The snapshot's identity fields, normalised once into one packed row of small integers per
//! record.
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

use super::interner::Interner;
use super::letters::Letters;
use super::phonetic::sound_key;
use crate::dates::civil_from_days;
use crate::model::Field;
use crate::normalize::{
    address_key, canonical_given, email_key, family_core_key, is_placeholder_birth_date,
    is_plain_name, name_key_cow, nickname_classes, ocr_key, phone_key,
};
use crate::snapshot::{judge_texts, FieldColumn, Judged, Snapshot};

/// Marks a missing birth date or year.
pub(crate) const NO_DATE: i32 = i32::MIN;

/// Distinct normalised names, id 0 being the missing name, with what the comparisons and
/// blocking keys read of each.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    strings: Interner,
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
    /// Letter counts per name ([`Letters`]), to rule out Jaro-Winkler without computing it.
    pub letters: Vec<Letters>,
}

impl NameTable {
    fn new() -> NameTable {
        let mut t = NameTable::default();
        t.describe("");
        t
    }

    fn intern(&mut self, key: &str) -> u32 {
        let id = self.strings.intern(key);
        if id as usize == self.sound.len() {
            self.describe(key);
        }
        id
    }

    /// Appends what is read of a new name.
    fn describe(&mut self, key: &str) {
        let canon = canonical_given(key);
        let prefix: String = canon.chars().take(3).collect();
        self.sound.push(sound_key(key));
        self.nick.push(nickname_classes(key));
        self.canon_prefix.push(if key.is_empty() {
            0
        } else {
            xxh3_64(prefix.as_bytes())
        });
        self.canon_initial.push(canon.bytes().next().unwrap_or(0));
        self.core.push(0);
        self.ocr.push(xxh3_64(ocr_key(key).as_bytes()));
        self.letters.push(Letters::of(key));
    }

    pub fn get(&self, id: u32) -> &str {
        self.strings.get(id)
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }
}

/// Normalised identity fields, one [`Row`] per snapshot row, with the tables its ids point
/// into.
#[derive(Debug)]
pub(crate) struct Records {
    pub names: NameTable,
    /// Distinct street keys, id 0 being the missing street.
    pub streets: Interner,
    pub rows: Vec<Row>,
    /// Occurrences of each name id as a given name / as a family name (term frequencies).
    pub given_count: Vec<u32>,
    pub family_count: Vec<u32>,
}

/// One record's normalised identity fields side by side. A candidate pair reads two of these
/// (two cache lines) instead of one value from each of nineteen columns at a random row: with
/// the pairs in row order, the second row of a pair is anywhere in the register, and the
/// comparisons spent most of their time waiting for memory. The records are held in this form
/// only: columns beside it doubled dedupe's working set (1.2 GB more at 10,000,000 voters).
///
/// The row is 96 bytes. Every field that is only ever compared for equality and takes few
/// values (places, suffix) is a 32-bit id ([`Codes`]), and a house number or national id of
/// digits only is kept as its digits ([`with_digits`]) rather than beside its hash: at
/// 100,000,000 voters the records were 17.6 GiB of dedupe's 22 GiB, 128 bytes a row of them
/// (session 26).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Row {
    /// Name ids into [`Records::names`], 0 missing.
    pub given: u32,
    pub middle: u32,
    pub family: u32,
    /// Street name key (`N OAK ST`) as an id into [`Records::streets`], 0 missing.
    pub street: u32,
    /// Birth date in days since 1970-01-01, or [`NO_DATE`] (placeholders included).
    pub birth: i32,
    /// Birth year (from the date, else the `birth_year` column), or [`NO_DATE`].
    pub year: i32,
    /// The birth date as the number YYYYMMDD, for the comparisons that read its parts
    /// (kept rather than taken from [`Row::birth`] on every candidate pair: 7% of the
    /// comparisons' `perf` samples at 10,000,000 voters went to that); [`NO_YMD`] when there
    /// is no birth date or its year is not of four digits.
    pub birth_ymd: u32,
    /// The normalised suffix (`JR`, `SR`, `II`...) as a [`Codes`] id, 0 missing.
    pub suffix: u32,
    /// The postcode (else the locality) as a [`Codes`] id, 0 missing: equal to
    /// [`Row::locality`] when it is the locality.
    pub area: u32,
    /// The locality as a [`Codes`] id, 0 missing.
    pub locality: u32,
    /// The electoral district as a [`Codes`] id, 0 missing.
    pub district: u32,
    /// First folded letter of the sex code, 0 missing.
    pub sex: u8,
    /// Hash of the full address key, 0 missing.
    pub address: u64,
    /// Hash of the address key before its unit designator (`12 OAK ST` of `12 OAK ST # 4`).
    pub building: u64,
    /// The house number ([`with_digits`]: its digits when it is a number, for the keying
    /// errors of the `street` level), 0 missing.
    pub house: u64,
    pub phone: u64,
    pub email: u64,
    /// The national id's key ([`national_id_key`]) [`with_digits`]: its digits when it is
    /// 1 to 15 digits (separators dropped), for the one-digit comparison.
    pub national_id: u64,
}

/// Marks a key of [`with_digits`] that is a number's digits, not a hash.
const DIGITS: u64 = 1 << 63;

/// A key that is `hash` (0: missing), or, when its text is a number of 1 to 15 digits,
/// those digits packed as `DIGITS | length << 56 | value` ([`digits_of`] reads them): one
/// value that is equal for two texts exactly when their hashes are (the digits and their
/// count name the text), and that still holds the digits for the keying-error comparisons.
/// A hash loses its top bit to the mark.
fn with_digits(hash: u64, text: &str) -> u64 {
    match (hash, packed_digits(text)) {
        (0, _) => 0,
        (_, 0) => (hash & !DIGITS).max(1),
        (_, digits) => DIGITS | digits,
    }
}

/// The digits of a key of [`with_digits`] as `length << 56 | value`, 0 when it is a hash.
pub(crate) fn digits_of(key: u64) -> u64 {
    if key & DIGITS == 0 {
        0
    } else {
        key & !DIGITS
    }
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

/// The digits of a number's text, separators dropped, as `length << 56 | value`; 0 when the
/// text holds anything else, no digit or more than 15 (see [`with_digits`]).
fn packed_digits(s: &str) -> u64 {
    let (mut len, mut value) = (0u64, 0u64);
    for b in s.bytes().filter(u8::is_ascii_alphanumeric) {
        if !b.is_ascii_digit() || len == 15 {
            return 0;
        }
        (len, value) = (len + 1, value * 10 + u64::from(b - b'0'));
    }
    if len == 0 {
        0
    } else {
        len << 56 | value
    }
}

fn suffix_key(s: &str) -> u64 {
    if s.is_empty() {
        return 0;
    }
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

/// What one row gives the sequential interning: the slots of its names in their fields'
/// [`NameKeys`] ([`Normalised::slot`]), its street key, and the hashes of its suffix, area,
/// locality and district ([`Codes`]).
struct RowKeys {
    given: u32,
    middle: u32,
    family: u32,
    street: String,
    codes: [u64; 4],
}

/// Rows normalised in parallel before their strings are interned in row order: the strings of
/// a whole register (five per row) would be a transient gigabyte at 10,000,000 voters.
const CHUNK_ROWS: usize = 1 << 18;

impl Records {
    pub fn from_snapshot(snapshot: &Snapshot) -> Records {
        Records::from_snapshots(&[snapshot])
    }

    /// The rows of several snapshots, one part after the other, in one id space (names
    /// interned once): a death registry after the register it is linked to.
    pub fn from_snapshots(parts: &[&Snapshot]) -> Records {
        let mut records = RecordsBuilder::with_capacity(parts.iter().map(|p| p.rows()).sum());
        for part in parts {
            records.add(part);
        }
        records.finish()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }
}

/// [`Records`] built a part at a time, in one id space: a register read a window at a time
/// (`super::Windows`) is never held whole, and its records are the ones the whole snapshot
/// gives, because names and streets are interned in row order either way.
pub(crate) struct RecordsBuilder {
    rows: Vec<Row>,
    names: NameTable,
    streets: Interner,
    codes: Codes,
}

impl RecordsBuilder {
    /// Room for `rows` records: the rows of a register of 10,000,000 are 1.4 GB, and growing
    /// the vector by doubling would hold up to twice that. Only asked for, not required: a
    /// file's metadata may declare more rows than memory can take (or than it holds), and the
    /// room that cannot be had grows as the rows come instead of aborting before any is read.
    pub fn with_capacity(rows: usize) -> RecordsBuilder {
        let mut room = Vec::new();
        // A failure leaves the vector empty, to grow as rows are added.
        let _ = room.try_reserve_exact(rows);
        super::pages::advise_huge(&room);
        RecordsBuilder {
            rows: room,
            names: NameTable::new(),
            streets: Interner::default(),
            codes: Codes::default(),
        }
    }

    /// Appends the records of `part`, after those added before.
    pub fn add(&mut self, part: &Snapshot) {
        let RecordsBuilder {
            rows,
            names,
            streets,
            codes,
        } = self;
        let at = rows.len();
        let room = rows.capacity();
        rows.resize(at + part.rows(), Row::default());
        if rows.capacity() != room {
            super::pages::advise_huge(rows);
        }
        let part_rows = &mut rows[at..];
        let keys =
            [Field::GivenName, Field::MiddleName, Field::FamilyName].map(|f| name_keys(part, f));
        let normalise = normaliser(part, &keys);
        let mut ids = keys.each_ref().map(NameIds::of);
        // Each chunk is normalised on every core while the one before it is interned (in
        // row order, on one thread): interning alone left a core idle for about a tenth of
        // dedupe (perf, 1,000,000 rows).
        let mut chunks = part_rows.chunks_mut(CHUNK_ROWS).enumerate();
        let mut pending: Option<(&mut [Row], Vec<RowKeys>)> = None;
        loop {
            let next = chunks.next();
            if next.is_none() && pending.is_none() {
                break;
            }
            let normalised = || {
                next.map(|(c, chunk)| {
                    let keys: Vec<RowKeys> = chunk
                        .par_iter_mut()
                        .enumerate()
                        .map(|(i, row)| normalise(c * CHUNK_ROWS + i, row))
                        .collect();
                    (chunk, keys)
                })
            };
            let intern = || {
                if let Some((chunk, rows)) = pending.take() {
                    let tables = Tables {
                        names,
                        streets,
                        codes,
                    };
                    intern_keys(chunk, rows, &keys, &mut ids, tables);
                }
            };
            pending = rayon::join(normalised, intern).0;
        }
    }

    /// The records added, with the term frequencies of their names.
    pub fn finish(self) -> Records {
        let RecordsBuilder {
            rows,
            names,
            streets,
            ..
        } = self;
        let mut given_count = vec![0u32; names.len()];
        let mut family_count = vec![0u32; names.len()];
        for row in &rows {
            given_count[row.given as usize] += 1;
            family_count[row.family as usize] += 1;
        }
        given_count[0] = 0;
        family_count[0] = 0;
        Records {
            names,
            streets,
            rows,
            given_count,
            family_count,
        }
    }
}

/// The tables [`intern_keys`] adds to.
struct Tables<'a> {
    names: &'a mut NameTable,
    streets: &'a mut Interner,
    codes: &'a mut Codes,
}

/// Sets a chunk's name, street and code ids from its normalised strings and hashes, in row
/// order (ids are given in first-seen order).
fn intern_keys(
    chunk: &mut [Row],
    rows: Vec<RowKeys>,
    [given, middle, family]: &[NameKeys; 3],
    [given_ids, middle_ids, family_ids]: &mut [NameIds; 3],
    tables: Tables<'_>,
) {
    let Tables {
        names,
        streets,
        codes,
    } = tables;
    for (row, k) in chunk.iter_mut().zip(rows) {
        row.given = given_ids.id(given, names, k.given);
        row.middle = middle_ids.id(middle, names, k.middle);
        row.family = family_ids.id(family, names, k.family);
        row.street = streets.intern(&k.street);
        [row.suffix, row.area, row.locality, row.district] = k.codes.map(|h| codes.id(h));
    }
}

/// Ids for the hashed keys of the fields that take few values and are only compared for
/// equality (suffix, postcode, locality, district), so that a [`Row`] holds 4 bytes of each,
/// not 8: the hash 0 (missing) is id 0, and the others are numbered from 1 in first-seen
/// order. Two keys share an id exactly when they share a hash, in one id space for all four
/// fields, so that an area that is its locality has the locality's id.
#[derive(Default)]
struct Codes(HashMap<u64, u32, foldhash::fast::RandomState>);

impl Codes {
    fn id(&mut self, hash: u64) -> u32 {
        if hash == 0 {
            return 0;
        }
        let next = self.0.len() as u32 + 1;
        *self.0.entry(hash).or_insert(next)
    }
}

/// A name field's keys ([`name_key_cow`]) and, for a family name that is not one plain word,
/// the key of its core (particles dropped), per distinct name where the column is coded.
type NameKeys = Normalised<(Box<str>, Option<Box<str>>)>;

fn name_keys(s: &Snapshot, field: Field) -> NameKeys {
    let family = field == Field::FamilyName;
    Normalised::of(s, field, |t| {
        let core = (family && !is_plain_name(t)).then(|| family_core_key(t).into());
        Some((name_key_cow(t).into(), core))
    })
}

/// The name id of each slot of a field's [`NameKeys`] ([`Normalised::slot`]), interned at the
/// slot's first row: a coded column is interned once per distinct name, not once per row.
struct NameIds {
    /// [`UNSEEN`] until the slot's first row.
    ids: Vec<u32>,
    /// The core's id, where the core is a name of its own, else [`UNSEEN`].
    cores: Vec<u32>,
}

/// A [`NameIds`] slot not interned yet, or a name without a core of its own.
const UNSEEN: u32 = u32::MAX;

impl NameIds {
    fn of(keys: &NameKeys) -> NameIds {
        NameIds {
            ids: vec![UNSEEN; keys.slots()],
            cores: vec![UNSEEN; keys.slots()],
        }
    }

    /// The name id of a row whose name is in `slot` of `keys`; the core (interned after the
    /// name) recorded as the name's on every such row, as the last row's core is the one kept.
    fn id(&mut self, keys: &NameKeys, names: &mut NameTable, slot: u32) -> u32 {
        let slot = slot as usize;
        if self.ids[slot] == UNSEEN {
            let (key, core) = keys
                .value(slot)
                .map_or(("", None), |(k, c)| (&**k, c.as_deref()));
            let id = names.intern(key);
            self.ids[slot] = id;
            if let Some(core) = core.filter(|&c| !c.is_empty() && names.get(id) != c) {
                self.cores[slot] = names.intern(core);
            }
        }
        let id = self.ids[slot];
        if self.cores[slot] != UNSEEN {
            names.core[id as usize] = self.cores[slot];
        }
        id
    }
}

/// A text field of one snapshot normalised by `f` once per distinct value where the column is
/// coded ([`judge_texts`]), else once per row: names and places repeat from record to record,
/// and reading (through the string mapping), normalising and interning each row's names, sex,
/// suffix and places was about half of this step at 10,000,000 voters (`perf`, 2026-12-06).
/// `f` is given the trimmed text; a row without one has `f("")`.
struct Normalised<V> {
    judged: Judged<V>,
    missing: Option<V>,
}

impl<V: Send> Normalised<V> {
    fn of(s: &Snapshot, field: Field, f: impl Fn(&str) -> Option<V> + Sync) -> Normalised<V> {
        let judged = match s.column(field) {
            Some(column) => judge_texts(column, s.rows(), |v| f(v.trim())),
            None => Judged::none(),
        };
        Normalised {
            judged,
            missing: f(""),
        }
    }
}

impl<V> Normalised<V> {
    /// Row `row`'s value.
    fn at(&self, row: usize) -> Option<&V> {
        self.judged.at(row).or(self.missing.as_ref())
    }

    /// Where row `row`'s value is held: one slot per distinct value (per row where the column
    /// is not coded), and a last one for `f("")`.
    fn slot(&self, row: usize) -> u32 {
        self.judged.index(row).unwrap_or(self.judged.verdicts.len()) as u32
    }

    fn slots(&self) -> usize {
        self.judged.verdicts.len() + 1
    }

    fn value(&self, slot: usize) -> Option<&V> {
        self.judged.verdicts.get(slot).or(self.missing.as_ref())
    }
}

/// A place's key: [`hash_key`] of its [`address_key`].
fn place_key(text: &str) -> u64 {
    hash_key(&address_key(text))
}

/// For one snapshot, the function that sets a row's hashed and numeric fields and returns
/// what it gives the interning.
fn normaliser<'a>(
    s: &'a Snapshot,
    names: &'a [NameKeys; 3],
) -> impl Fn(usize, &mut Row) -> RowKeys + Sync + 'a {
    let col = |f: Field| s.column(f);
    let suffix = Normalised::of(s, Field::NameSuffix, |t| Some(suffix_key(t)));
    let sex = Normalised::of(s, Field::Sex, |t| {
        Some(
            t.chars()
                .find_map(crate::normalize::fold_letter)
                .map_or(0, |f| f.as_bytes()[0]),
        )
    });
    let (date, year) = (col(Field::BirthDate), col(Field::BirthYear));
    let address = AddressColumns::of(s);
    let postcode = Normalised::of(s, Field::Postcode, |t| {
        (!t.is_empty()).then(|| place_key(t))
    });
    let [locality, district] =
        [Field::Locality, Field::District].map(|f| Normalised::of(s, f, |t| Some(place_key(t))));
    let (phone, email, national_id) =
        (col(Field::Phone), col(Field::Email), col(Field::NationalId));
    move |r, row| {
        let key = |n: &Normalised<u64>| n.at(r).copied().unwrap_or_default();
        (row.birth, row.year) = birth_of(&date, &year, r);
        row.birth_ymd = ymd_of(row.birth);
        row.sex = sex.at(r).copied().unwrap_or_default();
        let a = address.keys(r);
        (row.address, row.building, row.house) = (a.address, a.building, a.house);
        row.phone = phone_key(text(&phone, r)).map_or(0, |p| p.max(1));
        row.email = email_key(text(&email, r)).map_or(0, |e| hash_key(&e));
        let id = text(&national_id, r);
        row.national_id = with_digits(national_id_key(id), id);
        let [given, middle, family] = names;
        RowKeys {
            given: given.slot(r),
            middle: middle.slot(r),
            family: family.slot(r),
            street: a.street,
            codes: [
                key(&suffix),
                postcode.at(r).copied().unwrap_or_else(|| key(&locality)),
                key(&locality),
                key(&district),
            ],
        }
    }
}

/// Row `r`'s birth date and year ([`Row::birth`], [`Row::year`]).
fn birth_of(
    date: &Option<FieldColumn<'_>>,
    year: &Option<FieldColumn<'_>>,
    r: usize,
) -> (i32, i32) {
    let birth = date
        .as_ref()
        .and_then(|c| c.day(r))
        .filter(|&d| !is_placeholder_birth_date(d))
        .unwrap_or(NO_DATE);
    let year = match birth {
        NO_DATE => year
            .as_ref()
            .and_then(|c| c.day(r))
            .filter(|&y| y >= 1900)
            .unwrap_or(NO_DATE),
        d => civil_from_days(d).0,
    };
    (birth, year)
}

/// [`Row::birth_ymd`] of a birth date (or [`NO_DATE`]).
pub(crate) fn ymd_of(days: i32) -> u32 {
    if days == NO_DATE {
        return NO_YMD;
    }
    match civil_from_days(days) {
        (y @ 0..=9999, m, d) => y as u32 * 10_000 + m * 100 + d,
        _ => NO_YMD,
    }
}

/// [`Row::birth_ymd`] of a row without a birth date, or one whose year is not of four digits.
pub(crate) const NO_YMD: u32 = u32::MAX;

/// One row's address keys.
struct AddressKeys {
    address: u64,
    building: u64,
    /// [`with_digits`].
    house: u64,
    street: String,
}

/// The columns a row's address keys are made of.
struct AddressColumns<'a> {
    line: Option<FieldColumn<'a>>,
    house: Option<FieldColumn<'a>>,
    street: Option<FieldColumn<'a>>,
    unit: Option<FieldColumn<'a>>,
}

impl<'a> AddressColumns<'a> {
    fn of(s: &'a Snapshot) -> AddressColumns<'a> {
        AddressColumns {
            line: s.column(Field::AddressLine),
            house: s.column(Field::HouseNumber),
            street: s.column(Field::Street),
            unit: s.column(Field::Unit),
        }
    }

    /// Row `r`'s address keys: `address_line` when present (the building being the line
    /// before its unit designator, the house number its first word when that starts with a
    /// digit, the street the rest), else house number, street and unit joined (the building
    /// being house number and street: a unit written as a name, such as FEBRL's `address_2`
    /// property names, has no designator to cut at).
    fn keys(&self, r: usize) -> AddressKeys {
        let l = text(&self.line, r);
        if !l.is_empty() {
            // The key's words are joined by single spaces, with none at either end.
            let mut key = address_key(l);
            let building_len = key.find(" #").unwrap_or(key.len());
            let building = &key[..building_len];
            let (house, street_at) = match building.split_once(' ') {
                Some((h, _)) if h.starts_with(|c: char| c.is_ascii_digit()) => (h, h.len() + 1),
                _ => ("", 0),
            };
            let keys = AddressKeys {
                address: hash_key(&key),
                building: hash_key(building),
                house: with_digits(hash_key(house), house),
                street: String::new(),
            };
            // The street is cut from the key in place: a copy per row was a sixth of this
            // step at 10,000,000 voters (perf, session 22).
            key.truncate(building_len);
            key.drain(..street_at);
            return AddressKeys {
                street: key,
                ..keys
            };
        }
        let (h, st) = (
            address_key(text(&self.house, r)),
            address_key(text(&self.street, r)),
        );
        let building = format!("{h} {st}");
        let u = text(&self.unit, r);
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
            house: with_digits(hash_key(&h), &h),
            street: st,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::{digits_of, hash_key, national_id_key, with_digits, Row};
    use proptest::prelude::*;

    #[test]
    fn a_row_is_96_bytes() {
        assert_eq!(std::mem::size_of::<Row>(), 96);
    }

    #[test]
    fn a_key_with_digits_keeps_a_number_and_its_length() {
        let house = |t: &str| with_digits(hash_key(t), t);
        assert_eq!(digits_of(house("68")), 2 << 56 | 68);
        assert_eq!(digits_of(house("012")), 3 << 56 | 12);
        assert_ne!(house("012"), house("12"));
        assert_eq!(digits_of(house("12B")), 0, "not a number: a hash");
        assert_ne!(house("12B"), 0);
        assert_eq!(house(""), 0);
        assert_eq!(digits_of(house("1234567890123456")), 0, "16 digits: a hash");
        let id = |t: &str| with_digits(national_id_key(t), t);
        assert_eq!(digits_of(id("123-45-678")), 8 << 56 | 12_345_678);
        assert_eq!(id("000000000"), 0, "a placeholder stays missing");
    }

    proptest! {
        /// Two national ids' keys with their digits are equal exactly when their hashed keys
        /// are.
        #[test]
        fn keys_with_digits_are_equal_as_their_hashes_are(a in "[0-9A-C -]{0,17}", b in "[0-9A-C -]{0,17}") {
            let (ha, hb) = (national_id_key(&a), national_id_key(&b));
            prop_assert_eq!(with_digits(ha, &a) == with_digits(hb, &b), ha == hb);
        }
    }
}
