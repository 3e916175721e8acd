//! Power loss on a real filesystem: the job `resumable-power-loss` (tests/programs/power_loss.rs)
//! runs with its checkpoint directory and its output file on a FUSE filesystem that keeps
//! every unsynced write and directory change in memory ([`disk`], [`lazy_fs`]). At random
//! instants the job is killed and the power "goes": the filesystem is unmounted, everything
//! not synced is dropped (or, in the partial tests, a random part of it kept), and it is
//! mounted again; then the job runs again. Every resume must load a checkpoint at least as
//! new as the last one the run before reported durable (the syncer's `durable <index>` test
//! report, printed once the fsyncs returned), never a damaged one, and the job must end with
//! an uninterrupted run's result and output, byte for byte. Two negative controls run the
//! same rounds with the logs' or the directory's fsync turned off
//! (`RESUMABLE_TEST_SKIP_SYNC`) and must be caught, to show the harness can fail.
//!
//! Needs root and `/dev/fuse` (the mount is made directly, without `fusermount`). Where they
//! are missing the tests say so and pass, unless `RESUMABLE_REQUIRE_FUSE` is set, as
//! `.ci/run` sets it where they are there.

#![cfg(target_os = "linux")]

mod disk;
mod lazy_fs;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};
use std::time::{Duration, Instant};

use disk::{Counts, Disk, Loss, Rng};

const PROGRAM: &str = env!("CARGO_BIN_EXE_resumable-power-loss");
/// Iterations of the job: 200 checkpoints, each 32 KiB and more (the log moves to a new file
/// every ~30 of them).
const N: u64 = 20_000;
/// Each run is killed within this many milliseconds (a whole run takes ~0.4 s in a release
/// build, ~0.8 s in a debug one).
const KILL_WITHIN_MS: u64 = 400;

/// Why the tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    if effective_uid() != 0 {
        return Some("not root: mounting a FUSE filesystem needs root here".into());
    }
    if let Err(err) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        return Some(format!("/dev/fuse cannot be opened: {err}"));
    }
    None
}

/// The effective user id, read from `/proc` (this crate forbids `unsafe`).
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .unwrap_or(u32::MAX)
}

/// `true` if the test should go on; else it says why it is skipped (and fails where FUSE is
/// required).
fn fuse_here(test: &str) -> bool {
    match unavailable() {
        None => true,
        Some(why) => {
            assert!(
                std::env::var_os("RESUMABLE_REQUIRE_FUSE").is_none(),
                "{test}: RESUMABLE_REQUIRE_FUSE is set but {why}"
            );
            eprintln!("{test}: skipped: {why}");
            false
        }
    }
}

/// What one run of the job did.
#[derive(Debug)]
struct Run {
    /// Its result line, if it finished.
    result: Option<String>,
    /// Where it resumed (`None`: it started afresh).
    resumed_at: Option<u64>,
    /// The newest checkpoint it reported durable.
    durable: Option<u64>,
    /// It reported its loop complete (its files about to be removed).
    complete: bool,
    /// Killed by the test (else it exited by itself).
    killed: bool,
    exit: String,
    stderr: String,
}

/// When the test kills a run.
#[derive(Clone, Copy)]
enum Kill<'a> {
    /// Never: it runs to its end.
    Never,
    /// This long after it started, if it has not ended.
    After(Duration),
    /// As soon as it prints a line on stderr that holds this.
    AtLine(&'a str),
}

