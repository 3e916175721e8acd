//! The `--json` output of `list` and `show`: one JSON document per command, the same fields
//! whatever the checkpoint holds (a missing value is `null`, never a missing field). Built
//! from what `resumable::inspect` read; the README has the same description.
//!
//! Times are Unix milliseconds (`*_at_ms`), durations milliseconds (`*_ms`), sizes bytes.
//! Paths are strings (a non-UTF-8 byte is replaced by U+FFFD). New fields may be added;
//! none is renamed or removed within a major version.
//!
//! # `list --json`
//!
//! An object:
//! - `kind`: `"dir"` or `"store"`.
//! - `location`: the directory, or the store URL.
//! - `checkpoints`: one object per checkpoint, by name: a *checkpoint* for a directory, a
//!   *store checkpoint* for a store (below).
//! - `set_aside`: the files checkpoints were moved aside to, by path (always `[]` on a
//!   store), each with `path`; `size` (bytes); `why` (`"reset"` or `"damaged"`); `at_ms`
//!   (when it was set aside, from its name; `null` if the name does not say).
//!
//! A *checkpoint* (a directory's):
//! - `name`: its file name without `.ckpt`, as `show`, `check` and `reset` take it.
//! - `path`: its log, `<dir>/<name>.ckpt` (which may be missing while `.prev` or `.next`
//!   exist).
//! - `function`, `key`, `label`: the function's checkpoint name, the `Debug` text of its key,
//!   and the two as the header holds them; `null` when no header could be read (`key` also
//!   without a key).
//! - `index`: completed iterations of the record a run resumes from; `null` if none.
//! - `saved_at_ms`: when that record was saved; `null` if none.
//! - `size`: the bytes of all its files.
//! - `health`: the text of `list`'s `HEALTH` column: `"ok"`, or the issues separated by `; `.
//! - `ok`: `health` is `"ok"` (no issue at all).
//! - `damaged`: `check` counts it as damaged (exits 3): a run would refuse it or warn and
//!   resume from an older record. A torn tail is not damage.
//! - `load`: what a run would do with it: `"newest"` (resumes from its newest record),
//!   `"fallback"` (warns, keeps the damaged bytes aside, resumes from an older one),
//!   `"refused"` (stops with an error), `"none"` (nothing to resume: starts over).
//! - `why`: what `check` says is wrong, when `damaged`; else `null`.
//! - `issues`: what `health` says, one object each: `kind` (`"torn_tail"`, `"damaged"`,
//!   `"pending_next"` or `"no_checkpoint"`), `file` (`"log"`, `"prev"`, `"next"`, or `null`
//!   for the last two kinds), `problem` (a damage's text, else `null`), `text` (as in
//!   `health`).
//!
//! A *store checkpoint*:
//! - `name`, `health`, `ok`: as above (`health` names the commits that cannot be used).
//! - `damaged`: some commit newer than the newest intact one cannot be used (a run warns
//!   and resumes from the one before); what `check` counts on a store.
//! - `index`, `saved_at_ms`, `size` (its log's bytes), `generation`, `objects` (the data
//!   objects of its log), `writer` (host, process, run id): of the newest intact commit, a
//!   run on a new machine resumes from; all `null` if there is none (finished, reset, or
//!   nothing uploaded yet).
//! - `damaged_commits`: `[{path, problem}]`, the commits that cannot be used.
//! - `lease`: `state` (`"free"`, `"released"`, `"held"`, or `"expired"`: held, but its
//!   holder has not beaten within the expiry, so the next run takes over), `holder` (`null`
//!   when free), `beat_ago_ms` and `expiry_ms` (`null` unless held or expired), `text` (as
//!   in `list`).
//!
//! # `show --json`
//!
//! For a directory, an object with every field of its *checkpoint* above, and:
//! - `newest`: the record a run resumes from, or `null`: `file` (`"log"`, `"prev"`,
//!   `"next"`), `seq`, `index`, `saved_at_ms`, `size`, `position` (below).
//! - `shape`: the header's shape text (the state bindings and their types), or `null`.
//! - `bindings`: the state bindings' names, from the shape (`[]` for a version-1 file).
//! - `files`: the files that exist, log, `.prev`, `.next`: `generation` (`"log"`,
//!   `"prev"`, `"next"`), `path`, `size`, `format` (`"log"`, `"single"` for a version-1
//!   file of `resumable::save`, `"unknown"`), `label` and `shape` (its header's, or `null`),
//!   `records` (its intact records, oldest first), `problem` (what follows them, or why the
//!   file cannot be read: `null`, or `{kind: "torn_tail" | "damaged", detail}` with `detail`
//!   `null` for a torn tail).
//! - A record: `seq` (0 in a version-1 file), `index`, `saved_at_ms`, `size` (its bytes in
//!   the file), `parts` (one per state binding: `binding` (its name, or `null` if the shape
//!   does not name them), `kind` (`"whole"` or `"elements"`), `from` and `to` (the elements
//!   held, `null` when whole), `len` (their encoded bytes)), `position` (a loop nest's
//!   `{outer, inner}`, else `null`).
//! - `store`: with `--store` (or `RESUMABLE_STORE`), how far that store is behind:
//!   `location` (its URL), `error` (why it could not be read, else `null`), `checkpoint`
//!   (its *store checkpoint*, or `null` if it holds nothing of that name), `behind` (how
//!   many iterations the store's newest commit is behind this checkpoint, or `null`); else
//!   `null`.
//!
//! For a store, an object with every field of its *store checkpoint*, and:
//! - `location`: the store URL.
//! - `log`: its newest commit's log, fetched and checked as a run fetches it, as `show
//!   --json` of a directory gives it (its paths name the temporary copy, removed once read);
//!   `null` if the store holds no checkpoint of it.

