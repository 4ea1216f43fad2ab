//! Runs one fuzz input through a target: `cargo run -p strata-fuzz --example repro TARGET FILE`
//! (`STRATA_FUZZ_DEBUG=1` makes the model targets print the operations).

#![allow(
    clippy::unwrap_used,
    reason = "a debugging tool: a panic is the answer"
)]

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, target, file] = args.as_slice() else {
        eprintln!("usage: repro TARGET FILE");
        std::process::exit(2);
    };
    let t = strata_fuzz::TARGETS
        .iter()
        .find(|t| t.name == target)
        .unwrap_or_else(|| panic!("no target {target}"));
    (t.run)(&std::fs::read(file).unwrap());
    println!("{target}: no failure");
}
