//! Arbitrary text as an election calendar: see `checks::calendar_toml`.
#![no_main]

// Shared with tests/hostile.rs; each target uses one of its functions.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::calendar_toml(data));
