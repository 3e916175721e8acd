//! `while` and `loop` at the top of a `#[resumable]` function: their progress lives in their
//! state, the checkpoint's index counts completed iterations, and a run that fails and is
//! called again returns what an uninterrupted run returns, running again only the failed
//! iteration (or, when it had touched the state, those since the last checkpoint).

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, panic_of, saved_index, take};
use resumable::resumable;

static WHILE_RUNS: AtomicU64 = AtomicU64::new(0);

/// Collatz steps of every start below `n`, counted with a `while` whose counter is state.
#[resumable(every = 7, name = "loops-while", key = (), skip(WHILE_RUNS))]
fn collatz_total(n: u64, panic_at: Option<u64>) -> (u64, Vec<u64>) {
    let mut start = 1u64;
    let mut steps = Vec::new();
    while start < n {
        WHILE_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(start) {
            panic!("injected failure at {start}");
        }
        let (mut x, mut count) = (start, 0);
        while x != 1 {
            x = if x.is_multiple_of(2) {
                x / 2
            } else {
                3 * x + 1
            };
            count += 1;
        }
        steps.push(count);
        start += 1;
    }
    (steps.iter().sum(), steps)
}

#[test]
fn a_while_loop_resumes_from_its_state() {
    let path = fresh("loops-while");
    let uninterrupted = collatz_total(60, None);
    assert_eq!(take(&WHILE_RUNS), 59);
    panic_of(|| collatz_total(60, Some(40)));
    assert_eq!(take(&WHILE_RUNS), 40, "starts 1..=40 ran");
    assert_eq!(
        saved_index(&path),
        Some(39),
        "iteration 39 (start 40) runs again"
    );
    assert_eq!(collatz_total(60, None), uninterrupted);
    assert_eq!(take(&WHILE_RUNS), 20, "starts 40..60");
    assert!(!path.exists());
}

static WHILE_LET_RUNS: AtomicU64 = AtomicU64::new(0);

/// A work queue: `while let` pops from a `Vec` that is state.
#[resumable(every = 3, name = "loops-while-let", key = (), skip(WHILE_LET_RUNS))]
fn drain_queue(n: u64, panic_at: Option<u64>) -> Vec<u64> {
    let mut queue: Vec<u64> = (0..n).rev().collect();
    let mut done = Vec::new();
    while let Some(job) = queue.pop() {
        WHILE_LET_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(job) {
            // The condition popped the job from `queue`: the state is touched, so the
            // failure saves nothing and the last periodic checkpoint (job 9) stands.
            panic!("injected failure at {job}");
        }
        if job % 5 == 4 {
            continue;
        }
        done.push(job * 10);
    }
    done
}

#[test]
fn a_while_let_loop_over_a_queue_in_its_state_resumes() {
    let path = fresh("loops-while-let");
    let uninterrupted = drain_queue(20, None);
    assert_eq!(take(&WHILE_LET_RUNS), 20);
    panic_of(|| drain_queue(20, Some(11)));
    assert_eq!(take(&WHILE_LET_RUNS), 12);
    assert_eq!(
        saved_index(&path),
        Some(9),
        "the periodic checkpoint, every = 3"
    );
    assert_eq!(drain_queue(20, None), uninterrupted);
    assert_eq!(take(&WHILE_LET_RUNS), 11, "jobs 9..20, none lost");
    assert!(!path.exists());
}

static LOOP_RUNS: AtomicU64 = AtomicU64::new(0);

/// `loop` with a labelled `continue` and a `break` that ends it.
#[resumable(every = 4, name = "loops-loop", key = (), skip(LOOP_RUNS))]
fn sum_odd_until(limit: u64, panic_at: Option<u64>) -> (u64, u64) {
    let mut i = 0u64;
    let mut sum = 0u64;
    'outer: loop {
        LOOP_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        i += 1;
        if i.is_multiple_of(2) {
            continue 'outer;
        }
        if sum + i > limit {
            break;
        }
        sum += i;
    }
    (i, sum)
}

#[test]
fn a_loop_with_break_and_continue_resumes() {
    let path = fresh("loops-loop");
    let uninterrupted = sum_odd_until(100, None);
    assert_eq!(uninterrupted, (21, 100));
    assert_eq!(take(&LOOP_RUNS), 21);
    panic_of(|| sum_odd_until(100, Some(13)));
    assert_eq!(take(&LOOP_RUNS), 14);
    assert_eq!(saved_index(&path), Some(13));
    assert_eq!(sum_odd_until(100, None), uninterrupted);
    assert_eq!(take(&LOOP_RUNS), 8, "iterations 13..=20");
    assert!(!path.exists());
}
