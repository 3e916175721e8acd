//! Semantics 2, 3 and 5 and the load failures: a failed iteration is saved and runs again on
//! the next call, which runs only what is left and returns what an uninterrupted call returns;
//! periodic saves; normal endings remove the checkpoint; a checkpoint that cannot be used
//! stops the function, names the file and leaves it byte-for-byte as it was.
//!
//! Every function has its own checkpoint `name` and its own iteration counter, and is called
//! from one test only, so the tests can run in parallel threads.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{checkpoint, fresh, newest_bytes, panic_of, previous, saved_index, take};
use resumable::resumable;

// ---------------------------------------------------------------------------------------------
// A panic, then resume.

static PANIC_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 4, name = "failures-panic-resume", key = (), skip(PANIC_RUNS))]
fn squares_until(n: u64, panic_at: Option<u64>) -> (u64, Vec<u64>) {
    let mut sum = 0u64;
    let mut squares = Vec::new();
    for i in 0..n {
        PANIC_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i * i;
        squares.push(i * i);
    }
    (sum, squares)
}

#[test]
fn a_panic_saves_and_the_next_call_runs_only_the_rest() {
    let path = fresh("failures-panic-resume");
    let uninterrupted = squares_until(10, None);
    assert_eq!(take(&PANIC_RUNS), 10);
    assert_eq!(uninterrupted.0, (0..10).map(|i| i * i).sum::<u64>());
    assert!(!path.exists(), "a completed call leaves no checkpoint");

    let text = panic_of(|| squares_until(10, Some(6)));
    assert_eq!(text, "injected failure at 6", "the original panic goes on");
    assert_eq!(take(&PANIC_RUNS), 7, "iterations 0..=6 ran");
    assert_eq!(saved_index(&path), Some(6), "iteration 6 runs again");

    // Iterations 6..10 run; the result is the uninterrupted one.
    assert_eq!(squares_until(10, None), uninterrupted);
    assert_eq!(take(&PANIC_RUNS), 4);
    assert!(!path.exists(), "completion removes the checkpoint");
}

static CHAIN_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 3, name = "failures-panic-chain", key = (), skip(CHAIN_RUNS))]
fn weighted(n: u64, panic_at: Option<u64>) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        CHAIN_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        acc = acc.wrapping_mul(31).wrapping_add(i);
    }
    acc
}

#[test]
fn several_panics_in_a_row_each_resume_where_the_last_stopped() {
    let path = fresh("failures-panic-chain");
    let uninterrupted = weighted(20, None);
    assert_eq!(take(&CHAIN_RUNS), 20);

    panic_of(|| weighted(20, Some(4)));
    assert_eq!(take(&CHAIN_RUNS), 5);
    // Resumed at 4, fails again at 11: runs 4..=11.
    panic_of(|| weighted(20, Some(11)));
    assert_eq!(take(&CHAIN_RUNS), 8);
    assert_eq!(saved_index(&path), Some(11));
    // Fails right away at the iteration it resumes at: runs 11 only, the index stays.
    panic_of(|| weighted(20, Some(11)));
    assert_eq!(take(&CHAIN_RUNS), 1);
    assert_eq!(saved_index(&path), Some(11));

    assert_eq!(weighted(20, None), uninterrupted);
    assert_eq!(take(&CHAIN_RUNS), 9, "iterations 11..20");
    assert!(!path.exists());
}

static PARTIAL_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 100, name = "failures-partial-state", key = (), skip(PARTIAL_RUNS))]
fn log_then_fail(n: u64, panic_at: Option<u64>) -> Vec<u64> {
    let mut log = Vec::new();
    for i in 0..n {
        PARTIAL_RUNS.fetch_add(1, SeqCst);
        log.push(i);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
    }
    log
}

#[test]
fn a_panic_after_the_iteration_changed_the_state_saves_nothing_and_the_result_is_right() {
    let path = fresh("failures-partial-state");
    // `every = 100`: no periodic save happens. The panic comes after `log.push(i)`: saving
    // then would resume with 2 pushed and push it again ([0, 1, 2, 2, 3, 4]).
    panic_of(|| log_then_fail(5, Some(2)));
    assert_eq!(take(&PARTIAL_RUNS), 3);
    assert!(
        !path.exists(),
        "nothing is saved: no checkpoint existed before"
    );
    assert_eq!(log_then_fail(5, None), [0, 1, 2, 3, 4]);
    assert_eq!(take(&PARTIAL_RUNS), 5, "the run starts from the beginning");
    assert!(!path.exists());
}

