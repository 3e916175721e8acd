//! Checkpointing and resuming a big state need memory of the order of the state (issue 11's
//! bounds): a checkpoint goes to its file in data frames as it is serialized (at most 1.5x the
//! state plus 64 MB), and a resume reads the file in chunks and decodes into the state (1.2x
//! plus 64 MB). `tests/programs/big_state.rs` with a 100 MB `Vec<f64>` changed in place: a
//! first run checkpoints after every step and fails, a second resumes and finishes; each
//! reports its peak resident memory. Before, each peaked at 2x the state.
//!
//! Twice: from `vec![0.0; len]`, whose pages stay unmapped until the loop writes them, and
//! from a vector built element by element (`--written`), resident in full before the loop:
//! the resume decodes into it (issue 24); and that vector in a derived struct (`--struct`),
//! which the resume drops before decoding. Decoded beside it, each resume peaked at 2.0x.

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
        // A backtrace of the asked-for panic costs std ~40 MB to symbolize: not ours to count.
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

#[test]
fn checkpoints_and_a_resume_of_a_100_mb_state_stay_within_their_memory_bounds() {
    checkpoint_and_resume("zeroed", &[], true);
}

#[test]
fn a_resume_into_a_100_mb_state_built_before_the_loop_holds_it_once() {
    checkpoint_and_resume("written", &["--written"], true);
}

/// The run's first checkpoint checks that a type other than a `Vec` of numbers round-trips:
/// its encoded copy goes to a file beside the checkpoint, its decoded copy stays in memory
/// (2.05x at that checkpoint; 3.06x with the encoded copy in memory too).
#[test]
fn a_resume_into_a_100_mb_struct_built_before_the_loop_holds_it_once() {
    checkpoint_and_resume("struct", &["--struct"], true);
}

/// A run that checkpoints and fails, then one that resumes: each within its bound, and the
/// resumed result the uninterrupted one (the checkpointing run's peak only with
/// `bound_checkpoints`). `init` says how the program builds its state.
fn checkpoint_and_resume(name: &str, init: &[&str], bound_checkpoints: bool) {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: peak memory is read from Linux's /proc/self/status");
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "resumable-resume-memory-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let state = LEN * 8;
    let args = |extra: &[&'static str]| [init, extra].concat();
    let first = run(&dir, &args(&["--fail-at", "2", "--peak-memory"]));
    assert!(!first.status.success(), "the first run was to fail");
    if bound_checkpoints {
        check_peak("checkpointing", &first, state, state * 15 / 10 + (64 << 20));
    }
    let second = run(&dir, &args(&["--peak-memory"]));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("resuming"), "it did not resume: {stderr}");
    let uninterrupted = run(&dir.join("fresh"), init);
    assert_eq!(
        second.stdout, uninterrupted.stdout,
        "the resumed result differs"
    );
    check_peak("resume", &second, state, state * 12 / 10 + (64 << 20));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Checks the peak resident memory a run of the program reported against `bound`.
fn check_peak(what: &str, output: &Output, state: u64, bound: u64) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak: u64 = stderr
        .lines()
        .find_map(|line| line.strip_prefix("peak_rss_bytes "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak reported: {stderr}"));
    eprintln!(
        "{what} peak: {} MB for a {} MB state ({:.2}x), bound {} MB",
        peak >> 20,
        state >> 20,
        peak as f64 / state as f64,
        bound >> 20
    );
    assert!(
        peak <= bound,
        "{what} peaked at {peak} bytes, over {bound} for a state of {state}"
    );
}
