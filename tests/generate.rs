//! `generate`: the synthetic register generator, checked from its output files alone: layout,
//! determinism, distributions, the ground truth against the snapshots, and the committed
//! sample data. Expected values come from the configuration, the documented magnitudes or
//! independent counts over the files, never from the generator's own bookkeeping.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rollaudit::dates::{civil_from_days, days_from_civil, parse_iso_date};
use rollaudit::generate::{
    generate, parse_interval, sample_config, AnomalyKind, AnomalySelection, GenerateConfig,
    OutputFormat, SAMPLE_COMMAND,
};
use rollaudit::model::Field;

use crate::util::Dir;

/// One snapshot: rows by voter id, each row as its 26 canonical values.
struct Snapshot {
    rows: HashMap<String, Vec<String>>,
}

impl Snapshot {
    fn get(&self, id: &str) -> Option<&Vec<String>> {
        self.rows.get(id)
    }
}

fn value(row: &[String], field: Field) -> &str {
    &row[field.index()]
}

/// A generated series, read back from disk.
struct Series {
    dir: tempfile::TempDir,
    snapshots: BTreeMap<String, Snapshot>,
    truth: serde_json::Value,
}

impl Series {
    fn generate(config: impl FnOnce(PathBuf) -> GenerateConfig) -> Series {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let summary = generate(&config(dir.path().to_path_buf())).expect("generation succeeds");
        let truth: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("truth.json")).expect("truth.json"),
        )
        .expect("truth.json is JSON");
        let mut snapshots = BTreeMap::new();
        for s in truth["snapshots"].as_array().expect("snapshots") {
            let path = dir.path().join(s["file"].as_str().expect("file"));
            snapshots.insert(
                s["date"].as_str().expect("date").to_string(),
                read_snapshot(&path),
            );
        }
        assert_eq!(summary.rows_per_snapshot.len(), snapshots.len());
        Series {
            dir,
            snapshots,
            truth,
        }
    }

    fn at(&self, date: &str) -> &Snapshot {
        self.snapshots
            .get(date)
            .unwrap_or_else(|| panic!("no snapshot dated {date}"))
    }

    fn events(&self, kind: &str) -> Vec<&serde_json::Value> {
        self.truth["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == kind)
            .collect()
    }

    fn event(&self, kind: &str) -> &serde_json::Value {
        let events = self.events(kind);
        assert_eq!(events.len(), 1, "one {kind} event expected");
        events[0]
    }
}

fn read_snapshot(path: &Path) -> Snapshot {
    let bytes = std::fs::read(path).expect("read a snapshot");
    let text = if path.to_string_lossy().ends_with(".gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .expect("gunzip");
        s
    } else {
        String::from_utf8(bytes).expect("UTF-8")
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let expected: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(header, expected, "canonical header");
    let mut rows = HashMap::new();
    for record in reader.records() {
        let record = record.expect("a well-formed CSV record");
        let row: Vec<String> = record.iter().map(String::from).collect();
        assert_eq!(row.len(), 26);
        let previous = rows.insert(row[0].clone(), row);
        assert!(previous.is_none(), "voter ids are unique within a snapshot");
    }
    Snapshot { rows }
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("an array of ids")
        .iter()
        .map(|s| s.as_str().expect("an id").to_string())
        .collect()
}

/// The committed sample's configuration, as CSV, generated once per test binary.
fn sample() -> &'static Series {
    static SAMPLE: OnceLock<Series> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        Series::generate(|dir| GenerateConfig {
            format: OutputFormat::Csv,
            ..sample_config(dir)
        })
    })
}

#[test]
fn same_arguments_give_identical_bytes_and_another_seed_differs() {
    let config = |dir: &Path, seed| GenerateConfig {
        format: OutputFormat::CsvGz,
        ..GenerateConfig::new(3_000, 3, 30, seed, dir)
    };
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let first = generate(&config(a.path(), 7)).unwrap();
    generate(&config(b.path(), 7)).unwrap();
    generate(&config(c.path(), 8)).unwrap();
    assert_eq!(first.files.len(), 5);
    for file in &first.files {
        let name = file.file_name().unwrap();
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(b.path().join(name)).unwrap(),
            "{name:?} differs between runs"
        );
        if name.to_string_lossy().starts_with("register-") {
            assert_ne!(
                bytes,
                std::fs::read(c.path().join(name)).unwrap(),
                "{name:?} ignores the seed"
            );
        }
    }
}

