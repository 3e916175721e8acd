use std::cell::{Cell, RefCell};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use resumable::resumable;

#[resumable(every = 10)]
fn count(items: &[u64]) -> u64 {
    let hits = Cell::new(0u64);
    for &x in items {
        if x % 2 == 0 {
            hits.set(hits.get() + 1);
        }
    }
    hits.get()
}

#[resumable(every = 10)]
fn collect(items: &[u64]) -> Vec<u64> {
    let seen: RefCell<Vec<u64>> = RefCell::new(Vec::new());
    for &x in items {
        seen.borrow_mut().push(x);
    }
    seen.into_inner()
}

#[resumable(every = 10)]
fn parallel(items: &[u64]) -> u64 {
    let total = AtomicU64::new(0);
    let log = Mutex::new(Vec::new());
    for chunk in items.chunks(4) {
        std::thread::scope(|scope| {
            scope.spawn(|| total.fetch_add(chunk.iter().sum(), Ordering::Relaxed));
        });
        log.lock().unwrap().push(chunk.len());
    }
    total.into_inner()
}

fn main() {}
