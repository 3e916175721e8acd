//! Random number generators as loop state (issue 26): the two ways the refusal of a generator
//! that does not serialize (`rand::rngs::StdRng`) points to both resume to the uninterrupted
//! run's result, bit for bit. The refusal itself: `tests/ui/non-serializable-state.rs` and
//! `tests/ui/progress-not-state.rs`.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{find_checkpoint, fresh, panic_of, saved_index, take};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use resumable::resumable;

/// Fails the iteration with this index, if set (`u64::MAX`: none): a static, so that the
/// failing call and the call that resumes it have the same key.
static KEPT_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static RESEEDED_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
/// Iterations run, so that a test can tell a resume from a fresh start that agrees with it.
static KEPT_RUNS: AtomicU64 = AtomicU64::new(0);
static RESEEDED_RUNS: AtomicU64 = AtomicU64::new(0);

/// The index of `name`'s checkpoint.
fn saved(name: &str) -> Option<u64> {
    saved_index(&find_checkpoint(std::path::Path::new(".resumable"), name)?)
}

/// The generator as state: `rand_chacha`'s `ChaCha8Rng` with its `serde` feature saves its
/// seed, stream and position, so the draws after a resume are the ones an uninterrupted run
/// makes.
#[resumable(every = 7, name = "rngs-kept", skip(KEPT_RUNS))]
fn draws_kept(n: u64) -> (u64, Vec<u64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut total = 0u64;
    let mut picked = Vec::new();
    for i in 0..n {
        KEPT_RUNS.fetch_add(1, SeqCst);
        if KEPT_FAIL_AT.load(SeqCst) == i {
            panic!("failing iteration {i}");
        }
        let draw = rng.next_u64();
        total = total.wrapping_add(draw);
        if draw % 5 == 0 {
            picked.push(i);
        }
    }
    (total, picked)
}

/// A fresh generator in each iteration, seeded from the iteration (per-epoch reseeding): no
/// iteration depends on the draws of the ones before, so the generator is not state at all.
#[resumable(every = 7, name = "rngs-reseeded", skip(RESEEDED_RUNS))]
fn draws_reseeded(epochs: u64) -> Vec<u64> {
    let mut best = Vec::new();
    for epoch in 0..epochs {
        RESEEDED_RUNS.fetch_add(1, SeqCst);
        if RESEEDED_FAIL_AT.load(SeqCst) == epoch {
            panic!("failing epoch {epoch}");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(42 ^ epoch);
        best.push((0..16).map(|_| rng.next_u64() % 1000).max().unwrap());
    }
    best
}

#[test]
fn a_serializable_generator_resumes_to_the_same_draws() {
    fresh("rngs-kept");
    let uninterrupted = draws_kept(100);
    fresh("rngs-kept");
    // Iteration 40 fails before it draws: the failure saves the state as iteration 40 found
    // it, and the resumed run draws the 41st number on, not a fresh generator's first.
    KEPT_FAIL_AT.store(40, SeqCst);
    let message = panic_of(|| draws_kept(100));
    assert!(message.contains("failing iteration 40"), "{message}");
    assert_eq!(saved("rngs-kept"), Some(40));
    KEPT_FAIL_AT.store(u64::MAX, SeqCst);
    take(&KEPT_RUNS);
    assert_eq!(draws_kept(100), uninterrupted);
    assert_eq!(
        take(&KEPT_RUNS),
        60,
        "the resumed run runs iterations 40 to 99 only"
    );
}

#[test]
fn a_generator_seeded_in_each_iteration_resumes_to_the_same_draws() {
    fresh("rngs-reseeded");
    let uninterrupted = draws_reseeded(50);
    fresh("rngs-reseeded");
    RESEEDED_FAIL_AT.store(23, SeqCst);
    let message = panic_of(|| draws_reseeded(50));
    assert!(message.contains("failing epoch 23"), "{message}");
    assert_eq!(saved("rngs-reseeded"), Some(23));
    RESEEDED_FAIL_AT.store(u64::MAX, SeqCst);
    take(&RESEEDED_RUNS);
    assert_eq!(draws_reseeded(50), uninterrupted);
    assert_eq!(
        take(&RESEEDED_RUNS),
        27,
        "the resumed run runs epochs 23 to 49 only"
    );
}
