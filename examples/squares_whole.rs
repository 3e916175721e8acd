//! `squares` with a state the runtime cannot see growing (a `Vec` of a type of the program's
//! own), so every checkpoint writes the whole, growing vector: the full-snapshot row of
//! `scripts/bench_b1.py`, the cost `append(...)` and found growth avoid.
//!
//! ```text
//! cargo run --release --example squares_whole -- [N]
//! ```

use resumable::resumable;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Square(u64);

#[resumable(every = 1000)]
fn squares(n: u64) -> Vec<Square> {
    let mut results = Vec::new();
    for i in 0..n {
        results.push(Square(i * i));
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
        .fold(0u64, |sum, value| (sum + value.0 % 1_000_003) % 1_000_003);
    println!("{} {}", results.len(), checksum);
}
