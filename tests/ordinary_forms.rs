//! Ordinary forms that compile without the attribute compile with it, and a run interrupted
//! in them and called again returns what an uninterrupted run returns: a struct literal as
//! the first update of the state, state taken by a `return`, a `loop` whose value is used,
//! several top-level loops, a `while let` around a checkpointed inner loop, a skipped binding
//! the body moves and gives a new value.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, panic_of, saved_index, take};
use resumable::resumable;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Point {
    x: u64,
    y: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Event {
    Click { x: u64 },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Best {
    i: u64,
    score: u64,
}

/// A score that panics at `panic_at`: called inside the struct literal, before the state
/// changes, so the failing iteration is saved and is the one that runs again.
fn score(i: u64, panic_at: Option<u64>) -> u64 {
    if panic_at == Some(i) {
        panic!("injected failure at {i}");
    }
    i * 7 % 11
}

static POINT_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 5, name = "forms-push-struct", key = (), skip(POINT_RUNS))]
fn points(n: u64, panic_at: Option<u64>) -> Vec<Point> {
    let mut out = Vec::new();
    for i in 0..n {
        POINT_RUNS.fetch_add(1, SeqCst);
        out.push(Point {
            x: i,
            y: score(i, panic_at),
        });
    }
    out
}

static BEST_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 5, name = "forms-assign-struct", key = (), skip(BEST_RUNS))]
fn best_of(n: u64, panic_at: Option<u64>) -> Best {
    let mut best = Best::default();
    for i in 0..n {
        BEST_RUNS.fetch_add(1, SeqCst);
        let candidate = score(i, panic_at);
        best = Best {
            i: if candidate > best.score { i } else { best.i },
            score: candidate.max(best.score),
        };
    }
    best
}

static EVENT_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 5, name = "forms-push-variant", key = (), skip(EVENT_RUNS))]
fn clicks(n: u64, panic_at: Option<u64>) -> Vec<Event> {
    let mut events = Vec::new();
    for i in 0..n {
        EVENT_RUNS.fetch_add(1, SeqCst);
        events.push(Event::Click {
            x: score(i, panic_at),
        });
    }
    events
}

#[test]
fn a_struct_literal_as_the_first_update_resumes_at_the_failing_iteration() {
    for (name, runs, run) in [
        (
            "forms-push-struct",
            &POINT_RUNS,
            &(|panic_at| format!("{:?}", points(30, panic_at))) as &dyn Fn(Option<u64>) -> String,
        ),
        ("forms-assign-struct", &BEST_RUNS, &|panic_at| {
            format!("{:?}", best_of(30, panic_at))
        }),
        ("forms-push-variant", &EVENT_RUNS, &|panic_at| {
            format!("{:?}", clicks(30, panic_at))
        }),
    ] {
        let path = fresh(name);
        let uninterrupted = run(None);
        assert_eq!(take(runs), 30, "{name}");
        panic_of(|| run(Some(17)));
        assert_eq!(take(runs), 18, "{name}");
        // The panic came before the state changed: iteration 17 is saved as not done.
        assert_eq!(saved_index(&path), Some(17), "{name}");
        assert_eq!(run(None), uninterrupted, "{name}");
        assert_eq!(take(runs), 13, "{name}: iterations 17..30");
        assert!(!path.exists(), "{name}");
    }
}

static RETURN_RUNS: AtomicU64 = AtomicU64::new(0);

/// The state is the value returned from inside the loop.
#[resumable(every = 4, name = "forms-return-state", key = (), skip(RETURN_RUNS))]
fn doubled_until_negative(xs: Vec<i64>, panic_at: Option<usize>) -> Vec<i64> {
    let mut out = Vec::new();
    for (i, x) in xs.into_iter().enumerate() {
        RETURN_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        if x < 0 {
            return out;
        }
        out.push(x * 2);
    }
    out.push(0);
    out
}

