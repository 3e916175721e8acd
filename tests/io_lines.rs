//! A loop over `resumable::io::Lines` (issue 23): its position is saved with each checkpoint,
//! and a resume seeks there instead of reading the lines before it again; an input edited
//! before the position is refused, one that only grew resumes and reads the new lines.
//! Each test has its own checkpoint directory (`dir = …`) and input file.

mod common;

use std::cell::Cell;
use std::error::Error;
use std::path::{Path, PathBuf};

use common::{Scratch, panic_of};
use resumable::io::Lines;
use resumable::resumable;

thread_local! {
    /// The line (0-based) at which the loop panics (`u64::MAX`: none). Not an argument: the
    /// failing call and the one that resumes it must have the same inputs; per thread, as
    /// tests run in parallel.
    static FAIL_AT: Cell<u64> = const { Cell::new(u64::MAX) };
}

fn fail_point(line: u64) {
    if FAIL_AT.get() == line {
        panic!("injected failure at line {line}");
    }
}

fn fail_at(line: u64) {
    FAIL_AT.set(line);
}

/// The input: `lines` lines of varied length, each naming its number.
fn write_input(path: &Path, lines: u64) {
    let text: String = (0..lines)
        .map(|i| format!("line {i} {}\n", "x".repeat((i * 7 % 50) as usize)))
        .collect();
    std::fs::write(path, text).unwrap();
}

/// What a run returns: the lines kept (those whose number is a multiple of 3) and the bytes
/// of all lines, in order.
type Kept = (Vec<String>, u64);

fn reference(path: &Path) -> Kept {
    let text = std::fs::read_to_string(path).unwrap();
    let kept = text
        .lines()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, line)| line.to_owned())
        .collect();
    (kept, text.lines().map(|line| line.len() as u64).sum())
}

// `append(kept)`: the position is the checkpoint's first value, and the appended binding
// after it still writes only what it gained.
#[resumable(every = 100, dir = dir, append(kept))]
fn keep_thirds(input: &Path, dir: &Path) -> Result<Kept, Box<dyn Error>> {
    let mut kept = Vec::new();
    let mut bytes = 0u64;
    let mut number = 0u64;
    for line in Lines::open(input)? {
        let line = line?;
        fail_point(number);
        if number.is_multiple_of(3) {
            kept.push(line.clone());
        }
        bytes += line.len() as u64;
        number += 1;
    }
    Ok((kept, bytes))
}

fn input_in(scratch: &Scratch, lines: u64) -> PathBuf {
    let input = scratch.path("input.txt");
    write_input(&input, lines);
    input
}

#[test]
fn a_resumed_loop_over_lines_returns_the_uninterrupted_result() {
    let scratch = Scratch::new("lines-resume");
    let input = input_in(&scratch, 5000);
    let dir = scratch.path("ckpt");
    fail_at(3456);
    let message = panic_of(|| keep_thirds(&input, &dir));
    assert!(
        message.contains("injected failure at line 3456"),
        "{message}"
    );
    fail_at(u64::MAX);
    let resumed = keep_thirds(&input, &dir).unwrap();
    assert_eq!(resumed, reference(&input));
}

/// The resume seeks: lines between the two blocks the position fingerprints, joined into
/// one after the interruption (each `\n` a space: the same bytes at the same offsets, fewer
/// lines), are not read again, and the loop goes on at the same byte. A resume that skipped
/// lines one by one (`nth`) would count lines past them and land 100 lines later.
#[test]
fn a_resume_seeks_past_the_lines_before_its_position_without_reading_them() {
    let scratch = Scratch::new("lines-seek");
    let input = input_in(&scratch, 5000);
    let dir = scratch.path("ckpt");
    let expected = reference(&input);
    fail_at(4321);
    let _ = panic_of(|| keep_thirds(&input, &dir));
    fail_at(u64::MAX);
    let mut bytes = std::fs::read(&input).unwrap();
    // Lines 1000 to 1100: far from the file's first 4 KiB and from the 4 KiB before line 4300.
    let find = |line: u64| {
        let needle = format!("\nline {line} ");
        bytes
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .unwrap()
    };
    let (from, to) = (find(1000), find(1100));
    for byte in &mut bytes[from..to] {
        if *byte == b'\n' {
            *byte = b' ';
        }
    }
    std::fs::write(&input, &bytes).unwrap();
    let resumed = keep_thirds(&input, &dir).unwrap();
    assert_eq!(
        resumed, expected,
        "the loop goes on at the byte it stopped at"
    );
}

