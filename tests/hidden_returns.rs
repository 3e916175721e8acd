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

#[resumable(every = 100, name = "hidden-bail", key = ())]
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
