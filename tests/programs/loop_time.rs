//! The seed's loop (`examples/squares`: N squares, `append(results)`, a checkpoint every 1000)
//! timed from inside the function: from its first iteration to its last, so the start's and
//! the end's work (recovery; with a store, its lease, fence and removal) is left out.
//! `scripts/bench_store.py` runs it with the store on and off.
//!
//! ```text
//! resumable-loop-time [N [WORK_NS]]
//! ```
//!
//! `WORK_NS` adds that much busy work to each iteration, so that uploads overlap the loop.
//! Prints `loop_ns <ns>`, `uploaded_bytes <bytes put on the store>` and `state_bytes <the final
//! state's encoded size>` to stderr and `<len> <checksum>` to stdout.

use std::time::{Duration, Instant};

use resumable::resumable;

// `first` and `last` are the timer, not state: the loop is timed from its first iteration to
// its last, leaving out the start (recovery; with a store, its lease and fence) and the end
// (the checkpoint's removal), which the macro's code runs around the loop.
#[resumable(every = 1000, append(results), key = n, skip(first, last))]
fn squares(n: u64, work_ns: u64) -> (Vec<u64>, Duration) {
    let mut results = Vec::new();
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    for i in 0..n {
        if i == 0 {
            first = Some(Instant::now());
        }
        results.push(i * i);
        if work_ns > 0 {
            let until = Instant::now() + Duration::from_nanos(work_ns);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        if i + 1 == n {
            last = Some(Instant::now());
        }
    }
    let looped = match (first, last) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::ZERO,
    };
    (results, looped)
}

fn main() {
    let n = std::env::args().nth(1).map_or(1_000_000, |arg| {
        arg.parse().expect("N must be a whole number")
    });
    let work_ns = std::env::args().nth(2).map_or(0, |arg| {
        arg.parse().expect("WORK_NS must be a whole number")
    });
    let (results, looped) = squares(n, work_ns);
    let checksum = results
        .iter()
        .fold(0u64, |sum, value| (sum + value % 1_000_003) % 1_000_003);
    eprintln!("loop_ns {}", looped.as_nanos());
    eprintln!("uploaded_bytes {}", resumable::__private::uploaded_bytes());
    // postcard's encoding of the `Vec<u64>`: its length and each value as varints.
    let varint = |value: u64| (64 - value.leading_zeros()).max(1).div_ceil(7) as u64;
    let state: u64 = varint(results.len() as u64) + results.iter().map(|&v| varint(v)).sum::<u64>();
    eprintln!("state_bytes {state}");
    println!("{} {}", results.len(), checksum);
}
