//! [`Output`]: a file a loop writes, put back by a resume at the length its checkpoint saved.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, ThreadId};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::format::shape;
use crate::run::outputs::{self, OutputFile};

/// The buffer's size: writes reach the file 64 KiB at a time (`BufWriter`'s is 8 KiB).
const CAPACITY: usize = 64 * 1024;

/// What an `Output` of `create` keeps in memory before a loop starts (see [`Output::holds`]).
const HOLD: usize = 16 << 20;

/// A file a `#[resumable]` loop writes, as a [`BufWriter`](io::BufWriter) of a [`File`] would
/// write it, whose length is part of every checkpoint: a resumed run puts it back at the
/// length saved with the checkpoint it resumes, and writes on from there. The output of a run
/// interrupted (a panic, an error, a signal, `kill -9`, a power loss) and resumed is then the
/// output of an uninterrupted run, byte for byte.
///
/// Create it before the loop and write to it in the loop: it is state, like any binding the
/// loop changes.
///
/// ```
/// use std::io::Write as _;
/// use resumable::resumable;
///
/// #[resumable(every = 1000)]
/// fn squares(path: &std::path::Path, n: u64) -> std::io::Result<()> {
///     let mut out = resumable::io::Output::create(path)?;
///     for i in 0..n {
///         writeln!(out, "{}", i * i)?;
///     }
///     out.finish()
/// }
///
/// # let dir = std::env::temp_dir().join(format!("resumable-output-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # resumable::Config::new().dir(&dir).apply()?;
/// let path = dir.join("squares.txt");
/// squares(&path, 10_000)?;
/// let text = std::fs::read_to_string(&path)?;
/// assert_eq!(text.lines().nth(3), Some("9"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Opening, resuming, dropping
///
/// Opening never truncates: the code before the loop runs again on a resumed run, before the
/// restore. What the file then holds is decided so:
///
/// | | a run with no checkpoint | a resumed run |
/// |---|---|---|
/// | [`create`](Output::create) | starts over, as with [`File::create`]: the file is emptied at the first write that reaches it, checkpoint or flush | the file is cut back to the length saved, and writes go on after it |
/// | [`append`](Output::append) | writes go after what the file holds (an output kept across jobs) | the same: the length saved includes what the file held before |
///
/// A resume refuses ([`Error::OutputChanged`]) a file that is gone or shorter than the length
/// saved: what the interrupted run wrote before its checkpoint is missing, and no run could
/// give the uninterrupted run's output from there. What the file holds after that length was
/// written after the checkpoint: the resumed run writes it again. The one exception is what a
/// power loss leaves: the file is synced before the checkpoint that counts it, but the system
/// may write the checkpoint out first, so a file shorter than the newest checkpoint says and
/// as long as an older one's makes the run fall back to the newest checkpoint it holds, with
/// a warning (`fell_back`) and a copy of the log as it was (`<checkpoint>.ahead-of-output-…`).
///
/// What the code before the loop writes (a header) is written again on a resumed run, into
/// the `Output` the restore then replaces: it is dropped without writing anything, since the
/// length saved includes it. So until a `#[resumable]` run starts on the thread, an `Output`
/// of `create` keeps what is written in memory, [`flush`](Write::flush) included, up to
/// 16 MiB: the file is not emptied before it is known whether a checkpoint will put it back.
/// (More would reach the file; a resume then refuses it, unless what reached it is all the
/// checkpoint saved.)
///
/// An `Output` of `create` dropped without a byte written (a loop over an empty input) empties
/// the file, as `File::create` would have; unless a `#[resumable]` run on the thread was
/// refused since it was opened (its checkpoint held by another process, or not restorable):
/// then it is the refused run's, and it leaves the file, and what it was given, as they are.
///
/// # Checkpoints and durability
///
/// A checkpoint writes out the buffer (so a process killed right after it leaves the file at
/// least that long) and saves the file's absolute path and length. The background thread
/// that makes the checkpoint durable syncs the file's data first, then the checkpoint's log:
/// the loop never waits for the disk. (The operating system may write the log's new record
/// out on its own before that; a power loss at that instant can leave a record whose length
/// the file does not reach, and the resume refuses it as above rather than write after a
/// gap.)
///
/// After the loop, dropping the `Output` writes out the buffer and syncs the file, ignoring
/// errors as `BufWriter` does; [`finish`](Output::finish) does the same and returns them.
///
/// # Limits
///
/// - The file must be a regular file: a FIFO or a device cannot be cut back to a length, and
///   is refused as it opens.
/// - Nothing else may write to the file while the loop runs (writes go to its end, so another
///   writer's bytes would be counted as the output's).
/// - The runtime tells an `Output` of `create` through the thread it was opened on: one
///   dropped on another thread before it emptied its file leaves the file as it is.
pub struct Output {
    /// Absolute.
    path: PathBuf,
    /// `None` only in a value the checkpoint's type tracer builds, which has no file.
    file: Option<Arc<OutputFile>>,
    /// Written, not yet in the file. Borrowed through `&self` only by a checkpoint's flush;
    /// `Write` reaches it with `get_mut`, which costs nothing.
    buf: RefCell<Vec<u8>>,
    /// The file's length as this output made it: what it held at `append`, and every byte it
    /// wrote since (the buffer's not included).
    flushed: Cell<u64>,
    /// Opened by `create` and not emptied yet.
    start_over: Cell<bool>,
    /// Bytes reached the file since it was last synced.
    unsynced: Cell<bool>,
    /// The thread that opened it, and the `#[resumable]` runs it had entered and refused
    /// then.
    opened_on: ThreadId,
    runs_entered: u64,
    refusals: u64,
}

