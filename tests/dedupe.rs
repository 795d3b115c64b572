//! `dedupe`: normalisation and phonetic codes against published reference values, a
//! hand-built register with known duplicates and known look-alikes (twins, Jr/Sr, the
//! Crosscheck trap), the invariants (no self-pairs, a partition, stable ids), the chance
//! estimate by hand, the written artefacts, and precision/recall on generated ground truth.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rollaudit::dedupe::phonetic::{double_metaphone, nysiis, soundex};
use rollaudit::dedupe::{dedupe, evaluate, Comparison, DedupeConfig, DedupeResult, Guard};
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

const HEADER: &str = "voter_id,national_id,given_name,middle_name,family_name,name_suffix,\
birth_date,birth_year,sex,address_line,locality,postcode,phone,email";

/// One register row.
#[derive(Clone)]
struct Row {
    id: String,
    nid: String,
    given: String,
    middle: String,
    family: String,
    suffix: String,
    birth: String,
    year: String,
    sex: &'static str,
    address: String,
    locality: String,
    postcode: String,
    phone: String,
    email: String,
}

impl Row {
    fn csv(&self) -> String {
        [
            self.id.as_str(),
            &self.nid,
            &self.given,
            &self.middle,
            &self.family,
            &self.suffix,
            &self.birth,
            &self.year,
            self.sex,
            &self.address,
            &self.locality,
            &self.postcode,
            &self.phone,
            &self.email,
        ]
        .join(",")
    }
}

/// A deterministic stream of numbers (SplitMix64).
struct Stream(u64);
impl Stream {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const GIVEN_F: &[&str] = &[
    "MARY", "LINDA", "SUSAN", "KAREN", "NANCY", "LISA", "BETTY", "HELEN", "SANDRA", "DONNA",
    "CAROL", "RUTH", "SHARON", "LAURA", "SARAH", "ANGELA", "ANNA", "BRENDA", "AMY", "JANET",
];
const GIVEN_M: &[&str] = &[
    "JAMES", "JOHN", "DAVID", "MARK", "PAUL", "GEORGE", "KEVIN", "BRIAN", "EDWARD", "RONALD",
    "JASON", "GARY", "LARRY", "FRANK", "SCOTT", "ERIC", "HENRY", "CARL", "ARTHUR", "ROGER",
];
const FAMILY: &[&str] = &[
    "SMITH",
    "JOHNSON",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "WILSON",
    "MOORE",
    "TAYLOR",
    "THOMAS",
    "WHITE",
    "HARRIS",
    "MARTIN",
    "CLARK",
    "LEWIS",
    "WALKER",
    "YOUNG",
    "ALLEN",
    "KING",
    "WRIGHT",
    "HILL",
    "SCOTT",
    "GREEN",
    "ADAMS",
    "BAKER",
    "NELSON",
    "CARTER",
    "MITCHELL",
    "ROBERTS",
    "TURNER",
    "PHILLIPS",
    "CAMPBELL",
    "PARKER",
    "EVANS",
    "EDWARDS",
    "COLLINS",
    "STEWART",
    "MORRIS",
    "ROGERS",
    "REED",
    "COOK",
    "MORGAN",
    "BELL",
    "MURPHY",
    "BAILEY",
    "RIVERA",
    "COOPER",
    "HOWARD",
    "WARD",
    "KOWALCZYK",
    "OKAFOR",
    "NAKAMURA",
    "FITZGERALD",
    "BRANDT",
    "LINDQVIST",
    "HALVORSEN",
    "PETROVIC",
    "ACHTERBERG",
    "QUINTERO",
];
const STREETS: &[&str] = &[
    "OAK ST", "ELM AVE", "PINE RD", "LAKE DR", "HILL LN", "MILL CT",
];
const TOWNS: &[(&str, &str)] = &[
    ("SPRINGFIELD", "10001"),
    ("RIVERTON", "10002"),
    ("FAIRVIEW", "10003"),
    ("GREENVILLE", "10004"),
    ("MADISON", "10005"),
];

/// A register of households: couples sharing a surname, address and often a phone; adult
/// children; single people. `n` households.
fn background(n: usize, seed: u64) -> Vec<Row> {
    let mut s = Stream(seed);
    let mut rows = Vec::new();
    let mut id = 0;
    for h in 0..n {
        let (town, postcode) = TOWNS[s.below(TOWNS.len() as u64) as usize];
        let address = format!("{} {}", 1 + s.below(900), s.pick(STREETS));
        let family = s.pick(FAMILY);
        let phone = format!("555{:07}", 1_000_000 + h);
        let members = 1 + s.below(3);
        for k in 0..members {
            id += 1;
            let female = s.below(2) == 0;
            let given = s.pick(if female { GIVEN_F } else { GIVEN_M });
            let year = if k < 2 {
                1940 + s.below(45)
            } else {
                1985 + s.below(20)
            };
            rows.push(Row {
                id: format!("B{id:06}"),
                nid: if s.below(10) < 9 {
                    format!("{:09}", 100_000_000 + id * 7)
                } else {
                    String::new()
                },
                given: given.into(),
                middle: if s.below(10) < 6 {
                    s.pick(if female { GIVEN_F } else { GIVEN_M }).into()
                } else {
                    String::new()
                },
                family: family.into(),
                suffix: String::new(),
                birth: format!("{year}-{:02}-{:02}", 1 + s.below(12), 1 + s.below(28)),
                year: String::new(),
                sex: if female { "F" } else { "M" },
                address: address.clone(),
                locality: town.into(),
                postcode: postcode.into(),
                phone: if s.below(10) < 4 {
                    phone.clone()
                } else {
                    String::new()
                },
                email: if s.below(10) < 3 {
                    format!(
                        "{}.{}{id}@mail.example",
                        given.to_lowercase(),
                        family.to_lowercase()
                    )
                } else {
                    String::new()
                },
            });
        }
    }
    rows
}

/// Re-registrations of background voters with one or two corruptions each, as the
/// generator plants them: `(original, duplicate)` rows.
fn planted_duplicates(rows: &[Row], count: usize, seed: u64) -> Vec<Row> {
    let mut s = Stream(seed);
    let mut out = Vec::new();
    for k in 0..count {
        let mut d = rows[(s.below(rows.len() as u64 / 2) * 2) as usize].clone();
        d.id = format!("D{k:06}");
        d.nid = String::new();
        match k % 5 {
            0 => d.given = typo(&d.given, &mut s),
            1 => d.family = typo(&d.family, &mut s),
            2 => d.middle = String::new(),
            3 => {
                let (y, rest) = d.birth.split_at(5);
                let (m, day) = rest.split_at(2);
                let day = &day[1..];
                if day.parse::<u32>().unwrap_or(99) <= 12 && m != day {
                    d.birth = format!("{y}{day}-{m}");
                } else {
                    d.given = typo(&d.given, &mut s);
                }
            }
            _ => d.email = String::new(),
        }
        if s.below(10) < 4 {
            let (town, postcode) = TOWNS[s.below(TOWNS.len() as u64) as usize];
            d.address = format!("{} {}", 1 + s.below(900), s.pick(STREETS));
            d.locality = town.into();
            d.postcode = postcode.into();
        }
        if s.below(2) == 0 {
            d.phone = String::new();
        }
        out.push(d);
    }
    out
}

fn typo(name: &str, s: &mut Stream) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let i = 1 + s.below(chars.len() as u64 - 1) as usize;
    if i + 1 < chars.len() && chars[i] != chars[i + 1] {
        chars.swap(i, i + 1);
    } else {
        chars.insert(i, chars[i]);
    }
    chars.into_iter().collect()
}

