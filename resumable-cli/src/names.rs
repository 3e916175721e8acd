//! Which checkpoints a name on the command line means. The checkpoint's own name (its file
//! name without `.ckpt`, as `list` shows it) means that one. Otherwise the name the user
//! wrote: the `name = "…"` a function was given, its path (`squares::squares`) or the
//! function's own name (`squares`), which a keyed function shares among its checkpoints, one
//! per key (`name-<hash of the key>.ckpt`): one is acted on; of several, the one `--key`
//! picks (the key as `list` shows it), or all with `--all`.

use std::fmt::Write as _;
use std::path::Path;

use clap::Args;
use resumable::inspect::{self, CheckpointInfo};

use crate::{Failure, find, row, table, unreadable_dir};

/// Which of the checkpoints a name means, when it means several.
#[derive(Args, Default)]
pub(crate) struct Which {
    /// Of the checkpoints of a keyed function, the one of this key (as `list` shows it).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// All the checkpoints the name means, one after the other.
    #[arg(long, conflicts_with = "key")]
    pub all: bool,
}

/// The names (as `list` shows them) of the checkpoints in `dir` that `name` means, per `which`.
pub(crate) fn resolve(dir: &Path, name: &str, which: &Which) -> Result<Vec<String>, Failure> {
    if which.key.is_none() && inspect::exists(&inspect::checkpoint_path(dir, name)) {
        return Ok(vec![name.to_owned()]);
    }
    let listing = inspect::inspect_dir(dir).map_err(|err| unreadable_dir(dir, &err))?;
    let meant: Vec<&CheckpointInfo> = listing
        .checkpoints
        .iter()
        .filter(|info| means(name, info))
        .collect();
    let picked: Vec<&CheckpointInfo> = match &which.key {
        Some(key) => meant
            .iter()
            .copied()
            .filter(|info| info.key() == Some(key.as_str()))
            .collect(),
        None => meant.clone(),
    };
    match (picked.len(), which.all) {
        (0, _) if !meant.is_empty() => Err(Failure::Usage(format!(
            "no checkpoint named {name} has the key {}; {}",
            which.key.as_deref().unwrap_or_default(),
            keys_of(name, &meant)
        ))),
        // Says what is there, as for a name that means nothing.
        (0, _) => find(dir, name).map(|_| Vec::new()).map_err(Failure::Error),
        (1, _) | (_, true) => Ok(picked.iter().map(|info| info.name.clone()).collect()),
        _ => Err(Failure::Usage(format!(
            "{}; give one with --key KEY, or --all",
            keys_of(name, &picked)
        ))),
    }
}

/// Whether `name` is the name a function was given, its path, or the function's own name.
fn means(name: &str, info: &CheckpointInfo) -> bool {
    let name = name.strip_suffix(".ckpt").unwrap_or(name);
    // The shape's first line is the path of the function that saves it: `fn squares::squares`.
    let path = info
        .shape()
        .and_then(|shape| shape.lines().next()?.strip_prefix("fn "));
    let is = |given: &str| {
        given == name
            || given
                .strip_suffix(name)
                .is_some_and(|path| path.ends_with("::"))
    };
    info.name == name.replace("::", ".") || info.function().is_some_and(is) || path.is_some_and(is)
}

/// "`name` names 3 checkpoints, one per key:" and a table of them.
fn keys_of(name: &str, checkpoints: &[&CheckpointInfo]) -> String {
    let mut rows = vec![row(&["  NAME", "KEY", "INDEX"])];
    for info in checkpoints {
        rows.push(vec![
            format!("  {}", info.name),
            info.key().unwrap_or("-").to_owned(),
            info.index().map_or("-".into(), |index| index.to_string()),
        ]);
    }
    let mut out = format!(
        "{name} names {} checkpoints, one per key:\n",
        checkpoints.len()
    );
    let _ = write!(out, "{}", table(&rows, &[2]));
    out.trim_end().to_owned()
}
