//! The seed's Example 1: a million iterations, every result kept, a checkpoint every 1000.
//!
//! ```text
//! cargo run --release --example squares                # 1,000,000 iterations
//! cargo run --release --example squares -- 200000 50   # 200,000 iterations, 50 µs each
//! ```
//! Stop it (Ctrl-C, `kill -9`, a panic) and run the same command again: it resumes from the
//! last checkpoint in `.resumable/` and prints what an uninterrupted run prints.

use std::time::Duration;

use resumable::resumable;

/// `i * i` for every `i` below `n`, the seed's "heavy computation". `results` only grows, so
/// each checkpoint writes just the 1000 squares added since the one before.
// The key is `n`: a run with another `delay` (which only slows the demo down) resumes
// this one, and one with another `n` has a checkpoint of its own.
#[resumable(every = 1000, append(results), key = n)]
fn squares(n: u64, delay: Duration) -> Vec<u64> {
    let mut results = Vec::new();
    for i in 0..n {
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        results.push(i * i);
    }
    results
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n = args.next().map_or(1_000_000, |arg| {
        arg.parse().expect("N must be a whole number")
    });
    let delay_us = args.next().map_or(0, |arg| {
        arg.parse().expect("DELAY_US must be a whole number")
    });
    let results = squares(n, Duration::from_micros(delay_us));
    let checksum = results
        .iter()
        .fold(0u64, |sum, value| (sum + value % 1_000_003) % 1_000_003);
    println!("{} {}", results.len(), checksum);
}
