//! The first promise, pattern by pattern: a run that is interrupted (a panic, a `?` error, a
//! returned `Err`) and called again returns what an uninterrupted run returns, or the
//! attribute refuses the loop (at compile time: `tests/ui/`; at run time, before any
//! iteration: here). Never a third outcome. Each function has its own checkpoint name and is
//! called from one test only, so the tests can run in parallel threads.

mod common;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{checkpoint, find_checkpoint, fresh, panic_of, take};
use resumable::resumable;

/// Fails the iteration whose item is this value, if set (`u64::MAX`: none). A static, not an
/// argument: the default key is the arguments, and the failing call and the call that resumes
/// it must be the same call.
static FAIL_ON: AtomicU64 = AtomicU64::new(u64::MAX);

/// The index of the newest checkpoint `name` (keyed by its arguments or not), if there is one.
fn saved(name: &str) -> Option<u64> {
    let path = find_checkpoint(std::path::Path::new(".resumable"), name)?;
    common::saved_index(&path)
}

/// Whether no checkpoint `name` is left.
fn gone(name: &str) -> bool {
    find_checkpoint(std::path::Path::new(".resumable"), name).is_none()
}

fn parse(x: u64, fail_on: &AtomicU64) -> Result<u64, String> {
    if fail_on.load(SeqCst) == x {
        return Err(format!("cannot parse {x}"));
    }
    Ok(x * 10)
}

// ---------------------------------------------------------------------------------------------
// 1. A failure in the middle of an iteration: the state saved is never half-updated.

static MIDDLE_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);
static MIDDLE_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 3, name = "soundness-middle", skip(MIDDLE_RUNS))]
fn total_and_parsed(items: &[u64]) -> Result<(u64, Vec<u64>), String> {
    let mut total = 0u64;
    let mut out = Vec::new();
    for &x in items {
        MIDDLE_RUNS.fetch_add(1, SeqCst);
        total += x;
        let y = parse(x, &MIDDLE_FAIL)?;
        out.push(y);
    }
    Ok((total, out))
}

#[test]
fn a_failure_after_the_state_changed_resumes_from_the_last_whole_iteration() {
    fresh("soundness-middle");
    let items: Vec<u64> = (1..=10).collect();
    let uninterrupted = total_and_parsed(&items).unwrap();
    take(&MIDDLE_RUNS);
    // Item 5 (iteration 4) fails after `total += 5`: saving then would count it twice.
    MIDDLE_FAIL.store(5, SeqCst);
    assert_eq!(total_and_parsed(&items), Err("cannot parse 5".into()));
    assert_eq!(take(&MIDDLE_RUNS), 5);
    assert_eq!(
        saved("soundness-middle"),
        Some(3),
        "the periodic checkpoint stands"
    );
    MIDDLE_FAIL.store(u64::MAX, SeqCst);
    assert_eq!(total_and_parsed(&items).unwrap(), uninterrupted);
    assert_eq!(take(&MIDDLE_RUNS), 7, "iterations 3..10");
    assert!(gone("soundness-middle"));
}

static BEFORE_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);
static BEFORE_RUNS: AtomicU64 = AtomicU64::new(0);

/// The fallible work first, then the state: a failure saves at the failing iteration.
#[resumable(every = 100, name = "soundness-before", skip(BEFORE_RUNS))]
fn parsed_then_total(items: &[u64]) -> Result<(u64, Vec<u64>), String> {
    let mut total = 0u64;
    let mut out = Vec::new();
    for &x in items {
        BEFORE_RUNS.fetch_add(1, SeqCst);
        let y = parse(x, &BEFORE_FAIL)?;
        total += x;
        out.push(y);
    }
    Ok((total, out))
}

#[test]
fn a_failure_before_the_state_changed_saves_at_the_failing_iteration() {
    fresh("soundness-before");
    let items: Vec<u64> = (1..=10).collect();
    let uninterrupted = parsed_then_total(&items).unwrap();
    take(&BEFORE_RUNS);
    BEFORE_FAIL.store(5, SeqCst);
    assert!(parsed_then_total(&items).is_err());
    assert_eq!(take(&BEFORE_RUNS), 5);
    assert_eq!(
        saved("soundness-before"),
        Some(4),
        "iteration 4 runs again, nothing lost"
    );
    BEFORE_FAIL.store(u64::MAX, SeqCst);
    assert_eq!(parsed_then_total(&items).unwrap(), uninterrupted);
    assert_eq!(take(&BEFORE_RUNS), 6);
    assert!(gone("soundness-before"));
}

// ---------------------------------------------------------------------------------------------
// 4. `&mut` parameters are state, restored into `*out`.