fn row(id: &str, given: &str, family: &str, birth: &str, sex: &'static str, addr: &str) -> Row {
    Row {
        id: id.into(),
        nid: String::new(),
        given: given.into(),
        middle: String::new(),
        family: family.into(),
        suffix: String::new(),
        birth: birth.into(),
        year: String::new(),
        sex,
        address: addr.into(),
        locality: "SPRINGFIELD".into(),
        postcode: "10001".into(),
        phone: String::new(),
        email: String::new(),
    }
}

/// The named cases: `X..` rows are duplicates of each other in pairs, `H..` rows are
/// look-alikes that must stay apart.
fn named_cases() -> Vec<Row> {
    let mut v = Vec::new();
    // A typo in the family name, same address.
    v.push(row(
        "X01A",
        "WILHELMINA",
        "ZABRISKIE",
        "1961-04-23",
        "F",
        "40 OAK ST",
    ));
    v.push(row(
        "X01B",
        "WILHELMINA",
        "ZABRISKEI",
        "1961-04-23",
        "F",
        "40 OAK ST",
    ));
    // A nickname, after a move.
    let mut a = row(
        "X02A",
        "ROBERT",
        "QUACKENBUSH",
        "1955-09-17",
        "M",
        "7 PINE RD",
    );
    a.middle = "ELLIOT".into();
    let mut b = row(
        "X02B",
        "BOB",
        "QUACKENBUSH",
        "1955-09-17",
        "M",
        "88 LAKE DR",
    );
    b.locality = "RIVERTON".into();
    b.postcode = "10002".into();
    b.middle = "ELLIOT".into();
    v.extend([a, b]);
    // Given and family name swapped.
    v.push(row(
        "X03A",
        "THADDEUS",
        "MORTIMER",
        "1972-11-30",
        "M",
        "12 ELM AVE",
    ));
    v.push(row(
        "X03B",
        "MORTIMER",
        "THADDEUS",
        "1972-11-30",
        "M",
        "12 ELM AVE",
    ));
    // Day and month transposed.
    v.push(row(
        "X04A",
        "PRUDENCE",
        "OKONKWO",
        "1983-03-07",
        "F",
        "5 HILL LN",
    ));
    v.push(row(
        "X04B",
        "PRUDENCE",
        "OKONKWO",
        "1983-07-03",
        "F",
        "5 HILL LN",
    ));
    // An OCR error in the given name (M read as RN), same address.
    v.push(row(
        "X05A",
        "MARGUERITE",
        "ESTERHAZY",
        "1948-12-02",
        "F",
        "14 LAKE DR",
    ));
    v.push(row(
        "X05B",
        "RNARGUERITE",
        "ESTERHAZY",
        "1948-12-02",
        "F",
        "14 LAKE DR",
    ));
    // Birth year only on both records (as in North Carolina's file), after a move.
    let mut a = row("X06A", "OSWALDO", "TREMBLAYNE", "1966", "M", "3 HILL LN");
    let mut b = row("X06B", "OSWALDO", "TREMBLAYNE", "1966", "M", "19 OAK ST");
    a.middle = "IGNATIUS".into();
    b.middle = "IGNATIUS".into();
    a.birth = String::new();
    b.birth = String::new();
    a.year = "1966".into();
    b.year = "1966".into();
    v.extend([a, b]);
    // Twins: same family name, address, birth date and phone; different given names.
    let mut t1 = row(
        "H01A",
        "ALICE",
        "VANTERPOOL",
        "1990-06-15",
        "F",
        "31 MILL CT",
    );
    let mut t2 = row(
        "H01B",
        "GRACE",
        "VANTERPOOL",
        "1990-06-15",
        "F",
        "31 MILL CT",
    );
    t1.phone = "5559990001".into();
    t2.phone = "5559990001".into();
    v.extend([t1, t2]);
    // Boy-girl twins with similar names.
    v.push(row(
        "H02A",
        "MARIO",
        "FELDSPAR",
        "1992-02-02",
        "M",
        "9 OAK ST",
    ));
    v.push(row(
        "H02B",
        "MARIA",
        "FELDSPAR",
        "1992-02-02",
        "F",
        "9 OAK ST",
    ));
    // Jr and Sr: same names and address, 26 years apart.
    let mut sr = row(
        "H03A",
        "HORATIO",
        "BLACKWOOD",
        "1950-05-05",
        "M",
        "77 ELM AVE",
    );
    let mut jr = row(
        "H03B",
        "HORATIO",
        "BLACKWOOD",
        "1976-08-19",
        "M",
        "77 ELM AVE",
    );
    sr.suffix = "SR".into();
    jr.suffix = "JR".into();
    sr.phone = "5559990002".into();
    jr.phone = "5559990002".into();
    v.extend([sr, jr]);
    // The Crosscheck trap: same first name, last name and birth date, different people in
    // different towns (different middle names and phones).
    let mut c1 = row("H04A", "JOHN", "SMITH", "1970-05-05", "M", "3 LAKE DR");
    let mut c2 = row("H04B", "JOHN", "SMITH", "1970-05-05", "M", "610 PINE RD");
    c1.middle = "ALLEN".into();
    c2.middle = "WAYNE".into();
    c1.phone = "5559990003".into();
    c2.phone = "5559990004".into();
    c2.locality = "MADISON".into();
    c2.postcode = "10005".into();
    v.extend([c1, c2]);
    // Twins given one name (the generator plants them; a family may write one twin's name
    // twice): everything alike but two national ids that differ beyond a keying error.
    let mut n1 = row(
        "H05A",
        "CAROL",
        "QUENTWORTH",
        "1999-04-19",
        "F",
        "19 FIFTH WAY",
    );
    let mut n2 = row(
        "H05B",
        "CAROL",
        "QUENTWORTH",
        "1999-04-19",
        "F",
        "19 FIFTH WAY",
    );
    n1.nid = "236005289".into();
    n2.nid = "853530040".into();
    v.extend([n1, n2]);
    // Twins with two ids (guarded) and a duplicate of one of them without an id, which
    // matches both: it joins the twin it matches more strongly, and never both.
    let mut k1 = row(
        "H06A",
        "KATHERINE",
        "PALTRANHART",
        "1985-07-05",
        "F",
        "717 FIRST LN",
    );
    let mut k2 = row(
        "H06B",
        "KATHRYN",
        "PALTRANHART",
        "1985-07-05",
        "F",
        "717 FIRST LN",
    );
    let k3 = row(
        "H06C",
        "KATHERINE",
        "PALTRANHART",
        "1985-07-05",
        "F",
        "717 FIRST LN",
    );
    k1.nid = "737817540".into();
    k2.nid = "120292789".into();
    v.extend([k1, k2, k3]);
    v
}