#[test]
fn every_row_loads_with_the_canonical_profile() {
    let s = sample();
    for entry in std::fs::read_dir(s.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".csv") {
            continue;
        }
        let loaded = rollaudit::load::load_path(
            &path,
            &rollaudit::profile::Profile::canonical(),
            &rollaudit::load::NoProgress,
        )
        .expect("loads");
        assert_eq!(
            loaded.report.rows_rejected,
            0,
            "{:?}",
            loaded.report.rejects.first()
        );
        assert_eq!(
            loaded.report.rows_loaded as usize,
            s.at(&date_of(&path)).rows.len()
        );
    }
}

fn date_of(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    name["register-".len().."register-".len() + 10].to_string()
}

#[test]
fn values_follow_the_canonical_layout() {
    let s = sample();
    for snapshot in s.snapshots.values() {
        for row in snapshot.rows.values() {
            let id = value(row, Field::VoterId);
            assert!(
                id.len() == 10
                    && id.starts_with('V')
                    && id[1..].bytes().all(|b| b.is_ascii_digit())
            );
            for f in [Field::BirthDate, Field::RegistrationDate] {
                let v = value(row, f);
                assert!(v.is_empty() || parse_iso_date(v).is_some(), "{f:?} {v:?}");
            }
            assert!(
                ["active", "inactive", "removed", "pending"].contains(&value(row, Field::Status))
            );
            let changed = value(row, Field::ChangedAt);
            assert!(
                changed.is_empty() || (changed.len() == 19 && &changed[10..11] == "T"),
                "{changed}"
            );
            assert_eq!(changed.is_empty(), value(row, Field::ChangedBy).is_empty());
            let line = value(row, Field::AddressLine);
            assert!(line.starts_with(&format!(
                "{} {}",
                value(row, Field::HouseNumber),
                value(row, Field::Street)
            )));
            assert!(value(row, Field::Precinct).starts_with(value(row, Field::District)));
        }
    }
}

#[test]
fn every_planted_voter_id_is_where_the_truth_says() {
    let s = sample();
    let first = s.truth["snapshots"][0]["date"].as_str().unwrap();
    for e in s.truth["events"].as_array().unwrap() {
        let to = s.at(e["snapshot_to"].as_str().unwrap());
        let listed = ids(&e["voter_ids"]);
        assert_eq!(listed.len(), e["count"].as_u64().unwrap() as usize);
        for id in &listed {
            assert!(
                to.get(id).is_some(),
                "{} {id} missing from {}",
                e["kind"],
                e["snapshot_to"]
            );
        }
        if e["kind"] == "rekey" {
            let from = s.at(e["snapshot_from"].as_str().unwrap());
            for id in ids(&e["details"]["previous_voter_ids"]) {
                assert!(
                    from.get(&id).is_some() && to.get(&id).is_none(),
                    "rekeyed {id}"
                );
            }
        }
    }
    for d in s.truth["duplicates"].as_array().unwrap() {
        let at = s.at(d["snapshot"].as_str().unwrap());
        for key in ["original_voter_id", "duplicate_voter_id"] {
            assert!(at.get(d[key].as_str().unwrap()).is_some(), "{d}");
        }
    }
    let looks = &s.truth["look_alikes"];
    for pair in looks["twins"].as_array().unwrap() {
        ids(pair)
            .iter()
            .for_each(|id| assert!(s.at(first).get(id).is_some()));
    }
}

#[test]
fn every_default_anomaly_is_planted_with_its_magnitude() {
    let s = sample();
    assert_eq!(
        s.truth["not_planted"].as_array().unwrap().len(),
        0,
        "{}",
        s.truth["not_planted"]
    );
    for kind in AnomalyKind::ALL {
        let events = s.events(kind.name());
        assert!(!events.is_empty(), "{kind} not planted");
        for e in events {
            assert_eq!(e["magnitude"].as_f64(), Some(kind.default_magnitude()));
            assert_eq!(e["benign"].as_bool(), Some(kind.is_benign()), "{kind}");
            if !kind.is_fraction() {
                assert_eq!(
                    e["count"].as_u64(),
                    Some(kind.default_magnitude() as u64),
                    "{kind}"
                );
            }
        }
    }
    // Fuzzy duplicates: the fraction of the initial voters, in all.
    let expected = (AnomalyKind::FuzzyDuplicates.default_magnitude() * 20_000.0).round() as usize;
    assert_eq!(s.truth["duplicates"].as_array().unwrap().len(), expected);
    assert_eq!(s.events("list-maintenance").len(), 1);
    assert_eq!(s.events("redistricting").len(), 1);
}

