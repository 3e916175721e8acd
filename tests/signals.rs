//! SIGINT and SIGTERM sent to the probe program (`tests/programs/probe.rs`):
//!
//! - in its loop: it saves at the next iteration boundary, says so, and dies of the signal;
//!   the next run resumes exactly there, so no index is executed twice and none is skipped;
//! - a second SIGINT while that save is being made durable kills the process at once, and what
//!   the loop had written still loads;
//! - outside its loop, or with signal handling turned off: it dies of the signal, saving
//!   nothing;
//! - a second process on the same checkpoint fails at once, naming the file and the holder.
//!
//! Signals are sent with `kill(1)`. The random instants come from a clock-seeded PRNG whose
//! seed is printed; `RESUMABLE_SEED=<seed>` replays them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Outcome, Probe, Rng, files, probe, read_log, resumed_at, scratch};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

// ---------------------------------------------------------------------------------------------
// Helpers

fn run(command: &mut Command) -> Outcome {
    Probe::spawn(command).finish()
}

/// The iteration a `resumable: SIG…: <function> saved checkpoint <path> at iteration K; …` line
/// names, checking the rest of the line; `None` if there is no such line.
fn saved_at(stderr: &str, signal: &str, function: &str, checkpoint: &Path) -> Option<u64> {
    let prefix = format!(
        "resumable: {signal}: {function} saved checkpoint {} at iteration ",
        checkpoint.display()
    );
    let line = stderr.lines().find(|line| line.starts_with(&prefix))?;
    let rest = &line[prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(
        &rest[digits.len()..],
        "; run the same command again to resume",
        "{line}"
    );
    Some(digits.parse().unwrap())
}

/// `start..end` as a `Vec`, to compare logs with.
fn indices(start: u64, end: u64) -> Vec<u64> {
    (start..end).collect()
}

/// What the probe prints for `n` when nothing interrupts it.
fn expected(n: u64) -> String {
    let dir = scratch(&format!("expected-{n}-{:?}", std::thread::current().id()));
    let log = dir.join("log");
    let out = run(&mut probe(&dir.join("ckpt"), n, 1000, 0, &log, &[]));
    out.succeeded_with(&out.stdout);
    assert_eq!(read_log(&log), indices(0, n));
    std::fs::remove_dir_all(dir).unwrap();
    out.stdout
}

// ---------------------------------------------------------------------------------------------
// A signal in the loop saves at the next boundary

#[test]
fn sigint_and_sigterm_at_random_instants_save_at_a_boundary_and_nothing_runs_twice() {
    const N: u64 = 5000;
    let expected = expected(N);
    let mut rng = Rng::from_clock("random signals", "RESUMABLE_SEED");
    for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
        for trial in 0..3 {
            let dir = scratch(&format!("random-{name}-{trial}"));
            let checkpoints = dir.join("ckpt");
            let checkpoint = checkpoints.join("probe-e100.ckpt");
            let (first_log, second_log) = (dir.join("first.log"), dir.join("second.log"));

            let mut first = Probe::spawn(&mut probe(&checkpoints, N, 100, 200, &first_log, &[]));
            first.wait_for_log(&first_log, 1);
            std::thread::sleep(Duration::from_micros(rng.range(0, 400_000)));
            first.signal(signal);
            let first = first.finish();
            first.died_of(signal);
            assert!(first.stdout.is_empty(), "{}", first.context());
            let k = saved_at(&first.stderr, name, "probe_100", &checkpoint)
                .unwrap_or_else(|| panic!("no saved line: {}", first.context()));
            // The signal stopped the loop at a boundary: iterations 0..k ran, and no other.
            assert_eq!(read_log(&first_log), indices(0, k), "{name}, trial {trial}");

            let second = run(&mut probe(&checkpoints, N, 100, 200, &second_log, &[]));
            second.succeeded_with(&expected);
            assert_eq!(
                resumed_at(&second.stderr, "probe_100"),
                Some(k),
                "{}",
                second.context()
            );
            // Together: every index once, none twice.
            assert_eq!(
                read_log(&second_log),
                indices(k, N),
                "{name}, trial {trial}"
            );
            assert_eq!(files(&checkpoints), Vec::<String>::new());
            eprintln!("{name}, trial {trial}: saved at {k}, resumed there");
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}

#[test]
fn a_second_sigint_while_saving_kills_at_once_and_what_was_written_still_loads() {
    const N: u64 = 5000;
    const PAUSE_MS: u64 = 3000;
    let expected = expected(N);
    let dir = scratch("second-sigint");
    let checkpoints = dir.join("ckpt");
    let checkpoint = checkpoints.join("probe-e1000.ckpt");
    let logs: Vec<PathBuf> = (0..3).map(|run| dir.join(format!("{run}.log"))).collect();

    // A checkpoint to fall back on: the first run is stopped by a SIGINT.
    let mut first = Probe::spawn(&mut probe(&checkpoints, N, 1000, 200, &logs[0], &[]));
    first.wait_for_log(&logs[0], 100);
    first.signal(SIGINT);
    let first = first.finish();
    first.died_of(SIGINT);
    let k = saved_at(&first.stderr, "SIGINT", "probe_1000", &checkpoint)
        .unwrap_or_else(|| panic!("no saved line: {}", first.context()));
    assert_eq!(read_log(&logs[0]), indices(0, k));

    // The second run resumes there; a SIGINT makes it save, the save's fsync (in the
    // background thread, which the stopping loop waits for) pauses, and a second SIGINT ends
    // the process then and there.
    let mut second = Probe::spawn(
        probe(&checkpoints, N, 1000, 200, &logs[1], &[])
            .env("RESUMABLE_TEST_PAUSE_AT", "before-sync")
            .env("RESUMABLE_TEST_PAUSE_MS", PAUSE_MS.to_string()),
    );
    second.wait_for_log(&logs[1], 1);
    second.signal(SIGINT);
    second.expect_line("resumable-test: paused at before-sync", 1);
    let signalled = Instant::now();
    second.signal(SIGINT);
    let second = second.finish();
    let took = signalled.elapsed();
    second.died_of(SIGINT).saved_nothing();
    assert!(
        took < Duration::from_millis(PAUSE_MS / 2),
        "the second SIGINT took {took:?} to end the process"
    );
    assert_eq!(
        resumed_at(&second.stderr, "probe_1000"),
        Some(k),
        "{}",
        second.context()
    );
    let second_log = read_log(&logs[1]);
    assert_eq!(second_log.first(), Some(&k));
    // The stop's checkpoint was written before the fsync began: a killed process loses
    // nothing written, so the third run resumes where the second stopped and completes.
    let stopped = k + second_log.len() as u64;
    let third = run(&mut probe(&checkpoints, N, 1000, 200, &logs[2], &[]));
    third.succeeded_with(&expected);
    assert_eq!(
        resumed_at(&third.stderr, "probe_1000"),
        Some(stopped),
        "{}",
        third.context()
    );
    assert!(!third.stderr.contains("warning"), "{}", third.context());
    assert_eq!(read_log(&logs[2]), indices(stopped, N));
    assert_eq!(files(&checkpoints), Vec::<String>::new());
    eprintln!(
        "second SIGINT: first run saved at {k}; the second ran {} iterations and died {took:?} \
         after the second SIGINT",
        second_log.len()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Outside the loop, signals do what they always do

#[test]
fn sigterm_before_the_loop_ends_the_process_without_saving() {
    let dir = scratch("before");
    let checkpoints = dir.join("ckpt");
    let log = dir.join("log");
    // In a fresh process, and in a second call, after the first call's loop installed the
    // handlers (each call sleeps before its loop).
    for (calls, sleep, nth) in [("1", "30000", 1), ("2", "1500", 2)] {
        let probe = Probe::spawn(&mut probe(
            &checkpoints,
            100,
            10,
            0,
            &log,
            &["--sleep-before", sleep, "--calls", calls],
        ));
        probe.expect_line("probe: sleeping before the loop", nth as u64);
        probe.signal(SIGTERM);
        let outcome = probe.finish();
        outcome.died_of(SIGTERM).saved_nothing();
        assert_eq!(
            outcome.stdout.lines().count(),
            nth - 1,
            "{}",
            outcome.context()
        );
        assert_eq!(read_log(&log), indices(0, 100 * (nth as u64 - 1)));
        assert_eq!(files(&checkpoints), Vec::<String>::new());
        let _ = std::fs::remove_file(&log);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sigterm_after_the_function_returned_ends_the_process_without_saving() {
    let dir = scratch("at-exit");
    let checkpoints = dir.join("ckpt");
    let log = dir.join("log");
    let expected = expected(100);
    let probe = Probe::spawn(&mut probe(
        &checkpoints,
        100,
        10,
        0,
        &log,
        &["--sleep-at-exit", "30000"],
    ));
    probe.expect_line("probe: sleeping at exit", 1);
    let signalled = Instant::now();
    probe.signal(SIGTERM);
    let outcome = probe.finish();
    outcome.died_of(SIGTERM).saved_nothing();
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert_eq!(outcome.stdout, expected);
    assert_eq!(files(&checkpoints), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Regression: the watch lived as long as the function's `Run`, so a signal after the loop was
/// swallowed (and left pending for the next loop in the process).
#[test]
fn sigterm_after_the_loop_inside_the_function_ends_the_process_without_saving() {
    let dir = scratch("after");
    let checkpoints = dir.join("ckpt");
    let log = dir.join("log");
    let probe = Probe::spawn(&mut probe(
        &checkpoints,
        100,
        10,
        0,
        &log,
        &["--sleep-after", "3000"],
    ));
    probe.expect_line("probe: sleeping after the loop", 1);
    probe.signal(SIGTERM);
    let outcome = probe.finish();
    outcome.died_of(SIGTERM).saved_nothing();
    assert_eq!(outcome.stdout, "");
    assert_eq!(read_log(&log), indices(0, 100));
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Signal handling turned off

/// With handling off (by `extra` arguments or `env`), SIGINT in the loop kills the probe where
/// it is: no save, and the next run resumes from the last periodic checkpoint.
fn sigint_kills_at_once(test: &str, extra: &[&str], env: &[(&str, &str)], function: &str) {
    const N: u64 = 5000;
    let expected = expected(N);
    let dir = scratch(test);
    let checkpoints = dir.join("ckpt");
    let (first_log, second_log) = (dir.join("first.log"), dir.join("second.log"));
    let mut command = probe(&checkpoints, N, 100, 200, &first_log, extra);
    command.envs(env.iter().copied());
    let mut first = Probe::spawn(&mut command);
    first.wait_for_log(&first_log, 250);
    first.signal(SIGINT);
    let first = first.finish();
    first.died_of(SIGINT).saved_nothing();
    assert!(first.stdout.is_empty(), "{}", first.context());
    let ran = read_log(&first_log);
    assert_eq!(ran, indices(0, ran.len() as u64));

    let second = run(&mut probe(&checkpoints, N, 100, 200, &second_log, extra));
    second.succeeded_with(&expected);
    // The last periodic checkpoint: a multiple of 100 at most 100 behind where the kill hit.
    let k = resumed_at(&second.stderr, function)
        .unwrap_or_else(|| panic!("no resume: {}", second.context()));
    let end = ran.len() as u64;
    assert!(
        k.is_multiple_of(100) && k <= end && end - k <= 100,
        "resumed at {k}, killed at {end}"
    );
    assert_eq!(read_log(&second_log), indices(k, N));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn with_resumable_signals_0_sigint_kills_at_once_without_saving() {
    sigint_kills_at_once("env-off", &[], &[("RESUMABLE_SIGNALS", "0")], "probe_100");
}

#[test]
fn with_signals_false_sigint_kills_at_once_without_saving() {
    sigint_kills_at_once("attr-off", &["--no-signals"], &[], "probe_nosig_100");
}

// ---------------------------------------------------------------------------------------------
// One run per checkpoint

#[test]
fn a_second_run_on_the_same_checkpoint_fails_fast_naming_the_file_and_the_holder() {
    const N: u64 = 3000;
    let expected = expected(N);
    let dir = scratch("lock");
    let checkpoints = dir.join("ckpt");
    let (first_log, second_log) = (dir.join("first.log"), dir.join("second.log"));
    let mut first = Probe::spawn(&mut probe(&checkpoints, N, 100, 1000, &first_log, &[]));
    first.wait_for_log(&first_log, 1);

    let started = Instant::now();
    let second = run(&mut probe(&checkpoints, N, 100, 1000, &second_log, &[]));
    let took = started.elapsed();
    assert!(
        first.still_running(),
        "the first run ended before the second failed"
    );
    assert!(!second.status.success(), "{}", second.context());
    assert_eq!(second.status.code(), Some(101), "{}", second.context());
    let message = format!(
        "checkpoint {} is in use by another run (process {})",
        checkpoints.join("probe-e100.ckpt").display(),
        first.pid()
    );
    assert!(second.stderr.contains(&message), "{}", second.context());
    assert!(second.stdout.is_empty());
    assert_eq!(read_log(&second_log), Vec::<u64>::new());

    let first = first.finish();
    first.succeeded_with(&expected);
    assert_eq!(read_log(&first_log), indices(0, N));
    assert_eq!(files(&checkpoints), Vec::<String>::new());
    eprintln!("lock: the second run failed after {took:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// A long iteration: the signal is answered at once, the save comes at its end

#[test]
fn sigint_during_a_long_iteration_says_at_once_that_the_loop_stops_at_its_end() {
    let dir = scratch("long-iteration");
    let checkpoints = dir.join("ckpt");
    let log = dir.join("log");
    // Iterations of 3 s: the signal lands early in the second one.
    let mut probe = Probe::spawn(&mut probe(&checkpoints, 4, 1, 3_000_000, &log, &[]));
    probe.wait_for_log(&log, 2);
    let sent = Instant::now();
    probe.signal(SIGINT);
    probe.expect_line(
        "resumable: SIGINT: the loop stops at the end of its current iteration, saves its \
         checkpoint and exits; another SIGINT exits now, without saving",
        1,
    );
    let answered = sent.elapsed();
    let out = probe.finish();
    let waited = sent.elapsed();
    out.died_of(SIGINT);
    assert!(
        answered < Duration::from_millis(2500),
        "answered after {answered:?}"
    );
    // Saved once the iteration (3 s from its start) ended, after the notice.
    let checkpoint = checkpoints.join("probe-e1.ckpt");
    assert_eq!(
        saved_at(&out.stderr, "SIGINT", "probe_1", &checkpoint),
        Some(2),
        "{}",
        out.stderr
    );
    assert!(waited > answered, "{waited:?} {answered:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
