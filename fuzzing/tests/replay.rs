//! Replays every committed fuzz corpus and crash file (`fuzz/corpus/<target>/`,
//! `fuzz/artifacts/<target>/`) through the targets, on the stable toolchain: what libFuzzer
//! found once stays fixed, under the normal test command.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::path::Path;

#[test]
fn every_committed_input_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut total = 0;
    for target in strata_fuzz::TARGETS {
        let mut inputs = 0;
        for dir in ["corpus", "artifacts"] {
            let path = root.join(dir).join(target.name);
            let Ok(entries) = std::fs::read_dir(&path) else {
                continue;
            };
            let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
            files.sort();
            for file in files.iter().filter(|f| f.is_file()) {
                let data = std::fs::read(file).unwrap();
                let outcome = std::panic::catch_unwind(|| (target.run)(&data));
                assert!(
                    outcome.is_ok(),
                    "{} fails on {}",
                    target.name,
                    file.display()
                );
                inputs += 1;
            }
        }
        assert!(inputs > 0, "target {} has no committed corpus", target.name);
        total += inputs;
    }
    eprintln!("replayed {total} inputs");
}
