//! What each fuzz target asserts about one input, shared by the fuzz targets (one function
//! each) and by `tests/hostile.rs`, which replays the minimised crash inputs in
//! `tests/fuzz/regressions/<target>/` through the same functions on every test run.
//!
//! A function returns normally when the input was handled: loaded, rejected row by row, or
//! refused with an error. It panics (failing the test, or reporting a crash to libFuzzer) when
//! the library panicked or broke an invariant.

use std::path::Path;

use rollaudit::calendar::ElectionCalendar;
use rollaudit::load::{batch_starts_both_ways, load_bytes, Loaded, NoProgress};
use rollaudit::profile::Profile;

/// Arbitrary bytes as the file `fuzz.csv` under the canonical profile, as `rollaudit ingest`
/// would read them (gzip, Parquet and Arrow magic bytes are honoured, so those readers are
/// reached too).
pub fn load_csv(data: &[u8]) {
    let profile = Profile::canonical();
    if let Ok(loaded) = load_bytes(data.to_vec(), Path::new("fuzz.csv"), &profile, &NoProgress) {
        assert_accounted(&loaded);
    }
}

/// Arbitrary bytes cut into batches by the loader's quote-aware pre-scan, against one `csv`
/// reader over the whole text: both must put every batch's first record at the same byte and
/// line, whatever the quotes and line breaks, for a comma and a semicolon delimiter and batches
/// of 1 to 3 records.
pub fn split_csv(data: &[u8]) {
    for delimiter in [b',', b';'] {
        for every in 1..=3 {
            let (scanned, read) = batch_starts_both_ways(data, delimiter, b'"', every);
            assert_eq!(scanned, read, "delimiter {delimiter}, every {every}");
        }
    }
}

/// A small export in several shapes at once (a header, ISO and day-first dates, a tab and a
/// semicolon, a quoted comma, status codes), loaded with every profile that validates, so that
/// validation cannot let through a value the loader then chokes on.
pub const PROFILE_EXPORT: &[u8] = include_bytes!("profile_export.csv");

/// Arbitrary text as a profile TOML; a profile that validates then loads [`PROFILE_EXPORT`].
pub fn profile_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(profile) = Profile::parse(text, "fuzz.toml") {
        let export = PROFILE_EXPORT.to_vec();
        if let Ok(loaded) = load_bytes(export, Path::new("fuzz.csv"), &profile, &NoProgress) {
            assert_accounted(&loaded);
        }
    }
}

/// Arbitrary text as an election calendar; a calendar that validates must answer the
/// questions the rules ask of it.
pub fn calendar_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(calendar) = ElectionCalendar::parse(text, "fuzz.toml") {
        let _ = calendar.quiet_start();
    }
}

/// Row conservation: every row read is loaded or rejected, and every reject is listed.
fn assert_accounted(loaded: &Loaded) {
    let r = &loaded.report;
    assert_eq!(
        r.rows_read,
        r.rows_loaded + r.rows_rejected,
        "row conservation"
    );
    assert_eq!(
        r.rejects.len() as u64,
        r.rows_rejected,
        "every reject listed"
    );
    assert_eq!(loaded.snapshot.rows() as u64, r.rows_loaded, "loaded rows");
}
