//! Runtime errors as values: in a function returning `Result<T, E>` with
//! `E: From<resumable::Error>`, a held checkpoint, one that cannot be loaded, an iterator that
//! does not yield what the saved run's did, and a failed save come back as `Err`, with the
//! checkpoint untouched; a function whose error type does not take them panics as before.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::scratch;
use resumable::resumable;

/// The user's own error type, as a `thiserror` enum with `#[from]` would be.
#[derive(Debug)]
enum JobError {
    Checkpoint(resumable::Error),
}

impl From<resumable::Error> for JobError {
    fn from(err: resumable::Error) -> Self {
        JobError::Checkpoint(err)
    }
}

#[resumable(every = 10, name = "values-own", key = ())]
fn own_error(n: u64, panic_at: Option<u64>) -> Result<u64, JobError> {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i * i;
    }
    Ok(sum)
}

#[resumable(every = 10, name = "values-anyhow", key = ())]
fn with_anyhow(n: u64, panic_at: Option<u64>) -> anyhow::Result<u64> {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i;
    }
    Ok(sum)
}

/// `String` does not take a `resumable::Error`: the panic it always was.
#[resumable(every = 10, name = "values-string", key = ())]
fn string_error(n: u64, panic_at: Option<u64>) -> Result<u64, String> {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i;
    }
    Ok(sum)
}

/// Breaks its promise to only append at `shrink_at`: that save fails.
#[resumable(every = 10, name = "values-append", append(results), key = ())]
fn shrinking(n: u64, shrink_at: u64) -> Result<usize, JobError> {
    let mut results: Vec<u64> = Vec::new();
    for i in 0..n {
        if i == shrink_at {
            results.clear();
        }
        results.push(i);
    }
    Ok(results.len())
}

/// A nest, checkpointed every 3 inner iterations; panics at `(row, col)`.
#[resumable(every = 3, name = "values-nest", inner = 'cols, key = ())]
fn nest(rows: u64, cols: u64, panic_at: Option<(u64, u64)>) -> anyhow::Result<u64> {
    let mut total = 0u64;
    for r in 0..rows {
        'cols: for c in 0..cols {
            if panic_at == Some((r, c)) {
                panic!("injected failure at {r}, {c}");
            }
            total += r * cols + c;
        }
    }
    Ok(total)
}

/// A `Result` whose `Ok` type is `impl Trait` (it compiled only without the attribute).
#[resumable(every = 10, name = "values-impl", key = ())]
fn squares_iter(n: u64, panic_at: Option<u64>) -> anyhow::Result<impl Iterator<Item = u64>> {
    let mut squares = Vec::new();
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        squares.push(i * i);
    }
    Ok(squares.into_iter())
}

fn with_dir<T>(dir: &Path, run: impl FnOnce() -> T) -> T {
    // RESUMABLE_DIR wins over the configuration: these tests need their own directory.
    assert!(
        std::env::var_os("RESUMABLE_DIR").is_none_or(|dir| dir.is_empty()),
        "run these tests without RESUMABLE_DIR"
    );
    resumable::Config::new().dir(dir).apply().unwrap();
    run()
}

/// Waits until `done`, failing the test after 30 s with `what` did not happen.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed().as_secs() < 30, "{what} in 30 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn log(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.ckpt"))
}

/// Flips a byte of the log's header (its records then cannot be trusted), and removes the
/// `.prev` fallback.
fn damage(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = 12;
    bytes[at] ^= 0x55;
    std::fs::write(path, &bytes).unwrap();
    let _ = std::fs::remove_file(common::previous(path));
}

