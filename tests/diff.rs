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

use crate::util::{generated_series, Dir};
use rollaudit::generate::AnomalySelection;

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
    let log = render_log(&result.log, old, new);
    let mut t = table(old);
    for k in 0..log.voter_id.len() {
        let id = log.voter_id[k];
        if log.field[k] == "voter_id" && log.new_value[k].is_none() {
            t.remove(id);
            continue;
        }
        let rec = t.entry(id.to_string()).or_default();
        match &log.new_value[k] {
            Some(v) => rec.insert(log.field[k].to_string(), v.to_string()),
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

/// On a series without planted anomalies, the diff's counts per kind are the churn the
/// generator applied (truth.json `intervals[].churn`) plus its benign mass events.
#[test]
fn change_counts_match_the_generators_churn() {
    let dir = tempfile::tempdir().unwrap();
    let series = generated_series(dir.path(), 20_000, 3, 5, AnomalySelection::none());
    let (snaps, truth) = (series.snapshots, series.truth);
    for (t, pair) in snaps.windows(2).enumerate() {
        let interval = &truth["intervals"][t];
        let churn = |k: &str| interval["churn"][k].as_u64().unwrap();
        let event = |kind: &str| -> u64 {
            truth["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == kind && e["snapshot_to"] == interval["to"])
                .map(|e| e["count"].as_u64().unwrap())
                .sum()
        };
        let got = diff(&pair[0], &pair[1], &DiffConfig::default()).kind_counts();
        let n = |k: ChangeKind| got.get(&k).copied().unwrap_or(0);
        use ChangeKind::*;
        let redistricted = event("redistricting") > 0;
        let mut expected = vec![
            (NewRegistration, churn("new_registrations")),
            (
                Removal,
                churn("deaths")
                    + churn("moves_out")
                    + churn("voter_requests")
                    + churn("felony_removals")
                    + event("list-maintenance"),
            ),
            (Dropped, churn("dropped_removed_records")),
            (Inactivation, churn("inactivations")),
            (Reactivation, churn("reactivations")),
            (StatusChange, churn("coming_of_age")),
            (NameChange, churn("marriages")),
            (NameCorrection, churn("typo_corrections")),
            (PartyChange, churn("party_switches")),
            (BirthDateChange, churn("birth_date_corrections")),
        ];
        if !redistricted {
            expected.push((MoveWithinPrecinct, churn("moves_within_precinct")));
            expected.push((MoveOutOfPrecinct, churn("moves_between_precincts")));
            expected.push((PrecinctReassignment, 0));
        }
        for (kind, want) in expected {
            assert_eq!(n(kind), want, "interval {t}: {}", kind.name());
        }
        if redistricted {
            // A renumbered precinct turns a move inside it into a move between precinct codes,
            // so only the total of moves and reassignments is fixed.
            let moves = n(MoveWithinPrecinct) + n(MoveOutOfPrecinct) + n(PrecinctReassignment);
            let want = churn("moves_within_precinct")
                + churn("moves_between_precincts")
                + event("redistricting");
            println!(
                "interval {t}: moves and reassignments {moves}, churn and redistricting {want}"
            );
            assert!(n(PrecinctReassignment) >= event("redistricting") * 9 / 10);
        }
    }
}

/// Every planted id reuse and re-keying is classified as such.
#[test]
fn planted_id_reuse_and_rekeying_are_classified() {
    let dir = tempfile::tempdir().unwrap();
    let series = generated_series(dir.path(), 20_000, 3, 6, AnomalySelection::all_defaults());
    let (snaps, truth) = (series.snapshots, series.truth);
    let dates: Vec<String> = truth["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["date"].as_str().unwrap().to_string())
        .collect();
    let mut checked = 0;
    for event in truth["events"].as_array().unwrap() {
        let kind = event["kind"].as_str().unwrap();
        if kind != "id-reuse" && kind != "rekey" {
            continue;
        }
        let to = dates
            .iter()
            .position(|d| event["snapshot_to"] == d.as_str())
            .unwrap();
        let (old, new) = (&snaps[to - 1], &snaps[to]);
        let result = diff(old, new, &DiffConfig::default());
        let want = if kind == "id-reuse" {
            ChangeKind::IdReuse
        } else {
            ChangeKind::Rekey
        };
        let classified: std::collections::HashSet<&str> = result
            .records
            .iter()
            .filter(|r| r.kinds.contains(&want))
            .filter_map(|r| r.new_row.and_then(|j| new.voter_ids().get(j as usize)))
            .collect();
        for id in event["voter_ids"].as_array().unwrap() {
            assert!(
                classified.contains(id.as_str().unwrap()),
                "{kind}: {id} not classified"
            );
            checked += 1;
        }
        if kind == "rekey" {
            // Each re-keying pairs the old id with the new one: one record, both rows.
            for (old_id, new_id) in event["details"]["new_voter_id_of"].as_object().unwrap() {
                let paired = result.records.iter().any(|r| {
                    r.kinds == [ChangeKind::Rekey]
                        && r.old_row.and_then(|i| old.voter_ids().get(i as usize))
                            == Some(old_id.as_str())
                        && r.new_row.and_then(|j| new.voter_ids().get(j as usize))
                            == new_id.as_str()
                });
                assert!(paired, "rekey {old_id} -> {new_id}");
            }
        }
    }
    assert!(
        checked >= 12,
        "the default series plants id reuse and re-keying ({checked} ids)"
    );
}