use std::path::Path;

use resumable::inspect::{
    self, CheckpointInfo, FileInfo, FileProblem, Format, Generation, Issue, PartInfo, RecordInfo,
    SetAside,
};
use serde::Serialize;

use crate::check;

/// `list --json` (see the module docs); `T` is a directory's [`Checkpoint`] or a store's.
#[derive(Serialize)]
pub(crate) struct Listing<T> {
    pub kind: &'static str,
    pub location: String,
    pub checkpoints: Vec<T>,
    pub set_aside: Vec<SetAsideFile>,
}

/// A file a checkpoint was moved aside to.
#[derive(Serialize)]
pub(crate) struct SetAsideFile {
    path: String,
    size: u64,
    why: &'static str,
    at_ms: Option<u64>,
}

/// One checkpoint of a directory, as `list --json` gives it.
#[derive(Serialize)]
pub(crate) struct Checkpoint {
    name: String,
    path: String,
    function: Option<String>,
    key: Option<String>,
    label: Option<String>,
    index: Option<u64>,
    saved_at_ms: Option<u64>,
    size: u64,
    health: String,
    ok: bool,
    damaged: bool,
    load: &'static str,
    why: Option<String>,
    issues: Vec<IssueJson>,
}

/// One of a checkpoint's issues (its `health`).
#[derive(Serialize)]
struct IssueJson {
    kind: &'static str,
    file: Option<&'static str>,
    problem: Option<String>,
    text: String,
}

/// `show --json` of a checkpoint in a directory.
#[derive(Serialize)]
pub(crate) struct Show {
    #[serde(flatten)]
    checkpoint: Checkpoint,
    newest: Option<Newest>,
    shape: Option<String>,
    bindings: Vec<String>,
    files: Vec<File>,
    store: Option<StoreLag>,
}

/// The record a run resumes from.
#[derive(Serialize)]
struct Newest {
    file: &'static str,
    seq: u64,
    index: u64,
    saved_at_ms: u64,
    size: u64,
    position: Option<Position>,
}

/// A loop nest's position.
#[derive(Serialize)]
struct Position {
    outer: u64,
    inner: u64,
}

/// One of a checkpoint's files.
#[derive(Serialize)]
struct File {
    generation: &'static str,
    path: String,
    size: u64,
    format: &'static str,
    label: Option<String>,
    shape: Option<String>,
    records: Vec<Record>,
    problem: Option<Problem>,
}

/// What follows a file's intact records, or why it cannot be read.
#[derive(Serialize)]
struct Problem {
    kind: &'static str,
    detail: Option<String>,
}

/// An intact record.
#[derive(Serialize)]
struct Record {
    seq: u64,
    index: u64,
    saved_at_ms: u64,
    size: u64,
    parts: Vec<Part>,
    position: Option<Position>,
}

/// How a record holds one state binding.
#[derive(Serialize)]
struct Part {
    binding: Option<String>,
    kind: &'static str,
    from: Option<u64>,
    to: Option<u64>,
    len: u64,
}

