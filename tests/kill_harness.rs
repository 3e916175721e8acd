//! SIGKILL harness: the probe program (`tests/programs/probe.rs`) is killed with SIGKILL at
//! random instants, and while the background sync thread is at each of its pause points (the
//! fsync, and the renames that move a new log into place), and restarted until it completes.
//! After every run:
//!
//! - its stderr holds nothing but `resuming …` and `resumable-test: paused at …` lines: no
//!   warning about a damaged checkpoint or a fallback, no failure to load;
//! - it either succeeded or died of our SIGKILL (a non-zero exit without a kill fails);
//! - its log is consecutive indices starting where its `resuming` line says (0 without one);
//! - that start is never past what has been executed (no gap), never behind an earlier
//!   restart's start, and at most `every` indices behind it (a kill loses at most `every`
//!   iterations of work).
//!
//! When a job completes: it printed what an uninterrupted run prints, every index of `0..N`
//! was executed at least once, and the checkpoint directory is empty.
//!
//! ```text
//! cargo test --test kill_harness -- --nocapture                  # 25 random kills, 2 per pause point
//! RESUMABLE_KILLS=1000 cargo test --release --test kill_harness -- --nocapture
//! RESUMABLE_SEED=<seed> cargo test --test kill_harness           # replay the printed seed
//! ```
//!
//! `RESUMABLE_KILLS` is the number of random kills; each pause point gets
//! `max(2, RESUMABLE_KILLS / 25)` kills (so 1,000 random kills come with 40 per point, 1,160
//! kills in all). The seed fixes the kill delays (the instants they hit still depend on
//! scheduling).

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Outcome, Probe, Rng, files, probe, read_log, resumed_at, scratch};

/// The probe's loop: `N` iterations of `DELAY_US` µs, a checkpoint every `EVERY`.
const N: u64 = 2000;
const EVERY: u64 = 10;
const DELAY_US: u64 = 200;
/// The probe's checkpoint for `EVERY`.
const CHECKPOINT: &str = "probe-e10.ckpt";
/// The storage protocol's pause points (`RESUMABLE_TEST_PAUSE_AT`).
const PAUSE_POINTS: [&str; 4] = [
    "before-sync",
    "before-rotate",
    "before-rename",
    "after-rename",
];
/// How long a save pauses at its point: ample time for the kill to land there.
const PAUSE_MS: u64 = 250;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Random kills, from `RESUMABLE_KILLS` (default 25).
fn random_kills() -> u64 {
    match std::env::var("RESUMABLE_KILLS") {
        Ok(kills) => kills
            .trim()
            .parse()
            .expect("RESUMABLE_KILLS must be a whole number"),
        Err(_) => 25,
    }
}

// ---------------------------------------------------------------------------------------------
// A job: one computation of `0..N`, run again after every kill until it completes

/// What one run of a job came to.
#[derive(Debug, PartialEq)]
enum Ended {
    /// Killed: the job goes on.
    Killed,
    /// Succeeded: the job is done.
    Completed,
    /// Killed after its loop finished and removed the checkpoint: done too, but its result may
    /// not have been printed.
    KilledAfterTheLoop,
}

/// What one run did, for the caller's own checks.
struct Run {
    ended: Ended,
    /// Where it started: its `resuming` line's iteration, or 0.
    start: u64,
    /// The indices it logged.
    log: Vec<u64>,
    stderr: String,
}

struct Job {
    dir: PathBuf,
    checkpoints: PathBuf,
    expected: String,
    runs: u64,
    kills: u64,
    /// Executions of each index so far.
    executions: Vec<u32>,
    /// One past the highest index executed so far.
    frontier: u64,
    /// The start of the last restart whose start is known.
    last_start: u64,
    /// Per restart: how far behind the most advanced run it resumed (the work a kill lost).
    lost: Vec<u64>,
}

impl Job {
    fn new(dir: PathBuf, expected: &str) -> Job {
        let checkpoints = dir.join("checkpoints");
        Job {
            dir,
            checkpoints,
            expected: expected.to_owned(),
            runs: 0,
            kills: 0,
            executions: vec![0; N as usize],
            frontier: 0,
            last_start: 0,
            lost: Vec::new(),
        }
    }

    fn log_path(&self, run: u64) -> PathBuf {
        self.dir.join(format!("run-{run}.log"))
    }

