use std::cell::Cell;

use resumable::resumable;

// The loop calls `scaled`, which changes `calls`: the loop reads `calls` through it.
#[resumable(every = 4)]
fn through_closure(n: u64) -> u64 {
    let calls = Cell::new(0u64);
    let scaled = |x: u64| {
        calls.set(calls.get() + 1);
        x * 2
    };
    let mut sum = 0u64;
    for i in 0..n {
        sum += scaled(i);
    }
    sum + calls.get()
}

fn main() {}
