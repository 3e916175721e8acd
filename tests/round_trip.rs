//! State that does not survive its own serialization is refused at the first checkpoint of a
//! run, naming the binding (and the field where it can), and that checkpoint is not written:
//! a `#[serde(skip)]` field (back as its default), a `skip_serializing_if` (bytes a resume
//! cannot decode), a list deeper than a resume decodes. Without the check each of these saves
//! happily and the resume, hours later, refuses or goes on with another value.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{checkpoint, fresh, panic_of};
use resumable::resumable;
use serde::{Deserialize, Serialize};

/// The index of the newest checkpoint `name`, if there is one.
fn saved(name: &str) -> Option<u64> {
    common::saved_index(&checkpoint(name))
}

// ---------------------------------------------------------------------------------------------
// `#[serde(skip)]`: compared with `PartialEq`, the field named through `Debug`.

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Tally {
    total: u64,
    #[serde(skip)]
    seen: u64,
}

#[resumable(every = 3, name = "round-trip-skip", key = ())]
fn tally(n: u64) -> u64 {
    let mut tally = Tally::default();
    for i in 0..n {
        tally.total += i;
        tally.seen += 1;
    }
    tally.total * 1000 + tally.seen
}

#[test]
fn a_skipped_field_is_refused_at_the_first_checkpoint() {
    let path = fresh("round-trip-skip");
    let text = panic_of(|| tally(10));
    assert!(text.contains("state `tally`"), "{text}");
    assert!(text.contains("field `seen` (of `Tally`)"), "{text}");
    assert!(text.contains("compared with `PartialEq`"), "{text}");
    assert!(text.contains("no checkpoint was saved yet"), "{text}");
    assert_eq!(saved("round-trip-skip"), None, "nothing was written");
    assert!(!path.exists() || resumable::inspect::inspect(&path).newest.is_none());
}

/// The same through `Debug` alone (no `PartialEq`), as a `Result` the function returns.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    hits: u64,
    #[serde(skip)]
    warm: Vec<u64>,
}

#[derive(Debug)]
enum JobError {
    Checkpoint(resumable::Error),
}

impl From<resumable::Error> for JobError {
    fn from(err: resumable::Error) -> Self {
        JobError::Checkpoint(err)
    }
}

#[resumable(every = 4, name = "round-trip-debug", key = ())]
fn cached(n: u64) -> Result<u64, JobError> {
    let mut cache = Cache::default();
    for i in 0..n {
        cache.hits += 1;
        cache.warm.push(i);
    }
    Ok(cache.hits + cache.warm.len() as u64)
}

#[test]
fn a_skipped_field_is_found_through_debug_and_returned_as_the_error() {
    fresh("round-trip-debug");
    match cached(10) {
        Err(JobError::Checkpoint(err @ resumable::Error::NotRoundTrip { .. })) => {
            let text = err.to_string();
            assert!(text.contains("state `cache`"), "{text}");
            assert!(text.contains("field `warm` (of `Cache`)"), "{text}");
            assert!(text.contains("compared by its `Debug` text"), "{text}");
        }
        other => panic!("expected the refusal, got {other:?}"),
    }
    assert_eq!(saved("round-trip-debug"), None);
}

// ---------------------------------------------------------------------------------------------
// `skip_serializing_if`: the bytes do not decode; the field is named by what skipped it. Its
// type has neither `PartialEq` nor `Debug`: no comparison is needed to see this one.

#[derive(Default, Serialize, Deserialize)]
struct Batch {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pending: Vec<String>,
    done: String,
}

static PANIC_AT_3: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "round-trip-skip-if", key = ())]
fn batches(n: u64) -> String {
    let mut batch = Batch::default();
    for i in 0..n {
        if i == 3 && PANIC_AT_3.load(SeqCst) == 1 {
            panic!("stop here");
        }
        batch.pending.push(format!("job {i}"));
        // At iteration 4 the pending jobs are done: the list is empty again.
        if i == 4 {
            batch.done.push_str(&batch.pending.join(","));
            batch.pending.clear();
        }
    }
    batch.done
}

