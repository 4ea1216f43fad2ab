//! Runs one fuzz input through a target (TIMES times, timed):
//! `cargo run -p strata-fuzz --example repro TARGET FILE [TIMES]`
//! (`STRATA_FUZZ_DEBUG=1` makes the model targets print the operations).

#![allow(
    clippy::unwrap_used,
    reason = "a debugging tool: a panic is the answer"
)]

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (target, file, times) = match args.as_slice() {
        [_, t, f] => (t, f, 1),
        [_, t, f, n] => (t, f, n.parse().unwrap()),
        _ => {
            eprintln!("usage: repro TARGET FILE [TIMES]");
            std::process::exit(2);
        }
    };
    let t = strata_fuzz::TARGETS
        .iter()
        .find(|t| t.name == target)
        .unwrap_or_else(|| panic!("no target {target}"));
    let data = std::fs::read(file).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..times {
        (t.run)(&data);
    }
    println!(
        "{target}: no failure ({times} runs, {:?} each)",
        start.elapsed() / times
    );
}
