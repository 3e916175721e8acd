//! [`Records`]: the records of a file separated by a delimiter byte, resumable with one seek.

use std::fmt;
use std::io;
use std::path::Path;

use super::split::{FilePosition, Names, Split};
use crate::error::Error;
use crate::position::Position;

/// The records of a file separated by a delimiter byte, like
/// [`BufRead::split`](std::io::BufRead::split) on a [`BufReader`](std::io::BufReader), that a
/// resumed loop puts back where it stopped with one seek: NUL-separated paths (`find -print0`),
/// `\x1e`-separated JSON (RFC 7464), or lines kept as bytes.
///
/// Each item is a record without its delimiter, or a read error. A last record with no
/// delimiter is yielded as it is; an empty file has no records, and a file that ends with the
/// delimiter has no empty record after it (as with `BufRead::split`).
///
/// Its [`Position`] is a [`FilePosition`], as for [`Lines`](super::Lines): the byte offset
/// after the records yielded, their number, and a fingerprint of the bytes before the offset,
/// checked against the file by [`resume_at`](Position::resume_at), which then seeks (8 KiB read
/// at most, however far into the file the position is). The delimiter is not saved: a resume
/// must open the file with the same one.
///
/// ```
/// use resumable::Position;
/// use resumable::io::Records;
///
/// let path = std::env::temp_dir().join(format!("resumable-records-doc-{}", std::process::id()));
/// std::fs::write(&path, b"a.txt\0b c.txt\0d\n.txt\0e.txt")?;
///
/// let mut records = Records::open(&path, b'\0')?;
/// assert_eq!(records.next().transpose()?, Some(b"a.txt".to_vec()));
/// let saved = records.position(); // what a checkpoint keeps
/// assert_eq!((saved.offset(), saved.count()), (6, 1));
///
/// // A later run: a fresh `Records` put back there reads on from "b c.txt".
/// let mut again = Records::open(&path, b'\0')?;
/// again.resume_at(saved)?;
/// let rest = again.collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(rest, [&b"b c.txt"[..], b"d\n.txt", b"e.txt"]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Records {
    split: Split,
    delimiter: u8,
}

/// How a [`Records`]' errors name what it reads.
const NAMES: Names = Names {
    item: "record",
    ending: "delimiter",
};

impl Records {
    /// Opens `path` for reading its records, separated by `delimiter`, from the start. The
    /// error of a file that cannot be opened names it.
    pub fn open(path: impl AsRef<Path>, delimiter: u8) -> io::Result<Records> {
        Ok(Records {
            split: Split::open(path.as_ref())?,
            delimiter,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        self.split.path()
    }
}

impl Iterator for Records {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<io::Result<Vec<u8>>> {
        self.split.next_with(self.delimiter, |piece, ended, _, _| {
            Ok(piece[..piece.len() - usize::from(ended)].to_vec())
        })
    }
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("path", &self.split.path())
            .field("delimiter", &self.delimiter)
            .field("offset", &self.split.offset())
            .field("record", &self.split.count())
            .finish_non_exhaustive()
    }
}

impl Position for Records {
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
    use std::fs::File;
    use std::io::{BufRead, BufReader, Write};

    use super::super::split::BLOCK;
    use super::*;

    fn outcomes(records: impl Iterator<Item = io::Result<Vec<u8>>>) -> Vec<Vec<u8>> {
        records.map(Result::unwrap).collect()
    }

    fn std_split(path: &Path, delimiter: u8) -> Vec<Vec<u8>> {
        outcomes(BufReader::new(File::open(path).unwrap()).split(delimiter))
    }

    /// Records of random lengths (up to `max`) of random bytes, the delimiter among them about
    /// once in 50 bytes, from a fixed seed.
    fn random_bytes(seed: u64, len: usize, max: u64, delimiter: u8) -> Vec<u8> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut bytes = Vec::with_capacity(len);
        while bytes.len() < len {
            for _ in 0..next() % max {
                bytes.push(next() as u8);
            }
            bytes.push(delimiter);
        }
        if next() % 2 == 0 {
            bytes.pop(); // sometimes no delimiter at the end
        }
        bytes
    }

    fn cases() -> Vec<(&'static str, u8, Vec<u8>)> {
        let long = vec![b'x'; 300_000];
        let long_records = [&long[..], b"\0short\0", &long, &long, b"\0", &long].concat();
        vec![
            ("nul", b'\0', b"one\0two\0three\0".to_vec()),
            ("no-trailing-delimiter", b'\0', b"one\0two\0three".to_vec()),
            ("empty-file", b'\0', Vec::new()),
            ("empty-records", b',', b",,a,,\n,".to_vec()),
            ("only-delimiter", b'\x1e', b"\x1e".to_vec()),
            ("crlf-kept", b'\n', b"a\r\nb\n\r\n".to_vec()),
            ("long-records", b'\0', long_records),
            ("random-nul", b'\0', random_bytes(1, 400_000, 100, b'\0')),
            (
                "random-rs",
                b'\x1e',
                random_bytes(2, 1_000_000, 100_000, b'\x1e'),
            ),
            ("random-ff", 0xff, random_bytes(3, 300_000, 300, 0xff)),
        ]
    }

