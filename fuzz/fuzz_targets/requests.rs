#![no_main]
//! See `strata_fuzz::requests`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_fuzz::requests::run(data));
