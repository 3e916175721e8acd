//! `prune`: removes the files set aside in a directory longer ago than an age, lists each,
//! removes nothing with `--dry-run`, and never touches a checkpoint's own files; a real
//! checkpoint pruned around is resumed afterwards to the uninterrupted result.

mod common;

use std::fs;
use std::panic::catch_unwind;

use common::{
    cli, move_checkpoint, now_ms, remove_checkpoint, run_dir, scratch, set_aside_in, snapshot,
};

common::squares_job!("cli-prune");

/// The file names of the lines of `prune`'s output that start with `verb`.
fn named(output: &str, verb: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix(verb))
        .map(|rest| {
            let path = rest.split(" (").next().unwrap();
            path.rsplit('/').next().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn prune_removes_only_set_aside_files_older_than_the_age() {
    let runs = run_dir();
    remove_checkpoint(&runs, "cli-prune");
    let dir = scratch("prune");
    let dir_arg = dir.to_str().unwrap();
    assert!(catch_unwind(|| squares(100, Some(30))).is_err());
    move_checkpoint(&runs, &dir, "cli-prune");
    let log = fs::read(dir.join("cli-prune.ckpt")).unwrap();
    // A checkpoint's own files, and files that are no checkpoint's: never pruned.
    fs::write(dir.join("cli-prune.ckpt.prev"), &log).unwrap();
    fs::write(dir.join("cli-prune.ckpt.lock"), b"1").unwrap();
    fs::write(dir.join("notes.txt"), b"hello").unwrap();
    // Set aside now by `reset`, an hour ago by a run that found damage, and in 2023.
    fs::write(dir.join("other.ckpt"), &log).unwrap();
    assert_eq!(cli(&["reset", "other", "--dir", dir_arg]).code, 0);
    let hour_ago = format!("cli-prune.ckpt.next.damaged-{}", now_ms() - 3_600_000);
    fs::write(dir.join(&hour_ago), b"damaged bytes").unwrap();
    let old = "cli-prune.ckpt.reset-1700000000000";
    fs::write(dir.join(old), &log).unwrap();
    // Set aside, but its name does not say when: kept.
    let untimed = "cli-prune.ckpt.damaged-unknown";
    fs::write(dir.join(untimed), b"x").unwrap();
    let [reset] = set_aside_in(&dir, "other").try_into().unwrap();
    let reset = reset.file_name().unwrap().to_string_lossy().into_owned();

    // Ages are a number and a unit; a store is refused.
    for bad in ["30", "1w", "x", ""] {
        let refused = cli(&["prune", "--older-than", bad, "--dir", dir_arg]);
        assert_eq!(refused.code, 2, "{bad}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("is not an age"),
            "{}",
            refused.stderr
        );
    }
    let store = cli(&["prune", "--older-than", "1d", "--dir", "s3://bucket/jobs"]);
    assert_eq!(store.code, 2);
    assert!(
        store.stderr.contains("prune is for directories only") && store.stdout.is_empty(),
        "{}",
        store.stderr
    );

    // 30 days: only the file from 2023.
    let before = snapshot(&dir);
    let month = cli(&["prune", "--older-than", "30d", "--dir", dir_arg]);
    assert_eq!(month.code, 0, "{}", month.stderr);
    assert_eq!(named(&month.stdout, "removed "), [old], "{}", month.stdout);
    assert_eq!(named(&month.stdout, "kept "), [untimed], "{}", month.stdout);
    assert!(
        month.stdout.ends_with("more than 30d ago; kept: 3 files\n"),
        "{}",
        month.stdout
    );
    let expected: Vec<_> = before
        .iter()
        .filter(|(name, _)| name != old)
        .cloned()
        .collect();
    assert_eq!(snapshot(&dir), expected);
    let again = cli(&["prune", "--older-than", "30d", "--dir", dir_arg]);
    assert!(
        named(&again.stdout, "removed ").is_empty(),
        "{}",
        again.stdout
    );

    // A dry run lists what 0 s would remove, and removes nothing.
    let before = snapshot(&dir);
    let dry = cli(&["prune", "--dry-run", "--older-than", "0s", "--dir", dir_arg]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let mut would = named(&dry.stdout, "would remove ");
    would.sort();
    let mut timed = vec![hour_ago.clone(), reset.clone()];
    timed.sort();
    assert_eq!(would, timed, "{}", dry.stdout);
    assert!(
        dry.stdout.contains("(a dry run: nothing was removed)"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .contains(&format!("{hour_ago} (damaged, set aside 60 min ago, 13 B)")),
        "{}",
        dry.stdout
    );
    assert_eq!(snapshot(&dir), before);

    // 0 s removes them; the checkpoint's own files stay, byte for byte.
    let all = cli(&["prune", "--older-than", "0s", "--dir", dir_arg]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let mut removed = named(&all.stdout, "removed ");
    removed.sort();
    assert_eq!(removed, timed, "{}", all.stdout);
    let left: Vec<String> = snapshot(&dir).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        left,
        [
            "cli-prune.ckpt",
            "cli-prune.ckpt.damaged-unknown",
            "cli-prune.ckpt.lock",
            "cli-prune.ckpt.prev",
            "notes.txt",
        ]
    );
    assert_eq!(fs::read(dir.join("cli-prune.ckpt")).unwrap(), log);
    assert_eq!(fs::read(dir.join("cli-prune.ckpt.prev")).unwrap(), log);
    let show = cli(&["show", "cli-prune", "--json", "--dir", dir_arg]).json();
    assert_eq!(
        (&show["index"], &show["health"]),
        (&30.into(), &"ok".into())
    );

    // A run resumes from it (past 20, where it would fail if it started over) and gives
    // the uninterrupted result.
    fs::remove_file(dir.join("cli-prune.ckpt.prev")).unwrap();
    move_checkpoint(&dir, &runs, "cli-prune");
    let (results, total) = squares(100, Some(20));
    assert_eq!(results, (0..100).map(|i| i * i).collect::<Vec<u64>>());
    assert_eq!(total, (0..100).sum::<u64>());
    fs::remove_dir_all(dir).unwrap();
}