/// Voters of `ids` with `pred` true in `snapshot`.
fn count_where(snapshot: &Snapshot, ids: &[String], pred: impl Fn(&[String]) -> bool) -> usize {
    ids.iter()
        .filter(|id| snapshot.get(id).is_some_and(|r| pred(r)))
        .count()
}

#[test]
fn targeted_purge_removes_the_requested_share_of_one_precinct() {
    let s = sample();
    let e = s.event("targeted-purge");
    let (from, to) = (
        s.at(e["snapshot_from"].as_str().unwrap()),
        s.at(e["snapshot_to"].as_str().unwrap()),
    );
    let precinct = e["scope_value"].as_str().unwrap();
    let purged = ids(&e["voter_ids"]);
    let active_before = from
        .rows
        .values()
        .filter(|r| value(r, Field::Precinct) == precinct && value(r, Field::Status) == "active")
        .count();
    let share = purged.len() as f64 / active_before as f64;
    // Requested 0.6 of the untouched active voters; routine churn touches a few percent.
    assert!(
        (0.54..=0.61).contains(&share),
        "purged {} of {active_before}",
        purged.len()
    );
    assert_eq!(
        count_where(to, &purged, |r| value(r, Field::Status) == "removed"),
        purged.len()
    );
    assert_eq!(
        count_where(from, &purged, |r| value(r, Field::Status) == "active"),
        purged.len()
    );
    // Peers lose only a few percent: the purge stands out.
    let removed_elsewhere = to
        .rows
        .values()
        .filter(|r| value(r, Field::Precinct) != precinct && value(r, Field::Status) == "removed")
        .filter(|r| {
            from.get(value(r, Field::VoterId))
                .is_some_and(|f| value(f, Field::Status) == "active")
        })
        .count();
    assert!((removed_elsewhere as f64) / (from.rows.len() as f64) < 0.05);
}

#[test]
fn skewed_purge_hits_one_party_in_the_quiet_period() {
    let s = sample();
    let e = s.event("skewed-purge");
    let (from, to) = (
        s.at(e["snapshot_from"].as_str().unwrap()),
        s.at(e["snapshot_to"].as_str().unwrap()),
    );
    let party = e["details"]["party"].as_str().unwrap();
    let district = e["scope_value"].as_str().unwrap();
    let purged = ids(&e["voter_ids"]);
    let party_active = from
        .rows
        .values()
        .filter(|r| value(r, Field::District) == district && value(r, Field::Status) == "active")
        .filter(|r| value(r, Field::Party) == party)
        .count();
    let share = purged.len() as f64 / party_active as f64;
    assert!(
        (0.22..=0.26).contains(&share),
        "{} of {party_active}",
        purged.len()
    );
    assert_eq!(
        count_where(to, &purged, |r| value(r, Field::Party) == party
            && value(r, Field::Status) == "removed"),
        purged.len()
    );
    let quiet_start = s.truth["calendar"]["quiet_period_start"].as_str().unwrap();
    assert_eq!(e["details"]["in_quiet_period"], true);
    assert_eq!(
        count_where(to, &purged, |r| &value(r, Field::ChangedAt)[..10]
            >= quiet_start),
        purged.len()
    );
}

#[test]
fn cluster_anomalies_put_the_requested_number_of_records_in_one_place() {
    let s = sample();
    let redirect = s.event("address-redirect");
    let to = s.at(redirect["snapshot_to"].as_str().unwrap());
    let address = redirect["scope_value"].as_str().unwrap();
    let listed = ids(&redirect["voter_ids"]);
    assert_eq!(
        count_where(to, &listed, |r| value(r, Field::AddressLine) == address),
        40
    );

    let bulk = s.event("bulk-registration");
    let (from, to) = (
        s.at(bulk["snapshot_from"].as_str().unwrap()),
        s.at(bulk["snapshot_to"].as_str().unwrap()),
    );
    let listed = ids(&bulk["voter_ids"]);
    assert!(
        listed.iter().all(|id| from.get(id).is_none()),
        "bulk registrations are new"
    );
    let at_address = to
        .rows
        .values()
        .filter(|r| value(r, Field::AddressLine) == bulk["scope_value"].as_str().unwrap())
        .count();
    assert!(at_address >= 45, "{at_address} at the bulk address");

    for e in s.events("shared-contact") {
        let to = s.at(e["snapshot_to"].as_str().unwrap());
        let field = if e["scope"] == "phone" {
            Field::Phone
        } else {
            Field::Email
        };
        let sharing = to
            .rows
            .values()
            .filter(|r| value(r, field) == e["scope_value"].as_str().unwrap())
            .count();
        assert_eq!(sharing, 25, "{}", e["scope"]);
    }
}