    #[test]
    fn yields_what_bufread_split_yields() {
        for (name, delimiter, bytes) in cases() {
            let file = Temp::new(name, "input.bin", &bytes);
            let ours = outcomes(Records::open(&file.path, delimiter).unwrap());
            assert_eq!(ours, std_split(&file.path, delimiter), "{name}");
        }
    }

    #[test]
    fn a_missing_file_is_an_error_that_names_it() {
        let file = Temp::new("missing", "input.bin", b"");
        let missing = file.dir.join("not-there.bin");
        let error = Records::open(&missing, b'\0').unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(
            error.to_string().contains(&missing.display().to_string()),
            "{error}"
        );
    }

    /// The position after `k` records, through postcard as a checkpoint keeps it.
    fn position_after(path: &Path, delimiter: u8, k: usize) -> FilePosition {
        let mut records = Records::open(path, delimiter).unwrap();
        records.by_ref().take(k).for_each(drop);
        let bytes = postcard::to_allocvec(&records.position()).unwrap();
        postcard::from_bytes(&bytes).unwrap()
    }

    fn resumed(path: &Path, delimiter: u8, at: FilePosition) -> Result<Vec<Vec<u8>>, Error> {
        let mut records = Records::open(path, delimiter).unwrap();
        records.resume_at(at)?;
        Ok(outcomes(records))
    }

    #[test]
    fn a_fresh_records_resumed_at_a_position_yields_exactly_the_rest() {
        for (name, delimiter, bytes) in cases() {
            let file = Temp::new(name, "input.bin", &bytes);
            let all = std_split(&file.path, delimiter);
            let step = (all.len() / 40).max(1);
            for k in (0..=all.len()).step_by(step).chain([all.len()]) {
                let at = position_after(&file.path, delimiter, k);
                assert_eq!(at.count(), k as u64, "{name}");
                let rest = resumed(&file.path, delimiter, at).unwrap();
                assert_eq!(rest, all[k..], "{name} after {k} records");
            }
        }
    }

    #[test]
    fn a_resume_reads_only_the_blocks_it_checks_and_from_the_offset() {
        let bytes = [&[b'r'; 999][..], b"\0"].concat().repeat(20_000);
        let file = Temp::new("far", "input.bin", &bytes);
        let at = position_after(&file.path, b'\0', 18_000);
        assert_eq!(at.offset(), 18_000_000);
        let mut records = Records::open(&file.path, b'\0').unwrap();
        records.resume_at(at).unwrap();
        assert_eq!(records.split.read, 2 * BLOCK as u64);
        assert_eq!(records.by_ref().count(), 2_000);
        assert_eq!(records.split.read, 2 * BLOCK as u64 + 2_000_000);
    }

    fn refusal(path: &Path, at: FilePosition) -> String {
        let error = resumed(path, b'\0', at).unwrap_err();
        assert!(matches!(error, Error::InputChanged { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("after record"), "{message}");
        message
    }

    /// NUL-separated records of 100 bytes; the position after 500 of them, at byte 50_000.
    fn hundred_byte_records(name: &str) -> (Temp, FilePosition) {
        let bytes = [&[b'a'; 99][..], b"\0"].concat().repeat(1000);
        let file = Temp::new(name, "input.bin", &bytes);
        let at = position_after(&file.path, b'\0', 500);
        assert_eq!(at.offset(), 50_000);
        (file, at)
    }

    fn edited(path: &Path, at: usize) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[at] = b'b';
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn an_edit_in_either_checked_block_is_refused() {
        let (file, at) = hundred_byte_records("edit-head");
        edited(&file.path, 10);
        assert!(refusal(&file.path, at).contains("first 4096 bytes"));
        let (file, at) = hundred_byte_records("edit-tail");
        edited(&file.path, 49_990);
        assert!(refusal(&file.path, at).contains("4096 bytes before the position"));
    }

    #[test]
    fn a_truncated_file_is_refused_and_one_that_grew_resumes() {
        let (file, at) = hundred_byte_records("grew");
        File::options()
            .append(true)
            .open(&file.path)
            .unwrap()
            .write_all(b"new\0")
            .unwrap();
        let rest = resumed(&file.path, b'\0', at.clone()).unwrap();
        assert_eq!((rest.len(), &rest[500][..]), (501, &b"new"[..]));
        File::options()
            .write(true)
            .open(&file.path)
            .unwrap()
            .set_len(49_999)
            .unwrap();
        assert!(refusal(&file.path, at).contains("49999 bytes long"));
    }

    #[test]
    fn a_last_record_without_a_delimiter_that_grew_is_refused() {
        let file = Temp::new("open-record", "input.bin", b"one\0two");
        let at = position_after(&file.path, b'\0', 2);
        assert_eq!(
            resumed(&file.path, b'\0', at.clone()).unwrap(),
            [] as [Vec<u8>; 0]
        );
        File::options()
            .append(true)
            .open(&file.path)
            .unwrap()
            .write_all(b" and more\0three\0")
            .unwrap();
        let message = refusal(&file.path, at);
        assert!(
            message.contains("record 2 was read at its end with no delimiter"),
            "{message}"
        );
    }
}
