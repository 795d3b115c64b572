//! Arbitrary bytes through the loader (canonical profile): see `checks::load_csv`.
#![no_main]

// Shared with tests/hostile.rs; each target uses one of its functions.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::load_csv(data));
