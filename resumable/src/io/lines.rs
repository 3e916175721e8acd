//! [`Lines`]: the lines of a file, resumable with one seek.

use std::fmt;
use std::io;
use std::path::Path;

use super::split::{FilePosition, Names, Split};
use crate::error::Error;
use crate::position::Position;

/// The lines of a file, like [`BufRead::lines`](std::io::BufRead::lines) on a
/// [`BufReader`](std::io::BufReader), that a resumed loop puts back where it stopped with one
/// seek.
///
/// Each item is a line without its line ending (`\n`, or `\r\n`), or an error: reading failed,
/// or the line is not UTF-8 (an [`InvalidData`](io::ErrorKind::InvalidData) error that names
/// the line and the file; the line is consumed and the next call goes on after it, as with
/// `BufRead::lines`). A last line with no line ending is yielded as it is.
///
/// Its [`Position`] is a [`FilePosition`]: the byte offset after the lines yielded, their
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
/// assert_eq!((saved.offset(), saved.count()), (9, 2));
///
/// // A later run: a fresh `Lines` put back there reads on from "three".
/// let mut again = Lines::open(&path)?;
/// again.resume_at(saved)?;
/// assert_eq!(again.collect::<Result<Vec<_>, _>>()?, ["three", "four"]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Lines {
    split: Split,
}

/// How a [`Lines`]' errors name what it reads.
const NAMES: Names = Names {
    item: "line",
    ending: "line ending",
};

impl Lines {
    /// Opens `path` for reading its lines from the start. The error of a file that cannot be
    /// opened names it.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Lines> {
        Ok(Lines {
            split: Split::open(path.as_ref())?,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        self.split.path()
    }
}

/// One line of `piece` (which ends with `\n` if `ended`): without its line ending, and UTF-8.
#[inline]
fn line(piece: &[u8], ended: bool, before: u64, path: &Path) -> io::Result<String> {
    let mut content = piece;
    if ended {
        content = &content[..content.len() - 1];
        if let [rest @ .., b'\r'] = content {
            content = rest;
        }
    }
    match std::str::from_utf8(content) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "line {} of {} is not valid UTF-8",
                before + 1,
                path.display()
            ),
        )),
    }
}

impl Iterator for Lines {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<io::Result<String>> {
        self.split.next_with(b'\n', line)
    }
}

impl fmt::Debug for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("path", &self.split.path())
            .field("offset", &self.split.offset())
            .field("line", &self.split.count())
            .finish_non_exhaustive()
    }
}

/// Where a [`Lines`] stands: a [`FilePosition`], whose [`count`](FilePosition::count) is the
/// number of lines before its offset.
pub type LinesPosition = FilePosition;

impl Position for Lines {
    type Saved = FilePosition;

    fn position(&self) -> FilePosition {
        self.split.position()
    }

    fn resume_at(&mut self, saved: FilePosition) -> Result<(), Error> {
        self.split.resume_at(saved, &NAMES)
    }
}

#[cfg(test)]
mod tests {
    use crate::io::temp::Temp;
    use std::io::{BufRead, BufReader, Write};

    use std::fs::File;

    use super::super::split::BLOCK;
    use super::*;

    /// Lines and errors (by kind), as comparable values.
    fn outcomes(
        lines: impl Iterator<Item = io::Result<String>>,
    ) -> Vec<Result<String, io::ErrorKind>> {
        lines.map(|line| line.map_err(|e| e.kind())).collect()
    }

    fn std_lines(path: &Path) -> Vec<Result<String, io::ErrorKind>> {
        outcomes(BufReader::new(File::open(path).unwrap()).lines())
    }