fn register_rows() -> Vec<Row> {
    let mut rows = background(1500, 7);
    let dups = planted_duplicates(&rows, 60, 11);
    rows.extend(dups);
    rows.extend(named_cases());
    rows
}

fn csv_of(rows: &[Row]) -> String {
    let mut text = String::from(HEADER);
    text.push('\n');
    for r in rows {
        text.push_str(&r.csv());
        text.push('\n');
    }
    text
}

fn load(text: &str) -> Snapshot {
    load_bytes(
        text.as_bytes().to_vec(),
        Path::new("register.csv"),
        &Profile::canonical(),
        &NoProgress,
    )
    .expect("the register loads")
    .snapshot
}

fn id_pairs(result: &DedupeResult, snapshot: &Snapshot) -> BTreeSet<(String, String)> {
    let ids = snapshot.voter_ids();
    let id = |r: u32| ids.get(r as usize).expect("row").to_string();
    result.matched().map(|p| (id(p.a), id(p.b))).collect()
}

fn clusters_by_id(result: &DedupeResult, snapshot: &Snapshot) -> BTreeMap<String, Vec<String>> {
    let ids = snapshot.voter_ids();
    result
        .clusters
        .iter()
        .map(|c| {
            let members = c
                .rows
                .iter()
                .map(|&r| ids.get(r as usize).expect("row").to_string())
                .collect();
            (c.id.clone(), members)
        })
        .collect()
}

