//! `dedupe`: normalisation and phonetic codes against published reference values, a
//! hand-built register with known duplicates and known look-alikes (twins, Jr/Sr, the
//! Crosscheck trap), the invariants (no self-pairs, a partition, stable ids), the chance
//! estimate by hand, the written artefacts, and precision/recall on generated ground truth.

use std::collections::BTreeMap;
use std::path::Path;

use rollaudit::dedupe::phonetic::{double_metaphone, nysiis, soundex};
use rollaudit::dedupe::{dedupe, evaluate, Comparison, DedupeConfig, DedupeResult};
use rollaudit::load::{load_bytes, NoProgress};
use rollaudit::normalize::{address_key, email_key, name_key, nickname_equivalent, ocr_key};
use rollaudit::profile::Profile;
use rollaudit::snapshot::Snapshot;

use crate::util::Dir;

const TESTDATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/string-metrics"
);

fn reference_rows(file: &str) -> Vec<Vec<String>> {
    let path = Path::new(TESTDATA).join(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .records()
        .map(|r| {
            r.expect("a reference row")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// Runs `code` over `(input, expected)` rows; returns the mismatches as `input: got != want`.
fn mismatches(
    rows: impl Iterator<Item = (String, String)>,
    code: impl Fn(&str) -> String,
) -> (usize, Vec<String>) {
    let mut total = 0;
    let mut bad = Vec::new();
    for (input, want) in rows {
        total += 1;
        let got = code(&input);
        if got != want {
            bad.push(format!("{input:?}: got {got:?}, reference {want:?}"));
        }
    }
    (total, bad)
}

/// Double Metaphone, the sound key of blocking and of the `close` name level, against the
/// 1,221 names of the Woodbridge reference list shipped with Apache Commons Codec (primary and
/// alternate code).
#[test]
fn double_metaphone_matches_the_woodbridge_reference() {
    let rows = reference_rows("commons-codec/double_metaphone_woodbridge.csv");
    let (total, bad) = mismatches(
        rows.into_iter()
            .skip(1)
            .map(|r| (r[0].clone(), format!("{} {}", r[1], r[2]))),
        |name| {
            let (primary, alternate) = double_metaphone(name);
            format!("{primary} {alternate}")
        },
    );
    assert_eq!(total, 1221);
    assert!(bad.is_empty(), "{} of {total}: {bad:#?}", bad.len());
}

#[test]
fn soundex_matches_commons_codec_and_jellyfish_but_for_documented_conventions() {
    let commons = reference_rows("commons-codec/soundex_commons_codec.csv");
    let (total, bad) = mismatches(
        commons
            .into_iter()
            .skip(1)
            .map(|r| (r[0].clone(), r[1].clone())),
        soundex,
    );
    // Commons Codec ignores accented letters (`é` -> ""); we fold them (`é` -> E000).
    assert_eq!(
        bad,
        [
            "\"é\": got \"E000\", reference \"\"",
            "\"ö\": got \"O000\", reference \"\""
        ],
        "of {total}"
    );
    let jelly = reference_rows("jellyfish/soundex.csv");
    let (total, bad) = mismatches(
        jelly.into_iter().map(|r| (r[0].clone(), r[1].clone())),
        soundex,
    );
    // jellyfish folds U+1E97 (t with diaeresis, Latin Extended Additional), which we drop,
    // and returns a non-letter input as its first character; we return the empty code.
    assert_eq!(
        bad,
        [
            "\"Çáŕẗéř\": got \"C660\", reference \"C636\"",
            "\"¿\": got \"\", reference \"¿000\""
        ],
        "of {total}"
    );
}

#[test]
fn nysiis_matches_commons_codec_and_jellyfish_but_for_documented_conventions() {
    let commons = reference_rows("commons-codec/nysiis_commons_codec.csv");
    let (total, bad) = mismatches(
        commons
            .into_iter()
            .skip(1)
            .map(|r| (format!("{}|{}", r[0], r[2]), r[1].clone())),
        |input| {
            let (name, mode) = input.split_once('|').expect("name|mode");
            nysiis(name, (mode == "strict_max6").then_some(6))
        },
    );
    assert!(
        bad.is_empty(),
        "{} of {total} differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
    let jelly = reference_rows("jellyfish/nysiis.csv");
    let (total, bad) = mismatches(
        jelly
            .into_iter()
            .map(|r| (r[0].clone(), r.get(1).cloned().unwrap_or_default())),
        |name| nysiis(name, None),
    );
    eprintln!("NYSIIS vs jellyfish: {} of {total} differ", bad.len());
    assert!(
        bad.len() <= 6,
        "{} of {total} differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn jaro_winkler_reproduces_winklers_published_table() {
    let rows = reference_rows("winkler/winkler_published_table.csv");
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let (s1, s2, jw, p, note) = (
        col("s1"),
        col("s2"),
        col("paper_jw"),
        col("p_to_match_paper"),
        col("note"),
    );
    let mut checked = 0;
    for r in rows.iter().skip(1) {
        if r[p] != "0.1" || !r[note].is_empty() {
            continue;
        }
        let want: f64 = r[jw].parse().expect("a number");
        let got = rollaudit::dedupe::compare::jaro_winkler(&r[s1], &r[s2]);
        assert!(
            (got - want).abs() < 0.0006,
            "{} / {}: got {got:.4}, paper {want}",
            r[s1],
            r[s2]
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} rows checked");
}

/// The comparator the name levels use (`strsim`'s Jaro and Jaro-Winkler, scaling 0.1, prefix
/// up to 4, on bytes for ASCII text: `compare::jaro_winkler`) against jellyfish's shared test
/// vectors, rounded to their 3 decimals, and against `strsim` on `str` exactly.
#[test]
fn jaro_and_jaro_winkler_match_jellyfish() {
    for (file, metric) in [
        (
            "jellyfish/jaro_distance.csv",
            strsim::jaro as fn(&str, &str) -> f64,
        ),
        ("jellyfish/jaro_winkler.csv", strsim::jaro_winkler),
        (
            "jellyfish/jaro_winkler.csv",
            rollaudit::dedupe::compare::jaro_winkler,
        ),
    ] {
        let rows = reference_rows(file);
        for r in &rows {
            let (x, y) = (&r[0], &r[1]);
            let bytes = rollaudit::dedupe::compare::jaro_winkler(x, y);
            assert!(
                bytes.to_bits() == strsim::jaro_winkler(x, y).to_bits(),
                "{x:?} / {y:?}"
            );
        }
        let bad: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                let want: f64 = r[2].parse().expect("a number");
                let got = metric(&r[0], &r[1]);
                ((got - want).abs() >= 0.0006)
                    .then(|| format!("{:?} / {:?}: got {got:.4}, reference {want}", r[0], r[1]))
            })
            .collect();
        assert!(rows.len() >= 5, "{file}: only {} rows", rows.len());
        assert!(bad.is_empty(), "{file}:\n{}", bad.join("\n"));
    }
}

proptest::proptest! {
    /// The byte path of `compare::jaro_winkler` (ASCII, at most 64 bytes a side) against
    /// `strsim` on `str`, to the bit: texts of four letters (so matches, windows and
    /// transpositions are common), of any length across the 64-byte limit, and with a
    /// non-ASCII letter (the fallback).
    #[test]
    fn jaro_winkler_equals_strsim_to_the_bit(
        x in "[ABCD]{0,70}",
        y in "[ABCD]{0,70}",
        z in "[ABÉ]{0,8}",
    ) {
        for (a, b) in [(&x, &y), (&y, &x), (&x, &z), (&z, &x)] {
            let ours = rollaudit::dedupe::compare::jaro_winkler(a, b);
            proptest::prop_assert_eq!(ours.to_bits(), strsim::jaro_winkler(a, b).to_bits(), "{:?} / {:?}", a, b);
        }
    }
}

#[test]
fn normalisation_cases() {
    assert_eq!(name_key("Mc Donald"), name_key("MacDonald"));
    assert_eq!(name_key("O'Brien"), "OBRIEN");
    assert_eq!(name_key("José"), "JOSE");
    assert_eq!(name_key("van der Berg"), name_key("VANDERBERG"));
    assert_eq!(name_key("De La Cruz"), "DELACRUZ");
    // Digits in names are OCR misreadings: read back as letters.
    assert_eq!(name_key("J0HN"), "JOHN");
    assert_eq!(name_key("5MITH"), "SMITH");
    assert_eq!(ocr_key("RNARY"), ocr_key("MARY"));
    assert_eq!(ocr_key("CLARK"), "DARK");
    assert!(nickname_equivalent("BILL", "WILLIAM"));
    assert!(nickname_equivalent("PEGGY", "MARGARET"));
    assert_eq!(
        address_key("12 North Oak Street, Apt. 4"),
        address_key("12 N OAK ST #4")
    );
    assert_eq!(
        email_key("Ann.Lee@Example.ORG"),
        Some("ann.lee@example.org".into())
    );
}

// ----- a hand-built register ---------------------------------------------------------------

// A hand-built register with known duplicates and look-alikes.
mod register;
mod rows;
// Precision, recall and fitted weights on generated registers, whole and with fields removed.
mod generated;
