//! Statics the loop changes: a checkpoint does not save them, so a resumed run would go on
//! from what the new process holds.
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use resumable::resumable;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static LOG: Mutex<Vec<u64>> = Mutex::new(Vec::new());

mod ids {
    pub static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
}

thread_local! {
    static SEEN: Cell<u64> = const { Cell::new(0) };
}

static mut CALLS: u64 = 0;

#[resumable(every = 10)]
fn label(n: u64) -> Vec<u64> {
    let mut labels = Vec::new();
    for _ in 0..n {
        labels.push(NEXT_ID.fetch_add(1, Ordering::Relaxed));
    }
    labels
}

#[resumable(every = 10)]
fn record(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        LOG.lock().unwrap().push(i);
        total += ids::NEXT.fetch_add(1, Ordering::Relaxed);
    }
    total
}

#[resumable(every = 10)]
fn count(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        SEEN.with(|seen| seen.set(seen.get() + 1));
        total += i;
    }
    total
}

#[resumable(every = 10)]
fn calls(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        unsafe { CALLS += 1 };
        total += i;
    }
    total
}

fn main() {}