#[test]
fn known_duplicates_match_and_look_alikes_do_not() {
    let snapshot = load(&csv_of(&register_rows()));
    let result = dedupe(&snapshot, &DedupeConfig::default()).expect("dedupe runs");
    let matched = id_pairs(&result, &snapshot);
    for k in 1..=6 {
        let pair = (format!("X0{k}A"), format!("X0{k}B"));
        assert!(matched.contains(&pair), "duplicate {pair:?} not matched");
    }
    for k in 1..=6 {
        let (a, b) = (format!("H0{k}A"), format!("H0{k}B"));
        assert!(
            !matched.contains(&(a.clone(), b.clone())),
            "look-alike {a}/{b} matched"
        );
    }
    let ids = snapshot.voter_ids();
    let listed = |a: &str, b: &str| {
        result
            .pairs
            .iter()
            .find(|p| ids.get(p.a as usize) == Some(a) && ids.get(p.b as usize) == Some(b))
    };
    if let Some(p) = listed("H03A", "H03B") {
        assert_eq!(p.guard, Some(Guard::GenerationSuffix), "Jr/Sr: {p:?}");
    }
    if let Some(p) = listed("H01A", "H01B") {
        assert_eq!(p.guard, Some(Guard::TwinPattern), "twins: {p:?}");
    }
    let p = listed("H05A", "H05B").expect("twins of one name score high enough to list");
    assert_eq!(
        p.guard,
        Some(Guard::TwinPattern),
        "twins of one name: {p:?}"
    );
    // The third record of the H06 twins joins KATHERINE, not KATHRYN: the weaker match is
    // refused, so the two twins are in no cluster together.
    assert!(matched.contains(&("H06A".to_string(), "H06C".to_string())));
    let p = listed("H06B", "H06C").expect("KATHRYN and KATHERINE are listed");
    assert_eq!(p.guard, Some(Guard::KeptApart), "{p:?}");
    let together = clusters_by_id(&result, &snapshot)
        .values()
        .any(|m| m.contains(&"H06A".to_string()) && m.contains(&"H06B".to_string()));
    assert!(!together, "twins H06A and H06B share a cluster");
    // Planted background duplicates: most are found.
    let found = (0..60)
        .filter(|k| {
            let d = format!("D{k:06}");
            matched.iter().any(|(a, b)| *a == d || *b == d)
        })
        .count();
    // A sanity floor, not the acceptance target (that is the generator's ground truth,
    // below): this small register gives EM few duplicates to learn from.
    assert!(found >= 50, "only {found} of 60 planted duplicates matched");
}

