//! `resumable::io::Output` in a `#[resumable]` loop (issue 23): a run interrupted and resumed
//! leaves the output file byte for byte as an uninterrupted run does, whether the failure came
//! before a save or after lines written past the last checkpoint; an output opened with
//! `append` keeps what it held; a fresh run over an empty input empties the old output; an
//! output cut short between the runs is refused, naming it, and resumes once put back; one
//! cut between two checkpoints' lengths (as a power loss can leave it) resumes from the older.
//!
//! Each test has its own directory, so its own checkpoints.

mod common;

use std::cell::Cell;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use common::{Scratch, panic_of};
use resumable::io::Output;
use resumable::resumable;

const N: u64 = 5000;
const FAIL_AT: u64 = 2345;

/// Where the iteration `i` fails, if it does: before it writes (a save at `i` then), or after
/// (the iteration changed the output: nothing is saved, the resume goes back to the
/// checkpoint before and cuts the lines written since).
#[derive(Clone, Copy, Debug, Hash)]
enum Fail {
    Never,
    BeforeWriting(u64),
    AfterWriting(u64),
}

thread_local! {
    /// Lines written by this thread's runs since the last `take_written`.
    static WRITTEN: Cell<u64> = const { Cell::new(0) };
}

fn take_written() -> u64 {
    WRITTEN.with(|written| written.replace(0))
}

/// Called before the iteration touches its state (so a failure saves at `i`).
fn before(i: u64, fail: Fail) {
    if let Fail::BeforeWriting(at) = fail
        && at == i
    {
        panic!("injected failure before writing {i}");
    }
}

fn line(out: &mut Output, i: u64, fail: Fail) -> std::io::Result<()> {
    WRITTEN.with(|written| written.set(written.get() + 1));
    writeln!(
        out,
        "item {i}: {}",
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40
    )?;
    if let Fail::AfterWriting(at) = fail
        && at == i
    {
        panic!("injected failure after writing {i}");
    }
    Ok(())
}

/// What an uninterrupted run writes after `head`.
fn expected(head: &str, n: u64) -> Vec<u8> {
    let mut out = head.as_bytes().to_vec();
    for i in 0..n {
        writeln!(
            out,
            "item {i}: {}",
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40
        )
        .unwrap();
    }
    out
}

fn checkpoints(dir: &Path) -> PathBuf {
    dir.join("checkpoints")
}

/// Writes line `i` for each `i` below `n`, failing where `fail` says (each test has its own
/// `dir`, so its own checkpoint).
#[resumable(every = 100, name = "io-output-lines", key = (), dir = checkpoints(dir))]
fn writes_lines(dir: &Path, n: u64, fail: Fail) -> std::io::Result<u64> {
    let mut out = Output::create(dir.join("out.txt"))?;
    let mut lines = 0u64;
    for i in 0..n {
        before(i, fail);
        line(&mut out, i, fail)?;
        lines += 1;
    }
    out.finish()?;
    Ok(lines)
}

#[resumable(every = 100, name = "io-output-header", key = (), dir = checkpoints(dir))]
fn with_a_header(dir: &Path, n: u64, fail: Fail) -> std::io::Result<u64> {
    let mut out = Output::create(dir.join("out.txt"))?;
    // Written again by the prelude of a resumed run, into the output the restore replaces;
    // the flush must not empty the file before the restore puts it back.
    writeln!(out, "header")?;
    out.flush()?;
    let mut lines = 0u64;
    for i in 0..n {
        before(i, fail);
        line(&mut out, i, fail)?;
        lines += 1;
    }
    out.finish()?;
    Ok(lines)
}

#[resumable(every = 100, name = "io-output-append", key = (), dir = checkpoints(dir))]
fn appends(dir: &Path, n: u64, fail: Fail) -> std::io::Result<u64> {
    let mut out = Output::append(dir.join("out.txt"))?;
    let mut lines = 0u64;
    for i in 0..n {
        before(i, fail);
        line(&mut out, i, fail)?;
        lines += 1;
    }
    out.finish()?;
    Ok(lines)
}

#[resumable(every = 100, name = "io-output-empty", key = (), dir = checkpoints(dir))]
fn writes_nothing(dir: &Path, n: u64) -> std::io::Result<u64> {
    let mut out = Output::create(dir.join("out.txt"))?;
    let mut lines = 0u64;
    for i in 0..n {
        line(&mut out, i, Fail::Never)?;
        lines += 1;
    }
    // Dropped, not finished: the drop decides the file.
    drop(out);
    Ok(lines)
}

fn read(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("out.txt")).unwrap()
}

#[test]
fn an_uninterrupted_run_writes_every_line_over_an_old_output() {
    let scratch = Scratch::new("io-output-reference");
    std::fs::write(
        scratch.path("out.txt"),
        "an old output, longer than nothing\n",
    )
    .unwrap();
    assert_eq!(writes_lines(&scratch.0, N, Fail::Never).unwrap(), N);
    assert!(read(&scratch.0) == expected("", N));
}

