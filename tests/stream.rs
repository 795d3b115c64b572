//! The streamed diff (`diff --stream`, for registers larger than memory) against the
//! in-memory diff of the same snapshots, and the ingested-file reader and writer under it.

use std::path::{Path, PathBuf};

use polars::prelude::ParquetWriter;
use rollaudit::diff::stream::{diff_windows, find_rekeyed, Input, StreamError};
use rollaudit::diff::{diff, ChangeKind, DiffConfig};
use rollaudit::generate::AnomalySelection;
use rollaudit::load::{load_path, IngestedReader, IngestedWriter, LoadError, NoProgress};
use rollaudit::model::LINE_COLUMN;
use rollaudit::profile::Profile;
use rollaudit::report::diff::{write_diff, DiffWriter};
use rollaudit::snapshot::Snapshot;

use crate::util::{generated_series, one_snapshot, series_csv, write_in_groups, Dir};

/// The streamed diff of two files into `dir`; returns the number of windows.
fn streamed(old: &Path, new: &Path, window_rows: usize, dir: &Path) -> Result<usize, StreamError> {
    let config = DiffConfig::default();
    let (old, new) = (Input::File(old), Input::File(new));
    let rekeyed = find_rekeyed(old, new, &config, window_rows)?;
    let mut writer = DiffWriter::create(dir)?;
    let mut windows = 0;
    diff_windows(old, new, &config, rekeyed, window_rows, |result, o, n| {
        windows += 1;
        Ok(writer.append(&result, o, n)?)
    })?;
    writer.finish()?;
    Ok(windows)
}

fn artefacts(dir: &Path) -> Vec<(String, Vec<u8>)> {
    ["changes.csv", "summary.csv", "diff.json"]
        .iter()
        .map(|name| (name.to_string(), std::fs::read(dir.join(name)).unwrap()))
        .collect()
}

#[test]
fn the_streamed_diff_writes_what_the_in_memory_diff_writes() {
    let dir = Dir::new();
    let series = generated_series(
        &dir.path("series"),
        20_000,
        2,
        11,
        AnomalySelection::all_defaults(),
    );
    let (old, new) = (&series.snapshots[0], &series.snapshots[1]);
    let result = diff(old, new, &DiffConfig::default());
    // Re-keyed records move to new ids at the end of the id range, so with small windows
    // nearly every pair has its halves in different windows.
    let rekeyed = result.kind_counts().get(&ChangeKind::Rekey).copied();
    assert!(
        rekeyed.unwrap_or(0) >= 5,
        "re-keyings to cross windows: {rekeyed:?}"
    );
    write_diff(&dir.path("memory"), &result, old, new).unwrap();
    let expected = artefacts(&dir.path("memory"));

    let old_file = write_in_groups(old, &dir.path("old.parquet"), 1_000);
    let new_file = write_in_groups(new, &dir.path("new.parquet"), 1_000);
    for (window_rows, at_least) in [(1, 20), (2_500, 7), (100_000, 1)] {
        let out = dir.path(&format!("stream-{window_rows}"));
        let windows = streamed(&old_file, &new_file, window_rows, &out).unwrap();
        assert!(
            windows >= at_least,
            "{windows} windows of {window_rows} rows"
        );
        for ((name, want), (_, got)) in expected.iter().zip(artefacts(&out)) {
            assert!(
                *want == got,
                "{name} differs from the in-memory diff's with windows of {window_rows} rows"
            );
        }
    }
}

#[test]
fn identical_files_stream_to_an_identical_diff() {
    let dir = Dir::new();
    let series = generated_series(&dir.path("series"), 3_000, 1, 5, AnomalySelection::none());
    let file = write_in_groups(&series.snapshots[0], &dir.path("a.parquet"), 500);
    streamed(&file, &file, 700, &dir.path("out")).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path("out/diff.json")).unwrap()).unwrap();
    assert_eq!(json["identical"], true);
    assert_eq!(json["counts"]["unchanged"], 3_000);
    assert_eq!(
        json["old"]["digest"],
        series.snapshots[0].digest.to_string()
    );
    let log = std::fs::read_to_string(dir.path("out/changes.csv")).unwrap();
    assert_eq!(log.lines().count(), 1, "only the header: {log}");
}