impl Output {
    /// Opens `path` for writing, creating it if it does not exist, to start over — the file is
    /// emptied at the first write that reaches it, checkpoint or flush — unless a checkpoint
    /// is resumed, which puts the file back at the length it saved (see the table in
    /// [`Output`]'s docs). It never truncates the file as it opens it: on a resumed run this
    /// runs again before the restore.
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let path = std::env::temp_dir().join(format!("resumable-create-{}", std::process::id()));
    /// std::fs::write(&path, "an old run's output\n")?;
    ///
    /// let mut out = resumable::io::Output::create(&path)?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "an old run's output\n"); // not yet
    /// writeln!(out, "new")?;
    /// out.finish()?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "new\n");
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// If the file cannot be opened (or created) for writing; the message names it.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Output> {
        let output = Output::open(path.as_ref())?;
        output.start_over.set(true);
        Ok(output)
    }

    /// Opens `path` for writing after what it holds, creating it if it does not exist: an
    /// output kept across jobs. A resumed run puts it back at the length its checkpoint
    /// saved, which includes what the file held before the run.
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let path = std::env::temp_dir().join(format!("resumable-append-{}", std::process::id()));
    /// std::fs::write(&path, "header\n")?;
    ///
    /// let mut out = resumable::io::Output::append(&path)?;
    /// assert_eq!(out.len(), 7);
    /// writeln!(out, "row")?;
    /// out.finish()?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "header\nrow\n");
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// If the file cannot be opened (or created) for writing, or its length read; the message
    /// names it.
    pub fn append(path: impl AsRef<Path>) -> io::Result<Output> {
        let output = Output::open(path.as_ref())?;
        let len = output
            .target()
            .and_then(|target| target.file.metadata())
            .map_err(|err| named(err, "read the length of", &output.path))?
            .len();
        output.flushed.set(len);
        Ok(output)
    }

    /// Opens `path` to write at its end, never truncating it.
    fn open(path: &Path) -> io::Result<Output> {
        let path = std::path::absolute(path).map_err(|err| named(err, "open", path))?;
        // Checked before opening: opening a FIFO to write waits for a reader.
        if let Ok(found) = std::fs::metadata(&path)
            && !found.is_file()
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "could not open output {}: it is not a regular file, and an output is \
                     resumed by cutting it back to the length a checkpoint saved",
                    path.display()
                ),
            ));
        }
        // Appending: every write goes to the file's end, wherever a truncation put it.
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|err| named(err, "open", &path))?;
        Ok(Output::with_file(path, file, 0))
    }

    fn with_file(path: PathBuf, file: File, len: u64) -> Output {
        let target = OutputFile {
            file,
            path: path.clone(),
        };
        Output {
            path,
            file: Some(Arc::new(target)),
            buf: RefCell::new(Vec::with_capacity(CAPACITY)),
            flushed: Cell::new(len),
            start_over: Cell::new(false),
            unsynced: Cell::new(false),
            opened_on: thread::current().id(),
            runs_entered: outputs::runs_entered(),
            refusals: outputs::refusals(),
        }
    }

    /// An output with no file, for the type tracer.
    fn without_file(path: PathBuf) -> Output {
        Output {
            path,
            file: None,
            buf: RefCell::new(Vec::new()),
            flushed: Cell::new(0),
            start_over: Cell::new(false),
            unsynced: Cell::new(false),
            opened_on: thread::current().id(),
            runs_entered: 0,
            refusals: 0,
        }
    }

    /// The file, absolute.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("resumable-path-{}", std::process::id()));
    /// let out = resumable::io::Output::create(&path)?;
    /// assert_eq!(out.path(), path);
    /// # drop(out);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The output's length so far: what the file holds of it, and what is still buffered.
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let path = std::env::temp_dir().join(format!("resumable-len-{}", std::process::id()));
    /// let mut out = resumable::io::Output::create(&path)?;
    /// write!(out, "12345")?;
    /// assert_eq!(out.len(), 5);
    /// # drop(out);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.flushed.get() + self.buf.borrow().len() as u64
    }

    /// Writes out what is buffered and syncs the file to the disk, returning the errors that
    /// dropping the `Output` ignores: call it after the loop to know the output is whole.
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let path = std::env::temp_dir().join(format!("resumable-finish-{}", std::process::id()));
    /// let mut out = resumable::io::Output::create(&path)?;
    /// writeln!(out, "done")?;
    /// out.finish()?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "done\n");
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// If writing or syncing fails; the message names the file.
    pub fn finish(mut self) -> io::Result<()> {
        let result = self
            .flush_buf()
            .and_then(|()| self.sync())
            .map_err(|err| named(err, "write", &self.path));
        // Done: its `Drop` has nothing left to do.
        self.file = None;
        result
    }

    fn target(&self) -> io::Result<&OutputFile> {
        self.file.as_deref().ok_or_else(|| {
            io::Error::other("this output has no file (a value built to trace its type)")
        })
    }

    /// Empties the file if it was opened by `create` and not emptied yet.
    fn start(&self, target: &OutputFile) -> io::Result<()> {
        if self.start_over.get() {
            target.file.set_len(0)?;
            self.start_over.set(false);
            self.unsynced.set(true);
        }
        Ok(())
    }

    /// Writes the buffer out to the file (the file is emptied first if it starts over). What
    /// could not be written stays buffered.
    fn flush_buf(&self) -> io::Result<()> {
        let target = self.target()?;
        self.start(target)?;
        let mut buf = self.buf.borrow_mut();
        let (written, result) = self.write_out(target, &buf);
        buf.drain(..written);
        result
    }

    /// Writes `bytes` to the file; returns how many were written, and the error that stopped
    /// it if any.
    fn write_out(&self, target: &OutputFile, bytes: &[u8]) -> (usize, io::Result<()>) {
        let mut written = 0;
        let result = loop {
            if written == bytes.len() {
                break Ok(());
            }
            match (&target.file).write(&bytes[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => break Err(err),
            }
        };
        if written > 0 {
            self.flushed.set(self.flushed.get() + written as u64);
            self.unsynced.set(true);
        }
        (written, result)
    }

    fn sync(&self) -> io::Result<()> {
        if self.unsynced.get() {
            self.target()?.file.sync_data()?;
            self.unsynced.set(false);
        }
        Ok(())
    }

    /// `write_all` of what does not fit in the buffer: the buffer goes out first, then `data`
    /// is buffered, or written directly if it is as big as the buffer.
    #[cold]
    #[inline(never)]
    fn write_all_cold(&mut self, data: &[u8]) -> io::Result<()> {
        if self.holds(data.len()) {
            self.buf.get_mut().extend_from_slice(data);
            return Ok(());
        }
        self.flush_buf()?;
        if data.len() < CAPACITY {
            self.buf.get_mut().extend_from_slice(data);
            return Ok(());
        }
        let target = self.target()?;
        self.write_out(target, data).1
    }

    /// Whether what is written stays in memory, `more` bytes more included: an `Output` of
    /// `create` before any `#[resumable]` run on its thread entered since it was opened (the
    /// code before a loop: on a resumed run it writes into an output the restore replaces,
    /// which must not empty the file first), up to [`HOLD`] bytes.
    fn holds(&self, more: usize) -> bool {
        self.start_over.get()
            && self.buf.borrow().len() + more <= HOLD
            && outputs::runs_entered() == self.runs_entered
            && thread::current().id() == self.opened_on
    }

    /// An `Output` of `create` that has not emptied its file is dropped as a run on its
    /// thread was refused since it was opened: it is that run's prelude's, and the file holds
    /// the output of the run the refused one would have resumed.
    fn of_a_refused_run(&self) -> bool {
        self.start_over.get()
            && (outputs::refusals() != self.refusals || thread::current().id() != self.opened_on)
    }

    /// Reopens the file a checkpoint saved `len` bytes of, cut back to that length.
    fn reopen(path: PathBuf, len: u64) -> Result<Output, Error> {
        let changed = |problem: String| Error::OutputChanged {
            path: path.clone(),
            problem,
        };
        let io_error = |action, source| Error::OutputIo {
            action,
            path: path.clone(),
            source,
        };
        let file = match OpenOptions::new().append(true).open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(changed(format!(
                    "it no longer exists, and the checkpoint saved {len} bytes of it"
                )));
            }
            Err(err) => return Err(io_error("open", err)),
        };
        let found = file
            .metadata()
            .map_err(|err| io_error("read the length of", err))?
            .len();
        if found < len {
            return Err(changed(format!(
                "it is {found} bytes long, but the checkpoint saved {len} bytes of it"
            )));
        }
        // What follows was written after the checkpoint: the resumed run writes it again.
        if found > len {
            file.set_len(len).map_err(|err| io_error("truncate", err))?;
        }
        Ok(Output::with_file(path, file, len))
    }
}

