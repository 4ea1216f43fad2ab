#![no_main]
//! See `strata_fuzz::numbers`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_fuzz::numbers::run(data));