fn seconds_of_day(ts: &str) -> u32 {
    let h: u32 = ts[11..13].parse().unwrap();
    let m: u32 = ts[14..16].parse().unwrap();
    h * 3600 + m * 60 + ts[17..19].parse::<u32>().unwrap()
}

#[test]
fn audit_trail_anomalies_carry_their_signature() {
    let s = sample();
    let night = s.event("night-burst");
    let to = s.at(night["snapshot_to"].as_str().unwrap());
    let operator = night["scope_value"].as_str().unwrap();
    let listed = ids(&night["voter_ids"]);
    let at_night = count_where(to, &listed, |r| {
        value(r, Field::ChangedBy) == operator
            && (1800..=5 * 3600).contains(&seconds_of_day(value(r, Field::ChangedAt)))
    });
    assert_eq!(at_night, 120);

    let freeze = s.truth["calendar"]["roll_freeze"].as_str().unwrap();
    let post = s.event("post-freeze-edits");
    let to = s.at(post["snapshot_to"].as_str().unwrap());
    let listed = ids(&post["voter_ids"]);
    assert_eq!(
        count_where(to, &listed, |r| &value(r, Field::ChangedAt)[..10] > freeze),
        60
    );
    // Nothing else is edited after the freeze.
    let late = to
        .rows
        .values()
        .filter(|r| {
            !value(r, Field::ChangedAt).is_empty() && &value(r, Field::ChangedAt)[..10] > freeze
        })
        .count();
    assert_eq!(late, 60);

    // Routine edits by clerks happen on weekdays in office hours.
    let burst: HashSet<&String> = listed.iter().collect();
    let night_ids: HashSet<String> = ids(&night["voter_ids"]).into_iter().collect();
    for r in s.at(night["snapshot_from"].as_str().unwrap()).rows.values() {
        let (ts, by) = (value(r, Field::ChangedAt), value(r, Field::ChangedBy));
        if ts.is_empty() || by == "SYSTEM" || burst.contains(&r[0]) || night_ids.contains(&r[0]) {
            continue;
        }
        let day = parse_iso_date(&ts[..10]).unwrap();
        assert!((day + 3).rem_euclid(7) < 5, "weekend edit {ts}");
        assert!(
            (8 * 3600..18 * 3600).contains(&seconds_of_day(ts)),
            "edit at {ts}"
        );
    }
}