#[test]
fn a_run_resumed_after_lines_written_past_its_checkpoint_writes_them_once() {
    let scratch = Scratch::new("io-output-after");
    std::fs::write(scratch.path("out.txt"), "an old output\n").unwrap();
    let message = panic_of(|| writes_lines(&scratch.0, N, Fail::AfterWriting(FAIL_AT)));
    assert!(
        message.contains("injected failure after writing"),
        "{message}"
    );
    // The unwinding dropped the output, which wrote out what it held: lines past the
    // checkpoint at 2300 that the resume must cut.
    let interrupted = read(&scratch.0);
    assert!(interrupted.len() > expected("", 2300).len());
    assert!(interrupted.starts_with(&expected("", FAIL_AT + 1)));

    take_written();
    assert_eq!(writes_lines(&scratch.0, N, Fail::Never).unwrap(), N);
    assert_eq!(
        take_written(),
        N - 2300,
        "it did not resume at the checkpoint before the failure"
    );
    let reference_dir = Scratch::new("io-output-after-reference");
    writes_lines(&reference_dir.0, N, Fail::Never).unwrap();
    assert!(
        read(&scratch.0) == read(&reference_dir.0),
        "not the uninterrupted run's bytes"
    );
}

#[test]
fn a_run_resumed_after_a_failure_before_writing_goes_on_from_it() {
    let scratch = Scratch::new("io-output-before");
    let message = panic_of(|| writes_lines(&scratch.0, N, Fail::BeforeWriting(FAIL_AT)));
    assert!(
        message.contains("injected failure before writing"),
        "{message}"
    );
    assert_eq!(
        resumable::__private::saved_index(&checkpoints(&scratch.0).join("io-output-lines.ckpt")),
        Some(FAIL_AT),
        "saved at the failing iteration"
    );
    take_written();
    assert_eq!(writes_lines(&scratch.0, N, Fail::Never).unwrap(), N);
    assert_eq!(take_written(), N - FAIL_AT);
    assert!(
        read(&scratch.0) == expected("", N),
        "not the uninterrupted run's bytes"
    );
}

#[test]
fn an_appended_output_keeps_its_header_through_a_resume() {
    let scratch = Scratch::new("io-output-append");
    std::fs::write(scratch.path("out.txt"), "header\n").unwrap();
    panic_of(|| appends(&scratch.0, N, Fail::AfterWriting(FAIL_AT)));
    take_written();
    assert_eq!(appends(&scratch.0, N, Fail::Never).unwrap(), N);
    assert_eq!(take_written(), N - 2300);
    assert!(
        read(&scratch.0) == expected("header\n", N),
        "not header + every line once"
    );
}

#[test]
fn a_header_written_before_the_loop_is_written_once() {
    let scratch = Scratch::new("io-output-header");
    panic_of(|| with_a_header(&scratch.0, N, Fail::AfterWriting(FAIL_AT)));
    take_written();
    assert_eq!(with_a_header(&scratch.0, N, Fail::Never).unwrap(), N);
    assert_eq!(take_written(), N - 2300);
    assert!(
        read(&scratch.0) == expected("header\n", N),
        "not the header and every line once"
    );
}

#[test]
fn a_fresh_run_over_an_empty_input_empties_the_old_output() {
    let scratch = Scratch::new("io-output-empty");
    std::fs::write(scratch.path("out.txt"), "an old output\n").unwrap();
    assert_eq!(writes_nothing(&scratch.0, 0).unwrap(), 0);
    assert_eq!(read(&scratch.0), b"", "File::create would have emptied it");
}

#[test]
fn an_output_cut_short_is_refused_naming_it_and_resumes_once_put_back() {
    let scratch = Scratch::new("io-output-cut");
    panic_of(|| writes_lines(&scratch.0, N, Fail::BeforeWriting(FAIL_AT)));
    let whole = read(&scratch.0);
    std::fs::write(scratch.path("out.txt"), &whole[..100]).unwrap();

    let message = panic_of(|| writes_lines(&scratch.0, N, Fail::Never));
    let path = std::path::absolute(scratch.path("out.txt")).unwrap();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("it is 100 bytes long"), "{message}");
    assert!(message.contains("RESUMABLE_RESET=1"), "{message}");
    assert_eq!(
        read(&scratch.0),
        &whole[..100],
        "the refusal changed the output"
    );

    std::fs::write(scratch.path("out.txt"), &whole).unwrap();
    take_written();
    assert_eq!(writes_lines(&scratch.0, N, Fail::Never).unwrap(), N);
    assert_eq!(take_written(), N - FAIL_AT);
    assert!(read(&scratch.0) == expected("", N));
}

