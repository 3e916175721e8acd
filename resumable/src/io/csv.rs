//! [`Csv`]: the records of a CSV file, deserialized, resumable with one seek (the `csv`
//! feature).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use csv::StringRecord;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::split::{BLOCK, Check, FilePosition, Names};
use crate::error::Error;
use crate::position::Position;

/// How a [`Csv`]'s errors name what it reads.
const NAMES: Names = Names {
    item: "record",
    ending: "record terminator",
};

/// The records of a CSV file deserialized to `T`, like [`csv::Reader::deserialize`],
/// that a resumed loop puts back where it stopped with one seek. With the `csv` feature.
///
/// `T` is any [`DeserializeOwned`] type the `csv` crate can deserialize a record to: a struct
/// whose fields are matched to the header row by name, a tuple, or `Vec<String>` for the
/// fields as they are. Each item is a record or a [`csv::Error`] (a record that is not UTF-8,
/// that has a different number of fields than the first one, or that does not deserialize to
/// `T`: the record is consumed and the next call goes on after it, as with `csv`).
///
/// [`Csv::open`] reads with `csv`'s defaults (a header row, `,`, `"`); [`Csv::from_builder`]
/// takes a [`csv::ReaderBuilder`] with any of its options (`delimiter`, `has_headers`,
/// `flexible`, `trim`, `quote`, `comment`, `terminator`, …): they are the user's code, the
/// same in every run, and are not saved with the position.
///
/// Its [`Position`] is a [`CsvPosition`]: `csv`'s own position (byte offset, line, record
/// number) and the same fingerprint of the bytes before it as [`Lines`](super::Lines), with
/// the same checks (see [`FilePosition`]). A resume reads the header row first, as the
/// interrupted run did, so fields are still matched by header; then it checks the fingerprint
/// and seeks: it reads the header row and 8 KiB, however far into the file the position is.
///
/// ```
/// use resumable::Position;
/// use resumable::io::Csv;
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct City {
///     name: String,
///     population: u64,
/// }
///
/// let path = std::env::temp_dir().join(format!("resumable-csv-doc-{}", std::process::id()));
/// std::fs::write(&path, "population,name\n4628910,Boston\n42695,Concord\n100,\"Far, away\"\n")?;
///
/// let mut cities = Csv::<City>::open(&path)?;
/// assert_eq!(cities.next().transpose()?.unwrap().name, "Boston");
/// let saved = cities.position(); // what a checkpoint keeps
///
/// // A later run: a fresh `Csv` put back there reads on from Concord, by header still.
/// let mut again = Csv::<City>::open(&path)?;
/// again.resume_at(saved)?;
/// let rest: Vec<City> = again.collect::<Result<_, _>>()?;
/// assert_eq!(rest[0], City { name: "Concord".into(), population: 42695 });
/// assert_eq!(rest[1].name, "Far, away");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Csv<T> {
    path: PathBuf,
    reader: csv::Reader<Tap>,
    /// The record being read (reused, as `csv`'s own iterators do).
    record: StringRecord,
    /// The header row, when the reader has one: what a struct's fields are matched by.
    headers: Option<StringRecord>,
    /// The last record (or header row) read ended at the end of the file, with no terminator
    /// seen after it.
    open: bool,
    items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Csv<T> {
    /// Opens `path` for reading its records with `csv`'s default options (a header row,
    /// fields separated by `,`). The error of a file that cannot be opened names it.
    pub fn open(path: impl AsRef<Path>) -> Result<Csv<T>, csv::Error> {
        Csv::from_builder(&csv::ReaderBuilder::new(), path)
    }

    /// Opens `path` for reading its records with the options of `builder`. The error of a
    /// file that cannot be opened names it; with a header row, an error reading it is
    /// returned here.
    pub fn from_builder(
        builder: &csv::ReaderBuilder,
        path: impl AsRef<Path>,
    ) -> Result<Csv<T>, csv::Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("could not open {}: {error}", path.display()),
            )
        })?;
        let tap = Tap {
            file,
            head: Vec::with_capacity(BLOCK),
            history: Vec::new(),
            total: 0,
            eof: false,
            read: 0,
        };
        let mut reader = builder.from_reader(tap);
        // The header row is read now, so that a position is never before it (a resume at byte
        // 0 would read it again as a record).
        let headers = if reader.has_headers() {
            Some(reader.headers()?.clone())
        } else {
            None
        };
        let mut csv = Csv {
            path: path.to_path_buf(),
            reader,
            record: StringRecord::new(),
            headers,
            open: false,
            items: PhantomData,
        };
        csv.note_end();
        Ok(csv)
    }
}

