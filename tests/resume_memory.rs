//! A resume needs memory of the order of the state it restores: it reads the file in chunks
//! and decodes into the state, never holding the file whole (issue 11's bound: 1.2x the state
//! plus 64 MB). `tests/programs/big_state.rs` with a 100 MB `Vec<f64>`: a first run fails and
//! leaves a checkpoint, a second resumes, finishes, and reports its peak resident memory.
//! Before the resume streamed, that peak was twice the state (the file, then the state).

use std::path::Path;
use std::process::{Command, Output};

/// 100 MB of `f64`.
const LEN: u64 = 12_500_000;
const STEPS: u64 = 3;

fn run(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resumable-big-state"))
        .args([LEN.to_string(), STEPS.to_string()])
        .args(extra)
        .env("RESUMABLE_DIR", dir)
        .output()
        .unwrap()
}

#[test]
fn a_resume_of_a_100_mb_state_peaks_at_no_more_than_1_2x_the_state_plus_64_mb() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: peak memory is read from Linux's /proc/self/status");
        return;
    }
    let dir = std::env::temp_dir().join(format!("resumable-resume-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = run(&dir, &["--fail-at", "2"]);
    assert!(!first.status.success(), "the first run was to fail");
    let second = run(&dir, &["--peak-memory"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("resuming"), "it did not resume: {stderr}");
    let uninterrupted = run(&dir.join("fresh"), &[]);
    assert_eq!(
        second.stdout, uninterrupted.stdout,
        "the resumed result differs"
    );
    let peak: u64 = stderr
        .lines()
        .find_map(|line| line.strip_prefix("peak_rss_bytes "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak reported: {stderr}"));
    let state = LEN * 8;
    let bound = state * 12 / 10 + (64 << 20);
    eprintln!(
        "resume peak: {} MB for a {} MB state ({:.2}x), bound {} MB",
        peak >> 20,
        state >> 20,
        peak as f64 / state as f64,
        bound >> 20
    );
    assert!(
        peak <= bound,
        "the resume peaked at {peak} bytes, over {bound} for a state of {state}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
