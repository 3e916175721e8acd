//! `#[resumable]` on methods: a `&mut self` method's `*self` is state, restored after a
//! failure; `&self` is not state; generic impls get a checkpoint per instantiation.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{panic_of, take};
use resumable::resumable;
use serde::{Deserialize, Serialize};

static COUNTER_RUNS: AtomicU64 = AtomicU64::new(0);
static SHARED_RUNS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Counter<T> {
    total: T,
    seen: Vec<u64>,
}

impl<T: Copy + std::ops::AddAssign + From<u8> + Serialize + serde::de::DeserializeOwned>
    Counter<T>
{
    /// `*self` is the state; `panic_at` fails one iteration.
    #[resumable(every = 4, key = (), skip(COUNTER_RUNS))]
    fn add_up(&mut self, n: u64, panic_at: Option<u64>) {
        for i in 0..n {
            COUNTER_RUNS.fetch_add(1, SeqCst);
            if panic_at == Some(i) {
                panic!("injected failure at {i}");
            }
            self.total += T::from((i % 200) as u8);
            self.seen.push(i);
        }
    }

    /// `&self` is not state: only `sum`.
    #[resumable(every = 3, name = "methods-shared", key = (), skip(SHARED_RUNS))]
    fn scaled(&self, n: u64, panic_at: Option<u64>) -> u64 {
        let mut sum = 0u64;
        for i in 0..n {
            SHARED_RUNS.fetch_add(1, SeqCst);
            if panic_at == Some(i) {
                panic!("injected failure at {i}");
            }
            sum += i * self.seen.len() as u64;
        }
        sum
    }
}

fn fresh_counter<T: From<u8>>() -> Counter<T> {
    Counter {
        total: T::from(0),
        seen: Vec::new(),
    }
}

#[test]
fn a_mut_self_method_restores_self_and_each_instantiation_has_its_own_checkpoint() {
    let _ = resumable::remove(".resumable/methods.Counter_u64_.add_up.ckpt");
    let mut uninterrupted = fresh_counter::<u64>();
    uninterrupted.add_up(30, None);
    take(&COUNTER_RUNS);

    // Fails at 17 with `*self` as iterations 0..17 left it, saved.
    let mut first = fresh_counter::<u64>();
    panic_of(std::panic::AssertUnwindSafe(|| first.add_up(30, Some(17))));
    assert_eq!(take(&COUNTER_RUNS), 18);

    // Another instantiation (`Counter<u32>`) does not see `Counter<u64>`'s checkpoint.
    let mut other = fresh_counter::<u32>();
    other.add_up(30, None);
    assert_eq!(take(&COUNTER_RUNS), 30);
    assert_eq!(other.seen, uninterrupted.seen);

    // A fresh `Counter<u64>` resumes: `*self` is restored, iterations 17..30 run.
    let mut resumed = fresh_counter::<u64>();
    resumed.add_up(30, None);
    assert_eq!(take(&COUNTER_RUNS), 13);
    assert_eq!(resumed, uninterrupted);
}

#[test]
fn a_shared_self_method_saves_only_its_bindings() {
    let counter = Counter {
        total: 0u64,
        seen: vec![1, 2, 3],
    };
    let uninterrupted = counter.scaled(20, None);
    take(&SHARED_RUNS);
    panic_of(|| counter.scaled(20, Some(9)));
    assert_eq!(counter.scaled(20, None), uninterrupted);
    assert_eq!(take(&SHARED_RUNS), 10 + 11);
}

/// A value that only decodes when even: the round trip at the first checkpoint passes, a later
/// checkpoint holds an odd one, which the resume cannot decode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "u64")]
struct Even(u64);

impl TryFrom<u64> for Even {
    type Error = String;
    fn try_from(value: u64) -> Result<Even, String> {
        match value % 2 {
            0 => Ok(Even(value)),
            _ => Err(format!("{value} is odd")),
        }
    }
}

/// `values`, a `&mut` parameter, is state. (Not a method: a derived struct has no in-place
/// decode, a `Vec` has, and it is what could be left half-restored.)
#[resumable(every = 4, name = "methods-evens", key = ())]
fn fill(values: &mut Vec<Even>, n: u64, panic_at: u64) {
    for i in 0..n {
        if i == panic_at {
            panic!("injected failure at {i}");
        }
        // Even values until 6, then one odd one: the checkpoint at 8 holds it.
        values.push(Even(if i == 6 { 7 } else { 2 * i }));
    }
}

/// A checkpoint that does not decode leaves the caller's `&mut` state as it came in (as for
/// `*self`): the refusal is the panic, and the value beside it is not half-restored.
#[test]
fn a_checkpoint_that_does_not_decode_leaves_the_callers_value_as_it_was() {
    let dir = common::fresh("methods-evens");
    let entry: Vec<Even> = (0..20).map(|i| Even(100 + 2 * i)).collect();
    let mut first = entry.clone();
    panic_of(|| fill(&mut first, 10, 9));
    assert!(resumable::__private::saved_index(&dir).is_some_and(|index| index >= 8));
    let mut again = entry.clone();
    let refused =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fill(&mut again, 10, 99)));
    assert!(
        refused.is_err(),
        "the checkpoint holds an odd value: it cannot decode"
    );
    assert_eq!(again, entry, "the caller's value is as it came in");
    resumable::remove(&dir).unwrap();
}
