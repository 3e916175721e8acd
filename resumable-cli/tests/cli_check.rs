//! `check` of a directory: exit 0 when a run could resume every checkpoint as its files hold
//! it, 3 when one is damaged (a run would refuse it, or warn and resume from an older
//! record). Each case is a real checkpoint (left by a run of this process) made torn,
//! damaged or unreadable, and `check`'s answer is compared with what a real run does with a
//! copy of the same files: this test binary runs its own `child` test as a separate process
//! with `RESUMABLE_DIR` set to the copy, and reads its output.

mod common;

use std::fs;
use std::panic::catch_unwind;
use std::path::Path;
use std::process::Command;

use common::{cli, move_checkpoint, remove_checkpoint, run_dir, scratch};

common::squares_job!("cli-check");

fn result_text((results, total): (Vec<u64>, u64)) -> String {
    format!("{} {} {total}", results.len(), results.iter().sum::<u64>())
}

/// Run as a child process only (see the module docs): resumes `squares(100)` from
/// `RESUMABLE_DIR` and prints `result <len> <sum> <total>`.
#[test]
#[ignore = "a child process of the other test, which sets its environment"]
fn child() {
    println!("result {}", result_text(squares(100, None)));
}

/// What a real run did with a directory's checkpoint.
#[derive(Debug, PartialEq, Eq)]
enum Run {
    /// Resumed at this iteration without a warning.
    Resumed(u64),
    /// Warned and resumed at this iteration.
    FellBack(u64),
    /// Started over, without a warning.
    StartedOver,
    /// Stopped with an error.
    Refused,
}

/// Runs `child` on a copy of `dir` (a run changes the files it recovers).
fn run_on(dir: &Path) -> Run {
    let copy = dir.with_extension("run");
    let _ = fs::remove_dir_all(&copy);
    fs::create_dir(&copy).unwrap();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let to = copy.join(path.file_name().unwrap());
        if path.is_dir() {
            fs::create_dir(to).unwrap();
        } else {
            fs::copy(&path, to).unwrap();
        }
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--ignored", "--nocapture"])
        .env("RESUMABLE_DIR", &copy)
        .env("RUST_BACKTRACE", "0")
        .env_remove("RESUMABLE_RESET")
        .env_remove("RESUMABLE_STORE")
        .output()
        .unwrap();
    fs::remove_dir_all(&copy).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        assert!(!stdout.contains("result "), "{stdout}");
        return Run::Refused;
    }
    let uninterrupted = (0..100).map(|i| i * i).collect();
    assert!(
        stdout.contains(&format!(
            "result {}",
            result_text((uninterrupted, (0..100).sum()))
        )),
        "{stdout}"
    );
    let Some((_, resumed)) = stderr.split_once("resuming squares at iteration ") else {
        assert!(!stderr.contains("warning"), "{stderr}");
        return Run::StartedOver;
    };
    let at: u64 = resumed.split(' ').next().unwrap().parse().unwrap();
    if stderr.contains("resumable: warning:") {
        Run::FellBack(at)
    } else {
        Run::Resumed(at)
    }
}

/// The byte range of each record of the log `name` in `dir`, from `show --json`.
fn record_ranges(dir: &Path, name: &str, len: u64) -> Vec<(u64, u64)> {
    let show = cli(&["show", name, "--json", "--dir", dir.to_str().unwrap()]).json();
    let sizes: Vec<u64> = show["files"][0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["size"].as_u64().unwrap())
        .collect();
    let mut start = len - sizes.iter().sum::<u64>();
    sizes
        .iter()
        .map(|size| {
            let range = (start, start + size);
            start += size;
            range
        })
        .collect()
}

