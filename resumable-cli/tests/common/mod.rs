//! What the tests of `check`, `prune` and `--json` share: where this process's `#[resumable]`
//! functions keep their checkpoints, moving them to scratch directories, and running the
//! built `resumable` command.

// Each test binary compiles this whole module but uses only some of it.
#![allow(dead_code)]

/// Defines the job these tests checkpoint, under the checkpoint name `$name` (one per test
/// binary, since the binaries may run at once):
///
/// ```ignore
/// #[resumable(every = 5, name = $name, append(results), key = ())]
/// fn squares(n: u64, panic_at: Option<u64>) -> (Vec<u64>, u64)
/// ```
///
/// It pushes `i * i` and adds `i` for each `i` in `0..n`, and panics at `panic_at`.
macro_rules! squares_job {
    ($name:literal) => {
        #[resumable::resumable(every = 5, name = $name, append(results), key = ())]
        fn squares(n: u64, panic_at: Option<u64>) -> (Vec<u64>, u64) {
            let mut results = Vec::new();
            let mut total = 0u64;
            for i in 0..n {
                if panic_at == Some(i) {
                    panic!("injected failure at {i}");
                }
                results.push(i * i);
                total += i;
            }
            (results, total)
        }
    };
}
pub(crate) use squares_job;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where this process's `#[resumable]` functions keep their checkpoints.
pub fn run_dir() -> PathBuf {
    match std::env::var_os("RESUMABLE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(".resumable"),
    }
}

pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The files of checkpoint `name` in `dir` that exist: the log, `.prev`, `.next`.
pub fn generations(dir: &Path, name: &str) -> Vec<PathBuf> {
    let log = dir.join(format!("{name}.ckpt"));
    [
        with_suffix(&log, ""),
        with_suffix(&log, ".prev"),
        with_suffix(&log, ".next"),
    ]
    .into_iter()
    .filter(|path| path.exists())
    .collect()
}

/// Removes checkpoint `name`'s files from `dir`, and what earlier runs set aside there.
pub fn remove_checkpoint(dir: &Path, name: &str) {
    for path in generations(dir, name) {
        fs::remove_file(path).unwrap();
    }
    for aside in set_aside_in(dir, name) {
        fs::remove_file(aside).unwrap();
    }
}

/// The files of checkpoint `name` set aside in `dir` (`.damaged-<ms>`, `.reset-<ms>`).
pub fn set_aside_in(dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!("{name}.ckpt");
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let file = path.file_name().unwrap().to_string_lossy();
            file.starts_with(&prefix) && (file.contains(".damaged-") || file.contains(".reset-"))
        })
        .collect();
    found.sort();
    found
}

/// Moves checkpoint `name`'s files from `from` to `to`.
pub fn move_checkpoint(from: &Path, to: &Path, name: &str) {
    let files = generations(from, name);
    assert!(
        !files.is_empty(),
        "no checkpoint {name} in {}",
        from.display()
    );
    for path in files {
        fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        fs::remove_file(path).unwrap();
    }
}

/// An empty directory of this process for the test `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resumable-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file in `dir` and its bytes, by name.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The standard output, parsed as the one JSON document it must be.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "{}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("not JSON ({err}):\n{}", self.stdout))
    }
}

/// Runs `resumable ARGS` with `RESUMABLE_DIR` and `RESUMABLE_STORE` unset.
pub fn cli(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_resumable"))
        .args(args)
        .env_remove("RESUMABLE_DIR")
        .env_remove("RESUMABLE_STORE")
        .output()
        .unwrap();
    Output {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}