static FILL_RUNS: AtomicU64 = AtomicU64::new(0);
static FILL_PANIC: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 4, name = "soundness-fill", skip(FILL_RUNS))]
fn fill(n: u64, out: &mut Vec<u64>) {
    for i in 0..n {
        FILL_RUNS.fetch_add(1, SeqCst);
        if FILL_PANIC.load(SeqCst) == i {
            panic!("injected failure at {i}");
        }
        out.push(i * i);
    }
}

#[test]
fn a_mut_reference_parameter_is_restored_into_what_it_points_to() {
    fresh("soundness-fill");
    let mut uninterrupted = Vec::new();
    fill(10, &mut uninterrupted);
    take(&FILL_RUNS);
    FILL_PANIC.store(6, SeqCst);
    let mut first = Vec::new();
    panic_of(|| fill(10, &mut first));
    assert_eq!(saved("soundness-fill"), Some(6));
    FILL_PANIC.store(u64::MAX, SeqCst);
    // The caller starts from a fresh `Vec`, as a program run again does.
    let mut resumed = Vec::new();
    fill(10, &mut resumed);
    assert_eq!(resumed, uninterrupted, "not just the last 4 squares");
    assert_eq!(take(&FILL_RUNS), 7 + 4);
    assert!(gone("soundness-fill"));
}

static ACC_PANIC: AtomicU64 = AtomicU64::new(u64::MAX);

/// A `mut` parameter the loop changes is state too.
#[resumable(every = 2, name = "soundness-mut-param")]
fn accumulate(mut acc: u64, n: u64) -> u64 {
    for i in 0..n {
        if ACC_PANIC.load(SeqCst) == i {
            panic!("injected failure at {i}");
        }
        acc = acc.wrapping_mul(31).wrapping_add(i);
    }
    acc
}

#[test]
fn a_mut_parameter_is_state() {
    fresh("soundness-mut-param");
    let uninterrupted = accumulate(7, 9);
    ACC_PANIC.store(5, SeqCst);
    panic_of(|| accumulate(7, 9));
    assert_eq!(saved("soundness-mut-param"), Some(5));
    ACC_PANIC.store(u64::MAX, SeqCst);
    assert_eq!(accumulate(7, 9), uninterrupted);
    assert!(gone("soundness-mut-param"));
}

// ---------------------------------------------------------------------------------------------
// 3. Interior mutability declared `let mut` is state, saved through serde.

static CELL_PANIC: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 3, name = "soundness-cell")]
fn count_even(n: u64) -> u64 {
    let mut hits = Cell::new(0u64);
    for i in 0..n {
        if CELL_PANIC.load(SeqCst) == i {
            panic!("injected failure at {i}");
        }
        if i % 2 == 0 {
            hits.set(hits.get() + 1);
        }
    }
    hits.get()
}

#[test]
fn a_cell_declared_let_mut_is_saved_and_restored() {
    fresh("soundness-cell");
    assert_eq!(count_even(20), 10);
    CELL_PANIC.store(13, SeqCst);
    panic_of(|| count_even(20));
    assert_eq!(saved("soundness-cell"), Some(13));
    CELL_PANIC.store(u64::MAX, SeqCst);
    assert_eq!(count_even(20), 10);
    assert!(gone("soundness-cell"));
}

// ---------------------------------------------------------------------------------------------
// 5. `drain` empties what it walks whether or not items were skipped: it resumes like
// `into_iter` (`iter_mut` and `&mut v` are refused: tests/ui/iterator-changes-its-collection.rs).

static DRAIN_PANIC: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 2, name = "soundness-drain")]
fn drained(n: u64) -> (Vec<u64>, usize) {
    let mut queue: Vec<u64> = (0..n).collect();
    let mut done = Vec::new();
    for job in queue.drain(..) {
        if DRAIN_PANIC.load(SeqCst) == job {
            panic!("injected failure at {job}");
        }
        done.push(job * 3);
    }
    (done, queue.len())
}

#[test]
fn a_drained_collection_resumes_like_an_owned_iterator() {
    fresh("soundness-drain");
    let uninterrupted = drained(9);
    DRAIN_PANIC.store(5, SeqCst);
    panic_of(|| drained(9));
    assert_eq!(saved("soundness-drain"), Some(5));
    DRAIN_PANIC.store(u64::MAX, SeqCst);
    assert_eq!(drained(9), uninterrupted);
    assert!(gone("soundness-drain"));
}

// ---------------------------------------------------------------------------------------------
// 7. The same function called with other arguments: each call resumes its own checkpoint.

static PART_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "soundness-parts", skip(PART_RUNS))]
fn score(part: &[u64], weight: u64) -> Result<u64, String> {
    let mut total = 0u64;
    for &x in part {
        PART_RUNS.fetch_add(1, SeqCst);
        let y = parse(x, &FAIL_ON)?;
        total += y * weight;
    }
    Ok(total)
}

