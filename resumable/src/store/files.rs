//! Files on disk: where checkpoints live by default, crash-safe replacement, generations,
//! reading, removal, moving aside.
//!
//! A checkpoint is replaced by writing a temporary file in the same directory, fsyncing it,
//! renaming it over the old one and fsyncing the directory. `rename` is atomic on POSIX
//! filesystems, so a kill at any instant leaves either the old or the new file, never a mix;
//! the fsyncs make the new one survive a power loss once the save has returned.
//!
//! The macro's checkpoints are logs (see [`crate::store::journal`]): when a new log
//! `<file>.next` is moved into place, the current one becomes `<file>.prev`, removed once the
//! new one is durable. Every file that is ever renamed was fsynced first, so whichever of the
//! renames a crash keeps, the names hold whole checkpoints, and between them the last durable
//! one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::format::source::Source;
use crate::store::clock::now_ms;
use crate::store::fs::Fs;
use crate::store::hooks;

/// The names of one checkpoint's files: the log, the one before it, and a new log being
/// started.
#[derive(Debug, Clone)]
pub(crate) struct Generations {
    pub newest: PathBuf,
    pub previous: PathBuf,
    pub next: PathBuf,
}

impl Generations {
    pub(crate) fn of(newest: PathBuf) -> Self {
        let previous = with_suffix(&newest, ".prev");
        let next = with_suffix(&newest, ".next");
        Generations {
            newest,
            previous,
            next,
        }
    }
}

/// Moves a synced `.next` log into place: the current log becomes `.prev`, the directory is
/// synced, and `.prev` is removed. A crash between the renames leaves `.prev` and `.next`,
/// both synced; recovery takes the newer.
pub(crate) fn install_next(fs: &dyn Fs, generations: &Generations) -> Result<(), Error> {
    let Generations {
        newest,
        previous,
        next,
    } = generations;
    hooks::test_hook("before-rotate");
    match fs.rename(newest, previous) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(Error::io("keep the previous generation of", newest, err)),
    }
    hooks::test_hook("before-rename");
    fs.rename(next, newest)
        .map_err(|err| Error::io("rename", next, err))?;
    hooks::test_hook("after-rename");
    fs.sync_dir(parent_dir(newest))
        .map_err(|err| Error::io("sync the directory of", newest, err))?;
    // The new log is durable in place: the old one is no longer the last durable checkpoint,
    // and keeping it would need room for a third copy of the state. (If the removal is lost
    // to a crash, recovery picks the newer log; if it fails, the file only takes room.)
    let _ = fs.remove(previous);
    Ok(())
}

/// Replaces `path` with `bytes`, atomically and durably. On any error the old file is intact
/// and the temporary file is removed.
pub(crate) fn replace(fs: &dyn Fs, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = parent_dir(path);
    fs.create_dir(dir)
        .map_err(|err| Error::io("create the directory of", dir, err))?;
    let temp = temp_path(path);
    let result = (|| {
        fs.write(&temp, bytes)
            .map_err(|err| Error::io("write", &temp, err))?;
        fs.sync(&temp)
            .map_err(|err| Error::io("sync", &temp, err))?;
        fs.rename(&temp, path)
            .map_err(|err| Error::io("rename", &temp, err))?;
        fs.sync_dir(dir)
            .map_err(|err| Error::io("sync the directory of", path, err))
    })();
    if result.is_err() {
        // Best effort: the error that matters is the one we return.
        let _ = fs.remove(&temp);
    }
    result
}

/// The whole file, or `None` if it does not exist.
pub(crate) fn read(fs: &dyn Fs, path: &Path) -> Result<Option<Vec<u8>>, Error> {
    fs.read(path).map_err(|err| Error::io("read", path, err))
}

/// `path` opened to be read in pieces; `None` if there is no such file.
pub(crate) fn open(fs: &dyn Fs, path: &Path) -> Result<Option<Arc<dyn Source>>, Error> {
    fs.open(path).map_err(|err| Error::io("read", path, err))
}

/// Removes `path`; `Ok(false)` if it did not exist.
pub(crate) fn remove(fs: &dyn Fs, path: &Path) -> Result<bool, Error> {
    fs.remove(path)
        .map_err(|err| Error::io("remove", path, err))
}

/// Why a checkpoint's file was moved aside or copied: each names its files
/// `<file>.<why>-<unix ms>`, which the runtime writes and `inspect` reads back.
#[derive(Clone, Copy)]
pub(crate) enum Aside {
    /// Damaged bytes, kept whole.
    Damaged,
    /// A reset (`RESUMABLE_RESET`, `resumable reset`).
    Reset,
    /// Records a power loss kept ahead of the `io::Output` they count, kept before they were
    /// cut off.
    AheadOfOutput,
}

impl Aside {
    /// Every reason, for the reader of a directory.
    pub(crate) const ALL: [Aside; 3] = [Aside::Damaged, Aside::Reset, Aside::AheadOfOutput];

