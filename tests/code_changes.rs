//! A function whose code changed since its checkpoint was saved (a bug fixed in the loop, the
//! program rebuilt): the resume goes on, and its line says that the iterations before the
//! checkpoint ran with the old code; with `#[resumable(strict)]` it is refused, saying how to
//! start over. An unchanged function resumes without a word about its code.
//!
//! Each module is one "build" of the same program (the same checkpoint name). The runs happen
//! in child processes (this binary's ignored `child` test) so that their stderr can be read.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use resumable::resumable;

/// Whether this run of a function panics at the start of iteration 5 (after saving there).
fn stop_at_5() -> bool {
    std::env::var_os("CODE_STOP").is_some()
}

/// The job; each build is a trait whose `run` it implements. Two trait methods of one type
/// share the type's method path (`code_changes::Job::run`), which the checkpoint records, as
/// one function before and after an edit would: only their code differs.
pub struct Job;

/// The same, under `strict`.
pub struct StrictJob;

/// The first build.
trait Old {
    fn run(&self, n: u64) -> u64;
}

/// The build after the fix: each item counts twice.
trait Fixed {
    fn run(&self, n: u64) -> u64;
}

impl Old for Job {
    #[resumable(every = 2, key = ())]
    fn run(&self, n: u64) -> u64 {
        let mut total = 0u64;
        for i in 0..n {
            if i == 5 && stop_at_5() {
                panic!("stop here");
            }
            total += i;
        }
        total
    }
}

impl Fixed for Job {
    #[resumable(every = 2, key = ())]
    fn run(&self, n: u64) -> u64 {
        let mut total = 0u64;
        for i in 0..n {
            if i == 5 && stop_at_5() {
                panic!("stop here");
            }
            total += 2 * i;
        }
        total
    }
}

impl Old for StrictJob {
    #[resumable(every = 2, key = (), strict)]
    fn run(&self, n: u64) -> u64 {
        let mut total = 0u64;
        for i in 0..n {
            if i == 5 && stop_at_5() {
                panic!("stop here");
            }
            total += i;
        }
        total
    }
}

impl Fixed for StrictJob {
    #[resumable(every = 2, key = (), strict)]
    fn run(&self, n: u64) -> u64 {
        let mut total = 0u64;
        for i in 0..n {
            if i == 5 && stop_at_5() {
                panic!("stop here");
            }
            total += 2 * i;
        }
        total
    }
}

/// What a child run does: `CODE_RUN` names the build and function.
#[test]
#[ignore = "run by the tests below, in a child process"]
fn child() {
    let n = 10;
    let result = match std::env::var("CODE_RUN").unwrap().as_str() {
        "old" => Old::run(&Job, n),
        "fixed" => Fixed::run(&Job, n),
        "old-strict" => Old::run(&StrictJob, n),
        "fixed-strict" => Fixed::run(&StrictJob, n),
        other => panic!("no build {other}"),
    };
    println!("result {result}");
}

/// Runs `build` in a child process with its checkpoints in `dir`; `stop` makes it panic at
/// iteration 5.
fn run(dir: &Path, build: &str, stop: bool, reset: bool) -> Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--ignored",
            "--exact",
            "child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RESUMABLE_DIR", dir)
        .env("CODE_RUN", build)
        .env_remove("CODE_STOP")
        .env_remove("RESUMABLE_RESET");
    if stop {
        command.env("CODE_STOP", "1");
    }
    if reset {
        command.env("RESUMABLE_RESET", "1");
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn result(output: &Output) -> Option<u64> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    // libtest may print the test's name on the same line first.
    let after = stdout.split("result ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

const CHANGED: &str = "the code of `run` changed since this checkpoint was saved: iterations \
                       before 5 ran with the old code";

#[test]
fn a_changed_function_resumes_and_says_so() {
    let dir = common::scratch("changed");
    let stopped = run(&dir, "old", true, false);
    assert!(!stopped.status.success());
    assert_eq!(
        common::saved_index(&common::find_checkpoint(&dir, "code_changes.Job.run").unwrap()),
        Some(5)
    );
    let resumed = run(&dir, "fixed", false, false);
    let text = stderr(&resumed);
    assert!(resumed.status.success(), "{text}");
    assert!(text.contains("resuming run at iteration 5"), "{text}");
    assert!(text.contains(CHANGED), "{text}");
    // Iterations 0..5 by the old code (0+1+2+3+4), 5..10 by the fixed one.
    assert_eq!(result(&resumed), Some(10 + 2 * (5 + 6 + 7 + 8 + 9)));
}

#[test]
fn an_unchanged_function_resumes_without_a_word_about_its_code() {
    let dir = common::scratch("unchanged");
    assert!(!run(&dir, "old", true, false).status.success());
    let resumed = run(&dir, "old", false, false);
    let text = stderr(&resumed);
    assert!(resumed.status.success(), "{text}");
    assert!(text.contains("resuming run at iteration 5"), "{text}");
    assert!(!text.contains("code of"), "{text}");
    assert_eq!(result(&resumed), Some(45));
}

#[test]
fn strict_refuses_a_changed_function_and_says_how_to_start_over() {
    let dir = common::scratch("strict");
    assert!(!run(&dir, "old-strict", true, false).status.success());
    let path = common::find_checkpoint(&dir, "code_changes.StrictJob.run").unwrap();
    let saved = std::fs::read(&path).unwrap();
    let refused = run(&dir, "fixed-strict", false, false);
    let text = stderr(&refused);
    assert!(!refused.status.success(), "{text}");
    assert!(
        text.contains("the code of `run` changed since checkpoint"),
        "{text}"
    );
    assert!(
        text.contains("iterations before 5 ran with the old code"),
        "{text}"
    );
    assert!(text.contains("RESUMABLE_RESET=1"), "{text}");
    assert!(!text.contains("resuming"), "{text}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        saved,
        "the checkpoint is kept"
    );
    // The same code resumes under `strict`; the fixed code starts over once reset.
    let restarted = run(&dir, "fixed-strict", false, true);
    assert!(restarted.status.success(), "{}", stderr(&restarted));
    assert_eq!(result(&restarted), Some(90));
}

#[test]
fn strict_resumes_an_unchanged_function() {
    let dir = common::scratch("strict-same");
    assert!(!run(&dir, "old-strict", true, false).status.success());
    let resumed = run(&dir, "old-strict", false, false);
    let text = stderr(&resumed);
    assert!(resumed.status.success(), "{text}");
    assert!(text.contains("resuming run at iteration 5"), "{text}");
    assert_eq!(result(&resumed), Some(45));
}
