//! `squares` without the `append(results)` hint: the runtime finds by itself that `results`
//! only grows (checking a hash of what it saved, at every checkpoint) and writes only the new
//! squares. The no-hint row of `scripts/bench_b1.py`.
//!
//! ```text
//! cargo run --release --example squares_nohint -- [N]
//! ```

use resumable::resumable;

#[resumable(every = 1000)]
fn squares(n: u64) -> Vec<u64> {
    let mut results = Vec::new();
    for i in 0..n {
        results.push(i * i);
    }
    results
}

fn main() {
    let n = std::env::args().nth(1).map_or(1_000_000, |arg| {
        arg.parse().expect("N must be a whole number")
    });
    let results = squares(n);
    let checksum = results
        .iter()
        .fold(0u64, |sum, value| (sum + value % 1_000_003) % 1_000_003);
    println!("{} {}", results.len(), checksum);
}
