#![no_main]
//! See `strata_fuzz::expressions`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_fuzz::expressions::run(data));