#[test]
fn check_exits_3_exactly_when_a_run_would_refuse_or_fall_back() {
    let runs = run_dir();
    remove_checkpoint(&runs, "cli-check");
    let source = scratch("check-source");
    // Records at 5, 10, …, 40, and 42 where the loop failed.
    assert!(catch_unwind(|| squares(100, Some(42))).is_err());
    move_checkpoint(&runs, &source, "cli-check");
    let log = fs::read(source.join("cli-check.ckpt")).unwrap();
    let ranges = record_ranges(&source, "cli-check", log.len() as u64);
    assert_eq!(ranges.len(), 9, "{ranges:?}");
    let flipped_at = |at: u64| {
        let mut bytes = log.clone();
        bytes[at as usize] ^= 0x10;
        bytes
    };
    // A byte of a record's state, inside its first frame (after the frame's 8-byte length
    // and 1-byte kind): flipped, that frame fails its checksum.
    let in_data = |(start, end): (u64, u64)| {
        assert!(end - start > 12);
        start + 10
    };
    // The third byte of a record's first frame's length: flipped (by 0x10), the frame runs
    // 1 MiB past the end of the file, as a record a crash cut short does. The frames after
    // it show it is damage: the records after it, or the rest of the last record (only the
    // file's last frame damaged so reads as a crash's cut).
    let in_length = |(start, _): (u64, u64)| start + 2;
    let garbage = b"not a checkpoint at all".to_vec();

    // (case, files by suffix (`None`: a directory in the file's place), check's exit
    // code, what it says, what a run does)
    type Case<'a> = (&'a str, Vec<(&'a str, Option<Vec<u8>>)>, i32, &'a str, Run);
    let cases: Vec<Case> = vec![
        (
            "good",
            vec![("", Some(log.clone()))],
            0,
            "cli-check: ok\n",
            Run::Resumed(42),
        ),
        (
            "torn",
            vec![("", Some(log[..log.len() - 3].to_vec()))],
            0,
            "cli-check: ok: a run resumes from index 40 (torn tail)\n",
            Run::Resumed(40),
        ),
        (
            "checksum",
            vec![("", Some(flipped_at(in_data(ranges[8]))))],
            3,
            "fails its checksum (damaged after it was written), and well-formed records follow \
             it from byte ",
            Run::FellBack(40),
        ),
        (
            "length-in-the-middle",
            vec![("", Some(flipped_at(in_length(ranges[4]))))],
            3,
            "announces a length that runs past the end of the file, and well-formed records \
             follow it from byte 399, up to index 42: the log was damaged in the middle after \
             it was written, not cut by a crash; a run falls back to index 20 and loses 22 \
             iterations",
            Run::FellBack(20),
        ),
        (
            "length-in-the-last-record",
            vec![("", Some(flipped_at(in_length(ranges[8]))))],
            3,
            "announces a length that runs past the end of the file, and well-formed records \
             follow it",
            Run::FellBack(40),
        ),
        (
            "first-record",
            vec![("", Some(flipped_at(in_data(ranges[0]))))],
            3,
            "a run stops with an error and loads nothing",
            Run::Refused,
        ),
        (
            "unreadable-next",
            vec![("", Some(log.clone())), (".next", None)],
            3,
            "cli-check.ckpt.next: it cannot be read (",
            Run::Refused,
        ),
        (
            "log-damaged-prev-good",
            vec![
                ("", Some(flipped_at(in_data(ranges[0])))),
                (".prev", Some(log.clone())),
            ],
            3,
            "a run moves it aside and resumes from an older file",
            Run::FellBack(42),
        ),
        // Files a crash between a compaction's renames leaves: not damage.
        (
            "pending-next",
            vec![
                ("", Some(log[..log.len() - 3].to_vec())),
                (".next", Some(log.clone())),
            ],
            0,
            "cli-check: ok: a run resumes from index 42 (torn tail; pending .next)\n",
            Run::Resumed(42),
        ),
        (
            "only-prev",
            vec![(".prev", Some(log.clone()))],
            0,
            "cli-check: ok\n",
            Run::Resumed(42),
        ),
        // Damage a run never reads, or sets aside without a word, is not counted.
        (
            "damaged-prev",
            vec![("", Some(log.clone())), (".prev", Some(garbage.clone()))],
            0,
            "cli-check: ok: a run resumes from index 42 (damaged .prev: ",
            Run::Resumed(42),
        ),
        (
            "only-damaged-next",
            vec![(".next", Some(garbage.clone()))],
            0,
            "cli-check: ok: a run starts over (damaged .next: ",
            Run::StartedOver,
        ),
        (
            "damaged-next",
            vec![("", Some(log.clone())), (".next", Some(garbage.clone()))],
            0,
            "cli-check: ok: a run resumes from index 42 (damaged .next: ",
            Run::Resumed(42),
        ),
    ];
    for (case, files, code, says, run) in cases {
        let dir = scratch(&format!("check-{case}"));
        for (suffix, bytes) in &files {
            let path = dir.join(format!("cli-check.ckpt{suffix}"));
            match bytes {
                Some(bytes) => fs::write(path, bytes).unwrap(),
                None => fs::create_dir(path).unwrap(),
            }
        }
        let dir_arg = dir.to_str().unwrap();
        let checked = cli(&["check", "--dir", dir_arg]);
        assert_eq!(
            checked.code, code,
            "{case}: {}{}",
            checked.stdout, checked.stderr
        );
        assert!(checked.stdout.contains(says), "{case}: {}", checked.stdout);
        assert!(
            checked.stdout.ends_with(&format!(
                "1 checkpoint in {dir_arg}, {} damaged\n",
                code / 3
            )),
            "{case}: {}",
            checked.stdout
        );
        if code == 3 {
            assert!(checked.stdout.contains("cli-check: damaged: "), "{case}");
            assert!(
                checked
                    .stdout
                    .contains(&dir.join("cli-check.ckpt").display().to_string()),
                "{case}: names the file: {}",
                checked.stdout
            );
            assert_eq!(
                checked.stderr,
                format!("resumable: damaged checkpoints in {dir_arg}: cli-check\n"),
                "{case}"
            );
        } else {
            assert!(checked.stderr.is_empty(), "{case}: {}", checked.stderr);
        }
        // The same answer by name, and in `list --json`.
        assert_eq!(
            cli(&["check", "cli-check", "--dir", dir_arg]).code,
            code,
            "{case}"
        );
        let listed = cli(&["list", "--json", "--dir", dir_arg]).json();
        assert_eq!(listed["checkpoints"][0]["damaged"], code == 3, "{case}");
        assert_eq!(run_on(&dir), run, "{case}: what a run does");
        fs::remove_dir_all(dir).unwrap();
    }
    fs::remove_dir_all(source).unwrap();
}

