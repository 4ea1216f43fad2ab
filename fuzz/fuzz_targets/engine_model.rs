#![no_main]
//! See `strata_fuzz::engine_model`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_fuzz::engine_model::run(data));
