//! SIGINT and SIGTERM sent to the probe program (`tests/programs/probe.rs`):
//!
//! - in its loop: it saves at the next iteration boundary, says so, and dies of the signal;
//!   the next run resumes exactly there, so no index is executed twice and none is skipped;
//! - a second SIGINT while that save is in progress kills it at once, and the checkpoint before
//!   it still loads;
//! - outside its loop, or with signal handling turned off: it dies of the signal, saving
//!   nothing;
//! - a second process on the same checkpoint fails at once, naming the file and the holder.
//!
//! Signals are sent with `kill(1)`. The random instants come from a clock-seeded PRNG whose
//! seed is printed; `RESUMABLE_SEED=<seed>` replays them.

use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

// ---------------------------------------------------------------------------------------------
// Helpers (the same as in kill_harness.rs: test targets cannot share code without a module)

/// A fresh, empty directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resumable-signals-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// xorshift64*: enough randomness to vary the instants, reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn from_clock(test: &str) -> Rng {
        let seed = match std::env::var("RESUMABLE_SEED") {
            Ok(seed) => seed.trim().parse().expect("RESUMABLE_SEED must be a u64"),
            Err(_) => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64,
        };
        eprintln!("{test}: seed {seed} (replay with RESUMABLE_SEED={seed})");
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// The probe with `n`, `every`, `delay_us` and `log`, checkpointing into `dir`; `extra`
/// arguments after those.
fn probe(dir: &Path, n: u64, every: u64, delay_us: u64, log: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable-probe"));
    command
        .args([n, every, delay_us].map(|arg| arg.to_string()))
        .arg(log)
        .args(extra)
        .env("RESUMABLE_DIR", dir)
        .env_remove("RESUMABLE_RESET")
        .env_remove("RESUMABLE_SIGNALS")
        .env_remove("RESUMABLE_TEST_PAUSE_AT")
        .env_remove("RESUMABLE_TEST_PAUSE_MS");
    command
}

/// A running probe whose stderr is read line by line as it comes.
struct Probe {
    child: Child,
    lines: Receiver<String>,
    stderr: JoinHandle<String>,
    stdout: JoinHandle<String>,
}

/// How a probe ended.
struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn context(&self) -> String {
        format!(
            "{}\nstdout:\n{}\nstderr:\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    /// Asserts that the process died of `signal`.
    fn died_of(&self, signal: i32) -> &Self {
        assert_eq!(
            self.status.signal(),
            Some(signal),
            "did not die of signal {signal}: {}",
            self.context()
        );
        self
    }

    /// Asserts that it succeeded and printed `expected`.
    fn succeeded_with(&self, expected: &str) -> &Self {
        assert!(self.status.success(), "failed: {}", self.context());
        assert_eq!(self.stdout, expected, "{}", self.context());
        self
    }

    /// Asserts that nothing was saved because of a signal.
    fn saved_nothing(&self) -> &Self {
        assert!(
            !self.stderr.contains("saved checkpoint"),
            "{}",
            self.context()
        );
        self
    }
}

impl Probe {
    fn spawn(command: &mut Command) -> Probe {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the probe");
        let (send, lines) = channel();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // All of stderr as it came, a last line cut short by a kill included; each whole line
        // also goes to `lines` as soon as it is read.
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            loop {
                let mut line = String::new();
                let read = stderr
                    .read_line(&mut line)
                    .expect("read the probe's stderr");
                all.push_str(&line);
                match line.strip_suffix('\n') {
                    Some(whole) => {
                        let _ = send.send(whole.to_owned());
                    }
                    None if read == 0 => return all,
                    None => {}
                }
            }
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut all = String::new();
            out.read_to_string(&mut all)
                .expect("read the probe's stdout");
            all
        });
        Probe {
            child,
            lines,
            stderr,
            stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the `count`-th stderr line equal to `wanted`.
    fn wait_for_line(&self, wanted: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == wanted => {
                    seen += 1;
                    if seen == count {
                        return;
                    }
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => panic!("the probe exited before {wanted:?}"),
                Err(RecvTimeoutError::Timeout) => panic!("no {wanted:?} line after 60 s"),
            }
        }
    }

    /// Waits until `log` holds at least `lines` lines: the loop is running.
    fn wait_for_log(&mut self, log: &Path, lines: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.lines().count() >= lines {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the probe exited ({status}) before logging {lines} lines");
            }
            assert!(Instant::now() < deadline, "no {lines} log lines after 60 s");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .args(["-s", &signal.to_string(), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} {} failed", self.pid());
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn finish(mut self) -> Outcome {
        let status = self.child.wait().expect("wait for the probe");
        Outcome {
            status,
            stdout: self.stdout.join().unwrap(),
            stderr: self.stderr.join().unwrap(),
        }
    }
}

fn run(command: &mut Command) -> Outcome {
    Probe::spawn(command).finish()
}

/// The iteration a `resuming <function> at iteration K (...)` line names, if there is one.
fn resumed_at(stderr: &str, function: &str) -> Option<u64> {
    let prefix = format!("resuming {function} at iteration ");
    let line = stderr.lines().find(|line| line.starts_with(&prefix))?;
    let digits: String = line[prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(digits.parse().unwrap())
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

/// The indices a run logged, in order.
fn read_log(path: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{} ends with a partial line",
        path.display()
    );
    text.lines()
        .map(|line| line.parse().expect("a log line is an index"))
        .collect()
}

/// The files in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
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
    let mut rng = Rng::from_clock("random signals");
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
fn a_second_sigint_while_saving_kills_at_once_and_the_previous_checkpoint_still_loads() {
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
    let saved = std::fs::read(&checkpoint).unwrap();

    // The second run resumes there; a SIGINT makes it save, the save pauses before its fsync,
    // and a second SIGINT ends it then and there.
    let mut second = Probe::spawn(
        probe(&checkpoints, N, 1000, 200, &logs[1], &[])
            .env("RESUMABLE_TEST_PAUSE_AT", "before-sync")
            .env("RESUMABLE_TEST_PAUSE_MS", PAUSE_MS.to_string()),
    );
    second.wait_for_log(&logs[1], 1);
    second.signal(SIGINT);
    second.wait_for_line("resumable-test: paused at before-sync", 1);
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
    assert_eq!(
        std::fs::read(&checkpoint).unwrap(),
        saved,
        "the checkpoint changed"
    );

    // The third run resumes from the first run's checkpoint and completes.
    let third = run(&mut probe(&checkpoints, N, 1000, 200, &logs[2], &[]));
    third.succeeded_with(&expected);
    assert_eq!(
        resumed_at(&third.stderr, "probe_1000"),
        Some(k),
        "{}",
        third.context()
    );
    assert!(!third.stderr.contains("warning"), "{}", third.context());
    assert_eq!(read_log(&logs[2]), indices(k, N));
    // Its start removed the temporary file the killed save left.
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
        probe.wait_for_line("probe: sleeping before the loop", nth);
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
    probe.wait_for_line("probe: sleeping at exit", 1);
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
    probe.wait_for_line("probe: sleeping after the loop", 1);
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
