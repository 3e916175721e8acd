//! `crate = path`: a program that renamed the dependency (here `checkpointing`, so that
//! `::resumable` names nothing in this crate) uses the attribute, and its loop checkpoints
//! and resumes. Without `crate = checkpointing` these functions would not compile.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use checkpointing::resumable;

static RAN: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10, name = "renamed-count", key = (), crate = checkpointing, skip(RAN))]
fn count(n: u64, panic_at: Option<u64>) -> Result<u64, checkpointing::Error> {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        RAN.fetch_add(1, Ordering::Relaxed);
        sum += i * i;
    }
    Ok(sum)
}

/// serde's spelling, a string, works too; and a nest, whose expansion is its own.
#[resumable(every = 3, inner = 'rows, key = (), crate = "checkpointing")]
fn grid(rows: u64, cols: u64) -> u64 {
    let mut total = 0u64;
    for r in 0..rows {
        'rows: for c in 0..cols {
            total += r * cols + c;
        }
    }
    total
}

#[test]
fn a_renamed_runtime_crate_checkpoints_and_resumes() {
    let dir = std::env::temp_dir().join(format!("resumable-renamed-{}", std::process::id()));
    checkpointing::Config::new().dir(&dir).apply().unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| count(100, Some(37)))).is_err());
    RAN.store(0, Ordering::Relaxed);
    let expected: u64 = (0..100u64).map(|i| i * i).sum();
    assert_eq!(count(100, None).unwrap(), expected);
    assert_eq!(RAN.load(Ordering::Relaxed), 63, "it did not resume at 37");
    assert_eq!(grid(4, 5), (0..20).sum::<u64>());
    let _ = std::fs::remove_dir_all(&dir);
}
