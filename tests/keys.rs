//! `key = expr`: one checkpoint per value of the key, so a call with other arguments never
//! resumes another call's state; the checkpoint records its key, and a file of another key is
//! refused with both keys named.

mod common;

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{panic_of, take};
use resumable::resumable;

static KEYED_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 5, name = "keys-sum", key = (n, tag), skip(KEYED_RUNS))]
fn weighted_sum(n: u64, tag: &str, panic_at: Option<u64>) -> u64 {
    let weight = tag.len() as u64;
    let mut sum = 0u64;
    for i in 0..n {
        KEYED_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i * weight;
    }
    sum
}

/// The checkpoint files of `keys-sum`, one per key.
fn keyed_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(".resumable")
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().path())
                .filter(|path| {
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    name.starts_with("keys-sum-") && name.ends_with(".ckpt")
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn each_key_has_its_own_checkpoint_and_a_file_of_another_key_is_refused() {
    for file in keyed_files() {
        fs::remove_file(file).unwrap();
    }
    let a = weighted_sum(30, "ab", None);
    let b = weighted_sum(20, "abc", None);
    take(&KEYED_RUNS);

    // Key (30, "ab") fails at 12 and keeps its checkpoint.
    panic_of(|| weighted_sum(30, "ab", Some(12)));
    assert_eq!(take(&KEYED_RUNS), 13);
    let files = keyed_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let file_a = files[0].clone();

    // Another key starts from the beginning, in a file of its own.
    panic_of(|| weighted_sum(20, "abc", Some(7)));
    assert_eq!(
        take(&KEYED_RUNS),
        8,
        "key (20, \"abc\") did not resume key (30, \"ab\")"
    );
    let files = keyed_files();
    assert_eq!(files.len(), 2, "{files:?}");
    let file_b = files.into_iter().find(|file| *file != file_a).unwrap();

    // A file of key A where key B's belongs is refused, naming both keys, and left as it is.
    let saved_b = fs::read(&file_b).unwrap();
    fs::copy(&file_a, &file_b).unwrap();
    let text = panic_of(|| weighted_sum(20, "abc", None));
    assert!(
        text.contains(r#"it was saved for key (30, "ab"), and this run's key is (20, "abc")"#),
        "{text}"
    );
    assert_eq!(take(&KEYED_RUNS), 0);
    assert_eq!(fs::read(&file_b).unwrap(), fs::read(&file_a).unwrap());
    fs::write(&file_b, saved_b).unwrap();

    // Each key resumes its own state and returns what an uninterrupted call returns.
    assert_eq!(weighted_sum(20, "abc", None), b);
    assert_eq!(take(&KEYED_RUNS), 13, "iterations 7..20");
    assert_eq!(weighted_sum(30, "ab", None), a);
    assert_eq!(take(&KEYED_RUNS), 18, "iterations 12..30");
    assert_eq!(keyed_files(), Vec::<PathBuf>::new());
}
