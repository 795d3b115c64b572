//! Agreement levels: how far two records agree on each identity field.
//!
//! A candidate pair is reduced to one [`Pattern`]: a level per [`Comparison`] (or missing,
//! when either side lacks the value), packed four bits each into a `u64`. Fellegi-Sunter
//! weights attach to levels, so the pattern is all the model ever sees; EM runs on the
//! distinct patterns and their counts, not on the pairs.
//!
//! Levels are ordered from strongest agreement to disagreement. Thresholds:
//!
//! - Names: `exact` (same normalised key), `one_edit` (one letter replaced, inserted, dropped,
//!   or two adjacent letters swapped, but not the first letter replaced, in names of at least
//!   [`ONE_EDIT_MIN_LEN`] letters: keying and OCR errors, which two people's names rarely
//!   are), `close` (Jaro-Winkler >= [`JW_CLOSE`], or the same nickname class, or the same
//!   sound key, or the same OCR key, or, for family names, the same name once particles are
//!   dropped), `similar` (Jaro-Winkler >= [`JW_SIMILAR`]), `different`.
//!   0.92 and 0.80 are the cut-offs Splink's default name comparisons use (its
//!   `NameComparison`: 0.92 and 0.88/0.7 bands); Winkler (RR 1990/02) reports that pairs of
//!   true matches on names rarely fall below 0.8.
//! - Birth date: `exact`; `transposed` (day and month swapped, the commonest date error of
//!   forms filled in on both sides of the Atlantic); `one_digit` (one digit of YYYYMMDD
//!   differs: a keying error); `year` (same year only); `different`; missing when either
//!   side lacks a full date.
//! - Birth year: `exact`, `different`, compared only when either side has a year but no full
//!   date (registers such as North Carolina's publish the year alone): a shared year is the
//!   best agreement such a pair can have, and must not count as the weak `year` level of two
//!   full dates.
//! - Address: `exact` (normalised address line), `building` (same line before the unit),
//!   `street` (the street names spelt alike, Jaro-Winkler >= [`JW_CLOSE`], and the house
//!   numbers not different but for a keying error, one digit or two swapped: a typo in the
//!   street or the number, or a unit added), `postcode_and_locality`
//!   (both agree: two fields, where `area` is one), `area` (same postcode, else same
//!   locality), `locality` (same locality, another postcode:
//!   most people who move stay in their town; on generated registers 38% of the duplicates
//!   that moved, against 6% of random pairs), `district` (same electoral district, another
//!   locality: a move across town or to the next one; in the US about two moves in three
//!   stay in the county, Census CPS), `different`. Two records with no address part but a
//!   district are compared on the district alone.
//! - Middle name: `exact`, `initial` (one is the other's initial, or Jaro-Winkler >= 0.92),
//!   `different`.
//! - National id: `exact`, `one_digit` (one digit mistyped or two adjacent digits swapped,
//!   in ids of digits only: 17% of FEBRL's duplicate pairs had such an id), `different`.
//! - Sex, phone, email, name suffix: `agree` / `different`.
//!
//! Swapped names (given and family written in each other's place) are compared crosswise
//! when both straight comparisons fail and either the crosswise sound keys agree or one
//! crosswise name is exact (a swap with a typo in, or a replacement of, the other name);
//! the pattern then carries the swapped bit and the crosswise levels.

use super::letters::ONE_EDIT_MIN_LEN;
use super::memo::NameMemo;
use super::records::{digits_of, NameTable, Records, Row, NO_DATE, NO_YMD};
use crate::dates::civil_from_days;

pub use super::jaro::jaro_winkler;

/// Jaro-Winkler at or above which two names are `close` (see the module docs).
pub const JW_CLOSE: f64 = 0.92;
/// Jaro-Winkler at or above which two names are `similar`.
pub const JW_SIMILAR: f64 = 0.80;
// `Letters::surely_below_similar` is an integer form of this threshold.
const _: () = assert!(JW_SIMILAR == 0.80);

/// The level of a comparison when either side is missing: it contributes no weight.
pub const MISSING: u8 = 15;

