//! `scan`: the record rules on one snapshot. Each rule fires on a hand-built register with the
//! expected voter ids and stays silent on its clean twin; households and an allowlisted
//! dormitory stay at info; a rule missing its fields says so; and on generated series every
//! planted record-level anomaly is found while an anomaly-free series raises (almost) nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rollaudit::calendar::ElectionCalendar;
use rollaudit::dates::parse_iso_date;
use rollaudit::findings::{Finding, RuleStatus, Severity};
use rollaudit::generate::{generate, AnomalySelection, GenerateConfig};
use rollaudit::load::{load_bytes, load_path, NoProgress};
use rollaudit::model::Field;
use rollaudit::profile::Profile;
use rollaudit::report::scan::{scan_json, write_scan};
use rollaudit::rules::{date_in_file_name, scan, Allowlist, ScanConfig, ScanResult};
use rollaudit::snapshot::Snapshot;

use crate::util::calendar_of;

const HEADER: &str = "voter_id,national_id,given_name,family_name,birth_date,address_line,\
                      locality,postcode,precinct,registration_date,status,phone,email";

const CALENDAR: &str = r#"
name = "Test election"
election_day = "2026-10-22"
registration_cutoff = "2026-08-23"
"#;

const SNAPSHOT_DATE: &str = "2026-10-02";

/// One record of a hand-built register, as canonical text.
#[derive(Clone)]
struct Rec {
    id: String,
    national_id: String,
    given: String,
    family: String,
    birth: String,
    address: String,
    locality: String,
    registered: String,
    status: String,
    phone: String,
    email: String,
}

impl Rec {
    /// The value of a column of [`HEADER`].
    fn get(&self, column: &str) -> &str {
        match column {
            "voter_id" => &self.id,
            "national_id" => &self.national_id,
            "given_name" => &self.given,
            "family_name" => &self.family,
            "birth_date" => &self.birth,
            "address_line" => &self.address,
            "locality" => &self.locality,
            "postcode" => "10001",
            "precinct" => "P-01",
            "registration_date" => &self.registered,
            "status" => &self.status,
            "phone" => &self.phone,
            "email" => &self.email,
            _ => panic!("no column {column} in the fixture"),
        }
    }
}

/// A CSV cell, quoted when it must be.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

const GIVEN: [&str; 12] = [
    "ANNA", "BEN", "CLARA", "DAVID", "EMMA", "FELIX", "GRACE", "HUGO", "IRIS", "JONAS", "KATE",
    "LEO",
];
const FAMILY: [&str; 10] = [
    "SMITH",
    "NGUYEN",
    "O'BRIEN",
    "GARCIA",
    "MULLER",
    "ROSSI",
    "KOWALSKI",
    "DUBOIS",
    "SATO",
    "MC DONALD",
];

fn date(days: i32) -> String {
    rollaudit::dates::IsoDate(days).to_string()
}

fn day(s: &str) -> i32 {
    parse_iso_date(s).expect("a test date")
}

/// A plausible adult, distinct from every other `person(k)`.
fn person(k: usize, address: &str) -> Rec {
    let birth = day("1940-01-01") + (k as i32 * 397) % 22_000;
    Rec {
        id: format!("V{k:06}"),
        national_id: format!("{}", 500_000_000 + k * 7),
        given: GIVEN[k % GIVEN.len()].to_string(),
        family: format!(
            "{}{}",
            FAMILY[k % FAMILY.len()],
            if k.is_multiple_of(3) { "" } else { "-LEE" }
        ),
        birth: date(birth),
        address: address.to_string(),
        locality: "SPRINGFIELD".into(),
        registered: date(birth + 20 * 365 + (k as i32 % 300)),
        status: "active".into(),
        phone: format!("555{:07}", k * 13),
        email: format!("voter{k}@mail.example"),
    }
}