fn score_all(parts: &[Vec<u64>]) -> Result<Vec<u64>, String> {
    parts.iter().map(|part| score(part, 3)).collect()
}

#[test]
fn each_call_resumes_its_own_checkpoint() {
    fresh("soundness-parts");
    let parts = vec![vec![1, 2, 3, 4, 5], vec![6, 7, 8, 9, 10], vec![11, 12]];
    let dir = std::path::Path::new(".resumable");
    let uninterrupted = score_all(&parts).unwrap();
    assert_eq!(take(&PART_RUNS), 12);
    assert!(find_checkpoint(dir, "soundness-parts").is_none());
    // The second part fails at its fourth item (9): its call leaves a checkpoint of its own.
    FAIL_ON.store(9, SeqCst);
    assert_eq!(score_all(&parts), Err("cannot parse 9".into()));
    assert_eq!(take(&PART_RUNS), 5 + 4);
    let left = find_checkpoint(dir, "soundness-parts").expect("the failed call's checkpoint");
    assert!(
        left.file_name().unwrap().len() > "soundness-parts.ckpt".len(),
        "keyed by the arguments: {}",
        left.display()
    );
    FAIL_ON.store(u64::MAX, SeqCst);
    // The first part runs whole (it must not resume the second part's checkpoint), the second
    // resumes at its fourth item, the third runs whole.
    assert_eq!(score_all(&parts).unwrap(), uninterrupted);
    assert_eq!(take(&PART_RUNS), 5 + 2 + 2);
    assert!(find_checkpoint(dir, "soundness-parts").is_none());
}

static HASHMAP_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "soundness-hashmap-arg", skip(HASHMAP_RUNS))]
fn total_price(prices: &HashMap<String, u64>, n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        HASHMAP_RUNS.fetch_add(1, SeqCst);
        if FAIL_ON.load(SeqCst) == i + 1000 {
            panic!("injected failure at {i}");
        }
        total += prices.values().sum::<u64>() * i;
    }
    total
}

#[resumable(every = 2, name = "soundness-hashmaps-arg")]
fn total_of_all(tables: &[HashMap<String, u64>], n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += tables.len() as u64 * i;
    }
    total
}

#[test]
fn a_hash_map_argument_is_keyed_by_its_entries_in_any_order() {
    fresh("soundness-hashmap-arg");
    let entries: Vec<(String, u64)> = (0..40).map(|i| (format!("item{i}"), i)).collect();
    let prices: HashMap<String, u64> = entries.iter().cloned().collect();
    let expected = total_price(&prices, 10);
    take(&HASHMAP_RUNS);
    FAIL_ON.store(1007, SeqCst);
    panic_of(|| total_price(&prices, 10));
    FAIL_ON.store(u64::MAX, SeqCst);
    take(&HASHMAP_RUNS);
    // The next run builds the table again, in another order: the same key, so it resumes.
    let rebuilt: HashMap<String, u64> = entries.iter().rev().cloned().collect();
    assert_eq!(total_price(&rebuilt, 10), expected);
    assert_eq!(
        take(&HASHMAP_RUNS),
        3,
        "resumed at 7, the iteration that failed"
    );
    assert!(gone("soundness-hashmap-arg"));

    // Tables inside another value are not seen one by one: refused, with what to write.
    fresh("soundness-hashmaps-arg");
    let text = panic_of(|| total_of_all(std::slice::from_ref(&prices), 3));
    assert!(
        text.contains("argument `tables`") && text.contains("HashMap") && text.contains("key = "),
        "{text}"
    );
    assert!(gone("soundness-hashmaps-arg"));
}

/// `key = ()`: one checkpoint whatever the arguments, for an argument that says how to run,
/// not what to compute.
#[resumable(every = 2, name = "soundness-unkeyed", key = ())]
fn unkeyed(n: u64, verbose: bool) -> u64 {
    let mut total = 0;
    for i in 0..n {
        if verbose && i == 3 {
            panic!("injected failure at {i}");
        }
        total += i;
    }
    total
}

