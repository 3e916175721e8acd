//! Files on disk: crash-safe replacement, reading, removal and moving aside.
//!
//! A checkpoint is replaced by writing a temporary file in the same directory, fsyncing it,
//! renaming it over the old one and fsyncing the directory. `rename` is atomic on POSIX
//! filesystems, so a kill at any instant leaves either the old or the new file, never a mix;
//! the fsyncs make the new one survive a power loss once `write_atomically` has returned.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Replaces `path` with `bytes`, atomically and durably. On any error the old file is intact
/// and the temporary file is removed.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = parent_dir(path);
    create_dir(dir)?;
    let temp = temp_path(path);
    let result = write_and_sync(&temp, bytes)
        .and_then(|()| fs::rename(&temp, path).map_err(|err| Error::io("rename", &temp, err)))
        .and_then(|()| sync_dir(dir));
    if result.is_err() {
        // Best effort: the error that matters is the one we return.
        let _ = fs::remove_file(&temp);
    }
    result
}

/// The whole file, or `None` if it does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io("read", path, err)),
    }
}

/// Removes `path`; `Ok(false)` if it did not exist.
pub(crate) fn remove(path: &Path) -> Result<bool, Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(Error::io("remove", path, err)),
    }
}

/// Renames `path` to `<path>.reset-<unix ms>` beside it and returns the new name.
pub(crate) fn move_aside(path: &Path, now_ms: u64) -> Result<PathBuf, Error> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".reset-{now_ms}"));
    let aside = PathBuf::from(aside);
    fs::rename(path, &aside).map_err(|err| Error::io("move aside", path, err))?;
    Ok(aside)
}

/// Removes the temporary files that saves of `path` killed before their rename left behind.
/// Those of live processes (by `/proc`, where there is one) and our own are kept. Best effort:
/// a temp file is never a checkpoint, so one left over wastes space but loses nothing.
pub(crate) fn remove_stale_temp_files(path: &Path) {
    let Some(name) = path.file_name().map(|name| name.to_string_lossy()) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return;
    };
    let proc_fs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|file| file.strip_prefix(&prefix))
        else {
            continue;
        };
        let alive = pid == std::process::id().to_string()
            || proc_fs && Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    parent_dir(path).join(format!(".{name}.tmp-{}", std::process::id()))
}

fn create_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|err| Error::io("create directory for", dir, err))
}

fn write_and_sync(temp: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(temp)
        .map_err(|err| Error::io("create", temp, err))?;
    file.write_all(bytes)
        .map_err(|err| Error::io("write", temp, err))?;
    file.sync_all().map_err(|err| Error::io("sync", temp, err))
}

/// Makes a rename in `dir` durable. Directories cannot be opened as files on Windows, where
/// the rename itself is what there is.
fn sync_dir(dir: &Path) -> Result<(), Error> {
    if cfg!(unix) {
        File::open(dir)
            .and_then(|handle| handle.sync_all())
            .map_err(|err| Error::io("sync directory of", dir, err))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("resumable-storage-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn replaces_and_leaves_no_temp_file() {
        let dir = scratch("replace");
        let path = dir.join("a.ckpt");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(read(&path).unwrap().unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.ckpt"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = scratch("fail");
        let path = dir.join("a.ckpt");
        write_atomically(&path, b"old").unwrap();
        // A directory where the temp file should go makes creating it fail.
        fs::create_dir(temp_path(&path)).unwrap();
        let err = write_atomically(&path, b"new").unwrap_err();
        assert!(
            err.to_string().contains("could not create checkpoint"),
            "{err}"
        );
        assert_eq!(read(&path).unwrap().unwrap(), b"old");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed() {
        let dir = scratch("stale");
        let path = dir.join("a.ckpt");
        write_atomically(&path, b"kept").unwrap();
        let dead = dir.join(".a.ckpt.tmp-4000000000");
        let ours = temp_path(&path);
        let other = dir.join(".b.ckpt.tmp-4000000000");
        for file in [&dead, &ours, &other] {
            fs::write(file, b"half").unwrap();
        }
        remove_stale_temp_files(&path);
        assert!(!dead.exists());
        assert!(ours.exists() && other.exists());
        assert_eq!(read(&path).unwrap().unwrap(), b"kept");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn files_and_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let path = dir.join("a.ckpt");
        write_atomically(&path, b"x").unwrap();
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