/// 120 households of 1 to 6 adults; a household shares its landline.
fn households() -> Vec<Rec> {
    let mut out = Vec::new();
    for h in 0..120 {
        let size = 1 + h % 6;
        let address = format!("{} OAK ST", 10 + h);
        for m in 0..size {
            let mut r = person(out.len() + 1, &address);
            if h % 2 == 0 {
                r.phone = format!("555{:07}", 9_000_000 + h);
            }
            if m > 0 && h % 3 == 0 {
                r.email = String::new();
            }
            out.push(r);
        }
    }
    out
}

/// The records as a CSV file's text.
fn csv_text(recs: &[Rec], header: &str) -> String {
    let mut text = format!("{header}\n");
    for r in recs {
        let cells: Vec<String> = header.split(',').map(|c| quote(r.get(c))).collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
}

fn load(recs: &[Rec], header: &str) -> Snapshot {
    let loaded = load_bytes(
        csv_text(recs, header).into_bytes(),
        Path::new("register-2026-10-02.csv"),
        &Profile::canonical(),
        &NoProgress,
    )
    .expect("the fixture loads");
    assert_eq!(
        loaded.report.rows_rejected, 0,
        "{:?}",
        loaded.report.rejects
    );
    loaded.snapshot
}

fn calendar() -> ElectionCalendar {
    ElectionCalendar::parse(CALENDAR, "test.toml").expect("the test calendar parses")
}

fn run(recs: &[Rec], config: &ScanConfig) -> ScanResult {
    let snap = load(recs, HEADER);
    scan(
        &snap,
        day(SNAPSHOT_DATE),
        Some(&calendar()),
        config,
        None,
        &[],
    )
}

fn of_rule<'a>(result: &'a ScanResult, rule: &str) -> Vec<&'a Finding> {
    result.findings.iter().filter(|f| f.rule == rule).collect()
}

/// Readable list of findings for assertion messages.
fn show(result: &ScanResult) -> String {
    result
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {:?}\n",
                f.rule,
                f.severity.name(),
                f.scope_value,
                &f.voter_ids[..f.voter_ids.len().min(5)]
            )
        })
        .collect()
}

#[test]
fn a_clean_register_of_households_raises_nothing_and_every_rule_runs() {
    let result = run(&households(), &ScanConfig::default());
    assert!(result.findings.is_empty(), "{}", show(&result));
    for r in &result.runs {
        match r.rule {
            "R-DECEASED-MATCH" => assert!(matches!(r.status, RuleStatus::NotApplicable { .. })),
            _ => assert_eq!(r.status, RuleStatus::Ran, "{}", r.rule),
        }
    }
    assert_eq!(result.runs.len(), rollaudit::rules::RULES.len());
}

/// One record edited by `edit` fires `rule` at `severity`, with that record's id.
fn fires(rule: &str, severity: Severity, edit: impl Fn(&mut Rec)) {
    let mut recs = households();
    let target = 17;
    edit(&mut recs[target]);
    let result = run(&recs, &ScanConfig::default());
    let found = of_rule(&result, rule);
    assert_eq!(found.len(), 1, "{rule}:\n{}", show(&result));
    assert_eq!(found[0].voter_ids, vec![recs[target].id.clone()], "{rule}");
    assert_eq!(found[0].severity, severity, "{rule}");
}

