//! Every input in the key, every input watched (issue 22, items 1 to 3): a call resumes only
//! a checkpoint made by a call with the same inputs on entry (`self`, state parameters, type
//! parameters), and an input the loop changes through `&` (a `Cell` in `&self`, an
//! `&AtomicU64`) is refused at any save, the one after a failure too, before it is saved.
//! Each function has its own checkpoint name and is called from one test only.

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{find_checkpoint, fresh, panic_of};
use resumable::resumable;
use serde::{Deserialize, Serialize};

/// Panics in the iteration whose index is `fail.load()` (`u64::MAX`: none). A static, not an
/// argument: arguments are the key, and the failing call and the one that resumes it must be
/// the same call.
fn fail_point(fail: &AtomicU64, i: u64) {
    if fail.load(SeqCst) == i {
        panic!("injected failure at {i}");
    }
}

/// The checkpoint files of `name` (one per key).
fn checkpoints_of(name: &str) -> usize {
    std::fs::read_dir(".resumable")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|entry| {
                    let file = entry.file_name().to_string_lossy().into_owned();
                    file.starts_with(&format!("{name}-")) && file.ends_with(".ckpt")
                })
                .count()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// 1. `*self` is in the key: several instances never share a checkpoint.

static SIM_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sim {
    seed: u64,
    trace: Vec<u64>,
}

impl Sim {
    #[resumable(every = 4, name = "inputs-sim")]
    fn run(&mut self, n: u64) {
        for i in 0..n {
            fail_point(&SIM_FAIL, i);
            let last = self.trace.last().copied().unwrap_or(self.seed);
            self.trace
                .push(last.wrapping_mul(6_364_136_223_846_793_005) ^ i);
        }
    }
}

fn sims() -> Vec<Sim> {
    (1..=3)
        .map(|seed| Sim {
            seed,
            trace: Vec::new(),
        })
        .collect()
}

#[test]
fn instances_of_a_mut_self_method_each_resume_their_own_checkpoint() {
    fresh("inputs-sim");
    let mut uninterrupted = sims();
    for sim in &mut uninterrupted {
        sim.run(20);
    }

    // The first two complete; the third fails at 10, its checkpoint at 8 standing.
    let mut first_run = sims();
    first_run[0].run(20);
    first_run[1].run(20);
    SIM_FAIL.store(10, SeqCst);
    panic_of(std::panic::AssertUnwindSafe(|| first_run[2].run(20)));
    SIM_FAIL.store(u64::MAX, SeqCst);
    assert_eq!(checkpoints_of("inputs-sim"), 1);

    // The program runs again: the first instance does not resume the third's checkpoint.
    let mut second_run = sims();
    for sim in &mut second_run {
        sim.run(20);
    }
    assert_eq!(second_run, uninterrupted);
    assert_eq!(
        checkpoints_of("inputs-sim"),
        0,
        "the third resumed and finished"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. `&self` is in the key: two models never share a checkpoint.

static EVAL_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);

#[derive(Hash)]
struct Weights {
    w: u64,
}

impl Weights {
    #[resumable(every = 3, name = "inputs-eval")]
    fn evaluate(&self, data: &[u64]) -> u64 {
        let mut loss = 0u64;
        for (i, x) in data.iter().enumerate() {
            fail_point(&EVAL_FAIL, i as u64);
            loss = loss.wrapping_mul(31).wrapping_add(x * self.w);
        }
        loss
    }
}

#[test]
fn two_instances_of_a_shared_self_method_keep_apart() {
    fresh("inputs-eval");
    let data: Vec<u64> = (0..12).collect();
    let (a, b) = (Weights { w: 3 }, Weights { w: 5 });
    let expected = (a.evaluate(&data), b.evaluate(&data));
    EVAL_FAIL.store(7, SeqCst);
    panic_of(|| b.evaluate(&data));
    EVAL_FAIL.store(u64::MAX, SeqCst);
    assert_eq!((a.evaluate(&data), b.evaluate(&data)), expected);
}

// ---------------------------------------------------------------------------------------------
// 1. A state parameter's value on entry is in the key: epochs never share a checkpoint.

static EPOCH_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 2, name = "inputs-epoch")]
fn train_epoch(mut w: Vec<f64>, data: &[f64]) -> Vec<f64> {
    for (i, x) in data.iter().enumerate() {
        fail_point(&EPOCH_FAIL, i as u64);
        for (j, wj) in w.iter_mut().enumerate() {
            *wj = *wj * 0.9 + x * (j as f64 + 1.0);
        }
    }
    w
}