static PERIODIC_THEN_DIRTY_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 4, name = "failures-dirty-after-periodic", key = (), skip(PERIODIC_THEN_DIRTY_RUNS))]
fn total_then_fail(items: &[u64], fail_at: Option<usize>) -> Result<(u64, Vec<u64>), String> {
    let mut total = 0u64;
    let mut out = Vec::new();
    for (i, &x) in items.iter().enumerate() {
        PERIODIC_THEN_DIRTY_RUNS.fetch_add(1, SeqCst);
        total += x;
        if fail_at == Some(i) {
            return Err(format!("bad item {i}"));
        }
        out.push(x * 2);
    }
    Ok((total, out))
}

#[test]
fn an_error_after_the_iteration_changed_the_state_resumes_from_the_last_periodic_checkpoint() {
    let path = fresh("failures-dirty-after-periodic");
    let items: Vec<u64> = (1..=10).collect();
    let uninterrupted = total_then_fail(&items, None).unwrap();
    take(&PERIODIC_THEN_DIRTY_RUNS);
    // Iteration 6 adds to `total`, then fails: the checkpoint of iteration 4 stands.
    assert_eq!(total_then_fail(&items, Some(6)), Err("bad item 6".into()));
    assert_eq!(take(&PERIODIC_THEN_DIRTY_RUNS), 7);
    assert_eq!(
        saved_index(&path),
        Some(4),
        "the periodic checkpoint, untouched"
    );
    // Iterations 4..10 run again; `total` counts item 6 once.
    assert_eq!(total_then_fail(&items, None).unwrap(), uninterrupted);
    assert_eq!(take(&PERIODIC_THEN_DIRTY_RUNS), 6);
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// `?` and `return Err(..)`, then resume.

static TRY_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "failures-try", key = (), skip(TRY_RUNS))]
fn parse_sum(items: &[&str]) -> Result<(u64, usize), std::num::ParseIntError> {
    let mut total = 0u64;
    let mut parsed = Vec::new();
    for item in items {
        TRY_RUNS.fetch_add(1, SeqCst);
        let value: u64 = item.parse()?;
        total += value;
        parsed.push(value);
    }
    Ok((total, parsed.len()))
}

#[test]
fn question_mark_saves_and_the_next_call_runs_only_the_rest() {
    let path = fresh("failures-try");
    let good = ["1", "2", "3", "4", "5", "6", "7", "8"];
    let bad = ["1", "2", "3", "4", "5", "x", "7", "8"];
    let uninterrupted = parse_sum(&good);
    assert_eq!(uninterrupted, Ok((36, 8)));
    assert_eq!(take(&TRY_RUNS), 8);
    assert!(!path.exists());

    let err = parse_sum(&bad).unwrap_err();
    assert_eq!(err.to_string(), "invalid digit found in string");
    assert_eq!(take(&TRY_RUNS), 6);
    assert_eq!(saved_index(&path), Some(5));

    assert_eq!(parse_sum(&good), uninterrupted);
    assert_eq!(take(&TRY_RUNS), 3, "iterations 5, 6 and 7");
    assert!(!path.exists());
}

static TRY_OPTION_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10, name = "failures-try-option", key = (), skip(TRY_OPTION_RUNS))]
fn checked_product(items: &[u64]) -> Option<u64> {
    let mut product = 1u64;
    for &item in items {
        TRY_OPTION_RUNS.fetch_add(1, SeqCst);
        let factor = (item != 0).then_some(item)?;
        product *= factor;
    }
    Some(product)
}

#[test]
fn question_mark_on_an_option_saves_too() {
    let path = fresh("failures-try-option");
    assert_eq!(checked_product(&[2, 3, 7, 5]), Some(210));
    assert_eq!(take(&TRY_OPTION_RUNS), 4);

    assert_eq!(checked_product(&[2, 3, 0, 5]), None);
    assert_eq!(take(&TRY_OPTION_RUNS), 3);
    assert_eq!(saved_index(&path), Some(2));

    assert_eq!(checked_product(&[2, 3, 7, 5]), Some(210));
    assert_eq!(take(&TRY_OPTION_RUNS), 2);
    assert!(!path.exists());
}