#[test]
fn state_returned_from_inside_the_loop_resumes() {
    let path = fresh("forms-return-state");
    let xs: Vec<i64> = (1..=20).chain([-1]).chain(21..30).collect();
    let uninterrupted = doubled_until_negative(xs.clone(), None);
    assert_eq!(uninterrupted, (1..=20).map(|x| x * 2).collect::<Vec<_>>());
    assert_eq!(take(&RETURN_RUNS), 21);
    assert!(!path.exists(), "a value returned completes the run");
    panic_of(|| doubled_until_negative(xs.clone(), Some(14)));
    assert_eq!(take(&RETURN_RUNS), 15);
    // The loop's closure owns `out`, which a panic drops: the periodic checkpoint stands.
    assert_eq!(saved_index(&path), Some(12));
    assert_eq!(doubled_until_negative(xs.clone(), None), uninterrupted);
    assert_eq!(take(&RETURN_RUNS), 9, "iterations 12..=20");
    assert!(!path.exists());
    // Without the early return, the end of the function.
    assert_eq!(doubled_until_negative(vec![1, 2], None), [2, 4, 0]);
    take(&RETURN_RUNS);
}

static VALUE_RUNS: AtomicU64 = AtomicU64::new(0);

/// `let found = loop { … break i; };`
#[resumable(every = 3, name = "forms-loop-value", key = (), skip(VALUE_RUNS))]
fn first_square_over(limit: u64, panic_at: Option<u64>) -> (u64, Vec<u64>) {
    let mut i = 0u64;
    let mut squares = Vec::new();
    let found = loop {
        VALUE_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        if i * i > limit {
            break i;
        }
        squares.push(i * i);
        i += 1;
    };
    (found, squares)
}

static RETURNED_LOOP_RUNS: AtomicU64 = AtomicU64::new(0);

/// The function's value is its `loop`'s.
#[resumable(every = 3, name = "forms-returned-loop", key = (), skip(RETURNED_LOOP_RUNS))]
fn root_over(limit: u64, panic_at: Option<u64>) -> u64 {
    let mut i = 0u64;
    loop {
        RETURNED_LOOP_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        if i * i > limit {
            break i;
        }
        i += 1;
    }
}

#[test]
fn a_loop_whose_value_is_used_resumes() {
    let path = fresh("forms-loop-value");
    let uninterrupted = first_square_over(300, None);
    assert_eq!(uninterrupted.0, 18);
    assert_eq!(take(&VALUE_RUNS), 19);
    panic_of(|| first_square_over(300, Some(10)));
    assert_eq!(take(&VALUE_RUNS), 11);
    assert_eq!(saved_index(&path), Some(10));
    assert_eq!(first_square_over(300, None), uninterrupted);
    assert_eq!(take(&VALUE_RUNS), 9, "iterations 10..=18");
    assert!(!path.exists());

    let path = fresh("forms-returned-loop");
    assert_eq!(root_over(300, None), 18);
    take(&RETURNED_LOOP_RUNS);
    panic_of(|| root_over(300, Some(10)));
    assert_eq!(take(&RETURNED_LOOP_RUNS), 11);
    assert_eq!(saved_index(&path), Some(10));
    assert_eq!(root_over(300, None), 18);
    assert_eq!(take(&RETURNED_LOOP_RUNS), 9);
    assert!(!path.exists());
}

static MAIN_RUNS: AtomicU64 = AtomicU64::new(0);
static CHECK_RUNS: AtomicU64 = AtomicU64::new(0);

/// A loop that only checks before the main loop, a summary loop after it: the main loop is
/// the first that changes `let mut` state, and checkpoints; the others are ordinary code.
#[resumable(every = 4, name = "forms-several-loops", key = (), skip(MAIN_RUNS))]
fn lengths(words: Vec<String>, panic_at: Option<usize>) -> (Vec<usize>, usize) {
    for word in &words {
        CHECK_RUNS.fetch_add(1, SeqCst);
        assert!(!word.is_empty(), "empty word");
    }
    let mut lengths = Vec::new();
    for (i, word) in words.iter().enumerate() {
        MAIN_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        lengths.push(word.len());
    }
    let mut longest = 0;
    for length in &lengths {
        longest = longest.max(*length);
    }
    (lengths, longest)
}

