//! A hand-built register: known duplicates, twins, Jr/Sr, the Crosscheck trap; the invariants,
//! the chance estimate and the artefacts.

use std::collections::BTreeSet;

use rollaudit::dedupe::Guard;

use super::rows::*;
use super::*;

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
    // A father and son of one name without a suffix: same address and phone, born 31 years
    // apart.
    let mut f1 = row(
        "H07A",
        "THADDEUS",
        "WINTERS",
        "1948-03-02",
        "M",
        "52 ASH CT",
    );
    let mut f2 = row(
        "H07B",
        "THADDEUS",
        "WINTERS",
        "1979-11-23",
        "M",
        "52 ASH CT",
    );
    f1.phone = "5559990005".into();
    f2.phone = "5559990005".into();
    v.extend([f1, f2]);
    // Two of one name at one address without birth dates, each with a national id of their
    // own (more than one keying error apart).
    let mut o1 = row("H08A", "OCTAVIA", "MERRIWEATHER", "", "F", "8 BAY RD");
    let mut o2 = row("H08B", "OCTAVIA", "MERRIWEATHER", "", "F", "8 BAY RD");
    o1.nid = "418820736".into();
    o2.nid = "905163247".into();
    o1.phone = "5559990006".into();
    o2.phone = "5559990006".into();
    v.extend([o1, o2]);
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
    for k in 1..=8 {
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
    let p = listed("H07A", "H07B").expect("a father and son of one name are listed");
    assert_eq!(p.guard, Some(Guard::Generations), "father and son: {p:?}");
    let p = listed("H08A", "H08B").expect("two of one name at one address are listed");
    assert_eq!(p.guard, Some(Guard::HouseholdIds), "two ids: {p:?}");
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