impl<T> Csv<T> {
    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header row, if the reader has one.
    pub fn headers(&self) -> Option<&StringRecord> {
        self.headers.as_ref()
    }

    /// Notes whether what was just read ended with the file: `csv` returns a record that has
    /// no terminator only once a read found the end of the file.
    fn note_end(&mut self) {
        let tap = self.reader.get_ref();
        self.open = tap.eof && self.reader.position().byte() == tap.total;
    }
}

impl<T: DeserializeOwned> Iterator for Csv<T> {
    type Item = Result<T, csv::Error>;

    fn next(&mut self) -> Option<Result<T, csv::Error>> {
        let read = self.reader.read_record(&mut self.record);
        if !matches!(read, Ok(false)) {
            self.note_end();
        }
        match read {
            Ok(false) => None,
            Ok(true) => Some(self.record.deserialize(self.headers.as_ref())),
            Err(error) => Some(Err(error)),
        }
    }
}

impl<T> fmt::Debug for Csv<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Csv")
            .field("path", &self.path)
            .field("position", self.reader.position())
            .finish_non_exhaustive()
    }
}

/// Where a [`Csv`] stands, as a checkpoint saves it: `csv`'s position after the records
/// yielded (byte offset, line, record number) and a fingerprint of the file before the
/// offset, checked on resume as a [`FilePosition`]'s is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvPosition {
    /// The offset, `csv`'s record number, and the fingerprint.
    at: FilePosition,
    line: u64,
}

impl CsvPosition {
    /// The byte offset in the file after the records yielded.
    pub fn offset(&self) -> u64 {
        self.at.offset()
    }

    /// The line the next record starts on, counted from 1 as `csv` counts them.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The records read before the offset, the header row included, as
    /// [`csv::Position::record`] counts them.
    pub fn record(&self) -> u64 {
        self.at.count()
    }
}

impl<T: DeserializeOwned> Position for Csv<T> {
    type Saved = CsvPosition;

    fn position(&self) -> CsvPosition {
        let at = self.reader.position();
        let tap = self.reader.get_ref();
        let offset = at.byte();
        let checked = offset.min(BLOCK as u64) as usize;
        // `csv` buffers at most one read beyond the offset, and the tap keeps a block more.
        let from = (offset - (tap.total - tap.history.len() as u64)) as usize - checked;
        CsvPosition {
            at: FilePosition::new(
                offset,
                at.record(),
                &tap.head[..checked],
                &tap.history[from..from + checked],
                self.open,
            ),
            line: at.line(),
        }
    }

    fn resume_at(&mut self, saved: CsvPosition) -> Result<(), Error> {
        let check = Check {
            path: &self.path,
            names: &NAMES,
            at: &saved.at,
        };
        // Without a header row, the first record is read here as `csv` reads it into its
        // headers before a seek: it sets the number of fields every record must have, as it
        // did for the interrupted run.
        self.reader
            .byte_headers()
            .map_err(|error| check.io("read the first record of")(error.into()))?;
        let (head, tail) = check.read_blocks(&mut self.reader.get_mut().file)?;
        let mut at = csv::Position::new();
        at.set_byte(saved.offset())
            .set_line(saved.line)
            .set_record(saved.record());
        self.reader
            .seek_raw(SeekFrom::Start(saved.offset()), at)
            .map_err(|error| check.io("seek in")(error.into()))?;
        // The tap is at the offset, with the block before it as its history.
        let tap = self.reader.get_mut();
        tap.head = head;
        tap.history = tail;
        self.open = saved.at.open();
        Ok(())
    }
}

/// The file under the `csv` reader, keeping what a position fingerprints: the file's first
/// block, and the bytes read lately, which hold the block before the reader's offset (its
/// buffer holds at most the last read after it).
struct Tap {
    file: File,
    /// The file's first `min(total, BLOCK)` bytes.
    head: Vec<u8>,
    /// The last bytes read, which end at `total`: at least `BLOCK` bytes before the last read.
    history: Vec<u8>,
    /// Where the file's cursor is.
    total: u64,
    /// The last read found the end of the file.
    eof: bool,
    /// Bytes read through the tap in all: what the tests check a resume reads.
    read: u64,
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Trimmed seldom, so that each byte is copied about once.
        if self.history.len() > 16 * BLOCK {
            self.history.drain(..self.history.len() - BLOCK);
        }
        let n = self.file.read(buf)?;
        let read = &buf[..n];
        if self.total < BLOCK as u64 {
            let more = n.min(BLOCK - self.total as usize);
            self.head.extend_from_slice(&read[..more]);
        }
        self.history.extend_from_slice(read);
        self.total += n as u64;
        self.read += n as u64;
        self.eof = n == 0 && !buf.is_empty();
        Ok(n)
    }
}