#[test]
fn each_record_rule_fires_on_one_bad_record() {
    fires("R-AGE-UNDER", Severity::Medium, |r| {
        r.birth = "2012-03-01".into();
        r.registered = "2026-03-01".into();
    });
    fires("R-AGE-OVER", Severity::Medium, |r| {
        r.birth = "1901-06-01".into()
    });
    fires("R-BIRTH-FUTURE", Severity::Medium, |r| {
        r.birth = "2027-05-01".into()
    });
    fires("R-BIRTH-PLACEHOLDER", Severity::Medium, |r| {
        r.birth = "1800-01-01".into()
    });
    fires("R-BIRTH-PLACEHOLDER", Severity::Medium, |r| {
        r.birth = "1900-01-01".into()
    });
    fires("R-REG-BEFORE-BIRTH", Severity::Medium, |r| {
        r.registered = "1935-01-01".into()
    });
    fires("R-REG-UNDER-AGE", Severity::Medium, |r| {
        r.birth = "1990-01-01".into();
        r.registered = "2003-05-05".into();
    });
    fires("R-REG-AFTER-CUTOFF", Severity::Medium, |r| {
        r.registered = "2026-09-01".into()
    });
    fires("R-REG-FUTURE", Severity::Medium, |r| {
        r.registered = "2026-12-01".into()
    });
    fires("R-NAME-MARKUP", Severity::Medium, |r| {
        r.family = "<script>alert(1)</script>".into()
    });
    fires("R-NAME-MARKUP", Severity::Medium, |r| {
        r.family = "=HYPERLINK(\"http://x.example\",\"click\")".into()
    });
    fires("R-NAME-MARKUP", Severity::Medium, |r| {
        r.given = "ANNA\u{202E}LEE".into()
    });
    fires("R-NAME-IMPLAUSIBLE", Severity::Medium, |r| {
        r.given = "TEST".into()
    });
    fires("R-NAME-IMPLAUSIBLE", Severity::Medium, |r| {
        r.family = "UNKNOWN".into()
    });
    fires("R-NAME-IMPLAUSIBLE", Severity::Low, |r| {
        r.family = "SM1TH".into()
    });
}

#[test]
fn pending_pre_registrations_are_lawful_and_removed_records_are_low() {
    let mut recs = households();
    recs[5].birth = "2009-12-01".into();
    recs[5].registered = "2026-01-10".into();
    recs[5].status = "pending".into();
    recs[6].birth = "1899-03-01".into();
    recs[6].status = "removed".into();
    let result = run(&recs, &ScanConfig::default());
    assert!(
        of_rule(&result, "R-AGE-UNDER").is_empty(),
        "{}",
        show(&result)
    );
    assert!(
        of_rule(&result, "R-REG-UNDER-AGE").is_empty(),
        "{}",
        show(&result)
    );
    let over = of_rule(&result, "R-AGE-OVER");
    assert_eq!(over.len(), 1, "{}", show(&result));
    assert_eq!(over[0].severity, Severity::Low);
}

#[test]
fn a_repeated_national_id_is_high_while_both_records_can_vote() {
    let mut recs = households();
    recs[40].national_id = recs[3].national_id.clone();
    let result = run(&recs, &ScanConfig::default());
    let found = of_rule(&result, "R-ID-REPEATED");
    assert_eq!(found.len(), 1, "{}", show(&result));
    assert_eq!(found[0].severity, Severity::High);
    assert_eq!(
        found[0].voter_ids,
        vec![recs[3].id.clone(), recs[40].id.clone()]
    );
    let facts = format!("{:?}", found[0].evidence.facts);
    assert!(
        !facts.contains(&recs[3].national_id),
        "the id itself stays out"
    );

    recs[40].status = "removed".into();
    let result = run(&recs, &ScanConfig::default());
    assert_eq!(
        of_rule(&result, "R-ID-REPEATED")[0].severity,
        Severity::Info
    );
}

#[test]
fn an_over_represented_birth_date_is_found_with_its_records() {
    let mut recs = households();
    for r in recs.iter_mut().skip(100).take(30) {
        r.birth = "1965-01-01".into();
    }
    let result = run(&recs, &ScanConfig::default());
    let found = of_rule(&result, "R-BIRTH-OVERREP");
    assert_eq!(found.len(), 1, "{}", show(&result));
    assert_eq!(found[0].voter_ids.len(), 30);
    assert_eq!(found[0].severity, Severity::Medium);
    assert!(found[0].evidence.q_value.is_some_and(|q| q < 1e-6));
}

/// `n` new people at `address`, registered from `first` one day apart.
fn residents(n: usize, address: &str, first: &str, step: i32, from: usize) -> Vec<Rec> {
    (0..n)
        .map(|i| {
            let mut r = person(from + i, address);
            r.registered = date(day(first) + i as i32 * step);
            r
        })
        .collect()
}