// One test: the configured directory is the process's.
#[test]
fn runtime_errors_are_returned_as_err_where_the_error_type_takes_them() {
    let dir = scratch("values");
    with_dir(&dir, || {
        // An unloadable checkpoint: Err, and the file is exactly as it was.
        let stopped = catch_unwind(AssertUnwindSafe(|| own_error(100, Some(45))));
        assert!(stopped.is_err());
        let path = log(&dir, "values-own");
        damage(&path);
        let before = std::fs::read(&path).unwrap();
        match own_error(100, None) {
            Err(JobError::Checkpoint(resumable::Error::Corrupt { path: named, .. })) => {
                assert_eq!(named, path)
            }
            other => panic!("expected Err(Corrupt), got {other:?}"),
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the checkpoint changed"
        );

        // A checkpoint held by another process (flock(2), as the runtime locks): Err(Locked).
        let stopped = catch_unwind(AssertUnwindSafe(|| with_anyhow(100, Some(30))));
        assert!(stopped.is_err());
        let path = log(&dir, "values-anyhow");
        let lock = PathBuf::from(format!("{}.lock", path.display()));
        // The lock file names its holder; this process's earlier run left its own pid there.
        std::fs::write(&lock, "1").unwrap();
        // The shell takes the lock on its descriptor 9 and becomes the `sleep` that keeps it
        // open, so killing that one process releases the lock and leaves nothing behind.
        let mut holder = Command::new("sh")
            .args(["-c", "exec 9>>\"$0\" && flock -n 9 && exec sleep 30"])
            .arg(&lock)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("the other process holds the lock", || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&lock)
                .is_ok_and(|file| file.try_lock().is_err())
        });
        let before = std::fs::read(&path).unwrap();
        let err = with_anyhow(100, None).expect_err("the checkpoint is held");
        assert!(
            matches!(
                err.downcast_ref::<resumable::Error>(),
                Some(resumable::Error::Locked { .. })
            ),
            "{err:#}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        holder.kill().unwrap();
        holder.wait().unwrap();
        // Once it is free, the run resumes and finishes.
        assert_eq!(with_anyhow(100, None).unwrap(), (0..100).sum::<u64>());

        // An iterator shorter than the saved index: Err(IteratorTooShort), nothing changed.
        let stopped = catch_unwind(AssertUnwindSafe(|| with_anyhow(100, Some(60))));
        assert!(stopped.is_err());
        let before = std::fs::read(&path).unwrap();
        let err = with_anyhow(40, None).expect_err("40 items, saved at 60");
        assert!(
            matches!(
                err.downcast_ref::<resumable::Error>(),
                Some(resumable::Error::IteratorTooShort { index: 60, .. })
            ),
            "{err:#}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(with_anyhow(100, None).unwrap(), (0..100).sum::<u64>());

        // A nest whose outer, then inner, iterator is shorter than the saved position: Err,
        // nothing changed (they were panics before).
        let sum = |rows: u64, cols: u64| (0..rows * cols).sum::<u64>();
        let stopped = catch_unwind(AssertUnwindSafe(|| nest(4, 5, Some((2, 4)))));
        assert!(stopped.is_err());
        let path = log(&dir, "values-nest");
        let before = std::fs::read(&path).unwrap();
        for (rows, cols) in [(2, 5), (4, 3)] {
            let err = nest(rows, cols, None).expect_err("shorter than the saved position");
            assert!(
                matches!(
                    err.downcast_ref::<resumable::Error>(),
                    Some(resumable::Error::IteratorTooShort { .. })
                ),
                "{rows}x{cols}: {err:#}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), before, "{rows}x{cols}");
        }
        assert_eq!(nest(4, 5, None).unwrap(), sum(4, 5));

        // A failed save (the `append` promise broken at 25): Err(NotAppendOnly); the checkpoint
        // at 20 stands.
        match shrinking(100, 25) {
            Err(JobError::Checkpoint(resumable::Error::NotAppendOnly { .. })) => {}
            other => panic!("expected Err(NotAppendOnly), got {other:?}"),
        }
        assert_eq!(
            resumable::__private::saved_index(&log(&dir, "values-append")),
            Some(20)
        );

        // `Result<impl Iterator, _>`: resumes to the uninterrupted result, and an unloadable
        // checkpoint is its `Err`, the file untouched.
        let squares_sum = |n: u64| (0..n).map(|i| i * i).sum::<u64>();
        let stopped = catch_unwind(AssertUnwindSafe(|| squares_iter(100, Some(45)).map(drop)));
        assert!(stopped.is_err());
        assert_eq!(
            squares_iter(100, None).unwrap().sum::<u64>(),
            squares_sum(100)
        );
        let stopped = catch_unwind(AssertUnwindSafe(|| squares_iter(100, Some(45)).map(drop)));
        assert!(stopped.is_err());
        let path = log(&dir, "values-impl");
        damage(&path);
        let before = std::fs::read(&path).unwrap();
        let err = squares_iter(100, None)
            .map(drop)
            .expect_err("the checkpoint cannot be loaded");
        assert!(
            matches!(
                err.downcast_ref::<resumable::Error>(),
                Some(resumable::Error::Corrupt { .. })
            ),
            "{err:#}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        std::fs::remove_file(&path).unwrap();

        // `Result<_, String>` cannot hold the error: the panic, naming the file.
        let stopped = catch_unwind(AssertUnwindSafe(|| string_error(100, Some(45))));
        assert!(stopped.is_err());
        let path = log(&dir, "values-string");
        damage(&path);
        let panic = catch_unwind(AssertUnwindSafe(|| string_error(100, None)))
            .expect_err("a String error cannot hold it: the run panics");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains(&path.display().to_string()),
            "the panic names the file: {message}"
        );
    });
    resumable::Config::new().apply().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
