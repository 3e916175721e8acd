//! Constants and statics the loop only reads compile (under `deny(warnings)`), and so do the
//! statics in `skip(...)`, a skipped scratch buffer and a message waited for and dropped.
#![deny(warnings)]

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use resumable::resumable;

const MAX: u64 = 7;
static LIMIT: AtomicU64 = AtomicU64::new(40);
static TABLE: [u64; 3] = [1, 2, 3];
static NAMES: [&str; 3] = ["a", "bb", "ccc"];
static RUNS: AtomicU64 = AtomicU64::new(0);

struct Config {
    threshold: u64,
}

static CONFIG: Config = Config { threshold: 3 };

thread_local! {
    static SCALE: Cell<u64> = const { Cell::new(2) };
}

#[resumable(every = 10, name = "ui-pass-constants")]
fn constants(n: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total += MAX.min(i) + u64::MAX.min(1) + (f64::EPSILON > 0.0) as u64;
        total += CONFIG.threshold + TABLE[(i % 3) as usize];
        total += LIMIT.load(Ordering::Relaxed).min(i) * SCALE.with(|scale| scale.get());
        total += NAMES.iter().take(2).map(|name| name.len() as u64).sum::<u64>();
    }
    total
}

#[resumable(every = 10, name = "ui-pass-skipped-static", skip(RUNS, line, scratch))]
fn counted(n: u64) -> usize {
    let mut total = 0;
    let mut line = String::new();
    let mut scratch = [0u8; 4];
    for i in 0..n {
        RUNS.fetch_add(1, Ordering::Relaxed);
        line.clear();
        line.push_str(&i.to_string());
        scratch.fill(0);
        total += line.len() + scratch[0] as usize;
    }
    total
}

#[resumable(every = 10, name = "ui-pass-listed-and-skipped-static", state(total), skip(RUNS))]
fn listed(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        RUNS.fetch_add(1, Ordering::Relaxed);
        total += i;
    }
    total
}

#[resumable(every = 10, name = "ui-pass-dropped-message", key = (), skip(go))]
fn paced(n: u64, go: &mpsc::Receiver<()>) -> u64 {
    let mut total = 0;
    for i in 0..n {
        go.recv().unwrap();
        total += i;
    }
    total
}

#[resumable(every = 10, name = "ui-pass-lines-iterated")]
fn longest(text: &str) -> usize {
    let mut longest = 0;
    for line in text.lines() {
        longest = longest.max(line.len());
    }
    longest
}

fn main() {
    std::env::set_current_dir(std::env::temp_dir()).unwrap();
    assert!(constants(10) > 0);
    assert_eq!(counted(12), 14);
    assert_eq!(listed(10), 45);
    assert_eq!(RUNS.load(Ordering::Relaxed), 22);
    let (tx, rx) = mpsc::channel();
    for _ in 0..5 {
        tx.send(()).unwrap();
    }
    assert_eq!(paced(5, &rx), 10);
    assert_eq!(longest("a\nbbb\ncc"), 3);
}