static TRY_IN_UPDATE_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10, name = "failures-try-in-update", key = (), skip(TRY_IN_UPDATE_RUNS))]
fn checked_product_in_place(items: &[u64]) -> Option<u64> {
    let mut product = 1u64;
    for &item in items {
        TRY_IN_UPDATE_RUNS.fetch_add(1, SeqCst);
        // The `?` is in the statement that updates the state: the macro cannot tell that it
        // fails before the update, so a failure here saves nothing.
        product = product.checked_mul(item)?;
    }
    Some(product)
}

#[test]
fn question_mark_in_the_statement_that_updates_the_state_saves_nothing() {
    let path = fresh("failures-try-in-update");
    assert_eq!(checked_product_in_place(&[2, 3, u64::MAX, 5]), None);
    assert_eq!(take(&TRY_IN_UPDATE_RUNS), 3);
    assert!(!path.exists());
    assert_eq!(checked_product_in_place(&[2, 3, 7, 5]), Some(210));
    assert_eq!(take(&TRY_IN_UPDATE_RUNS), 4);
}

#[derive(Debug, PartialEq)]
struct Rejected {
    at: usize,
}

type Res<T> = Result<T, Rejected>;

static ALIAS_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 3, name = "failures-return-err-alias", key = (), skip(ALIAS_RUNS))]
fn accept_all(items: &[u64], reject: u64) -> Res<Vec<u64>> {
    let mut accepted = Vec::new();
    for (i, &item) in items.iter().enumerate() {
        ALIAS_RUNS.fetch_add(1, SeqCst);
        if item == reject {
            return Err(Rejected { at: i });
        }
        accepted.push(item * 10);
    }
    Ok(accepted)
}

#[test]
fn return_err_through_a_type_alias_saves_and_resumes() {
    let path = fresh("failures-return-err-alias");
    let items: Vec<u64> = (1..=9).collect();
    let uninterrupted = accept_all(&items, 0);
    assert_eq!(take(&ALIAS_RUNS), 9);
    assert!(!path.exists());

    assert_eq!(accept_all(&items, 7), Err(Rejected { at: 6 }));
    assert_eq!(take(&ALIAS_RUNS), 7);
    assert_eq!(
        saved_index(&path),
        Some(6),
        "the returned Err saved index 6"
    );

    assert_eq!(accept_all(&items, 0), uninterrupted);
    assert_eq!(take(&ALIAS_RUNS), 3, "iterations 6, 7 and 8");
    assert!(!path.exists());
}

static IO_ALIAS_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 50, name = "failures-return-err-io", key = (), skip(IO_ALIAS_RUNS))]
fn io_lengths(items: &[&str]) -> std::io::Result<usize> {
    let mut total = 0usize;
    for item in items {
        IO_ALIAS_RUNS.fetch_add(1, SeqCst);
        if item.is_empty() {
            return Err(std::io::Error::other("empty item"));
        }
        total += item.len();
    }
    Ok(total)
}

#[test]
fn return_err_through_a_std_alias_saves_and_resumes() {
    let path = fresh("failures-return-err-io");
    assert_eq!(
        io_lengths(&["ab", "", "cde"]).unwrap_err().to_string(),
        "empty item"
    );
    assert_eq!(take(&IO_ALIAS_RUNS), 2);
    assert_eq!(saved_index(&path), Some(1));

    assert_eq!(io_lengths(&["ab", "x", "cde"]).unwrap(), 6);
    assert_eq!(take(&IO_ALIAS_RUNS), 2);
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// `return Ok(..)`, `return Some(..)` and `break` end the loop normally.

static RETURN_OK_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "failures-return-ok", key = (), skip(RETURN_OK_RUNS))]
fn first_multiple(n: u64, of: u64, panic_at: Option<u64>) -> Result<Option<u64>, String> {
    let mut checked = 0u64;
    for i in 1..=n {
        RETURN_OK_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        checked += 1;
        if i % of == 0 {
            return Ok(Some(i * 1000 + checked));
        }
    }
    Ok(None)
}