#[test]
fn invariants_no_self_pairs_partition_and_symmetric_order() {
    let snapshot = load(&csv_of(&register_rows()));
    let result = dedupe(&snapshot, &DedupeConfig::default()).expect("dedupe runs");
    assert!(
        result.pairs.iter().all(|p| p.a < p.b),
        "pairs are (a < b), never self"
    );
    let mut seen = BTreeSet::new();
    for c in &result.clusters {
        assert!(c.rows.len() >= 2);
        assert!(c.rows.windows(2).all(|w| w[0] < w[1]));
        for &r in &c.rows {
            assert!(seen.insert(r), "row {r} in two clusters");
        }
    }
    for p in result.matched() {
        let c = &result.clusters[p.cluster.expect("a matched pair has a cluster") as usize];
        assert!(c.rows.contains(&p.a) && c.rows.contains(&p.b));
    }
    let pairs: Vec<(u32, u32)> = result.pairs.iter().map(|p| (p.a, p.b)).collect();
    let mut sorted = pairs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(pairs, sorted, "pairs ordered and unique");
}

#[test]
fn cluster_ids_are_stable_across_runs_and_row_order() {
    let rows = register_rows();
    let first = load(&csv_of(&rows));
    let a = dedupe(&first, &DedupeConfig::default()).expect("dedupe runs");
    let again = dedupe(&first, &DedupeConfig::default()).expect("dedupe runs");
    assert_eq!(clusters_by_id(&a, &first), clusters_by_id(&again, &first));
    let mut reversed = rows.clone();
    reversed.reverse();
    let second = load(&csv_of(&reversed));
    let b = dedupe(&second, &DedupeConfig::default()).expect("dedupe runs");
    assert_eq!(clusters_by_id(&a, &first), clusters_by_id(&b, &second));
    assert_eq!(id_pairs(&a, &first), id_pairs(&b, &second));
}

#[test]
fn chance_estimate_matches_a_hand_calculation() {
    // Names: ANN LEE x3, BOB KAY x2, CY DOE x1. Dates: 1980-01-01 x3 (two ANN LEE, one
    // BOB KAY), 1990-02-02 x2, 1970-03-03 x1.
    let text = "voter_id,given_name,family_name,birth_date,address_line\n\
        V1,ANN,LEE,1980-01-01,1 A ST\n\
        V2,ANN,LEE,1980-01-01,2 A ST\n\
        V3,ANN,LEE,1990-02-02,3 A ST\n\
        V4,BOB,KAY,1980-01-01,4 A ST\n\
        V5,BOB,KAY,1990-02-02,5 A ST\n\
        V6,CY,DOE,1970-03-03,6 A ST\n";
    let result = dedupe(&load(text), &DedupeConfig::default()).expect("dedupe runs");
    let c = &result.chance;
    // p = sum c(c-1) / (N(N-1)) = (3*2 + 2*1 + 0) / (6*5) = 8/30.
    assert_eq!(c.records, 6);
    assert!((c.p_same_birth_date - 8.0 / 30.0).abs() < 1e-12);
    // Same-name pairs: C(3,2) + C(2,2) = 4; expected coincidences 4 * 8/30.
    assert_eq!(c.same_name_pairs, 4);
    assert!((c.expected_pairs - 4.0 * 8.0 / 30.0).abs() < 1e-12);
    // Found: V1/V2 only.
    assert_eq!(c.found_pairs, 1);
    // The exact pass groups them too (it is the Crosscheck key; the estimate stands beside it).
    let ids: Vec<Vec<&str>> = result
        .exact
        .groups
        .iter()
        .map(|g| {
            g.rows
                .iter()
                .map(|&r| ["V1", "V2", "V3", "V4", "V5", "V6"][r as usize])
                .collect()
        })
        .collect();
    assert_eq!(ids, vec![vec!["V1", "V2"]]);
    assert_eq!(result.exact.name_birth_pairs, c.found_pairs);
}

/// The exact pass joins records through either key: a shared name and birth date, or a
/// shared national id (separators ignored); `--exact-only` and the full run agree.
#[test]
fn exact_pass_joins_name_and_birth_or_national_id() {
    let text = "voter_id,national_id,given_name,family_name,birth_date\n\
        V1,111-22-3333,Ann,O'Brien,1980-01-01\n\
        V2,,ANN,OBRIEN,1980-01-01\n\
        V3,111223333,Anne,Kay,1975-05-05\n\
        V4,999,Bob,Lee,1990-02-02\n\
        V5,998,Bob,Lee,1990-02-03\n\
        V6,,Cy,Doe,\n\
        V7,,Cy,Doe,\n";
    // A placeholder id on eleven records joins nothing.
    let text = format!(
        "{text}{}",
        (10..21)
            .map(|i| format!("W{i},UNKNOWN,Person,Number{i},19{i}-01-01\n"))
            .collect::<String>()
    );
    let snapshot = load(&text);
    let alone = rollaudit::dedupe::exact_duplicates(&snapshot);
    let rows: Vec<Vec<u32>> = alone.groups.iter().map(|g| g.rows.clone()).collect();
    // V1-V2 by name and birth date, V1-V3 by id: one group; V4/V5 differ in both keys; V6/V7
    // have no birth date.
    assert_eq!(rows, vec![vec![0, 1, 2]]);
    assert_eq!(alone.name_birth_pairs, 1);
    assert_eq!(alone.national_id_pairs, 1);
    assert_eq!(alone.skipped_ids, 1);
    let full = dedupe(&snapshot, &DedupeConfig::default()).expect("dedupe runs");
    assert_eq!(full.exact, alone);
}

