//! Read a big file, write an output as you go: keep the `ERROR` lines of a log.
//!
//! ```text
//! cargo run --release --example filter_lines                 # a log of 2,000,000 lines
//! cargo run --release --example filter_lines -- 200000 20    # 200,000 lines, 20 µs each
//! ```
//! The log (`filter_lines-<N>.log`) is written first if it is not there. Stop the filter
//! (Ctrl-C, `kill -9`, a panic) and run the same command again: the input resumes at the
//! byte the last checkpoint saved (one seek, not a read of everything before it), the output
//! (`filter_lines-<N>.out`) is cut back to the length saved with that checkpoint and goes on
//! from there, and it prints what an uninterrupted run prints: the lines kept, and a checksum
//! of the output file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use resumable::io::{Lines, Output};
use resumable::resumable;

/// Keeps the lines of `input` that `keep` accepts, in `output`. Each checkpoint saves where
/// `Lines` stands in the input, the output's length and `kept`.
// The key is the two paths: a run with another `delay` resumes this one.
#[resumable(every = 10_000, key = (input, output))]
fn filter(input: &Path, output: &Path, delay: Duration) -> anyhow::Result<u64> {
    let mut out = Output::create(output)?;
    let mut kept = 0u64;
    for line in Lines::open(input)? {
        let line = line?;
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if keep(&line) {
            writeln!(out, "{line}")?;
            kept += 1;
        }
    }
    out.finish()?;
    Ok(kept)
}

fn keep(line: &str) -> bool {
    line.contains(" ERROR ")
}

/// A log of `n` lines, the same for the same `n`.
fn write_log(path: &Path, n: u64) -> std::io::Result<()> {
    let mut log = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..n {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let level = ["INFO", "INFO", "INFO", "WARN", "ERROR"][(state >> 60) as usize % 5];
        let millis = (state >> 40) % 2000;
        writeln!(
            log,
            "2026-12-07T{:06} {level} request {i} took {millis} ms",
            i % 86_400
        )?;
    }
    log.flush()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(Ok(2_000_000), |arg| arg.parse())?;
    let delay_us: u64 = args.next().map_or(Ok(0), |arg| arg.parse())?;
    let input = PathBuf::from(format!("filter_lines-{n}.log"));
    let output = PathBuf::from(format!("filter_lines-{n}.out"));
    if !input.exists() {
        write_log(&input, n)?;
    }
    let kept = filter(&input, &output, Duration::from_micros(delay_us))?;
    let checksum = std::fs::read(&output)?.iter().fold(0u64, |sum, &byte| {
        sum.wrapping_mul(31).wrapping_add(u64::from(byte))
    });
    println!("{kept} {checksum:016x}");
    Ok(())
}
