//! Reading: the checkpoints of a directory and the files set aside there, and each file of a
//! checkpoint read and checked record by record, without loading any state.

use std::io;
use std::path::Path;

use super::{
    CheckpointInfo, DirInfo, EXTENSION, FileInfo, FileProblem, Format, Generation, Issue, PartInfo,
    RecordInfo, SetAside, checkpoint_path,
};
use crate::error::Error;
use crate::format::envelope;
use crate::format::label;
use crate::format::log::{self, Part, Tail};
use crate::format::source::{self, Source};
use crate::store::files::{self, Aside, Generations};
use crate::store::fs::OsFs;

/// The checkpoint names in `dir`: every `<name>.ckpt`, and `<name>.ckpt.prev` or `.next`
/// whose log is missing. Sorted.
pub fn names(dir: &Path) -> io::Result<Vec<String>> {
    Ok(read_dir(dir)?.0)
}

/// The checkpoint names in `dir`, and the files set aside there.
fn read_dir(dir: &Path) -> io::Result<(Vec<String>, Vec<SetAside>)> {
    let mut names = Vec::new();
    let mut set_aside = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if let Some((why, at_ms)) = aside_mark(file_name) {
            set_aside.push(SetAside {
                path: entry.path(),
                why,
                at_ms,
                size: entry.metadata()?.len(),
            });
            continue;
        }
        let base = [".prev", ".next"]
            .iter()
            .find_map(|suffix| file_name.strip_suffix(suffix))
            .unwrap_or(file_name);
        // Temporary files of `save` start with a dot; lock files end in `.lock`.
        let name = match base.strip_suffix(EXTENSION) {
            Some(name) if !name.is_empty() && !file_name.starts_with('.') => name,
            _ => continue,
        };
        names.push(name.to_owned());
    }
    names.sort();
    names.dedup();
    set_aside.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((names, set_aside))
}

/// `("reset", Some(ms))` for `<x>.ckpt.reset-<ms>` (also after `.prev` or `.next`).
fn aside_mark(file_name: &str) -> Option<(&'static str, Option<u64>)> {
    Aside::ALL.iter().find_map(|&aside| {
        let (before, after) = file_name.rsplit_once(aside.mark())?;
        let before = [".prev", ".next"]
            .iter()
            .find_map(|suffix| before.strip_suffix(suffix))
            .unwrap_or(before);
        before
            .ends_with(EXTENSION)
            .then(|| (aside.why(), after.parse().ok()))
    })
}

/// Every checkpoint in `dir`, and the files set aside there. An error if `dir` cannot be
/// read; a checkpoint whose files cannot be read is listed with the problem.
pub fn inspect_dir(dir: &Path) -> io::Result<DirInfo> {
    let (names, set_aside) = read_dir(dir)?;
    let checkpoints = names
        .iter()
        .map(|name| inspect(&checkpoint_path(dir, name)))
        // Files a run renamed (or removed) since the directory was read.
        .filter(|info| !info.files.is_empty())
        .collect();
    Ok(DirInfo {
        checkpoints,
        set_aside,
    })
}

/// The checkpoint whose log is `path`: each of its files read and checked.
pub fn inspect(path: &Path) -> CheckpointInfo {
    let generations = Generations::of(path.to_owned());
    let files: Vec<FileInfo> = [
        (Generation::Log, &generations.newest),
        (Generation::Previous, &generations.previous),
        (Generation::Next, &generations.next),
    ]
    .into_iter()
    .filter_map(|(generation, path)| inspect_file(generation, path))
    .collect();
    let newest = files
        .iter()
        .flat_map(|file| file.records.iter().map(|record| (file.generation, record)))
        // The highest sequence number; on a tie, the log before `.prev` and `.next`.
        .max_by_key(|(generation, record)| (record.seq, *generation == Generation::Log))
        .map(|(generation, record)| (generation, record.clone()));
    let pending_next = matches!(newest, Some((Generation::Next, _)));
    let mut issues = Vec::new();
    for file in &files {
        match (&file.problem, file.generation) {
            (None, _) => {}
            (Some(FileProblem::Damaged(problem)), generation) => {
                issues.push(Issue::Damaged(generation, problem.clone()));
            }
            // A torn `.prev` is never appended to again, and a torn `.next` that holds
            // nothing newer is removed by the next run: neither matters.
            (Some(FileProblem::TornTail), Generation::Log) => {
                issues.push(Issue::TornTail(Generation::Log));
            }
            (Some(FileProblem::TornTail), Generation::Next) if pending_next => {
                issues.push(Issue::TornTail(Generation::Next));
            }
            (Some(FileProblem::TornTail), _) => {}
        }
    }
    if pending_next {
        issues.push(Issue::PendingNext);
    }
    if newest.is_none()
        && !issues
            .iter()
            .any(|issue| matches!(issue, Issue::Damaged(..)))
    {
        issues.push(Issue::NoCheckpoint);
    }
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    CheckpointInfo {
        name: name.strip_suffix(EXTENSION).unwrap_or(&name).to_owned(),
        path: path.to_owned(),
        files,
        newest,
        issues,
    }
}

