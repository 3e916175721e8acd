//! A job that reads a line file and writes one line per input line (issue 23's benchmarks,
//! `scripts/bench_io.py`), three ways:
//!
//! ```text
//! resumable-io-job MODE INPUT OUTPUT
//! ```
//!
//! - `resumable`: `#[resumable(every = 1000)]` over `io::Lines` into `io::Output` (a resume
//!   seeks to the saved position and cuts the output back to the saved length);
//! - `std-skip`: `#[resumable(every = 1000)]` over `BufReader::lines`, counting what it would
//!   write (a resume skips the lines before the checkpoint one by one, with `nth`);
//! - `plain`: the same job with `BufReader::lines` and `BufWriter<File>`, no attribute.
//!
//! `STOP_AT=N` ends the process when it has handled `N` lines, saving nothing (as a kill
//! would); `PANIC_AT=N` panics there, `ERROR_AT=N` returns an `io::Error` there through `?`
//! (before the iteration touches the state, so the failure saves if it can).
//! `FILTER=1` writes only the lines whose length is not a multiple of 3 (a filtered copy).
//! Prints `first_line_ms <ms>` on stderr: from the process's start to the first line this
//! process handles; and `<lines> <bytes>` on stdout. `tests/io_kill.rs` runs it too.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use resumable::io::{Lines, Output};
use resumable::resumable;

static STARTED: OnceLock<Instant> = OnceLock::new();
static HANDLED: AtomicU64 = AtomicU64::new(0);
static STOP_AT: OnceLock<Option<u64>> = OnceLock::new();
static PANIC_AT: OnceLock<Option<u64>> = OnceLock::new();
static ERROR_AT: OnceLock<Option<u64>> = OnceLock::new();
static FILTER: OnceLock<bool> = OnceLock::new();

fn env_line(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|at| at.parse().expect(name))
}

/// Called for each line this process handles: reports the first, and stops, panics or fails
/// where the environment says.
fn arrived() -> std::io::Result<()> {
    let line = HANDLED.fetch_add(1, Relaxed);
    if line == 0 {
        let ms = STARTED.get().unwrap().elapsed().as_secs_f64() * 1e3;
        eprintln!("first_line_ms {ms:.3}");
    }
    let at =
        |which: &OnceLock<Option<u64>>, name| *which.get_or_init(|| env_line(name)) == Some(line);
    if at(&STOP_AT, "STOP_AT") {
        std::process::exit(3);
    }
    if at(&PANIC_AT, "PANIC_AT") {
        panic!("injected panic at line {line}");
    }
    if at(&ERROR_AT, "ERROR_AT") {
        return Err(std::io::Error::other(format!(
            "injected error at line {line}"
        )));
    }
    Ok(())
}

/// What is written for each line read.
fn transformed(out: &mut impl Write, line: &str) -> std::io::Result<()> {
    let filter = *FILTER.get_or_init(|| std::env::var_os("FILTER").is_some());
    if filter && line.len().is_multiple_of(3) {
        return Ok(());
    }
    writeln!(out, "{}\t{}", line.len(), line)
}

#[resumable(every = 1000, key = ())]
fn with_resumable(input: &Path, output: &Path) -> std::io::Result<(u64, u64)> {
    let mut out = Output::create(output)?;
    let mut lines = 0u64;
    let mut bytes = 0u64;
    for line in Lines::open(input)? {
        let line = line?;
        arrived()?;
        transformed(&mut out, &line)?;
        lines += 1;
        bytes += line.len() as u64;
    }
    out.finish()?;
    Ok((lines, bytes))
}

#[resumable(every = 1000, key = ())]
fn with_std_skip(input: &Path) -> std::io::Result<(u64, u64)> {
    let mut lines = 0u64;
    let mut bytes = 0u64;
    for line in BufReader::with_capacity(64 * 1024, File::open(input)?).lines() {
        let line = line?;
        arrived()?;
        lines += 1;
        bytes += line.len() as u64 + 1;
    }
    Ok((lines, bytes))
}

fn plain(input: &Path, output: &Path) -> std::io::Result<(u64, u64)> {
    let mut out = BufWriter::with_capacity(64 * 1024, File::create(output)?);
    let mut lines = 0u64;
    let mut bytes = 0u64;
    for line in BufReader::with_capacity(64 * 1024, File::open(input)?).lines() {
        let line = line?;
        arrived()?;
        transformed(&mut out, &line)?;
        lines += 1;
        bytes += line.len() as u64;
    }
    out.flush()?;
    out.get_ref().sync_data()?;
    Ok((lines, bytes))
}

fn main() -> std::io::Result<()> {
    STARTED.get_or_init(Instant::now);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, input, output] = &args[..] else {
        panic!("usage: resumable-io-job resumable|std-skip|plain INPUT OUTPUT");
    };
    let (input, output) = (Path::new(input), Path::new(output));
    let (lines, bytes) = match mode.as_str() {
        "resumable" => with_resumable(input, output)?,
        "std-skip" => with_std_skip(input)?,
        "plain" => plain(input, output)?,
        other => panic!("unknown mode {other}"),
    };
    println!("{lines} {bytes}");
    Ok(())
}
