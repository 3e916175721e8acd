//! The reader under [`Lines`](super::Lines) and [`Records`](super::Records): a file cut at a
//! delimiter byte, with the offset, the count and the fingerprint blocks a [`FilePosition`]
//! saves, and the resume that checks them and seeks.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::format::hash::hash128;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The size of each block a position fingerprints: the file's first, and the one just before
/// the position.
pub(crate) const BLOCK: usize = 4096;

/// What one read asks the file for (std's `BufReader` asks for 8 KiB: fewer calls here).
const CHUNK: usize = 64 * 1024;

/// How an iterator over a file's pieces names them in its errors.
pub(super) struct Names {
    /// One piece: "line", "record".
    pub(super) item: &'static str,
    /// What ends one: "line ending", "delimiter".
    pub(super) ending: &'static str,
}

/// A file read in pieces that each end with a delimiter byte (or with the file).
pub(super) struct Split {
    path: PathBuf,
    file: File,
    /// Bytes read from the file: `buf[start..end]` not yet yielded, and before `start` at least
    /// the last `min(offset, BLOCK)` bytes yielded (the block a position fingerprints).
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes of the file consumed: where `buf[start]` is in the file.
    offset: u64,
    /// Pieces consumed (yielded, or refused by the iterator's check, e.g. not UTF-8).
    count: u64,
    /// The file's first `min(offset, BLOCK)` bytes.
    head: Vec<u8>,
    /// The last piece consumed ended at the end of the file with no delimiter.
    open_piece: bool,
    /// Bytes read from the file in all: what the tests check a resume reads.
    pub(super) read: u64,
}

impl Split {
    /// Opens `path` for reading from the start. The error of a file that cannot be opened
    /// names it.
    pub(super) fn open(path: &Path) -> io::Result<Split> {
        let file = File::open(path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("could not open {}: {error}", path.display()),
            )
        })?;
        Ok(Split {
            path: path.to_path_buf(),
            file,
            buf: vec![0; CHUNK + BLOCK],
            start: 0,
            end: 0,
            offset: 0,
            count: 0,
            head: Vec::with_capacity(BLOCK),
            open_piece: false,
            read: 0,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    pub(super) fn count(&self) -> u64 {
        self.count
    }

    /// Reads more of the file after `buf[..end]`, first making room: the bytes before the
    /// block kept behind `start` are dropped, and the buffer grows for a piece longer than it.
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

    /// The next piece, ending with `delimiter` or with the file, made into an item by `make`:
    /// it gets the piece's bytes with the delimiter if it has one, whether it has one, the
    /// number of pieces before it and the file's path. The piece is consumed whatever `make`
    /// returns (an error for this piece, and the next call goes on after it).
    #[inline]
    pub(super) fn next_with<T>(
        &mut self,
        delimiter: u8,
        make: impl FnOnce(&[u8], bool, u64, &Path) -> io::Result<T>,
    ) -> Option<io::Result<T>> {
        // Where the search for the delimiter goes on, from `start` (the bytes before were
        // searched).
        let mut searched = 0;
        let (through, ended) = loop {
            if let Some(at) = memchr::memchr(delimiter, &self.buf[self.start + searched..self.end])
            {
                break (self.start + searched + at + 1, true);
            }
            searched = self.end - self.start;
            match self.fill() {
                Ok(0) if self.start == self.end => return None,
                Ok(0) => break (self.end, false),
                Ok(_) => {}
                Err(error) => return Some(Err(error)),
            }
        };
        let item = make(
            &self.buf[self.start..through],
            ended,
            self.count,
            &self.path,
        );
        if self.head.len() < BLOCK {
            let consumed = &self.buf[self.start..through];
            let more = consumed.len().min(BLOCK - self.head.len());
            self.head.extend_from_slice(&consumed[..more]);
        }
        self.offset += (through - self.start) as u64;
        self.count += 1;
        self.start = through;
        self.open_piece = !ended;
        Some(item)
    }

    /// Where the reader stands: after the pieces consumed.
    pub(super) fn position(&self) -> FilePosition {
        let checked = (self.offset as usize).min(BLOCK);
        FilePosition {
            offset: self.offset,
            count: self.count,
            head: hash128(&self.head[..checked]),
            tail: hash128(&self.buf[self.start - checked..self.start]),
            open: self.open_piece,
        }
    }

    /// Puts a fresh reader at `saved` after checking the file against it (see
    /// [`FilePosition`]); reads the two blocks it checks, nothing else.
    pub(super) fn resume_at(&mut self, saved: FilePosition, names: &Names) -> Result<(), Error> {
        let check = Check {
            path: &self.path,
            names,
            at: &saved,
        };
        let (head, tail) = check.read_blocks(&mut self.file)?;
        let checked = head.len();
        self.read += 2 * checked as u64;
        self.buf[..checked].copy_from_slice(&tail);
        // The file's cursor is at the offset, and the block before it is the history.
        self.start = checked;
        self.end = checked;
        self.offset = saved.offset;
        self.count = saved.count;
        self.head = head;
        self.open_piece = saved.open;
        Ok(())
    }
}

/// The checks of a resume against a file, shared by the readers that save a [`FilePosition`].
pub(super) struct Check<'a> {
    pub(super) path: &'a Path,
    pub(super) names: &'a Names,
    pub(super) at: &'a FilePosition,
}

