//! The `resumable` command (the `resumable-cli` crate): `list`, `show` and `reset` on checkpoints
//! left by real `#[resumable]` runs of this process, copied into a scratch directory, and on files
//! made torn or damaged from them.

mod common;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use common::{Output, cli, generations, move_checkpoint, remove_checkpoint, run_dir, scratch};
use resumable::resumable;

common::squares_job!("cli-sum");

#[resumable(every = 4, name = "cli-keyed", key = (n, tag))]
fn weighted(n: u64, tag: &str, panic_at: Option<u64>) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i * tag.len() as u64;
    }
    sum
}

/// Saves a checkpoint at iteration 1, tells `ready`, and holds its checkpoint (and its lock)
/// until `go` says.
#[resumable(every = 1, name = "cli-held", key = (), skip(ready, go))]
fn held(ready: &Sender<()>, go: &Receiver<()>) -> u64 {
    let mut sum = 0u64;
    for i in 0..3u64 {
        if i == 1 {
            ready.send(()).unwrap();
            go.recv().unwrap();
        }
        sum += i;
    }
    sum
}

fn keyed_names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("cli-keyed-") && name.ends_with(".ckpt"))
                .map(|name| name.trim_end_matches(".ckpt").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn cli_in(args: &[&str], set: impl FnOnce(&mut Command) -> &mut Command) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable"));
    command.args(args).env_remove("RESUMABLE_DIR");
    let output = set(&mut command).output().unwrap();
    Output {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The `list` row of checkpoint `name`.
fn row<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{listing}"))
}

/// The cells of a row, split at runs of two or more spaces.
fn cells(row: &str) -> Vec<&str> {
    row.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect()
}

#[test]
fn list_show_and_reset_checkpoints_left_by_panics() {
    let runs = run_dir();
    remove_checkpoint(&runs, "cli-sum");
    for name in keyed_names(&runs) {
        remove_checkpoint(&runs, &name);
    }
    let dir = scratch("list");
    let dir_arg = dir.to_str().unwrap();

    // Real checkpoints: a loop that fails at 23 saves there; a keyed one at 9.
    assert!(catch_unwind(|| squares(100, Some(23))).is_err());
    assert!(catch_unwind(|| weighted(30, "ab", Some(9))).is_err());
    move_checkpoint(&runs, &dir, "cli-sum");
    let keyed = keyed_names(&runs);
    assert_eq!(keyed.len(), 1, "{keyed:?}");
    move_checkpoint(&runs, &dir, &keyed[0]);
    // A version-1 file, as `resumable::save` writes.
    resumable::save(dir.join("bundle.ckpt"), &vec![0.5f64; 100]).unwrap();
    // The same log cut in its last record, and with its last record's checksum flipped.
    let log = fs::read(dir.join("cli-sum.ckpt")).unwrap();
    fs::write(dir.join("cli-torn.ckpt"), &log[..log.len() - 3]).unwrap();
    let mut damaged = log.clone();
    *damaged.last_mut().unwrap() ^= 0x01;
    fs::write(dir.join("cli-damaged.ckpt"), &damaged).unwrap();
    // Not checkpoints: ignored.
    fs::write(dir.join("notes.txt"), b"hello").unwrap();
    fs::write(dir.join("cli-sum.ckpt.lock"), b"1").unwrap();

    let list = cli(&["list", "--dir", dir_arg]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    // `--dir` is the documented way; the positional form of earlier versions still works;
    // both at once is a usage error.
    let positional = cli(&["list", dir_arg]);
    assert_eq!(positional.code, 0, "{}", positional.stderr);
    assert_eq!(positional.stdout, list.stdout);
    let both = cli(&["list", dir_arg, "--dir", dir_arg]);
    assert_eq!(both.code, 2);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    let header = list.stdout.lines().next().unwrap();
    assert_eq!(
        cells(header),
        ["NAME", "FUNCTION", "INDEX", "KEY", "AGE", "SIZE", "HEALTH"]
    );
    assert_eq!(list.stdout.lines().count(), 6, "{}", list.stdout);
    let sum = cells(row(&list.stdout, "cli-sum"));
    assert_eq!(&sum[..4], ["cli-sum", "cli-sum", "23", "-"], "{sum:?}");
    assert!(sum[4].ends_with(" s"), "{sum:?}");
    let size: u64 = generations(&dir, "cli-sum")
        .iter()
        .map(|path| fs::metadata(path).unwrap().len())
        .sum();
    assert!(size < 1000, "{size}");
    assert_eq!(sum[5], format!("{size} B"));
    assert_eq!(sum[6], "ok");
    let key = cells(row(&list.stdout, &keyed[0]));
    assert_eq!(&key[1..4], ["cli-keyed", "9", "(30, \"ab\")"], "{key:?}");
    assert_eq!(key[6], "ok");
    let bundle = cells(row(&list.stdout, "bundle"));
    assert_eq!(&bundle[1..4], ["resumable::save", "0", "-"], "{bundle:?}");
    assert_eq!(bundle[6], "ok");
    // The torn copy resumes from its record before (index 20); the damaged one too.
    let torn = cells(row(&list.stdout, "cli-torn"));
    assert_eq!((torn[2], torn[6]), ("20", "torn tail"), "{torn:?}");
    let bad = cells(row(&list.stdout, "cli-damaged"));
    assert_eq!(bad[2], "20", "{bad:?}");
    assert!(
        bad[6].starts_with("damaged: the record at byte") && bad[6].contains("checksum"),
        "{bad:?}"
    );
    // Columns are aligned: every row's INDEX ends where the header's does.
    let index_end = header.find("INDEX").unwrap() + "INDEX".len();
    for line in list.stdout.lines().skip(1) {
        assert!(
            line[..index_end].ends_with(|c: char| c.is_ascii_digit()),
            "{line}"
        );
    }

    // The default directory: $RESUMABLE_DIR, else .resumable in the current directory.
    let from_env = cli_in(&["list"], |command| command.env("RESUMABLE_DIR", &dir));
    assert_eq!(from_env.stdout, list.stdout);
    let parent = scratch("default");
    fs::create_dir(parent.join(".resumable")).unwrap();
    fs::copy(
        dir.join("bundle.ckpt"),
        parent.join(".resumable/bundle.ckpt"),
    )
    .unwrap();
    let default = cli_in(&["list"], |command| command.current_dir(&parent));
    assert_eq!(default.code, 0, "{}", default.stderr);
    assert_eq!(default.stdout.lines().count(), 2, "{}", default.stdout);
    row(&default.stdout, "bundle");
    fs::remove_dir_all(parent).unwrap();

    let show = cli(&["show", "cli-sum", "--dir", dir_arg]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    for expected in [
        "checkpoint  cli-sum",
        "label       cli-sum",
        "health      ok",
        "index 23, saved ",
        "== results",
        "== total",
        "root: [u64]",
        "results: elements 0..5 (",
        "results: elements 20..23 (",
        "total: whole ",
    ] {
        assert!(
            show.stdout.contains(expected),
            "{expected:?} in\n{}",
            show.stdout
        );
    }
    let keyed_show = cli(&["show", &keyed[0], "--dir", dir_arg]);
    assert!(
        keyed_show
            .stdout
            .contains("label       cli-keyed [key (30, \"ab\")]"),
        "{}",
        keyed_show.stdout
    );
    let torn_show = cli(&["show", "cli-torn.ckpt", "--dir", dir_arg]);
    assert!(
        torn_show.stdout.contains("then: torn tail"),
        "{}",
        torn_show.stdout
    );

    // An unknown name: exit 1, and what exists.
    let unknown = cli(&["show", "nope", "--dir", dir_arg]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no checkpoint named nope")
            && unknown.stderr.contains("bundle, cli-damaged"),
        "{}",
        unknown.stderr
    );
    assert_eq!(cli(&["reset", "nope", "--dir", dir_arg]).code, 1);
    // Usage errors are clap's: exit 2.
    assert_eq!(cli(&["show"]).code, 2);
    assert_eq!(cli(&["list", dir_arg, "extra"]).code, 2);
    let missing = cli(&["list", dir.join("missing").to_str().unwrap()]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("cannot read checkpoint directory"),
        "{}",
        missing.stderr
    );

    // Reset moves every file aside, byte for byte, and deletes nothing.
    let before: Vec<(PathBuf, Vec<u8>)> = generations(&dir, "cli-sum")
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    let reset = cli(&["reset", "cli-sum", "--dir", dir_arg]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert!(generations(&dir, "cli-sum").is_empty());
    let moved: Vec<&str> = reset
        .stdout
        .lines()
        .filter(|line| line.starts_with("moved "))
        .collect();
    assert_eq!(moved.len(), before.len(), "{}", reset.stdout);
    for ((path, bytes), line) in before.iter().zip(moved) {
        let (from, to) = line["moved ".len()..].split_once(" to ").unwrap();
        assert_eq!(Path::new(from), path);
        assert!(
            to.starts_with(&format!("{}.reset-", path.display())),
            "{line}"
        );
        assert_eq!(&fs::read(to).unwrap(), bytes, "{to}");
    }
    let after = cli(&["list", dir_arg]);
    assert!(
        !after
            .stdout
            .lines()
            .any(|line| line.starts_with("cli-sum ")),
        "{}",
        after.stdout
    );
    assert!(after.stdout.contains("set aside"), "{}", after.stdout);
    assert!(
        after.stdout.contains("cli-sum.ckpt.reset-"),
        "{}",
        after.stdout
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn reset_refuses_while_a_run_holds_the_checkpoint() {
    let runs = run_dir();
    remove_checkpoint(&runs, "cli-held");
    let (ready_tx, ready_rx) = channel();
    let (go_tx, go_rx) = channel();
    let run = std::thread::spawn(move || held(&ready_tx, &go_rx));
    ready_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let runs_arg = fs::canonicalize(&runs).unwrap();
    let dir_arg = runs_arg.to_str().unwrap();

    let listed = cli(&["list", dir_arg]);
    assert_eq!(
        cells(row(&listed.stdout, "cli-held"))[2],
        "1",
        "{}",
        listed.stdout
    );
    let before: Vec<Vec<u8>> = generations(&runs, "cli-held")
        .iter()
        .map(|path| fs::read(path).unwrap())
        .collect();
    let refused = cli(&["reset", "cli-held", "--dir", dir_arg]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("in use by another run")
            && refused
                .stderr
                .contains(&format!("process {}", std::process::id())),
        "{}",
        refused.stderr
    );
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    let unchanged: Vec<Vec<u8>> = generations(&runs, "cli-held")
        .iter()
        .map(|path| fs::read(path).unwrap())
        .collect();
    assert_eq!(unchanged, before);

    go_tx.send(()).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| run.join().unwrap()));
    assert_eq!(result.unwrap(), 3);
    // The run completed and removed its checkpoint; there is nothing left to reset.
    assert!(generations(&runs, "cli-held").is_empty());
    assert_eq!(cli(&["reset", "cli-held", "--dir", dir_arg]).code, 1);
}

#[resumable(every = 3, name = "cli-nest", inner = 'cells, key = ())]
fn grid(rows: u64, cols: u64, panic_at: (u64, u64)) -> u64 {
    let mut total = 0;
    for r in 0..rows {
        let mut row = 0;
        'cells: for c in 0..cols {
            if (r, c) == panic_at {
                panic!("injected failure at {r}, {c}");
            }
            row += r * c;
        }
        total += row;
    }
    total
}

#[test]
fn show_gives_a_nests_position() {
    let runs = run_dir();
    remove_checkpoint(&runs, "cli-nest");
    let dir = scratch("nest");
    assert!(catch_unwind(|| grid(4, 5, (2, 1))).is_err());
    move_checkpoint(&runs, &dir, "cli-nest");
    let show = cli(&["show", "cli-nest", "--dir", dir.to_str().unwrap()]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let newest = show
        .stdout
        .lines()
        .find(|line| line.starts_with("newest"))
        .unwrap();
    assert!(
        newest.contains("index 11 (outer iteration 2, inner iteration 1), saved"),
        "{newest}"
    );
    assert!(show.stdout.contains("== (outer, inner)"), "{}", show.stdout);
    fs::remove_dir_all(dir).unwrap();
}