#[test]
fn check_names_the_damaged_ones_among_several() {
    let dir = scratch("check-several");
    let dir_arg = dir.to_str().unwrap();
    let empty = cli(&["check", "--dir", dir_arg]);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    assert_eq!(empty.stdout, format!("no checkpoints in {dir_arg}\n"));
    resumable::save(dir.join("a.ckpt"), &vec![1u8; 10]).unwrap();
    resumable::save(dir.join("c.ckpt"), &vec![2u8; 10]).unwrap();
    fs::write(dir.join("b.ckpt"), b"not a checkpoint").unwrap();
    let all = cli(&["check", "--dir", dir_arg]);
    assert_eq!(all.code, 3, "{}", all.stderr);
    let lines: Vec<&str> = all.stdout.lines().collect();
    assert_eq!(lines[0], "a: ok");
    assert!(lines[1].starts_with("b: damaged: "), "{}", all.stdout);
    assert_eq!(lines[2], "c: ok");
    assert_eq!(lines[3], format!("3 checkpoints in {dir_arg}, 1 damaged"));
    assert_eq!(
        all.stderr,
        format!("resumable: damaged checkpoints in {dir_arg}: b\n")
    );
    assert_eq!(cli(&["check", "a", "--dir", dir_arg]).code, 0);
    assert_eq!(cli(&["check", "b", "--dir", dir_arg]).code, 3);
    let unknown = cli(&["check", "nope", "--dir", dir_arg]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no checkpoint named nope"),
        "{}",
        unknown.stderr
    );
    let missing = cli(&["check", "--dir", dir.join("missing").to_str().unwrap()]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("cannot read checkpoint directory"),
        "{}",
        missing.stderr
    );
    // `list` lists damage and succeeds: `check` is the one to fail.
    assert_eq!(cli(&["list", "--dir", dir_arg]).code, 0);
    fs::remove_dir_all(dir).unwrap();
}
