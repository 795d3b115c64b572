//! The record rules over an ingested file read a window at a time (`rules::scan_windows`,
//! for registers larger than memory) against the scan of the whole snapshot.

use rollaudit::load::{load_path, NoProgress};
use rollaudit::profile::Profile;

use crate::util::{one_snapshot, write_in_groups, Dir};

/// The record rules over an ingested file read a window at a time (`rules::scan_windows`)
/// find what they find of the whole snapshot: every finding with its evidence, every rule
/// run and every parameter, at windows of one row group of 1,000 rows, of a few, and of the
/// whole file. The generated register has crowded addresses, shared emails, repeated national
/// ids and missing values; 40 of its records are given one birth date, which is reported as
/// over-represented. And `scan` reads an ingested file so when `--memory-limit` does not hold
/// it whole, and writes the same files.
#[test]
fn the_record_rules_over_windows_of_an_ingested_file_find_what_they_find_of_it_whole() {
    let dir = Dir::new();
    let csv = one_snapshot(&dir, 5);
    crate::util::with_value(&csv, "birth_date", "1961-03-17", 100..140);
    crate::util::with_value(&csv, "given_name", "", 200..203);
    let snapshot = load_path(&csv, &Profile::canonical(), &NoProgress)
        .unwrap()
        .snapshot;
    let file = write_in_groups(&snapshot, &dir.path("register-2026-10-02.parquet"), 1_000);
    let date = rollaudit::dates::parse_iso_date("2026-10-02").unwrap();
    let config = rollaudit::rules::ScanConfig::default();
    let whole = rollaudit::rules::scan(&snapshot, date, None, &config, None, &[]);
    let rules = |r: &rollaudit::rules::ScanResult| {
        let mut fired: Vec<&str> = r.findings.iter().map(|f| f.rule).collect();
        fired.dedup();
        fired
    };
    for rule in [
        "R-ADDRESS-CROWDED",
        "R-BIRTH-OVERREP",
        "R-CONTACT-SHARED",
        "R-ID-REPEATED",
        "R-MISSING-FIELD",
    ] {
        assert!(
            rules(&whole).contains(&rule),
            "{rule} fires: {:?}",
            rules(&whole)
        );
    }
    let show = |r: &rollaudit::rules::ScanResult| {
        format!("{:?}\n{:?}\n{:?}", r.findings, r.runs, r.parameters)
    };
    for window_rows in [1, 2_500, 1_000_000] {
        let scanned =
            rollaudit::rules::scan_windows(&file, date, None, &config, &[], window_rows, &[])
                .unwrap();
        assert!(
            show(&scanned.result) == show(&whole),
            "the scan differs at windows of {window_rows} rows"
        );
        assert_eq!(scanned.kept.digest, snapshot.digest);
        assert_eq!(scanned.kept.rows(), scanned.rows.len());
        assert!(
            scanned.rows.len() < snapshot.rows() / 10,
            "only the records reported"
        );
    }

    let file = file.to_str().unwrap();
    let scan = |out: &str, extra: &[&str]| {
        let mut args = vec!["scan", file, "-o", out];
        args.extend(extra);
        dir.run(&args)
    };
    scan("whole", &[]).expect_code(0);
    let limited = scan("windows", &["--memory-limit", "4M"]);
    assert!(
        limited.stderr.contains("scanning it a window at a time"),
        "{}",
        limited.stderr
    );
    // `--skip-memory-check` skips the refusal, not the plan.
    let skipped = scan("skipped", &["--memory-limit", "4M", "--skip-memory-check"]);
    assert!(
        skipped.stderr.contains("scanning it a window at a time"),
        "{}",
        skipped.stderr
    );
    for name in ["flagged.csv", "scan.json"] {
        let read = |out: &str| std::fs::read(dir.path(&format!("{out}/{name}"))).unwrap();
        assert!(read("whole") == read("windows"), "{name} differs");
        assert!(read("whole") == read("skipped"), "{name} differs");
    }
}
