//! Arbitrary bytes through the loader (canonical profile): see `checks::load_csv`.
#![no_main]

// Shared with tests/hostile.rs; each target uses one of its functions.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(
    // libfuzzer-sys aborts on every panic, even one the loader catches (it catches polars'
    // reader panicking on a corrupt file and returns an error). A silent hook lets caught
    // panics pass; a panic escaping the loader still aborts, in libfuzzer-sys' catch_unwind.
    init: std::panic::set_hook(Box::new(|_| {})),
    |data: &[u8]| checks::load_csv(data)
);