#[test]
fn key_unit_shares_one_checkpoint_across_arguments() {
    let path = checkpoint("soundness-unkeyed");
    let _ = fresh("soundness-unkeyed");
    panic_of(|| unkeyed(10, true));
    assert_eq!(
        common::saved_index(&path),
        Some(3),
        "one file, no key in its name"
    );
    assert_eq!(unkeyed(10, false), 45);
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// A recursive call on the same checkpoint is refused, saying what happened and what to write.

#[resumable(every = 10, name = "soundness-recursive")]
fn nested_total(depth: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..3 {
        total += i;
        if i == 1 && depth == 0 {
            // The same arguments: the same checkpoint as the call running this loop.
            total += nested_total(depth);
        }
    }
    total
}

#[resumable(every = 10, name = "soundness-recursive-keyed")]
fn keyed_total(depth: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..3 {
        total += i;
        if i == 1 && depth == 0 {
            // Other arguments: a checkpoint of its own, so this works.
            total += keyed_total(depth + 1);
        }
    }
    total
}

#[test]
fn a_recursive_call_with_the_same_arguments_is_refused_and_other_arguments_work() {
    fresh("soundness-recursive");
    fresh("soundness-recursive-keyed");
    let text = panic_of(|| nested_total(0));
    assert!(
        text.contains("already in use by a call of the same function in this process")
            && text.contains("key = "),
        "{text}"
    );
    assert!(!text.contains("another run (process"), "{text}");
    assert_eq!(keyed_total(0), 3 + 3);
    assert!(gone("soundness-recursive-keyed"));
    fresh("soundness-recursive");
}

// ---------------------------------------------------------------------------------------------
// The patterns above in one program, killed at random moments: the uninterrupted output.

#[test]
fn the_patterns_killed_at_random_moments_print_the_uninterrupted_output() {
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let program = env!("CARGO_BIN_EXE_resumable-soundness");
    let run = |dir: &std::path::Path, delay: &str| {
        Command::new(program)
            .arg(delay)
            .env("RESUMABLE_DIR", dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn resumable-soundness")
    };
    let clean = common::Scratch::new("soundness-uninterrupted");
    let expected = run(&clean.0, "300").wait_with_output().unwrap();
    assert!(expected.status.success());
    let expected = String::from_utf8(expected.stdout).unwrap();
    assert_eq!(expected.lines().count(), 4, "{expected}");

    let dir = common::Scratch::new("soundness-killed");
    let mut rng = common::Rng::from_clock("soundness kills", "SOUNDNESS_SEED");
    let (mut kills, mut resumed, mut runs) = (0, 0, 0);
    let output = loop {
        runs += 1;
        assert!(runs < 50, "never finished");
        let mut child = run(&dir.0, "300");
        if kills < 6 {
            std::thread::sleep(Duration::from_millis(rng.range(20, 180)));
            let _ = child.kill();
            kills += 1;
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        resumed += stderr.matches("resuming ").count();
        if output.status.success() {
            break String::from_utf8(output.stdout).unwrap();
        }
    };
    eprintln!("soundness: {kills} kills, {runs} runs, {resumed} resumes");
    assert_eq!(output, expected);
    assert!(resumed > 0, "no run resumed from a checkpoint");
    let left: Vec<_> = common::files(&dir.0)
        .into_iter()
        .filter(|name| name.ends_with(".ckpt"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. A type of the program's own that hides a `Cell`, declared without `mut`: refused at the
// first save, before anything is saved.

#[derive(serde::Serialize, serde::Deserialize)]
struct Counter {
    hits: Cell<u64>,
}

impl Counter {
    fn bump(&self) {
        self.hits.set(self.hits.get() + 1);
    }
}

#[resumable(every = 5, name = "soundness-hidden-cell")]
fn count_with(n: u64) -> u64 {
    let counter = Counter { hits: Cell::new(0) };
    let mut total = 0u64;
    for i in 0..n {
        counter.bump();
        total += i;
    }
    total + counter.hits.get()
}

/// The same, with the binding left out by the program (`skip`): it says the count is not part
/// of the result, and the loop runs.
#[resumable(every = 5, name = "soundness-hidden-cell-skipped", skip(counter))]
fn count_skipped(n: u64) -> u64 {
    let counter = Counter { hits: Cell::new(0) };
    let mut total = 0u64;
    for i in 0..n {
        counter.bump();
        total += i;
    }
    total + counter.hits.get()
}

/// A binding without `mut` that the loop only reads: fingerprinted the same, so it runs.
#[resumable(every = 5, name = "soundness-read-only")]
fn weighted_by(n: u64) -> u64 {
    let weights: Vec<u64> = (0..n).map(|i| i % 3).collect();
    let mut total = 0u64;
    for i in 0..n {
        total += weights[i as usize] * i;
    }
    total
}

#[test]
fn a_hidden_cell_in_a_binding_without_mut_is_refused_before_anything_is_saved() {
    fresh("soundness-hidden-cell");
    let text = panic_of(|| count_with(20));
    assert!(
        text.contains("`counter` changed while the loop")
            && text.contains("let mut counter")
            && text.contains("was not saved"),
        "{text}"
    );
    assert!(gone("soundness-hidden-cell"), "no checkpoint was written");
    fresh("soundness-hidden-cell-skipped");
    assert_eq!(count_skipped(20), 190 + 20);
    fresh("soundness-read-only");
    assert_eq!(weighted_by(20), (0..20).map(|i| (i % 3) * i).sum::<u64>());
}