fn train(epochs: u64, data: &[f64], fail_in_epoch: Option<u64>) -> Vec<f64> {
    let mut w = vec![0.0; 3];
    for epoch in 0..epochs {
        if fail_in_epoch == Some(epoch) {
            EPOCH_FAIL.store(5, SeqCst);
        }
        w = train_epoch(w, data);
    }
    w
}

#[test]
fn a_state_parameter_resumes_only_the_call_it_was_given_to() {
    fresh("inputs-epoch");
    let data: Vec<f64> = (0..9).map(|x| x as f64 / 3.0).collect();
    let expected = train(5, &data, None);
    let message = panic_of(|| train(5, &data, Some(3)));
    assert!(message.contains("injected failure at 5"), "{message}");
    EPOCH_FAIL.store(u64::MAX, SeqCst);
    // Epoch 0 does not resume epoch 3's weights; epoch 3 resumes its own.
    assert_eq!(train(5, &data, None), expected);
    assert_eq!(checkpoints_of("inputs-epoch"), 0);
}

// ---------------------------------------------------------------------------------------------
// 1. Type parameters are in the key.

static GENERIC_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);

trait Score {
    fn score(x: u64) -> u64;
}

struct Sq;
struct Abs;

impl Score for Sq {
    fn score(x: u64) -> u64 {
        x * x
    }
}

impl Score for Abs {
    fn score(x: u64) -> u64 {
        x.abs_diff(5)
    }
}

#[resumable(every = 2, name = "inputs-generic")]
fn evaluate<F: Score>(data: &[u64]) -> Vec<u64> {
    let mut scores = Vec::new();
    for (i, &x) in data.iter().enumerate() {
        fail_point(&GENERIC_FAIL, i as u64);
        scores.push(F::score(x));
    }
    scores
}

#[resumable(every = 2, name = "inputs-sum-as")]
fn sum_as<
    T: From<u32> + std::ops::AddAssign + Default + Serialize + serde::de::DeserializeOwned,
>(
    n: u32,
) -> T {
    let mut total = T::default();
    for i in 0..n {
        fail_point(&GENERIC_FAIL, u64::from(i) + 100);
        total += T::from(i * i);
    }
    total
}

#[test]
fn type_parameters_are_part_of_the_key() {
    fresh("inputs-generic");
    fresh("inputs-sum-as");
    let data: Vec<u64> = (0..10).collect();
    let expected = (evaluate::<Sq>(&data), evaluate::<Abs>(&data));
    GENERIC_FAIL.store(6, SeqCst);
    panic_of(|| evaluate::<Abs>(&data));
    GENERIC_FAIL.store(u64::MAX, SeqCst);
    assert_eq!((evaluate::<Sq>(&data), evaluate::<Abs>(&data)), expected);

    // The same code over another type: its own checkpoint, not "the type changed".
    GENERIC_FAIL.store(107, SeqCst);
    panic_of(|| sum_as::<f64>(12));
    GENERIC_FAIL.store(u64::MAX, SeqCst);
    assert_eq!(sum_as::<u64>(12), (0..12u64).map(|i| i * i).sum::<u64>());
    assert_eq!(
        sum_as::<f64>(12),
        (0..12u64).map(|i| (i * i) as f64).sum::<f64>()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A `&self` whose `Cell` the loop changes: refused at the first save, nothing saved.

struct Counted {
    hits: Cell<u64>,
    factor: u64,
}

// `Cell<u64>` serializes as its content, which is what the watch compares.
impl Serialize for Counted {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.hits.get(), self.factor).serialize(serializer)
    }
}

