//! `diff`: the change taxonomy on a hand-built pair of snapshots, and the invariants as
//! property tests.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use rollaudit::diff::{diff, ChangeKind, DiffConfig};
use rollaudit::load::{load_bytes, NoProgress};
use rollaudit::model::Field;
use rollaudit::profile::Profile;
use rollaudit::report::diff::render_log;
use rollaudit::snapshot::Snapshot;

use crate::util::Dir;

const HEADER: &str =
    "voter_id,given_name,family_name,birth_date,sex,address_line,precinct,district,status,status_reason,party";

/// OLD: one voter per change kind, plus one unchanged.
const OLD: &str = "\
V01,ANN,SMITH,1980-01-01,F,1 OAK ST,P1,D1,active,,A
V02,BEN,JONES,1950-02-02,M,2 OAK ST,P1,D1,active,,A
V03,CAT,BROWN,1960-03-03,F,3 OAK ST,P1,D1,active,,B
V04,DAN,WHITE,1970-04-04,M,4 OAK ST,P1,D1,removed,moved,B
V05,EVE,BLACK,1981-05-05,F,5 OAK ST,P1,D1,active,,A
V06,FAY,GREEN,1982-06-06,F,6 OAK ST,P1,D1,active,,A
V07,GUS,GRAY,1983-07-07,M,7 OAK ST,P1,D1,active,,A
V08,HEA,SMITH,1984-08-08,F,8 OAK ST,P1,D1,active,,A
V09,JONH,KING,1985-09-09,M,9 OAK ST,P2,D1,active,,A
V10,KIM,LEE,1986-10-10,F,10 OAK ST,P2,D1,active,,A
V11,LOU,HILL,1987-11-11,M,11 OAK ST,P2,D1,active,,A
V12,MAY,ROSS,1988-12-12,F,12 OAK ST,P2,D1,active,,A
V13,NED,COX,1940-01-13,M,13 OAK ST,P2,D1,active,,A
V14,OLA,DIAZ,1990-01-14,F,14 OAK ST,P2,D1,active,,A
V15,PIA,WOOD,1991-01-15,F,15 OAK ST,P2,D1,active,,A
V16,RAY,LONG,1992-01-16,M,16 OAK ST,P2,D1,active,,A
";

const NEW: &str = "\
V01,ANN,SMITH,1980-01-01,F,1 OAK ST,P1,D1,active,,A
V02,BEN,JONES,1950-02-02,M,2 OAK ST,P1,D1,removed,deceased,A
V03,CAT,BROWN,1960-03-03,F,3 OAK ST,P1,D1,inactive,no contact,B
V04,DAN,WHITE,1970-04-04,M,4 OAK ST,P1,D1,active,,B
V05,EVE,BLACK,1981-05-05,F,50 ELM RD,P1,D1,active,,A
V06,FAY,GREEN,1982-06-06,F,6 PINE AVE,P9,D1,active,,A
V07,GUS,GRAY,1983-07-07,M,7 OAK ST,P7,D1,active,,A
V08,HEA,GARCIA,1984-08-08,F,8 OAK ST,P1,D1,active,,A
V09,JOHN,KING,1985-09-09,M,9 OAK ST,P2,D1,active,,A
V10,KIM,LEE,1986-11-10,F,10 OAK ST,P2,D1,active,,A
V11,LOU,HILL,1987-11-11,F,11 OAK ST,P2,D1,active,,A
V12,MAY,ROSS,1988-12-12,F,12 OAK ST,P2,D1,active,,C
V14,ZED,QUINN,2001-07-30,M,14 OAK ST,P2,D1,active,,A
V16,RAY,LONG,1992-01-16,M,16 OAK ST,P2,D1,active,,A
V90,PIA,WOOD,1991-01-15,F,15 OAK ST,P2,D1,active,,A
V91,SUE,NEW,2008-01-01,F,99 OAK ST,P2,D1,pending,,A
";

