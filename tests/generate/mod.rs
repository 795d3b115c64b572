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

// The planted anomalies: each kind with its magnitude and signature.
mod planted;
// The population: duplicates, look-alikes, distributions, calendar, formats, the sample.
mod population;