#[test]
fn a_bulk_registration_is_high_and_an_allowlisted_dormitory_is_info() {
    let mut recs = households();
    let n = recs.len();
    recs.extend(residents(45, "7 HIGH ST", "2026-05-04", 0, 10_000));
    recs.extend(residents(150, "1 College Way", "2019-09-01", 9, 20_000));
    let allowlist = Allowlist::parse(
        "address_line,locality,postcode,kind\n1 COLLEGE WAY.,SPRINGFIELD,,dormitory\n",
        "allow.csv",
    )
    .expect("allowlist parses");
    let config = ScanConfig {
        allowlist,
        ..ScanConfig::default()
    };
    let result = run(&recs, &config);
    let crowded = of_rule(&result, "R-ADDRESS-CROWDED");
    assert_eq!(crowded.len(), 2, "{}", show(&result));
    let by_address: HashMap<&str, &Finding> = crowded
        .iter()
        .map(|f| (f.scope_value.as_str(), *f))
        .collect();
    let bulk = by_address["7 HIGH ST, SPRINGFIELD 10001"];
    assert_eq!(bulk.severity, Severity::High);
    assert_eq!(bulk.voter_ids.len(), 45);
    let dorm = by_address["1 COLLEGE WAY, SPRINGFIELD 10001"];
    assert_eq!(dorm.severity, Severity::Info);
    assert_eq!(dorm.voter_ids.len(), 150);
    // Nothing about the households of 1 to 6 (rows 0..n) rises above info.
    for f in &result.findings {
        if f.voter_ids
            .iter()
            .any(|id| recs[..n].iter().any(|r| r.id == *id))
        {
            assert_eq!(f.severity, Severity::Info, "{}", show(&result));
        }
    }

    // The same dormitory without the allowlist: checked (medium), not alarming.
    let result = run(&recs, &ScanConfig::default());
    let dorm = of_rule(&result, "R-ADDRESS-CROWDED")
        .into_iter()
        .find(|f| f.scope_value.starts_with("1 COLLEGE WAY"))
        .expect("the dormitory is reported");
    assert_eq!(dorm.severity, Severity::Medium);
}

#[test]
fn a_phone_or_email_shared_across_many_homes_is_high() {
    let mut recs = households();
    let mut ring = residents(25, "", "2026-06-01", 1, 30_000);
    for (i, r) in ring.iter_mut().enumerate() {
        r.address = format!("{} ELM ST", 100 + i);
        r.phone = "(982) 838-8743".into();
        r.email = "Register.Help505@mail.example".into();
    }
    recs.extend(ring);
    let result = run(&recs, &ScanConfig::default());
    let shared = of_rule(&result, "R-CONTACT-SHARED");
    assert_eq!(shared.len(), 2, "{}", show(&result));
    for f in shared {
        assert_eq!(f.severity, Severity::High, "{}", show(&result));
        assert_eq!(f.voter_ids.len(), 25);
    }
}

#[test]
fn a_rule_missing_its_fields_is_reported_skipped() {
    let header = "voter_id,given_name,family_name,address_line,locality,status";
    let snap = load(&households(), header);
    let result = scan(
        &snap,
        day(SNAPSHOT_DATE),
        None,
        &ScanConfig::default(),
        None,
        &[],
    );
    let status: BTreeMap<&str, &RuleStatus> =
        result.runs.iter().map(|r| (r.rule, &r.status)).collect();
    for rule in [
        "R-AGE-UNDER",
        "R-AGE-OVER",
        "R-BIRTH-FUTURE",
        "R-REG-BEFORE-BIRTH",
    ] {
        assert!(
            matches!(status[rule], RuleStatus::Skipped { missing } if missing.contains(&Field::BirthDate) || missing.contains(&Field::RegistrationDate)),
            "{rule}: {:?}",
            status[rule]
        );
    }
    assert_eq!(
        status["R-ID-REPEATED"],
        &RuleStatus::Skipped {
            missing: vec![Field::NationalId]
        }
    );
    assert!(matches!(
        status["R-REG-AFTER-CUTOFF"],
        RuleStatus::Skipped { .. }
    ));
    // The absent required columns are named, at info.
    let missing = of_rule(&result, "R-MISSING-FIELD");
    assert!(missing.iter().all(|f| f.severity == Severity::Info));
    assert!(missing
        .iter()
        .any(|f| f.scope_value == "birth_date or birth_year"));
}