fn snapshot(rows: &str) -> Snapshot {
    let text = format!("{HEADER}\n{rows}");
    load_bytes(
        text.into_bytes(),
        Path::new("fixture.csv"),
        &Profile::canonical(),
        &NoProgress,
    )
    .expect("fixture loads")
    .snapshot
}

#[test]
fn each_change_is_classified_by_its_rule() {
    let (old, new) = (snapshot(OLD), snapshot(NEW));
    let result = diff(&old, &new, &DiffConfig::default());
    let kind_of = |id: &str| -> Vec<ChangeKind> {
        let ids = new.voter_ids();
        let old_ids = old.voter_ids();
        result
            .records
            .iter()
            .find(|r| {
                r.new_row.and_then(|j| ids.get(j as usize)) == Some(id)
                    || (r.new_row.is_none()
                        && r.old_row.and_then(|i| old_ids.get(i as usize)) == Some(id))
            })
            .map(|r| r.kinds.clone())
            .unwrap_or_default()
    };
    use ChangeKind::*;
    let expected: [(&str, &[ChangeKind]); 15] = [
        ("V01", &[]),
        ("V02", &[Removal]),
        ("V03", &[Inactivation]),
        ("V04", &[Reactivation]),
        ("V05", &[MoveWithinPrecinct]),
        ("V06", &[MoveOutOfPrecinct]),
        ("V07", &[PrecinctReassignment]),
        ("V08", &[NameChange]),
        ("V09", &[NameCorrection]),
        ("V10", &[BirthDateChange]),
        ("V11", &[SexChange]),
        ("V12", &[PartyChange]),
        ("V13", &[Removal]),
        ("V14", &[IdReuse]),
        ("V90", &[Rekey]),
    ];
    for (id, kinds) in expected {
        assert_eq!(kind_of(id), kinds, "{id}");
    }
    assert_eq!(kind_of("V91"), [NewRegistration]);
    // V15 left and V90 arrived as the same person: one re-keying, not a removal plus a
    // registration.
    assert_eq!(result.kind_counts().get(&Rekey), Some(&1));
    assert_eq!(result.kind_counts().get(&NewRegistration), Some(&1));
    assert_eq!(result.kind_counts().get(&Removal), Some(&2));
    let c = result.counts;
    assert_eq!((c.added, c.removed, c.modified, c.unchanged), (2, 2, 12, 2));
}

