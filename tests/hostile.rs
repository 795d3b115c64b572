//! The hostile-input corpus: one table of damaged, malicious and oversized inputs, each with
//! the outcome it must have, walked by one test that runs the real binary on every case; and
//! the replay of the fuzzers' minimised crash inputs.
//!
//! Every case ends in exactly one of three ways, never a panic (exit 101) and never a hang:
//! - it loads, rejecting exactly the listed rows (line number and reason), with the
//!   row-conservation line `rows read R = loaded L + rejected J` and the rejects file agreeing;
//! - it loads and `rollaudit scan` flags exactly the listed name rules on the listed voters;
//! - it is refused: exit status 2 and one line on stderr naming what is wrong.
//!
//! Some of these inputs also have focused tests in `tests/ingest.rs` (invalid UTF-8 and NUL
//! bytes, UTF-16 without a BOM, header only, a duplicated column, truncated Parquet and Arrow,
//! an unknown profile key): those check the loaded values; here they are counted in the corpus.
//! Large inputs are generated, never committed.

use std::io::Write;
use std::time::Duration;

use crate::fuzz_checks;
use crate::util::{repo, Dir, Run};

/// Longer than any case takes on a slow, shared CI machine (the largest loads 10 MB in about a
/// second); a run still going after it is treated as a hang.
const HANG_LIMIT: Duration = Duration::from_secs(120);

/// One hostile input and what it must do.
struct Case {
    name: &'static str,
    /// File name the input is written to (the extension matters for gzip, Parquet and Arrow).
    file: &'static str,
    input: fn() -> Vec<u8>,
    /// Profile TOML for `--profile`; `None` is the built-in canonical profile.
    profile: Option<&'static str>,
    expect: Expect,
}

enum Expect {
    /// Loads: `read` data rows, of which exactly `rejects` (line, start of the reason) are
    /// rejected, in line order.
    Rows {
        read: u64,
        rejects: &'static [(u64, &'static str)],
    },
    /// Loads with no reject, and `rollaudit scan` raises exactly these `R-NAME-*` rules per voter
    /// (every voter of the input listed; an empty list: no name rule). The voters' hostile text
    /// never reaches `flagged.csv`.
    Flagged {
        read: u64,
        names: &'static [(&'static str, &'static [&'static str])],
    },
    /// Exit status 2, one line on stderr, holding every needle.
    Error(&'static [&'static str]),
}

const MARKUP: &str = "R-NAME-MARKUP";
const IMPLAUSIBLE: &str = "R-NAME-IMPLAUSIBLE";

/// Ten binary megabytes: a field far beyond any real name or address.
const BIG_FIELD: usize = 10 * 1024 * 1024;

