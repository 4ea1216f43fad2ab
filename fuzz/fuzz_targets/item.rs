#![no_main]
//! See `strata_fuzz::decoders`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_fuzz::decoders::item(data));
