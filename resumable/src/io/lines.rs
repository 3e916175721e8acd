//! [`Lines`]: the lines of a file, resumable with one seek.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use crate::error::Error;
use crate::position::Position;

/// The size of each block a position fingerprints: the file's first, and the one just before
/// the position.
const BLOCK: usize = 4096;

/// What one read asks the file for (std's `BufReader` asks for 8 KiB: fewer calls here).
const CHUNK: usize = 64 * 1024;

/// The lines of a file, like [`BufRead::lines`](std::io::BufRead::lines) on a
/// [`BufReader`](std::io::BufReader), that a resumed loop puts back where it stopped with one
/// seek.
///
/// Each item is a line without its line ending (`\n`, or `\r\n`), or an error: reading failed,
/// or the line is not UTF-8 (an [`InvalidData`](io::ErrorKind::InvalidData) error that names
/// the line and the file; the line is consumed and the next call goes on after it, as with
/// `BufRead::lines`). A last line with no line ending is yielded as it is.
///
/// Its [`Position`] is [`LinesPosition`]: the byte offset after the lines yielded, their
/// number, and a fingerprint of the bytes before the offset. [`resume_at`](Position::resume_at)
/// checks the fingerprint against the file and seeks to the offset: it reads 8 KiB at most,
/// however far into the file the position is.
///
/// ```
/// use resumable::Position;
/// use resumable::io::Lines;
///
/// let path = std::env::temp_dir().join(format!("resumable-lines-doc-{}", std::process::id()));
/// std::fs::write(&path, "one\ntwo\r\nthree\nfour")?;
///
/// let mut lines = Lines::open(&path)?;
/// assert_eq!(lines.next().transpose()?.as_deref(), Some("one"));
/// assert_eq!(lines.next().transpose()?.as_deref(), Some("two"));
/// let saved = lines.position(); // what a checkpoint keeps
/// assert_eq!((saved.offset(), saved.line()), (9, 2));
///
/// // A later run: a fresh `Lines` put back there reads on from "three".
/// let mut again = Lines::open(&path)?;
/// again.resume_at(saved)?;
/// assert_eq!(again.collect::<Result<Vec<_>, _>>()?, ["three", "four"]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Lines {
    path: PathBuf,
    file: File,
    /// Bytes read from the file: `buf[start..end]` not yet yielded, and before `start` at least
    /// the last `min(offset, BLOCK)` bytes yielded (the block a position fingerprints).
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes of the file consumed: where `buf[start]` is in the file.
    offset: u64,
    /// Lines consumed (yielded, or refused as not UTF-8).
    line: u64,
    /// The file's first `min(offset, BLOCK)` bytes.
    head: Vec<u8>,
    /// The last line consumed ended at the end of the file with no line ending.
    open_line: bool,
    /// Bytes read from the file in all: what the tests check a resume reads.
    read: u64,
}

