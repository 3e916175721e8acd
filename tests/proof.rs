//! `resumable::proof`: the check users run on their own loops passes on a loop whose state
//! the attribute sees whole, and fails, naming the interruption, on loops whose state it
//! cannot see: a hidden global RNG, a thread-local one, a `let mut` made by a macro.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use resumable::proof::{assert_resumes, assert_resumes_killed};
use resumable::resumable;

/// The check's panic message, or `None` if it passed.
fn failure(check: impl FnOnce()) -> Option<String> {
    let payload = catch_unwind(AssertUnwindSafe(check)).err()?;
    Some(match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "(not text)".to_owned(), |text| (*text).to_owned()),
    })
}

#[resumable(every = 10)]
fn sum_of_squares(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += i * i;
    }
    sum
}

#[resumable(every = 7)]
fn histogram(words: &[&str]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for word in words {
        match counts.iter_mut().find(|(w, _)| w == word) {
            Some((_, count)) => *count += 1,
            None => counts.push(((*word).to_owned(), 1)),
        }
    }
    counts
}

#[test]
fn an_ordinary_loop_passes() {
    assert_resumes(|| sum_of_squares(100));
    let text = "a b c a b a d e f a b c ".repeat(5);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_resumes(|| histogram(&words));
}

#[test]
fn an_ordinary_loop_passes_when_killed() {
    assert_resumes_killed(|| sum_of_squares(100));
}

/// A library's RNG: a global the loop reads through functions the attribute cannot see into.
/// One per test (`stream`): tests run at once, and a shared one would make them differ
/// uninterrupted.
mod hidden_rng {
    use super::*;

    static STREAMS: [AtomicU64; 2] = [AtomicU64::new(1), AtomicU64::new(1)];

    pub fn seed(stream: usize, seed: u64) {
        STREAMS[stream].store(seed, Ordering::Relaxed);
    }

    pub fn next(stream: usize) -> u64 {
        let mut x = STREAMS[stream].load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        STREAMS[stream].store(x, Ordering::Relaxed);
        x
    }
}

// Seeded on entry, so that every uninterrupted call returns the same: only an interruption
// tells that the RNG's position is state the checkpoint does not hold.
#[resumable(every = 10)]
fn monte_carlo(stream: usize, n: u64) -> u64 {
    hidden_rng::seed(stream, 42);
    let mut hits = 0;
    for _ in 0..n {
        if hidden_rng::next(stream).is_multiple_of(3) {
            hits += 1;
        }
    }
    hits
}

#[test]
fn a_hidden_global_rng_fails_it() {
    let message = failure(|| assert_resumes(|| monte_carlo(0, 100))).expect("the check passed");
    assert!(
        message.contains("after a panic at monte_carlo's checkpoint boundary after")
            && message.contains("the resumed call returned another value")
            && message.contains("What is state"),
        "{message}"
    );
}

#[test]
fn a_hidden_global_rng_fails_it_when_killed() {
    let message =
        failure(|| assert_resumes_killed(|| monte_carlo(1, 100))).expect("the check passed");
    assert!(
        message.contains("the resumed call returned another value"),
        "{message}"
    );
}

/// A counter that is never reset: two uninterrupted calls already differ. Behind a function,
/// where the attribute (which refuses a static changed in the loop) cannot see it.
static CALLS: AtomicU64 = AtomicU64::new(0);

fn next_number() -> u64 {
    CALLS.fetch_add(1, Ordering::Relaxed)
}

#[resumable(every = 10)]
fn numbered(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += i * next_number();
    }
    total
}

#[test]
fn a_global_counter_fails_it_uninterrupted() {
    let message = failure(|| assert_resumes(|| numbered(50))).expect("the check passed");
    assert!(
        message.contains("two uninterrupted calls returned different values"),
        "{message}"
    );
}

thread_local! {
    static THREAD_RNG: std::cell::Cell<u64> = const { std::cell::Cell::new(0x9E37_79B9) };
}

/// A thread's RNG, seeded once per thread (as `rand::thread_rng` is): every run of the check is
/// on a new thread, as a new process would be.
fn thread_random() -> u64 {
    THREAD_RNG.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        x
    })
}

#[resumable(every = 10)]
fn shuffle_sum(n: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total = total.wrapping_add(i ^ thread_random());
    }
    total
}

#[test]
fn a_thread_local_rng_fails_it() {
    let message = failure(|| assert_resumes(|| shuffle_sum(100))).expect("the check passed");
    assert!(
        message.contains("the resumed call returned another value"),
        "{message}"
    );
}