    /// The probe's command for the next run; `pause` makes every save pause at that point.
    fn command(&self, pause: Option<&str>) -> Command {
        let log = self.log_path(self.runs);
        let mut command = probe(&self.checkpoints, N, EVERY, DELAY_US, &log, &[]);
        if let Some(point) = pause {
            command
                .env("RESUMABLE_TEST_PAUSE_AT", point)
                .env("RESUMABLE_TEST_PAUSE_MS", PAUSE_MS.to_string());
        }
        command
    }

    /// Checks one finished run against everything before it; see the file's comment.
    fn record(&mut self, outcome: Outcome) -> Run {
        let Outcome {
            status,
            stdout,
            mut stderr,
        } = outcome;
        let what = format!("{}, run {}", self.dir.display(), self.runs);
        // A kill can cut a line short: `eprintln!` writes its pieces one by one.
        if status.signal() == Some(9) && !stderr.is_empty() && !stderr.ends_with('\n') {
            let cut = stderr.rfind('\n').map_or(0, |newline| newline + 1);
            eprintln!(
                "{what}: killed while writing {:?} to stderr",
                &stderr[cut..]
            );
            stderr.truncate(cut);
        }
        let log = read_log(&self.log_path(self.runs));
        self.runs += 1;
        let context = format!("{what}: {status}\nstdout:\n{stdout}\nstderr:\n{stderr}");

        for line in stderr.lines() {
            assert!(
                line.starts_with("resuming probe_10 at iteration ")
                    || line.starts_with("resumable-test: paused at "),
                "{what}: unexpected stderr line {line:?} (a damaged checkpoint, a fallback, a \
                 failure to load?)\n{context}"
            );
        }
        let completed = status.success();
        assert!(
            completed || status.signal() == Some(9),
            "{what}: exited without being killed\n{context}"
        );

        let start = resumed_at(&stderr, "probe_10").unwrap_or(0);
        if let Some(&first) = log.first() {
            assert_eq!(
                first, start,
                "{what}: the log does not start at the resume point"
            );
        }
        for (offset, &index) in log.iter().enumerate() {
            assert_eq!(
                index,
                start + offset as u64,
                "{what}: the log skips or repeats"
            );
        }
        let end = start + log.len() as u64;
        assert!(end <= N, "{what}: ran past N");
        let known_start = start > 0 || !log.is_empty() || completed;
        if known_start {
            assert!(
                start <= self.frontier,
                "{what}: resumed at {start}, but only 0..{} ever ran: a gap",
                self.frontier
            );
            assert!(
                start >= self.last_start,
                "{what}: resumed at {start}, behind an earlier restart's {}",
                self.last_start
            );
            let lost = self.frontier - start;
            assert!(
                lost <= EVERY,
                "{what}: resumed at {start}, {lost} iterations behind the {} that ran (every = \
                 {EVERY})",
                self.frontier
            );
            if self.runs > 1 {
                self.lost.push(lost);
            }
            self.last_start = start;
        }
        for &index in &log {
            self.executions[index as usize] += 1;
        }
        self.frontier = self.frontier.max(end);

        let ended = if completed {
            assert_eq!(stdout, self.expected, "{what}: wrong result");
            assert_eq!(end, N, "{what}: succeeded without running to the end");
            Ended::Completed
        } else {
            self.kills += 1;
            let left = files(&self.checkpoints);
            let checkpoint_left = left.iter().any(|name| {
                name == CHECKPOINT
                    || matches!(name.strip_prefix(CHECKPOINT), Some(".prev" | ".next"))
            });
            if end == N && !checkpoint_left {
                // The loop finished and removed its checkpoint before the kill: the job is done
                // (an uninterrupted run would now start over).
                assert!(
                    stdout.is_empty() || stdout == self.expected,
                    "{what}: printed {stdout:?}"
                );
                Ended::KilledAfterTheLoop
            } else {
                assert!(stdout.is_empty(), "{what}: a killed run printed {stdout:?}");
                Ended::Killed
            }
        };
        if ended != Ended::Killed {
            self.finished(&ended);
        }
        Run {
            ended,
            start,
            log,
            stderr,
        }
    }

    /// Executions beyond the first, over all indices.
    fn repeats(&self) -> u64 {
        self.executions
            .iter()
            .map(|&n| u64::from(n.saturating_sub(1)))
            .sum()
    }

