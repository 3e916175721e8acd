use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::cell::RefCell;

use resumable::resumable;

#[resumable(every = 10)]
fn log_items(items: &[u64]) -> Vec<u64> {
    let mut log = Arc::new(Mutex::new(Vec::new()));
    let reader = Arc::clone(&log);
    for &x in items {
        log.lock().unwrap().push(x);
    }
    let out = reader.lock().unwrap().clone();
    out
}

#[resumable(every = 10)]
fn tally(items: &[u64]) -> u64 {
    let counts: Rc<RefCell<u64>> = Rc::new(RefCell::new(0));
    for &x in items {
        *counts.borrow_mut() += x;
    }
    let total = *counts.borrow();
    total
}

fn main() {}