#[test]
fn artefacts_hold_ids_and_explanations_and_neutralise_formulas() {
    let mut rows = register_rows();
    let mut evil = rows[0].clone();
    evil.id = "=HYPERLINK(1)".into();
    evil.nid = String::new();
    rows.push(evil);
    let snapshot = load(&csv_of(&rows));
    let result = dedupe(&snapshot, &DedupeConfig::default()).expect("dedupe runs");
    let dir = Dir::new();
    let out = dir.path("out");
    rollaudit::report::dedupe::write_dedupe(&out, &result, &snapshot).expect("written");
    let duplicates = std::fs::read_to_string(out.join("duplicates.csv")).expect("duplicates");
    let mut lines = duplicates.lines();
    assert_eq!(
        lines.next(),
        Some("voter_id_a,voter_id_b,probability,match_weight,status,guard,cluster_id,explanation")
    );
    assert!(duplicates.contains("given_name="), "{duplicates}");
    assert!(duplicates.contains("birth_date="));
    assert!(!duplicates.contains(",=HYPERLINK"), "formula neutralised");
    assert!(
        duplicates.contains("'=HYPERLINK(1)"),
        "the evil twin is listed"
    );
    let clusters = std::fs::read_to_string(out.join("clusters.csv")).expect("clusters");
    assert!(clusters.starts_with("cluster_id,voter_id,cluster_size\n"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("dedupe.json")).expect("json"))
            .expect("valid JSON");
    assert_eq!(json["schema_version"], 2);
    // Sixteen passes, as docs/duplicates.md documents.
    assert_eq!(json["blocking"].as_array().map(Vec::len), Some(16));
    assert!(json["chance"]["expected_pairs"].is_number());
    assert!(json["model"]["comparisons"][0]["levels"][0]["m"].is_number());
}

#[test]
fn evaluation_is_pairwise() {
    let l = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let s = evaluate(
        &l(&[("a", "1"), ("b", "1"), ("c", "1")]),
        &l(&[("a", "x"), ("b", "x"), ("c", "y")]),
    );
    assert_eq!(
        (s.true_positives, s.predicted_pairs, s.true_pairs),
        (1, 3, 1)
    );
}

// ----- ground truth from the generator ---------------------------------------------------------

/// The seed of the ground-truth test (any seed should do; this one is reported).
const TRUTH_SEED: u64 = 42;

/// A generated register as an export lacking some fields: the columns named in `drop` are
/// removed from the canonical CSV before loading.
struct Variant {
    name: &'static str,
    drop: &'static [&'static str],
    min_precision: f64,
    min_recall: f64,
}

const FULL: Variant = Variant {
    name: "all fields",
    drop: &[],
    min_precision: 0.97,
    min_recall: 0.95,
};

/// The exports of issue #14: no birth date (North Carolina publishes the year or the age
/// only; some bodies neither), no sex, phone or email (most public files), no address, and
/// names with places only (the linkage sets built from the NC voter file).
/// Floors are set below what each variant scored when written (see docs/duplicates.md's table),
/// with room for the noise of one seed; a model that collapses scores far below them.
const ABLATIONS: [Variant; 4] = [
    Variant {
        name: "no birth date or year",
        drop: &["birth_date", "birth_year"],
        min_precision: 0.95,
        min_recall: 0.75,
    },
    Variant {
        name: "no sex, phone or email",
        drop: &["sex", "phone", "email"],
        min_precision: 0.97,
        min_recall: 0.93,
    },
    Variant {
        name: "no address",
        drop: &ADDRESS_PARTS,
        min_precision: 0.97,
        min_recall: 0.90,
    },
    // Names and places only: nothing tells a duplicate from two people of one household with
    // one name, so nothing may be merged (the namesake guard); pairs go to review.
    Variant {
        name: "names, locality and postcode only",
        drop: &[
            "national_id",
            "middle_name",
            "name_suffix",
            "birth_date",
            "birth_year",
            "sex",
            "address_line",
            "house_number",
            "street",
            "unit",
            "phone",
            "email",
        ],
        min_precision: 1.0,
        min_recall: 0.0,
    },
];

/// The columns the address comparison reads.
const ADDRESS_PARTS: [&str; 7] = [
    "address_line",
    "house_number",
    "street",
    "unit",
    "locality",
    "postcode",
    "district",
];

