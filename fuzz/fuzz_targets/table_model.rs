#![no_main]
//! See `strata_fuzz::table_model`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_fuzz::table_model::run(data));