const DAY_FIRST_PROFILE: &str = "name = \"day-first\"\ndate_format = \"%d/%m/%Y\"\n";

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// A valid export of `rows` rows, ingested through the library into `name` (Parquet or Arrow
/// by extension) and cut to half its length.
fn truncated_columnar(name: &str) -> Vec<u8> {
    let mut csv = String::from("voter_id,given_name,family_name\n");
    for i in 0..200 {
        csv.push_str(&format!("V{i:04},Ann,Lee\n"));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join(name);
    rollaudit::load::canonical_csv_to_parquet(csv.as_bytes(), "fixture.csv", &out)
        .expect("the fixture loads");
    let mut bytes = std::fs::read(&out).expect("read the ingested fixture");
    bytes.truncate(bytes.len() / 2);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

/// A header of 10,000 columns (voter_id, given_name, family_name, then c4 ... c10000), one
/// complete row and one row of two fields.
fn ten_thousand_columns() -> Vec<u8> {
    let mut header = vec![
        "voter_id".to_string(),
        "given_name".into(),
        "family_name".into(),
    ];
    header.extend((4..=10_000).map(|i| format!("c{i}")));
    let mut text = header.join(",");
    text.push_str("\nV1,Ann,Lee");
    text.push_str(&",".repeat(10_000 - 3));
    text.push_str("\nV2,Bo\n");
    text.into_bytes()
}

/// The corpus. Line numbers count the header as line 1; each was worked out from the input.
fn corpus() -> Vec<Case> {
    use Expect::*;
    vec![
        // --- Encodings and bytes.
        Case {
            name: "invalid UTF-8 in a name",
            file: "a.csv",
            input: || b"voter_id,given_name\nV1,Ann\nV2,B\xffb\nV3,Cy\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 3,
                rejects: &[(3, "given_name: invalid UTF-8")],
            },
        },
        Case {
            name: "invalid UTF-8 in the header",
            file: "a.csv",
            input: || b"voter_id,giv\xffen_name\nV1,Ann\n".to_vec(),
            profile: None,
            expect: Error(&["a.csv", "line 1", "header"]),
        },
        Case {
            name: "invalid UTF-8 in a column the profile does not map",
            file: "a.csv",
            input: || b"voter_id,notes\nV1,\xff\xfe\xfd\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 1,
                rejects: &[],
            },
        },
        Case {
            name: "UTF-16LE without a byte-order mark",
            file: "a.csv",
            input: || utf16("voter_id,given_name\nV1,Ann\n", false),
            profile: None,
            expect: Error(&["a.csv", "utf-16le"]),
        },
        Case {
            name: "UTF-16BE without a byte-order mark",
            file: "a.csv",
            input: || utf16("voter_id,given_name\nV1,Ann\n", true),
            profile: None,
            expect: Error(&["a.csv", "utf-16be"]),
        },
        Case {
            name: "a NUL byte in a name",
            file: "a.csv",
            input: || b"voter_id,given_name\nV1,C\x00y\nV2,Di\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 2,
                rejects: &[(2, "given_name: contains a NUL byte")],
            },
        },
        Case {
            name: "a NUL byte in voter_id",
            file: "a.csv",
            input: || b"voter_id,given_name\nV1,Ann\nV\x002,Bo\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 2,
                rejects: &[(3, "voter_id: contains a NUL byte")],
            },
        },
        // --- Size.
        Case {
            name: "a 10 MB name (one letter repeated)",
            file: "a.csv",
            input: || {
                let mut text = b"voter_id,given_name,family_name\nV1,".to_vec();
                text.extend(std::iter::repeat_n(b'A', BIG_FIELD));
                text.extend(b",Lee\nV2,Bo,Lee\n");
                text
            },
            profile: None,
            // A word of one letter repeated three or more times is a placeholder.
            expect: Flagged {
                read: 2,
                names: &[("V1", &[IMPLAUSIBLE]), ("V2", &[])],
            },
        },
        Case {
            name: "a 10 MB field in a row with too few fields",
            file: "a.csv",
            input: || {
                let mut text = b"voter_id,given_name,family_name\nV1,Ann,Lee\nV2,".to_vec();
                text.extend(std::iter::repeat_n(b'x', BIG_FIELD));
                text.push(b'\n');
                text
            },
            profile: None,
            expect: Rows {
                read: 2,
                rejects: &[(3, "expected 3 fields, found 2")],
            },
        },
        Case {
            name: "10,000 columns",
            file: "a.csv",
            input: ten_thousand_columns,
            profile: None,
            expect: Rows {
                read: 2,
                rejects: &[(3, "expected 10000 fields, found 2")],
            },
        },
        Case {
            name: "a row of 10,000 fields under a 2-column header",
            file: "a.csv",
            input: || format!("voter_id,given_name\nV1{}\nV2,Bo\n", ",x".repeat(9_999)).into(),
            profile: None,
            expect: Rows {
                read: 2,
                rejects: &[(2, "expected 2 fields, found 10000")],
            },
        },
        // --- Shape.
        Case {
            name: "header only",
            file: "a.csv",
            input: || b"voter_id,given_name\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 0,
                rejects: &[],
            },
        },
        Case {
            name: "header only, no final line break",
            file: "a.csv",
            input: || b"voter_id,given_name".to_vec(),
            profile: None,
            expect: Rows {
                read: 0,
                rejects: &[],
            },
        },
        Case {
            name: "header and blank lines only",
            file: "a.csv",
            input: || b"voter_id\n\n\r\n\r\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 0,
                rejects: &[],
            },
        },
        Case {
            name: "empty file",
            file: "a.csv",
            input: Vec::new,
            profile: None,
            expect: Error(&["a.csv", "empty input"]),
        },
        Case {
            name: "a mapped column named twice",
            file: "a.csv",
            input: || b"voter_id,given_name,given_name\nV1,Ann,Bo\n".to_vec(),
            profile: None,
            expect: Error(&["a.csv", "given_name", "positions 2 and 3"]),
        },
        Case {
            name: "voter_id named twice in different case",
            file: "a.csv",
            input: || b"voter_id,VOTER_ID\nV1,V2\n".to_vec(),
            profile: None,
            expect: Error(&["a.csv", "voter_id", "positions 1 and 2"]),
        },
        Case {
            name: "an unmapped column named twice",
            file: "a.csv",
            input: || b"voter_id,notes,notes\nV1,a,b\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 1,
                rejects: &[],
            },
        },
        Case {
            name: "an unbalanced quote swallowing the rest of the file",
            file: "a.csv",
            input: || {
                b"voter_id,given_name,family_name\nV1,Ann,Lee\nV2,\"Bob,Jones\nV3,Cy,Lee\n".to_vec()
            },
            profile: None,
            // The open quote runs to the end: V2's row has two fields, V3 is inside it.
            expect: Rows {
                read: 2,
                rejects: &[(3, "expected 3 fields, found 2")],
            },
        },
        Case {
            name: "an unbalanced quote opening a one-field row",
            file: "a.csv",
            input: || b"voter_id,given_name\n\"V1,Ann\nV2,Bob\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 1,
                rejects: &[(2, "expected 2 fields, found 1 (an unbalanced quote?)")],
            },
        },
        Case {
            name: "a quote inside an unquoted field",
            file: "a.csv",
            input: || b"voter_id,given_name\nV1,O\"Brien\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 1,
                rejects: &[],
            },
        },
        Case {
            name: "mixed line endings (\\n, \\r\\n, bare \\r)",
            file: "a.csv",
            input: || {
                b"voter_id,given_name,birth_date\n\
                V1,Ann,1990-01-01\r\n\
                V2,Bob,1990-01-02\r\
                V3,Cy,1990-02-30\n\
                V4,Di,1990-01-04\r\n\
                V5,Ed,0000-00-00"
                    .to_vec()
            },
            profile: None,
            expect: Rows {
                read: 5,
                rejects: &[
                    (4, "birth_date: not a valid date"),
                    (6, "birth_date: not a valid date"),
                ],
            },
        },
        Case {
            name: "bare \\r line endings throughout, with a repeated voter_id",
            file: "a.csv",
            input: || b"voter_id,given_name\rV1,Ann\rV2,Bo\rV1,Cy\r".to_vec(),
            profile: None,
            expect: Rows {
                read: 3,
                rejects: &[(4, "voter_id repeats the row at line 2")],
            },
        },
        // --- Truncated and corrupt containers.
        Case {
            name: "truncated gzip",
            file: "a.csv.gz",
            input: || {
                let mut gz = gzip(&b"voter_id,given_name\nV1,Ann\n".repeat(2_000));
                gz.truncate(gz.len() / 2);
                gz
            },
            profile: None,
            expect: Error(&["a.csv.gz", "gzip stream is corrupt or truncated"]),
        },
        Case {
            name: "gzip magic followed by garbage",
            file: "a.csv",
            input: || b"\x1f\x8bnot a deflate stream".to_vec(),
            profile: None,
            expect: Error(&["a.csv", "gzip stream is corrupt or truncated"]),
        },
        Case {
            name: "truncated Parquet",
            file: "a.parquet",
            input: || truncated_columnar("t.parquet"),
            profile: None,
            expect: Error(&["a.parquet", "cannot read parquet file"]),
        },
        Case {
            name: "Parquet magic bytes only",
            file: "a.bin",
            input: || b"PAR1".to_vec(),
            profile: None,
            expect: Error(&["a.bin", "cannot read parquet file"]),
        },
        Case {
            name: "truncated Arrow IPC",
            file: "a.arrow",
            input: || truncated_columnar("t.arrow"),
            profile: None,
            expect: Error(&["a.arrow", "cannot read arrow ipc file"]),
        },
        // --- Profiles.
        Case {
            name: "profile with an unknown key",
            file: "a.csv",
            input: || b"voter_id\nV1\n".to_vec(),
            profile: Some("name = \"x\"\ndelimeter = \";\"\n"),
            expect: Error(&["profile.toml", "line 2", "delimeter"]),
        },
        Case {
            name: "profile with a wrong type",
            file: "a.csv",
            input: || b"voter_id\nV1\n".to_vec(),
            profile: Some("name = \"x\"\nheader = \"yes\"\n"),
            expect: Error(&["profile.toml", "line 2"]),
        },
        Case {
            name: "profile with a two-character delimiter",
            file: "a.csv",
            input: || b"voter_id\nV1\n".to_vec(),
            profile: Some("name = \"x\"\ndelimiter = \";;\"\n"),
            expect: Error(&["profile.toml", "delimiter"]),
        },
        Case {
            name: "profile with column position 0",
            file: "a.csv",
            input: || b"V1\n".to_vec(),
            profile: Some("name = \"x\"\nheader = false\n[columns]\nvoter_id = 0\n"),
            expect: Error(&["profile.toml", "columns.voter_id", "positions start at 1"]),
        },
        Case {
            name: "profile mapping a field that does not exist",
            file: "a.csv",
            input: || b"voter_id\nV1\n".to_vec(),
            profile: Some("name = \"x\"\n[columns]\nvoter_idd = \"id\"\n"),
            expect: Error(&["profile.toml", "columns.voter_idd"]),
        },
        Case {
            name: "headerless profile placing voter_id beyond the rows' width",
            file: "a.csv",
            input: || b"a,b,c\n".to_vec(),
            profile: Some("name = \"x\"\nheader = false\n[columns]\nvoter_id = 5\n"),
            expect: Error(&["a.csv", "voter_id", "column 5"]),
        },
        // --- Dates.
        Case {
            name: "date 0000-00-00",
            file: "a.csv",
            input: || b"voter_id,birth_date\nV1,0000-00-00\nV2,1990-01-01\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 2,
                rejects: &[(2, "birth_date: not a valid date in format %Y-%m-%d")],
            },
        },
        Case {
            name: "date 31/02/2020 under a day-first profile",
            file: "a.csv",
            input: || b"voter_id,birth_date\nV1,29/02/2020\nV2,31/02/2020\n".to_vec(),
            profile: Some(DAY_FIRST_PROFILE),
            // 2020 is a leap year: 29 February exists, 31 February never does.
            expect: Rows {
                read: 2,
                rejects: &[(3, "birth_date: not a valid date in format %d/%m/%Y")],
            },
        },
        Case {
            name: "registration date in month 13",
            file: "a.csv",
            input: || b"voter_id,registration_date\nV1,2021-13-01\n".to_vec(),
            profile: None,
            expect: Rows {
                read: 1,
                rejects: &[(2, "registration_date: not a valid date")],
            },
        },
        // --- Names (loaded; `rollaudit scan` flags them where a rule exists).
        Case {
            name: "digits in a name",
            file: "a.csv",
            input: || b"voter_id,given_name,family_name\nV1,J0hn,Smith\nV2,Ann,Lee\n".to_vec(),
            profile: None,
            expect: Flagged {
                read: 2,
                names: &[("V1", &[IMPLAUSIBLE]), ("V2", &[])],
            },
        },
        Case {
            name: "markup in a name",
            file: "a.csv",
            input: || {
                b"voter_id,given_name,family_name\nV1,<script>alert('x')</script>,Lee\n".to_vec()
            },
            profile: None,
            expect: Flagged {
                read: 1,
                names: &[("V1", &[MARKUP])],
            },
        },
        Case {
            name: "SQL in a name",
            file: "a.csv",
            input: || {
                b"voter_id,given_name,family_name\nV1,Robert'); DROP TABLE voters;--,Lee\n".to_vec()
            },
            profile: None,
            // No rule: rollaudit builds no SQL, and quotes and semicolons occur in real names.
            expect: Flagged {
                read: 1,
                names: &[("V1", &[])],
            },
        },
        Case {
            name: "formula prefix = in a name",
            file: "a.csv",
            input: || {
                b"voter_id,given_name,family_name\nV1,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",Lee\n"
                    .to_vec()
            },
            profile: None,
            expect: Flagged {
                read: 1,
                names: &[("V1", &[MARKUP])],
            },
        },
        Case {
            name: "formula prefix + in a name",
            file: "a.csv",
            input: || b"voter_id,given_name,family_name\nV1,+CMD,Lee\n".to_vec(),
            profile: None,
            expect: Flagged {
                read: 1,
                names: &[("V1", &[MARKUP])],
            },
        },
        Case {
            name: "formula prefix - in a name",
            file: "a.csv",
            input: || b"voter_id,given_name,family_name\nV1,-CMD,Lee\n".to_vec(),
            profile: None,
            // A leading hyphen is a formula prefix too (OWASP); no real name starts with one.
            expect: Flagged {
                read: 1,
                names: &[("V1", &[MARKUP])],
            },
        },
        Case {
            name: "formula prefix @ in a family name",
            file: "a.csv",
            input: || b"voter_id,given_name,family_name\nV1,Ann,@Lee\n".to_vec(),
            profile: None,
            expect: Flagged {
                read: 1,
                names: &[("V1", &[MARKUP])],
            },
        },
        Case {
            name: "bidirectional override U+202E in a name",
            file: "a.csv",
            input: || "voter_id,given_name,family_name\nV1,\u{202E}nhoJ,Lee\n".into(),
            profile: None,
            expect: Flagged {
                read: 1,
                names: &[("V1", &[MARKUP])],
            },
        },
    ]
}