/// `err`, with what was being done to which file.
fn named(err: io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(
        err.kind(),
        format!("could not {action} output {}: {err}", path.display()),
    )
}

impl Write for Output {
    #[inline]
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    #[inline]
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let buf = self.buf.get_mut();
        if data.len() <= buf.capacity() - buf.len() {
            buf.extend_from_slice(data);
            return Ok(());
        }
        self.write_all_cold(data)
    }

    /// Writes the buffer out to the file (the operating system's cache, as
    /// [`BufWriter::flush`](io::BufWriter) does); [`Output::finish`] syncs it too. Not yet in
    /// the code before a loop (see "Opening, resuming, dropping" in [`Output`]'s docs).
    fn flush(&mut self) -> io::Result<()> {
        if self.holds(0) {
            return Ok(());
        }
        self.flush_buf()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // A restore is assigning the saved output over this one, the prelude's: the file is
        // the saved one's, and what the prelude wrote (a header) is in the length saved.
        if self.file.is_none() || outputs::restoring() {
            return;
        }
        if self.of_a_refused_run() {
            return;
        }
        // Errors are ignored, as `BufWriter` ignores them: `finish` returns them.
        let _ = self.flush_buf().and_then(|()| self.sync());
    }
}

impl fmt::Debug for Output {
    /// The file and the length: what a checkpoint saves of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("path", &self.path)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// What a checkpoint saves of an [`Output`].
#[derive(Serialize, Deserialize)]
#[serde(rename = "Output")]
struct Saved<P> {
    path: P,
    len: u64,
}

impl Serialize for Output {
    /// Writes the buffer out to the file (a checkpoint's copy of the length is then what the
    /// file holds), has the checkpoint's sync job sync the file before the checkpoint, and
    /// saves the file's absolute path and length.
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let path = std::env::temp_dir().join(format!("resumable-ser-{}", std::process::id()));
    /// let mut out = resumable::io::Output::create(&path)?;
    /// write!(out, "12345")?;
    /// let saved = postcard::to_allocvec(&out)?;
    /// assert_eq!(std::fs::read(&path)?, b"12345"); // out of the buffer
    /// # drop(out);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The checkpoint's tracer reads a field of the value on entry: no writing then.
        if !shape::tracing() {
            if let Err(source) = self.flush_buf() {
                let err = Error::OutputIo {
                    action: "write",
                    path: self.path.clone(),
                    source,
                };
                let text = err.to_string();
                outputs::failed(err);
                return Err(serde::ser::Error::custom(text));
            }
            if let Some(target) = &self.file {
                outputs::flushed(target, self.len());
            }
        }
        Saved {
            path: &self.path,
            len: self.len(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Output {
    /// Reopens the file saved, refusing it if it is gone or shorter than the length saved
    /// ([`Error::OutputChanged`]), and cuts it back to that length: what follows was written
    /// after the checkpoint. Writes go on at its end.
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let path = std::env::temp_dir().join(format!("resumable-de-{}", std::process::id()));
    /// let mut out = resumable::io::Output::create(&path)?;
    /// write!(out, "kept")?;
    /// let saved = postcard::to_allocvec(&out)?;
    /// write!(out, " and lost")?;
    /// out.finish()?;
    ///
    /// let mut again: resumable::io::Output = postcard::from_bytes(&saved)?;
    /// assert_eq!(std::fs::read(&path)?, b"kept");
    /// write!(again, "!")?;
    /// again.finish()?;
    /// assert_eq!(std::fs::read(&path)?, b"kept!");
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Output, D::Error> {
        let Saved { path, len } = Saved::<PathBuf>::deserialize(deserializer)?;
        // The checkpoint's tracer decodes placeholders: they name no file to open.
        if shape::tracing() {
            return Ok(Output::without_file(path));
        }
        Output::reopen(path, len).map_err(|err| {
            let text = err.to_string();
            outputs::failed(err);
            serde::de::Error::custom(text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::temp::Temp;
    use crate::run::outputs::{Collecting, Restoring};

    /// What a checkpoint saves of `out`, while a save collects the files flushed: which it
    /// collected.
    fn saved(out: &Output) -> (Vec<u8>, Vec<(Arc<OutputFile>, u64)>) {
        let collecting = Collecting::new();
        let bytes = postcard::to_allocvec(out).unwrap();
        (bytes, collecting.take())
    }

    /// Decodes a saved output, as a restore does; its refusal as the runtime reports it.
    fn restored(bytes: &[u8]) -> Result<Output, Error> {
        postcard::from_bytes(bytes).map_err(|_| outputs::take_failure().expect("a failure"))
    }

    #[test]
    fn create_starts_over_at_the_first_write_not_at_open() {
        let file = Temp::new("create", "output.txt", b"old output\n");
        let mut out = Output::create(&file.path).unwrap();
        assert_eq!(file.read(), "old output\n");
        assert_eq!(out.len(), 0);
        writeln!(out, "one").unwrap();
        assert_eq!(file.read(), "old output\n", "buffered");
        out.flush().unwrap();
        assert_eq!(
            file.read(),
            "old output\n",
            "no run started: a prelude's flush waits"
        );
        outputs::entered();
        out.flush().unwrap();
        assert_eq!(file.read(), "one\n");
        writeln!(out, "two").unwrap();
        drop(out);
        assert_eq!(file.read(), "one\ntwo\n");
    }

    #[test]
    fn create_never_written_empties_the_file_outside_a_loop_and_after_a_fresh_run() {
        let file = Temp::new("untouched", "output.txt", b"old output\n");
        drop(Output::create(&file.path).unwrap());
        assert_eq!(file.read(), "", "no run entered: as File::create");

        std::fs::write(&file.path, "old output\n").unwrap();
        let out = Output::create(&file.path).unwrap();
        outputs::entered();
        drop(out);
        assert_eq!(file.read(), "", "the run started over (an empty input)");

        // A run that started over and ran another `#[resumable]` function, which resumed.
        std::fs::write(&file.path, "old output\n").unwrap();
        let mut out = Output::create(&file.path).unwrap();
        outputs::entered();
        writeln!(out, "small").unwrap();
        outputs::entered();
        drop(out);
        assert_eq!(file.read(), "small\n");
    }

    #[test]
    fn create_dropped_by_a_restore_or_a_refused_run_leaves_the_file() {
        let file = Temp::new("restore", "output.txt", b"the interrupted run's output\n");
        // The runtime's order: the prelude opens, the run starts and resumes, the restore
        // assigns the saved output over the prelude's.
        let prelude = Output::create(&file.path).unwrap();
        outputs::entered();
        let restoring = Restoring::new();
        drop(prelude);
        drop(restoring);
        assert_eq!(file.read(), "the interrupted run's output\n");

        // A run refused on entry (its checkpoint locked by another process, say), or as it
        // restores: the prelude's output, and what it wrote, are dropped as the function
        // returns the error.
        for header in [false, true] {
            let mut prelude = Output::create(&file.path).unwrap();
            if header {
                writeln!(prelude, "header").unwrap();
            }
            outputs::entered();
            outputs::refused();
            drop(prelude);
            assert_eq!(file.read(), "the interrupted run's output\n");
        }

        // A nest restores in its first outer iteration, after code of the outer loop's body
        // that may have run another `#[resumable]` function.
        let prelude = Output::create(&file.path).unwrap();
        outputs::entered();
        outputs::entered();
        let restoring = Restoring::new();
        drop(prelude);
        drop(restoring);
        assert_eq!(file.read(), "the interrupted run's output\n");
    }

    #[test]
    fn what_the_prelude_wrote_is_dropped_with_it_by_a_restore() {
        for append in [false, true] {
            let file = Temp::new("header", "output.txt", b"header\nrow 0\nrow 1\n");
            let mut prelude = match append {
                false => Output::create(&file.path).unwrap(),
                true => Output::append(&file.path).unwrap(),
            };
            writeln!(prelude, "header").unwrap();
            outputs::entered();
            let restoring = Restoring::new();
            drop(prelude);
            drop(restoring);
            assert_eq!(file.read(), "header\nrow 0\nrow 1\n", "append: {append}");
        }
    }

    #[test]
    fn append_writes_after_what_the_file_holds() {
        let file = Temp::new("append", "output.txt", b"header\n");
        let mut out = Output::append(&file.path).unwrap();
        assert_eq!(out.len(), 7);
        writeln!(out, "row").unwrap();
        assert_eq!(out.len(), 11);
        out.finish().unwrap();
        assert_eq!(file.read(), "header\nrow\n");
        // Dropped unwritten: the file stays.
        drop(Output::append(&file.path).unwrap());
        assert_eq!(file.read(), "header\nrow\n");
    }

    #[test]
    fn a_checkpoint_flushes_and_collects_the_file_and_a_restore_cuts_back_to_its_length() {
        let file = Temp::new("resume", "output.txt", b"old\n");
        let mut out = Output::create(&file.path).unwrap();
        writeln!(out, "kept").unwrap();
        let (bytes, collected) = saved(&out);
        assert_eq!(file.read(), "kept\n", "flushed by the checkpoint");
        assert_eq!(collected.len(), 1, "collected for the sync job");
        assert_eq!(collected[0].0.path, file.path);
        assert_eq!(
            collected[0].1, 5,
            "with the length saved, for the record's head"
        );
        writeln!(out, "written after the checkpoint").unwrap();
        drop(out);
        assert_eq!(file.read(), "kept\nwritten after the checkpoint\n");

        let mut again = restored(&bytes).unwrap();
        assert_eq!(file.read(), "kept\n");
        assert_eq!(again.len(), 5);
        assert_eq!(
            format!("{again:?}"),
            format!("Output {{ path: {:?}, len: 5, .. }}", file.path)
        );
        writeln!(again, "again").unwrap();
        again.finish().unwrap();
        assert_eq!(file.read(), "kept\nagain\n");
    }

    #[test]
    fn outside_a_save_nothing_is_collected() {
        let file = Temp::new("uncollected", "output.txt", b"");
        let out = Output::create(&file.path).unwrap();
        postcard::to_allocvec(&out).unwrap();
        let collecting = Collecting::new();
        assert!(collecting.take().is_empty());
    }

    #[test]
    fn the_round_trip_checks_copy_changes_nothing() {
        let file = Temp::new("copy", "output.txt", b"");
        let mut out = Output::append(&file.path).unwrap();
        writeln!(out, "one").unwrap();
        let (bytes, _) = saved(&out);
        // The check decodes a copy while the output lives, and drops it.
        let copy = restored(&bytes).unwrap();
        assert_eq!(format!("{copy:?}"), format!("{out:?}"));
        assert_eq!(postcard::to_allocvec(&copy).unwrap(), bytes);
        drop(copy);
        writeln!(out, "two").unwrap();
        out.finish().unwrap();
        assert_eq!(file.read(), "one\ntwo\n");
    }

    #[test]
    fn a_shorter_or_missing_file_is_refused_naming_it() {
        let file = Temp::new("short", "output.txt", b"");
        let mut out = Output::create(&file.path).unwrap();
        writeln!(out, "0123456789").unwrap();
        let (bytes, _) = saved(&out);
        out.finish().unwrap();
        std::fs::write(&file.path, "01234").unwrap();
        let err = restored(&bytes).unwrap_err();
        assert!(matches!(err, Error::OutputChanged { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&file.path.display().to_string()),
            "{message}"
        );
        assert!(message.contains("5 bytes long"), "{message}");
        assert!(message.contains("saved 11 bytes"), "{message}");
        assert!(message.contains("RESUMABLE_RESET=1"), "{message}");
        assert_eq!(file.read(), "01234", "left as it was");

        std::fs::remove_file(&file.path).unwrap();
        let message = restored(&bytes).unwrap_err().to_string();
        assert!(message.contains("no longer exists"), "{message}");
        assert!(!file.path.exists(), "not created again");
    }

    #[test]
    fn tracing_its_type_touches_no_file() {
        let file = Temp::new("trace", "output.txt", b"the interrupted run's output\n");
        let out = Output::create(&file.path).unwrap();
        let shape = shape::shape_of_value(Some(&out));
        assert!(
            shape.contains("struct Output { path: str, len: u64 }"),
            "{shape}"
        );
        assert_eq!(file.read(), "the interrupted run's output\n");
        // The tracer's placeholders name a file ("1") that is not opened, nor created.
        assert!(!Path::new("1").exists());
        outputs::entered();
        let restoring = Restoring::new();
        drop(out);
        drop(restoring);
        assert_eq!(file.read(), "the interrupted run's output\n");
    }

    /// A name its `Deserialize` checks, which the tracer's placeholders do not pass: the
    /// tracer reads it from the value on entry, serializing the value, `Output` and all.
    #[derive(Serialize)]
    struct Name(String);

    impl<'de> Deserialize<'de> for Name {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
            let text = String::deserialize(deserializer)?;
            match text.strip_prefix("name:") {
                Some(_) => Ok(Name(text)),
                None => Err(serde::de::Error::custom("not a name")),
            }
        }
    }

    #[derive(Serialize, Deserialize)]
    struct Sink {
        out: Output,
        name: Name,
    }

    #[test]
    fn tracing_a_type_that_holds_it_writes_nothing_out() {
        let file = Temp::new(
            "trace-field",
            "output.txt",
            b"the interrupted run's output\n",
        );
        let mut sink = Sink {
            out: Output::create(&file.path).unwrap(),
            name: Name("name:a".into()),
        };
        writeln!(sink.out, "buffered").unwrap();
        let shape = shape::shape_of_value(Some(&sink));
        assert!(
            shape.contains("struct Sink { out: Output, name: ? }"),
            "{shape}"
        );
        assert_eq!(file.read(), "the interrupted run's output\n");
    }

    /// The sync job of a checkpoint that holds an output's length syncs the output before
    /// the log: an output that cannot be synced (a pipe: `fdatasync` refuses it) fails the job
    /// before the log is touched, naming the output; a job merged after it keeps it.
    #[test]
    fn the_checkpoints_sync_job_syncs_its_outputs_first() {
        use crate::format::hash;
        use crate::format::log::LogMeta;
        use crate::store::files::Generations;
        use crate::store::journal::{Journal, Sink, SyncJob};
        use crate::testing::sim_fs::{Fault, SimFs};

        let fs = SimFs::new(Fault::Healthy);
        let meta = LogMeta {
            fingerprint: hash::fingerprint("label", "shape"),
            label: "label".into(),
            shape: "shape".into(),
        };
        let mut journal = Journal::new(Generations::of(PathBuf::from("/ckpt/job.ckpt")), &meta, 0);
        let mut record = |index: u64| -> SyncJob {
            let yes = || true;
            let no = || false;
            let sink = Sink {
                fs: &fs,
                may_start_file: &yes,
                file_pending: &no,
            };
            journal.begin(index == 1);
            journal.whole(&sink, &index).unwrap();
            journal.write(&fs, index == 1, index, 0, None, &[]).unwrap()
        };
        let (_reader, writer) = io::pipe().unwrap();
        let pipe = Arc::new(OutputFile {
            file: File::from(std::os::fd::OwnedFd::from(writer)),
            path: PathBuf::from("/out/pipe"),
        });

        let first = record(1).with_outputs(vec![Arc::clone(&pipe), Arc::clone(&pipe)]);
        let ops = fs.ops();
        let err = first.sync(&fs).unwrap_err();
        assert!(
            matches!(err, Error::OutputIo { action: "sync", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("/out/pipe"), "{err}");
        assert_eq!(fs.ops(), ops, "the log was synced before its output");

        let merged = first.merge(record(2));
        assert!(merged.sync(&fs).is_err(), "the merged job lost the output");
        assert!(record(3).sync(&fs).is_ok());
        let merged = record(4).merge(record(5).with_outputs(vec![pipe]));
        assert!(
            merged.sync(&fs).is_err(),
            "the merged job lost the later output"
        );
    }

    /// A save hands the outputs its bindings flushed to its sync job: an output that cannot
    /// be synced (a pipe) is the error the next save, or the wait for durability, reports.
    #[test]
    fn a_save_has_its_outputs_synced_with_it() {
        use crate::format::hash;
        use crate::format::log::LogMeta;
        use crate::run::save::{Save, Saver};
        use crate::store::files::Generations;
        use crate::store::fs::{Fs, OsFs};
        use crate::store::journal::Journal;
        use crate::store::syncer::Syncer;

        let dir = Temp::new("save", "output.txt", b"");
        let log = dir.dir.join("job.ckpt");
        let meta = LogMeta {
            fingerprint: hash::fingerprint("label", "shape"),
            label: "label".into(),
            shape: "shape".into(),
        };
        let fs: Arc<dyn Fs> = Arc::new(OsFs);
        let mut saver = Saver {
            fs: Arc::clone(&fs),
            journal: Journal::new(Generations::of(log.clone()), &meta, 0),
            syncer: Syncer::new(fs),
            growth: vec![None],
            last_saved: None,
            function: "job",
            path: log,
            state: vec!["out"],
            round_trip_checked: true,
        };
        let mut out = Output::append(&dir.path).unwrap();
        writeln!(out, "synced").unwrap();
        let mut save = Save::new(&mut saver, 1, None, true);
        save.value(&out);
        save.commit().unwrap();
        saver.syncer.flush().unwrap();

        let (_reader, writer) = io::pipe().unwrap();
        let mut pipe = Output::with_file(
            PathBuf::from("/out/pipe"),
            File::from(std::os::fd::OwnedFd::from(writer)),
            0,
        );
        writeln!(pipe, "not synced").unwrap();
        let mut save = Save::new(&mut saver, 2, None, false);
        save.value(&out);
        save.value(&pipe);
        save.commit().unwrap();
        let err = saver.syncer.flush().unwrap_err();
        assert!(
            matches!(err, Error::OutputIo { action: "sync", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("/out/pipe"), "{err}");
        pipe.file = None;
    }

    /// `resumable::save` syncs an output in the value before the file that holds its length,
    /// and `load` says why it refuses one.
    #[test]
    fn save_and_load_take_outputs_too() {
        let dir = Temp::new("api", "output.txt", b"");
        let saved_at = dir.dir.join("state.ckpt");
        let (_reader, writer) = io::pipe().unwrap();
        let mut pipe = Output::with_file(
            PathBuf::from("/out/pipe"),
            File::from(std::os::fd::OwnedFd::from(writer)),
            0,
        );
        writeln!(pipe, "x").unwrap();
        let err = crate::save(&saved_at, &pipe).unwrap_err();
        assert!(
            matches!(err, Error::OutputIo { action: "sync", .. }),
            "{err:?}"
        );
        assert!(!saved_at.exists(), "saved before its output was durable");
        pipe.file = None;

        let mut state = (7u64, Output::create(&dir.path).unwrap());
        writeln!(state.1, "0123456789").unwrap();
        crate::save(&saved_at, &state).unwrap();
        state.1.flush().unwrap();
        drop(state);
        std::fs::write(&dir.path, "0123").unwrap();
        let err = crate::load::<(u64, Output)>(&saved_at).unwrap_err();
        assert!(matches!(err, Error::OutputChanged { .. }), "{err:?}");
        std::fs::write(&dir.path, "0123456789\nmore").unwrap();
        let (seven, back) = crate::load::<(u64, Output)>(&saved_at).unwrap().unwrap();
        assert_eq!((seven, back.len()), (7, 11));
        assert_eq!(dir.read(), "0123456789\n");
    }

    #[test]
    fn a_write_bigger_than_the_buffer_goes_out_in_order() {
        let file = Temp::new("big", "output.txt", b"");
        let mut out = Output::create(&file.path).unwrap();
        out.write_all(b"small ").unwrap();
        let big = vec![b'x'; CAPACITY * 2 + 3];
        out.write_all(&big).unwrap();
        out.write_all(b" end").unwrap();
        assert_eq!(out.len(), 6 + big.len() as u64 + 4);
        out.finish().unwrap();
        let text = file.read();
        assert!(text.starts_with("small xx") && text.ends_with("x end"));
        assert_eq!(text.len(), 6 + big.len() + 4);
    }
}
