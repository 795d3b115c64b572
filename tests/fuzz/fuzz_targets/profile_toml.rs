//! Arbitrary text as a profile TOML: see `checks::profile_toml`.
#![no_main]

// Shared with tests/hostile.rs; each target uses one of its functions.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::profile_toml(data));
