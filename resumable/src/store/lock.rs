//! One run at a time per checkpoint: an exclusive lock on `<checkpoint>.lock`, which records
//! the holder's process id for the error the next process gets.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::store::files::{parent_dir, with_suffix};
use crate::store::fs::{Fs, OsFs};

/// Held for as long as a run uses its checkpoint; the OS releases it if the process dies.
pub(crate) struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    /// Locks `checkpoint`'s lock file, or says who holds it.
    pub(crate) fn acquire(checkpoint: &Path) -> Result<Lock, Error> {
        let path = with_suffix(checkpoint, ".lock");
        let dir = parent_dir(&path);
        OsFs.create_dir(dir)
            .map_err(|err| Error::io("create the directory of", dir, err))?;
        loop {
            let mut options = OpenOptions::new();
            options.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&path)
                .map_err(|err| Error::io("open the lock file of", checkpoint, err))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    return Err(Error::Locked {
                        path: checkpoint.to_owned(),
                        holder: holder.trim().to_owned(),
                    });
                }
                Err(TryLockError::Error(err)) => {
                    return Err(Error::io("lock", checkpoint, err));
                }
            }
            // A finishing run removes the lock file while it holds the lock: if that happened
            // between our open and our lock, we hold a lock on a file nobody else will open.
            if !still_at(&file, &path) {
                continue;
            }
            // Written over the start, then cut to its length: a truncation to 0 would make
            // ext4 write the file out when it is closed (its `auto_da_alloc`), at every run's
            // end, for a file that is removed then.
            let pid = std::process::id().to_string();
            let _ = file
                .write_all(pid.as_bytes())
                .and_then(|()| file.set_len(pid.len() as u64));
            return Ok(Lock { file, path });
        }
    }

    /// Removes the lock file, then releases the lock: for a run that is done with its
    /// checkpoint for good.
    pub(crate) fn remove(self) {
        let _ = OsFs.remove(&self.path);
        drop(self.file);
    }
}

#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at(_: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = std::env::temp_dir().join(format!("resumable-lock-{}", std::process::id()));
        let checkpoint = dir.join("job.ckpt");
        let first = Lock::acquire(&checkpoint).unwrap();
        let err = Lock::acquire(&checkpoint)
            .err()
            .expect("second lock must fail");
        let text = err.to_string();
        assert!(text.contains(&checkpoint.display().to_string()), "{text}");
        assert!(text.contains(&std::process::id().to_string()), "{text}");
        first.remove();
        let again = Lock::acquire(&checkpoint).unwrap();
        again.remove();
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A lock file left by a killed run, holding a longer process id, ends up holding ours
    /// alone: the file is cut to the id written over its start.
    #[test]
    fn a_stale_lock_file_is_overwritten_with_the_holders_id_only() {
        let dir = std::env::temp_dir().join(format!("resumable-lock-stale-{}", std::process::id()));
        let checkpoint = dir.join("job.ckpt");
        std::fs::create_dir_all(&dir).unwrap();
        let path = with_suffix(&checkpoint, ".lock");
        std::fs::write(&path, "12345678901234567890\n").unwrap();
        let lock = Lock::acquire(&checkpoint).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::process::id().to_string()
        );
        lock.remove();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
