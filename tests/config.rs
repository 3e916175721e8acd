//! `resumable::Config`: the directory and the store set in code are where a run's checkpoints
//! go and come back from, and the environment wins over them. One test, as the settings are
//! the whole process's.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use common::Scratch;
use resumable::{Config, resumable};

/// Iterations run by `count` since the last reset.
static RAN: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10, name = "config-count", key = (), skip(RAN))]
fn count(n: u64, panic_at: Option<u64>) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        RAN.fetch_add(1, Ordering::Relaxed);
        sum += i * i;
    }
    sum
}

fn uninterrupted(n: u64) -> u64 {
    (0..n).map(|i| i * i).sum()
}

#[test]
fn the_directory_and_the_store_set_in_code_are_used_and_the_environment_wins() {
    let env_dir = std::env::var_os("RESUMABLE_DIR").filter(|dir| !dir.is_empty());
    let env_store = std::env::var_os("RESUMABLE_STORE").filter(|url| !url.is_empty());
    assert!(
        env_store.is_none(),
        "run this test without RESUMABLE_STORE set"
    );

    // The directory: the checkpoint is written there (or in RESUMABLE_DIR, which wins), and
    // the second run resumes from it at 37.
    let dir = Scratch::new("config-dir");
    Config::new().dir(&dir.0).apply().unwrap();
    let expected_dir = env_dir.clone().map_or(dir.0.clone(), Into::into);
    assert_eq!(Config::current().dir, expected_dir);
    let stopped = catch_unwind(AssertUnwindSafe(|| count(100, Some(37))));
    assert!(stopped.is_err());
    let file = expected_dir.join("config-count.ckpt");
    assert_eq!(
        resumable::__private::saved_index(&file),
        Some(37),
        "no checkpoint at 37 in {}",
        file.display()
    );
    RAN.store(0, Ordering::Relaxed);
    assert_eq!(count(100, None), uninterrupted(100));
    assert_eq!(RAN.load(Ordering::Relaxed), 63, "resumed at 37");

    // The store, set in code: a machine's run stops at 37 and uploads its checkpoint; the
    // machine is lost (a new directory); a run there resumes from the store at 37.
    if env_dir.is_some() {
        return; // the directory cannot be changed under RESUMABLE_DIR: the rest needs it
    }
    let store = Scratch::new("config-store");
    let url = format!("file://{}", store.0.display());
    let machine_a = Scratch::new("config-machine-a");
    Config::new().dir(&machine_a.0).store(&url).apply().unwrap();
    assert_eq!(Config::current().store.as_deref(), Some(url.as_str()));
    let stopped = catch_unwind(AssertUnwindSafe(|| count(100, Some(37))));
    assert!(stopped.is_err());
    drop(machine_a);
    let commits = store.0.join("config-count.ckpt").join("commits");
    assert!(
        std::fs::read_dir(&commits).is_ok_and(|mut entries| entries.next().is_some()),
        "nothing committed in {}",
        commits.display()
    );
    let machine_b = Scratch::new("config-machine-b");
    Config::new().dir(&machine_b.0).store(&url).apply().unwrap();
    RAN.store(0, Ordering::Relaxed);
    assert_eq!(count(100, None), uninterrupted(100));
    assert_eq!(
        RAN.load(Ordering::Relaxed),
        63,
        "the run on a new machine resumed from the store at 37"
    );

    // The finished job left no data on the store.
    let data = store.0.join("config-count.ckpt").join("data");
    let left = std::fs::read_dir(&data).map_or(0, |entries| entries.count());
    assert_eq!(left, 0, "data left in {}", data.display());
    Config::new().apply().unwrap();
}
