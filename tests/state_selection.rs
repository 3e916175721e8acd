//! Which bindings are the loop's state: by default every top-level `let mut` before the loop
//! that the loop names; `skip(..)` takes bindings out of that; `state(..)` lists it exactly.
//! State is restored after the initialisers ran; everything else starts from its initialiser
//! on every call.
//!
//! Two functions with the same checkpoint `name` share a checkpoint, and one resumes from the
//! other's only if their state has the same binding names and types: that is how these tests
//! see exactly what a function saves.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, panic_of, take};
use resumable::resumable;

// ---------------------------------------------------------------------------------------------
// `skip(..)`

/// A scratch buffer reused across iterations. Not `Serialize`: it could not be state.
#[derive(Default)]
struct Scratch {
    bytes: Vec<u8>,
}

static SKIP_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 3, name = "selection-skip-scratch", skip(buf, this_call, SKIP_RUNS), key = ())]
fn digit_sums(n: u64, panic_at: Option<u64>) -> (Vec<u64>, u64) {
    let mut buf = Scratch::default();
    let mut this_call = 0u64;
    let mut sums = Vec::new();
    for i in 0..n {
        SKIP_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        buf.bytes.clear();
        buf.bytes.extend((i * 7919).to_string().bytes());
        sums.push(buf.bytes.iter().map(|b| u64::from(b - b'0')).sum());
        this_call += 1;
    }
    (sums, this_call)
}

#[test]
fn skipped_bindings_are_not_saved_and_the_rest_resumes() {
    let path = fresh("selection-skip-scratch");
    let (uninterrupted, all) = digit_sums(15, None);
    assert_eq!(take(&SKIP_RUNS), 15);
    assert_eq!(all, 15);

    panic_of(|| digit_sums(15, Some(7)));
    assert_eq!(take(&SKIP_RUNS), 8);
    assert!(path.exists());

    let (sums, this_call) = digit_sums(15, None);
    assert_eq!(take(&SKIP_RUNS), 8, "iterations 7..15");
    assert_eq!(sums, uninterrupted, "`sums` was restored");
    // `this_call` is skipped: it started from its initialiser, so it counts this call only.
    assert_eq!(this_call, 8);
    assert!(!path.exists());
}

#[resumable(every = 100, name = "selection-skip-twin", skip(seen_here), key = ())]
fn skip_one(n: u64, panic_at: Option<u64>) -> (u64, u64) {
    let mut total = 0u64;
    let mut seen_here = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        total += i;
        seen_here += 1;
    }
    (total, seen_here)
}

#[test]
fn skip_removes_exactly_the_skipped_binding_from_the_default() {
    let path = fresh("selection-skip-twin");
    panic_of(|| skip_one(10, Some(4)));
    // `skip(seen_here)` left exactly `total: u64` (0 + 1 + 2 + 3 at iteration 4).
    assert_eq!(saved_state::<u64>(&path), Some((4, 6)));
    assert_eq!(saved_state::<(u64, u64)>(&path), None);
    assert_eq!(bindings(&path), ["total"]);
    assert_eq!(skip_one(10, None).0, 45);
    assert!(!path.exists());
}

/// The newest checkpoint at `path` decoded as `T`, with its index; `None` if it is not a `T`.
fn saved_state<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Option<(u64, T)> {
    resumable::__private::decode_checkpoint(&common::newest_bytes(path)?).ok()
}

/// The state bindings the checkpoint at `path` records.
fn bindings(path: &std::path::Path) -> Vec<String> {
    let info = resumable::inspect::inspect(path);
    info.bindings().into_iter().map(str::to_owned).collect()
}

// ---------------------------------------------------------------------------------------------
// `state(..)`

static LISTED_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 100, name = "selection-state-list", state(done), key = (), skip(LISTED_RUNS))]
fn count_both(n: u64, panic_at: Option<u64>) -> (u64, u64) {
    let mut done = 0u64;
    let mut since_start = 0u64;
    for i in 0..n {
        LISTED_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        done += 1;
        since_start += 1;
    }
    (done, since_start)
}

#[test]
fn state_saves_only_the_listed_bindings() {
    let path = fresh("selection-state-list");
    assert_eq!(count_both(10, None), (10, 10));
    assert_eq!(take(&LISTED_RUNS), 10);

    panic_of(|| count_both(10, Some(6)));
    assert_eq!(take(&LISTED_RUNS), 7);
    // `done` is restored (6) and counts on to 10; `since_start` is not state: it starts from
    // 0 again and counts only the 4 iterations this call ran.
    assert_eq!(count_both(10, None), (10, 4));
    assert_eq!(take(&LISTED_RUNS), 4);
    assert!(!path.exists());
}

