//! Recovery: the checkpoint a run resumes from, found among its files on disk (the log, the
//! previous one, a `.next` a crash kept from being moved into place), each read and checked
//! by [`checkpoint`](crate::format::checkpoint), and the files put back in order: a damaged
//! one moved aside (never deleted), a newer `.next` moved into place, an older one removed.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::format::checkpoint::{Found, Loaded, found_in};
use crate::format::envelope;
use crate::format::log::{self, Tail};
use crate::store::files::{self, Generations};
use crate::store::fs::Fs;

/// Reads `path` and checks that it is an intact checkpoint of state described by `label` and
/// `shape`: a log (its newest good record) or a version-1 file. `Ok(None)` if there is no file.
pub(crate) fn read_checked(
    fs: &dyn Fs,
    path: &Path,
    label: &str,
    shape: &str,
) -> Result<Option<Loaded>, Error> {
    Ok(read_file(fs, path, label, shape)?.map(|found| found.loaded))
}

fn read_file(fs: &dyn Fs, path: &Path, label: &str, shape: &str) -> Result<Option<Found>, Error> {
    let Some(source) = files::open(fs, path)? else {
        return Ok(None);
    };
    found_in(path, source, label, shape).map(Some)
}

/// The checkpoint a run resumes from, and where it came from.
pub(crate) struct Recovered {
    pub loaded: Loaded,
    pub from: PathBuf,
    /// A damaged file, or a copy of one, kept under this name, and what was wrong with it.
    pub set_aside: Option<(PathBuf, Error)>,
    /// A copy of the log kept before records ahead of their output files are cut off, and
    /// what was dropped (see `checkpoint::drop_records_ahead_of_outputs`).
    pub ahead_of_outputs: Option<(PathBuf, String)>,
}

/// The newest intact checkpoint among a checkpoint's files, made the newest generation.
///
/// - The newest file, unless it is missing or damaged; then the previous one. A damaged newest
///   file is moved aside, never deleted; damage after a log's newest good record is kept as a
///   copy before anything replaces the log.
/// - A `.next` log (a new log a crash kept from being moved into place) whose newest record is
///   newer is synced and moved into place now; an older one, or one cut short before its
///   first record, is removed (it holds nothing the other files lack).
/// - A file of other state, or one that cannot be read at all, stops the run whatever the
///   others hold.
pub(crate) fn recover(
    fs: &dyn Fs,
    generations: &Generations,
    label: &str,
    shape: &str,
) -> Result<Option<Recovered>, Error> {
    let next = recover_next(fs, generations, label, shape)?;
    let (newest, mut set_aside) = match read_file(fs, &generations.newest, label, shape) {
        Ok(found) => (found.map(|found| (found, generations.newest.clone())), None),
        Err(damage @ Error::Corrupt { .. }) => {
            let fallback = read_file(fs, &generations.previous, label, shape)
                .ok()
                .flatten();
            if fallback.is_none() && next.is_none() {
                // Nothing better to offer: report the newest file's problem.
                return Err(damage);
            }
            let suffix = format!(".damaged-{}", envelope::now_ms());
            let aside = files::move_aside(fs, &generations.newest, &suffix)?
                .unwrap_or_else(|| generations.newest.clone());
            (
                fallback.map(|found| (found, generations.previous.clone())),
                Some((aside, damage)),
            )
        }
        Err(err) => return Err(err),
    };
    let newest = match newest {
        Some(newest) => Some(newest),
        None if set_aside.is_none() => read_file(fs, &generations.previous, label, shape)?
            .map(|found| (found, generations.previous.clone())),
        None => None,
    };
    let chosen = match (newest, next) {
        (Some(newest), Some(next)) if next.loaded.seq <= newest.0.loaded.seq => {
            files::remove(fs, &generations.next)?;
            Some(newest)
        }
        (_, Some(next)) => {
            files::install_next(fs, generations)?;
            Some((next, generations.newest.clone()))
        }
        (newest, None) => newest,
    };
    let Some((found, from)) = chosen else {
        return Ok(None);
    };
    if let Some(problem) = found.damaged_tail {
        let suffix = format!(".damaged-{}", envelope::now_ms());
        let copy = files::keep_copy(fs, &from, &suffix)?;
        set_aside.get_or_insert((copy, Error::corrupt(&from, problem)));
    }
    let ahead_of_outputs = match found.ahead_of_outputs {
        Some(problem) => {
            let suffix = format!(".ahead-of-output-{}", envelope::now_ms());
            Some((files::keep_copy(fs, &from, &suffix)?, problem))
        }
        None => None,
    };
    Ok(Some(Recovered {
        loaded: found.loaded,
        from,
        set_aside,
        ahead_of_outputs,
    }))
}

/// A `.next` log with a checkpoint in it, synced; `None` if there is none. One cut short
/// before its first record is removed; a damaged one moved aside.
fn recover_next(
    fs: &dyn Fs,
    generations: &Generations,
    label: &str,
    shape: &str,
) -> Result<Option<Found>, Error> {
    let path = &generations.next;
    let Some(source) = files::open(fs, path)? else {
        return Ok(None);
    };
    let scanned = log::scan(&*source).map_err(|err| Error::io("read", path, err))?;
    let torn = match scanned {
        Err(not_a_log) => not_a_log.torn,
        Ok(scan) => scan.records.is_empty() && !matches!(scan.tail, Tail::Damaged(_)),
    };
    if torn {
        files::remove(fs, path)?;
        return Ok(None);
    }
    // A `.next` exists only after a crash: scanning it twice is cheap.
    match found_in(path, source, label, shape) {
        Ok(found) => {
            fs.sync(path).map_err(|err| Error::io("sync", path, err))?;
            Ok(Some(found))
        }
        Err(Error::Corrupt { .. }) => {
            let suffix = format!(".damaged-{}", envelope::now_ms());
            files::move_aside(fs, path, &suffix)?;
            Ok(None)
        }
        Err(err) => Err(err),
    }
}