/// A compared identity field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Comparison {
    GivenName,
    FamilyName,
    MiddleName,
    BirthDate,
    Sex,
    Address,
    Phone,
    Email,
    NationalId,
    NameSuffix,
    BirthYear,
}

impl Comparison {
    pub const ALL: [Comparison; 11] = [
        Comparison::GivenName,
        Comparison::FamilyName,
        Comparison::MiddleName,
        Comparison::BirthDate,
        Comparison::Sex,
        Comparison::Address,
        Comparison::Phone,
        Comparison::Email,
        Comparison::NationalId,
        Comparison::NameSuffix,
        Comparison::BirthYear,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Comparison::GivenName => "given_name",
            Comparison::FamilyName => "family_name",
            Comparison::MiddleName => "middle_name",
            Comparison::BirthDate => "birth_date",
            Comparison::Sex => "sex",
            Comparison::Address => "address",
            Comparison::Phone => "phone",
            Comparison::Email => "email",
            Comparison::NationalId => "national_id",
            Comparison::NameSuffix => "name_suffix",
            Comparison::BirthYear => "birth_year",
        }
    }

    /// Level names, strongest agreement first; a level is an index into this list.
    pub const fn levels(self) -> &'static [&'static str] {
        match self {
            Comparison::GivenName | Comparison::FamilyName => {
                &["exact", "one_edit", "close", "similar", "different"]
            }
            Comparison::MiddleName => &["exact", "initial", "different"],
            Comparison::BirthDate => &["exact", "transposed", "one_digit", "year", "different"],
            Comparison::Address => &[
                "exact",
                "building",
                "street",
                "postcode_and_locality",
                "area",
                "locality",
                "district",
                "different",
            ],
            Comparison::Sex | Comparison::NameSuffix => &["agree", "different"],
            Comparison::NationalId => &["exact", "one_digit", "different"],
            Comparison::Phone | Comparison::Email | Comparison::BirthYear => {
                &["exact", "different"]
            }
        }
    }

    /// The first of the levels that disagree: the last level, except for the address, whose
    /// `district` level (another street, postcode and locality, in the same district) grades
    /// the disagreement. A coarse level can be rarer among duplicates than among random pairs
    /// (a register of a few large districts, and moves between them), and
    /// `constraints::sane_ratios` must not lift it to weight 0 as it
    /// lifts a weak agreement: the mass would come from `different`, until a pair in two
    /// districts weighed -12 bits (seen with a `region` level on generated registers).
    pub fn disagreement(self) -> usize {
        match self {
            Comparison::Address => 6,
            _ => self.levels().len() - 1,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name of `level`, `missing` for [`MISSING`].
    pub fn level_name(self, level: u8) -> &'static str {
        self.levels()
            .get(level as usize)
            .copied()
            .unwrap_or("missing")
    }
}

/// Name levels.
pub(crate) const EXACT: u8 = 0;
pub(crate) const ONE_EDIT: u8 = 1;
pub(crate) const CLOSE: u8 = 2;
pub(crate) const SIMILAR: u8 = 3;
pub(crate) const DIFFERENT_NAME: u8 = 4;

/// The middle-name level of two names neither of which is the other's initial or a close
/// spelling of it.
pub(crate) const DIFFERENT_MIDDLE: u8 = 2;
/// The national id level of two ids that differ beyond a keying error.
pub(crate) const DIFFERENT_ID: u8 = 2;
/// The birth-date level of two dates that differ beyond a transposition or one digit, in
/// different years.
pub(crate) const DIFFERENT_DATE: u8 = 4;

/// A pair's levels, four bits per comparison in [`Comparison::ALL`] order, and bit 63 set
/// when the names were compared crosswise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern(pub u64);

const SWAPPED_BIT: u64 = 1 << 63;

/// A [`Pattern`] in 32 bits, as `sweep::compare_all` keeps one for every candidate pair: each
/// comparison's level (or, for [`MISSING`], one past its last level) in the fewest bits that
/// hold it, 27 in all, and the swapped bit on top. At 10,000,000 voters the 133M candidates'
/// patterns took 1 GB as [`Pattern`]s, at the dedupe's memory peak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Packed(pub(crate) u32);