#[test]
fn cli_diff_writes_change_log_summary_and_json() {
    let dir = Dir::new();
    dir.write("old.csv", format!("{HEADER}\n{OLD}"));
    dir.write("new.csv", format!("{HEADER}\n{NEW}"));
    let run = dir.run(&["diff", "old.csv", "new.csv", "-o", "out"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("added 2  removed 2  modified 12  unchanged 2"),
        "{}",
        run.stdout
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path("out/diff.json")).unwrap()).unwrap();
    assert_eq!(json["change_kinds"]["rekey"], 1);
    assert_eq!(json["removal_reasons"]["deceased"], 1);
    assert_eq!(json["removal_reasons"]["(dropped from the export)"], 1);
    let mut rdr = csv::Reader::from_path(dir.path("out/changes.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let v08: Vec<_> = rows.iter().filter(|r| &r[0] == "V08").collect();
    assert_eq!(v08.len(), 1);
    assert_eq!(
        (&v08[0][1], &v08[0][2], &v08[0][3], &v08[0][4]),
        ("family_name", "SMITH", "GARCIA", "name_change")
    );
    let summary = std::fs::read_to_string(dir.path("out/summary.csv")).unwrap();
    assert!(
        summary.contains("precinct_reassignment,D1,P7,1"),
        "{summary}"
    );
    assert!(dir.path("out/changes.parquet").exists());
}

#[test]
fn schema_drift_is_reported_not_counted_as_changes() {
    let old = snapshot(OLD);
    let with_email = format!(
        "{HEADER},email\n{}",
        OLD.lines()
            .map(|l| format!("{l},x@example.org\n"))
            .collect::<String>()
    );
    let new = load_bytes(
        with_email.into_bytes(),
        Path::new("n.csv"),
        &Profile::canonical(),
        &NoProgress,
    )
    .unwrap()
    .snapshot;
    let result = diff(&old, &new, &DiffConfig::default());
    assert_eq!(result.drift.only_new, [Field::Email]);
    assert_eq!(result.counts.modified, 0);
    assert!(result.log.is_empty());
}

/// A snapshot as plain text maps: voter_id -> field -> value.
type Table = BTreeMap<String, BTreeMap<String, String>>;

fn table(snap: &Snapshot) -> Table {
    let mut t = Table::new();
    for row in 0..snap.rows() {
        let mut rec = BTreeMap::new();
        for f in &snap.fields {
            if let Some(v) = snap.column(*f).unwrap().text(row) {
                rec.insert(f.name().to_string(), v.into_owned());
            }
        }
        t.insert(snap.voter_ids().get(row).unwrap().to_string(), rec);
    }
    t
}

/// Applies the change log as its format documents, independently of the diff's internals.
fn apply(old: &Snapshot, new: &Snapshot) -> Table {
    let result = diff(old, new, &DiffConfig::default());
    let log = render_log(&result, old, new);
    let mut t = table(old);
    for k in 0..log.voter_id.len() {
        let id = &log.voter_id[k];
        if log.field[k] == "voter_id" && log.new_value[k].is_none() {
            t.remove(id);
            continue;
        }
        let rec = t.entry(id.clone()).or_default();
        match &log.new_value[k] {
            Some(v) => rec.insert(log.field[k].to_string(), v.clone()),
            None => rec.remove(log.field[k]),
        };
    }
    t
}

fn arb_register() -> impl Strategy<Value = String> {
    let row = (
        0u8..40,
        prop::sample::select(vec!["ANN", "BOB", "CY", "DEE", ""]),
        prop::sample::select(vec!["SMITH", "LEE", "GARCIA"]),
        prop::sample::select(vec!["1980-01-01", "1990-12-31", ""]),
        prop::sample::select(vec!["active", "inactive", "removed"]),
        prop::sample::select(vec!["P1", "P2"]),
        prop::sample::select(vec!["1 OAK ST", "2 ELM RD"]),
    );
    prop::collection::vec(row, 0..30).prop_map(|rows| {
        let mut seen = std::collections::HashSet::new();
        let mut text = String::from(
            "voter_id,given_name,family_name,birth_date,status,precinct,address_line\n",
        );
        for (id, g, f, b, s, p, a) in rows {
            if seen.insert(id) {
                text.push_str(&format!("V{id:02},{g},{f},{b},{s},{p},{a}\n"));
            }
        }
        text
    })
}

fn load_text(text: &str) -> Snapshot {
    load_bytes(
        text.as_bytes().to_vec(),
        Path::new("p.csv"),
        &Profile::canonical(),
        &NoProgress,
    )
    .unwrap()
    .snapshot
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn diff_of_a_snapshot_with_itself_is_empty(a in arb_register()) {
        let s = load_text(&a);
        let r = diff(&s, &s, &DiffConfig::default());
        prop_assert!(r.identical && r.log.is_empty() && r.records.is_empty());
        prop_assert_eq!(r.counts.unchanged, s.rows() as u64);
    }

    #[test]
    fn counts_balance_and_the_log_rebuilds_new(a in arb_register(), b in arb_register()) {
        let (old, new) = (load_text(&a), load_text(&b));
        let r = diff(&old, &new, &DiffConfig::default());
        prop_assert_eq!(new.rows() as u64, old.rows() as u64 + r.counts.added - r.counts.removed);
        prop_assert_eq!(apply(&old, &new), table(&new));
    }

    #[test]
    fn swapping_sides_swaps_added_and_removed(a in arb_register(), b in arb_register()) {
        let (old, new) = (load_text(&a), load_text(&b));
        let forward = diff(&old, &new, &DiffConfig::default()).counts;
        let backward = diff(&new, &old, &DiffConfig::default()).counts;
        prop_assert_eq!(forward.added, backward.removed);
        prop_assert_eq!(forward.removed, backward.added);
        prop_assert_eq!(forward.modified, backward.modified);
    }
}