#[test]
fn a_field_skipped_when_empty_is_refused_and_the_last_good_checkpoint_stays() {
    let path = fresh("round-trip-skip-if");
    // Run 1: its first checkpoint, at 2, holds two pending jobs: it round-trips. The panic at
    // the start of iteration 3 saves there.
    PANIC_AT_3.store(1, SeqCst);
    panic_of(|| batches(10));
    assert_eq!(saved("round-trip-skip-if"), Some(3));
    let before = std::fs::read(&path).unwrap();
    // Run 2 resumes at 3; its first checkpoint, at 5, holds an empty `pending` (cleared in
    // iteration 4), which a resume could not decode: refused, and the checkpoint at 3 stays
    // as it was.
    PANIC_AT_3.store(0, SeqCst);
    let text = panic_of(|| batches(10));
    assert!(text.contains("state `batch`"), "{text}");
    assert!(
        text.contains("field `pending` of `Batch` was left out"),
        "{text}"
    );
    assert!(text.contains("skip_serializing_if"), "{text}");
    assert!(
        text.contains("the last good checkpoint is intact"),
        "{text}"
    );
    assert_eq!(saved("round-trip-skip-if"), Some(3));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "nothing was appended"
    );
}

// ---------------------------------------------------------------------------------------------
// A 200-node `Option<Box<Node>>` list: deeper than the depth limit a resume decodes through.

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Node {
    value: u64,
    next: Option<Box<Node>>,
}

#[resumable(every = 250, name = "round-trip-deep", key = ())]
fn linked(n: u64) -> u64 {
    let mut list: Option<Box<Node>> = None;
    for i in 0..n {
        list = Some(Box::new(Node {
            value: i,
            next: list.take(),
        }));
    }
    sum(&list)
}

fn sum(mut at: &Option<Box<Node>>) -> u64 {
    let mut sum = 0;
    while let Some(node) = at {
        sum += node.value;
        at = &node.next;
    }
    sum
}

#[test]
fn a_list_deeper_than_a_resume_decodes_is_refused() {
    fresh("round-trip-deep");
    let text = panic_of(|| linked(300));
    assert!(text.contains("state `list`"), "{text}");
    assert!(text.contains("nests deeper than the 128 levels"), "{text}");
    assert_eq!(saved("round-trip-deep"), None);
}

// ---------------------------------------------------------------------------------------------
// What round-trips is not refused: a NaN (not equal to itself: compared by `Debug` instead),
// and a run that then resumes to the uninterrupted result.

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Mean {
    sum: f64,
    count: u64,
}

static MEAN_PANIC: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 2, name = "round-trip-nan", key = ())]
fn mean(n: u64) -> String {
    let mut mean = Mean {
        sum: f64::NAN,
        count: 0,
    };
    for i in 0..n {
        if i == MEAN_PANIC.load(SeqCst) {
            panic!("stop here");
        }
        mean.sum += i as f64;
        mean.count += 1;
    }
    format!("{:?}", mean)
}

#[test]
fn a_nan_is_not_refused_and_resumes() {
    fresh("round-trip-nan");
    let uninterrupted = mean(7);
    MEAN_PANIC.store(5, SeqCst);
    panic_of(|| mean(7));
    assert_eq!(saved("round-trip-nan"), Some(5));
    MEAN_PANIC.store(u64::MAX, SeqCst);
    assert_eq!(mean(7), uninterrupted);
}

/// A hash table lists its entries in an order of each copy's own: a type with `Debug` and no
/// `PartialEq` that holds one is not refused for a `Debug` text in another order.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    counts: std::collections::HashMap<String, u64>,
}

static INDEX_PANIC: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 8, name = "round-trip-hashed", key = ())]
fn index(n: u64) -> Vec<(String, u64)> {
    let mut index = Index::default();
    for i in 0..n {
        if i == INDEX_PANIC.load(SeqCst) {
            panic!("stop here");
        }
        *index.counts.entry(format!("word {}", i % 50)).or_default() += i;
    }
    let mut counts: Vec<(String, u64)> = index.counts.into_iter().collect();
    counts.sort();
    counts
}

#[test]
fn a_hash_table_in_another_order_is_not_refused() {
    fresh("round-trip-hashed");
    let uninterrupted = index(200);
    INDEX_PANIC.store(150, SeqCst);
    panic_of(|| index(200));
    assert_eq!(saved("round-trip-hashed"), Some(150));
    INDEX_PANIC.store(u64::MAX, SeqCst);
    assert_eq!(index(200), uninterrupted);
}