/// What one case did, for the summary line.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Outcome {
    RejectedRows,
    OneLineError,
    LoadedAndFlagged,
    LoadedClean,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::RejectedRows => "rejected-rows",
            Outcome::OneLineError => "one-line-error",
            Outcome::LoadedAndFlagged => "loaded-and-flagged",
            Outcome::LoadedClean => "loaded-clean",
        }
    }
}

/// Runs one case and checks it; panics with the case's name on any difference.
fn try_case(case: &Case) -> Outcome {
    let dir = Dir::new();
    dir.write(case.file, (case.input)());
    let mut args = vec!["ingest", case.file, "-o", "out.parquet"];
    if let Some(profile) = case.profile {
        dir.write("profile.toml", profile);
        args.extend(["--profile", "profile.toml"]);
    }
    let run = dir.run_within(&args, HANG_LIMIT);
    match &case.expect {
        Expect::Error(needles) => {
            run.expect_one_line_error();
            for needle in *needles {
                assert!(
                    run.stderr.contains(needle),
                    "{}: {needle:?} not in {:?}",
                    case.name,
                    run.stderr
                );
            }
            Outcome::OneLineError
        }
        Expect::Rows { read, rejects } => {
            run.expect_code(0);
            check_rows(case.name, &run, &dir, *read, rejects);
            if rejects.is_empty() {
                Outcome::LoadedClean
            } else {
                Outcome::RejectedRows
            }
        }
        Expect::Flagged { read, names } => {
            run.expect_code(0);
            check_rows(case.name, &run, &dir, *read, &[]);
            check_flags(case, &dir, names);
            if names.iter().any(|(_, rules)| !rules.is_empty()) {
                Outcome::LoadedAndFlagged
            } else {
                Outcome::LoadedClean
            }
        }
    }
}