/// Bits of each comparison's field in a [`Packed`] pattern, in [`Comparison::ALL`] order.
const PACKED_BITS: [u32; 11] = {
    let mut bits = [0; 11];
    let mut i = 0;
    while i < 11 {
        // Levels 0..n and the missing value n: the bits of n.
        bits[i] = usize::BITS - Comparison::ALL[i].levels().len().leading_zeros();
        i += 1;
    }
    bits
};

const PACKED_SWAPPED: u32 = 1 << 31;

const _: () = {
    let (mut total, mut i) = (0, 0);
    while i < 11 {
        total += PACKED_BITS[i];
        i += 1;
    }
    assert!(total < 32, "the levels and the swapped bit fit in 32 bits");
};

impl Packed {
    pub fn pack(p: Pattern) -> Packed {
        let (mut bits, mut at) = (if p.swapped() { PACKED_SWAPPED } else { 0 }, 0);
        for (c, width) in Comparison::ALL.into_iter().zip(PACKED_BITS) {
            let n = c.levels().len() as u8;
            let level = p.level(c);
            debug_assert!(level < n || level == MISSING, "{c:?} level {level}");
            bits |= u32::from(if level == MISSING { n } else { level }) << at;
            at += width;
        }
        Packed(bits)
    }

    /// The levels alone, as [`Pattern::levels_only`].
    pub fn levels_only(self) -> Packed {
        Packed(self.0 & !PACKED_SWAPPED)
    }

    /// Whether comparison `c` is at level 0 (exact), read without unpacking the rest.
    pub fn exact(self, c: Comparison) -> bool {
        let at: u32 = PACKED_BITS[..c.index()].iter().sum();
        (self.0 >> at) & ((1 << PACKED_BITS[c.index()]) - 1) == 0
    }

    pub fn unpack(self) -> Pattern {
        let (mut levels, mut at) = ([0u8; 11], 0);
        for ((c, width), level) in Comparison::ALL
            .into_iter()
            .zip(PACKED_BITS)
            .zip(&mut levels)
        {
            let v = ((self.0 >> at) & ((1 << width) - 1)) as u8;
            *level = if usize::from(v) == c.levels().len() {
                MISSING
            } else {
                v
            };
            at += width;
        }
        Pattern::from_levels(&levels, self.0 & PACKED_SWAPPED != 0)
    }
}

impl Pattern {
    pub fn level(self, c: Comparison) -> u8 {
        ((self.0 >> (4 * c.index())) & 0xF) as u8
    }

    pub fn swapped(self) -> bool {
        self.0 & SWAPPED_BIT != 0
    }

    /// The levels alone (what the model is estimated on).
    pub fn levels_only(self) -> Pattern {
        Pattern(self.0 & !SWAPPED_BIT)
    }

    pub(crate) fn from_levels(levels: &[u8; 11], swapped: bool) -> Pattern {
        let mut p = if swapped { SWAPPED_BIT } else { 0 };
        for (i, &l) in levels.iter().enumerate() {
            p |= u64::from(l) << (4 * i);
        }
        Pattern(p)
    }
}

fn name_level(names: &NameTable, a: u32, b: u32, given: bool) -> u8 {
    if a == 0 || b == 0 {
        return MISSING;
    }
    if a == b {
        return EXACT;
    }
    let (ai, bi) = (a as usize, b as usize);
    // The letter counts rule out most pairs before their texts are read.
    let (la, lb) = (names.letters[ai], names.letters[bi]);
    if !la.surely_not_one_edit(lb)
        && one_edit_apart(names.get(a).as_bytes(), names.get(b).as_bytes())
    {
        return ONE_EDIT;
    }
    if names.sound[ai] == names.sound[bi] || names.ocr[ai] == names.ocr[bi] {
        return CLOSE;
    }
    if given && names.nick[ai] & names.nick[bi] != 0 {
        return CLOSE;
    }
    if !given {
        let (ca, cb) = (names.core[ai], names.core[bi]);
        if ca == b || cb == a || (ca != 0 && ca == cb) {
            return CLOSE;
        }
    }
    if la.surely_below_similar(lb) {
        return DIFFERENT_NAME;
    }
    let jw = jaro_winkler(names.get(a), names.get(b));
    if jw >= JW_CLOSE {
        CLOSE
    } else if jw >= JW_SIMILAR {
        SIMILAR
    } else {
        DIFFERENT_NAME
    }
}

