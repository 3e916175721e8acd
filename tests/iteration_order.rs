//! Resuming skips the first `index` items, so the iterator must yield the same items in the
//! same order on every run: hash-ordered collections are refused on entry, and a resumed loop
//! whose iterator yields another item where it stopped is caught before any iteration runs.

mod common;

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{checkpoint, panic_of};
use resumable::resumable;

static MAP_RUNS: AtomicU64 = AtomicU64::new(0);

// The adapters are the point: a hash-ordered iterator is caught inside `Map<Enumerate<…>>` too.
#[allow(clippy::iter_kv_map, clippy::unused_enumerate_index)]
#[resumable(every = 10, name = "order-hashmap", key = (), skip(MAP_RUNS))]
fn total_of(prices: &HashMap<String, u64>) -> u64 {
    let mut total = 0;
    for (_, price) in prices.iter().enumerate().map(|(_, kv)| kv) {
        MAP_RUNS.fetch_add(1, SeqCst);
        total += price;
    }
    total
}

static SET_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10, name = "order-hashset", key = (), skip(SET_RUNS))]
fn count_of(words: HashSet<&'static str>) -> usize {
    let mut count = 0;
    for word in words {
        SET_RUNS.fetch_add(1, SeqCst);
        count += word.len();
    }
    count
}

#[test]
fn a_loop_over_a_hashmap_or_hashset_is_refused_before_any_iteration() {
    let prices: HashMap<String, u64> = [("a".into(), 1), ("b".into(), 2)].into();
    let text = panic_of(|| total_of(&prices));
    assert!(text.contains("hash-ordered collection"), "{text}");
    assert!(text.contains("BTreeMap"), "{text}");
    assert!(text.contains("hash::map::Iter"), "{text}");
    assert_eq!(MAP_RUNS.load(SeqCst), 0);

    let words: HashSet<&'static str> = ["x", "yy"].into();
    let text = panic_of(|| count_of(words));
    assert!(text.contains("hash-ordered collection"), "{text}");
    assert_eq!(SET_RUNS.load(SeqCst), 0);
}

static ORDER_RUNS: AtomicU64 = AtomicU64::new(0);

/// Sums `weight * position` over `names`, so the result depends on the order; asks the
/// library to stop after the item at `stop_after`, which saves at the next boundary.
#[resumable(every = 100, name = "order-changed", signals = false, key = (), skip(ORDER_RUNS))]
fn weighted(names: &[&str], stop_after: Option<usize>) -> u64 {
    let mut sum = 0u64;
    let mut position = 0u64;
    for name in names {
        ORDER_RUNS.fetch_add(1, SeqCst);
        position += 1;
        sum += position * name.len() as u64;
        if stop_after == Some(position as usize - 1) {
            resumable::request_stop();
        }
    }
    sum
}

#[test]
fn a_resumed_loop_whose_iterator_changed_order_is_caught_before_any_iteration() {
    let checkpoint = &checkpoint("order-changed");
    let _ = std::fs::remove_file(checkpoint);
    let original = ["a", "bb", "ccc", "dddd", "eeeee", "ffffff"];
    let uninterrupted = weighted(&original, None);
    ORDER_RUNS.store(0, SeqCst);

    // Stop after item 2: the checkpoint records 3 completed items and the next one, "dddd".
    let stopped = catch_unwind(AssertUnwindSafe(|| weighted(&original, Some(2)))).unwrap_err();
    let stopped = stopped
        .downcast::<resumable::Stopped>()
        .expect("a Stopped payload");
    assert_eq!(stopped.index, 3);
    assert_eq!(ORDER_RUNS.swap(0, SeqCst), 3);
    let saved = std::fs::read(checkpoint).unwrap();

    // Same items, another order: the item at position 3 differs, so resuming is refused.
    let shuffled = ["bb", "a", "ccc", "eeeee", "dddd", "ffffff"];
    let text = panic_of(|| weighted(&shuffled, None));
    assert!(text.contains("order changed between runs"), "{text}");
    assert_eq!(ORDER_RUNS.swap(0, SeqCst), 0, "no iteration may run");
    assert_eq!(
        std::fs::read(checkpoint).unwrap(),
        saved,
        "the checkpoint must be untouched"
    );

    // The original order resumes at item 3 and returns the uninterrupted result.
    assert_eq!(weighted(&original, None), uninterrupted);
    assert_eq!(ORDER_RUNS.swap(0, SeqCst), 3);
    assert!(!checkpoint.exists());
}

static FLOAT_RUNS: AtomicU64 = AtomicU64::new(0);
static FLOAT_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Items that are not `Hash` (floats), an order that came from a hash map, and a failure
/// checkpoint (which holds no fingerprint of its own: the item it failed on is gone).
#[resumable(every = 2, name = "order-floats-failure", key = (), skip(FLOAT_RUNS))]
fn weighted_prices(prices: &[(String, f64)]) -> Result<f64, String> {
    let mut sum = 0.0;
    for (position, (name, price)) in prices.iter().enumerate() {
        FLOAT_RUNS.fetch_add(1, SeqCst);
        if FLOAT_FAIL_AT.load(SeqCst) == position as u64 {
            return Err(format!("no price for {name}"));
        }
        sum += (position as f64 + 1.0) * price;
    }
    Ok(sum)
}

#[test]
fn an_order_change_is_caught_for_items_without_hash_and_after_a_failure() {
    let checkpoint = &checkpoint("order-floats-failure");
    let _ = std::fs::remove_file(checkpoint);
    let original: Vec<(String, f64)> = (0..8).map(|i| (format!("p{i}"), i as f64 * 1.5)).collect();
    let uninterrupted = weighted_prices(&original).unwrap();
    FLOAT_RUNS.store(0, SeqCst);
    // Fails at item 5, before touching the state: saved at 5, with no fingerprint of item 5;
    // the periodic checkpoint at 4 holds one of item 4.
    FLOAT_FAIL_AT.store(5, SeqCst);
    assert!(weighted_prices(&original).is_err());
    assert_eq!(common::saved_index(checkpoint), Some(5));
    FLOAT_FAIL_AT.store(u64::MAX, SeqCst);
    let saved = std::fs::read(checkpoint).unwrap();
    // The same prices in another order (as a Vec collected from a HashMap would be).
    let mut shuffled = original.clone();
    shuffled.swap(4, 1);
    FLOAT_RUNS.store(0, SeqCst);
    let text = panic_of(|| weighted_prices(&shuffled));
    assert!(text.contains("order changed between runs"), "{text}");
    assert!(text.contains("at iteration 4"), "{text}");
    assert_eq!(FLOAT_RUNS.load(SeqCst), 0, "no iteration may run");
    assert_eq!(std::fs::read(checkpoint).unwrap(), saved, "untouched");
    // The original order resumes at item 5.
    assert_eq!(weighted_prices(&original).unwrap(), uninterrupted);
    assert_eq!(FLOAT_RUNS.swap(0, SeqCst), 3);
    assert!(!checkpoint.exists());
}
