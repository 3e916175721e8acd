//! `check`: whether a run could resume each checkpoint as its files hold it, for cron and CI.
//!
//! A checkpoint is *damaged* when a run would refuse it (stop with an error and load
//! nothing) or would warn that it passed over damaged bytes (resume from an older record or
//! from `.prev`, keeping the damaged bytes as `.damaged-<ms>`). What a run handles without a
//! word is not: a torn tail (a crash cut the last record short; the one before loads), a
//! `.next` it moves into place or removes, a `.prev` it never reads, and a damaged `.next`
//! (never made durable) it sets aside unread. [`verdict`] replays the decisions of the
//! runtime's recovery (`resumable/src/store/recover.rs`) on what `inspect` read, so that
//! `check` reports what a run would do, not more, not less. On a store, the damage is the
//! store listing's: commits newer than the newest intact one that cannot be used (a run
//! warns and resumes from the one before).

use std::fmt::Write as _;
use std::path::Path;

use resumable::inspect::{self, CheckpointInfo, FileInfo, FileProblem, Generation, Health};

use crate::{Done, Failure, find, unreadable_dir};

/// What a run would do with a checkpoint's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It resumes from the newest record its files hold, at this index, without a warning.
    Resumes(u64),
    /// No file holds a checkpoint the run would load, and none is in its way: it starts over.
    StartsOver,
    /// It warns, keeps the damaged bytes aside and resumes from an older checkpoint.
    FallsBack(String),
    /// It stops with an error and loads nothing.
    Refused(String),
}

impl Verdict {
    /// Whether `check` counts it as damage (exit code 3).
    pub(crate) fn damaged(&self) -> bool {
        matches!(self, Verdict::FallsBack(_) | Verdict::Refused(_))
    }

    /// The `load` value of the JSON output.
    pub(crate) fn load(&self) -> &'static str {
        match self {
            Verdict::Resumes(_) => "newest",
            Verdict::StartsOver => "none",
            Verdict::FallsBack(_) => "fallback",
            Verdict::Refused(_) => "refused",
        }
    }

    /// Why it is damaged, if it is.
    pub(crate) fn why(&self) -> Option<&str> {
        match self {
            Verdict::FallsBack(why) | Verdict::Refused(why) => Some(why),
            Verdict::Resumes(_) | Verdict::StartsOver => None,
        }
    }
}

/// What a run would do with the checkpoint `info` describes: recovery's decisions, in its
/// order (`.next` first, then the log, falling back to `.prev`).
pub(crate) fn verdict(info: &CheckpointInfo) -> Verdict {
    let prev = info.file(Generation::Previous);
    // A `.next` that cannot be read stops the run; one without an intact record (cut short,
    // or damaged before it was ever made durable) is removed or set aside without a word.
    let next = match info.file(Generation::Next) {
        Some(file) if unreadable(file) => return refused(file),
        Some(file) if !file.records.is_empty() => Some(file),
        _ => None,
    };
    let (newest, mut warning) = match info.file(Generation::Log) {
        Some(file) if unreadable(file) => return refused(file),
        Some(file) if !file.records.is_empty() => (Some(file), None),
        // No intact record in the log: it is moved aside with a warning if `.prev` or `.next`
        // has one, and is the run's error otherwise.
        Some(file) => {
            let fallback = prev.filter(|prev| !prev.records.is_empty());
            if fallback.is_none() && next.is_none() {
                return refused(file);
            }
            let why = format!(
                "{}: {}; a run moves it aside and resumes from an older file",
                file.path.display(),
                problem(file)
            );
            (fallback, Some(why))
        }
        // No log: `.prev` (a crash between the renames of a compaction) must load.
        None => match prev {
            Some(file) if file.records.is_empty() => return refused(file),
            prev => (prev, None),
        },
    };
    let chosen = match (newest, next) {
        (Some(newest), Some(next)) if last_seq(next) <= last_seq(newest) => Some(newest),
        (_, Some(next)) => Some(next),
        (newest, None) => newest,
    };
    let Some(chosen) = chosen else {
        return Verdict::StartsOver;
    };
    let index = chosen.records.last().map_or(0, |record| record.index);
    // Damage after the newest intact record: a later record may be lost to it.
    if let Some(FileProblem::Damaged(damage)) = &chosen.problem {
        warning.get_or_insert_with(|| {
            format!(
                "{}: {damage}; a run keeps a copy and resumes from index {index}, its newest \
                 intact record",
                chosen.path.display(),
            )
        });
    }
    match warning {
        Some(why) => Verdict::FallsBack(why),
        None => Verdict::Resumes(index),
    }
}