/// Whether two different names are one keystroke apart (one letter replaced, inserted,
/// dropped, or two adjacent letters swapped: the optimal-string-alignment distance is 1),
/// the shorter having at least [`ONE_EDIT_MIN_LEN`] bytes, and not only their first letters
/// replaced: typing errors in the first letter are the rarest (Pollock and Zamora, CACM
/// 1984, the reason for Winkler's prefix weight), and names that differ there are usually
/// two names (MASON and JASON, twins of a generated register of 10,000,000 that this level
/// merged until the first letter was left out).
fn one_edit_apart(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() < ONE_EDIT_MIN_LEN || long.len() - short.len() > 1 || a == b {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let (s, l) = (&short[prefix..], &long[prefix..]);
    if short.len() < long.len() {
        return s == &l[1..];
    }
    (prefix > 0 && s[1..] == l[1..])
        || (s.len() >= 2 && s[0] == l[1] && s[1] == l[0] && s[2..] == l[2..])
}

fn middle_level(names: &NameTable, a: u32, b: u32) -> u8 {
    if a == 0 || b == 0 {
        return MISSING;
    }
    if a == b {
        return 0;
    }
    let (x, y) = (names.get(a), names.get(b));
    let initial = (x.len() == 1 || y.len() == 1) && x.as_bytes()[0] == y.as_bytes()[0];
    if initial || jaro_winkler(x, y) >= JW_CLOSE {
        1
    } else {
        DIFFERENT_MIDDLE
    }
}

/// A birth date's year, month, day and YYYYMMDD number (for the one-digit test): kept in the
/// row ([`Row::birth_ymd`]) for four-digit years, else computed.
fn ymd(row: &Row) -> (i32, u32, u32, u32) {
    match row.birth_ymd {
        NO_YMD => {
            let (y, m, d) = civil_from_days(row.birth);
            (y, m, d, (y.clamp(0, 9999) as u32) * 10_000 + m * 100 + d)
        }
        n => ((n / 10_000) as i32, n / 100 % 100, n % 100, n),
    }
}

fn one_digit_apart(mut a: u32, mut b: u32) -> bool {
    let mut differing = 0;
    for _ in 0..8 {
        differing += u32::from(a % 10 != b % 10);
        a /= 10;
        b /= 10;
    }
    differing == 1
}

fn birth_level(a: &Row, b: &Row) -> u8 {
    let (da, db) = (a.birth, b.birth);
    if da != NO_DATE && db != NO_DATE {
        if da == db {
            return 0;
        }
        let (ya, ma, dda, na) = ymd(a);
        let (yb, mb, ddb, nb) = ymd(b);
        return if ya == yb && ma == ddb && dda == mb {
            1
        } else if one_digit_apart(na, nb) {
            2
        } else if ya == yb {
            3
        } else {
            DIFFERENT_DATE
        };
    }
    MISSING
}

/// Birth years, compared only when either side lacks a full date (else the birth date says
/// it all): `exact` or `different`.
fn year_level(a: &Row, b: &Row) -> u8 {
    if a.birth != NO_DATE && b.birth != NO_DATE {
        return MISSING;
    }
    match (a.year, b.year) {
        (NO_DATE, _) | (_, NO_DATE) => MISSING,
        (ya, yb) if ya == yb => 0,
        _ => 1,
    }
}

/// Whether the two rows name one street spelt alike (Jaro-Winkler >= [`JW_CLOSE`] on the
/// street keys) with house numbers that do not disagree but for a keying error (one digit,
/// or two adjacent digits swapped: FEBRL 4's `68` and `86`, as for national ids).
fn same_street(r: &Records, a: &Row, b: &Row) -> bool {
    let (sa, sb) = (a.street, b.street);
    let (ha, hb) = (a.house, b.house);
    sa != 0
        && sb != 0
        && (ha == hb || ha == 0 || hb == 0 || one_keying_error(digits_of(ha), digits_of(hb)))
        && (sa == sb || jaro_winkler(r.streets.get(sa), r.streets.get(sb)) >= JW_CLOSE)
}

fn address_level(r: &Records, a: &Row, b: &Row) -> u8 {
    let addresses = a.address != 0 && b.address != 0;
    if addresses {
        if a.address == b.address {
            return 0;
        }
        if a.building != 0 && a.building == b.building {
            return 1;
        }
        if same_street(r, a, b) {
            return 2;
        }
    }
    let areas = a.area != 0 && b.area != 0;
    let localities = a.locality != 0 && a.locality == b.locality;
    if areas && a.area == b.area {
        // The area is the postcode when there is one (then it differs from the locality).
        let postcode = a.area != a.locality;
        if postcode && localities {
            3
        } else {
            4
        }
    } else if localities {
        5
    } else if a.district != 0 && a.district == b.district {
        6
    } else if addresses || areas || (a.district != 0 && b.district != 0) {
        7
    } else {
        MISSING
    }
}

/// National ids: `exact`; `one_digit` (ids of digits only, of one length, differing in one
/// digit or in two adjacent digits swapped: the keying errors of a copied number); else
/// `different`.
fn id_level(a: &Row, b: &Row) -> u8 {
    match equal_level(&a.national_id, &b.national_id) {
        1 if one_keying_error(digits_of(a.national_id), digits_of(b.national_id)) => 1,
        1 => DIFFERENT_ID,
        level => level,
    }
}

/// Whether two packed digit strings (see `records::digits_of`) of one length differ
/// in one digit or by one swap of adjacent digits.
fn one_keying_error(a: u64, b: u64) -> bool {
    let len = a >> 56;
    if a == 0 || b == 0 || len != b >> 56 {
        return false;
    }
    let mask = (1u64 << 56) - 1;
    let (mut x, mut y) = (a & mask, b & mask);
    // The differing positions, as (position, digit of a, digit of b); at most two matter.
    let mut diffs = [(0u64, 0u64, 0u64); 2];
    let mut count = 0;
    for position in 0..len {
        let (dx, dy) = (x % 10, y % 10);
        if dx != dy {
            if count == 2 {
                return false;
            }
            diffs[count] = (position, dx, dy);
            count += 1;
        }
        x /= 10;
        y /= 10;
    }
    let [(p, x1, y1), (q, x2, y2)] = diffs;
    match count {
        1 => true,
        2 => q - p == 1 && x1 == y2 && x2 == y1,
        _ => false,
    }
}

fn equal_level<T: PartialEq + Default>(x: &T, y: &T) -> u8 {
    if *x == T::default() || *y == T::default() {
        MISSING
    } else if x == y {
        0
    } else {
        1
    }
}

/// The pattern of the pair (`a`, `b`) of rows.
pub(crate) fn compare(r: &Records, a: usize, b: usize) -> Pattern {
    compare_rows(r, &r.rows[a], &r.rows[b], &mut NameMemo::none())
}

/// The pattern of two rows of `r`, the levels of name pairs remembered in `memo`.
pub(super) fn compare_rows(r: &Records, a: &Row, b: &Row, memo: &mut NameMemo) -> Pattern {
    let names = &r.names;
    let mut name = |a: u32, b: u32, given: bool| {
        memo.level(u8::from(given), a, b, || name_level(names, a, b, given))
    };
    let mut given = name(a.given, b.given, true);
    let mut family = name(a.family, b.family, false);
    let mut swapped = false;
    if given >= SIMILAR && family >= SIMILAR && given != MISSING && family != MISSING {
        let (ga, fa, gb, fb) = (a.given, a.family, b.given, b.family);
        let sound = |x: u32| names.sound[x as usize];
        let (cross_given, cross_family) = (name(ga, fb, false), name(fa, gb, false));
        let one_exact = cross_given.min(cross_family) == EXACT;
        if (sound(ga) == sound(fb) && sound(fa) == sound(gb)) || one_exact {
            (given, family, swapped) = (cross_given, cross_family, true);
        }
    }
    let levels = [
        given,
        family,
        memo.level(2, a.middle, b.middle, || {
            middle_level(names, a.middle, b.middle)
        }),
        birth_level(a, b),
        equal_level(&a.sex, &b.sex),
        address_level(r, a, b),
        equal_level(&a.phone, &b.phone),
        equal_level(&a.email, &b.email),
        id_level(a, b),
        equal_level(&a.suffix, &b.suffix),
        year_level(a, b),
    ];
    Pattern::from_levels(&levels, swapped)
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// Packing keeps every level, missing ones included, and the swapped bit: what
        /// `compare_all` stores is what `compare` returned; the levels and exact levels read
        /// from the packed form are the pattern's.
        #[test]
        fn packed_patterns_unpack_to_themselves(
            picks in proptest::collection::vec(0u8..16, 11),
            swapped: bool,
        ) {
            let mut levels = [0u8; 11];
            for ((level, pick), c) in levels.iter_mut().zip(&picks).zip(Comparison::ALL) {
                let n = c.levels().len() as u8;
                // One in n + 1 missing; the others a level of the comparison.
                *level = match pick % (n + 1) {
                    m if m == n => MISSING,
                    l => l,
                };
            }
            let pattern = Pattern::from_levels(&levels, swapped);
            let packed = Packed::pack(pattern);
            proptest::prop_assert_eq!(packed.unpack(), pattern);
            proptest::prop_assert_eq!(packed.levels_only().unpack(), pattern.levels_only());
            for c in Comparison::ALL {
                proptest::prop_assert_eq!(packed.exact(c), pattern.level(c) == 0, "{:?}", c);
            }
        }

        /// `one_edit_apart` is `strsim`'s optimal-string-alignment distance of 1 (an
        /// independent dynamic programme) for names of at least `ONE_EDIT_MIN_LEN` letters.
        /// Names drawn from four letters, and edits of them, so that near names are common.
        #[test]
        fn one_edit_is_an_alignment_distance_of_one(
            a in "[ABCD]{2,9}",
            b in "[ABCD]{2,9}",
            edit in 0usize..4,
            at in 0usize..9,
        ) {
            let mut edited = a.clone().into_bytes();
            let i = at % edited.len();
            match edit {
                0 => edited[i] = b'E',
                1 => edited.insert(i, b'B'),
                2 => { edited.remove(i); }
                _ if i + 1 < edited.len() => edited.swap(i, i + 1),
                _ => {}
            }
            let edited = String::from_utf8(edited).unwrap();
            for other in [&b, &edited] {
                let first_letter_only = a.len() == other.len()
                    && a.as_bytes()[0] != other.as_bytes()[0]
                    && a[1..] == other[1..];
                let expected = strsim::osa_distance(&a, other) == 1
                    && a.len().min(other.len()) >= ONE_EDIT_MIN_LEN
                    && !first_letter_only;
                proptest::prop_assert_eq!(
                    one_edit_apart(a.as_bytes(), other.as_bytes()),
                    expected,
                    "{} {}", a, other
                );
                // The letter bound never rules out a pair one edit apart.
                let letters = Letters::of(&a).surely_not_one_edit(Letters::of(other));
                proptest::prop_assert!(!(expected && letters), "{} {}", a, other);
            }
        }
    }

    use super::super::letters::Letters;
    use super::*;
    use crate::dates::days_from_civil;

    #[test]
    fn one_digit() {
        assert!(one_digit_apart(19800307, 19800308));
        assert!(one_digit_apart(19890307, 19800307));
        assert!(!one_digit_apart(19800307, 19800370));
        assert!(!one_digit_apart(19800307, 19800307));
    }

    #[test]
    fn keying_errors_in_ids() {
        let id = |s: &str| (s.len() as u64) << 56 | s.parse::<u64>().unwrap();
        // FEBRL 3's rec-126 and rec-803: digits 4-5 swapped; one digit mistyped.
        assert!(one_keying_error(id("2427387"), id("2423787")));
        assert!(one_keying_error(id("8872731"), id("8872631")));
        assert!(one_keying_error(id("4137877"), id("4137787")));
        assert!(!one_keying_error(id("4137877"), id("4137877")));
        assert!(!one_keying_error(id("0123"), id("123")));
        assert!(!one_keying_error(id("1234"), id("2143")));
    }

    /// The address levels below `locality`: two moves, one inside the district and one out
    /// of it, and a register with districts but no address.
    use super::super::records::of_csv as records;

    /// The address level of rows `a` and `b`.
    fn address_level_of(r: &Records, a: u32, b: u32) -> &'static str {
        let p = compare(r, a as usize, b as usize);
        Comparison::Address.level_name(p.level(Comparison::Address))
    }

    #[test]
    fn moves_inside_a_district_have_their_own_level() {
        let level = address_level_of;
        let r = records(
            "voter_id,given_name,family_name,address_line,locality,postcode,district\n\
             V1,ANNA,LEE,1 OAK ST,ASHTON,11111,D1\n\
             V2,ANNA,LEE,9 ELM RD,BURTON,22222,D1\n\
             V3,ANNA,LEE,5 PINE AVE,CARLTON,33333,D2\n",
        );
        assert_eq!(level(&r, 0, 1), "district");
        assert_eq!(level(&r, 0, 2), "different");
        let r = records(
            "voter_id,given_name,family_name,district\n\
             V1,ANNA,LEE,D1\n\
             V2,ANNA,LEE,D1\n\
             V3,ANNA,LEE,D2\n\
             V4,ANNA,LEE,\n",
        );
        assert_eq!(level(&r, 0, 1), "district");
        assert_eq!(level(&r, 0, 2), "different");
        assert_eq!(level(&r, 0, 3), "missing");
    }

    /// House numbers one keying error apart on one street are the `street` level; other
    /// numbers on the street are not.
    #[test]
    fn house_numbers_with_a_keying_error_share_the_street() {
        let r = records(
            "voter_id,given_name,family_name,address_line,locality\n\
             V1,ANNA,LEE,68 LEXCEN AVE,ASHTON\n\
             V2,ANNA,LEE,86 LEXCEN AVE,BURTON\n\
             V3,ANNA,LEE,65 LEXCEN AVE,CARLTON\n\
             V4,ANNA,LEE,12 LEXCEN AVE,DALTON\n",
        );
        let level = |a, b| address_level_of(&r, a, b);
        assert_eq!(level(0, 1), "street", "68 and 86: two digits swapped");
        assert_eq!(level(0, 2), "street", "68 and 65: one digit");
        assert_eq!(level(0, 3), "different", "68 and 12");
    }

    #[test]
    fn pattern_round_trip() {
        let levels = [0, 1, MISSING, 4, 0, 6, MISSING, 1, 2, 1, MISSING];
        let p = Pattern::from_levels(&levels, true);
        for (c, l) in Comparison::ALL.iter().zip(levels) {
            assert_eq!(p.level(*c), l);
        }
        assert!(p.swapped());
        assert!(!p.levels_only().swapped());
        assert_eq!(Comparison::BirthDate.level_name(1), "transposed");
        assert_eq!(Comparison::Sex.level_name(MISSING), "missing");
        let _ = days_from_civil(1980, 1, 1);
    }

    /// The date levels read the YYYYMMDD kept in the row, and compute it for a year that has
    /// no four-digit form: both give the level the calendar says.
    #[test]
    fn birth_levels_with_and_without_the_kept_date_number() {
        let row = |y, m, d| {
            let birth = days_from_civil(y, m, d);
            Row {
                birth,
                birth_ymd: super::super::records::ymd_of(birth),
                ..Row::default()
            }
        };
        for y in [1980, 12_000] {
            assert_eq!(row(y, 1, 1).birth_ymd == NO_YMD, y > 9999);
            assert_eq!(birth_level(&row(y, 3, 4), &row(y, 3, 4)), 0);
            assert_eq!(birth_level(&row(y, 3, 4), &row(y, 4, 3)), 1, "transposed");
            assert_eq!(birth_level(&row(y, 3, 4), &row(y, 3, 5)), 2, "one digit");
            assert_eq!(birth_level(&row(y, 3, 4), &row(y, 11, 27)), 3, "same year");
            assert_eq!(
                birth_level(&row(y, 3, 4), &row(y - 7, 11, 27)),
                DIFFERENT_DATE
            );
        }
        let none = Row {
            birth: NO_DATE,
            birth_ymd: NO_YMD,
            ..Row::default()
        };
        assert_eq!(birth_level(&none, &row(1980, 3, 4)), MISSING);
    }
}
