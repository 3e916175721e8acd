//! Damage in the middle of a log is never taken for a crash's torn tail. A byte flipped in
//! the length field of a record in the middle of a log of 31 makes that record run past the
//! end of the file, as a record a crash cut short does; the well-formed records after it show
//! it is damage. The run warns, naming the file, the damaged record, the index it falls back
//! to and how many iterations that loses; keeps the damaged bytes aside, as they were; and
//! returns what an uninterrupted run returns.
//!
//! The resumed run is a child process (this binary's ignored `child` test) so that its stderr
//! can be read.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, panic_of, saved_index, take};
use resumable::resumable;

static RUNS: AtomicU64 = AtomicU64::new(0);

const N: u64 = 5000;

#[resumable(every = 100, name = "damage-middle", key = (), skip(RUNS))]
fn digest(n: u64, panic_at: Option<u64>) -> (u64, Vec<u64>) {
    let mut total = 0u64;
    let mut seen = Vec::new();
    for i in 0..n {
        RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        total = total.wrapping_mul(31).wrapping_add(i);
        seen.push(i % 7);
    }
    (total, seen)
}

fn result_line(result: &(u64, Vec<u64>), runs: u64) -> String {
    let (total, seen) = result;
    format!(
        "result {total} {} {} runs {runs}",
        seen.len(),
        seen.iter().sum::<u64>()
    )
}

/// Run as a child process only (see the module docs): resumes `digest(N)` and prints its
/// result and how many iterations ran.
#[test]
#[ignore = "a child process of the other test"]
fn child() {
    let result = digest(N, None);
    println!("{}", result_line(&result, take(&RUNS)));
}

/// Where each record of a version-3 log starts (its first frame) and what its first frame's
/// length field says, walking the frames: `[u64 LE length][kind][…][CRC-32C]`, kind 1 the
/// head that ends a record, 2 an abort that drops the data frames before it.
fn record_starts(log: &[u8]) -> Vec<usize> {
    assert_eq!(&log[..8], b"RESUMABL");
    assert_eq!(u32::from_le_bytes(log[8..12].try_into().unwrap()), 3);
    let meta_len = u32::from_le_bytes(log[12..16].try_into().unwrap()) as usize;
    let mut at = 16 + meta_len + 4;
    let mut starts = Vec::new();
    let mut record_start = at;
    while at < log.len() {
        let len = u64::from_le_bytes(log[at..at + 8].try_into().unwrap()) as usize;
        let kind = log[at + 8];
        at += 8 + len + 4;
        match kind {
            1 => {
                starts.push(record_start);
                record_start = at;
            }
            2 => record_start = at,
            _ => {}
        }
    }
    assert_eq!(at, log.len(), "the frames end the file");
    starts
}

fn set_aside(path: &Path) -> Vec<PathBuf> {
    let prefix = format!("{}.damaged-", path.file_name().unwrap().to_str().unwrap());
    let Ok(entries) = fs::read_dir(path.parent().unwrap()) else {
        return Vec::new();
    };
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&prefix)
        })
        .collect()
}

#[test]
fn a_flipped_length_in_the_middle_of_a_log_is_damage_kept_aside_and_the_run_warns() {
    let path = fresh("damage-middle");
    for stale in set_aside(&path) {
        fs::remove_file(stale).unwrap();
    }
    let uninterrupted = digest(N, None);
    assert_eq!(take(&RUNS), N);
    assert!(!path.exists());

    // Records at 100, 200, …, 3000, and 3050 where the loop failed.
    panic_of(|| digest(N, Some(3050)));
    take(&RUNS);
    assert_eq!(saved_index(&path), Some(3050));
    let mut bytes = fs::read(&path).unwrap();
    let starts = record_starts(&bytes);
    assert_eq!(starts.len(), 31, "one log, every record in it");

    // The record of index 1500: its first frame's length grows by 1 MiB, past the end of
    // the file, as a record a crash cut short would. Index 1400 is the last intact one.
    let at = starts[14];
    bytes[at + 2] ^= 0x10;
    fs::write(&path, &bytes).unwrap();

    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--ignored", "--nocapture"])
        .env("RUST_BACKTRACE", "0")
        .env_remove("RESUMABLE_DIR")
        .env_remove("RESUMABLE_RESET")
        .env_remove("RESUMABLE_STORE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    // The right result, from index 1400: iterations 1400..5000 ran.
    assert!(
        stdout.contains(&result_line(&uninterrupted, N - 1400)),
        "{stdout}{stderr}"
    );
    let warning = stderr
        .lines()
        .find(|line| line.starts_with("resumable: warning:"))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    for says in [
        "damage-middle.ckpt is damaged",
        &format!("the record at byte {at} of {} ", bytes.len()),
        "damaged in the middle",
        "falls back to index 1400",
        "loses 1650 iterations",
        ".damaged-",
    ] {
        assert!(warning.contains(says), "says {says:?}: {warning}");
    }
    assert!(
        stderr.contains("resuming digest at iteration 1400"),
        "{stderr}"
    );

    // The damaged bytes are kept, as they were; the job's own files are gone.
    let aside = set_aside(&path);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(
        warning.contains(&aside[0].display().to_string()),
        "{warning}"
    );
    assert_eq!(fs::read(&aside[0]).unwrap(), bytes);
    fs::remove_file(&aside[0]).unwrap();
    assert!(!path.exists());
}
