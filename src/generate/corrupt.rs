//! The ways a second registration of the same person goes wrong: keyboard and OCR typos,
//! sound-alike spellings, nicknames, swapped name parts and transposed day and month.
//!
//! These are the error classes record-linkage studies find in registers (Christen, "Data
//! Matching", ch. 3: keyboard substitutions, OCR confusions, phonetic variants, nicknames,
//! field swaps, date transpositions). Each function changes its input: a "corruption" that
//! leaves a value unchanged would make a planted duplicate indistinguishable from a clean copy
//! and the ground truth would lie.

use crate::dates::{civil_from_days, days_from_civil};

use super::names::{nicknames_of, phonetic_variant};
use super::rng::Rng;

/// QWERTY neighbours of each letter (same row and the rows above and below).
const KEYBOARD: [&str; 26] = [
    "QWSZ", "VGHN", "XDFV", "SERFCX", "WSDR", "DRTGVC", "FTYHBV", "GYUJNB", "UJKO", "HUIKMN",
    "JIOLM", "KOP", "NJK", "BHJM", "IKLP", "OL", "WA", "EDFT", "AWEDXZ", "RFGY", "YHJI", "CFGB",
    "QASE", "ZSDC", "TGHU", "ASX",
];

/// Characters OCR confuses in printed forms, both directions.
const OCR: &[(&str, &str)] = &[
    ("O", "0"),
    ("I", "1"),
    ("L", "1"),
    ("S", "5"),
    ("B", "8"),
    ("RN", "M"),
    ("M", "RN"),
    ("CL", "D"),
    ("E", "F"),
    ("G", "6"),
    ("Z", "2"),
    ("U", "V"),
];

/// A one-keystroke error: a neighbouring key, a dropped letter, a doubled letter or two
/// adjacent letters swapped.
pub(crate) fn keyboard_typo(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let letters: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_ascii_uppercase())
        .collect();
    if letters.is_empty() {
        return format!("{s}X");
    }
    let i = *rng.pick(&letters);
    match rng.below(4) {
        0 => {
            let neighbours = KEYBOARD[(chars[i] as u8 - b'A') as usize].as_bytes();
            chars[i] = *rng.pick(neighbours) as char;
        }
        1 if chars.len() > 3 => {
            chars.remove(i);
        }
        2 if i + 1 < chars.len() && chars[i] != chars[i + 1] => chars.swap(i, i + 1),
        _ => chars.insert(i, chars[i]),
    }
    chars.into_iter().collect()
}

/// An OCR confusion; `None` when the name has no confusable character.
pub(crate) fn ocr_error(rng: &mut Rng, s: &str) -> Option<String> {
    let candidates: Vec<(usize, &str, &str)> = OCR
        .iter()
        .flat_map(|&(from, to)| s.match_indices(from).map(move |(i, _)| (i, from, to)))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let &(i, from, to) = rng.pick(&candidates);
    Some(format!("{}{}{}", &s[..i], to, &s[i + from.len()..]))
}

/// Rules that keep a name's sound: (pattern, replacement).
const PHONETIC_RULES: &[(&str, &str)] = &[
    ("PH", "F"),
    ("CK", "K"),
    ("Y", "IE"),
    ("IE", "Y"),
    ("EI", "IE"),
    ("TH", "T"),
    ("SCH", "SH"),
    ("LL", "L"),
    ("NN", "N"),
    ("TT", "T"),
    ("SS", "S"),
    ("C", "K"),
    ("Z", "S"),
    ("EE", "EA"),
];

/// A sound-alike spelling: a listed variant, else a spelling rule; `None` if neither applies.
pub(crate) fn phonetic_spelling(rng: &mut Rng, s: &str) -> Option<String> {
    if let Some(v) = phonetic_variant(s) {
        return Some(v.to_string());
    }
    let applicable: Vec<&(&str, &str)> = PHONETIC_RULES
        .iter()
        .filter(|(from, _)| s[1..].contains(from))
        .collect();
    if applicable.is_empty() {
        return None;
    }
    let &&(from, to) = rng.pick(&applicable);
    // Apply after the first letter, so that the initial (a common blocking key) stays.
    Some(format!("{}{}", &s[..1], s[1..].replacen(from, to, 1)))
}

/// A nickname of a formal given name; `None` if it has none.
pub(crate) fn nickname(rng: &mut Rng, given: &str) -> Option<String> {
    nicknames_of(given).map(|n| rng.pick(n).to_string())
}

/// The date with day and month swapped; `None` when that is the same date or impossible
/// (day > 12).
pub(crate) fn transpose_day_month(date: i32) -> Option<i32> {
    let (y, m, d) = civil_from_days(date);
    (d <= 12 && d != m).then(|| days_from_civil(y, d, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::rng::Stream;

    #[test]
    fn every_corruption_changes_its_input() {
        let mut rng = Rng::keyed(9, Stream::Duplicate, 0, 0);
        for name in ["SMITH", "ANNA", "O'BRIEN", "LEE", "MCDONALD", "ZZ"] {
            for _ in 0..200 {
                assert_ne!(keyboard_typo(&mut rng, name), name);
                if let Some(o) = ocr_error(&mut rng, name) {
                    assert_ne!(o, name);
                }
                if let Some(p) = phonetic_spelling(&mut rng, name) {
                    assert_ne!(p, name);
                    assert_eq!(p.as_bytes()[0], name.as_bytes()[0]);
                }
            }
        }
        assert_eq!(
            nickname(&mut rng, "ROBERT").map(|n| n.starts_with('B') || n == "ROB"),
            Some(true)
        );
        assert_eq!(nickname(&mut rng, "ZBIGNIEW"), None);
    }

    #[test]
    fn day_month_transposition() {
        let d = days_from_civil(1980, 3, 7);
        assert_eq!(transpose_day_month(d), Some(days_from_civil(1980, 7, 3)));
        assert_eq!(transpose_day_month(days_from_civil(1980, 3, 13)), None);
        assert_eq!(transpose_day_month(days_from_civil(1980, 5, 5)), None);
    }
}