#[test]
fn missing_values_are_listed_per_field() {
    let mut recs = households();
    recs[9].family = String::new();
    let result = run(&recs, &ScanConfig::default());
    let found = of_rule(&result, "R-MISSING-FIELD");
    assert_eq!(found.len(), 1, "{}", show(&result));
    assert_eq!(found[0].scope_value, "family_name");
    assert_eq!(found[0].voter_ids, vec![recs[9].id.clone()]);
    assert_eq!(found[0].severity, Severity::Low);
}

#[test]
fn death_registry_matches_only_voting_records() {
    let mut recs = households();
    recs[30].status = "removed".into();
    let registry_recs = vec![
        // Same name (spelled differently) and birth date as record 20.
        Rec {
            id: "D1".into(),
            national_id: String::new(),
            family: recs[20].family.replace('-', " ").to_lowercase(),
            ..recs[20].clone()
        },
        // Same national id as record 25, name differs.
        Rec {
            id: "D2".into(),
            given: "SOMEONE".into(),
            ..recs[25].clone()
        },
        // A removed voter: not matched.
        Rec {
            id: "D3".into(),
            ..recs[30].clone()
        },
    ];
    let snap = load(&recs, HEADER);
    let registry = load(&registry_recs, HEADER);
    let result = scan(
        &snap,
        day(SNAPSHOT_DATE),
        Some(&calendar()),
        &ScanConfig::default(),
        Some(&registry),
        &[],
    );
    let found = of_rule(&result, "R-DECEASED-MATCH");
    let got: Vec<(&str, Severity)> = found
        .iter()
        .map(|f| (f.voter_ids[0].as_str(), f.severity))
        .collect();
    assert_eq!(
        got,
        vec![
            (recs[20].id.as_str(), Severity::Medium),
            (recs[25].id.as_str(), Severity::High)
        ],
        "{}",
        show(&result)
    );
}

#[test]
fn scan_artefacts_list_every_voter_and_rule() {
    let mut recs = households();
    recs.extend(residents(45, "7 HIGH ST", "2026-05-04", 0, 10_000));
    recs[3].family = "=CMD|' /C calc'!A0".into();
    let snap = load(&recs, HEADER);
    let result = scan(
        &snap,
        day(SNAPSHOT_DATE),
        Some(&calendar()),
        &ScanConfig::default(),
        None,
        &[],
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("out");
    let incidents = result.incidents(&snap);
    write_scan(&out, &result, &incidents, &snap, "register-2026-10-02.csv").expect("writes");
    let csv_text = std::fs::read_to_string(out.join("flagged.csv")).expect("flagged.csv");
    assert!(csv_text.starts_with(
        "finding_id,rule,severity,scope,scope_value,voter_id,snapshot_date,detail,incident_id\n"
    ));
    // Three incidents: the crowded address (its 45 rows share one id), the name's markup and
    // its digit (two record rules on one record, each rolled up on its own).
    let incident_ids: std::collections::BTreeSet<&str> = csv_text
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().expect("a last cell"))
        .collect();
    assert_eq!(incident_ids.len(), 3, "{incident_ids:?}");
    assert!(incident_ids
        .iter()
        .all(|i| i.len() == 13 && i.starts_with('I')));
    // Header, 45 bulk registrants, the formula name's markup and its digit (`A0`).
    assert_eq!(csv_text.lines().count(), 1 + 45 + 2, "{csv_text}");
    assert!(!csv_text.contains("calc"), "names never reach the report");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("scan.json")).expect("scan.json"))
            .expect("JSON");
    assert_eq!(
        json,
        scan_json(&result, &incidents, &snap, "register-2026-10-02.csv")
    );
    assert_eq!(json["rules"].as_array().map(Vec::len), Some(17));
    assert_eq!(json["counts"]["high"], 1);
    assert_eq!(json["parameters"]["as_of"], "2026-10-22");
    // Deterministic: the same inputs give the same bytes.
    let again = dir.path().join("again");
    write_scan(
        &again,
        &result,
        &incidents,
        &snap,
        "register-2026-10-02.csv",
    )
    .expect("writes");
    assert_eq!(
        std::fs::read(out.join("flagged.csv")).unwrap(),
        std::fs::read(again.join("flagged.csv")).unwrap()
    );
}