#[test]
fn status_and_identity_anomalies() {
    let s = sample();
    let react = s.event("mass-reactivation");
    let (from, to) = (
        s.at(react["snapshot_from"].as_str().unwrap()),
        s.at(react["snapshot_to"].as_str().unwrap()),
    );
    let listed = ids(&react["voter_ids"]);
    assert_eq!(
        count_where(from, &listed, |r| value(r, Field::Status) == "removed"),
        80
    );
    assert_eq!(
        count_where(to, &listed, |r| value(r, Field::Status) == "active"),
        80
    );

    let reuse = s.event("id-reuse");
    let (from, to) = (
        s.at(reuse["snapshot_from"].as_str().unwrap()),
        s.at(reuse["snapshot_to"].as_str().unwrap()),
    );
    for id in ids(&reuse["voter_ids"]) {
        let (a, b) = (from.get(&id).unwrap(), to.get(&id).unwrap());
        assert_eq!(value(a, Field::Status), "removed");
        assert_ne!(
            (
                value(a, Field::GivenName),
                value(a, Field::FamilyName),
                value(a, Field::BirthDate)
            ),
            (
                value(b, Field::GivenName),
                value(b, Field::FamilyName),
                value(b, Field::BirthDate)
            ),
            "{id} holds a different person"
        );
    }

    let party = s.event("mass-party-switch");
    let (from, to) = (
        s.at(party["snapshot_from"].as_str().unwrap()),
        s.at(party["snapshot_to"].as_str().unwrap()),
    );
    let target = party["details"]["party"].as_str().unwrap();
    let listed = ids(&party["voter_ids"]);
    assert_eq!(
        count_where(from, &listed, |r| value(r, Field::Party) != target),
        listed.len()
    );
    assert_eq!(
        count_where(to, &listed, |r| value(r, Field::Party) == target),
        listed.len()
    );
    assert!(listed.len() >= 100, "a mass switch of {}", listed.len());

    let edits = s.event("birth-date-edits");
    let (from, to) = (
        s.at(edits["snapshot_from"].as_str().unwrap()),
        s.at(edits["snapshot_to"].as_str().unwrap()),
    );
    for id in ids(&edits["voter_ids"]) {
        let (a, b) = (
            value(&from.rows[&id], Field::BirthDate),
            value(&to.rows[&id], Field::BirthDate),
        );
        assert_ne!(a[..4], b[..4], "{id}: the year changes");
    }

    let implausible = s.event("implausible-records");
    let to = s.at(implausible["snapshot_to"].as_str().unwrap());
    let to_day = parse_iso_date(implausible["snapshot_to"].as_str().unwrap()).unwrap();
    for (id, problem) in implausible["details"]["problems"].as_object().unwrap() {
        let r = to.get(id).unwrap();
        let birth = parse_iso_date(value(r, Field::BirthDate));
        let registered = parse_iso_date(value(r, Field::RegistrationDate)).unwrap();
        let ok = match problem.as_str().unwrap() {
            "placeholder_birth_date_1900" => value(r, Field::BirthDate) == "1900-01-01",
            "placeholder_birth_date_1800" => value(r, Field::BirthDate) == "1800-01-01",
            "impossible_age" => birth.is_some_and(|b| to_day - b > 120 * 365),
            "registration_before_birth" => birth.is_some_and(|b| registered < b),
            "future_birth_date" => birth.is_some_and(|b| b > to_day),
            "underage_active" => {
                birth.is_some_and(|b| to_day - b < 17 * 365) && value(r, Field::Status) == "active"
            }
            "hostile_text" => value(r, Field::FamilyName).starts_with(['=', '<']),
            other => panic!("undocumented problem {other}"),
        };
        assert!(ok, "{id}: {problem} not visible in {r:?}");
    }
}

#[test]
fn benign_mass_events_are_uniform_and_explainable() {
    let s = sample();
    let e = s.event("redistricting");
    let (from, to) = (
        s.at(e["snapshot_from"].as_str().unwrap()),
        s.at(e["snapshot_to"].as_str().unwrap()),
    );
    let codes = e["details"]["precinct_codes"].as_object().unwrap();
    for id in ids(&e["voter_ids"]) {
        if let (Some(a), Some(b)) = (from.get(&id), to.get(&id)) {
            if value(a, Field::AddressLine) == value(b, Field::AddressLine) {
                assert_eq!(
                    codes[value(a, Field::Precinct)],
                    value(b, Field::Precinct),
                    "{id}"
                );
            }
        }
    }
    // List maintenance removes long-inactive voters at the same rate in every district:
    // each district's share is within sampling noise of the overall share.
    let lm = s.event("list-maintenance");
    let to = s.at(lm["snapshot_to"].as_str().unwrap());
    let mut per_district: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids(&lm["voter_ids"]) {
        *per_district
            .entry(value(&to.rows[&id], Field::District))
            .or_default() += 1;
        assert_eq!(value(&to.rows[&id], Field::StatusReason), "inactivity");
    }
    assert!(per_district.len() >= 5);
}