    /// Bytes of lines of random lengths (up to `max`) of `a`, `\r`, `\n` and a byte that is not
    /// UTF-8, from a fixed seed.
    fn random_text(seed: u64, len: usize, max: u64) -> Vec<u8> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut bytes = Vec::with_capacity(len);
        while bytes.len() < len {
            let line = next() % max;
            for _ in 0..line {
                bytes.push(match next() % 100 {
                    0 => b'\r',
                    1 => 0xff,
                    _ => b'a' + (next() % 26) as u8,
                });
            }
            bytes.extend_from_slice(if next() % 3 == 0 { b"\r\n" } else { b"\n" });
        }
        bytes
    }

    fn cases() -> Vec<(&'static str, Vec<u8>)> {
        let long = "x".repeat(300_000);
        vec![
            ("lf", b"one\ntwo\nthree\n".to_vec()),
            ("crlf", b"one\r\ntwo\r\nthree\r\n".to_vec()),
            ("no-trailing-newline", b"one\ntwo\nthree".to_vec()),
            ("empty-file", Vec::new()),
            ("empty-lines", b"\n\n\r\n\nx\n\n".to_vec()),
            ("lone-cr", b"a\rb\n\r\nc\r\r\nd\r".to_vec()),
            (
                "long-lines",
                format!("{long}\nshort\n{long}{long}\r\n{long}").into_bytes(),
            ),
            (
                "invalid-utf8",
                b"ok\n\xff\xfe bad\nafter\nbad at end \xc3".to_vec(),
            ),
            ("random-short", random_text(1, 400_000, 120)),
            ("random-long", random_text(2, 1_000_000, 100_000)),
        ]
    }

    #[test]
    fn yields_what_bufread_lines_yields() {
        for (name, bytes) in cases() {
            let file = Temp::new(name, "input.txt", &bytes);
            let ours = outcomes(Lines::open(&file.path).unwrap());
            assert_eq!(ours, std_lines(&file.path), "{name}");
        }
    }

    #[test]
    fn not_utf8_names_the_line_and_the_file() {
        let file = Temp::new("not-utf8", "input.txt", b"ok\n\xff\n");
        let error = Lines::open(&file.path)
            .unwrap()
            .nth(1)
            .unwrap()
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("line 2 of"), "{message}");
        assert!(
            message.contains(&file.path.display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn a_missing_file_is_an_error_that_names_it() {
        let file = Temp::new("missing", "input.txt", b"");
        let missing = file.dir.join("not-there.txt");
        let error = Lines::open(&missing).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(
            error.to_string().contains(&missing.display().to_string()),
            "{error}"
        );
    }

    /// The position after `k` lines, through postcard as a checkpoint keeps it.
    fn position_after(path: &Path, k: usize) -> LinesPosition {
        let mut lines = Lines::open(path).unwrap();
        lines.by_ref().take(k).for_each(drop);
        let bytes = postcard::to_allocvec(&lines.position()).unwrap();
        postcard::from_bytes(&bytes).unwrap()
    }

    fn resumed(
        path: &Path,
        at: LinesPosition,
    ) -> Result<Vec<Result<String, io::ErrorKind>>, Error> {
        let mut lines = Lines::open(path).unwrap();
        lines.resume_at(at)?;
        Ok(outcomes(lines))
    }

    #[test]
    fn a_fresh_lines_resumed_at_a_position_yields_exactly_the_rest() {
        for (name, bytes) in cases() {
            let file = Temp::new(name, "input.txt", &bytes);
            let all = std_lines(&file.path);
            let step = (all.len() / 40).max(1);
            for k in (0..=all.len()).step_by(step).chain([all.len()]) {
                let at = position_after(&file.path, k);
                assert_eq!(at.count(), k as u64, "{name}");
                let rest = resumed(&file.path, at).unwrap();
                assert_eq!(rest, all[k..], "{name} after {k} lines");
            }
        }
    }

    #[test]
    fn a_resume_far_into_a_big_file_reads_only_from_the_offset() {
        // 200 MB of lines; the position at 90%.
        let line = format!("{}\n", "y".repeat(999));
        let bytes = line.repeat(200_000).into_bytes();
        let file = Temp::new("big", "input.txt", &bytes);
        let at = position_after(&file.path, 180_000);
        assert_eq!(at.offset(), 180_000_000);
        let mut lines = Lines::open(&file.path).unwrap();
        lines.resume_at(at).unwrap();
        assert_eq!(
            lines.split.read,
            2 * BLOCK as u64,
            "a resume reads the two blocks it checks"
        );
        assert_eq!(lines.by_ref().count(), 20_000);
        assert_eq!(lines.split.read, 2 * BLOCK as u64 + 20_000_000);
    }

    fn refusal(path: &Path, at: LinesPosition) -> String {
        let error = resumed(path, at).unwrap_err();
        assert!(matches!(error, Error::InputChanged { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("RESUMABLE_RESET=1"), "{message}");
        message
    }

    fn edited(path: &Path, at: usize) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
        std::fs::write(path, bytes).unwrap();
    }

    /// Lines of 100 bytes; the position after 500 of them, at byte 50_000.
    fn hundred_byte_lines(name: &str) -> (Temp, LinesPosition) {
        let bytes = format!("{}\n", "a".repeat(99)).repeat(1000).into_bytes();
        let file = Temp::new(name, "input.txt", &bytes);
        let at = position_after(&file.path, 500);
        assert_eq!(at.offset(), 50_000);
        (file, at)
    }

    #[test]
    fn an_edit_in_the_first_block_is_refused() {
        let (file, at) = hundred_byte_lines("edit-head");
        edited(&file.path, 10);
        let message = refusal(&file.path, at);
        assert!(message.contains("first 4096 bytes"), "{message}");
    }

    #[test]
    fn an_edit_just_before_the_position_is_refused() {
        let (file, at) = hundred_byte_lines("edit-tail");
        edited(&file.path, 49_990);
        let message = refusal(&file.path, at);
        assert!(
            message.contains("4096 bytes before the position"),
            "{message}"
        );
    }

    #[test]
    fn an_edit_between_the_checked_blocks_is_not_seen() {
        // The documented limit: what makes the resume O(1).
        let (file, at) = hundred_byte_lines("edit-middle");
        edited(&file.path, 20_000);
        assert_eq!(resumed(&file.path, at).unwrap().len(), 500);
    }

    #[test]
    fn a_line_inserted_before_the_position_is_refused() {
        let bytes = random_text(3, 100_000, 200);
        let file = Temp::new("insert", "input.txt", &bytes);
        let at = position_after(&file.path, 300);
        let mut changed = bytes.clone();
        changed.splice(20_000..20_000, b"inserted\n".iter().copied());
        std::fs::write(&file.path, changed).unwrap();
        refusal(&file.path, at);
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let (file, at) = hundred_byte_lines("truncated");
        File::options()
            .write(true)
            .open(&file.path)
            .unwrap()
            .set_len(49_999)
            .unwrap();
        let message = refusal(&file.path, at);
        assert!(message.contains("49999 bytes long"), "{message}");
    }

    #[test]
    fn a_file_that_grew_resumes_and_reads_the_new_lines() {
        let (file, at) = hundred_byte_lines("grew");
        let mut appended = File::options().append(true).open(&file.path).unwrap();
        appended.write_all(b"new one\nnew two\n").unwrap();
        let rest = resumed(&file.path, at).unwrap();
        assert_eq!(rest.len(), 502);
        assert_eq!(rest[500..], [Ok("new one".into()), Ok("new two".into())]);
    }

    #[test]
    fn a_last_line_without_an_ending_that_grew_is_refused() {
        let file = Temp::new("open-line", "input.txt", b"one\ntwo");
        let at = position_after(&file.path, 2);
        assert_eq!(resumed(&file.path, at.clone()).unwrap(), []);
        let mut appended = File::options().append(true).open(&file.path).unwrap();
        appended.write_all(b" and more\nthree\n").unwrap();
        let message = refusal(&file.path, at);
        assert!(message.contains("no line ending"), "{message}");
    }
}