#[test]
fn return_ok_completes_and_removes_the_checkpoint() {
    let path = fresh("failures-return-ok");
    assert_eq!(first_multiple(20, 7, None), Ok(Some(7007)));
    assert_eq!(take(&RETURN_OK_RUNS), 7);
    assert!(!path.exists());

    panic_of(|| first_multiple(20, 100, Some(5)));
    assert_eq!(take(&RETURN_OK_RUNS), 5);
    assert!(path.exists());
    // Resumes at i = 5 with `checked` = 4, returns early at 7: the uninterrupted result.
    assert_eq!(first_multiple(20, 7, None), Ok(Some(7007)));
    assert_eq!(take(&RETURN_OK_RUNS), 3);
    assert!(!path.exists(), "`return Ok(..)` removes the checkpoint");
    // And the next call starts over.
    assert_eq!(first_multiple(20, 7, None), Ok(Some(7007)));
    assert_eq!(take(&RETURN_OK_RUNS), 7);
}

static RETURN_SOME_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "failures-return-some", key = (), skip(RETURN_SOME_RUNS))]
fn position_of(items: &[u32], wanted: u32, panic_at: Option<usize>) -> Option<(usize, u32)> {
    let mut skipped = 0u32;
    for (i, &item) in items.iter().enumerate() {
        RETURN_SOME_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        if item == wanted {
            return Some((i, skipped));
        }
        skipped += item;
    }
    None
}

#[test]
fn return_some_completes_and_removes_the_checkpoint() {
    let path = fresh("failures-return-some");
    let items = [4, 8, 15, 16, 23, 42];
    assert_eq!(position_of(&items, 23, None), Some((4, 43)));
    assert_eq!(take(&RETURN_SOME_RUNS), 5);

    panic_of(|| position_of(&items, 23, Some(3)));
    assert_eq!(take(&RETURN_SOME_RUNS), 4);
    assert!(path.exists());
    assert_eq!(position_of(&items, 23, None), Some((4, 43)));
    assert_eq!(take(&RETURN_SOME_RUNS), 2);
    assert!(!path.exists(), "`return Some(..)` removes the checkpoint");
}

static RETURN_NONE_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "failures-return-none", key = (), skip(RETURN_NONE_RUNS))]
fn all_below(items: &[u32], limit: u32, panic_at: Option<usize>) -> Option<u32> {
    let mut sum = 0u32;
    for (i, &item) in items.iter().enumerate() {
        RETURN_NONE_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        if item >= limit {
            return None;
        }
        sum += item;
    }
    Some(sum)
}

#[test]
fn return_none_is_not_an_error_and_removes_the_checkpoint() {
    let path = fresh("failures-return-none");
    panic_of(|| all_below(&[1, 2, 3, 50, 4], 10, Some(2)));
    assert_eq!(take(&RETURN_NONE_RUNS), 3);
    assert!(path.exists());
    // Only an `Err` is a failure: a returned `None` ends the loop like a `break`.
    assert_eq!(all_below(&[1, 2, 3, 50, 4], 10, None), None);
    assert_eq!(take(&RETURN_NONE_RUNS), 2);
    assert!(!path.exists(), "`return None` removes the checkpoint");
}

static BREAK_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 3, name = "failures-break", key = (), skip(BREAK_RUNS))]
fn sum_until_over(items: &[u64], limit: u64, panic_at: Option<usize>) -> (u64, usize) {
    let mut sum = 0u64;
    let mut count = 0usize;
    for (i, &item) in items.iter().enumerate() {
        BREAK_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        if sum + item > limit {
            break;
        }
        sum += item;
        count += 1;
    }
    (sum, count)
}

#[test]
fn break_completes_and_removes_the_checkpoint() {
    let path = fresh("failures-break");
    let items = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5];
    assert_eq!(sum_until_over(&items, 32, None), (30, 6));
    assert_eq!(take(&BREAK_RUNS), 7);

    panic_of(|| sum_until_over(&items, 32, Some(4)));
    assert_eq!(take(&BREAK_RUNS), 5);
    assert_eq!(saved_index(&path), Some(4));
    assert_eq!(sum_until_over(&items, 32, None), (30, 6));
    assert_eq!(take(&BREAK_RUNS), 3, "iterations 4, 5 and 6 (which breaks)");
    assert!(!path.exists(), "`break` removes the checkpoint");
}

