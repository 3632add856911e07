//! Times the normaliser on every hostile input of the corpus, one after
//! another in one process; run under `/usr/bin/time -v` for the peak memory:
//!
//! ```sh
//! cargo build --release --example hostile_measure
//! /usr/bin/time -v target/release/examples/hostile_measure
//! ```

#[path = "../tests/corpus_support/mod.rs"]
mod support;

use std::time::Instant;

use secintake::config::Limits;

fn main() {
    let Some(dir) = support::corpus_dir() else {
        eprintln!("no corpus");
        std::process::exit(1);
    };
    let keyring = support::all_keys(&dir);
    let limits = Limits::default();
    let mut times = Vec::new();
    for row in support::manifest(&dir).iter().filter(|r| r.is_hostile()) {
        let raw = support::message_bytes(&dir, row);
        let start = Instant::now();
        let opened = secintake::normalize::open(&keyring, &raw, &limits);
        let took = start.elapsed();
        let outcome = opened.unreadable_reason().unwrap_or_else(|| "read".into());
        times.push((took, row.file.clone(), outcome));
    }
    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    let total: std::time::Duration = times.iter().map(|t| t.0).sum();
    println!("{} hostile inputs in {:.2?}; slowest:", times.len(), total);
    for (took, file, outcome) in times.iter().take(5) {
        let outcome: String = outcome.chars().take(100).collect();
        println!("  {took:>10.2?}  {file}  ({outcome})");
    }
}
