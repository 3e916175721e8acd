use std::sync::{Arc, Mutex};

use resumable::resumable;

fn new_log() -> Arc<Mutex<Vec<u64>>> {
    Arc::new(Mutex::new(Vec::new()))
}

// The type is not written at the binding: the type check finds the `Arc`.
#[resumable(every = 10)]
fn log_items(items: &[u64]) -> usize {
    let mut log = new_log();
    let reader = Arc::clone(&log);
    for &x in items {
        log.lock().unwrap().push(x);
        log = Arc::clone(&log);
    }
    let n = reader.lock().unwrap().len();
    n
}

fn main() {}