/// `csv` without the columns named in `drop`.
fn without_columns(csv_bytes: &[u8], drop: &[&str]) -> Vec<u8> {
    let mut reader = csv::Reader::from_reader(csv_bytes);
    let header = reader.headers().expect("a header").clone();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !drop.contains(&&header[i]))
        .collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(keep.iter().map(|&i| &header[i]))
        .expect("write");
    for record in reader.records() {
        let record = record.expect("a generated row");
        writer
            .write_record(keep.iter().map(|&i| &record[i]))
            .expect("write");
    }
    writer.into_inner().expect("flush")
}

/// Generates a register of `voters` (seed [`TRUTH_SEED`]), removes the variant's columns,
/// deduplicates it with the default configuration and scores the clusters against
/// `truth.json`'s planted pairs; checks that no twins or Jr/Sr pair of the truth's look-alikes
/// share a cluster and that every level of agreement the model uses weighs for a match.
fn check_against_generated_truth(voters: usize, variants: &[Variant]) {
    let dir = Dir::new();
    let out = dir.path("gen");
    let config = rollaudit::generate::GenerateConfig::new(voters, 1, 90, TRUTH_SEED, &out);
    let summary = rollaudit::generate::generate(&config).expect("generate");
    let csv_bytes = std::fs::read(&summary.files[0]).expect("the generated register");
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("truth.json")).expect("truth.json"))
            .expect("valid truth.json");
    for variant in variants {
        let snapshot = load_bytes(
            without_columns(&csv_bytes, variant.drop),
            Path::new("register.csv"),
            &Profile::canonical(),
            &NoProgress,
        )
        .expect("the generated register loads")
        .snapshot;
        let result = dedupe(&snapshot, &DedupeConfig::default()).expect("dedupe runs");
        check_variant(voters, variant, &truth, &snapshot, &result);
    }
}

fn check_variant(
    voters: usize,
    variant: &Variant,
    truth: &serde_json::Value,
    snapshot: &Snapshot,
    result: &DedupeResult,
) {
    let name = variant.name;
    let text = |v: &serde_json::Value| v.as_str().expect("a voter id").to_string();
    let mut truth_labels = Vec::new();
    for d in truth["duplicates"].as_array().expect("duplicates") {
        let original = text(&d["original_voter_id"]);
        truth_labels.push((original.clone(), original.clone()));
        truth_labels.push((text(&d["duplicate_voter_id"]), original));
    }
    assert!(!truth_labels.is_empty(), "the generator planted duplicates");
    let ids = snapshot.voter_ids();
    let predicted: Vec<(String, String)> = result
        .clusters
        .iter()
        .flat_map(|c| {
            c.rows
                .iter()
                .map(|&r| (ids.get(r as usize).expect("row").to_string(), c.id.clone()))
        })
        .collect();
    let scores = evaluate(&predicted, &truth_labels);
    eprintln!(
        "{voters} voters, seed {TRUTH_SEED}, {name}: precision {:.4} recall {:.4} F1 {:.4} \
         ({} predicted pairs, {} true; household class {:?})",
        scores.precision,
        scores.recall,
        scores.f1,
        scores.predicted_pairs,
        scores.true_pairs,
        result.model.household
    );
    assert!(
        scores.precision >= variant.min_precision,
        "{voters} voters, {name}: {scores:?}"
    );
    assert!(
        scores.recall >= variant.min_recall,
        "{voters} voters, {name}: {scores:?}"
    );

    // The generator plants households, and every variant keeps a field they share (an
    // address, a place, a phone or an email): the data must identify the household class.
    assert!(
        result.model.household.kept(),
        "{name}: household class not kept: {:?}",
        result.model.household
    );

    // Agreement is evidence for one person, never against: the strongest agreement level of
    // every used comparison weighs for a match, and no other agreement level (all but the
    // disagreement levels: the last, and the address's `district`) weighs against one (a
    // weak level, such as a middle initial, may be no evidence at all).
    let model = &result.model;
    for c in Comparison::ALL {
        if !model.status[c.index()].used() {
            continue;
        }
        let levels = c.levels();
        for (l, level) in levels.iter().enumerate().take(c.disagreement()) {
            let w = model.weight(c, l as u8);
            assert!(
                if l == 0 { w > 0.0 } else { w >= -1e-9 },
                "{name}: {}={level} weighs {w:.3} bits (m {:?}, h {:?}, u {:?})",
                c.name(),
                model.m[c.index()],
                model.h[c.index()],
                model.u[c.index()]
            );
        }
    }
    // The address comparison is dropped only when all of its columns are.
    let all_address = ADDRESS_PARTS.iter().all(|p| variant.drop.contains(p));
    let dropped_comparisons = variant
        .drop
        .iter()
        .copied()
        .filter(|d| !ADDRESS_PARTS.contains(d))
        .chain(all_address.then_some("address"));
    for dropped in dropped_comparisons {
        let c = Comparison::ALL.iter().find(|c| c.name() == dropped);
        if let Some(c) = c {
            assert!(
                !model.status[c.index()].used(),
                "{name}: {dropped} is not in the export but the model uses it"
            );
        }
    }

    let cluster_of: BTreeMap<&str, &str> = predicted
        .iter()
        .map(|(r, c)| (r.as_str(), c.as_str()))
        .collect();
    let together =
        |a: &str, b: &str| cluster_of.contains_key(a) && cluster_of.get(a) == cluster_of.get(b);
    let look = &truth["look_alikes"];
    let twins = look["twins"].as_array().expect("twins");
    for t in twins {
        let (a, b) = (text(&t[0]), text(&t[1]));
        assert!(!together(&a, &b), "{name}: twins {a} and {b} merged");
    }
    let juniors = look["junior_senior"].as_array().expect("junior_senior");
    for j in juniors {
        let (a, b) = (text(&j["junior"]), text(&j["senior"]));
        assert!(!together(&a, &b), "{name}: Jr/Sr {a} and {b} merged");
    }
    assert!(
        !twins.is_empty() && !juniors.is_empty(),
        "the register has households"
    );
}

