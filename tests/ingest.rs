//! `ingest` and `inspect` on real-looking exports: every row loaded or rejected with its line,
//! every unusable input a one-line error with exit status 2.

use std::path::Path;
use std::time::Duration;

use rollaudit::load::{load_bytes, load_path, load_path_in_pieces, NoProgress};
use rollaudit::model::Field;
use rollaudit::profile::Profile;

use crate::util::Dir;

/// A canonical export with the usual damage. Line numbers below are counted by hand.
const MESSY_CANONICAL: &str =
    "\u{feff}voter_id,given_name,family_name,birth_date,status,address_line\r\n\
V1,Ann,Smith,1980-02-29,active,\"12 Oak St, Apt 3\"\r\n\
V2,\"Bo\nb\",Jones,1975-07-01,inactive,1 Elm Rd\r\n\
V3,Cy,Short,1990-01-01\r\n\
V4,Di,Long,1990-01-01,active,x,extra\r\n\
V5,Ed,Date,1990-02-30,active,\r\n\
,Fay,NoId,1990-01-01,active,\r\n\
V6,Gus,Code,1990-01-01,sleeping,\r\n\
V1,Ann,Again,1980-02-29,active,\r\n\
V7,Hal,Last,2001-12-31,removed,\"9 \"\"Quoted\"\" Way\"\r\n";

/// (line, reason kind) of every row that must be rejected in [`MESSY_CANONICAL`]: the header is
/// line 1 and V2's quoted newline makes it span lines 3-4.
const MESSY_REJECTS: [(u64, &str); 6] = [
    (5, "expected 6 fields, found 4"),
    (6, "expected 6 fields, found 7"),
    (7, "birth_date: not a valid date"),
    (8, "voter_id is empty"),
    (9, "status:"),
    (10, "voter_id repeats the row at line 2"),
];

fn load(path: &Path, profile: &str) -> rollaudit::load::Loaded {
    let profile = Profile::builtin(profile).expect("a built-in profile");
    load_path(path, &profile, &NoProgress).expect("input loads")
}