// ---------------------------------------------------------------------------------------------
// Periodic saves.

static PERIODIC_RUNS: AtomicU64 = AtomicU64::new(0);

/// Records, at the start of each iteration, the index the checkpoint on disk holds, and keeps
/// a copy of the checkpoint as iteration 4 sees it.
// `seen` and `snapshot` are what the test observes, not state.
#[resumable(every = 3, name = "failures-periodic", skip(seen, snapshot, PERIODIC_RUNS), key = ())]
fn periodic(
    n: u64,
    panic_at: Option<u64>,
    seen: &mut Vec<(u64, Option<u64>)>,
    snapshot: &mut Option<Vec<u8>>,
) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        PERIODIC_RUNS.fetch_add(1, SeqCst);
        let path = checkpoint("failures-periodic");
        seen.push((i, saved_index(&path)));
        if i == 4 {
            *snapshot = newest_bytes(&path);
        }
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        acc = acc * 3 + i;
    }
    acc
}

#[test]
fn a_checkpoint_is_saved_after_every_n_iterations() {
    let path = fresh("failures-periodic");
    let (mut seen, mut snapshot) = (Vec::new(), None);
    let uninterrupted = periodic(10, None, &mut seen, &mut snapshot);
    assert_eq!(take(&PERIODIC_RUNS), 10);
    assert!(!path.exists());

    let (mut seen, mut snapshot) = (Vec::new(), None);
    panic_of(|| periodic(10, Some(7), &mut seen, &mut snapshot));
    assert_eq!(take(&PERIODIC_RUNS), 8);
    // Saved after iterations 3 and 6 had completed, before iterations 3 and 6 started.
    assert_eq!(
        seen,
        [
            (0, None),
            (1, None),
            (2, None),
            (3, Some(3)),
            (4, Some(3)),
            (5, Some(3)),
            (6, Some(6)),
            (7, Some(6)),
        ]
    );
    assert!(path.exists(), "the panic at 7 left a checkpoint");
    assert_eq!(saved_index(&path), Some(7));

    // Resume from the panic's save: 7, 8, 9.
    let (mut seen, mut later) = (Vec::new(), None);
    assert_eq!(periodic(10, None, &mut seen, &mut later), uninterrupted);
    assert_eq!(take(&PERIODIC_RUNS), 3);
    assert_eq!(seen, [(7, Some(7)), (8, Some(7)), (9, Some(7))]);
    assert!(!path.exists());

    // A crash (no save on the way out) after iteration 4 would leave the periodic save of
    // index 3: put that file back and the next call runs iterations 3..10.
    fs::write(
        &path,
        snapshot.expect("a checkpoint existed in iteration 4"),
    )
    .unwrap();
    let (mut seen, mut later) = (Vec::new(), None);
    assert_eq!(periodic(10, None, &mut seen, &mut later), uninterrupted);
    assert_eq!(take(&PERIODIC_RUNS), 7);
    // Saved again after every 3 iterations of this call: before iterations 6 and 9.
    assert_eq!(
        seen,
        [
            (3, Some(3)),
            (4, Some(3)),
            (5, Some(3)),
            (6, Some(6)),
            (7, Some(6)),
            (8, Some(6)),
            (9, Some(9)),
        ]
    );
    assert!(!path.exists());
}

static SAVE_FAIL_RUNS: AtomicU64 = AtomicU64::new(0);

/// A state value whose serialization fails once it holds `POISON`.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct Picky(u64);

const POISON: u64 = 13;

impl serde::Serialize for Picky {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 == POISON {
            return Err(serde::ser::Error::custom("unlucky number"));
        }
        serializer.serialize_u64(self.0)
    }
}

#[resumable(every = 2, name = "failures-save-fails", key = (), skip(SAVE_FAIL_RUNS))]
fn add_all(items: &[u64]) -> Picky {
    let mut picky = Picky::default();
    for &item in items {
        SAVE_FAIL_RUNS.fetch_add(1, SeqCst);
        picky.0 += item;
    }
    picky
}