#[test]
fn planted_duplicates_are_found_and_households_are_not_merged() {
    check_against_generated_truth(20_000, &[FULL]);
}

/// Issue #14: the model must hold whatever fields the export has. Each variant is the same
/// generated register with columns removed.
#[test]
fn exports_lacking_fields_keep_precision_recall_and_sane_weights() {
    check_against_generated_truth(20_000, &ABLATIONS);
}

/// Regression: with `u` and the prior estimated on the candidate pairs, recall at the default
/// threshold fell from 0.96 at 20,000 voters to 0.88 at 100,000 (more candidates per
/// duplicate diluted every agreement).
#[test]
fn recall_and_precision_hold_at_100k_voters() {
    check_against_generated_truth(100_000, &[FULL]);
}

/// `rollaudit dedupe` of an ingested file loads only [`rollaudit::dedupe::FIELDS`] (or the
/// exact pass's four): every artefact must be the whole load's, byte for byte, so that a field
/// the model reads cannot be left off the list unnoticed. The generated register has every
/// canonical field, so a missing one would change the comparisons, the fit or `dedupe.json`'s
/// account of fields used.
#[test]
fn a_projected_load_of_an_ingested_file_gives_the_whole_loads_artefacts() {
    use rollaudit::dedupe::{exact, exact_duplicates, FIELDS};
    use rollaudit::report::dedupe::{write_dedupe, write_exact};
    let dir = Dir::new();
    let mut config = rollaudit::generate::GenerateConfig::new(4_000, 1, 90, 11, dir.path("gen"));
    config.format = rollaudit::generate::OutputFormat::Parquet;
    let summary = rollaudit::generate::generate(&config).expect("generate");
    let file = summary
        .files
        .iter()
        .find(|f| f.to_string_lossy().ends_with(".parquet"))
        .expect("a Parquet snapshot");
    let whole =
        rollaudit::load::load_path(file, &Profile::canonical(), &NoProgress).expect("whole load");
    let read = |out: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(out)
            .expect("written")
            .map(|e| {
                let e = e.expect("entry");
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(e.path()).expect("readable"))
            })
            .collect()
    };
    for (fields, exact_only) in [(&FIELDS[..], false), (&exact::FIELDS[..], true)] {
        let projected = rollaudit::load::load_ingested(file, fields).expect("projected load");
        assert_eq!(projected.snapshot.rows(), whole.snapshot.rows());
        assert_eq!(projected.snapshot.digest, whole.snapshot.digest);
        assert_eq!(projected.report.rows_read, whole.report.rows_read);
        assert_eq!(
            projected.report.missing_fields, whole.report.missing_fields,
            "a field left unread is not missing"
        );
        let mut outputs = Vec::new();
        for snapshot in [&whole.snapshot, &projected.snapshot] {
            let out = dir.path(&format!("out-{}-{exact_only}", outputs.len()));
            if exact_only {
                write_exact(&out, &exact_duplicates(snapshot), snapshot).expect("written");
            } else {
                let result = dedupe(snapshot, &DedupeConfig::default()).expect("dedupe runs");
                assert!(result.matched().count() > 0, "the register has duplicates");
                write_dedupe(&out, &result, snapshot).expect("written");
            }
            outputs.push(read(&out));
        }
        assert!(outputs[0].len() >= 2);
        assert_eq!(outputs[0], outputs[1], "exact_only {exact_only}");
    }
}