macro_rules! let_mut {
    ($name:ident) => {
        let mut $name = 0u64;
    };
}

// The attribute reads tokens: the binding the macro makes is invisible to it, so it is not
// state (this compiles today), and a resume starts it at 0 again.
#[resumable(every = 10)]
fn macro_made(n: u64) -> u64 {
    let_mut!(acc);
    for i in 0..n {
        acc += i;
    }
    acc
}

#[test]
fn a_binding_made_by_a_macro_fails_it() {
    let message = failure(|| assert_resumes(|| macro_made(100))).expect("the check passed");
    assert!(
        message.contains("macro_made's checkpoint boundary")
            && message.contains("uninterrupted: 4950")
            && message.contains("resumed:       4905"),
        "{message}"
    );
}

#[resumable(every = 1000)]
fn short(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += i;
    }
    sum
}

#[test]
fn a_call_that_reaches_no_checkpoint_fails_it() {
    let message = failure(|| assert_resumes(|| short(10))).expect("the check passed");
    assert!(message.contains("reached no checkpoint"), "{message}");
}

// The call's key is its argument, which changes from call to call: a resume never finds the
// interrupted call's checkpoint, so the check would compare two fresh runs.
static NONCE: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10)]
fn keyed_by_nonce(nonce: u64, n: u64) -> u64 {
    let _ = nonce;
    let mut sum = 0;
    for i in 0..n {
        sum += i;
    }
    sum
}

#[test]
fn a_key_that_changes_per_call_fails_it() {
    let message =
        failure(|| assert_resumes(|| keyed_by_nonce(NONCE.fetch_add(1, Ordering::Relaxed), 100)))
            .expect("the check passed");
    assert!(message.contains("started from the beginning"), "{message}");
}

#[resumable(every = 10, dir = "target/proof-attribute-dir-must-stay-empty")]
fn with_a_dir(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += i;
    }
    sum
}

#[test]
fn the_check_keeps_its_checkpoints_in_a_directory_of_its_own() {
    let dir = std::path::Path::new("target/proof-attribute-dir-must-stay-empty");
    let _ = std::fs::remove_dir_all(dir);
    assert_resumes(|| with_a_dir(100));
    assert!(!dir.exists(), "the check wrote into the attribute's dir");
}

#[resumable(every = 10)]
fn fails_itself(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        assert!(i < 50, "the program's own panic");
        sum += i;
    }
    sum
}

#[test]
fn the_calls_own_panic_goes_on() {
    let message = failure(|| assert_resumes(|| fails_itself(100))).expect("the check passed");
    assert_eq!(message, "the program's own panic");
}

// Saves by time: each run passes other boundaries; the check interrupts at those it reaches.
#[resumable(every = "2ms")]
fn slow_sum(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        std::thread::sleep(std::time::Duration::from_micros(300));
        sum += i;
    }
    sum
}

#[test]
fn a_loop_that_saves_by_time_passes() {
    assert_resumes_killed(|| slow_sum(100));
}

#[resumable(every = "2ms")]
fn slow_macro_made(n: u64) -> u64 {
    let_mut!(acc);
    for i in 0..n {
        std::thread::sleep(std::time::Duration::from_micros(300));
        acc += i;
    }
    acc
}

#[test]
fn a_loop_that_saves_by_time_fails_it_when_it_should() {
    let message = failure(|| assert_resumes(|| slow_macro_made(100))).expect("the check passed");
    assert!(
        message.contains("the resumed call returned another value"),
        "{message}"
    );
}

#[resumable(every = 3, inner = 'batches)]
fn nest(epochs: u64, data: &[u64]) -> Vec<u64> {
    let mut totals = Vec::new();
    for epoch in 0..epochs {
        let mut total = 0;
        'batches: for batch in data.chunks(2) {
            total += (epoch + 1) * batch.iter().sum::<u64>();
        }
        totals.push(total);
    }
    totals
}

#[test]
fn a_loop_nest_passes() {
    let data: Vec<u64> = (0..20).collect();
    assert_resumes_killed(|| nest(4, &data));
}

#[resumable(every = 10)]
async fn async_sum(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        tokio::task::yield_now().await;
        sum += i;
    }
    sum
}

#[test]
fn an_async_fn_on_the_calling_thread_passes() {
    assert_resumes(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async_sum(100))
    });
}