static INDEXED_RUNS: AtomicU64 = AtomicU64::new(0);

/// An index built in a loop before the main loop, which `loop = 'main` names.
#[resumable(every = 4, name = "forms-named-loop", key = (), loop = 'main, skip(INDEXED_RUNS))]
fn first_seen(words: Vec<String>, panic_at: Option<usize>) -> Vec<usize> {
    let mut index = BTreeMap::new();
    for (i, word) in words.iter().enumerate() {
        index.entry(word.clone()).or_insert(i);
    }
    let mut seen = Vec::new();
    'main: for (i, word) in words.iter().enumerate() {
        INDEXED_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        seen.push(index[word]);
    }
    seen
}

#[test]
fn one_of_several_top_level_loops_checkpoints_and_the_others_run_as_code() {
    let words: Vec<String> = (0..25).map(|i| "x".repeat(i % 7 + 1)).collect();
    let path = fresh("forms-several-loops");
    let uninterrupted = lengths(words.clone(), None);
    assert_eq!(uninterrupted.1, 7);
    assert_eq!((take(&MAIN_RUNS), take(&CHECK_RUNS)), (25, 25));
    panic_of(|| lengths(words.clone(), Some(13)));
    assert_eq!(take(&MAIN_RUNS), 14);
    assert_eq!(saved_index(&path), Some(13));
    assert_eq!(lengths(words.clone(), None), uninterrupted);
    assert_eq!(take(&MAIN_RUNS), 12, "the main loop resumed at 13");
    assert_eq!(
        take(&CHECK_RUNS),
        50,
        "the loop before it runs on every call"
    );
    assert!(!path.exists());

    let path = fresh("forms-named-loop");
    let uninterrupted = first_seen(words.clone(), None);
    assert_eq!(uninterrupted[20], 6);
    assert_eq!(take(&INDEXED_RUNS), 25);
    panic_of(|| first_seen(words.clone(), Some(13)));
    assert_eq!(take(&INDEXED_RUNS), 14);
    assert_eq!(saved_index(&path), Some(13));
    assert_eq!(first_seen(words, None), uninterrupted);
    assert_eq!(take(&INDEXED_RUNS), 12, "the loop named 'main resumed");
    assert!(!path.exists());
}

static BATCH_RUNS: AtomicU64 = AtomicU64::new(0);

/// A work queue drained by `while let`, each job's batches the checkpointed inner loop.
#[resumable(every = 2, name = "forms-nest-while-let", key = (), inner = 'batches, skip(BATCH_RUNS))]
fn drain(jobs: u64, panic_at: Option<(u64, u64)>) -> Vec<u64> {
    let mut queue: Vec<u64> = (1..=jobs).collect();
    let mut sums = Vec::new();
    while let Some(job) = queue.pop() {
        let mut sum = 0;
        'batches: for k in 0..job {
            BATCH_RUNS.fetch_add(1, SeqCst);
            if panic_at == Some((job, k)) {
                panic!("injected failure at {job}/{k}");
            }
            sum += k * job;
        }
        sums.push(sum);
    }
    sums
}