/// Row conservation as printed, and the rejects file line by line.
fn check_rows(case: &str, run: &Run, dir: &Dir, read: u64, rejects: &[(u64, &str)]) {
    let rejected = rejects.len() as u64;
    let line = format!(
        "rows read {read} = loaded {} + rejected {rejected}",
        read - rejected
    );
    assert!(
        run.stdout.contains(&line),
        "{case}: {line:?} not in\n{}",
        run.stdout
    );
    let mut rdr = csv::Reader::from_path(dir.path("out.rejects.csv")).expect("rejects file");
    assert_eq!(
        rdr.headers().expect("rejects header"),
        vec!["line", "reason", "raw"],
        "{case}"
    );
    let got: Vec<(u64, String)> = rdr
        .records()
        .map(|r| {
            let r = r.expect("a rejects row");
            (r[0].parse().expect("a line number"), r[1].to_string())
        })
        .collect();
    assert_eq!(got.len(), rejects.len(), "{case}: rejects {got:?}");
    for ((line, reason), (want_line, want_reason)) in got.iter().zip(rejects) {
        assert!(
            line == want_line && reason.starts_with(want_reason),
            "{case}: expected line {want_line} {want_reason:?}, got line {line} {reason:?}"
        );
    }
}

/// `rollaudit scan` raises exactly the expected name rules, and quotes no voter's text: not
/// the hostile payloads, not the digits in a name, not a long run of one letter.
fn check_flags(case: &Case, dir: &Dir, names: &[(&str, &[&str])]) {
    let snapshot = format!("{}@2026-01-01", case.file);
    dir.run_within(&["scan", &snapshot, "-o", "scan"], HANG_LIMIT)
        .expect_code(0);
    let flagged = std::fs::read_to_string(dir.path("scan/flagged.csv")).expect("flagged.csv");
    let mut rdr = csv::Reader::from_reader(flagged.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("a flagged row")).collect();
    for (voter, want) in names {
        let mut got: Vec<&str> = rows
            .iter()
            .filter(|r| &r[5] == *voter && r[1].starts_with("R-NAME-"))
            .map(|r| &r[1])
            .collect();
        got.sort_unstable();
        let mut want = want.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{}: name rules on {voter}", case.name);
    }
    for payload in [
        "<script",
        "DROP TABLE",
        "HYPERLINK",
        "CMD",
        "\u{202E}",
        "J0hn",
        "AAAAAAAA",
    ] {
        assert!(
            !flagged.contains(payload),
            "{}: {payload:?} reached flagged.csv",
            case.name
        );
    }
}