impl Seek for Tap {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.total = self.file.seek(to)?;
        self.history.clear();
        self.eof = false;
        Ok(self.total)
    }
}

#[cfg(test)]
mod tests {
    use crate::io::temp::Temp;
    use std::io::Write;

    use super::*;

    #[derive(Clone, Debug, PartialEq, Deserialize)]
    struct Row {
        id: u64,
        name: String,
        score: f64,
    }

    /// Rows as comparable values: records, or errors by their text.
    fn outcomes<T>(rows: impl Iterator<Item = Result<T, csv::Error>>) -> Vec<Result<T, String>> {
        rows.map(|row| row.map_err(|e| e.to_string())).collect()
    }

    /// `n` rows with the columns in another order than `Row`'s fields, quoted fields with
    /// commas, quotes and line breaks, CRLF and LF endings, a row that does not deserialize,
    /// and no terminator after the last row.
    fn rows_file(n: u64) -> String {
        let mut text = String::from("score,name,id\n");
        for id in 0..n {
            let name = match id % 7 {
                0 => format!("\"quoted, with comma {id}\""),
                1 => format!("\"two\nlines {id}\""),
                2 => format!("\"a \"\"quote\"\" {id}\""),
                _ => format!("name {id}"),
            };
            let score = if id == 100 {
                "not a number".into()
            } else {
                format!("{}.5", id * 3)
            };
            let end = if id % 3 == 0 { "\r\n" } else { "\n" };
            text += &format!("{score},{name},{id}{end}");
        }
        text.truncate(text.trim_end().len());
        text
    }

    /// The position after `k` rows, through postcard as a checkpoint keeps it.
    fn position_after<T: DeserializeOwned>(open: &dyn Fn() -> Csv<T>, k: usize) -> CsvPosition {
        let mut rows = open();
        rows.by_ref().take(k).for_each(drop);
        let bytes = postcard::to_allocvec(&rows.position()).unwrap();
        postcard::from_bytes(&bytes).unwrap()
    }

    fn resumed<T: DeserializeOwned>(
        open: &dyn Fn() -> Csv<T>,
        at: CsvPosition,
    ) -> Result<Vec<Result<T, String>>, Error> {
        let mut rows = open();
        rows.resume_at(at)?;
        Ok(outcomes(rows))
    }

    /// Resumed after every `step` rows (and after the last), `open`'s rows are the rest of
    /// what csv's own reader yields.
    fn resumes_exactly<T: DeserializeOwned + PartialEq + fmt::Debug>(
        open: &dyn Fn() -> Csv<T>,
        all: Vec<Result<T, String>>,
        step: usize,
    ) {
        assert_eq!(outcomes(open()), all);
        for k in (0..=all.len()).step_by(step).chain([all.len()]) {
            let at = position_after(open, k);
            let rest = resumed(open, at).unwrap();
            assert_eq!(rest, all[k..], "after {k} rows");
        }
    }

    #[test]
    fn resumed_after_every_k_rows_yields_the_rest_matched_by_header() {
        let file = Temp::new("rows", "input.csv", rows_file(3000).as_bytes());
        let all = outcomes(
            csv::Reader::from_path(&file.path)
                .unwrap()
                .deserialize::<Row>(),
        );
        assert_eq!(all.len(), 3000);
        assert!(all[100].is_err() && all[101].is_ok(), "{:?}", all[100]);
        assert_eq!(all[7].as_ref().unwrap().name, "quoted, with comma 7");
        let open = || Csv::<Row>::open(&file.path).unwrap();
        resumes_exactly(&open, all.clone(), 37);
        // The fingerprint's block before the offset comes from what the tap kept of csv's
        // reads, whatever their size.
        for capacity in [1, 100, 1 << 20] {
            let mut builder = csv::ReaderBuilder::new();
            builder.buffer_capacity(capacity);
            let open = || Csv::<Row>::from_builder(&builder, &file.path).unwrap();
            resumes_exactly(&open, all.clone(), 301);
        }
    }

