//! A loop that reads a 200 MB file and writes a filtered copy (`io::Lines` into `io::Output`,
//! `tests/programs/io_job.rs`), ended by a panic, a `?` error, SIGINT and `kill -9` at random
//! instants, then run to the end: the output file is byte-identical to an uninterrupted run's,
//! and so is the result (issue 23).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Probe, Rng, Scratch};

/// A 200 MB input of lines of varied length (some empty), the same every time.
fn write_input(path: &Path) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut written = 0usize;
    let mut i = 0u64;
    while written < 200 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 160) as usize;
        let line = format!("{i} {}", "abcdefghij".repeat(16)[..len].to_owned());
        writeln!(file, "{line}").unwrap();
        written += line.len() + 1;
        i += 1;
    }
    file.flush().unwrap();
}

/// What an uninterrupted run writes and prints (see `io_job.rs`: `FILTER=1`).
fn uninterrupted(input: &Path) -> (Vec<u8>, String) {
    let text = std::fs::read_to_string(input).unwrap();
    let mut out = Vec::new();
    let (mut lines, mut bytes) = (0u64, 0u64);
    for line in text.lines() {
        if line.len() % 3 != 0 {
            writeln!(out, "{}\t{}", line.len(), line).unwrap();
        }
        lines += 1;
        bytes += line.len() as u64;
    }
    (out, format!("{lines} {bytes}\n"))
}

fn job(scratch: &Scratch) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable-io-job"));
    command
        .args(["resumable", "input.txt", "output.txt"])
        .current_dir(&scratch.0)
        .env("RESUMABLE_DIR", scratch.path("ckpt"))
        .env("FILTER", "1");
    command
}

#[test]
fn a_filtered_copy_interrupted_every_way_is_byte_identical_to_an_uninterrupted_one() {
    let scratch = Scratch::new("io-kill");
    let input = scratch.path("input.txt");
    write_input(&input);
    let (expected_output, expected_stdout) = uninterrupted(&input);
    let mut rng = Rng::from_clock("io-kill", "IO_KILL_SEED");

    // A panic, then a `?` error: each ends the run with the failure.
    for (var, at) in [("PANIC_AT", "300000"), ("ERROR_AT", "900000")] {
        let out = job(&scratch).env(var, at).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "injected {}",
                if var == "PANIC_AT" { "panic" } else { "error" }
            )),
            "{stderr}"
        );
    }
    // SIGINT: the run saves and stops.
    let probe = Probe::spawn(&mut job(&scratch));
    std::thread::sleep(Duration::from_millis(rng.range(200, 800)));
    probe.signal(2);
    let outcome = probe.finish();
    assert!(
        !outcome.status.success() || outcome.stdout == expected_stdout,
        "{}",
        outcome.stderr
    );
    // kill -9 at random instants, each run resuming the one before.
    for _ in 0..3 {
        let mut probe = Probe::spawn(&mut job(&scratch));
        std::thread::sleep(Duration::from_millis(rng.range(100, 1200)));
        probe.kill();
        probe.finish();
    }
    let last = job(&scratch).output().unwrap();
    let stderr = String::from_utf8_lossy(&last.stderr);
    assert!(last.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&last.stdout),
        expected_stdout,
        "{stderr}"
    );
    let output = std::fs::read(scratch.path("output.txt")).unwrap();
    assert!(
        output == expected_output,
        "the output differs from an uninterrupted run's: {} bytes against {} (the seed to \
         replay is on stderr)",
        output.len(),
        expected_output.len(),
    );
}