#[test]
fn a_file_out_of_voter_id_order_is_refused_at_the_first_row_out_of_place() {
    let dir = Dir::new();
    let series = generated_series(&dir.path("series"), 2_000, 1, 5, AnomalySelection::none());
    let sorted = &series.snapshots[0];
    let good = write_in_groups(sorted, &dir.path("good.parquet"), 400);
    // Rows 1..=1000 in order, then row 1001 swapped with row 1000: row 1001 is out of place.
    let mut order: Vec<u32> = (0..sorted.rows() as u32).collect();
    order.swap(999, 1000);
    let idx = polars::prelude::IdxCa::from_vec("idx".into(), order);
    let mut df = sorted.df.take(&idx).unwrap();
    let bad = dir.path("bad.parquet");
    ParquetWriter::new(std::fs::File::create(&bad).unwrap())
        .with_row_group_size(Some(400))
        .finish(&mut df)
        .unwrap();
    match streamed(&good, &bad, 300, &dir.path("out")) {
        Err(StreamError::Load(LoadError::NotSorted { path, row })) => {
            assert_eq!((path, row), (bad.clone(), 1001));
        }
        other => panic!("expected a NotSorted error, got {other:?}"),
    }
    assert!(!dir.path("out/changes.csv").exists(), "no half-written log");
}

#[test]
fn the_binary_streams_only_ingested_parquet_files() {
    let dir = Dir::new();
    let csv = dir.write(
        "a.csv",
        "voter_id,given_name,family_name\nV1,ANN,SMITH\nV2,BEN,JONES\n",
    );
    let run = dir.run(&[
        "diff",
        csv.to_str().unwrap(),
        csv.to_str().unwrap(),
        "--stream",
        "-o",
        "out",
    ]);
    run.expect_one_line_error();
    assert!(
        run.stderr.contains("not an ingested Parquet file"),
        "{}",
        run.stderr
    );

    let ingested = dir.path("a.parquet");
    dir.run(&["ingest", csv.to_str().unwrap(), "-o", "a.parquet"])
        .expect_code(0);
    let run = dir.run(&[
        "diff",
        ingested.to_str().unwrap(),
        ingested.to_str().unwrap(),
        "--stream",
        "--timings",
        "-o",
        "out",
    ]);
    run.expect_code(0);
    assert!(run.stdout.contains("identical"), "{}", run.stdout);
    assert!(run.stderr.contains("re-keying pass"), "{}", run.stderr);
}