#[test]
fn messy_canonical_csv_rejects_each_bad_row_with_its_line() {
    let dir = Dir::new();
    dir.write("export.csv", MESSY_CANONICAL);
    let run = dir.run(&["ingest", "export.csv", "-o", "out.parquet"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("rows read 9 = loaded 3 + rejected 6"),
        "{}",
        run.stdout
    );

    let mut rdr = csv::Reader::from_path(dir.path("out.rejects.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), MESSY_REJECTS.len());
    for (row, (line, reason)) in rows.iter().zip(MESSY_REJECTS) {
        assert_eq!(row[0].parse::<u64>().unwrap(), line, "{row:?}");
        assert!(row[1].starts_with(reason), "line {line}: {:?}", &row[1]);
    }
    // The raw text of the rejected row is kept for case work.
    assert_eq!(&rows[0][2], "V3,Cy,Short,1990-01-01");

    let loaded = load(&dir.path("out.parquet"), "canonical");
    let df = &loaded.snapshot.df;
    let ids: Vec<&str> = df
        .column("voter_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["V1", "V2", "V7"]);
    // The first V1 (line 2) is kept; its repeat at line 10 is the reject.
    let lines: Vec<u64> = df
        .column("_line")
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(lines, [2, 3, 11]);
}

#[test]
fn canonical_values_survive_quotes_newlines_bom_and_crlf() {
    let dir = Dir::new();
    let path = dir.write("export.csv", MESSY_CANONICAL);
    let loaded = load(&path, "canonical");
    let df = &loaded.snapshot.df;
    let col = |name: &str| -> Vec<Option<String>> {
        df.column(name)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    };
    assert_eq!(
        col("voter_id"),
        [Some("V1"), Some("V2"), Some("V7")].map(|v| v.map(String::from))
    );
    assert_eq!(col("given_name")[1].as_deref(), Some("Bo\nb"));
    assert_eq!(col("address_line")[0].as_deref(), Some("12 Oak St, Apt 3"));
    assert_eq!(col("address_line")[2].as_deref(), Some("9 \"Quoted\" Way"));
    assert_eq!(col("address_line")[1].as_deref(), Some("1 Elm Rd"));
    assert!(
        loaded.snapshot.has(Field::BirthYear),
        "birth_year derives from birth_date"
    );
    let years: Vec<Option<i32>> = df
        .column("birth_year")
        .unwrap()
        .i32()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(years, [Some(1980), Some(1975), Some(2001)]);
    assert_eq!(loaded.report.rows_read, 9);
    assert_eq!(loaded.report.rows_loaded + loaded.report.rows_rejected, 9);
}

#[test]
fn ingested_parquet_and_arrow_reload_with_the_same_digest() {
    let dir = Dir::new();
    let csv = dir.write("export.csv", MESSY_CANONICAL);
    let from_csv = load(&csv, "canonical").snapshot.digest;
    for out in ["s.parquet", "s.arrow"] {
        dir.run(&["ingest", "export.csv", "-o", out]).expect_code(0);
        let reloaded = load(&dir.path(out), "canonical");
        assert_eq!(reloaded.snapshot.digest, from_csv, "{out}");
        let run = dir.run(&["inspect", out]);
        run.expect_code(0);
        assert!(run.stdout.contains(&from_csv.to_string()), "{}", run.stdout);
        assert!(
            run.stdout.contains("rows read 3 = loaded 3 + rejected 0"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn gzip_input_loads_like_the_plain_file() {
    use std::io::Write;
    let dir = Dir::new();
    let plain = dir.write("export.csv", MESSY_CANONICAL);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(MESSY_CANONICAL.as_bytes()).unwrap();
    let gz_path = dir.write("export.csv.gz", gz.finish().unwrap());
    let a = load(&plain, "canonical");
    let b = load(&gz_path, "canonical");
    assert_eq!(a.snapshot.digest, b.snapshot.digest);
    assert_eq!(a.report.rejects, b.report.rejects);
    assert!(b.report.gzipped);
}

/// The columns of North Carolina's statewide `ncvoter` file, in its published order
/// (../shared/DOMAIN.md), up to `nc_house_abbrv`.
const NCVOTER_HEADER: [&str; 34] = [
    "county_id",
    "county_desc",
    "voter_reg_num",
    "ncid",
    "last_name",
    "first_name",
    "middle_name",
    "name_suffix_lbl",
    "status_cd",
    "voter_status_desc",
    "reason_cd",
    "voter_status_reason_desc",
    "res_street_address",
    "res_city_desc",
    "state_cd",
    "zip_code",
    "mail_addr1",
    "full_phone_number",
    "race_code",
    "ethnic_code",
    "party_cd",
    "gender_code",
    "birth_year",
    "age_at_year_end",
    "birth_state",
    "drivers_lic",
    "registr_dt",
    "precinct_abbrv",
    "precinct_desc",
    "municipality_abbrv",
    "ward_abbrv",
    "cong_dist_abbrv",
    "nc_senate_abbrv",
    "nc_house_abbrv",
];

fn ncvoter_row(
    ncid: &str,
    first: &[u8],
    status: &str,
    birth_year: &str,
    registr_dt: &str,
) -> Vec<u8> {
    let mut fields: Vec<Vec<u8>> = NCVOTER_HEADER.iter().map(|_| Vec::new()).collect();
    let set = |fields: &mut Vec<Vec<u8>>, name: &str, v: &[u8]| {
        let i = NCVOTER_HEADER.iter().position(|h| *h == name).unwrap();
        fields[i] = v.to_vec();
    };
    set(&mut fields, "county_id", b"92");
    set(&mut fields, "county_desc", b"WAKE");
    set(&mut fields, "ncid", ncid.as_bytes());
    set(&mut fields, "last_name", b"GARC\xcdA");
    set(&mut fields, "first_name", first);
    set(&mut fields, "status_cd", status.as_bytes());
    set(&mut fields, "party_cd", b"UNA");
    set(&mut fields, "gender_code", b"U");
    set(&mut fields, "birth_year", birth_year.as_bytes());
    set(&mut fields, "registr_dt", registr_dt.as_bytes());
    set(&mut fields, "precinct_abbrv", b"01-07");
    set(&mut fields, "res_street_address", b"100  MAIN   ST  ");
    fields.join(&b'\t')
}

#[test]
fn ncvoter_latin1_tsv_maps_codes_dates_and_accents() {
    let dir = Dir::new();
    let mut file = NCVOTER_HEADER.join("\t").into_bytes();
    for row in [
        ncvoter_row("AA1", b"JOS\xc9", "A", "1961", "03/07/2019"),
        ncvoter_row("AA2", b"ZO\xcb", "D", "2001", "11/30/2020"),
        ncvoter_row("AA3", b"ANN", "Q", "1950", "01/01/2000"),
        ncvoter_row("AA4", b"LEE", "I", "19x0", "01/01/2000"),
        ncvoter_row("AA5", b"MAY", "R", "1944", "2000-01-01"),
    ] {
        file.push(b'\n');
        file.extend(row);
    }
    dir.write("ncvoter_Statewide.txt", &file);
    let run = dir.run(&[
        "ingest",
        "ncvoter_Statewide.txt",
        "--profile",
        "ncvoter",
        "-o",
        "nc.parquet",
    ]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("rows read 5 = loaded 2 + rejected 3"),
        "{}",
        run.stdout
    );

    let loaded = load(&dir.path("nc.parquet"), "canonical");
    let df = &loaded.snapshot.df;
    let text = |name: &str| -> Vec<Option<String>> {
        df.column(name)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(String::from))
            .collect()
    };
    assert_eq!(
        text("given_name"),
        [Some("JOSÉ".into()), Some("ZOË".into())]
    );
    assert_eq!(text("family_name")[0].as_deref(), Some("GARCÍA"));
    assert_eq!(
        text("status"),
        [Some("active".into()), Some("removed".into())]
    );
    assert_eq!(text("sex"), [None, None], "U is undesignated: missing");
    assert_eq!(text("district")[0].as_deref(), Some("WAKE"));
    let reg: Vec<Option<i32>> = df
        .column("registration_date")
        .unwrap()
        .date()
        .unwrap()
        .physical()
        .iter()
        .collect();
    assert_eq!(
        reg,
        [
            rollaudit::dates::parse_iso_date("2019-03-07"),
            rollaudit::dates::parse_iso_date("2020-11-30")
        ]
    );
    assert!(
        !loaded.snapshot.has(Field::BirthDate),
        "ncvoter publishes birth year only"
    );

    let inspect = dir.run(&["inspect", "ncvoter_Statewide.txt", "--profile", "ncvoter"]);
    inspect.expect_code(0);
    for needle in [
        "encoding latin-1",
        "unknown_status 1",
        "bad_year 1",
        "bad_date 1",
        "birth_date",
    ] {
        assert!(
            inspect.stdout.contains(needle),
            "{needle}: {}",
            inspect.stdout
        );
    }
}

#[test]
fn utf16_with_bom_loads_and_without_bom_is_a_clear_error() {
    let dir = Dir::new();
    let text = "voter_id,given_name\nV1,Zoë\nV2,Li\n";
    let units: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let mut with_bom = vec![0xFF, 0xFE];
    with_bom.extend(&units);
    dir.write("bom.csv", &with_bom);
    let run = dir.run(&["inspect", "bom.csv"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("rows read 2 = loaded 2 + rejected 0"),
        "{}",
        run.stdout
    );

    dir.write("nobom.csv", &units);
    let run = dir.run(&["inspect", "nobom.csv"]);
    run.expect_one_line_error();
    assert!(
        run.stderr.contains("nobom.csv") && run.stderr.contains("utf-16le"),
        "{}",
        run.stderr
    );

    let profile = "name = \"u16\"\nencoding = \"utf-16le\"\n";
    dir.write("u16.toml", profile);
    dir.run(&["inspect", "nobom.csv", "--profile", "u16.toml"])
        .expect_code(0);
}

#[test]
fn invalid_utf8_and_nul_bytes_reject_only_their_rows() {
    let dir = Dir::new();
    dir.write(
        "bad.csv",
        b"voter_id,given_name\nV1,Ann\nV2,B\xffb\nV3,C\x00y\nV4,Dee\n",
    );
    let loaded = load(&dir.path("bad.csv"), "canonical");
    let kinds: Vec<(u64, &str)> = loaded
        .report
        .rejects
        .iter()
        .map(|r| (r.line, r.reason.kind()))
        .collect();
    assert_eq!(kinds, [(3, "invalid_utf8"), (4, "nul_byte")]);
    assert_eq!(loaded.report.rows_loaded, 2);
}

#[test]
fn headerless_file_with_a_custom_profile() {
    let dir = Dir::new();
    dir.write(
        "p.toml",
        r#"
name = "semicolon-export"
delimiter = ";"
header = false
date_format = "%d/%m/%Y"
[columns]
voter_id = 2
family_name = 3
birth_date = 4
status = 5
[values.status]
"1" = "active"
"9" = "removed"
"#,
    );
    dir.write(
        "h.txt",
        "x;B2;Smith;31/01/1970;1\nx;B1;Jones;29/02/1971;1\nx;B3;Lee;01/02/1972;9\nx;B4;Short\n",
    );
    let run = dir.run(&["ingest", "h.txt", "--profile", "p.toml", "-o", "h.parquet"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("rows read 4 = loaded 2 + rejected 2"),
        "{}",
        run.stdout
    );
    let loaded = load(&dir.path("h.parquet"), "canonical");
    let ids: Vec<&str> = loaded
        .snapshot
        .df
        .column("voter_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(
        ids,
        ["B2", "B3"],
        "sorted by voter_id; 29/02/1971 does not exist"
    );
}

#[test]
fn header_only_loads_zero_rows() {
    let dir = Dir::new();
    dir.write("h.csv", "voter_id,given_name\n");
    let run = dir.run(&["ingest", "h.csv", "-o", "h.parquet"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("rows read 0 = loaded 0 + rejected 0"),
        "{}",
        run.stdout
    );
    assert_eq!(load(&dir.path("h.parquet"), "canonical").snapshot.rows(), 0);
}

#[test]
fn unusable_inputs_are_one_line_errors_with_exit_2() {
    let dir = Dir::new();
    dir.write("empty.csv", "");
    dir.write("noid.csv", "given_name,family_name\nAnn,Smith\n");
    dir.write("dupcol.csv", "voter_id,given_name,voter_id\nV1,Ann,V1\n");
    dir.write("bad.toml", "name = \"x\"\ndelimeter = \";\"\n");
    dir.write("ok.csv", MESSY_CANONICAL);
    dir.run(&["ingest", "ok.csv", "-o", "good.parquet"])
        .expect_code(0);
    let good = std::fs::read(dir.path("good.parquet")).unwrap();
    dir.write("truncated.parquet", &good[..good.len() / 2]);
    dir.run(&["ingest", "ok.csv", "-o", "good.arrow"])
        .expect_code(0);
    let good = std::fs::read(dir.path("good.arrow")).unwrap();
    dir.write("truncated.arrow", &good[..good.len() / 2]);

    let cases: [(&[&str], &str); 9] = [
        (&["inspect", "missing.csv"], "missing.csv"),
        (&["inspect", "empty.csv"], "empty.csv"),
        (&["inspect", "noid.csv"], "voter_id"),
        (&["inspect", "dupcol.csv"], "voter_id"),
        (&["inspect", "ok.csv", "--profile", "ohio"], "ohio"),
        (&["inspect", "ok.csv", "--profile", "bad.toml"], "delimeter"),
        (&["inspect", "truncated.parquet"], "truncated.parquet"),
        (&["inspect", "truncated.arrow"], "truncated.arrow"),
        (&["inspect", "ok.csv", "--strict"], "line 5"),
    ];
    for (args, needle) in cases {
        let run = dir.run(args);
        run.expect_one_line_error();
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

/// A file far larger than any machine's memory is refused before it is read, with the
/// estimate and the way out; the override lets the run start (and here meet the real input).
#[test]
fn inputs_that_cannot_fit_in_memory_are_refused_before_work_starts() {
    let dir = Dir::new();
    // A sparse file: 1 TiB long, no disk used. Diffed against itself it is 2 TiB of text,
    // and the model (3.5 x all text + 2 x the largest file) asks 3.5 x 2048 + 2 x 1024 GiB.
    let huge = std::fs::File::create(dir.path("huge.csv")).unwrap();
    huge.set_len(1 << 40).unwrap();
    drop(huge);
    let run = dir.run_within(
        &["diff", "huge.csv", "huge.csv", "-o", "out"],
        Duration::from_secs(20),
    );
    run.expect_one_line_error();
    for needle in [
        "huge.csv",
        "about 9216.0 GiB of memory",
        "2048.0 GiB of input text",
        "--skip-memory-check",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert!(!dir.path("out").exists(), "nothing was written");
    // The override is accepted by every command (a global flag).
    dir.write("ok.csv", MESSY_CANONICAL);
    dir.run(&["inspect", "ok.csv", "--skip-memory-check"])
        .expect_code(0);
    // A memory limit below the estimate refuses even a small file, naming the limit; one
    // above it lets the run start.
    let run = dir.run(&["inspect", "ok.csv", "--memory-limit", "1K"]);
    run.expect_one_line_error();
    assert!(run.stderr.contains("--memory-limit"), "{}", run.stderr);
    dir.run(&["inspect", "ok.csv", "--memory-limit", "1G"])
        .expect_code(0);
    dir.run(&["inspect", "ok.csv", "--memory-limit", "lots"])
        .expect_code(2);
}

#[test]
fn profiles_lists_the_builtins() {
    let run = Dir::new().run(&["profiles"]);
    run.expect_code(0);
    for name in Profile::builtin_names() {
        assert!(run.stdout.contains(name), "{name}: {}", run.stdout);
        let source = Profile::builtin(name).and_then(|p| p.source);
        if let Some(source) = source {
            assert!(run.stdout.contains(&source), "{name}: {}", run.stdout);
        }
    }
    // Each layout of a real export names the document it was written from.
    assert!(
        run.stdout.contains("layout_VR_Snapshot.txt"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("layout_ncvoter.txt"), "{}", run.stdout);
}

/// An export whose voter ids repeat far apart (so a repeat and its first row fall in different
/// pieces), with quoted line breaks, bare `\r` and `\r\n` line ends, blank lines and bad rows.
fn export_with_repeats_far_apart() -> String {
    let mut text =
        String::from("voter_id,given_name,family_name,birth_date,status,address_line\r\n");
    for i in 0..90 {
        // 90 rows over 23 ids: each id about four times, spread over the whole file.
        let id = format!("V{:02}", (i * 7) % 23);
        let day = i % 28 + 1;
        let row = match i % 7 {
            0 => format!("{id},\"Multi\nLine {i}\",Fam,1980-01-{day:02},active,\"1 Oak St\"\r\n"),
            1 => format!("{id},G{i},Fam,1980-02-30,active,y\r"),
            2 => format!("{id},G{i},Fam\n"),
            3 => format!("{id},G{i},Fam,1981-03-{day:02},sleeping,z\n"),
            4 => format!("\n{id},G{i},\"Quoted \"\"Fam\"\"\",1982-04-{day:02},inactive,w\n"),
            5 => format!(",G{i},NoId,1983-05-{day:02},active,v\r\n"),
            _ => format!("{id},G{i},Fam,1984-06-{day:02},removed,u\r"),
        };
        text.push_str(&row);
    }
    text
}

/// `ingest` in pieces of any size writes what a whole-file ingest writes: the same rows (read
/// back), the same rejects file byte for byte, the same summary and digest. Pieces of 1 byte
/// to the whole file, on exports with BOM, quoted line breaks, bare `\r`, repeats far apart
/// (kept at the first line, every repeat pointing at it), gzip, a headerless layout and one
/// sorted by voter id.
/// Writes the exports the piece tests read into `dir`: (file, profile, length of its text).
fn exports_to_cut(dir: &Dir) -> [(&'static str, &'static str, usize); 5] {
    dir.write(
        "headerless.toml",
        "name = \"h\"\ndelimiter = \";\"\nheader = false\n[columns]\nvoter_id = 1\nfamily_name = 2\nbirth_date = 3\n",
    );
    let headerless: String = (0..40)
        .map(|i| format!("B{};Fam{i};1970-01-{:02}\n", (i * 3) % 11, i % 28 + 1))
        .collect();
    let long = export_with_repeats_far_apart();
    // Sorted by voter id, as many registers export: its runs are written one after the
    // other instead of merged.
    let sorted: String =
        std::iter::once("voter_id,given_name,family_name,birth_date\n".to_string())
            .chain(
                (0..60).map(|i| format!("V{i:03},G{i},Fam{},1975-02-{:02}\n", i % 7, i % 28 + 1)),
            )
            .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, long.as_bytes()).unwrap();
    dir.write("long.csv.gz", gz.finish().unwrap());
    dir.write("messy.csv", MESSY_CANONICAL);
    dir.write("long.csv", &long);
    dir.write("headerless.txt", &headerless);
    dir.write("sorted.csv", &sorted);
    [
        ("messy.csv", "canonical", MESSY_CANONICAL.len()),
        ("long.csv", "canonical", long.len()),
        ("long.csv.gz", "canonical", long.len()),
        ("headerless.txt", "headerless.toml", headerless.len()),
        ("sorted.csv", "canonical", sorted.len()),
    ]
}

/// Piece sizes from 1 byte to a text of `len` bytes whole.
fn piece_sizes(len: usize) -> [usize; 9] {
    [1, 2, 7, 31, 64, 100, 333, len - 1, len]
}

#[test]
fn an_export_ingested_in_pieces_is_the_export_ingested_whole() {
    let dir = Dir::new();
    let cases = exports_to_cut(&dir);
    for (input, profile, len) in cases {
        let whole = dir.run(&["ingest", input, "--profile", profile, "-o", "whole.parquet"]);
        whole.expect_code(0);
        let want_rejects = std::fs::read(dir.path("whole.rejects.csv")).unwrap();
        let want = load(&dir.path("whole.parquet"), "canonical").snapshot.df;
        for piece in piece_sizes(len) {
            let piece = piece.to_string();
            let run = dir.run(&[
                "ingest",
                input,
                "--profile",
                profile,
                "-o",
                "pieces.parquet",
                "--piece-bytes",
                &piece,
            ]);
            run.expect_code(0);
            assert_eq!(
                run.stdout.replace("pieces", "whole"),
                whole.stdout,
                "{input} in pieces of {piece}"
            );
            assert!(
                std::fs::read(dir.path("pieces.rejects.csv")).unwrap() == want_rejects,
                "{input} in pieces of {piece}: rejects differ"
            );
            let got = load(&dir.path("pieces.parquet"), "canonical").snapshot.df;
            assert!(got.equals_missing(&want), "{input} in pieces of {piece}");
        }
        // No run files are left beside the output.
        let left: Vec<_> = std::fs::read_dir(dir.path("."))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("runs"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

/// A delimited export loaded a piece of text at a time (as every command but `ingest` loads
/// one) is the export loaded whole: the same rows, lines and fingerprints, and the same
/// account, every reject with its line, reason and raw text, repeats far apart included.
#[test]
fn an_export_loaded_in_pieces_is_the_export_loaded_whole() {
    let dir = Dir::new();
    let account = |loaded: &rollaudit::load::Loaded| {
        let r = &loaded.report;
        let rejects: Vec<(u64, String, String)> = r
            .rejects
            .iter()
            .map(|j| (j.line, j.reason.to_string(), j.raw.clone()))
            .collect();
        (r.rows_read, r.rows_loaded, r.encoding, r.gzipped, rejects)
    };
    for (input, profile, len) in exports_to_cut(&dir) {
        let profile = match profile.ends_with(".toml") {
            true => {
                let text = std::fs::read_to_string(dir.path(profile)).unwrap();
                Profile::parse(&text, profile).expect("the test profile parses")
            }
            false => Profile::builtin(profile).expect("a built-in profile"),
        };
        let bytes = std::fs::read(dir.path(input)).unwrap();
        let whole = load_bytes(bytes, Path::new(input), &profile, &NoProgress).unwrap();
        assert!(
            whole.report.rows_rejected > 0 || input == "sorted.csv",
            "{input}: the case has rejects to compare"
        );
        for piece in piece_sizes(len) {
            let cut = load_path_in_pieces(&dir.path(input), &profile, piece).unwrap();
            assert_eq!(
                account(&cut),
                account(&whole),
                "{input} in pieces of {piece}"
            );
            assert!(
                cut.snapshot.df.equals_missing(&whole.snapshot.df),
                "{input} in pieces of {piece}"
            );
        }
    }
}

/// `--strict` refuses an export with rejected rows (exit 2, naming the first) and leaves what
/// was at the output path, whether the export is read whole or in pieces.
#[test]
fn strict_ingest_refuses_rejects_and_leaves_the_output_alone() {
    let dir = Dir::new();
    dir.write("export.csv", MESSY_CANONICAL);
    for piece in ["268435456", "40"] {
        dir.write("out.parquet", "what was there");
        let run = dir.run(&[
            "ingest",
            "export.csv",
            "-o",
            "out.parquet",
            "--strict",
            "--piece-bytes",
            piece,
        ]);
        run.expect_one_line_error();
        assert!(
            run.stderr
                .contains("--strict: 6 rows rejected; first at line 5: expected 6 fields"),
            "{}",
            run.stderr
        );
        assert_eq!(
            std::fs::read(dir.path("out.parquet")).unwrap(),
            b"what was there",
            "pieces of {piece}"
        );
        assert!(!dir.path("out.rejects.csv").exists());
        let left: Vec<_> = std::fs::read_dir(dir.path("."))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "export.csv" && n != "out.parquet")
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