#[test]
fn a_failed_periodic_save_stops_and_keeps_the_previous_checkpoint() {
    let path = fresh("failures-save-fails");
    // Saved with 2 after 2 iterations; after 4 the state is 13 and cannot be saved.
    let text = panic_of(|| add_all(&[1, 1, 5, 6, 1, 1]));
    assert_eq!(take(&SAVE_FAIL_RUNS), 4, "stopped at the failed save");
    assert!(text.contains("could not serialize"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(
        saved_index(&path),
        Some(2),
        "the previous checkpoint is intact"
    );

    // It resumes from that checkpoint: iterations 2..6 run again.
    assert_eq!(add_all(&[1, 1, 5, 7, 1, 1]), Picky(16));
    assert_eq!(take(&SAVE_FAIL_RUNS), 4);
    assert!(!path.exists());
}

static SAVE_PANIC_RUNS: AtomicU64 = AtomicU64::new(0);

/// A state value whose serialization panics once it holds `POISON`.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct Touchy(u64);

impl serde::Serialize for Touchy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        assert_ne!(self.0, POISON, "Touchy cannot hold {POISON}");
        serializer.serialize_u64(self.0)
    }
}

#[resumable(every = 2, name = "failures-save-panics", key = (), skip(SAVE_PANIC_RUNS))]
fn add_touchy(items: &[u64]) -> Touchy {
    let mut touchy = Touchy::default();
    for &item in items {
        SAVE_PANIC_RUNS.fetch_add(1, SeqCst);
        touchy.0 += item;
    }
    touchy
}

#[test]
fn a_panic_inside_a_periodic_save_keeps_the_previous_checkpoint() {
    let path = fresh("failures-save-panics");
    let text = panic_of(|| add_touchy(&[1, 1, 5, 6, 1, 1]));
    assert!(
        text.contains("Touchy cannot hold 13"),
        "the original panic: {text}"
    );
    assert_eq!(take(&SAVE_PANIC_RUNS), 4);
    // Not saved again after the panic (that would panic again): the save at 2 is intact.
    assert_eq!(saved_index(&path), Some(2));

    assert_eq!(add_touchy(&[1, 1, 5, 7, 1, 1]), Touchy(16));
    assert_eq!(take(&SAVE_PANIC_RUNS), 4);
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// Checkpoints that cannot be used: the function stops before any iteration, the message names
// the file, and the file is left byte-for-byte as it was.

/// Asserts what every refused checkpoint must show, and returns the message.
fn assert_refused<R: std::fmt::Debug>(
    path: &Path,
    runs: &AtomicU64,
    call: impl FnOnce() -> R,
) -> String {
    let before = fs::read(path).unwrap();
    let text = panic_of(call);
    assert!(
        text.contains(&path.display().to_string()),
        "the message names the file: {text}"
    );
    assert!(
        text.contains("RESUMABLE_RESET"),
        "the message says how to start over: {text}"
    );
    assert_eq!(take(runs), 0, "no iteration ran");
    assert_eq!(
        fs::read(path).unwrap(),
        before,
        "the file is left unchanged"
    );
    text
}

static TYPE_A_RUNS: AtomicU64 = AtomicU64::new(0);
static TYPE_B_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 100, name = "failures-mismatch-type", key = (), skip(TYPE_A_RUNS))]
fn collect_u32(n: u32, panic_at: Option<u32>) -> Vec<u32> {
    let mut items: Vec<u32> = Vec::new();
    for i in 0..n {
        TYPE_A_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        items.push(i);
    }
    items
}

/// The next version of `collect_u32`: the same checkpoint, a different state type.
#[resumable(every = 100, name = "failures-mismatch-type", key = (), skip(TYPE_B_RUNS))]
fn collect_u64(n: u64) -> Vec<u64> {
    let mut items: Vec<u64> = Vec::new();
    for i in 0..n {
        TYPE_B_RUNS.fetch_add(1, SeqCst);
        items.push(i);
    }
    items
}