/// One file of a checkpoint; `None` if it does not exist.
fn inspect_file(generation: Generation, path: &Path) -> Option<FileInfo> {
    let mut info = FileInfo {
        generation,
        path: path.to_owned(),
        size: 0,
        format: Format::Unknown,
        label: None,
        shape: None,
        records: Vec::new(),
        problem: None,
    };
    let read = match files::open(&OsFs, path) {
        Ok(Some(source)) => {
            info.size = source.size();
            read_into(&mut info, &*source).map_err(|err| err.to_string())
        }
        Ok(None) => return None,
        Err(err) => {
            info.size = std::fs::metadata(path).map_or(0, |meta| meta.len());
            Err(match &err {
                Error::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            })
        }
    };
    if let Err(cause) = read {
        info.problem = Some(FileProblem::Damaged(format!("it cannot be read ({cause})")));
    }
    Some(info)
}

/// What the file `source` holds, into `info`; an error if a read failed.
fn read_into(info: &mut FileInfo, source: &dyn Source) -> io::Result<()> {
    if !log::is_log(source)? {
        match envelope::decode_from(source)? {
            Ok((meta, payload)) => {
                info.format = Format::Single;
                info.records.push(RecordInfo {
                    seq: 0,
                    index: meta.index,
                    saved_at_ms: meta.saved_at_ms,
                    size: info.size,
                    parts: vec![PartInfo::Whole {
                        len: payload.end - payload.start,
                    }],
                    position: None,
                });
                info.label = Some(meta.label);
                info.shape = Some(meta.shape);
            }
            Err(problem) => info.problem = Some(FileProblem::Damaged(problem)),
        }
        return Ok(());
    }
    info.format = Format::Log;
    let scan = match log::scan(source)? {
        Ok(scan) => scan,
        Err(not_a_log) => {
            info.problem = Some(if not_a_log.torn {
                FileProblem::TornTail
            } else {
                FileProblem::Damaged(not_a_log.problem)
            });
            return Ok(());
        }
    };
    // Records follow each other from the end of the header.
    let mut start = scan.records_start;
    let nest = label::split_function(&scan.meta.shape)
        .1
        .starts_with(&format!("{}{}\n", label::BINDING, label::POSITION));
    for record in &scan.records {
        // A nest saves its position whole, first.
        let position = record
            .part_ranges()
            .into_iter()
            .next()
            .filter(|(part, _)| nest && matches!(part, Part::Whole { .. }) && part.len() <= 32)
            .and_then(|(_, ranges)| {
                let pieces: Result<Vec<Vec<u8>>, _> = ranges
                    .into_iter()
                    .map(|range| source::read_range(source, range))
                    .collect();
                postcard::from_bytes::<(u64, u64)>(&pieces.ok()?.concat()).ok()
            });
        info.records.push(RecordInfo {
            seq: record.head.seq,
            index: record.head.index,
            saved_at_ms: record.head.saved_at_ms,
            size: record.end - start,
            parts: record
                .head
                .parts
                .iter()
                .map(|part| match *part {
                    Part::Whole { len } => PartInfo::Whole { len },
                    Part::Extend { from, to, len } => PartInfo::Elements { from, to, len },
                })
                .collect(),
            position,
        });
        start = record.end;
    }
    info.problem = match scan.tail {
        Tail::Clean => None,
        Tail::Torn => Some(FileProblem::TornTail),
        Tail::Damaged(problem) => {
            let newest = scan.records.last().map_or(0, |record| record.head.index);
            Some(FileProblem::Damaged(match scan.lost_to {
                Some(lost_to) if lost_to > newest => format!(
                    "{problem}; a run falls back to index {newest} and loses {} iterations",
                    lost_to - newest
                ),
                _ => problem,
            }))
        }
    };
    info.label = Some(scan.meta.label);
    info.shape = Some(scan.meta.shape);
    Ok(())
}