/// Runs the job with `dir` as its checkpoint directory and `output` as its output, killing it
/// as `kill` says.
fn run_job(dir: &Path, output: &Path, kill: Kill<'_>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(PROGRAM);
    command
        .arg(N.to_string())
        .arg(output)
        .env("RESUMABLE_DIR", dir)
        .env("RESUMABLE_TEST_REPORT", "1")
        .env("SPIN_US", "20")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start resumable-power-loss");
    let stderr = child.stderr.take().expect("piped");
    let (send, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = match kill {
        Kill::After(after) => Some(Instant::now() + after),
        Kill::Never | Kill::AtLine(_) => None,
    };
    let mut lines = Vec::new();
    let mut killed = false;
    loop {
        let wait = deadline.map_or(Duration::from_secs(600), |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        match received.recv_timeout(wait) {
            Ok(line) => {
                let hit = matches!(kill, Kill::AtLine(marker) if line.contains(marker));
                lines.push(line);
                if hit {
                    child.kill().expect("SIGKILL");
                    killed = true;
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if child.try_wait().expect("wait").is_none() {
                    child.kill().expect("SIGKILL");
                    killed = true;
                }
                break;
            }
            // Its stderr closed: it ended.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait().expect("wait");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    lines.extend(received.iter());
    let number_after = |line: &str, marker: &str| -> Option<u64> {
        let rest = &line[line.find(marker)? + marker.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Run {
        result: stdout
            .lines()
            .find(|l| l.starts_with("power-loss "))
            .map(str::to_owned),
        resumed_at: lines
            .iter()
            .find(|line| line.contains("resuming "))
            .and_then(|line| number_after(line, " at iteration ")),
        durable: lines
            .iter()
            .filter_map(|line| number_after(line, "resumable-test: durable "))
            .max(),
        complete: lines.iter().any(|line| line == "resumable-test: complete"),
        killed,
        exit: format!("{status}"),
        stderr: lines.join("\n"),
    }
}

/// The job run once without interruption on an ordinary directory: its result line and its
/// output file.
fn reference() -> &'static (String, Vec<u8>) {
    static REFERENCE: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let scratch = scratch("reference");
        let run = run_job(
            &scratch.join("ckpt"),
            &scratch.join("out.txt"),
            Kill::Never,
            &[],
        );
        let result = run
            .result
            .unwrap_or_else(|| panic!("the reference run failed ({}): {}", run.exit, run.stderr));
        let output = std::fs::read(scratch.join("out.txt")).expect("the reference output");
        let _ = std::fs::remove_dir_all(&scratch);
        (result, output)
    })
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "resumable-power-loss-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// What a series of crash rounds found.
#[derive(Debug, Default)]
struct Outcome {
    /// Broken promises, each with the round that broke it.
    violations: Vec<String>,
    /// Runs killed (each followed by a power loss).
    power_losses: u32,
    /// Runs after a power loss that resumed from a checkpoint (the others started afresh).
    resumes: u32,
    /// Jobs finished (the result and output checked each time).
    finished: u32,
    /// Resumes that fell back past records a power loss kept without the output bytes they
    /// count.
    output_fallbacks: u32,
    /// What the filesystem was asked to do, and what the power losses dropped and kept.
    counts: Counts,
}

impl Outcome {
    /// No broken promise, over enough resumes to mean something.
    fn assert_every_promise_kept(&self) {
        assert!(
            self.violations.is_empty(),
            "{}",
            self.violations.join("\n\n")
        );
        assert!(self.resumes >= 10, "too few resumes to mean much: {self:?}");
    }
}

/// `rounds` runs of the job, each killed after a random time and followed by a power loss of
/// the kind `loss` (seeded by `seed`), then one run to the end; each run with `env` added to
/// its environment (the test hooks that slow or skip its syncs).
fn crash_rounds(
    name: &str,
    rounds: u32,
    loss: fn(u64) -> Loss,
    seed: u64,
    env: &[(&str, &str)],
) -> Outcome {
    let (expected, expected_output) = reference();
    let scratch = scratch(name);
    let mount_point = scratch.join("mnt");
    std::fs::create_dir(&mount_point).expect("create the mount point");
    let disk = Arc::new(Mutex::new(Disk::default()));
    // The checkpoint directory does not exist yet: the first run creates it, as a user's does.
    let dir = mount_point.join("ckpt");
    let output = mount_point.join("out.txt");
    let mut rng = Rng(seed | 1);
    let mut outcome = Outcome::default();
    // The newest checkpoint a run reported durable since the job last completed.
    let mut floor: Option<u64> = None;
    let mut session = Some(lazy_fs::mount(&disk, &mount_point).expect("mount the FUSE filesystem"));
    for round in 0..=rounds {
        let last = round == rounds;
        // Up to about half a whole run's time: most runs are killed part-way, some finish.
        let kill = if last {
            Kill::Never
        } else {
            Kill::After(Duration::from_millis(rng.below(KILL_WITHIN_MS)))
        };
        let run = run_job(&dir, &output, kill, env);
        let at = run.resumed_at.unwrap_or(0);
        // A run killed before it said where it starts (nor saved, nor finished) tells nothing.
        let started = run.resumed_at.is_some() || run.durable.is_some() || run.result.is_some();
        if let Some(durable) = floor
            && started
            && at < durable
        {
            outcome.violations.push(format!(
                "round {round}: resumed at {at}, but the run before reported the checkpoint at \
                 {durable} durable before the power went\n{}",
                run.stderr
            ));
        }
        if run.stderr.contains("damaged") {
            outcome.violations.push(format!(
                "round {round}: a damaged checkpoint:\n{}",
                run.stderr
            ));
        }
        if run.resumed_at.is_some() && round > 0 {
            outcome.resumes += 1;
        }
        if run.stderr.contains("as a power loss can leave them") {
            outcome.output_fallbacks += 1;
        }
        if !run.killed || last {
            match &run.result {
                Some(result) => {
                    outcome.finished += 1;
                    if result != expected {
                        outcome.violations.push(format!(
                            "round {round}: the job returned {result}, an uninterrupted run \
                             {expected}"
                        ));
                    }
                    match std::fs::read(&output) {
                        Ok(bytes) if bytes == *expected_output => {}
                        Ok(bytes) => outcome.violations.push(format!(
                            "round {round}: the output has {} bytes, an uninterrupted run's {}",
                            bytes.len(),
                            expected_output.len()
                        )),
                        Err(err) => outcome
                            .violations
                            .push(format!("round {round}: the output cannot be read: {err}")),
                    }
                }
                None => outcome.violations.push(format!(
                    "round {round}: the job failed ({}):\n{}",
                    run.exit, run.stderr
                )),
            }
        }
        if run.complete {
            floor = None;
        } else if let Some(durable) = run.durable {
            floor = Some(floor.map_or(durable, |floor| floor.max(durable)));
        }
        if last {
            break;
        }
        session
            .take()
            .expect("mounted")
            .umount_and_join()
            .expect("unmount");
        let mut disk_now = disk.lock().unwrap_or_else(PoisonError::into_inner);
        if run.killed {
            // The power goes: nothing of the mount survives but what the loss keeps.
            disk_now.power_loss(loss(rng.next()));
            outcome.power_losses += 1;
        } else {
            // The job finished: the next round starts another on an empty disk.
            let counts = disk_now.counts;
            *disk_now = Disk::default();
            disk_now.counts = counts;
            floor = None;
        }
        drop(disk_now);
        session = Some(lazy_fs::mount(&disk, &mount_point).expect("mount again"));
    }
    drop(session);
    outcome.counts = disk.lock().unwrap_or_else(PoisonError::into_inner).counts;
    let _ = std::fs::remove_dir_all(&scratch);
    println!("{name}: {outcome:?}");
    outcome
}

/// `default` rounds, or `RESUMABLE_POWER_LOSSES` (for longer runs than CI's).
fn rounds(default: u32) -> u32 {
    std::env::var("RESUMABLE_POWER_LOSSES").map_or(default, |n| n.parse().expect("a number"))
}

fn unsynced(_: u64) -> Loss {
    Loss::Unsynced
}

#[test]
fn every_resume_after_a_power_loss_finds_the_last_durable_checkpoint_or_a_newer_one() {
    if !fuse_here("power loss") {
        return;
    }
    let outcome = crash_rounds("unsynced", rounds(30), unsynced, 0x5EED_0001, &[]);
    outcome.assert_every_promise_kept();
    assert!(
        outcome.counts.dropped > 0,
        "no power loss dropped anything: {outcome:?}"
    );
}

fn partial(seed: u64) -> Loss {
    Loss::Partial(seed)
}

#[test]
fn a_power_loss_that_keeps_part_of_what_was_not_synced_is_survived_too() {
    if !fuse_here("partial power loss") {
        return;
    }
    let outcome = crash_rounds("partial", rounds(30), partial, 0x5EED_0002, &[]);
    outcome.assert_every_promise_kept();
    assert!(
        outcome.counts.kept > 0,
        "no power loss kept anything unsynced: {outcome:?}"
    );
}

/// A slow disk: each background sync waits 20 ms first, so several checkpoints' records and
/// outputs are written and not yet synced at most instants, and a partial loss can keep any
/// prefix of each file's writes: a record without the output it counts, a rename without
/// the log it names.
#[test]
fn a_partial_power_loss_on_a_slow_disk_is_survived_too() {
    if !fuse_here("partial power loss, slow disk") {
        return;
    }
    let slow = [
        ("RESUMABLE_TEST_PAUSE_AT", "before-sync"),
        ("RESUMABLE_TEST_PAUSE_MS", "20"),
    ];
    let outcome = crash_rounds("partial-slow", rounds(30), partial, 0x5EED_0005, &slow);
    outcome.assert_every_promise_kept();
    // Each loss keeps a record without its output's last bytes about one time in four.
    assert!(
        outcome.output_fallbacks > 0,
        "no power loss kept a record without its output's bytes: {outcome:?}"
    );
    assert!(
        outcome.counts.kept > 0,
        "no power loss kept anything unsynced: {outcome:?}"
    );
}

#[test]
fn the_harness_catches_a_build_that_does_not_sync_the_directory() {
    if !fuse_here("negative control, directory") {
        return;
    }
    let outcome = crash_rounds(
        "no-dir-sync",
        12,
        unsynced,
        0x5EED_0003,
        &[("RESUMABLE_TEST_SKIP_SYNC", "dir")],
    );
    assert!(
        outcome
            .violations
            .iter()
            .any(|v| v.contains("durable before the power went")),
        "renames never made durable, yet every resume found the last durable checkpoint: \
         the harness cannot tell ({outcome:?})"
    );
}

#[test]
fn the_harness_catches_a_build_that_does_not_sync_the_log() {
    if !fuse_here("negative control, log") {
        return;
    }
    let outcome = crash_rounds(
        "no-log-sync",
        12,
        unsynced,
        0x5EED_0004,
        &[("RESUMABLE_TEST_SKIP_SYNC", "data")],
    );
    assert!(
        !outcome.violations.is_empty(),
        "logs never synced, yet every resume found the last durable checkpoint: the harness \
         cannot tell ({outcome:?})"
    );
}

/// `RESUMABLE_RESET=1` moves the checkpoint aside and makes the renames durable before the
/// run starts over: a power loss right after it must not bring back the checkpoint the user
/// set aside (the run's reset did not sync the directory, `resumable reset` did).
#[test]
fn a_reset_is_not_undone_by_a_power_loss() {
    if !fuse_here("reset") {
        return;
    }
    let (expected, _) = reference();
    let scratch = scratch("reset");
    let mount_point = scratch.join("mnt");
    std::fs::create_dir(&mount_point).expect("create the mount point");
    let disk = Arc::new(Mutex::new(Disk::default()));
    let (dir, output) = (mount_point.join("ckpt"), mount_point.join("out.txt"));
    let power_loss = |session: fuser::BackgroundSession| {
        session.umount_and_join().expect("unmount");
        disk.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .power_loss(Loss::Unsynced);
        lazy_fs::mount(&disk, &mount_point).expect("mount again")
    };
    let session = lazy_fs::mount(&disk, &mount_point).expect("mount the FUSE filesystem");
    let first = run_job(
        &dir,
        &output,
        Kill::AtLine("resumable-test: durable 2000"),
        &[],
    );
    assert!(first.killed, "{}", first.stderr);
    let session = power_loss(session);
    let reset = run_job(
        &dir,
        &output,
        Kill::AtLine("RESUMABLE_RESET is set"),
        &[("RESUMABLE_RESET", "1")],
    );
    assert!(reset.killed, "{}", reset.stderr);
    let session = power_loss(session);
    let after = run_job(&dir, &output, Kill::Never, &[]);
    drop(session);
    let _ = std::fs::remove_dir_all(&scratch);
    let since_reset = reset.durable.unwrap_or(0);
    assert!(
        after.resumed_at.is_none_or(|at| at <= since_reset),
        "resumed at {:?} from the checkpoint reset before the power loss: {}",
        after.resumed_at,
        after.stderr
    );
    assert_eq!(
        after.result.as_deref(),
        Some(expected.as_str()),
        "{}",
        after.stderr
    );
}