impl Check<'_> {
    /// The error of a failed `action` on the file.
    pub(super) fn io(&self, action: &'static str) -> impl FnOnce(io::Error) -> Error + use<> {
        let path = self.path.to_path_buf();
        move |source| Error::InputIo {
            action,
            path,
            source,
        }
    }

    fn changed(&self, problem: String) -> Error {
        Error::InputChanged {
            path: self.path.to_path_buf(),
            problem,
        }
    }

    fn where_(&self) -> String {
        format!(
            "byte {}, after {} {}",
            self.at.offset, self.names.item, self.at.count
        )
    }

    /// Checks the file's length `len` against the position; returns how many bytes each block
    /// the position fingerprints has.
    pub(super) fn length(&self, len: u64) -> Result<usize, Error> {
        let at = self.where_();
        if len < self.at.offset {
            return Err(self.changed(format!(
                "it is {len} bytes long, but the position saved is at {at}"
            )));
        }
        if self.at.open && len > self.at.offset {
            let Names { item, ending } = self.names;
            return Err(self.changed(format!(
                "{item} {} was read at its end with no {ending}, and the file has grown since \
                 ({len} bytes long, the position is at {at}): that {item} may have grown too",
                self.at.count
            )));
        }
        Ok(self.at.offset.min(BLOCK as u64) as usize)
    }

    /// After checking the file's length, reads its first block and the block before the
    /// offset (each as long as the position fingerprints) and checks them; returns them. The
    /// file's cursor is then at the offset.
    pub(super) fn read_blocks(&self, file: &mut File) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let len = file
            .metadata()
            .map_err(self.io("read the length of"))?
            .len();
        let checked = self.length(len)?;
        let (mut head, mut tail) = (vec![0; checked], vec![0; checked]);
        file.seek(SeekFrom::Start(0)).map_err(self.io("seek in"))?;
        file.read_exact(&mut head).map_err(self.io("read"))?;
        file.seek(SeekFrom::Start(self.at.offset - checked as u64))
            .map_err(self.io("seek in"))?;
        file.read_exact(&mut tail).map_err(self.io("read"))?;
        self.blocks(&head, &tail)?;
        Ok((head, tail))
    }

    /// Checks the file's first block and the block before the offset, as read now.
    fn blocks(&self, head: &[u8], tail: &[u8]) -> Result<(), Error> {
        let (checked, at) = (head.len(), self.where_());
        if hash128(head) != self.at.head {
            return Err(self.changed(format!(
                "its first {checked} bytes differ from those read before the position ({at})"
            )));
        }
        if hash128(tail) != self.at.tail {
            return Err(self.changed(format!(
                "the {checked} bytes before the position ({at}) differ from those read there"
            )));
        }
        Ok(())
    }
}

/// Where an iterator over a file stands, as a checkpoint saves it: the byte offset after the
/// lines or records yielded, their number, and a fingerprint of the file before the offset.
/// The [`Position`](crate::Position) of [`Lines`](super::Lines) and [`Records`](super::Records)
/// (and of `Csv`, with the `csv` feature, inside its own position).
///
/// # What a resume checks
///
/// [`resume_at`](crate::Position::resume_at) refuses with [`Error::InputChanged`], which names
/// the file and says how to start over, when:
/// - the file is shorter than the offset (truncated, or replaced by a shorter file);
/// - its first 4 KiB (or the bytes before the offset, if fewer) differ from what was read;
/// - the 4 KiB just before the offset differ: an edit there, or bytes inserted or removed
///   anywhere before the offset, which shift what ends there (unless the shifted bytes happen
///   to be the same, as in a file of identical lines);
/// - the last line or record read ended the file without its line ending or delimiter and the
///   file has grown since (it may have grown: an uninterrupted run would have read it whole).
///
/// A file that only grew after the offset (a log appended to) resumes, and the new lines are
/// read. Not detected: an edit between the first block and the block before the offset that
/// keeps its length (the same number of bytes replaced), since a resume reads only those two
/// blocks, which is what makes it O(1); nor the file replaced by another that agrees with it
/// on those blocks and is at least as long. Not detected either: a change crafted to collide,
/// as the hash (XXH3-128) is not cryptographic. A missing file is the opening's error, before
/// any resume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    offset: u64,
    count: u64,
    head: u128,
    tail: u128,
    open: bool,
}

impl FilePosition {
    /// Builds a position from its parts: `head` and `tail` are the blocks it fingerprints.
    #[cfg(feature = "csv")]
    pub(super) fn new(offset: u64, count: u64, head: &[u8], tail: &[u8], open: bool) -> Self {
        FilePosition {
            offset,
            count,
            head: hash128(head),
            tail: hash128(tail),
            open,
        }
    }

    /// The last line or record read ended the file without its line ending or delimiter.
    #[cfg(feature = "csv")]
    pub(super) fn open(&self) -> bool {
        self.open
    }

    /// The byte offset in the file after the lines or records yielded.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The lines or records yielded (and those refused, as a line that is not UTF-8) before
    /// the offset.
    pub fn count(&self) -> u64 {
        self.count
    }
}