    /// Checks a job that is done.
    fn finished(&self, ended: &Ended) {
        let what = self.dir.display();
        let missing: Vec<usize> = (0..N as usize)
            .filter(|&i| self.executions[i] == 0)
            .collect();
        assert!(missing.is_empty(), "{what}: never executed: {missing:?}");
        let repeats = self.repeats();
        assert!(
            repeats <= EVERY * self.kills,
            "{what}: {repeats} repeated executions after {} kills (every = {EVERY})",
            self.kills
        );
        let left = files(&self.checkpoints);
        if *ended == Ended::Completed {
            assert_eq!(left, Vec::<String>::new(), "{what}: files left behind");
        } else {
            // Killed between removing the checkpoint and removing the lock file.
            assert!(
                left.iter().all(|name| name.ends_with(".ckpt.lock")),
                "{what}: files left behind: {left:?}"
            );
        }
    }
}

/// Totals over the jobs of one test, printed at its end.
#[derive(Default)]
struct Totals {
    jobs: u64,
    runs: u64,
    kills: u64,
    lost: Vec<u64>,
    repeats: u64,
    after_the_loop: u64,
}

impl Totals {
    fn add(&mut self, job: &Job, ended: &Ended) {
        self.jobs += 1;
        self.runs += job.runs;
        self.kills += job.kills;
        self.lost.extend(&job.lost);
        self.repeats += job.repeats();
        self.after_the_loop += u64::from(*ended == Ended::KilledAfterTheLoop);
    }

    fn report(&self, test: &str, started: Instant) {
        let mut histogram = BTreeMap::new();
        for &lost in &self.lost {
            *histogram.entry(lost).or_insert(0u64) += 1;
        }
        eprintln!(
            "{test}: {} kills survived in {} runs of {} jobs, {:.1} s; {} kills landed after the \
             loop; {} iterations executed twice or more ({:.2} per kill, every = {EVERY}); \
             work lost per restart: max {}, histogram {histogram:?}",
            self.kills,
            self.runs,
            self.jobs,
            started.elapsed().as_secs_f64(),
            self.after_the_loop,
            self.repeats,
            self.repeats as f64 / self.kills.max(1) as f64,
            self.lost.iter().max().copied().unwrap_or(0),
        );
    }
}

/// The stdout of one uninterrupted run, and how long it took.
fn uninterrupted(test: &str) -> (String, Duration) {
    let mut job = Job::new(scratch(&format!("{test}-clean")), "");
    let started = Instant::now();
    let outcome = Probe::spawn(&mut job.command(None)).finish();
    let took = started.elapsed();
    assert!(outcome.status.success(), "{}", outcome.stderr);
    assert!(outcome.stdout.starts_with("probe n=2000 count=2000 hash="));
    job.expected = outcome.stdout.clone();
    let run = job.record(outcome);
    assert_eq!(run.ended, Ended::Completed);
    std::fs::remove_dir_all(&job.dir).unwrap();
    (job.expected, took)
}

// ---------------------------------------------------------------------------------------------
// SIGKILL at random instants

#[test]
fn sigkill_at_random_instants_loses_at_most_every_iterations_and_never_a_checkpoint() {
    let test = "random";
    let started = Instant::now();
    let (expected, full) = uninterrupted(test);
    let mut rng = Rng::from_clock(test, "RESUMABLE_SEED");
    let target = random_kills();
    let mut totals = Totals::default();
    let root = scratch(test);
    // Time per iteration, saves included: measured by the uninterrupted run, then by every
    // run after it (fsync latency, and with it the speed, varies a lot).
    let mut per_iteration_us = full.as_micros() as f64 / N as f64;
    while totals.kills < target {
        let mut job = Job::new(root.join(format!("job-{}", totals.jobs)), &expected);
        std::fs::create_dir_all(&job.dir).unwrap();
        let ended = loop {
            assert!(job.runs < 10_000, "the job never completes");
            // A kill anywhere from the spawn to about the end of what is left to do.
            let left = N - job.last_start.max(job.frontier.saturating_sub(EVERY));
            let budget = (per_iteration_us * left as f64) as u64 + 5_000;
            let delay = Duration::from_micros(rng.range(0, budget));
            let spawned = Instant::now();
            let mut probe = Probe::spawn(&mut job.command(None));
            if totals.kills + job.kills < target {
                std::thread::sleep(delay);
                probe.kill();
            }
            let run = job.record(probe.finish());
            if run.log.len() >= 20 {
                let measured = spawned.elapsed().as_micros() as f64 / run.log.len() as f64;
                per_iteration_us = 0.7 * per_iteration_us + 0.3 * measured;
            }
            if run.ended != Ended::Killed {
                break run.ended;
            }
        };
        totals.add(&job, &ended);
        std::fs::remove_dir_all(&job.dir).unwrap();
    }
    totals.report(test, started);
    std::fs::remove_dir_all(root).unwrap();
}