#[resumable(every = 100, dir = dir)]
fn count_bytes(input: &Path, dir: &Path) -> Result<u64, Box<dyn Error>> {
    let mut bytes = 0u64;
    let mut number = 0u64;
    for line in Lines::open(input)? {
        fail_point(number);
        bytes += line?.len() as u64;
        number += 1;
    }
    Ok(bytes)
}

/// Interrupts `count_bytes` at line 2500 of a 3000-line input, then applies `change` to the
/// input, and resumes.
fn resumed_after(
    test: &str,
    change: impl FnOnce(&Path),
) -> (Result<u64, String>, Scratch, PathBuf) {
    let scratch = Scratch::new(test);
    let input = input_in(&scratch, 3000);
    let dir = scratch.path("ckpt");
    fail_at(2500);
    let _ = panic_of(|| count_bytes(&input, &dir));
    fail_at(u64::MAX);
    change(&input);
    let result = count_bytes(&input, &dir).map_err(|err| err.to_string());
    (result, scratch, dir)
}

fn total_bytes(path: &Path) -> u64 {
    reference(path).1
}

#[test]
fn an_input_edited_before_the_position_is_refused_and_its_checkpoint_kept() {
    let (result, _scratch, dir) = resumed_after("lines-edited", |input| {
        let text = std::fs::read_to_string(input).unwrap();
        std::fs::write(input, text.replacen("line 7 ", "LINE 7 ", 1)).unwrap();
    });
    let err = result.unwrap_err();
    assert!(err.contains("input.txt"), "names the input: {err}");
    assert!(err.contains("first"), "says what differs: {err}");
    let kept = std::fs::read_dir(&dir).unwrap().count();
    assert!(kept > 0, "the checkpoint is kept");
}

#[test]
fn a_line_inserted_before_the_position_is_refused() {
    let (result, _scratch, _dir) = resumed_after("lines-inserted", |input| {
        let text = std::fs::read_to_string(input).unwrap();
        std::fs::write(input, text.replacen("line 2000 ", "new\nline 2000 ", 1)).unwrap();
    });
    let err = result.unwrap_err();
    assert!(err.contains("input.txt") && err.contains("differ"), "{err}");
}

#[test]
fn a_truncated_input_is_refused() {
    let (result, _scratch, _dir) = resumed_after("lines-truncated", |input| {
        let len = std::fs::metadata(input).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(input).unwrap();
        file.set_len(len / 2).unwrap();
    });
    let err = result.unwrap_err();
    assert!(
        err.contains("input.txt") && err.contains("bytes long"),
        "{err}"
    );
}

#[test]
fn a_missing_input_is_an_error_that_names_it() {
    let (result, _scratch, _dir) = resumed_after("lines-missing", |input| {
        std::fs::remove_file(input).unwrap();
    });
    let err = result.unwrap_err();
    assert!(
        err.contains("could not open") && err.contains("input.txt"),
        "{err}"
    );
}

#[test]
fn an_input_that_grew_resumes_and_reads_the_new_lines() {
    let mut grown = 0;
    let (result, scratch, _dir) = resumed_after("lines-grew", |input| {
        let more: String = (0..500).map(|i| format!("appended {i}\n")).collect();
        let mut text = std::fs::read_to_string(input).unwrap();
        text.push_str(&more);
        std::fs::write(input, text).unwrap();
        grown = total_bytes(input);
    });
    assert_eq!(result.unwrap(), grown);
    drop(scratch);
}

#[resumable(every = 100, dir = dir)]
fn sum_lengths(input: &Path, dir: &Path) -> u64 {
    let mut bytes = 0u64;
    let mut number = 0u64;
    for line in Lines::open(input).unwrap() {
        fail_point(number);
        bytes += line.unwrap().len() as u64;
        number += 1;
    }
    bytes
}

/// In a function that cannot return the error, the refusal is the panic, and says once how to
/// start over.
#[test]
fn an_edited_input_panics_with_one_way_to_start_over_where_there_is_no_err() {
    let scratch = Scratch::new("lines-edited-panic");
    let input = input_in(&scratch, 3000);
    let dir = scratch.path("ckpt");
    fail_at(2500);
    let _ = panic_of(|| sum_lengths(&input, &dir));
    fail_at(u64::MAX);
    let text = std::fs::read_to_string(&input).unwrap();
    std::fs::write(&input, text.replacen("line 7 ", "LINE 7 ", 1)).unwrap();
    let message = panic_of(|| sum_lengths(&input, &dir));
    assert!(message.contains("input.txt"), "{message}");
    assert_eq!(message.matches("RESUMABLE_RESET=1").count(), 1, "{message}");
}
