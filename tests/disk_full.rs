//! A nearly full disk, on a real small filesystem: a tmpfs of a few megabytes mounted for each
//! test (which needs root; without it each test says so and passes). The program is
//! `tests/programs/big_state.rs`: a 2 MB state changed in place, a checkpoint every step.
//!
//! - With room for two and a half copies of the state, a job that fails and is run again
//!   finishes with the result of an uninterrupted run.
//! - With room for one and a half, the second checkpoint cannot be written: the error says how
//!   much room it needs, the first checkpoint stays loadable, no partial file is left.
//! - With room for half a copy, nothing can be saved, and the message does not claim that a
//!   checkpoint is intact; nor does it when the checkpoint directory cannot be created.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

/// Elements of the program's `Vec<f64>`: its checkpoint is 2.0 MB.
const LEN: u64 = 250_000;
const STATE_BYTES: u64 = LEN * 8;
const STEPS: u64 = 12;

/// A tmpfs mounted at a fresh directory, unmounted and removed on drop.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// A filesystem of `bytes`; `None` (with a message) where this process may not mount one.
    fn mount(name: &str, bytes: u64) -> Option<SmallDisk> {
        let dir =
            std::env::temp_dir().join(format!("resumable-disk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={}k", bytes / 1024),
                "tmpfs",
            ])
            .arg(&dir)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(SmallDisk { dir }),
            Ok(output) => {
                eprintln!(
                    "skipped: cannot mount a tmpfs here (needs root): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                let _ = std::fs::remove_dir(&dir);
                None
            }
            Err(err) => {
                eprintln!("skipped: no `mount` command: {err}");
                let _ = std::fs::remove_dir(&dir);
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the program with its checkpoints in `dir`.
fn run(dir: &Path, fail_at: Option<u64>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable-big-state"));
    command
        .arg(LEN.to_string())
        .arg(STEPS.to_string())
        .env("RESUMABLE_DIR", dir);
    if let Some(step) = fail_at {
        command.args(["--fail-at", &step.to_string()]);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What an uninterrupted run prints, from a directory with room to spare.
fn uninterrupted() -> String {
    let dir = common::Scratch::new("reference");
    let output = run(&dir.0, None);
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// The checkpoint files in `disk` (the log, `.prev`, `.next`), by name.
fn checkpoint_files(disk: &SmallDisk) -> Vec<String> {
    common::files(&disk.dir)
        .into_iter()
        .filter(|name| name.contains(".ckpt") && !name.ends_with(".lock"))
        .collect()
}

#[test]
fn a_job_with_room_for_two_and_a_half_copies_finishes_after_a_failure() {
    let Some(disk) = SmallDisk::mount("room", STATE_BYTES * 5 / 2) else {
        return;
    };
    let failed = run(&disk.dir, Some(7));
    assert!(!failed.status.success());
    let text = stderr(&failed);
    assert!(text.contains("injected failure at step 7"), "{text}");
    assert!(
        text.contains("saved checkpoint"),
        "the failure did not save: {text}"
    );
    let files = checkpoint_files(&disk);
    assert_eq!(files.len(), 1, "one log, nothing beside it: {files:?}");

    let resumed = run(&disk.dir, None);
    let text = stderr(&resumed);
    assert!(
        resumed.status.success(),
        "the re-run did not finish: {text}"
    );
    assert!(text.contains("resuming job at iteration 7"), "{text}");
    assert_eq!(String::from_utf8(resumed.stdout).unwrap(), uninterrupted());
    assert_eq!(checkpoint_files(&disk), Vec::<String>::new());
}

#[test]
fn a_full_disk_keeps_the_last_checkpoint_and_says_how_much_room_it_needs() {
    let Some(disk) = SmallDisk::mount("full", STATE_BYTES * 3 / 2) else {
        return;
    };
    let failed = run(&disk.dir, None);
    assert!(!failed.status.success());
    let text = stderr(&failed);
    assert!(text.contains("no room for checkpoint"), "{text}");
    assert!(text.contains("it needs 2.0 MB free in"), "{text}");
    assert!(
        text.contains("the last good checkpoint is intact"),
        "{text}"
    );
    let files = checkpoint_files(&disk);
    assert_eq!(files.len(), 1, "the log alone, no partial file: {files:?}");
    let log = disk.dir.join(&files[0]);
    let info = resumable::inspect::inspect(&log);
    assert!(info.health().is_ok(), "{}", info.health());
    assert_eq!(info.newest.map(|(_, record)| record.index), Some(1));
}

#[test]
fn a_disk_without_room_for_one_copy_says_nothing_was_saved() {
    let Some(disk) = SmallDisk::mount("none", STATE_BYTES / 2) else {
        return;
    };
    let failed = run(&disk.dir, None);
    assert!(!failed.status.success());
    let text = stderr(&failed);
    assert!(text.contains("no room for checkpoint"), "{text}");
    assert!(text.contains("no checkpoint was saved yet"), "{text}");
    assert!(!text.contains("intact"), "{text}");
    assert_eq!(checkpoint_files(&disk), Vec::<String>::new());
}

/// A first run whose checkpoint directory cannot even be created (here: under a file) says
/// why, and claims no checkpoint.
#[test]
fn a_first_run_that_cannot_create_its_directory_claims_no_checkpoint() {
    let scratch = common::Scratch::new("no-dir");
    let file = scratch.path("a-file");
    std::fs::write(&file, b"").unwrap();
    let failed = run(&file.join("checkpoints"), None);
    assert!(!failed.status.success());
    let text = stderr(&failed);
    assert!(text.contains("could not"), "{text}");
    assert!(text.contains("no checkpoint was changed"), "{text}");
    assert!(!text.contains("intact"), "{text}");
}
