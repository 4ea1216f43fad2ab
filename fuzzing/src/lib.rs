//! strata's fuzz targets as plain functions of a byte slice, so that one definition serves
//! both libFuzzer (the `fuzz/` cargo-fuzz project, nightly) and the replay test that runs
//! every committed corpus and crash file under the normal test command (stable).
//!
//! A target's contract: any input is answered with an error or a value. A panic, a hang, an
//! allocation sized by an unchecked length, or — in the differential targets — a difference
//! from the reference model is a bug.

pub mod decoders;
pub mod engine_model;
pub mod expressions;
pub mod numbers;
pub mod requests;
pub mod table_model;

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `fuzz/corpus/<name>/` directory) and its function.
pub struct Target {
    /// The name.
    pub name: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "wal",
        run: decoders::wal,
    },
    Target {
        name: "manifest",
        run: decoders::manifest,
    },
    Target {
        name: "sstable",
        run: decoders::sstable,
    },
    Target {
        name: "block",
        run: decoders::block,
    },
    Target {
        name: "item",
        run: decoders::item,
    },
    Target {
        name: "key",
        run: decoders::key,
    },
    Target {
        name: "stream_record",
        run: decoders::stream_record,
    },
    Target {
        name: "expressions",
        run: expressions::run,
    },
    Target {
        name: "requests",
        run: requests::run,
    },
    Target {
        name: "engine_model",
        run: engine_model::run,
    },
    Target {
        name: "table_model",
        run: table_model::run,
    },
    Target {
        name: "numbers",
        run: numbers::run,
    },
];
