//! `resumable-probe`: the program the end-to-end tests kill, signal and restart
//! (`tests/kill_harness.rs`, `tests/signals.rs`). Not an example: it exists to be observed.
//!
//! ```text
//! resumable-probe N EVERY DELAY_US LOG [--no-signals]
//!                 [--sleep-before MS] [--sleep-after MS] [--sleep-at-exit MS]
//!                 [--calls K]
//! ```
//!
//! A `#[resumable]` loop over `0..N` that saves every `EVERY` iterations (1, 10, 100 or 1000;
//! the attribute needs a literal, so there is one function per value) into checkpoint
//! `probe-e<EVERY>` (`probe-nosig-e<EVERY>` with `--no-signals`, whose function has
//! `signals = false`). Each iteration first appends its index and a newline to `LOG` (one
//! `write` per line, the file opened once in append mode), so the log records every index that
//! started executing, in every run; then it sleeps `DELAY_US` µs and updates its state: an
//! order-sensitive 64-bit hash of the indices and a count.
//!
//! On success it prints one line, `probe n=<N> count=<count> hash=<hash>`, on stdout.
//!
//! Sleeps, to be signalled in (each announced on stderr first, then `MS` ms long):
//! - `--sleep-before MS`: `probe: sleeping before the loop`, inside the function, before its
//!   loop starts;
//! - `--sleep-after MS`: `probe: sleeping after the loop`, inside the function, after its loop
//!   ended (the loop's checkpoint is already removed; the function has not returned);
//! - `--sleep-at-exit MS`: `probe: sleeping at exit`, in `main`, after the result is printed.
//!
//! `--calls K` calls the function `K` times in a row (default 1), printing the result after
//! each call: every call after the first runs in a process whose signal handlers are installed.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use resumable::resumable;

/// How the probe function behaves, besides `N`.
#[derive(Hash)]
struct Options {
    /// Per iteration, after logging the index.
    delay: Duration,
    /// Before the loop.
    before: Option<Duration>,
    /// After the loop.
    after: Option<Duration>,
}

/// Announces a sleep on stderr, then sleeps.
fn sleep_announced(sleep: Option<Duration>, what: &str) {
    if let Some(duration) = sleep {
        eprintln!("probe: sleeping {what}");
        std::thread::sleep(duration);
    }
}

/// One iteration: log the index, wait, then fold it into the state.
fn step(i: u64, delay: Duration, log: &mut File, hash: &mut u64, count: &mut u64) {
    // One `write(2)` per line: a kill leaves whole lines only.
    log.write_all(format!("{i}\n").as_bytes())
        .and_then(|()| log.flush())
        .expect("append to the log");
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    *hash = (*hash ^ i)
        .wrapping_mul(0x0000_0100_0000_01B3)
        .rotate_left(7);
    *count += 1;
}

/// The FNV-1a offset basis: any non-zero start will do.
const SEED: u64 = 0xCBF2_9CE4_8422_2325;

/// A probe function: `0..n` with these options, logging to the file; `(hash, count)`.
type ProbeFn = fn(u64, &Options, &mut File) -> (u64, u64);

/// Defines one probe function: `#[resumable(<attributes>)]` on the loop described above.
macro_rules! probe {
    ($function:ident, $($attributes:tt)*) => {
        #[resumable($($attributes)*, key = ())]
        fn $function(n: u64, options: &Options, log: &mut File) -> (u64, u64) {
            let mut hash = SEED;
            let mut count = 0u64;
            sleep_announced(options.before, "before the loop");
            for i in 0..n {
                step(i, options.delay, log, &mut hash, &mut count);
            }
            sleep_announced(options.after, "after the loop");
            (hash, count)
        }
    };
}

/// Defines one probe function per `every`, with and without signal handling.
macro_rules! probes {
    ($(($every:literal, $with:ident, $name:literal, $without:ident, $nosig_name:literal)),* $(,)?) => {
        $(
            // `log` is where the iterations are recorded as they run, not state.
            probe!($with, every = $every, name = $name, skip(log));
            probe!($without, every = $every, name = $nosig_name, signals = false, skip(log));
        )*

        /// The probe function for `every`, if there is one.
        fn probe_for(every: u64, signals: bool) -> Option<ProbeFn> {
            match (every, signals) {
                $(
                    ($every, true) => Some($with),
                    ($every, false) => Some($without),
                )*
                _ => None,
            }
        }
    };
}

probes! {
    (1, probe_1, "probe-e1", probe_nosig_1, "probe-nosig-e1"),
    (10, probe_10, "probe-e10", probe_nosig_10, "probe-nosig-e10"),
    (100, probe_100, "probe-e100", probe_nosig_100, "probe-nosig-e100"),
    (1000, probe_1000, "probe-e1000", probe_nosig_1000, "probe-nosig-e1000"),
}

const USAGE: &str = "usage: resumable-probe N EVERY DELAY_US LOG [--no-signals] \
                     [--sleep-before MS] [--sleep-after MS] [--sleep-at-exit MS] [--calls K]";

fn number(arg: Option<String>, what: &str) -> Result<u64, String> {
    let arg = arg.ok_or_else(|| format!("missing {what}\n{USAGE}"))?;
    arg.parse()
        .map_err(|_| format!("{what} must be a whole number, not {arg:?}\n{USAGE}"))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("resumable-probe: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let n = number(args.next(), "N")?;
    let every = number(args.next(), "EVERY")?;
    let delay = Duration::from_micros(number(args.next(), "DELAY_US")?);
    let log_path = args.next().ok_or_else(|| format!("missing LOG\n{USAGE}"))?;
    let mut signals = true;
    let mut options = Options {
        delay,
        before: None,
        after: None,
    };
    let mut at_exit = None;
    let mut calls = 1;
    let millis = |arg: Option<String>, flag: &str| {
        number(arg, &format!("{flag} MS")).map(|ms| Some(Duration::from_millis(ms)))
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--no-signals" => signals = false,
            "--sleep-before" => options.before = millis(args.next(), &flag)?,
            "--sleep-after" => options.after = millis(args.next(), &flag)?,
            "--sleep-at-exit" => at_exit = millis(args.next(), &flag)?,
            "--calls" => calls = number(args.next(), "--calls K")?,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let probe = probe_for(every, signals)
        .ok_or_else(|| format!("EVERY must be 1, 10, 100 or 1000, not {every}"))?;
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|err| format!("cannot open the log {log_path}: {err}"))?;

    for _ in 0..calls {
        let (hash, count) = probe(n, &options, &mut log);
        println!("probe n={n} count={count} hash={hash:016x}");
    }
    sleep_announced(at_exit, "at exit");
    Ok(())
}