#[test]
fn a_checkpoint_of_another_state_type_is_refused() {
    let path = fresh("failures-mismatch-type");
    panic_of(|| collect_u32(8, Some(3)));
    assert_eq!(take(&TYPE_A_RUNS), 4);

    let text = assert_refused(&path, &TYPE_B_RUNS, || collect_u64(8));
    assert!(text.contains("different state"), "{text}");
    assert!(text.contains("u32") && text.contains("u64"), "{text}");

    // The file is still the first version's checkpoint, and it still resumes from it.
    assert_eq!(collect_u32(8, None), (0..8).collect::<Vec<_>>());
    assert_eq!(take(&TYPE_A_RUNS), 5);
    assert!(!path.exists());
}

static NAME_A_RUNS: AtomicU64 = AtomicU64::new(0);
static NAME_B_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 100, name = "failures-mismatch-name", key = (), skip(NAME_A_RUNS))]
fn keep_items(n: u32, panic_at: Option<u32>) -> Vec<u32> {
    let mut items: Vec<u32> = Vec::new();
    for i in 0..n {
        NAME_A_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        items.push(i);
    }
    items
}

/// The same checkpoint and state type, but the binding was renamed.
#[resumable(every = 100, name = "failures-mismatch-name", key = (), skip(NAME_B_RUNS))]
fn keep_values(n: u32) -> Vec<u32> {
    let mut values: Vec<u32> = Vec::new();
    for i in 0..n {
        NAME_B_RUNS.fetch_add(1, SeqCst);
        values.push(i);
    }
    values
}

#[test]
fn a_checkpoint_with_other_binding_names_is_refused() {
    let path = fresh("failures-mismatch-name");
    panic_of(|| keep_items(8, Some(5)));
    assert_eq!(take(&NAME_A_RUNS), 6);

    let text = assert_refused(&path, &NAME_B_RUNS, || keep_values(8));
    assert!(text.contains("different state"), "{text}");
    assert!(text.contains("items") && text.contains("values"), "{text}");

    assert_eq!(keep_items(8, None), (0..8).collect::<Vec<_>>());
    assert_eq!(take(&NAME_A_RUNS), 3);
    assert!(!path.exists());
}

/// A function to damage checkpoints of: `$name` is its checkpoint, `$runs` counts its bodies.
macro_rules! victim {
    ($function:ident, $name:tt, $runs:ident) => {
        static $runs: AtomicU64 = AtomicU64::new(0);

        #[resumable(every = 2, name = $name, key = (), skip($runs))]
        fn $function(n: u64, panic_at: Option<u64>) -> u64 {
            let mut total = 0u64;
            let mut seen = Vec::new();
            for i in 0..n {
                $runs.fetch_add(1, SeqCst);
                if panic_at == Some(i) {
                    panic!("injected failure at {i}");
                }
                total += i;
                seen.push(i);
            }
            total + seen.len() as u64
        }
    };
}

victim!(flipped, "failures-flipped", FLIPPED_RUNS);
victim!(truncated, "failures-truncated", TRUNCATED_RUNS);
victim!(extended, "failures-extended", EXTENDED_RUNS);
victim!(emptied, "failures-empty", EMPTY_RUNS);
victim!(foreign, "failures-foreign", FOREIGN_RUNS);
victim!(shortened, "failures-short-iterator", SHORT_RUNS);

/// Leaves a real checkpoint log by a panic at iteration 5 and returns its bytes: records of
/// indexes 2 and 4 (periodic) and 5 (the failure's).
fn leave_checkpoint(path: &Path, call: impl FnOnce() -> u64, runs: &AtomicU64) -> Vec<u8> {
    panic_of(call);
    assert_eq!(take(runs), 6);
    assert_eq!(saved_index(path), Some(5));
    fs::read(path).unwrap()
}

victim!(fallback, "failures-fallback", FALLBACK_RUNS);