impl Lines {
    /// Opens `path` for reading its lines from the start. The error of a file that cannot be
    /// opened names it.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Lines> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("could not open {}: {error}", path.display()),
            )
        })?;
        Ok(Lines {
            path: path.to_path_buf(),
            file,
            buf: vec![0; CHUNK + BLOCK],
            start: 0,
            end: 0,
            offset: 0,
            line: 0,
            head: Vec::with_capacity(BLOCK),
            open_line: false,
            read: 0,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads more of the file after `buf[..end]`, first making room: the bytes before the
    /// block kept behind `start` are dropped, and the buffer grows for a line longer than it.
    /// Returns the bytes read, 0 at the end of the file.
    fn fill(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() {
            let drop = self.start - self.start.min(BLOCK);
            self.buf.copy_within(drop..self.end, 0);
            self.start -= drop;
            self.end -= drop;
            if self.buf.len() - self.end < self.buf.len() / 2 {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        loop {
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    self.read += n as u64;
                    return Ok(n);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Consumes `buf[start..through]`, one line; `ended` says it ends with `\n`.
    fn take(&mut self, through: usize, ended: bool) -> io::Result<String> {
        let mut content = through;
        if ended {
            content -= 1;
            if content > self.start && self.buf[content - 1] == b'\r' {
                content -= 1;
            }
        }
        let line = match std::str::from_utf8(&self.buf[self.start..content]) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "line {} of {} is not valid UTF-8",
                    self.line + 1,
                    self.path.display()
                ),
            )),
        };
        if self.head.len() < BLOCK {
            let consumed = &self.buf[self.start..through];
            let more = consumed.len().min(BLOCK - self.head.len());
            self.head.extend_from_slice(&consumed[..more]);
        }
        self.offset += (through - self.start) as u64;
        self.line += 1;
        self.start = through;
        self.open_line = !ended;
        line
    }
}

impl Iterator for Lines {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<io::Result<String>> {
        // Where the search for `\n` goes on, from `start` (the bytes before were searched).
        let mut searched = 0;
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.buf[self.start + searched..self.end]) {
                let through = self.start + searched + at + 1;
                return Some(self.take(through, true));
            }
            searched = self.end - self.start;
            match self.fill() {
                Ok(0) if self.start == self.end => return None,
                Ok(0) => return Some(self.take(self.end, false)),
                Ok(_) => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl fmt::Debug for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// Where a [`Lines`] stands, as a checkpoint saves it: the byte offset after the lines
/// yielded, their number, and a fingerprint of the file before the offset.
///
/// # What a resume checks
///
/// [`resume_at`](Position::resume_at) refuses with [`Error::InputChanged`], which names the
/// file and says how to start over, when:
/// - the file is shorter than the offset (truncated, or replaced by a shorter file);
/// - its first 4 KiB (or the bytes before the offset, if fewer) differ from what was read;
/// - the 4 KiB just before the offset differ (an edit there, or lines inserted or removed
///   anywhere before the offset that shifted what ends there);
/// - the last line read ended the file without a line ending and the file has grown since
///   (that line may have grown: an uninterrupted run would have read it whole).
///
/// A file that only grew after the offset (a log appended to) resumes, and the new lines are
/// read. Not detected: an edit between the first block and the block before the offset that
/// keeps its length (the same number of bytes replaced), since a resume reads only those two
/// blocks, which is what makes it O(1). Not detected either: a change crafted to collide, as
/// the hash (XXH3-128) is not cryptographic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinesPosition {
    offset: u64,
    line: u64,
    head: u128,
    tail: u128,
    open_line: bool,
}

impl LinesPosition {
    /// The byte offset in the file after the lines yielded.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The lines yielded (and lines refused as not UTF-8) before the offset.
    pub fn line(&self) -> u64 {
        self.line
    }
}

impl Position for Lines {
    type Saved = LinesPosition;

    fn position(&self) -> LinesPosition {
        let checked = (self.offset as usize).min(BLOCK);
        LinesPosition {
            offset: self.offset,
            line: self.line,
            head: xxh3_128(&self.head[..checked]),
            tail: xxh3_128(&self.buf[self.start - checked..self.start]),
            open_line: self.open_line,
        }
    }

    fn resume_at(&mut self, saved: LinesPosition) -> Result<(), Error> {
        let path = self.path.clone();
        let io_error = |action| {
            let path = path.clone();
            move |source| Error::InputIo {
                action,
                path,
                source,
            }
        };
        let changed = |problem: String| Error::InputChanged {
            path: path.clone(),
            problem,
        };
        let at = format!("byte {}, after line {}", saved.offset, saved.line);
        let len = self
            .file
            .metadata()
            .map_err(io_error("read the length of"))?
            .len();
        if len < saved.offset {
            return Err(changed(format!(
                "it is {len} bytes long, but the position saved is at {at}"
            )));
        }
        if saved.open_line && len > saved.offset {
            return Err(changed(format!(
                "line {} was read at its end with no line ending, and the file has grown since \
                 ({} bytes long, the position is at {at}): that line may have grown too",
                saved.line, len
            )));
        }
        let checked = saved.offset.min(BLOCK as u64) as usize;
        let mut head = vec![0; checked];
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(io_error("seek in"))?;
        self.file.read_exact(&mut head).map_err(io_error("read"))?;
        if xxh3_128(&head) != saved.head {
            return Err(changed(format!(
                "its first {checked} bytes differ from those read before the position ({at})"
            )));
        }
        self.file
            .seek(SeekFrom::Start(saved.offset - checked as u64))
            .map_err(io_error("seek in"))?;
        let tail = &mut self.buf[..checked];
        self.file.read_exact(tail).map_err(io_error("read"))?;
        self.read += 2 * checked as u64;
        if xxh3_128(tail) != saved.tail {
            return Err(changed(format!(
                "the {checked} bytes before the position ({at}) differ from those read there"
            )));
        }
        // The file's cursor is at the offset, and the block before it is the history.
        self.start = checked;
        self.end = checked;
        self.offset = saved.offset;
        self.line = saved.line;
        self.head = head;
        self.open_line = saved.open_line;
        Ok(())
    }
}