static LISTED_UNUSED_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 100, name = "selection-state-unnamed", state(sum, label), key = (), skip(LISTED_UNUSED_RUNS))]
fn listed_even_if_unnamed(n: u64, panic_at: Option<u64>) -> (u64, String) {
    let mut sum = 0u64;
    // Not named in the loop, but listed: it is state all the same.
    let mut label = String::from("fresh");
    for i in 0..n {
        LISTED_UNUSED_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i;
    }
    let restored = label.clone();
    label = format!("{sum}");
    (sum, format!("{restored}->{label}"))
}

#[test]
fn state_can_list_a_binding_the_loop_does_not_name() {
    let path = fresh("selection-state-unnamed");
    panic_of(|| listed_even_if_unnamed(8, Some(3)));
    assert_eq!(take(&LISTED_UNUSED_RUNS), 4);
    assert_eq!(
        listed_even_if_unnamed(8, None),
        (28, "fresh->28".to_owned())
    );
    assert_eq!(take(&LISTED_UNUSED_RUNS), 5);
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// The default state.

static DEFAULT_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 100, name = "selection-default", key = (), skip(DEFAULT_RUNS))]
fn default_state(n: u64, panic_at: Option<u64>) -> (u64, u64) {
    let mut sum = 0u64;
    // `let mut`, but not named in the loop: not state. It is not even `Serialize`, so this
    // would not compile if it were.
    let mut notes = Scratch::default();
    // Named in the loop, but not `mut`: not state.
    let step = 2u64;
    // `let mut`, not named in the loop: not state.
    let mut after = 5u64;
    for i in 0..n {
        DEFAULT_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i * step;
    }
    notes.bytes.push(1);
    after += sum + notes.bytes.len() as u64;
    (sum, after)
}

#[test]
fn the_default_state_is_the_let_mut_bindings_the_loop_names() {
    let path = fresh("selection-default");
    assert_eq!(default_state(10, None), (90, 96));
    assert_eq!(take(&DEFAULT_RUNS), 10);

    panic_of(|| default_state(10, Some(4)));
    assert_eq!(take(&DEFAULT_RUNS), 5);
    assert_eq!(default_state(10, None), (90, 96), "`sum` was restored");
    assert_eq!(take(&DEFAULT_RUNS), 6);
    assert!(!path.exists());

    // The checkpoint holds exactly `sum: u64` (0 + 2 + 4 + 6 at iteration 4).
    panic_of(|| default_state(10, Some(4)));
    assert_eq!(take(&DEFAULT_RUNS), 5);
    assert_eq!(saved_state::<u64>(&path), Some((4, 12)));
    assert_eq!(bindings(&path), ["sum"]);
    assert_eq!(default_state(10, None), (90, 96));
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// Initialisers run, then the state is restored over them.

static INIT_RUNS: AtomicU64 = AtomicU64::new(0);
static INITIALISED: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "selection-initialisers", key = (), skip(INIT_RUNS))]
fn initialised(n: u64, panic_at: Option<u64>) -> Vec<u64> {
    let mut squares = {
        INITIALISED.fetch_add(1, SeqCst);
        vec![u64::MAX]
    };
    for i in 0..n {
        INIT_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        squares.push(i * i);
    }
    squares
}

#[test]
fn state_is_restored_after_its_initialiser_ran() {
    let path = fresh("selection-initialisers");
    let uninterrupted = initialised(7, None);
    assert_eq!(take(&INITIALISED), 1);
    assert_eq!(take(&INIT_RUNS), 7);

    panic_of(|| initialised(7, Some(3)));
    assert_eq!(take(&INITIALISED), 1);
    assert_eq!(take(&INIT_RUNS), 4);

    // The initialiser runs on the resumed call too, and its value is replaced by the saved one.
    assert_eq!(initialised(7, None), uninterrupted);
    assert_eq!(take(&INITIALISED), 1);
    assert_eq!(take(&INIT_RUNS), 4);
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// Two functions given the same `name` never load each other's checkpoint.

#[resumable(every = 100, name = "selection-shared-name", key = ())]
fn sum_of(n: u64, panic_at: Option<u64>) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        total += i;
    }
    total
}

/// The same name, the same state (`total: u64`): it must still not resume `sum_of`'s.
#[resumable(every = 100, name = "selection-shared-name", key = ())]
fn sum_of_squares(n: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total += i * i;
    }
    total
}

#[test]
fn another_function_with_the_same_name_refuses_the_checkpoint_untouched() {
    let path = fresh("selection-shared-name");
    panic_of(|| sum_of(10, Some(5)));
    let saved = std::fs::read(&path).unwrap();
    let text = panic_of(|| sum_of_squares(10));
    assert!(
        text.contains("saved by the function `state_selection::sum_of`")
            && text.contains("this is `state_selection::sum_of_squares`"),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), saved, "left untouched");
    assert_eq!(sum_of(10, None), 45, "its own function resumes it");
    assert!(!path.exists());
}