/// The document as printed: indented, ending in a newline.
pub(crate) fn text(value: &impl Serialize) -> Result<String, String> {
    let mut out = serde_json::to_string_pretty(value)
        .map_err(|err| format!("cannot write the output as JSON: {err}"))?;
    out.push('\n');
    Ok(out)
}

/// `list --json` of the directory `dir`.
pub(crate) fn list(dir: &Path) -> Result<String, String> {
    let listing = inspect::inspect_dir(dir).map_err(|err| crate::unreadable_dir(dir, &err))?;
    text(&Listing {
        kind: "dir",
        location: path_text(dir),
        checkpoints: listing.checkpoints.iter().map(checkpoint).collect(),
        set_aside: listing.set_aside.iter().map(set_aside).collect(),
    })
}

/// `show --json` of checkpoint `name` in `dir`; with `store`, how far it is behind.
pub(crate) fn show(dir: &Path, name: &str, store: Option<&str>) -> Result<String, String> {
    let shown = show_value(dir, name)?;
    let store = match store {
        Some(url) => Some(crate::store::lag_json(url, dir, name)?),
        None => None,
    };
    text(&Show { store, ..shown })
}

/// `show --json` of checkpoint `name` in `dir`, without a store.
pub(crate) fn show_value(dir: &Path, name: &str) -> Result<Show, String> {
    let info = inspect::inspect(&crate::find(dir, name)?);
    let bindings: Vec<String> = info.bindings().into_iter().map(str::to_owned).collect();
    let newest = info.newest.as_ref().map(|(generation, record)| Newest {
        file: generation_name(*generation),
        seq: record.seq,
        index: record.index,
        saved_at_ms: record.saved_at_ms,
        size: record.size,
        position: position(record),
    });
    Ok(Show {
        newest,
        shape: info.shape().map(str::to_owned),
        files: info
            .files
            .iter()
            .map(|file| file_of(file, &bindings))
            .collect(),
        bindings,
        store: None,
        checkpoint: checkpoint(&info),
    })
}

fn checkpoint(info: &CheckpointInfo) -> Checkpoint {
    let verdict = check::verdict(info);
    let health = info.health();
    Checkpoint {
        name: info.name.clone(),
        path: path_text(&info.path),
        function: info.function().map(str::to_owned),
        key: info.key().map(str::to_owned),
        label: info.label().map(str::to_owned),
        index: info.index(),
        saved_at_ms: info.newest.as_ref().map(|(_, record)| record.saved_at_ms),
        size: info.size(),
        ok: health.is_ok(),
        health: health.to_string(),
        damaged: verdict.damaged(),
        load: verdict.load(),
        why: verdict.why().map(str::to_owned),
        issues: info.issues.iter().map(issue).collect(),
    }
}

fn issue(issue: &Issue) -> IssueJson {
    let (kind, file, problem) = match issue {
        Issue::TornTail(generation) => ("torn_tail", Some(*generation), None),
        Issue::Damaged(generation, problem) => ("damaged", Some(*generation), Some(problem)),
        Issue::PendingNext => ("pending_next", None, None),
        Issue::NoCheckpoint => ("no_checkpoint", None, None),
    };
    IssueJson {
        kind,
        file: file.map(generation_name),
        problem: problem.cloned(),
        text: issue.to_string(),
    }
}

fn set_aside(aside: &SetAside) -> SetAsideFile {
    SetAsideFile {
        path: path_text(&aside.path),
        size: aside.size,
        why: aside.why,
        at_ms: aside.at_ms,
    }
}

fn file_of(file: &FileInfo, bindings: &[String]) -> File {
    File {
        generation: generation_name(file.generation),
        path: path_text(&file.path),
        size: file.size,
        format: match file.format {
            Format::Log => "log",
            Format::Single => "single",
            Format::Unknown => "unknown",
        },
        label: file.label.clone(),
        shape: file.shape.clone(),
        records: file
            .records
            .iter()
            .map(|record| record_of(record, bindings))
            .collect(),
        problem: file.problem.as_ref().map(|problem| match problem {
            FileProblem::TornTail => Problem {
                kind: "torn_tail",
                detail: None,
            },
            FileProblem::Damaged(detail) => Problem {
                kind: "damaged",
                detail: Some(detail.clone()),
            },
        }),
    }
}