    /// What the file name says before the time: `.damaged-`.
    pub(crate) fn mark(self) -> &'static str {
        match self {
            Aside::Damaged => ".damaged-",
            Aside::Reset => ".reset-",
            Aside::AheadOfOutput => ".ahead-of-output-",
        }
    }

    /// The reason in words, as `resumable list` shows it.
    pub(crate) fn why(self) -> &'static str {
        match self {
            Aside::Damaged => "damaged",
            Aside::Reset => "reset",
            Aside::AheadOfOutput => "ahead of its output",
        }
    }

    /// The suffix for a file set aside now: `.damaged-<unix ms>`.
    pub(crate) fn suffix(self) -> String {
        format!("{}{}", self.mark(), now_ms())
    }
}

/// Renames `path` to `<path><suffix>` beside it and returns the new name; `None` if there was
/// no file. Used instead of deleting anything a user might still want.
pub(crate) fn move_aside(fs: &dyn Fs, path: &Path, suffix: &str) -> Result<Option<PathBuf>, Error> {
    let aside = with_suffix(path, suffix);
    match fs.rename(path, &aside) {
        Ok(()) => Ok(Some(aside)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io("move aside", path, err)),
    }
}

/// A reset, the one for `RESUMABLE_RESET` and `resumable reset`: moves every generation of a
/// checkpoint (the log, `.prev`, `.next`) aside to `<file>.reset-<unix ms>`, never deleting
/// anything, and makes the renames durable: a reset a power loss could undo would bring back
/// the checkpoint the user set aside. What moved where.
pub(crate) fn reset_generations(
    fs: &dyn Fs,
    generations: &Generations,
) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    let suffix = Aside::Reset.suffix();
    let mut moved = Vec::new();
    for file in [
        &generations.newest,
        &generations.previous,
        &generations.next,
    ] {
        if let Some(aside) = move_aside(fs, file, &suffix)? {
            moved.push((file.clone(), aside));
        }
    }
    let dir = parent_dir(&generations.newest);
    fs.sync_dir(dir)
        .map_err(|err| Error::io("sync the directory of", &generations.newest, err))?;
    Ok(moved)
}

/// Copies `path` to `<path><suffix>` beside it, synced, and returns the copy's name: keeps
/// damaged bytes a later save would replace.
pub(crate) fn keep_copy(fs: &dyn Fs, path: &Path, suffix: &str) -> Result<PathBuf, Error> {
    let copy = with_suffix(path, suffix);
    let bytes = read(fs, path)?.unwrap_or_default();
    fs.write(&copy, &bytes)
        .and_then(|()| fs.sync(&copy))
        .map_err(|err| Error::io("keep a copy of", path, err))?;
    Ok(copy)
}

/// Removes the temporary files that saves of `path` killed before their rename left behind.
/// Those of live processes (by `/proc`, where there is one) and our own are kept. Best effort:
/// a temp file is never a checkpoint, so one left over wastes space but loses nothing.
pub(crate) fn remove_stale_temp_files(fs: &dyn Fs, path: &Path) {
    let Some(name) = path.file_name().map(|name| name.to_string_lossy()) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs.list(parent_dir(path)) else {
        return;
    };
    let proc_fs = Path::new("/proc/self").exists();
    for entry in entries {
        let file_name = entry.file_name().and_then(|name| name.to_str());
        let Some(pid) = file_name.and_then(|file| file.strip_prefix(&prefix)) else {
            continue;
        };
        let alive = pid == std::process::id().to_string()
            || proc_fs && Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = fs.remove(&entry);
        }
    }
}

/// `RESUMABLE_DIR`, else [`Config::dir`](crate::Config::dir), else `.resumable` in the
/// current directory.
pub(crate) fn checkpoint_dir() -> PathBuf {
    crate::config::checkpoint_dir(None)
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    parent_dir(path).join(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::store::fs::OsFs;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("resumable-storage-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_and_leaves_no_temp_file() {
        let dir = scratch("replace");
        let path = dir.join("a.ckpt");
        replace(&OsFs, &path, b"one").unwrap();
        replace(&OsFs, &path, b"two").unwrap();
        assert_eq!(read(&OsFs, &path).unwrap().unwrap(), b"two");
        assert_eq!(names(&dir), ["a.ckpt"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = scratch("fail");
        let path = dir.join("a.ckpt");
        replace(&OsFs, &path, b"old").unwrap();
        // A directory where the temp file should go makes creating it fail.
        fs::create_dir(temp_path(&path)).unwrap();
        let err = replace(&OsFs, &path, b"new").unwrap_err();
        assert!(
            err.to_string().contains("could not write checkpoint"),
            "{err}"
        );
        assert_eq!(read(&OsFs, &path).unwrap().unwrap(), b"old");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed() {
        let dir = scratch("stale");
        let path = dir.join("a.ckpt");
        replace(&OsFs, &path, b"kept").unwrap();
        let dead = dir.join(".a.ckpt.tmp-4000000000");
        let ours = temp_path(&path);
        let other = dir.join(".b.ckpt.tmp-4000000000");
        for file in [&dead, &ours, &other] {
            fs::write(file, b"half").unwrap();
        }
        remove_stale_temp_files(&OsFs, &path);
        assert!(!dead.exists());
        assert!(ours.exists() && other.exists());
        assert_eq!(read(&OsFs, &path).unwrap().unwrap(), b"kept");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn files_and_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let path = dir.join("a.ckpt");
        replace(&OsFs, &path, b"x").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