#[test]
fn duplicates_differ_from_their_originals_in_the_listed_ways() {
    let s = sample();
    let mut seen = HashSet::new();
    for d in s.truth["duplicates"].as_array().unwrap() {
        let at = s.at(d["snapshot"].as_str().unwrap());
        let o = at.get(d["original_voter_id"].as_str().unwrap()).unwrap();
        let c = at.get(d["duplicate_voter_id"].as_str().unwrap()).unwrap();
        let listed: HashSet<&str> = d["corruptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        seen.extend(listed.iter().map(|s| s.to_string()));
        let has = |k: &str| listed.contains(k);
        let (og, of, cg, cf) = (
            value(o, Field::GivenName),
            value(o, Field::FamilyName),
            value(c, Field::GivenName),
            value(c, Field::FamilyName),
        );
        if has("swapped_names") {
            assert_eq!((cg, cf), (of, og));
        } else {
            let given_changed = [
                "typo_given_name",
                "ocr_given_name",
                "phonetic_given_name",
                "nickname",
            ]
            .iter()
            .any(|k| has(k));
            assert_eq!(og != cg, given_changed, "{d}");
            let family_changed = [
                "typo_family_name",
                "ocr_family_name",
                "phonetic_family_name",
            ]
            .iter()
            .any(|k| has(k));
            assert_eq!(of != cf, family_changed, "{d}");
            if has("typo_given_name") || has("ocr_given_name") {
                assert!(strsim::levenshtein(og, cg) <= 2, "{og} -> {cg}");
            }
        }
        let (ob, cb) = (value(o, Field::BirthDate), value(c, Field::BirthDate));
        if has("day_month_transposed") {
            let (y, m, day) = civil_from_days(parse_iso_date(ob).unwrap());
            assert_eq!(parse_iso_date(cb), Some(days_from_civil(y, day, m)));
        } else if has("missing_birth_date") {
            assert!(cb.is_empty() && !ob.is_empty());
        } else {
            assert_eq!(ob, cb, "{d}");
        }
        assert_eq!(
            value(c, Field::MiddleName).is_empty() && !value(o, Field::MiddleName).is_empty(),
            has("missing_middle_name"),
            "{d}"
        );
        assert_eq!(
            value(c, Field::NationalId).is_empty() && !value(o, Field::NationalId).is_empty(),
            has("missing_national_id"),
            "{d}"
        );
        let same = value(o, Field::AddressLine) == value(c, Field::AddressLine)
            && value(o, Field::Precinct) == value(c, Field::Precinct);
        assert_eq!(d["same_address"].as_bool(), Some(!has("moved")));
        if !has("moved") {
            assert!(same, "{d}");
        }
        assert_eq!(value(o, Field::Sex), value(c, Field::Sex));
    }
    for kind in [
        "nickname",
        "swapped_names",
        "day_month_transposed",
        "typo_given_name",
        "ocr_family_name",
        "phonetic_given_name",
        "moved",
        "missing_national_id",
    ] {
        assert!(seen.contains(kind), "no duplicate with {kind}");
    }
}

#[test]
fn look_alikes_are_distinct_people_sharing_what_families_share() {
    let s = sample();
    let first = s.at(s.truth["snapshots"][0]["date"].as_str().unwrap());
    let looks = &s.truth["look_alikes"];
    let twins = looks["twins"].as_array().unwrap();
    assert!(!twins.is_empty());
    for pair in twins {
        let p = ids(pair);
        let (a, b) = (&first.rows[&p[0]], &first.rows[&p[1]]);
        assert_eq!(value(a, Field::BirthDate), value(b, Field::BirthDate));
        assert_eq!(value(a, Field::AddressLine), value(b, Field::AddressLine));
        assert_eq!(value(a, Field::FamilyName), value(b, Field::FamilyName));
    }
    let pairs = looks["junior_senior"].as_array().unwrap();
    assert!(!pairs.is_empty());
    for p in pairs {
        let (j, s) = (
            &first.rows[p["junior"].as_str().unwrap()],
            &first.rows[p["senior"].as_str().unwrap()],
        );
        assert_eq!(
            (value(j, Field::NameSuffix), value(s, Field::NameSuffix)),
            ("JR", "SR")
        );
        assert_eq!(value(j, Field::GivenName), value(s, Field::GivenName));
        assert_eq!(value(j, Field::AddressLine), value(s, Field::AddressLine));
        assert_ne!(value(j, Field::BirthDate), value(s, Field::BirthDate));
    }
    for r in looks["large_residences"].as_array().unwrap() {
        let n = first
            .rows
            .values()
            .filter(|row| value(row, Field::AddressLine) == r["address_line"].as_str().unwrap())
            .count();
        assert!(n >= r["voters"].as_u64().unwrap() as usize && n >= 40);
    }
}

#[test]
fn surnames_are_heavy_tailed() {
    let s = sample();
    let first = s.at(s.truth["snapshots"][0]["date"].as_str().unwrap());
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in first.rows.values() {
        *counts.entry(value(r, Field::FamilyName)).or_default() += 1;
    }
    let mut freq: Vec<usize> = counts.values().copied().collect();
    freq.sort_unstable_by(|a, b| b.cmp(a));
    let total: usize = freq.iter().sum();
    let top = freq[..freq.len().div_ceil(100)].iter().sum::<usize>() as f64 / total as f64;
    // A uniform distribution would give the most common 1% of surnames 1% of the voters; the
    // Census head (SMITH, JOHNSON, ...) gives them over 15 times that.
    assert!(top > 0.15, "top 1% of surnames cover {top:.3}");
    // The most common surname holds ~0.5-1.5% (SMITH: 0.83% of the US).
    let share = freq[0] as f64 / total as f64;
    assert!((0.004..0.02).contains(&share), "top surname share {share}");
    // Rank-frequency slope on a log-log scale, ranks 10 to 300: Zipf-like, about -1.
    let points: Vec<(f64, f64)> = (10..300)
        .map(|r| (((r + 1) as f64).ln(), (freq[r] as f64).ln()))
        .collect();
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let slope = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
        / points.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    assert!((-1.6..-0.4).contains(&slope), "log-log slope {slope}");
    // Same name and birth date pairs occur by coincidence (Goel et al.).
    let mut name_dob: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for r in first.rows.values() {
        *name_dob
            .entry((
                value(r, Field::GivenName),
                value(r, Field::FamilyName),
                value(r, Field::BirthYear),
            ))
            .or_default() += 1;
    }
    assert!(name_dob.values().any(|&c| c > 1), "common names collide");
}

#[test]
fn precinct_removal_rates_are_overdispersed() {
    let s = Series::generate(|dir| GenerateConfig {
        anomalies: AnomalySelection::none(),
        ..GenerateConfig::new(60_000, 2, 180, 11, dir)
    });
    let dates: Vec<&String> = s.snapshots.keys().collect();
    let (from, to) = (&s.snapshots[dates[0]], &s.snapshots[dates[1]]);
    // Removals and moves of voters living at the first snapshot, per precinct.
    let mut per_precinct: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (id, r) in &from.rows {
        if !["active", "inactive"].contains(&value(r, Field::Status)) {
            continue;
        }
        let e = per_precinct.entry(value(r, Field::Precinct)).or_default();
        e.0 += 1.0;
        let changed = to.get(id).is_none_or(|t| {
            value(t, Field::Status) == "removed"
                || value(t, Field::AddressLine) != value(r, Field::AddressLine)
        });
        if changed {
            e.1 += 1.0;
        }
    }
    let (n, x): (f64, f64) = per_precinct
        .values()
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let p = x / n;
    // Pearson dispersion: 1 for binomial counts, well above 1 when rates vary between areas.
    let chi2: f64 = per_precinct
        .values()
        .map(|&(ni, xi)| (xi - ni * p).powi(2) / (ni * p * (1.0 - p)))
        .sum();
    let dispersion = chi2 / (per_precinct.len() - 1) as f64;
    assert!(p > 0.02 && p < 0.15, "half-year removal-or-move rate {p}");
    assert!(
        dispersion > 2.0,
        "dispersion {dispersion} over {} precincts",
        per_precinct.len()
    );
    // With anomalies off, only the benign events are in the truth.
    let kinds: HashSet<&str> = s.truth["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, HashSet::from(["list-maintenance", "redistricting"]));
}

#[test]
fn churn_rates_are_plausible() {
    let s = sample();
    for interval in s.truth["intervals"].as_array().unwrap() {
        let rows = s.at(interval["from"].as_str().unwrap()).rows.len() as f64;
        let per_year = |k: &str| interval["churn"][k].as_f64().unwrap() / rows * 365.25 / 90.0;
        // DOMAIN.md: deaths ~0.9%/yr, moves 8-10%/yr, party switches 1-2%/yr.
        assert!((0.004..0.016).contains(&per_year("deaths")), "{interval}");
        let moves = per_year("moves_out")
            + per_year("moves_within_precinct")
            + per_year("moves_between_precincts");
        assert!((0.06..0.13).contains(&moves), "moves {moves}");
        assert!(
            (0.008..0.025).contains(&per_year("party_switches")),
            "{interval}"
        );
    }
}

#[test]
fn election_calendar_brackets_the_last_interval() {
    let s = sample();
    let text = std::fs::read_to_string(s.dir.path().join("election.toml")).unwrap();
    let cal: toml::Value = toml::from_str(&text).unwrap();
    let date = |k: &str| parse_iso_date(cal[k].as_str().unwrap()).unwrap();
    let dates: Vec<i32> = s
        .snapshots
        .keys()
        .map(|d| parse_iso_date(d).unwrap())
        .collect();
    let (prev, last) = (dates[dates.len() - 2], dates[dates.len() - 1]);
    assert!(
        prev < date("registration_cutoff") && date("registration_cutoff") < date("roll_freeze")
    );
    assert!(date("roll_freeze") <= last && date("election_day") > last);
    let quiet = cal["quiet_period_days"].as_integer().unwrap() as i32;
    assert!(
        date("election_day") - quiet < last,
        "the quiet period overlaps the last interval"
    );
    let phases = cal["phases"].as_array().unwrap();
    let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "registration",
            "claims_and_objections",
            "final_roll",
            "election_day"
        ]
    );
}