/// The generator writes Parquet a piece at a time; the pieces must make the file that the
/// whole text would, line numbers included.
#[test]
fn an_ingested_file_written_in_pieces_equals_the_whole_load() {
    let dir = Dir::new();
    let series = generated_series(&dir.path("series"), 5_000, 1, 9, AnomalySelection::none());
    let csv_path = std::fs::read_dir(dir.path("series"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .unwrap();
    let text = std::fs::read(&csv_path).unwrap();
    // Cut after a record's line break (an even number of quotes so far: not inside a field).
    let mut cuts = vec![];
    let (mut quotes, mut lines) = (0usize, 0usize);
    for (i, b) in text.iter().enumerate() {
        match b {
            b'"' => quotes += 1,
            b'\n' if quotes % 2 == 0 => {
                lines += 1;
                if lines % 1_700 == 0 {
                    cuts.push(i + 1);
                }
            }
            _ => {}
        }
    }
    let header_end = text.iter().position(|b| *b == b'\n').unwrap() + 1;
    let header = &text[..header_end];
    let mut writer = IngestedWriter::create(&dir.path("pieces.parquet"), &csv_path);
    let mut from = header_end;
    for to in cuts.into_iter().chain([text.len()]) {
        if to > from {
            let mut piece = header.to_vec();
            piece.extend_from_slice(&text[from..to]);
            writer.write_piece(piece).unwrap();
        }
        from = to;
    }
    writer.finish().unwrap();

    let whole = &series.snapshots[0];
    let pieces = load_path(
        &dir.path("pieces.parquet"),
        &Profile::canonical(),
        &NoProgress,
    )
    .unwrap()
    .snapshot;
    assert_eq!(pieces.digest, whole.digest);
    let lines = |s: &Snapshot| -> Vec<Option<u64>> {
        s.df.column(LINE_COLUMN)
            .unwrap()
            .u64()
            .unwrap()
            .iter()
            .collect()
    };
    assert!(
        lines(&pieces) == lines(whole),
        "line numbers continue across pieces"
    );
}

/// A projected load of an ingested file reads and checks only the column chunks it needs
/// (issue #14's exact pass reads 4 of 28 columns): a corrupt page header in a column it does
/// not read leaves it loading, while a load that reads that column refuses the file with the
/// reason, as a whole-file load does.
#[test]
fn a_projected_load_checks_the_pages_of_the_columns_it_reads() {
    use polars::prelude::{ParquetReader, SerReader};
    use rollaudit::model::Field;
    let dir = Dir::new();
    let series = generated_series(&dir.path("series"), 2_000, 1, 3, AnomalySelection::none());
    let path = write_in_groups(&series.snapshots[0], &dir.path("snap.parquet"), 700);
    let metadata = ParquetReader::new(std::fs::File::open(&path).unwrap())
        .get_metadata()
        .unwrap()
        .clone();
    let mut bytes = std::fs::read(&path).unwrap();
    for group in &metadata.row_groups {
        for chunk in group.parquet_columns() {
            if chunk.descriptor().path_in_schema[0].as_str() == "phone" {
                let start = chunk.byte_range().start as usize;
                bytes[start..start + 8].fill(0xff);
            }
        }
    }
    std::fs::write(&path, &bytes).unwrap();

    let exact = rollaudit::dedupe::exact::FIELDS;
    assert!(!exact.contains(&Field::Phone));
    let loaded = rollaudit::load::load_ingested(&path, &exact).expect("phone is not read");
    assert_eq!(loaded.snapshot.rows(), series.snapshots[0].rows());
    for only in [&[Field::Phone][..], &Field::ALL[..]] {
        match rollaudit::load::load_ingested(&path, only) {
            Err(LoadError::Malformed { why, .. }) => {
                assert!(why.contains("page header is corrupt"), "{why}")
            }
            other => panic!("a corrupt phone page was read: {:?}", other.map(|_| ())),
        }
    }
}

/// The audit's loads code their text columns (`Snapshot::compact`), an ingested file a row
/// group at a time (`load_ingested_coded`): every value of every field, the digest, the load
/// report and the input's SHA-256 must be the uncoded load's, and the diff of coded snapshots
/// must write what the diff of uncoded ones writes.
#[test]
fn coded_snapshots_read_and_diff_as_the_text_ones() {
    use rollaudit::load::{load_ingested_coded, sha256_hex, sha256_of_file};
    use rollaudit::model::Field;
    let dir = Dir::new();
    let series = generated_series(
        &dir.path("series"),
        5_000,
        2,
        3,
        AnomalySelection::all_defaults(),
    );
    let files: Vec<PathBuf> = series
        .snapshots
        .iter()
        .enumerate()
        .map(|(i, s)| write_in_groups(s, &dir.path(&format!("s{i}.parquet")), 700))
        .collect();
    let profile = Profile::canonical();
    let mut coded = Vec::new();
    for (text, file) in series.snapshots.iter().zip(&files) {
        let whole = load_path(file, &profile, &NoProgress).unwrap();
        let by_groups = load_ingested_coded(file, &Field::ALL).unwrap();
        assert_eq!(
            sha256_of_file(file).unwrap(),
            sha256_hex(&std::fs::read(file).unwrap())
        );
        let mut compacted = whole.snapshot.clone();
        compacted.compact();
        for snapshot in [&by_groups.snapshot, &compacted] {
            assert_eq!(snapshot.digest, text.digest);
            assert_eq!(snapshot.rows(), text.rows());
            assert!(snapshot
                .df
                .column("given_name")
                .unwrap()
                .dtype()
                .is_categorical());
            for field in Field::ALL {
                let (a, b) = (text.column(field), snapshot.column(field));
                assert_eq!(a.is_some(), b.is_some(), "{field:?}");
                let (Some(a), Some(b)) = (a, b) else { continue };
                for row in 0..text.rows() {
                    assert_eq!(a.text(row), b.text(row), "{field:?} row {row}");
                    assert!(a.same(row, &b, row) && b.same(row, &a, row));
                }
            }
        }
        assert_eq!(by_groups.report.rows_loaded, whole.report.rows_loaded);
        assert_eq!(by_groups.report.missing_fields, whole.report.missing_fields);
        coded.push(by_groups.snapshot);
    }
    let (old, new) = (&series.snapshots[0], &series.snapshots[1]);
    write_diff(
        &dir.path("text"),
        &diff(old, new, &DiffConfig::default()),
        old,
        new,
    )
    .unwrap();
    let result = diff(&coded[0], &coded[1], &DiffConfig::default());
    write_diff(&dir.path("coded"), &result, &coded[0], &coded[1]).unwrap();
    assert!(!result.log.is_empty());
    assert_eq!(artefacts(&dir.path("text")), artefacts(&dir.path("coded")));
}

/// An audit of ingested files is estimated by the coded model (they are coded as read), and
/// so is one of CSV exports (read a piece at a time and coded as converted); an audit with a
/// snapshot loaded whole (another tool's Parquet file, or fixed-width text) by the whole-load
/// model; a death registry beside them adds its whole-load share. Expected values from the
/// constants, the files' sizes and their rows.
#[test]
fn an_audit_of_ingested_files_is_estimated_by_the_coded_model() {
    use rollaudit::load::memory::{
        estimate, estimate_audit, estimate_audit_latest_in_windows, estimate_one,
        AUDIT_DEDUPE_RETAINED, AUDIT_SCAN_RETAINED, CODED_BASE, CODED_RETAINED, COLUMNAR_RATIO,
        DEDUPE_BLOCKING_RETAINED, DEDUPE_RECORDS_RETAINED, DEDUPE_WINDOWED_RETAINED, KEPT_SHARE,
        ONE_CODED_RETAINED, SCAN_WINDOWED_RETAINED,
    };
    let dir = Dir::new();
    let series = generated_series(&dir.path("series"), 2_000, 2, 5, AnomalySelection::none());
    let files: Vec<PathBuf> = series
        .snapshots
        .iter()
        .enumerate()
        .map(|(i, s)| write_in_groups(s, &dir.path(&format!("s{i}.parquet")), 500))
        .collect();
    let (a, b) = (files[0].as_path(), files[1].as_path());
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64;
    let text = (COLUMNAR_RATIO * size(a)) as u64 + (COLUMNAR_RATIO * size(b)) as u64;
    // The coded model, or the whole-load model where that is lower (it is, for files this
    // small; `load::memory`'s unit tests take a large export).
    let coded_or_whole = |coded: u64, inputs: &[&Path]| coded.min(estimate(inputs).peak_bytes);
    let profile = Profile::canonical();
    let coded = estimate_audit(&[a, b], &[], &profile, None, false);
    assert_eq!(coded.input_text_bytes, text);
    let (text_a, text_b) = (
        (COLUMNAR_RATIO * size(a)) as u64,
        (COLUMNAR_RATIO * size(b)) as u64,
    );
    // The largest of dedupe's stage (the latest, whole or from windows), the scan's and the
    // diff's (what it holds).
    let coded_peak = |dedupe: f64, held: u64| {
        let latest = text_b as f64;
        let stages = (dedupe * latest).max(AUDIT_SCAN_RETAINED * latest);
        CODED_BASE + stages.max(CODED_RETAINED * held as f64) as u64
    };
    let model = coded_peak(AUDIT_DEDUPE_RETAINED, text);
    assert_eq!(coded.peak_bytes, coded_or_whole(model, &[a, b]));
    // Read 500 rows at a time, the first snapshot counts as the share of it kept and a
    // window's share of its rows, and the latest is deduplicated from windows.
    let windowed = estimate_audit(&[a, b], &[], &profile, Some(500), true);
    let window = 500.0 / IngestedReader::open(a).unwrap().rows() as f64;
    assert!(window < 0.5, "several windows");
    let first_held = ((KEPT_SHARE + window) * text_a as f64) as u64;
    assert_eq!(
        windowed.peak_bytes,
        coded_or_whole(
            coded_peak(DEDUPE_WINDOWED_RETAINED, first_held + text_b),
            &[a, b]
        )
    );
    // With the latest read a window at a time for its diff too, the diff holds the share
    // kept and a window's share of each snapshot.
    // Its scan holds the keys of the rules across records, and its dedupe, within a budget,
    // its records beside what they leave of the budget, at least an eighth of it (or all its
    // pairs, if fewer).
    let budget = 1 << 20;
    let in_windows = estimate_audit_latest_in_windows(&[a, b], &[], &profile, 500, budget).unwrap();
    let latest_window = 500.0 / IngestedReader::open(b).unwrap().rows() as f64;
    let latest_held = (KEPT_SHARE + latest_window) * text_b as f64;
    let both_held = ((KEPT_SHARE + window) * text_a as f64 + latest_held) as u64;
    let latest = text_b as f64;
    let records = CODED_BASE as f64 + DEDUPE_RECORDS_RETAINED * latest;
    let pairs = (budget as f64 - records).max((budget / 8) as f64);
    let parts = DEDUPE_RECORDS_RETAINED * latest + pairs;
    let dedupe =
        (DEDUPE_WINDOWED_RETAINED * latest).min(parts.max(DEDUPE_BLOCKING_RETAINED * latest));
    let stages = dedupe
        .max(SCAN_WINDOWED_RETAINED * latest)
        .max(CODED_RETAINED * both_held as f64);
    assert_eq!(
        in_windows.peak_bytes,
        coded_or_whole(CODED_BASE + stages as u64, &[a, b])
    );
    assert!(in_windows.peak_bytes <= windowed.peak_bytes);
    assert!(estimate_audit_latest_in_windows(&[a], &[], &profile, 500, budget).is_none());
    // `dedupe` of the latest file alone reads it a window at a time, its pairs in parts
    // within its budget as the audit's dedupe above, or all at once within a larger one; its
    // exact pass, and `scan`, load it coded.
    let one = |within: Option<u64>| estimate_one(b, &[], &profile, within).peak_bytes;
    let one_model = |retained: f64| CODED_BASE + (retained * text_b as f64) as u64;
    assert_eq!(
        one(Some(budget)),
        coded_or_whole(CODED_BASE + dedupe as u64, &[b])
    );
    assert_eq!(
        one(Some(u64::MAX)),
        coded_or_whole(one_model(DEDUPE_WINDOWED_RETAINED), &[b])
    );
    assert_eq!(
        one(None),
        coded_or_whole(one_model(ONE_CODED_RETAINED), &[b])
    );
    let registry = dir.path("deceased.csv");
    std::fs::write(&registry, "voter_id,given_name\n1,A\n").unwrap();
    let with_registry = estimate_audit(&[a, b], &[&registry], &profile, None, false);
    assert_eq!(
        with_registry.peak_bytes,
        coded_or_whole(
            model + estimate(&[&registry]).peak_bytes,
            &[a, b, &registry]
        )
    );
    // A CSV export is read in pieces: the coded model, its text being its size.
    let csv = series_csv(&dir.path("series"));
    let streamed = estimate_audit(&[a, &csv], &[], &profile, Some(500), true);
    let text = text_a + size(&csv) as u64;
    assert_eq!(streamed.input_text_bytes, text);
    // Deduplicated whole, after it loads; the first snapshot windowed as above.
    let dedupe = AUDIT_DEDUPE_RETAINED * size(&csv);
    let held = first_held + size(&csv) as u64;
    let model = CODED_BASE + dedupe.max(CODED_RETAINED * held as f64) as u64;
    assert_eq!(streamed.peak_bytes, coded_or_whole(model, &[a, &csv]));
    // A Parquet file that is not ingested is loaded whole: the whole-load model for every
    // input.
    let plain = dir.path("plain.parquet");
    let mut df = series.snapshots[0]
        .df
        .clone()
        .drop_many([rollaudit::model::FINGERPRINT_COLUMN, LINE_COLUMN]);
    ParquetWriter::new(std::fs::File::create(&plain).unwrap())
        .finish(&mut df)
        .unwrap();
    assert!(IngestedReader::open(&plain).is_err());
    assert_eq!(
        estimate_audit(&[a, &plain], &[], &profile, Some(500), true),
        estimate(&[a, &plain])
    );
    // So is a CSV read through a fixed-width profile, which has no piecewise reader.
    let fixed = Profile::builtin("mi_qvf").unwrap();
    assert_eq!(
        estimate_audit(&[a, &csv], &[], &fixed, Some(500), true),
        estimate(&[a, &csv])
    );
}

/// A CSV snapshot the generator wrote into `dir`.
/// A CSV export loaded for the audit is coded a batch at a time as it is converted
/// (`load_path_hashed_coded`), and so is a Parquet file that is not ingested (another tool's
/// export, converted row by row like text): every value, the digest, the rejects and the
/// SHA-256 are the uncoded load's.
#[test]
fn an_export_coded_as_it_loads_reads_as_the_text_load() {
    use rollaudit::load::{load_path_hashed_coded, sha256_hex, DEFAULT_PIECE_BYTES};
    use rollaudit::model::{Field, FINGERPRINT_COLUMN};
    let dir = Dir::new();
    generated_series(
        &dir.path("series"),
        3_000,
        1,
        9,
        AnomalySelection::all_defaults(),
    );
    let csv = series_csv(&dir.path("series"));
    let profile = Profile::canonical();
    // The same rows as a plain Parquet file: no fingerprint or line columns, so not ingested.
    let plain = dir.path("plain.parquet");
    let mut df = load_path(&csv, &profile, &NoProgress)
        .unwrap()
        .snapshot
        .df
        .drop_many([FINGERPRINT_COLUMN, LINE_COLUMN]);
    ParquetWriter::new(std::fs::File::create(&plain).unwrap())
        .finish(&mut df)
        .unwrap();
    for file in [&csv, &plain] {
        let text = load_path(file, &profile, &NoProgress).unwrap();
        let (coded, sha256) =
            load_path_hashed_coded(file, &profile, DEFAULT_PIECE_BYTES, &NoProgress).unwrap();
        assert_eq!(sha256, sha256_hex(&std::fs::read(file).unwrap()));
        assert_eq!(coded.snapshot.digest, text.snapshot.digest);
        assert_eq!(coded.report.rows_rejected, text.report.rows_rejected);
        let family = coded.snapshot.df.column("family_name").unwrap();
        assert!(family.dtype().is_categorical());
        for field in Field::ALL {
            let (a, b) = (text.snapshot.column(field), coded.snapshot.column(field));
            assert_eq!(a.is_some(), b.is_some(), "{field:?}");
            let (Some(a), Some(b)) = (a, b) else { continue };
            for row in 0..text.snapshot.rows() {
                assert_eq!(a.text(row), b.text(row), "{field:?} row {row}");
            }
        }
    }
}

/// An audit that reads its exports in small pieces (what `--memory-limit` asks for when
/// memory is short) writes the same bytes to every artefact as one that reads each whole in a
/// piece, on the committed sample series (gzip, four snapshots). Pieces of 64 KiB cut each
/// export into dozens of pieces, so rows, rejects and repeated ids cross their edges.
#[test]
fn an_audit_that_reads_its_exports_in_small_pieces_writes_the_same_artefacts() {
    use rollaudit::audit::AuditInput;
    use rollaudit::load::DEFAULT_PIECE_BYTES;

    let mut inputs: Vec<AuditInput> = std::fs::read_dir(crate::util::repo().join("sample-data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("register-"))
        .map(|p| AuditInput::parse(&p.display().to_string()).unwrap())
        .collect();
    inputs.sort_by_key(|i| i.date);
    assert_eq!(inputs.len(), 4, "the sample series");
    let dir = Dir::new();
    let audit_into = |name: &str, piece_bytes: usize| {
        crate::util::library_audit(
            &inputs,
            None,
            piece_bytes,
            None,
            None,
            false,
            &dir.path(name),
        )
    };
    let whole = audit_into("whole", DEFAULT_PIECE_BYTES);
    let pieces = audit_into("pieces", 64 << 10);
    assert!(
        whole.len() >= 8,
        "every artefact: {:?}",
        whole.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(
        whole.iter().map(|f| &f.0).collect::<Vec<_>>(),
        pieces.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in whole.iter().zip(&pieces) {
        assert!(a == b, "{name} differs between whole and small pieces");
    }
}

/// An audit that diffs its first snapshot, an ingested file, a window at a time against the
/// next one in memory (never holding the first whole), and deduplicates its latest from
/// windows before loading it, writes the same bytes to every artefact as one that loads
/// every snapshot whole. The generated series has three snapshots, so the windowed interval
/// is followed by one diffed in memory, and its first snapshot lacks the email field (schema
/// drift in the windowed interval), the others the phone. Its files have row groups of 1,000
/// rows: windows of one group, of a few, and of the whole file.
#[test]
fn an_audit_that_reads_its_first_and_latest_snapshots_a_window_at_a_time_writes_the_same_artefacts()
{
    use rollaudit::audit::{self, AuditInput, Stage};
    use rollaudit::generate::{generate, GenerateConfig};
    use rollaudit::load::DEFAULT_PIECE_BYTES;

    let dir = Dir::new();
    let mut config = GenerateConfig::new(20_000, 3, 90, 11, dir.path("series"));
    config.anomalies = AnomalySelection::all_defaults();
    let summary = generate(&config).unwrap();
    let mut csvs: Vec<&PathBuf> = summary
        .files
        .iter()
        .filter(|f| f.to_string_lossy().contains("register-"))
        .collect();
    csvs.sort();
    assert_eq!(csvs.len(), 3, "{csvs:?}");
    crate::util::without_column(csvs[0], "email");
    // The later two lack the phone: the audit of those two alone (below) has a latest
    // snapshot without a field, whichever way it reads it. And 40 of their records share
    // one birth date, which the scan reports as over-represented (a rule across records).
    for csv in &csvs[1..] {
        crate::util::without_column(csv, "phone");
        crate::util::with_value(csv, "birth_date", "1961-03-17", 100..140);
    }
    let inputs: Vec<AuditInput> = csvs
        .iter()
        .map(|csv| {
            let snapshot = load_path(csv, &Profile::canonical(), &NoProgress)
                .unwrap()
                .snapshot;
            let name = csv.with_extension("parquet");
            let file = write_in_groups(&snapshot, &name, 1_000);
            AuditInput::parse(&file.display().to_string()).unwrap()
        })
        .collect();

    // With the generated election calendar, the scan finds what only the calendar decides
    // (registrations after the cutoff, under age on election day).
    let calendar = std::fs::read_to_string(dir.path("series").join("election.toml")).unwrap();
    let calendar =
        rollaudit::calendar::ElectionCalendar::parse(&calendar, "election.toml").unwrap();
    // The same series, and one of four whose last interval changes nothing: the third
    // snapshot dated 40 days early, then again 30 days late. The findings of the latest
    // snapshot's scan then name voters its last diff does not, and the edits of its last 40
    // days fall in that interval: the incidents give their edit stamps all the same.
    let mut unchanged_last = inputs[..2].to_vec();
    for days in [-40, 30] {
        unchanged_last.push(AuditInput {
            path: inputs[2].path.clone(),
            date: inputs[2].date + days,
        });
    }
    // And the last two snapshots alone, with the latest read a window at a time for its diff
    // too (`AuditJob::latest_in_windows`).
    let two = inputs[1..].to_vec();
    let every = &[1, 2_500, 1_000_000][..];
    let runs = [
        (&inputs, every, false),
        (&unchanged_last, &[2_500][..], false),
        (&two, every, true),
    ];
    for (k, (series, windows, latest_in_windows)) in runs.into_iter().enumerate() {
        let audit_into = |name: String, window_rows: Option<usize>| {
            crate::util::library_audit(
                series,
                Some(&calendar),
                DEFAULT_PIECE_BYTES,
                None,
                window_rows,
                latest_in_windows && window_rows.is_some(),
                &dir.path(&name),
            )
        };
        let whole = audit_into(format!("whole-{k}"), None);
        assert!(whole.len() >= 8, "every artefact");
        // The generator plants duplicates: the windowed dedupe has clusters to get right.
        let clusters = whole
            .iter()
            .find(|f| f.0 == "clusters.csv")
            .expect("clusters.csv");
        assert!(
            clusters.1.iter().filter(|&&b| b == b'\n').count() > 100,
            "clusters found"
        );
        for &window_rows in windows {
            let windowed = audit_into(format!("windows-{k}-{window_rows}"), Some(window_rows));
            assert_eq!(
                whole.iter().map(|f| &f.0).collect::<Vec<_>>(),
                windowed.iter().map(|f| &f.0).collect::<Vec<_>>()
            );
            for ((name, a), (_, b)) in whole.iter().zip(&windowed) {
                assert!(a == b, "{name} differs with windows of {window_rows} rows");
            }
        }
    }

    // The windowed audit loads two snapshots, the whole one all three; it deduplicates the
    // latest before loading it.
    let stages = |window_rows: Option<usize>| {
        let (profile, config) = (Profile::canonical(), audit::AuditConfig::default());
        let job = audit::AuditJob {
            window_rows,
            ..crate::util::job(&inputs, &profile, &config)
        };
        let stages = std::sync::Mutex::new(Vec::new());
        let result = audit::run(job, &NoProgress, &|stage| {
            stages.lock().unwrap().push(stage)
        })
        .unwrap();
        let latest = result.inputs.last().unwrap();
        let kept = (latest.snapshot.rows() as u64, latest.digest.rows);
        (stages.into_inner().unwrap(), kept)
    };
    let ((whole, whole_kept), (windowed, windowed_kept)) = (stages(None), stages(Some(1)));
    // The windowed audit keeps of the latest snapshot only the records its diff, dedupe and
    // findings name (the artefacts above are nonetheless the same); the whole one keeps all.
    assert_eq!(whole_kept.0, whole_kept.1);
    assert_eq!(windowed_kept.1, whole_kept.1);
    assert!(
        windowed_kept.0 < windowed_kept.1 / 2,
        "kept {} of {} records",
        windowed_kept.0,
        windowed_kept.1
    );
    let loads = |stages: &[Stage]| stages.iter().filter(|&&s| s == Stage::Load).count();
    assert_eq!((loads(&whole), loads(&windowed)), (3, 2));
    assert_eq!(&whole[..3], [Stage::Load, Stage::Scan, Stage::Dedupe]);
    assert_eq!(&windowed[..3], [Stage::Dedupe, Stage::Load, Stage::Scan]);
}

/// `scan` and `dedupe` read a CSV export in pieces of an eighth of `--memory-limit` (1 MiB
/// here, of an export of about 4 MB) and write what they write from pieces of the default
/// size.
#[test]
fn scan_and_dedupe_read_in_the_pieces_the_memory_limit_sets() {
    let dir = Dir::new();
    let csv = one_snapshot(&dir, 3);
    assert!(
        std::fs::metadata(&csv).unwrap().len() > 3 << 20,
        "several pieces"
    );
    let csv = csv.to_str().unwrap();
    let limited = ["--memory-limit", "8M", "--skip-memory-check"];
    for (command, files) in [
        ("scan", &["flagged.csv"][..]),
        (
            "dedupe",
            &["duplicates.csv", "clusters.csv", "exact.csv"][..],
        ),
    ] {
        let run = |out: &str, extra: &[&str]| {
            let mut args = vec![command, csv, "-o", out];
            if command == "scan" {
                args.extend(["--as-of", "2026-10-20"]);
            }
            args.extend(extra);
            dir.run(&args).expect_code(0);
        };
        run(&format!("{command}-whole"), &[]);
        run(&format!("{command}-pieces"), &limited);
        for file in files {
            let read = |out: &str| std::fs::read(dir.path(&format!("{out}/{file}"))).unwrap();
            assert!(
                read(&format!("{command}-whole")) == read(&format!("{command}-pieces")),
                "{command}: {file} differs in pieces of 1 MiB"
            );
        }
    }
}
