use std::sync::atomic::{AtomicU64, Ordering};

use resumable::resumable;

static RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10, skip(RUNS))]
fn sum(n: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::Relaxed);
    let mut total = 0;
    for i in 0..n {
        total += i;
    }
    total
}

fn main() {}
