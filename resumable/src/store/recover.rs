//! Recovery: the checkpoint a run resumes from, found among its files on disk (the log, the
//! previous one, a `.next` a crash kept from being moved into place), each read and checked
//! by [`checkpoint`](crate::format::checkpoint), and the files put back in order: a damaged
//! one moved aside (never deleted), a newer `.next` moved into place, an older one removed.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::format::checkpoint::{Found, Loaded, found_in};
use crate::format::log::{self, Tail};
use crate::store::files::{self, Aside, Generations};
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
    found_in(path, source, label, shape, &output_len).map(Some)
}

/// How many bytes the `io::Output` file `path` holds (0 if it is gone): outputs are the
/// user's files, on the real disk whichever `Fs` holds the checkpoint.
fn output_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

/// The checkpoint a run resumes from, and where it came from.
pub(crate) struct Recovered {
    pub loaded: Loaded,
    pub from: PathBuf,
    /// A damaged file, or a copy of one, kept under this name, and what was wrong with it.
    pub set_aside: Option<(PathBuf, Error)>,
    /// Logs moved aside, or copies kept before records were cut off, because they count more
    /// of an `io::Output` than it holds (see `checkpoint::drop_records_ahead_of_outputs`):
    /// where each is, and what happened.
    pub ahead_of_outputs: Vec<(PathBuf, String)>,
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
    let mut ahead_of_outputs = Vec::new();
    let next = recover_next(fs, generations, label, shape, &mut ahead_of_outputs)?;
    let (newest, mut set_aside) = match read_file(fs, &generations.newest, label, shape) {
        Ok(Some(found)) if found.outputs_short.is_some() => {
            match read_file(fs, &generations.previous, label, shape)
                .ok()
                .flatten()
            {
                // A new log a power loss kept whole, and the output it counts not: the
                // previous log, whose outputs hold what it counts, is the one to resume.
                Some(previous) if previous.outputs_short.is_none() => {
                    let suffix = Aside::AheadOfOutput.suffix();
                    let aside = files::move_aside(fs, &generations.newest, &suffix)?
                        .unwrap_or_else(|| generations.newest.clone());
                    let short = found.outputs_short.unwrap_or_default();
                    ahead_of_outputs.push((
                        aside,
                        format!(
                            "{short}; the run falls back to index {} in {}",
                            previous.loaded.meta.index,
                            generations.previous.display()
                        ),
                    ));
                    (Some((previous, generations.previous.clone())), None)
                }
                _ => (Some((found, generations.newest.clone())), None),
            }
        }
        Ok(found) => (found.map(|found| (found, generations.newest.clone())), None),
        Err(damage @ Error::Corrupt { .. }) => {
            let fallback = read_file(fs, &generations.previous, label, shape)
                .ok()
                .flatten();
            if fallback.is_none() && next.is_none() {
                // Nothing better to offer: report the newest file's problem.
                return Err(damage);
            }
            let suffix = Aside::Damaged.suffix();
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
        let suffix = Aside::Damaged.suffix();
        let copy = files::keep_copy(fs, &from, &suffix)?;
        set_aside.get_or_insert((copy, Error::corrupt(&from, problem)));
    }
    if let Some(problem) = found.ahead_of_outputs {
        let suffix = Aside::AheadOfOutput.suffix();
        ahead_of_outputs.push((files::keep_copy(fs, &from, &suffix)?, problem));
    }
    Ok(Some(Recovered {
        loaded: found.loaded,
        from,
        set_aside,
        ahead_of_outputs,
    }))
}

/// A `.next` log with a checkpoint in it, synced; `None` if there is none. One cut short
/// before its first record is removed; a damaged one moved aside, and one whose records all
/// count more of an output than it holds too (said in `ahead_of_outputs`).
fn recover_next(
    fs: &dyn Fs,
    generations: &Generations,
    label: &str,
    shape: &str,
    ahead_of_outputs: &mut Vec<(PathBuf, String)>,
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
    match found_in(path, source, label, shape, &output_len) {
        // Kept by a power loss without the output its records count: the logs before it
        // hold what the output does. Set aside, never removed.
        Ok(found) if found.outputs_short.is_some() => {
            let suffix = Aside::AheadOfOutput.suffix();
            let aside = files::move_aside(fs, path, &suffix)?.unwrap_or_else(|| path.clone());
            let short = found.outputs_short.unwrap_or_default();
            ahead_of_outputs.push((
                aside,
                format!("{short}; the run resumes from the log before it"),
            ));
            Ok(None)
        }
        Ok(found) => {
            fs.sync(path).map_err(|err| Error::io("sync", path, err))?;
            Ok(Some(found))
        }
        Err(Error::Corrupt { .. }) => {
            let suffix = Aside::Damaged.suffix();
            files::move_aside(fs, path, &suffix)?;
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::fs::OsFs;
    use crate::store::journal::{Journal, Sink};

    /// Appends a record of `index` that counts `counted` bytes of `output`, to a new `.next`
    /// log if `new_file`; moved into place only if `install`.
    fn record(
        journal: &mut Journal,
        index: u64,
        output: &Path,
        counted: u64,
        new_file: bool,
        install: bool,
    ) {
        journal.begin(new_file);
        journal.whole(&Sink::new(&OsFs), &index).unwrap();
        let job = journal
            .write(&OsFs, new_file, index, 0, None, &[(output, counted)])
            .unwrap();
        if install {
            job.run(&OsFs).unwrap();
        }
    }

    /// A power loss can keep a new `.next` log whole and not the output bytes its records
    /// count: recovery sets it aside (never installs it, which would leave only a log the
    /// output cannot follow) and resumes from the log before it; records of a log ahead of
    /// the output are cut back to the newest that fits, a copy of the log kept.
    #[test]
    fn logs_and_records_ahead_of_their_output_are_set_aside_for_the_newest_that_fits() {
        let (dir, generations, mut journal) = Journal::scratch("recover");
        std::fs::create_dir_all(&dir).unwrap();
        let output = dir.join("out.txt");
        std::fs::write(&output, [b'x'; 50]).unwrap();
        // The outputs follow the code in a head, as a run writes them.
        journal.code = Some(7);
        record(&mut journal, 1, &output, 40, true, true);
        record(&mut journal, 2, &output, 50, false, true);
        record(&mut journal, 3, &output, 60, false, true);
        record(&mut journal, 4, &output, 100, true, false);
        assert!(generations.next.exists());

        let recovered = recover(&OsFs, &generations, "a", "").unwrap().unwrap();
        assert_eq!(
            recovered.loaded.meta.index, 2,
            "the newest record its output holds"
        );
        assert_eq!(recovered.from, generations.newest);
        let [(next, set_aside), (copy, cut)] = &recovered.ahead_of_outputs[..] else {
            panic!("two things said: {:?}", recovered.ahead_of_outputs);
        };
        assert!(
            set_aside.contains("index 4 counts 100 bytes"),
            "{set_aside}"
        );
        assert!(
            set_aside.contains("resumes from the log before it"),
            "{set_aside}"
        );
        assert!(cut.contains("index 3 counts 60 bytes"), "{cut}");
        assert!(cut.contains("falls back to index 2"), "{cut}");
        assert!(
            next.to_string_lossy()
                .contains("a.ckpt.next.ahead-of-output-")
        );
        assert!(copy.to_string_lossy().contains("a.ckpt.ahead-of-output-"));
        assert!(!generations.next.exists(), "the .next log was set aside");
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let aside = names
            .iter()
            .filter(|name| name.starts_with("a.ckpt.next.ahead-of-output-"))
            .count();
        assert_eq!(aside, 1, "the .next log kept aside: {names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