/// `scan --fail-on` judges incidents, as `audit` does. Forty-five registrations at one
/// address are a high finding, but one rule on fewer than 50 voters is a single signal: a
/// medium incident (`incidents::OVERWHELMING_VOTERS`). `scan.json` lists the incident with
/// its finding.
#[test]
fn scan_fail_on_applies_to_incidents() {
    let mut recs = households();
    recs.extend(residents(45, "7 HIGH ST", "2026-05-04", 0, 10_000));
    let dir = crate::util::Dir::new();
    dir.write("register-2026-10-02.csv", csv_text(&recs, HEADER));
    dir.write("election.toml", CALENDAR);
    let scan_with = |bar: &str, out: &str| {
        dir.run(&[
            "scan",
            "register-2026-10-02.csv",
            "--calendar",
            "election.toml",
            "--fail-on",
            bar,
            "-o",
            out,
        ])
    };
    scan_with("high", "high").expect_code(0);
    scan_with("medium", "medium").expect_code(1);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path("high/scan.json")).expect("scan.json"))
            .expect("JSON");
    assert_eq!(json["counts"]["high"], 1, "{}", json["counts"]);
    assert_eq!(json["incident_counts"]["high"], 0);
    assert_eq!(json["incident_counts"]["medium"], 1);
    let incident = &json["incidents"][0];
    assert_eq!(incident["severity"], "medium");
    assert_eq!(incident["basis"], "single_signal");
    assert_eq!(incident["rules"][0], "R-ADDRESS-CROWDED");
    assert_eq!(incident["affected_voters"], 45);
}

/// Findings per rule and severity, one line per pair.
// Generated series against their ground truth: planted record anomalies, clean series,
// institutions, death registries.
mod generated;
mod windows;

/// A `voter_id` on three rows of an export: the loader keeps the first (line 2) and rejects
/// the others; the scan reports the kept record with the lines of its repeats.
#[test]
fn a_voter_id_on_several_rows_is_reported_with_its_lines() {
    let text = "voter_id,given_name,family_name,status\n\
                V1,ANA,LOPEZ,active\nV2,BEN,SMITH,active\nV1,ANA,LOPES,active\nV3,CARL,JONES,active\nV1,ANN,LOPEZ,active\n";
    let profile = Profile::builtin("canonical").expect("built in");
    let loaded = load_bytes(
        text.as_bytes().to_vec(),
        Path::new("register-2026-10-02.csv"),
        &profile,
        &NoProgress,
    )
    .expect("loads");
    assert_eq!(loaded.report.rows_rejected, 2);
    let result = scan(
        &loaded.snapshot,
        day(SNAPSHOT_DATE),
        None,
        &ScanConfig::default(),
        None,
        &loaded.report.rejects,
    );
    let found = of_rule(&result, "R-VOTER-ID-REPEATED");
    assert_eq!(found.len(), 1, "{}", show(&result));
    let f = found[0];
    assert_eq!(f.voter_ids, vec!["V1".to_string()]);
    assert_eq!(f.severity, Severity::Medium);
    let facts: Vec<(&str, &str)> = f
        .evidence
        .facts
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    assert!(facts.contains(&("line", "2")), "{facts:?}");
    assert!(facts.contains(&("repeated_at_lines", "4 6")), "{facts:?}");
    // Without the rejects (an ingested file's load has none), nothing is reported.
    let none = scan(
        &loaded.snapshot,
        day(SNAPSHOT_DATE),
        None,
        &ScanConfig::default(),
        None,
        &[],
    );
    assert!(of_rule(&none, "R-VOTER-ID-REPEATED").is_empty());
}