fn record_of(record: &RecordInfo, bindings: &[String]) -> Record {
    // Named as `show` names them: only when the shape has one name per part.
    let named = bindings.len() == record.parts.len();
    let parts = record
        .parts
        .iter()
        .enumerate()
        .map(|(at, part)| {
            let binding = named.then(|| bindings[at].clone());
            match *part {
                PartInfo::Whole { len } => Part {
                    binding,
                    kind: "whole",
                    from: None,
                    to: None,
                    len,
                },
                PartInfo::Elements { from, to, len } => Part {
                    binding,
                    kind: "elements",
                    from: Some(from),
                    to: Some(to),
                    len,
                },
            }
        })
        .collect();
    Record {
        seq: record.seq,
        index: record.index,
        saved_at_ms: record.saved_at_ms,
        size: record.size,
        parts,
        position: position(record),
    }
}

fn position(record: &RecordInfo) -> Option<Position> {
    record
        .position
        .map(|(outer, inner)| Position { outer, inner })
}

fn generation_name(generation: Generation) -> &'static str {
    match generation {
        Generation::Log => "log",
        Generation::Previous => "prev",
        Generation::Next => "next",
    }
}

pub(crate) fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(feature = "object-store")]
pub(crate) use with_store::{StoreCheckpoint, StoreLag, StoreShow};

/// Without the `object-store` feature there is no store to be behind: `store` is `null`.
#[cfg(not(feature = "object-store"))]
#[derive(Serialize)]
pub(crate) enum StoreLag {}

#[cfg(feature = "object-store")]
mod with_store {
    use resumable::inspect::{StoreCheckpointInfo, StoreLease};
    use serde::Serialize;

    use super::Show;

    /// One checkpoint on a store, as `list --json` gives it.
    #[derive(Serialize)]
    pub(crate) struct StoreCheckpoint {
        name: String,
        index: Option<u64>,
        saved_at_ms: Option<u64>,
        size: Option<u64>,
        generation: Option<u64>,
        objects: Option<usize>,
        writer: Option<String>,
        health: String,
        ok: bool,
        damaged: bool,
        damaged_commits: Vec<DamagedCommit>,
        lease: Lease,
    }

    /// A commit that cannot be used.
    #[derive(Serialize)]
    struct DamagedCommit {
        path: String,
        problem: String,
    }

    /// Who holds a checkpoint's lease.
    #[derive(Serialize)]
    struct Lease {
        state: &'static str,
        holder: Option<String>,
        beat_ago_ms: Option<u64>,
        expiry_ms: Option<u64>,
        text: String,
    }

    /// `show --json` of a checkpoint on a store.
    #[derive(Serialize)]
    pub(crate) struct StoreShow {
        #[serde(flatten)]
        pub checkpoint: StoreCheckpoint,
        pub location: String,
        pub log: Option<Show>,
    }

    /// How far a store is behind a local checkpoint (`show --json --store`).
    #[derive(Serialize)]
    pub(crate) struct StoreLag {
        pub location: String,
        pub error: Option<String>,
        pub checkpoint: Option<StoreCheckpoint>,
        pub behind: Option<u64>,
    }

    impl StoreCheckpoint {
        pub(crate) fn of(info: &StoreCheckpointInfo) -> StoreCheckpoint {
            let newest = info.newest.as_ref();
            let health = info.health();
            let (state, holder, beat_ago_ms, expiry_ms) = match &info.lease {
                StoreLease::Free => ("free", None, None, None),
                StoreLease::Released { holder } => ("released", Some(holder), None, None),
                StoreLease::Held {
                    holder,
                    beat_ago_ms,
                    expiry_ms,
                } => (
                    if beat_ago_ms < expiry_ms {
                        "held"
                    } else {
                        "expired"
                    },
                    Some(holder),
                    Some(*beat_ago_ms),
                    Some(*expiry_ms),
                ),
            };
            StoreCheckpoint {
                name: info.name.clone(),
                index: newest.map(|commit| commit.index),
                saved_at_ms: newest.map(|commit| commit.saved_at_ms),
                size: newest.map(|commit| commit.size),
                generation: newest.map(|commit| commit.generation),
                objects: newest.map(|commit| commit.objects),
                writer: newest.map(|commit| commit.writer.clone()),
                ok: health.is_ok(),
                health: health.to_string(),
                damaged: !info.damaged.is_empty(),
                damaged_commits: info
                    .damaged
                    .iter()
                    .map(|(path, problem)| DamagedCommit {
                        path: path.clone(),
                        problem: problem.clone(),
                    })
                    .collect(),
                lease: Lease {
                    state,
                    holder: holder.cloned(),
                    beat_ago_ms,
                    expiry_ms,
                    text: info.lease.text(),
                },
            }
        }
    }
}
