//! The file operations checkpoints need, behind a trait, so tests can replay them against a
//! simulated disk that loses what was not synced (see `sim_fs`).

use std::any::Any;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::format::source::Source;
use crate::store::hooks;

/// A file a checkpoint log is appended to, held open so a rename of its name does not matter:
/// the handle of the [`Fs`] that opened it (an open [`File`] of the real filesystem, an inode
/// of the simulated disk), which only that `Fs` reads.
pub(crate) struct LogFile(Box<dyn Any + Send + Sync>);

impl LogFile {
    /// A log held open by `handle`.
    pub(crate) fn new(handle: impl Any + Send + Sync) -> LogFile {
        LogFile(Box::new(handle))
    }

    /// The handle, as the `Fs` that made it knows it.
    pub(crate) fn handle<T: Any>(&self) -> &T {
        self.0
            .downcast_ref()
            .expect("resumable: a log file given to another filesystem than the one it is on")
    }
}

/// What [`crate::store::files`] does to the disk. Each method is one system-level step, so a
/// crash can be simulated between any two of them. A run is given its `Fs` once (the real one
/// by `Run::start`) and hands it to the syncer's thread, hence `Send + Sync`.
pub(crate) trait Fs: Send + Sync {
    /// Creates (or truncates) `path`, owner-only, and writes `bytes`; not synced.
    fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Makes `path`'s content durable (fsync).
    fn sync(&self, path: &Path) -> io::Result<()>;
    /// Atomically replaces `to` with `from`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the names in `dir` durable: creations, renames, removals (fsync of the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Creates `dir` and its parents, owner-only, and makes their names durable.
    fn create_dir(&self, dir: &Path) -> io::Result<()>;
    /// The whole content of `path`; `None` if it does not exist.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// `path` opened to be read in pieces; `None` if it does not exist.
    fn open(&self, path: &Path) -> io::Result<Option<Arc<dyn Source>>> {
        Ok(self
            .read(path)?
            .map(|bytes| Arc::new(bytes) as Arc<dyn Source>))
    }
    /// Removes `path`; `false` if it did not exist.
    fn remove(&self, path: &Path) -> io::Result<bool>;
    /// The names of the entries of `dir` (empty if it does not exist).
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Creates (or truncates) `path`, owner-only, and keeps it open for [`Fs::append`].
    fn create_log(&self, path: &Path) -> io::Result<LogFile>;
    /// Opens the existing log `path` to append after its first `len` bytes, cutting off what
    /// follows them (a record a crash cut short); not synced.
    fn open_log(&self, path: &Path, len: u64) -> io::Result<LogFile>;
    /// Writes `parts` one after another at the end of `file`; not synced.
    fn append(&self, file: &LogFile, parts: &[&[u8]]) -> io::Result<()>;
    /// Makes everything appended to `file` durable (fsync).
    fn sync_log(&self, file: &LogFile) -> io::Result<()>;
}

/// The real filesystem.
pub(crate) struct OsFs;

/// A file opened to be read, of the size it had when opened (a checkpoint's files change
/// only under the lock the reader holds, or by rename, which leaves an open file as it was).
pub(crate) struct OpenFile {
    file: Mutex<File>,
    size: u64,
}

impl OpenFile {
    /// `file`, whose first `size` bytes are read.
    pub(crate) fn new(file: File, size: u64) -> OpenFile {
        OpenFile {
            file: Mutex::new(file),
            size,
        }
    }
}

impl Source for OpenFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.seek(io::SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

/// Opens `path` for writing from its start, creating or truncating it, owner-only.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    // Readable too: the uploader reads a log through the handle it was written with, so it
    // reads that file even after a newer log took its name.
    options.read(true).write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

impl Fs for OsFs {
    fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        create_private(path)?.write_all(bytes)
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        // fsync is per file, not per descriptor: a new descriptor flushes what the writer wrote.
        OpenOptions::new().write(true).open(path)?.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // Directories cannot be opened as files on Windows, where the rename is all there is.
        if cfg!(unix) && !hooks::test_skips_sync("dir") {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        // A directory's name is an entry of its parent: until the parent is synced, a power
        // loss can take the directory away with every checkpoint synced into it.
        let missing: Vec<&Path> = dir
            .ancestors()
            .take_while(|dir| !dir.as_os_str().is_empty() && fs::symlink_metadata(dir).is_err())
            .collect();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
        for created in missing.iter().rev() {
            let parent = created.parent().filter(|dir| !dir.as_os_str().is_empty());
            self.sync_dir(parent.unwrap_or(Path::new(".")))?;
        }
        Ok(())
    }

    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn open(&self, path: &Path) -> io::Result<Option<Arc<dyn Source>>> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let size = file.metadata()?.len();
        Ok(Some(Arc::new(OpenFile::new(file, size))))
    }

    fn remove(&self, path: &Path) -> io::Result<bool> {
        match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        match fs::read_dir(dir) {
            Ok(entries) => entries
                .map(|entry| entry.map(|entry| entry.path()))
                .collect(),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    }

    fn create_log(&self, path: &Path) -> io::Result<LogFile> {
        create_private(path).map(LogFile::new)
    }

    fn open_log(&self, path: &Path, len: u64) -> io::Result<LogFile> {
        let mut file = OpenOptions::new().read(true).write(true).open(path)?;
        file.set_len(len)?;
        file.seek(io::SeekFrom::Start(len))?;
        Ok(LogFile::new(file))
    }

    fn append(&self, file: &LogFile, parts: &[&[u8]]) -> io::Result<()> {
        // The file is only ever written at its end by this one handle: no seek needed. One
        // `writev` for all the parts, unless the kernel takes less.
        let mut file = os_file(file);
        let mut slices: Vec<io::IoSlice<'_>> =
            parts.iter().map(|part| io::IoSlice::new(part)).collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            match file.write_vectored(slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => io::IoSlice::advance_slices(&mut slices, written),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    fn sync_log(&self, file: &LogFile) -> io::Result<()> {
        if hooks::test_skips_sync("data") {
            return Ok(());
        }
        // fdatasync: the data and the size, which is all a reader needs.
        os_file(file).sync_data()
    }
}

#[cfg(feature = "object-store")]
impl LogFile {
    /// Reads `buf.len()` bytes at `offset` without moving where the next append goes.
    pub(crate) fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        #[cfg(unix)]
        return std::os::unix::fs::FileExt::read_exact_at(os_file(self), buf, offset);
        #[cfg(not(unix))]
        return Err(io::Error::other(format!(
            "reading a log while it is written ({} bytes at {offset}) needs a Unix system",
            buf.len()
        )));
    }
}

fn os_file(file: &LogFile) -> &File {
    file.handle()
}