fn refused(file: &FileInfo) -> Verdict {
    Verdict::Refused(format!(
        "{}: {}; a run stops with an error and loads nothing",
        file.path.display(),
        problem(file)
    ))
}

/// Why a file holds no checkpoint a run would load.
fn problem(file: &FileInfo) -> String {
    match &file.problem {
        Some(FileProblem::Damaged(problem)) => problem.clone(),
        Some(FileProblem::TornTail) => {
            "it holds no complete checkpoint (its first record was cut short)".into()
        }
        None => "it holds no complete checkpoint".into(),
    }
}

/// Whether the file could not be read at all (an I/O error, not a bad byte), which stops a
/// run wherever the file is. `inspect` words that problem `it cannot be read (<cause>)`.
fn unreadable(file: &FileInfo) -> bool {
    matches!(&file.problem, Some(FileProblem::Damaged(problem))
        if problem.starts_with("it cannot be read ("))
}

fn last_seq(file: &FileInfo) -> u64 {
    file.records.last().map_or(0, |record| record.seq)
}

/// `check` of a directory: every checkpoint, or those named (as `list` shows them).
pub(crate) fn check(dir: &Path, names: Option<&[String]>) -> Result<Done, Failure> {
    let checkpoints = match names {
        Some(names) => names
            .iter()
            .map(|name| find(dir, name).map(|path| inspect::inspect(&path)))
            .collect::<Result<Vec<_>, String>>()?,
        None => {
            inspect::inspect_dir(dir)
                .map_err(|err| unreadable_dir(dir, &err))?
                .checkpoints
        }
    };
    let results = checkpoints
        .iter()
        .map(|info| {
            let verdict = verdict(info);
            let health = info.health();
            let text = match (&verdict, health) {
                (Verdict::FallsBack(why) | Verdict::Refused(why), _) => format!("damaged: {why}"),
                (_, Health::Ok) => "ok".into(),
                (Verdict::StartsOver, _) => format!("ok: a run starts over ({health})"),
                (Verdict::Resumes(index), _) => {
                    format!("ok: a run resumes from index {index} ({health})")
                }
            };
            (info.name.clone(), verdict.damaged(), text)
        })
        .collect();
    Ok(report(&dir.display().to_string(), results))
}

/// The output of `check`: a line per checkpoint (`name: ok …` or `name: damaged: why`) and
/// a summary; exit code 3, and the names on stderr, if any is damaged.
pub(crate) fn report(place: &str, results: Vec<(String, bool, String)>) -> Done {
    let mut text = String::new();
    if results.is_empty() {
        let _ = writeln!(text, "no checkpoints in {place}");
        return Done::text(text);
    }
    for (name, _, result) in &results {
        let _ = writeln!(text, "{name}: {result}");
    }
    let damaged: Vec<&str> = results
        .iter()
        .filter(|(_, damaged, _)| *damaged)
        .map(|(name, _, _)| name.as_str())
        .collect();
    let _ = writeln!(
        text,
        "{} checkpoint{} in {place}, {} damaged",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        damaged.len()
    );
    Done {
        text,
        damaged: (!damaged.is_empty())
            .then(|| format!("damaged checkpoints in {place}: {}", damaged.join(", "))),
    }
}