#[test]
fn one_snapshot_plants_what_fits_and_says_what_does_not() {
    let s = Series::generate(|dir| GenerateConfig::new(2_000, 1, 90, 3, dir));
    assert_eq!(s.snapshots.len(), 1);
    let not_planted = s.truth["not_planted"].as_array().unwrap();
    assert!(not_planted.iter().any(|n| n["kind"] == "targeted-purge"));
    assert_eq!(s.truth["duplicates"].as_array().unwrap().len(), 20);
    assert_eq!(s.events("implausible-records").len(), 1);
}

#[test]
fn parquet_snapshots_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let config = GenerateConfig {
        format: OutputFormat::Parquet,
        ..GenerateConfig::new(1_000, 2, 30, 5, dir.path())
    };
    let summary = generate(&config).unwrap();
    let loaded = rollaudit::load::load_path(
        &summary.files[1],
        &rollaudit::profile::Profile::canonical(),
        &rollaudit::load::NoProgress,
    )
    .expect("the Parquet snapshot loads");
    assert_eq!(
        loaded.report.rows_loaded as usize,
        summary.rows_per_snapshot[1]
    );
}

#[test]
fn interval_and_format_arguments_parse() {
    assert_eq!(parse_interval("90d"), Ok(90));
    assert_eq!(parse_interval("12w"), Ok(84));
    assert!(parse_interval("-3d").is_err());
    assert_eq!("csv.gz".parse::<OutputFormat>(), Ok(OutputFormat::CsvGz));
    assert!("none".parse::<AnomalySelection>().unwrap().kinds.is_empty());
}

