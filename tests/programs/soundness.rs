//! The soundness suite's program (`tests/soundness.rs`): patterns that a resumed run could get
//! wrong, each a `#[resumable]` function with a short sleep per iteration, run one after the
//! other, one result line each. Killed at random moments and run again until it finishes, it
//! must print what an uninterrupted run prints.
//!
//! ```text
//! resumable-soundness DELAY_US
//! ```

use std::time::Duration;

use resumable::resumable;
use serde::{Deserialize, Serialize};

fn nap(delay: Duration) {
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
}

/// The same function called with other arguments: each call resumes its own checkpoint.
#[resumable(every = 7)]
fn score(part: &[u64], weight: u64, delay: Duration) -> u64 {
    let mut total = 0u64;
    for &x in part {
        nap(delay);
        total = total.wrapping_mul(31).wrapping_add(x * weight);
    }
    total
}

/// A `&mut` parameter: restored into `*out`.
#[resumable(every = 9, key = n)]
fn fill(n: u64, out: &mut Vec<u64>, delay: Duration) {
    for i in 0..n {
        nap(delay);
        out.push(i * i % 1009);
    }
}

#[derive(Serialize, Deserialize)]
struct Acc {
    total: u64,
    seen: Vec<u64>,
}

fn step(mut acc: Acc, i: u64) -> Acc {
    acc.total = acc.total.wrapping_mul(3).wrapping_add(i);
    acc.seen.push(i % 7);
    acc
}

/// State threaded by value.
#[resumable(every = 11, key = n)]
fn fold(n: u64, delay: Duration) -> Acc {
    let mut acc = Acc {
        total: 1,
        seen: Vec::new(),
    };
    for i in 0..n {
        nap(delay);
        acc = step(acc, i);
    }
    acc
}

/// State changed before the fallible work of the iteration.
#[resumable(every = 5, key = n)]
fn middle(n: u64, delay: Duration) -> Result<(u64, Vec<u64>), String> {
    let mut total = 0u64;
    let mut out = Vec::new();
    for x in 0..n {
        total += x;
        nap(delay);
        let y: u64 = format!("{}", x * 3)
            .parse()
            .map_err(|_| "not a number".to_owned())?;
        out.push(y);
    }
    Ok((total, out))
}

fn main() {
    let delay_us: u64 = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .expect("usage: resumable-soundness DELAY_US");
    let delay = Duration::from_micros(delay_us);
    let parts: Vec<Vec<u64>> = (0..4).map(|p| (p * 50..p * 50 + 50).collect()).collect();
    let scores: Vec<u64> = parts.iter().map(|part| score(part, 3, delay)).collect();
    println!("scores {scores:?}");
    let mut out = Vec::new();
    fill(150, &mut out, delay);
    println!("fill {} {}", out.len(), out.iter().sum::<u64>());
    let acc = fold(150, delay);
    println!("fold {} {}", acc.total, acc.seen.iter().sum::<u64>());
    let (total, parsed) = middle(150, delay).expect("no failure");
    println!("middle {total} {}", parsed.iter().sum::<u64>());
}