// ---------------------------------------------------------------------------------------------
// SIGKILL at each pause point of a save

#[test]
fn sigkill_at_every_pause_point_resumes_from_the_right_generation() {
    let test = "pause";
    let started = Instant::now();
    let (expected, _) = uninterrupted(test);
    let mut rng = Rng::from_clock(test, "RESUMABLE_SEED");
    let per_point = (random_kills() / 25).max(2);
    // Each point `per_point` times, in a shuffled order.
    let mut points: Vec<&str> = PAUSE_POINTS
        .iter()
        .flat_map(|&point| std::iter::repeat_n(point, per_point as usize))
        .collect();
    for i in (1..points.len()).rev() {
        points.swap(i, rng.range(0, i as u64 + 1) as usize);
    }
    let mut totals = Totals::default();
    let mut at_point: BTreeMap<&str, u64> = BTreeMap::new();
    let root = scratch(test);
    let mut points = points.into_iter().peekable();
    while points.peek().is_some() {
        let mut job = Job::new(root.join(format!("job-{}", totals.jobs)), &expected);
        std::fs::create_dir_all(&job.dir).unwrap();
        // Where the next run must resume, known from how the last one was killed.
        let mut resume_at = None;
        let ended = loop {
            let point = points.peek().copied();
            let mut probe = Probe::spawn(&mut job.command(point));
            // The renames pause once per run (its first checkpoint starts a new log); a sync
            // at every group commit. Kill at the first pause.
            let paused = point.is_some_and(|point| {
                probe.wait_for_line(&format!("resumable-test: paused at {point}"), 1)
            });
            if paused {
                probe.kill();
            }
            let run = job.record(probe.finish());
            let what = format!("{}, run {}", job.dir.display(), job.runs - 1);
            // A run killed during recovery (moving a `.next` log into place pauses too) never
            // said where it resumed: the expectation carries over to the next run.
            let start_known = run.start > 0 || !run.log.is_empty() || run.ended != Ended::Killed;
            if let Some((newest_logged, end)) = resume_at.take_if(|_| start_known) {
                assert!(
                    run.start == newest_logged
                        || run.start == newest_logged + EVERY && run.start <= end,
                    "{what}: resumed at {}, but the newest checkpoint written was {newest_logged} \
                     (or {} if it was written just before the kill)\n{}",
                    run.start,
                    newest_logged + EVERY,
                    run.stderr
                );
            }
            if run.ended != Ended::Killed {
                break run.ended;
            }
            let point = point.expect("only runs that pause are killed");
            assert!(paused, "{what}: killed without pausing");
            points.next();
            *at_point.entry(point).or_default() += 1;
            assert!(
                run.stderr
                    .lines()
                    .any(|line| line == format!("resumable-test: paused at {point}")),
                "{what}: the kill did not land in the pause"
            );
            // The loop does not wait for the background thread: every checkpoint up to its last
            // boundary was written before the kill, so the next run resumes from the newest,
            // synced or not, moved into place or not. The checkpoint of index `s` is written
            // before iteration `s` is logged, so it is the last multiple of EVERY logged — or
            // the next one, written after the last logged iteration ended.
            if start_known {
                let end = run.start + run.log.len() as u64;
                let logged = end.saturating_sub(1) / EVERY * EVERY;
                resume_at = Some((logged.max(run.start), end));
            }
        };
        totals.add(&job, &ended);
        std::fs::remove_dir_all(&job.dir).unwrap();
    }
    eprintln!("{test}: kills per point {at_point:?}");
    for point in PAUSE_POINTS {
        assert_eq!(at_point.get(point), Some(&per_point), "{point}");
    }
    totals.report(test, started);
    std::fs::remove_dir_all(root).unwrap();
}
