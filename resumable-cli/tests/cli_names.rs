//! The command takes the name the user wrote (issue 24): the `name = "…"` of a keyed
//! function, whose checkpoints are `name-<hash of the key>`, or the function's own name. With
//! one checkpoint it acts on it; with several it lists them with their keys and acts on the one
//! `--key` picks, or on all with `--all`.

mod common;

use std::fs;
use std::panic::catch_unwind;
use std::path::Path;

use common::{cli, move_checkpoint, remove_checkpoint, run_dir, scratch};
use resumable::resumable;

#[resumable(every = 4, name = "cli-names", key = (n, tag))]
fn tagged(n: u64, tag: &str, panic_at: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == i {
            panic!("injected failure at {i}");
        }
        sum += i * tag.len() as u64;
    }
    sum
}

// `squares`, of the name "cli-names-sum": found by its function's name too.
common::squares_job!("cli-names-sum");

/// The checkpoint files in `dir` whose name starts with `prefix`, without `.ckpt`.
fn named(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(prefix) && name.ends_with(".ckpt"))
                .map(|name| name.trim_end_matches(".ckpt").to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn show_check_and_reset_take_the_name_the_user_wrote() {
    let runs = run_dir();
    for name in named(&runs, "cli-names-") {
        remove_checkpoint(&runs, &name);
    }
    let dir = scratch("names");
    let dir_arg = dir.to_str().unwrap();
    assert!(catch_unwind(|| tagged(30, "ab", 9)).is_err());
    let first = named(&runs, "cli-names-");
    assert_eq!(first.len(), 1, "{first:?}");
    move_checkpoint(&runs, &dir, &first[0]);

    // One checkpoint of that name: acted on.
    let show = cli(&["show", "cli-names", "--dir", dir_arg]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(show.stdout.contains(&first[0]), "{}", show.stdout);
    assert!(show.stdout.contains("(30, \"ab\")"), "{}", show.stdout);

    // Two: listed with their keys, and picked with `--key`.
    assert!(catch_unwind(|| tagged(30, "xyz", 13)).is_err());
    let second: Vec<String> = named(&runs, "cli-names-");
    move_checkpoint(&runs, &dir, &second[0]);
    let ambiguous = cli(&["show", "cli-names", "--dir", dir_arg]);
    assert_eq!(ambiguous.code, 2, "{}", ambiguous.stderr);
    for text in [
        "cli-names names 2 checkpoints",
        "(30, \"ab\")",
        "(30, \"xyz\")",
        "--key",
        "--all",
    ] {
        assert!(
            ambiguous.stderr.contains(text),
            "{text}: {}",
            ambiguous.stderr
        );
    }
    let picked = cli(&[
        "show",
        "cli-names",
        "--key",
        "(30, \"xyz\")",
        "--dir",
        dir_arg,
    ]);
    assert_eq!(picked.code, 0, "{}", picked.stderr);
    assert!(picked.stdout.contains(&second[0]), "{}", picked.stdout);
    assert!(!picked.stdout.contains(&first[0]), "{}", picked.stdout);
    let no_such_key = cli(&["show", "cli-names", "--key", "(1, \"q\")", "--dir", dir_arg]);
    assert_eq!(no_such_key.code, 2, "{}", no_such_key.stderr);
    assert!(
        no_such_key.stderr.contains("(30, \"xyz\")"),
        "{}",
        no_such_key.stderr
    );

    let check = cli(&["check", "cli-names", "--all", "--dir", dir_arg]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert_eq!(check.stdout.matches("ok").count(), 2, "{}", check.stdout);

    // `--all` resets both: their files are moved aside.
    let reset = cli(&["reset", "cli-names", "--all", "--dir", dir_arg]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert!(
        named(&dir, "cli-names-").is_empty(),
        "{:?}",
        named(&dir, "cli-names-")
    );

    // The function's own name (`squares`, given the name "cli-names-sum").
    remove_checkpoint(&runs, "cli-names-sum");
    assert!(catch_unwind(|| squares(30, Some(9))).is_err());
    move_checkpoint(&runs, &dir, "cli-names-sum");
    let by_function = cli(&["show", "squares", "--dir", dir_arg]);
    assert_eq!(by_function.code, 0, "{}", by_function.stderr);
    assert!(
        by_function.stdout.contains("cli-names-sum"),
        "{}",
        by_function.stdout
    );
    let unknown = cli(&["show", "nothing-of-that-name", "--dir", dir_arg]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("no checkpoint named nothing-of-that-name"),
        "{}",
        unknown.stderr
    );
}
