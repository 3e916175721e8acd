//! Forms that compile as they do without the attribute: a `return Err(…)` the macro cannot
//! see, because it is written in a macro's definition (`anyhow::bail!`, `anyhow::ensure!`, a
//! `macro_rules!` of the program's), fails and saves like a written `return Err(…)`; state
//! threaded by value.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, saved_index};
use resumable::resumable;

static BAIL_RUNS: AtomicU64 = AtomicU64::new(0);
static BAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 100, name = "hidden-bail", key = (), skip(BAIL_RUNS))]
fn checked_sum(items: &[u64]) -> anyhow::Result<u64> {
    let mut total = 0u64;
    for &x in items {
        BAIL_RUNS.fetch_add(1, SeqCst);
        if BAIL_AT.load(SeqCst) == x {
            anyhow::bail!("item {x} is refused");
        }
        anyhow::ensure!(x < 1000, "item {x} is too large");
        total += x;
    }
    Ok(total)
}

#[test]
fn bail_and_ensure_fail_save_and_resume_like_return_err() {
    let path = fresh("hidden-bail");
    let items: Vec<u64> = (0..10).collect();
    assert_eq!(checked_sum(&items).unwrap(), 45);
    BAIL_RUNS.store(0, SeqCst);

    BAIL_AT.store(6, SeqCst);
    let err = checked_sum(&items).unwrap_err();
    assert_eq!(err.to_string(), "item 6 is refused");
    assert_eq!(BAIL_RUNS.swap(0, SeqCst), 7);
    assert_eq!(
        saved_index(&path),
        Some(6),
        "before the state changed: saved there"
    );
    BAIL_AT.store(u64::MAX, SeqCst);

    assert_eq!(checked_sum(&items).unwrap(), 45);
    assert_eq!(BAIL_RUNS.swap(0, SeqCst), 4, "iterations 6..10");
    assert!(!path.exists());

    let too_large = [1, 2, 3000];
    let err = checked_sum(&too_large).unwrap_err();
    assert_eq!(err.to_string(), "item 3000 is too large");
    assert_eq!(saved_index(&path), Some(2));
    let _ = fresh("hidden-bail");
}

#[derive(Debug, PartialEq)]
enum JobError {
    Bad(u64),
}

/// The program's own macro, whose `return` the attribute cannot see.
macro_rules! reject {
    ($x:expr) => {
        return Err(JobError::Bad($x))
    };
}

static MACRO_AT: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 3, name = "hidden-macro-rules", key = ())]
fn collect_good(n: u64) -> Result<Vec<u64>, JobError> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(i * 2);
        if MACRO_AT.load(SeqCst) == i {
            reject!(i);
        }
    }
    Ok(out)
}

#[test]
fn a_return_err_in_a_macro_rules_fails_and_keeps_the_last_checkpoint() {
    let path = fresh("hidden-macro-rules");
    let uninterrupted = collect_good(8).unwrap();
    MACRO_AT.store(5, SeqCst);
    assert_eq!(collect_good(8), Err(JobError::Bad(5)));
    // After `out.push`: the state changed, so the periodic checkpoint stands.
    assert_eq!(saved_index(&path), Some(3));
    MACRO_AT.store(u64::MAX, SeqCst);
    assert_eq!(collect_good(8).unwrap(), uninterrupted);
    assert!(!path.exists());
}

static ASYNC_AT: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 100, name = "hidden-bail-async", key = ())]
async fn checked_sum_async(n: u64) -> anyhow::Result<u64> {
    let mut total = 0u64;
    for i in 0..n {
        if ASYNC_AT.load(SeqCst) == i {
            anyhow::bail!("item {i} is refused");
        }
        total += i;
    }
    Ok(total)
}

#[test]
fn bail_in_an_async_fn_fails_and_saves() {
    let path = fresh("hidden-bail-async");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    ASYNC_AT.store(4, SeqCst);
    let err = runtime.block_on(checked_sum_async(10)).unwrap_err();
    assert_eq!(err.to_string(), "item 4 is refused");
    assert_eq!(saved_index(&path), Some(4));
    ASYNC_AT.store(u64::MAX, SeqCst);
    assert_eq!(runtime.block_on(checked_sum_async(10)).unwrap(), 45);
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// State threaded by value: moved into the loop and handed back.

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Acc {
    total: u64,
    seen: Vec<u64>,
}

fn step(mut acc: Acc, i: u64) -> Acc {
    acc.total = acc.total * 3 + i;
    acc.seen.push(i);
    acc
}

static STEP_PANIC: AtomicU64 = AtomicU64::new(u64::MAX);
static STEP_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);
static STEP_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 4, name = "hidden-by-value", key = (), skip(STEP_RUNS))]
fn fold(n: u64) -> Result<Acc, String> {
    let mut acc = Acc {
        total: 0,
        seen: Vec::new(),
    };
    for i in 0..n {
        STEP_RUNS.fetch_add(1, SeqCst);
        if STEP_FAIL.load(SeqCst) == i {
            return Err(format!("step {i} failed"));
        }
        if STEP_PANIC.load(SeqCst) == i {
            panic!("injected failure at {i}");
        }
        acc = step(acc, i);
    }
    Ok(acc)
}

#[test]
fn state_threaded_by_value_resumes_after_an_error_and_after_a_panic() {
    let path = fresh("hidden-by-value");
    let uninterrupted = fold(10).unwrap();
    STEP_RUNS.store(0, SeqCst);
    // `return Err` before the state changed: handed back, saved at the failing iteration.
    STEP_FAIL.store(6, SeqCst);
    assert_eq!(fold(10), Err("step 6 failed".into()));
    assert_eq!(saved_index(&path), Some(6));
    STEP_FAIL.store(u64::MAX, SeqCst);
    assert_eq!(fold(10).unwrap(), uninterrupted);
    assert_eq!(STEP_RUNS.swap(0, SeqCst), 7 + 4);
    // A panic drops what the loop held: the periodic checkpoint (iteration 8) stands.
    STEP_PANIC.store(9, SeqCst);
    common::panic_of(|| fold(10));
    assert_eq!(saved_index(&path), Some(8));
    STEP_PANIC.store(u64::MAX, SeqCst);
    assert_eq!(fold(10).unwrap(), uninterrupted);
    assert!(!path.exists());
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Phase {
    Counting(u64),
    Named(String),
}

static PHASE_PANIC: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 3, name = "hidden-phase", key = ())]
fn phases(n: u64) -> Phase {
    let mut phase = Phase::Counting(0);
    for i in 0..n {
        if PHASE_PANIC.load(SeqCst) == i {
            panic!("injected failure at {i}");
        }
        phase = match phase {
            Phase::Counting(k) if k > 6 => Phase::Named(format!("{k}")),
            Phase::Counting(k) => Phase::Counting(k + i),
            Phase::Named(text) => Phase::Named(text + "!"),
        };
    }
    phase
}

#[test]
fn a_state_machine_moved_through_match_resumes() {
    let path = fresh("hidden-phase");
    let uninterrupted = phases(12);
    PHASE_PANIC.store(7, SeqCst);
    common::panic_of(|| phases(12));
    assert_eq!(saved_index(&path), Some(6));
    PHASE_PANIC.store(u64::MAX, SeqCst);
    assert_eq!(phases(12), uninterrupted);
    assert!(!path.exists());
}