/// A power loss can keep a record and lose the last bytes of the output it counts (the
/// system wrote the log's page out before the output's): the resume falls back to the newest
/// checkpoint whose output is long enough, keeps a copy of the log as it was, and ends with
/// the uninterrupted bytes. Here the output is cut between the checkpoints at 2000 and 2100.
#[test]
fn an_output_shorter_than_the_newest_checkpoint_says_falls_back_to_one_it_holds() {
    let scratch = Scratch::new("io-output-behind");
    panic_of(|| writes_lines(&scratch.0, N, Fail::BeforeWriting(FAIL_AT)));
    let whole = read(&scratch.0);
    let at_2000 = expected("", 2000).len();
    std::fs::write(scratch.path("out.txt"), &whole[..at_2000 + 10]).unwrap();

    take_written();
    assert_eq!(writes_lines(&scratch.0, N, Fail::Never).unwrap(), N);
    assert_eq!(
        take_written(),
        N - 2000,
        "resumed from the checkpoint at 2000"
    );
    assert!(read(&scratch.0) == expected("", N));
    let copies: Vec<String> = std::fs::read_dir(checkpoints(&scratch.0))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".ahead-of-output-"))
        .collect();
    assert_eq!(copies.len(), 1, "a copy of the log as it was: {copies:?}");
}

/// An output is a regular file: a FIFO, a device, cannot be cut back to a length.
#[test]
fn a_fifo_is_refused_as_it_opens() {
    let scratch = Scratch::new("io-output-fifo");
    let fifo = scratch.path("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let err = Output::create(&fifo).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(message.contains(&fifo.display().to_string()), "{message}");
    assert!(message.contains("not a regular file"), "{message}");
}

#[resumable(every = 100, name = "io-output-killed", key = (), dir = checkpoints(dir))]
fn killable(dir: &Path, n: u64) -> std::io::Result<u64> {
    let mut out = Output::create(dir.join("out.txt"))?;
    let mut lines = 0u64;
    for i in 0..n {
        // Long lines: the buffer (64 KiB) goes out between checkpoints, so a kill leaves
        // bytes past the last one, which the resume must cut.
        writeln!(out, "{}", long_line(i))?;
        lines += 1;
        if i % 10 == 0 {
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
    }
    out.finish()?;
    Ok(lines)
}

/// Line `i` of `killable`: 1 KiB or so.
fn long_line(i: u64) -> String {
    format!(
        "item {i}: {}",
        i.to_string().repeat(1000 / i.to_string().len())
    )
}

/// The child process of `a_run_killed_again_and_again_ends_with_the_uninterrupted_bytes`.
const CHILD: &str = "IO_OUTPUT_KILLED_CHILD";

/// Runs of this test binary's copy of that test are SIGKILLed at random instants (between
/// checkpoints, in a flush, before the first one), then one runs to the end: the file holds
/// every line once, as an uninterrupted run writes it. `IO_OUTPUT_KILL_SEED=<seed>` replays
/// the instants.
#[test]
fn a_run_killed_again_and_again_ends_with_the_uninterrupted_bytes() {
    if let Some(dir) = std::env::var_os(CHILD) {
        assert_eq!(killable(Path::new(&dir), N).unwrap(), N);
        return;
    }
    let scratch = Scratch::new("io-output-killed");
    std::fs::write(scratch.path("out.txt"), "an old output\n").unwrap();
    let mut rng = common::Rng::from_clock("io_output", "IO_OUTPUT_KILL_SEED");
    let child = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_run_killed_again_and_again_ends_with_the_uninterrupted_bytes",
                "--test-threads=1",
            ])
            .env(CHILD, &scratch.0)
            .env_remove("RESUMABLE_DIR")
            .env_remove("RESUMABLE_RESET")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Until a run ends by itself (a run that completes removes the checkpoint, and the next
    // one would start over): each is killed after 20 to 120 ms, a third of a whole run or so.
    let mut killed = 0;
    let finished = loop {
        let mut run = child();
        std::thread::sleep(std::time::Duration::from_millis(rng.range(20, 120)));
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        run.kill().unwrap();
        run.wait().unwrap();
        killed += 1;
        if killed == 8 {
            break child().wait().unwrap();
        }
    };
    assert!(finished.success(), "the last run failed: {finished:?}");
    assert!(killed > 0, "no run was killed");
    let expected: String = (0..N).map(|i| long_line(i) + "\n").collect();
    assert!(
        read(&scratch.0) == expected.as_bytes(),
        "not the uninterrupted run's bytes"
    );
}

#[resumable(every = 100, name = "io-output-in-use", key = (), dir = checkpoints(dir))]
fn calls_itself(dir: &Path, n: u64, again_at: u64) -> std::io::Result<u64> {
    let mut out = Output::create(dir.join("out.txt"))?;
    writeln!(out, "header")?;
    let mut lines = 0u64;
    for i in 0..n {
        if i == again_at {
            // Refused on entry (its checkpoint is this run's): its prelude opened the same
            // file and wrote a header, and must leave the file to this run.
            let again =
                std::panic::catch_unwind(|| calls_itself(dir, n, u64::MAX)).map(|r| r.is_ok());
            assert!(
                !matches!(again, Ok(true)),
                "the call within was not refused"
            );
        }
        line(&mut out, i, Fail::Never)?;
        lines += 1;
    }
    out.finish()?;
    Ok(lines)
}

#[test]
fn a_run_refused_on_entry_leaves_the_output_of_the_run_it_met() {
    let scratch = Scratch::new("io-output-in-use");
    assert_eq!(calls_itself(&scratch.0, N, FAIL_AT).unwrap(), N);
    assert!(
        read(&scratch.0) == expected("header\n", N),
        "the refused call's prelude changed the output"
    );
}