    #[test]
    fn a_missing_file_is_an_error_that_names_it() {
        let file = Temp::new("missing", "input.csv", b"");
        let missing = file.dir.join("not-there.csv");
        let error = Csv::<Row>::open(&missing).unwrap_err();
        assert!(
            error.to_string().contains(&missing.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn without_headers_the_first_record_is_a_record_and_options_apply() {
        // `;`-separated, no header row, trimmed, and an uneven record: not flexible, it is an
        // error after a resume as it is without one (the first record sets the count).
        let mut text = String::new();
        for i in 0..500 {
            let extra = if i == 247 { ";extra" } else { "" };
            text += &format!(" {i} ; field {i}{extra}\n");
        }
        let file = Temp::new("no-headers", "input.csv", text.as_bytes());
        let mut builder = csv::ReaderBuilder::new();
        builder
            .has_headers(false)
            .delimiter(b';')
            .trim(csv::Trim::All);
        let all = outcomes(
            builder
                .from_path(&file.path)
                .unwrap()
                .deserialize::<(u32, String)>(),
        );
        assert_eq!(all[0], Ok((0, "field 0".into())));
        assert!(all[247].is_err());
        let open = || Csv::<(u32, String)>::from_builder(&builder, &file.path).unwrap();
        resumes_exactly(&open, all, 13);
        let fields = || Csv::<Vec<String>>::from_builder(&builder, &file.path).unwrap();
        let all = outcomes(builder.from_path(&file.path).unwrap().deserialize());
        resumes_exactly(&fields, all, 101);
    }

    #[test]
    fn a_resume_far_into_a_big_file_reads_the_header_and_then_from_the_offset() {
        let file = Temp::new("big", "input.csv", rows_file(200_000).as_bytes());
        let len = std::fs::metadata(&file.path).unwrap().len();
        let open = || Csv::<Row>::open(&file.path).unwrap();
        let at = position_after(&open, 150_000);
        let offset = at.offset();
        assert!(offset > 3_000_000, "{offset}");
        let mut rows = open();
        rows.resume_at(at).unwrap();
        // One buffer of `csv`'s for the header row (the two blocks checked are read beside
        // the tap), then the rest of the file from the offset.
        let header = rows.reader.get_ref().read;
        assert!(header <= 8 * 1024, "{header}");
        assert_eq!(rows.by_ref().count(), 50_000);
        assert_eq!(rows.reader.get_ref().read, header + len - offset);
    }

    fn refusal<T: DeserializeOwned + fmt::Debug>(
        open: &dyn Fn() -> Csv<T>,
        at: CsvPosition,
    ) -> String {
        let error = resumed(open, at).unwrap_err();
        assert!(matches!(error, Error::InputChanged { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("input.csv"), "{message}");
        assert!(message.contains("RESUMABLE_RESET=1"), "{message}");
        message
    }

    fn edited(path: &Path, at: usize) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[at] = if bytes[at] == b'7' { b'8' } else { b'7' };
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn an_edited_file_is_refused_and_one_that_grew_resumes() {
        let text = rows_file(2000) + "\n";
        let file = Temp::new("edited", "input.csv", text.as_bytes());
        let open = || Csv::<Row>::open(&file.path).unwrap();
        let at = position_after(&open, 1500);
        let offset = at.offset() as usize;

        File::options()
            .append(true)
            .open(&file.path)
            .unwrap()
            .write_all(b"1.5,new,2000\n")
            .unwrap();
        let rest = resumed(&open, at.clone()).unwrap();
        assert_eq!(rest.len(), 501);
        assert_eq!(rest[500].as_ref().unwrap().name, "new");

        edited(&file.path, offset - 10);
        let message = refusal(&open, at.clone());
        assert!(message.contains("before the position"), "{message}");
        std::fs::write(&file.path, &text).unwrap();
        edited(&file.path, 20);
        let message = refusal(&open, at.clone());
        assert!(message.contains("first 4096 bytes"), "{message}");
        std::fs::write(&file.path, &text[..offset - 1]).unwrap();
        let message = refusal(&open, at);
        assert!(message.contains("bytes long"), "{message}");
    }

    #[test]
    fn a_last_record_without_a_terminator_that_grew_is_refused() {
        let file = Temp::new(
            "open-record",
            "input.csv",
            b"id,name,score\n1,one,1.5\n2,two,2",
        );
        let open = || Csv::<Row>::open(&file.path).unwrap();
        let at = position_after(&open, 2);
        assert_eq!(resumed(&open, at.clone()).unwrap(), []);
        File::options()
            .append(true)
            .open(&file.path)
            .unwrap()
            .write_all(b".5\n3,three,3.5\n")
            .unwrap();
        let message = refusal(&open, at);
        assert!(message.contains("no record terminator"), "{message}");

        // The same for a header row alone: more columns could follow it.
        let file = Temp::new("open-header", "input.csv", b"id,name");
        let open = || Csv::<Row>::open(&file.path).unwrap();
        let at = position_after(&open, 0);
        std::fs::write(&file.path, b"id,name,score\n1,one,1.5\n").unwrap();
        refusal(&open, at);
    }
}