#[test]
fn a_damaged_newest_record_falls_back_to_the_one_before_and_a_copy_is_kept() {
    let path = fresh("failures-fallback");
    let mut bytes = leave_checkpoint(&path, || fallback(10, Some(5)), &FALLBACK_RUNS);
    // The newest record (index 5) ends the file; its checksum is the last 4 bytes.
    let at = bytes.len() - 6;
    bytes[at] ^= 0x01;
    fs::write(&path, &bytes).unwrap();

    // Resumes from the record before (index 4): iterations 4..10 run.
    assert_eq!(fallback(10, None), (0..10).sum::<u64>() + 10);
    assert_eq!(take(&FALLBACK_RUNS), 6);
    // The damaged file was kept, byte for byte, before anything replaced it.
    let dir = path.parent().unwrap();
    let aside: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            p.to_string_lossy()
                .contains("failures-fallback.ckpt.damaged-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(fs::read(&aside[0]).unwrap(), bytes);
    fs::remove_file(&aside[0]).unwrap();
    assert!(!path.exists() && !previous(&path).exists());
}

#[test]
fn a_flipped_byte_in_the_header_is_refused() {
    let path = fresh("failures-flipped");
    let mut bytes = leave_checkpoint(&path, || flipped(10, Some(5)), &FLIPPED_RUNS);
    bytes[20] ^= 0x10; // in the header's metadata
    fs::write(&path, &bytes).unwrap();
    let text = assert_refused(&path, &FLIPPED_RUNS, || flipped(10, None));
    assert!(text.contains("checksum"), "{text}");
    fs::remove_file(&path).unwrap();
}

#[test]
fn a_file_truncated_before_its_first_record_is_refused_and_a_torn_record_is_dropped() {
    let path = fresh("failures-truncated");
    let bytes = leave_checkpoint(&path, || truncated(10, Some(5)), &TRUNCATED_RUNS);
    fs::write(&path, &bytes[..30]).unwrap();
    let text = assert_refused(&path, &TRUNCATED_RUNS, || truncated(10, None));
    assert!(text.contains("truncated"), "{text}");

    // Cut inside the newest record, as a crash in the middle of its write would: the record
    // before it (index 4) is where the next run resumes.
    fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    assert_eq!(truncated(10, None), (0..10).sum::<u64>() + 10);
    assert_eq!(take(&TRUNCATED_RUNS), 6);
    assert!(!path.exists());
}

#[test]
fn zeros_after_the_newest_record_are_ignored() {
    // What a power loss can leave after an append: the size grew, the data never came.
    let path = fresh("failures-extended");
    let mut bytes = leave_checkpoint(&path, || extended(10, Some(5)), &EXTENDED_RUNS);
    bytes.extend_from_slice(&[0; 64]);
    fs::write(&path, &bytes).unwrap();
    assert_eq!(extended(10, None), (0..10).sum::<u64>() + 10);
    assert_eq!(take(&EXTENDED_RUNS), 5, "resumed at 5");
    assert!(!path.exists());
}

#[test]
fn an_empty_file_is_refused() {
    let path = fresh("failures-empty");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, b"").unwrap();
    let text = assert_refused(&path, &EMPTY_RUNS, || emptied(10, None));
    assert!(text.contains("0 bytes"), "{text}");
    fs::remove_file(&path).unwrap();
}

#[test]
fn foreign_bytes_are_refused() {
    let path = fresh("failures-foreign");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(
        &path,
        b"{\"total\": 10, \"index\": 5, \"note\": \"this is JSON\"}\n",
    )
    .unwrap();
    let text = assert_refused(&path, &FOREIGN_RUNS, || foreign(10, None));
    assert!(text.contains("not a resumable checkpoint"), "{text}");
    fs::remove_file(&path).unwrap();
}

#[test]
fn an_iterator_shorter_than_the_saved_index_is_refused() {
    let path = fresh("failures-short-iterator");
    let uninterrupted = shortened(5, None);
    assert_eq!(take(&SHORT_RUNS), 5);
    leave_checkpoint(&path, || shortened(10, Some(5)), &SHORT_RUNS);

    let text = assert_refused(&path, &SHORT_RUNS, || shortened(4, None));
    assert!(text.contains("iterator"), "{text}");
    assert!(text.contains("5 iterations"), "{text}");

    // Exactly as many items as the saved index is not too short: iterations 0..5 were
    // restored (total 10, 5 seen) and nothing is left to run.
    assert_eq!(shortened(5, None), uninterrupted);
    assert_eq!(take(&SHORT_RUNS), 0);
    assert!(!path.exists());
}