#[test]
fn hostile_corpus_is_rejected_refused_or_flagged_never_a_panic() {
    let cases = corpus();
    let mut failed = Vec::new();
    let mut counts = std::collections::BTreeMap::new();
    for case in &cases {
        match std::panic::catch_unwind(|| try_case(case)) {
            Ok(outcome) => *counts.entry(outcome).or_insert(0) += 1,
            Err(_) => failed.push(case.name),
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(outcome, n)| format!("{n} {}", outcome.name()))
        .collect();
    println!(
        "hostile corpus: {} cases: {}",
        cases.len(),
        summary.join(", ")
    );
    assert!(failed.is_empty(), "failed cases: {failed:#?}");
}

/// One fuzz target's check of one input.
type Check = fn(&[u8]);

/// The minimised inputs that once crashed a fuzz target, replayed through the same checks.
///
/// Every `load_csv` input is a corrupt file, so the real binary must also refuse it, as the
/// fuzz target names it (`fuzz.csv`; its magic bytes pick the reader): exit status 2 and one
/// line on stderr. The binary runs first, in its own process, because some of these inputs
/// once aborted the process (an allocation failure), which would take the test harness down
/// with it in the in-process replay.
#[test]
fn fuzz_regressions_replay_without_a_panic() {
    let targets: [(&str, Check); 4] = [
        ("load_csv", fuzz_checks::load_csv),
        ("profile_toml", fuzz_checks::profile_toml),
        ("calendar_toml", fuzz_checks::calendar_toml),
        ("split_csv", fuzz_checks::split_csv),
    ];
    let mut replayed = 0;
    for (target, check) in targets {
        let folder = repo().join("tests/fuzz/regressions").join(target);
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a regression file").path();
            let data = std::fs::read(&path).expect("read a regression input");
            if target == "load_csv" {
                let dir = Dir::new();
                dir.write("fuzz.csv", &data);
                let run = dir.run_within(&["inspect", "fuzz.csv"], HANG_LIMIT);
                run.expect_one_line_error();
                assert!(
                    run.stderr.starts_with("rollaudit: fuzz.csv: cannot read "),
                    "{}: {}",
                    path.display(),
                    run.stderr
                );
            }
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("{target}: {} crashes again", path.display());
            }
            replayed += 1;
        }
    }
    println!("fuzz regressions: {replayed} inputs replayed");
}
