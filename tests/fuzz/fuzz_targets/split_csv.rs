//! Arbitrary bytes through the CSV batch pre-scan and one reader: see `checks::split_csv`.
#![no_main]

// Shared with tests/hostile.rs; each target uses one of its functions.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::split_csv(data));
