//! Quiet: `RESUMABLE_QUIET=1` or `Config::quiet(true)` leaves the runtime's notes ("resuming
//! … at iteration …", "saved checkpoint …") off stderr, and the variable wins over the code.
//! The runs happen in a child process (this binary's ignored `child` test), whose stderr is
//! read here.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;

use common::Scratch;
use resumable::{Config, resumable};

#[resumable(every = 10, name = "quiet-count", key = ())]
fn count(n: u64, panic_at: Option<u64>) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i * i;
    }
    sum
}

/// Fails at 37 (which saves there), then resumes and finishes; `QUIET_IN_CODE` set applies
/// `Config::quiet(true)` first.
#[test]
#[ignore = "run by the test below, in a process of its own"]
fn child() {
    if std::env::var_os("QUIET_IN_CODE").is_some() {
        Config::new().quiet(true).apply().unwrap();
    }
    assert!(catch_unwind(AssertUnwindSafe(|| count(100, Some(37)))).is_err());
    assert_eq!(count(100, None), (0..100u64).map(|i| i * i).sum::<u64>());
}

/// The child's stderr with these variables set (`None`: removed).
fn child_stderr(vars: &[(&str, Option<&str>)]) -> String {
    let dir = Scratch::new("quiet");
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child", "--ignored", "--nocapture"])
        .env("RESUMABLE_DIR", &dir.0)
        .env_remove("RESUMABLE_QUIET")
        .env_remove("RESUMABLE_STORE");
    for (name, value) in vars {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed: {stderr}");
    stderr
}

#[test]
fn quiet_leaves_the_notes_off_stderr_and_the_variable_wins() {
    let resumed = "resuming count at iteration 37";
    let saved = "saved checkpoint";
    let loud = child_stderr(&[]);
    assert!(loud.contains(resumed) && loud.contains(saved), "{loud}");
    // The panic's own message is the program's, not the runtime's: it stays.
    assert!(loud.contains("injected failure at 37"), "{loud}");

    for vars in [
        &[("RESUMABLE_QUIET", Some("1"))][..],
        &[("RESUMABLE_QUIET", Some("TRUE"))][..],
        &[("QUIET_IN_CODE", Some("1"))][..],
    ] {
        let quiet = child_stderr(vars);
        assert!(!quiet.contains("resumable:"), "{vars:?}: {quiet}");
        assert!(!quiet.contains(resumed), "{vars:?}: {quiet}");
        assert!(
            quiet.contains("injected failure at 37"),
            "{vars:?}: {quiet}"
        );
    }

    // The variable wins over the code, both ways.
    let loud_anyway = child_stderr(&[
        ("QUIET_IN_CODE", Some("1")),
        ("RESUMABLE_QUIET", Some("off")),
    ]);
    assert!(loud_anyway.contains(resumed), "{loud_anyway}");
}
