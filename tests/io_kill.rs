//! A loop that reads a 200 MB file and writes a filtered copy (`io::Lines` into `io::Output`,
//! `tests/programs/io_job.rs`), ended by a panic, a `?` error, SIGINT and `kill -9` at random
//! instants, then run to the end: the output file is byte-identical to an uninterrupted run's,
//! and so is the result (issue 23). `IO_KILL_SEED` replays the instants.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

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

/// The job reading `input` into `output`, checkpointing into `ckpt`, all in `scratch`.
fn job(scratch: &Scratch, output: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable-io-job"));
    command
        .args(["resumable", "input.txt", output])
        .current_dir(&scratch.0)
        .env("RESUMABLE_DIR", scratch.path(&format!("ckpt-{output}")))
        .env("FILTER", "1");
    command
}

#[test]
fn a_filtered_copy_interrupted_every_way_is_byte_identical_to_an_uninterrupted_one() {
    let scratch = Scratch::new("io-kill");
    let input = scratch.path("input.txt");
    write_input(&input);
    // The uninterrupted run, timed: the kills below fall within fractions of its time.
    let started = Instant::now();
    let reference = job(&scratch, "reference.txt").output().unwrap();
    let took = started.elapsed();
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let expected_stdout = String::from_utf8_lossy(&reference.stdout).into_owned();
    let expected_output = std::fs::read(scratch.path("reference.txt")).unwrap();
    let mut rng = Rng::from_clock("io-kill", "IO_KILL_SEED");
    let fraction = |rng: &mut Rng, low: u64, high: u64| took * rng.range(low, high) as u32 / 100;
    // A panic, then a `?` error: each ends the run with the failure.
    for (var, at) in [("PANIC_AT", "300000"), ("ERROR_AT", "900000")] {
        let out = job(&scratch, "output.txt").env(var, at).output().unwrap();
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
    // The panic and the error ended the runs at 13% and 52% of the lines; SIGINT and three
    // kills each end one 3 to 10% of the whole run's time after its start.
    let mut probe = Probe::spawn(&mut job(&scratch, "output.txt"));
    std::thread::sleep(fraction(&mut rng, 3, 10));
    assert!(probe.still_running(), "SIGINT came after the run ended");
    probe.signal(2);
    let outcome = probe.finish();
    assert!(!outcome.status.success(), "{}", outcome.stderr);
    for _ in 0..3 {
        let mut probe = Probe::spawn(&mut job(&scratch, "output.txt"));
        std::thread::sleep(fraction(&mut rng, 3, 10));
        assert!(probe.still_running(), "the kill came after the run ended");
        probe.kill();
        probe.finish();
    }
    let last = job(&scratch, "output.txt").output().unwrap();
    let stderr = String::from_utf8_lossy(&last.stderr);
    assert!(last.status.success(), "{stderr}");
    assert!(
        stderr.contains("resuming with_resumable at iteration"),
        "{stderr}"
    );
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

/// A `Position` iterator says where it stands at checkpoint boundaries only (before it pulls
/// the next item): a failure in the iteration right after one saves there, a failure later
/// saves nothing and says so, and either resumes to the uninterrupted output.
#[test]
fn a_failure_saves_at_the_boundary_before_it_or_nothing_and_says_which() {
    let scratch = Scratch::new("io-failure-save");
    write_input(&scratch.path("input.txt"));
    let reference = job(&scratch, "reference.txt").output().unwrap();
    assert!(reference.status.success());
    // Lines handled by each process: the first fails in iteration 3000, right after the
    // boundary there; the second resumes at 3000 and fails in iteration 8500, after 8000's.
    for (at, said) in [
        ("3000", "so the next run starts again at iteration 3000"),
        (
            "5500",
            "nothing is saved, because the loop's iterator says where it stands only",
        ),
    ] {
        let failed = job(&scratch, "output.txt")
            .env("PANIC_AT", at)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(
            !failed.status.success() && stderr.contains(said),
            "{stderr}"
        );
    }
    let last = job(&scratch, "output.txt").output().unwrap();
    let stderr = String::from_utf8_lossy(&last.stderr);
    assert!(
        stderr.contains("resuming with_resumable at iteration 8000"),
        "{stderr}"
    );
    assert_eq!(last.stdout, reference.stdout);
    assert!(
        std::fs::read(scratch.path("output.txt")).unwrap()
            == std::fs::read(scratch.path("reference.txt")).unwrap()
    );
}