#[test]
fn a_while_let_outer_loop_of_a_nest_resumes() {
    let path = fresh("forms-nest-while-let");
    let uninterrupted = drain(8, None);
    assert_eq!(take(&BATCH_RUNS), 36);
    panic_of(|| drain(8, Some((5, 3))));
    // Jobs 8, 7 and 6, then job 5's batches 0..=3.
    assert_eq!(take(&BATCH_RUNS), 8 + 7 + 6 + 4);
    assert!(path.exists());
    assert_eq!(drain(8, None), uninterrupted);
    assert!(take(&BATCH_RUNS) < 36 - 21 + 4, "resumed inside job 5");
    assert!(!path.exists());

    // A queue that is empty on resume: the `while let` ends before the iteration the
    // checkpoint was saved in, whose state is never restored. Refused, not the empty result.
    panic_of(|| drain(8, Some((5, 3))));
    take(&BATCH_RUNS);
    let refused = panic_of(|| drain(0, None));
    assert!(refused.contains("fewer items"), "{refused}");
    assert!(path.exists(), "the checkpoint stands");
    assert_eq!(drain(8, None), uninterrupted);
    take(&BATCH_RUNS);
}

static SCRATCH_RUNS: AtomicU64 = AtomicU64::new(0);

/// A buffer reused each step, moved through a function and given back: burn's
/// `model = optim.step(lr, model, grads)`. Skipped, since each step refills it.
fn fill(mut buffer: Vec<u64>, step: u64) -> Vec<u64> {
    buffer.clear();
    buffer.extend((0..8).map(|k| k * step));
    buffer
}

#[resumable(every = 3, name = "forms-skip-moved", key = (), skip(buffer, SCRATCH_RUNS))]
fn sums(steps: u64, panic_at: Option<u64>) -> Vec<u64> {
    let mut buffer = Vec::with_capacity(8);
    let mut totals = Vec::new();
    for step in 0..steps {
        SCRATCH_RUNS.fetch_add(1, SeqCst);
        buffer = fill(buffer, step);
        if panic_at == Some(step) {
            panic!("injected failure at {step}");
        }
        totals.push(buffer.iter().sum::<u64>());
    }
    totals
}

#[test]
fn a_skipped_binding_moved_and_given_back_resumes() {
    let path = fresh("forms-skip-moved");
    let uninterrupted = sums(20, None);
    assert_eq!(take(&SCRATCH_RUNS), 20);
    panic_of(|| sums(20, Some(11)));
    assert_eq!(take(&SCRATCH_RUNS), 12);
    assert_eq!(saved_index(&path), Some(9), "the periodic checkpoint");
    assert_eq!(sums(20, None), uninterrupted);
    assert_eq!(take(&SCRATCH_RUNS), 11);
    assert!(!path.exists());
}

static ERR_RUNS: AtomicU64 = AtomicU64::new(0);
static FAIL_ONCE_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// An error that takes the state with it: nothing is left to save, so the last checkpoint
/// stands, and the next call resumes from it.
#[resumable(every = 4, name = "forms-return-err-state", key = (), skip(ERR_RUNS, FAIL_ONCE_AT))]
fn collect_until_flaky(n: u64) -> Result<Vec<u64>, Vec<u64>> {
    let mut out = Vec::new();
    for i in 0..n {
        ERR_RUNS.fetch_add(1, SeqCst);
        if FAIL_ONCE_AT
            .compare_exchange(i, u64::MAX, SeqCst, SeqCst)
            .is_ok()
        {
            return Err(out);
        }
        out.push(i * 3);
    }
    Ok(out)
}

#[test]
fn an_error_returned_with_the_state_in_it_keeps_the_last_checkpoint() {
    let path = fresh("forms-return-err-state");
    let uninterrupted = collect_until_flaky(20);
    assert_eq!(take(&ERR_RUNS), 20);
    FAIL_ONCE_AT.store(10, SeqCst);
    let partial = collect_until_flaky(20).unwrap_err();
    assert_eq!(partial.len(), 10);
    assert_eq!(take(&ERR_RUNS), 11);
    assert_eq!(
        saved_index(&path),
        Some(8),
        "the periodic checkpoint stands"
    );
    assert_eq!(collect_until_flaky(20), uninterrupted);
    assert_eq!(take(&ERR_RUNS), 12, "iterations 8..20");
    assert!(!path.exists());
}