impl Counted {
    #[resumable(every = 4, name = "inputs-cell-self", key = ())]
    fn total(&self, n: u64) -> u64 {
        let mut sum = 0u64;
        for i in 0..n {
            self.hits.set(self.hits.get() + 1);
            sum += i * self.factor;
        }
        sum
    }
}

#[test]
fn a_shared_self_changed_through_a_cell_is_refused_before_anything_is_saved() {
    fresh("inputs-cell-self");
    let counted = Counted {
        hits: Cell::new(0),
        factor: 3,
    };
    let message = panic_of(|| counted.total(10));
    assert!(
        message.contains("`self` changed while the loop") && message.contains("not loop state"),
        "{message}"
    );
    assert!(find_checkpoint(std::path::Path::new(".resumable"), "inputs-cell-self").is_none());
}

// ---------------------------------------------------------------------------------------------
// 2, 3. An `&AtomicU64` parameter the loop counts in: refused, also when a panic comes before
// the first periodic save (the failure's save goes through the same check).

static ATOMIC_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 100, name = "inputs-atomic", key = ())]
fn count_hits(n: u64, hits: &AtomicU64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        fail_point(&ATOMIC_FAIL, i);
        hits.fetch_add(1, SeqCst);
        sum += i;
    }
    sum
}

#[test]
fn an_atomic_parameter_changed_by_the_loop_is_never_saved_even_after_a_panic() {
    let path = fresh("inputs-atomic");
    let hits = AtomicU64::new(0);
    // A panic at 7, before the first periodic save at 100: the save after the failure is
    // refused too, so nothing is saved that a resume would get wrong.
    ATOMIC_FAIL.store(7, SeqCst);
    let message = panic_of(|| count_hits(200, &hits));
    ATOMIC_FAIL.store(u64::MAX, SeqCst);
    assert!(message.contains("injected failure at 7"), "{message}");
    assert!(!path.exists(), "a checkpoint was saved after the failure");
    // Without a failure, the first periodic save refuses.
    let message = panic_of(|| count_hits(200, &hits));
    assert!(
        message.contains("`hits` changed while the loop"),
        "{message}"
    );
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// 1. A call that finds no checkpoint of its own while the function has checkpoints for other
// keys says so as it starts (a real program, killed, then run with another input).

#[test]
fn a_call_without_its_own_checkpoint_names_the_other_keys() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = common::Scratch::new("other-keys");
    let squares = common::example("squares");
    let mut first = Command::new(&squares)
        .args(["4000", "2000"])
        .env("RESUMABLE_DIR", &dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn squares");
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::find_checkpoint(&dir.0, "squares.squares").is_none() {
        assert!(first.try_wait().unwrap().is_none(), "squares ended first");
        assert!(Instant::now() < deadline, "no checkpoint after 30 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap();
    first.wait().unwrap();

    // Another `n`: its own checkpoint, none yet, and the note names the one for 4000.
    let output = Command::new(&squares)
        .args(["3000", "0"])
        .env("RESUMABLE_DIR", &dir.0)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("has no checkpoint for this call's inputs (3000)")
            && stderr.contains("one checkpoint for other inputs: `4000`"),
        "{stderr}"
    );
    // The same `n` again resumes its own, with no such note.
    let output = Command::new(&squares)
        .args(["4000", "0"])
        .env("RESUMABLE_DIR", &dir.0)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("resuming") && !stderr.contains("other inputs"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. A binding the loop reads and moves on a way out (`return Err(name)`) is gone when a
// failure is handled: the failure saves nothing, the last checkpoint stands, and the resumed
// run gives the uninterrupted result.

static MOVED_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);
static MOVED_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 4, name = "inputs-moved", key = (), skip(MOVED_RUNS))]
fn lengths(items: &[String], name: String) -> Result<u64, String> {
    let mut total = 0u64;
    for (i, item) in items.iter().enumerate() {
        MOVED_RUNS.fetch_add(1, SeqCst);
        fail_point(&MOVED_FAIL, i as u64);
        if item.is_empty() {
            return Err(name);
        }
        total = total * 3 + item.len() as u64;
    }
    Ok(total)
}

#[test]
fn a_failure_after_a_watched_binding_may_move_keeps_the_last_checkpoint() {
    fresh("inputs-moved");
    let items: Vec<String> = (1..=10).map(|i| "x".repeat(i)).collect();
    let expected = lengths(&items, "list".into());
    MOVED_FAIL.store(6, SeqCst);
    panic_of(|| lengths(&items, "list".into()));
    MOVED_FAIL.store(u64::MAX, SeqCst);
    MOVED_RUNS.store(0, SeqCst);
    // Resumed from the checkpoint at 4 (the failure at 6 saved nothing): iterations 4 to 9.
    assert_eq!(lengths(&items, "list".into()), expected);
    assert_eq!(MOVED_RUNS.load(SeqCst), 6);
    assert_eq!(
        lengths(&[String::new()], "empty".into()),
        Err("empty".to_owned())
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A big argument in the checkpoint's label (and so in the resume line and the note naming
// other keys): its type, length and the start of its fingerprint, not its `Debug` text.

static BIG_FAIL: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 10, name = "inputs-big-argument")]
fn weighted(rows: &[f64], scale: f64) -> f64 {
    let mut total = 0.0;
    for (i, row) in rows.iter().enumerate() {
        fail_point(&BIG_FAIL, i as u64);
        total += row * scale;
    }
    total
}

#[test]
fn a_big_argument_is_summarised_in_the_key_text_and_still_tells_calls_apart() {
    fresh("inputs-big-argument");
    let rows: Vec<f64> = (0..100_000).map(|i| i as f64 * 0.5).collect();
    let expected = weighted(&rows, 2.0);
    BIG_FAIL.store(55, SeqCst);
    panic_of(|| weighted(&rows, 2.0));
    BIG_FAIL.store(u64::MAX, SeqCst);
    let path = find_checkpoint(std::path::Path::new(".resumable"), "inputs-big-argument")
        .expect("the failure saved a checkpoint");
    let info = resumable::inspect::inspect(&path);
    let key = info.key().expect("a key text").to_owned();
    // `rows = &[f64] of 100000 items #xxxxxxxx, scale = 2.0`
    let (rows_text, scale_text) = key.split_once(", scale = ").expect(&key);
    assert_eq!(scale_text, "2.0", "{key}");
    let hash = rows_text
        .strip_prefix("rows = &[f64] of 100000 items #")
        .expect(&key);
    assert!(
        hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    // The same rows resume; other rows of the same type and length are another call, with a
    // summary of their own.
    assert_eq!(weighted(&rows, 2.0), expected);
    let mut other = rows.clone();
    other[99_999] = 1.0;
    BIG_FAIL.store(12, SeqCst);
    panic_of(|| weighted(&other, 2.0));
    BIG_FAIL.store(u64::MAX, SeqCst);
    let path = find_checkpoint(std::path::Path::new(".resumable"), "inputs-big-argument")
        .expect("the failure saved a checkpoint");
    let other_key = resumable::inspect::inspect(&path).key().unwrap().to_owned();
    assert!(
        other_key.starts_with("rows = &[f64] of 100000 items #"),
        "{other_key}"
    );
    assert_ne!(other_key, key);
    assert_eq!(weighted(&other, 2.0), weighted_plain(&other, 2.0));
}

fn weighted_plain(rows: &[f64], scale: f64) -> f64 {
    rows.iter().map(|row| row * scale).sum::<f64>()
}