#[test]
fn committed_sample_data_is_reproducible() {
    let committed = crate::util::repo().join("sample-data");
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&sample_config(dir.path())).unwrap();
    for file in &summary.files {
        let name = file.file_name().unwrap();
        let expected = std::fs::read(committed.join(name)).unwrap_or_else(|e| {
            panic!("sample-data/{name:?} is not committed ({e}); regenerate it")
        });
        assert!(std::fs::read(file).unwrap() == expected, "sample-data/{name:?} differs from a fresh generation: regenerate it with the command in sample-data/README.md");
    }
}

#[test]
fn the_binary_runs_the_documented_sample_command() {
    let dir = Dir::new();
    let args: Vec<&str> = SAMPLE_COMMAND.split_whitespace().skip(1).collect();
    assert_eq!(args.last(), Some(&"sample-data"));
    dir.run(&args).expect_code(0);
    let library = tempfile::tempdir().unwrap();
    let summary = generate(&sample_config(library.path())).unwrap();
    for file in &summary.files {
        let name = file.file_name().unwrap();
        let by_binary = std::fs::read(dir.path("sample-data").join(name)).unwrap();
        assert!(
            by_binary == std::fs::read(file).unwrap(),
            "{name:?}: binary and library differ"
        );
    }
}

#[test]
fn bad_generate_arguments_are_refused() {
    let dir = Dir::new();
    let unknown = ["generate", "--anomalies", "purge", "-o", "out"];
    let run = dir.run(&unknown);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unknown anomaly kind \"purge\""),
        "{}",
        run.stderr
    );
    let short = [
        "generate",
        "--voters",
        "500",
        "--interval",
        "3d",
        "-o",
        "out",
    ];
    let run = dir.run(&short);
    run.expect_one_line_error();
    assert!(run.stderr.contains("interval"), "{}", run.stderr);
}
