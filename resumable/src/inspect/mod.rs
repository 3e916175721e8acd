//! Reading a checkpoint directory from the outside, as the `resumable` command
//! (`resumable-cli`) does: what each checkpoint holds (its label, state shape and intact
//! records), whether its files are healthy, and moving a checkpoint aside. Nothing here loads
//! a state or changes a file, except [`reset`], which only renames.
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("resumable-doc-inspect-{}", std::process::id()));
//! resumable::save(dir.join("weights.ckpt"), &vec![0.5f32; 3])?;
//! let listing = resumable::inspect::inspect_dir(&dir)?;
//! let weights = &listing.checkpoints[0];
//! assert_eq!(weights.name, "weights");
//! assert!(weights.health().is_ok());
//! assert_eq!(weights.label(), Some("resumable::save"));
//! # std::fs::remove_dir_all(dir).unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::format::label;
use crate::store::files::{self, Generations};
use crate::store::fs::OsFs;
use crate::store::lock::Lock;

mod read;
#[cfg(feature = "object-store")]
mod store;

pub use read::{inspect, inspect_dir, names};
#[cfg(feature = "object-store")]
pub use store::{
    StoreCheckpointInfo, StoreCommitInfo, StoreHealth, StoreLease, StoreReset, fetch_from_store,
    inspect_store, inspect_store_checkpoint, reset_on_store, store_lag,
};

/// The extension of a checkpoint file.
const EXTENSION: &str = ".ckpt";

/// The checkpoint directory a run uses: `RESUMABLE_DIR`, else `.resumable`.
pub fn default_dir() -> PathBuf {
    files::checkpoint_dir()
}

/// The file of checkpoint `name` in `dir`: `name` is the file name without `.ckpt` (a
/// trailing `.ckpt` is accepted, and `::` is read as `.`, as in the default names).
pub fn checkpoint_path(dir: &Path, name: &str) -> PathBuf {
    let name = name.strip_suffix(EXTENSION).unwrap_or(name);
    dir.join(format!("{}{EXTENSION}", name.replace("::", ".")))
}

/// Whether any of the files of the checkpoint at `path` (the log, `.prev`, `.next`) exists.
pub fn exists(path: &Path) -> bool {
    let generations = Generations::of(path.to_owned());
    [
        &generations.newest,
        &generations.previous,
        &generations.next,
    ]
    .iter()
    .any(|file| file.symlink_metadata().is_ok())
}

/// Which of a checkpoint's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// `<name>.ckpt`: the log (or a version-1 file).
    Log,
    /// `<name>.ckpt.prev`: the log before the last compaction.
    Previous,
    /// `<name>.ckpt.next`: a new log not yet moved into place.
    Next,
}

impl Generation {
    /// What the file's name adds to the checkpoint's: `""`, `".prev"` or `".next"`.
    pub fn suffix(self) -> &'static str {
        match self {
            Generation::Log => "",
            Generation::Previous => ".prev",
            Generation::Next => ".next",
        }
    }
}

/// How one file holds its checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// A log (format version 2 or 3): a header and records.
    Log,
    /// A version-1 file of one checkpoint, as [`crate::save`] writes.
    Single,
    /// Neither, as far as could be told: the file could not be read, or its header is not
    /// a checkpoint's.
    Unknown,
}

/// How a record holds one state binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartInfo {
    /// The whole value, `len` bytes.
    Whole {
        /// Its encoded size.
        len: u64,
    },
    /// Elements `from..to` of a sequence, `len` bytes.
    Elements {
        /// The first element held.
        from: u64,
        /// One past the last.
        to: u64,
        /// Their encoded size.
        len: u64,
    },
}

/// One intact checkpoint in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    /// The record's sequence number (0 in a version-1 file).
    pub seq: u64,
    /// Completed iterations.
    pub index: u64,
    /// When it was saved, milliseconds since the Unix epoch.
    pub saved_at_ms: u64,
    /// Its bytes in the file, framing included.
    pub size: u64,
    /// One per state binding.
    pub parts: Vec<PartInfo>,
    /// A loop nest's position `(outer, inner)` (its first state value).
    pub position: Option<(u64, u64)>,
}

/// What is wrong with one file, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// The log ends in a record cut short (or zeros): what a crash during an append leaves.
    TornTail,
    /// A record fails its checks, or the file is not a readable checkpoint.
    Damaged(String),
}

/// One of a checkpoint's files.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// Which of them.
    pub generation: Generation,
    /// Its path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// How it holds its checkpoints.
    pub format: Format,
    /// The header's label (the checkpoint's name, with its key if it has one).
    pub label: Option<String>,
    /// The header's shape: the state bindings and their types' structure.
    pub shape: Option<String>,
    /// Its intact records, oldest first.
    pub records: Vec<RecordInfo>,
    /// What follows them, or why the file cannot be read.
    pub problem: Option<FileProblem>,
}

/// Something the `HEALTH` column reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// The file ends in a cut record; the records before it are intact. Normal after a crash.
    TornTail(Generation),
    /// A record fails its checksum, or the file cannot be read as a checkpoint.
    Damaged(Generation, String),
    /// A `.next` log holds the newest checkpoint: the next run moves it into place.
    PendingNext,
    /// No file holds an intact checkpoint.
    NoCheckpoint,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Issue::TornTail(Generation::Log) => write!(f, "torn tail"),
            Issue::TornTail(generation) => write!(f, "torn tail in {}", generation.suffix()),
            Issue::Damaged(Generation::Log, problem) => write!(f, "damaged: {problem}"),
            Issue::Damaged(generation, problem) => {
                write!(f, "damaged {}: {problem}", generation.suffix())
            }
            Issue::PendingNext => write!(f, "pending .next"),
            Issue::NoCheckpoint => write!(f, "damaged: no intact checkpoint in any file"),
        }
    }
}

/// A checkpoint's health: what the `HEALTH` column shows, in its [`Display`](fmt::Display)
/// text (`ok`, or the issues separated by `; `).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health<'a> {
    /// No issue at all.
    Ok,
    /// Its issues, at least one.
    Issues(&'a [Issue]),
}

impl Health<'_> {
    /// Whether there is no issue.
    pub fn is_ok(&self) -> bool {
        matches!(self, Health::Ok)
    }
}

impl fmt::Display for Health<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Ok => f.write_str("ok"),
            Health::Issues(issues) => {
                for (at, issue) in issues.iter().enumerate() {
                    if at > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{issue}")?;
                }
                Ok(())
            }
        }
    }
}

/// One checkpoint: its files, what they hold, and its health.
#[derive(Debug, Clone)]
pub struct CheckpointInfo {
    /// The checkpoint's name: its file name without `.ckpt`.
    pub name: String,
    /// Its log's path, `<dir>/<name>.ckpt` (which may be missing while `.prev` or `.next`
    /// exist).
    pub path: PathBuf,
    /// The files that exist, in the order log, `.prev`, `.next`.
    pub files: Vec<FileInfo>,
    /// The newest intact record of any file — the one a run resumes from — and its file.
    pub newest: Option<(Generation, RecordInfo)>,
    /// Empty if healthy.
    pub issues: Vec<Issue>,
}

impl CheckpointInfo {
    /// The header's label, from the log (else `.next`, else `.prev`).
    pub fn label(&self) -> Option<&str> {
        self.header_field(|file| file.label.as_deref())
    }

    /// The header's shape text, from the same file as [`CheckpointInfo::label`].
    pub fn shape(&self) -> Option<&str> {
        self.header_field(|file| file.shape.as_deref())
    }

    fn header_field<'a>(
        &'a self,
        field: impl Fn(&'a FileInfo) -> Option<&'a str>,
    ) -> Option<&'a str> {
        [Generation::Log, Generation::Next, Generation::Previous]
            .iter()
            .filter_map(|generation| self.file(*generation))
            .find_map(field)
    }

    /// The file of `generation`, if it exists.
    pub fn file(&self, generation: Generation) -> Option<&FileInfo> {
        self.files.iter().find(|file| file.generation == generation)
    }

    /// The label without its key: the checkpoint name the function was given.
    pub fn function(&self) -> Option<&str> {
        self.label().map(|text| label::split_label(text).0)
    }

    /// The key's `Debug` text, for a checkpoint of `key = expr`.
    pub fn key(&self) -> Option<&str> {
        self.label().and_then(|text| label::split_label(text).1)
    }

    /// The completed iterations of the checkpoint a run would resume from.
    pub fn index(&self) -> Option<u64> {
        self.newest.as_ref().map(|(_, record)| record.index)
    }

    /// The bytes of all its files.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|file| file.size).sum()
    }

    /// Ok, or its issues.
    pub fn health(&self) -> Health<'_> {
        if self.issues.is_empty() {
            Health::Ok
        } else {
            Health::Issues(&self.issues)
        }
    }

    /// The names of the state bindings, from the shape (none for a version-1 file).
    pub fn bindings(&self) -> Vec<&str> {
        self.shape().map_or_else(Vec::new, |shape| {
            shape
                .lines()
                .filter_map(|line| line.strip_prefix(label::BINDING))
                .collect()
        })
    }

    /// A record's parts in words: `results: elements 1000..2000 (5.8 KB), total: whole 8 B`.
    pub fn parts_summary(&self, record: &RecordInfo) -> String {
        let bindings = self.bindings();
        let named = bindings.len() == record.parts.len();
        let parts: Vec<String> = record
            .parts
            .iter()
            .enumerate()
            .map(|(at, part)| {
                let text = match *part {
                    PartInfo::Whole { len } => format!("whole {}", size_text(len)),
                    PartInfo::Elements { from, to, len } => {
                        format!("elements {from}..{to} ({})", size_text(len))
                    }
                };
                if named {
                    format!("{}: {text}", bindings[at])
                } else {
                    text
                }
            })
            .collect();
        if parts.is_empty() {
            "no state".into()
        } else {
            parts.join(", ")
        }
    }
}

/// A file a checkpoint was moved aside to: `<file>.damaged-<ms>`, `<file>.reset-<ms>` or
/// `<file>.ahead-of-output-<ms>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Its path.
    pub path: PathBuf,
    /// `damaged`, `reset` or `ahead of its output`.
    pub why: &'static str,
    /// When it was moved aside, from its name.
    pub at_ms: Option<u64>,
    /// Its size in bytes.
    pub size: u64,
}

/// What a checkpoint directory holds.
#[derive(Debug, Clone)]
pub struct DirInfo {
    /// The checkpoints, by name.
    pub checkpoints: Vec<CheckpointInfo>,
    /// The files checkpoints were moved aside to, by name.
    pub set_aside: Vec<SetAside>,
}

/// Moves the files of the checkpoint at `path` (the log, `.prev`, `.next`) aside to
/// `<file>.reset-<unix ms>`, never deleting anything, and returns each file's old and new
/// name. Refused with [`Error::Locked`], naming the holder, while a run uses the checkpoint.
pub fn reset(path: &Path) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    let lock = Lock::acquire(path)?;
    let generations = Generations::of(path.to_owned());
    let moved = files::reset_generations(&OsFs, &generations)?;
    lock.remove();
    Ok(moved)
}

pub use crate::store::clock::age;

/// "120 B", "5.8 KB", "3.1 MB", "2.0 GB" (powers of 1000).
pub fn size_text(bytes: u64) -> String {
    crate::error::size_text(bytes)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::format::hash;
    use crate::format::log::{self, LogMeta, Part, RecordHead};
    use crate::store::clock::now_ms;
    use crate::store::journal::{Journal, Sink};

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("resumable-inspect-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn meta(label: &str) -> LogMeta {
        let shape = "== results\nroot: [u64]\n== total\nroot: u64\n";
        LogMeta {
            fingerprint: hash::fingerprint(label, shape),
            label: label.into(),
            shape: shape.into(),
        }
    }

    /// A record of `results` (elements `from..to`, 8 bytes each) and `total` (whole, 1 byte).
    fn record(seq: u64, from: u64, to: u64) -> Vec<u8> {
        let mut data = vec![7; (to - from) as usize * 8 + 1];
        let head = RecordHead {
            seq,
            index: to,
            saved_at_ms: now_ms() - 5_000,
            next_item: None,
            parts: vec![
                Part::Extend {
                    from,
                    to,
                    len: (to - from) * 8,
                },
                Part::Whole { len: 1 },
            ],
        };
        let mut framed = Vec::new();
        log::frame_record(&head, &mut framed, &mut data);
        framed.extend_from_slice(&data);
        framed
    }

    /// A log of `label` with records 1..=n, each 10 elements more.
    fn log_bytes(label: &str, n: u64) -> Vec<u8> {
        let mut bytes = log::header(&meta(label));
        for seq in 1..=n {
            bytes.extend_from_slice(&record(seq, (seq - 1) * 10, seq * 10));
        }
        bytes
    }

    #[test]
    fn health_reads_as_the_health_column() {
        assert_eq!(Health::Ok.to_string(), "ok");
        let issues = [
            Issue::TornTail(Generation::Previous),
            Issue::Damaged(Generation::Log, "its checksum does not match".into()),
            Issue::PendingNext,
        ];
        let health = Health::Issues(&issues);
        assert!(!health.is_ok());
        assert_eq!(
            health.to_string(),
            "torn tail in .prev; damaged: its checksum does not match; pending .next"
        );
    }

    #[test]
    fn a_log_written_by_the_journal_is_listed_with_its_records() {
        let dir = scratch("journal");
        let path = dir.join("jobs.squares.ckpt");
        let generations = Generations::of(path.clone());
        let mut journal = Journal::new(generations, &meta("jobs::squares"), 0);
        for (index, new_file) in [(10, true), (20, false)] {
            journal.begin(new_file);
            let sink = Sink::new(&OsFs);
            journal.whole(&sink, &vec![1u64; index as usize]).unwrap();
            journal.whole(&sink, &index).unwrap();
            let job = journal
                .write(&OsFs, new_file, index, now_ms(), None, &[])
                .unwrap();
            job.run(&OsFs).unwrap();
        }
        let listing = inspect_dir(&dir).unwrap();
        assert_eq!(listing.checkpoints.len(), 1);
        let info = &listing.checkpoints[0];
        assert_eq!(info.name, "jobs.squares");
        assert_eq!(info.function(), Some("jobs::squares"));
        assert_eq!(info.key(), None);
        assert_eq!(info.index(), Some(20));
        assert_eq!(info.health(), Health::Ok);
        assert_eq!(info.size(), fs::metadata(&path).unwrap().len());
        assert_eq!(info.bindings(), ["results", "total"]);
        let log = info.file(Generation::Log).unwrap();
        assert_eq!(log.format, Format::Log);
        let seqs: Vec<u64> = log.records.iter().map(|record| record.seq).collect();
        assert_eq!(seqs, [1, 2]);
        let header = log::header(&meta("jobs::squares")).len() as u64;
        let records: u64 = log.records.iter().map(|record| record.size).sum();
        assert_eq!(header + records, log.size);
        assert_eq!(
            info.parts_summary(&log.records[1]),
            "results: whole 21 B, total: whole 1 B"
        );
        assert!(listing.set_aside.is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_torn_tail_is_reported_and_the_records_before_it_count() {
        let dir = scratch("torn");
        let mut bytes = log_bytes("job", 3);
        let whole = bytes.len();
        bytes.extend_from_slice(&record(4, 30, 40)[..20]);
        fs::write(dir.join("job.ckpt"), &bytes).unwrap();
        let info = inspect(&dir.join("job.ckpt"));
        assert_eq!(info.index(), Some(30));
        assert_eq!(info.issues, [Issue::TornTail(Generation::Log)]);
        assert_eq!(info.health().to_string(), "torn tail");
        assert_eq!(info.size(), whole as u64 + 20);
        let newest = &info.newest.as_ref().unwrap().1;
        assert_eq!(
            info.parts_summary(newest),
            "results: elements 20..30 (80 B), total: whole 1 B"
        );
        assert!(age(newest.saved_at_ms).ends_with(" s"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_record_that_fails_its_checksum_is_damage() {
        let dir = scratch("damaged");
        let mut bytes = log_bytes("job", 3);
        let last = bytes.len() - 3;
        bytes[last] ^= 0x40;
        fs::write(dir.join("job.ckpt"), &bytes).unwrap();
        // A file that is no checkpoint at all.
        fs::write(dir.join("junk.ckpt"), b"hello, world, not a checkpoint").unwrap();
        let listing = inspect_dir(&dir).unwrap();
        let [job, junk] = &listing.checkpoints[..] else {
            panic!("{listing:?}");
        };
        assert_eq!(job.index(), Some(20));
        assert!(
            job.health()
                .to_string()
                .starts_with("damaged: the record at byte ")
                && job.health().to_string().contains("fails its checksum"),
            "{}",
            job.health()
        );
        assert_eq!(junk.index(), None);
        assert_eq!(junk.label(), None);
        assert!(
            junk.health().to_string().starts_with("damaged: ")
                && junk.health().to_string().contains("RESUMABL"),
            "{}",
            junk.health()
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_version_1_file_is_listed_with_its_label() {
        let dir = scratch("v1");
        crate::api::save(dir.join("bundle.ckpt"), &vec![1.5f64; 10]).unwrap();
        let info = &inspect_dir(&dir).unwrap().checkpoints[0];
        assert_eq!(info.name, "bundle");
        assert_eq!(info.label(), Some("resumable::save"));
        assert_eq!(info.shape(), Some("root: [f64]"));
        assert_eq!(info.index(), Some(0));
        assert_eq!(info.health(), Health::Ok);
        let file = info.file(Generation::Log).unwrap();
        assert_eq!(file.format, Format::Single);
        assert_eq!(file.records[0].size, file.size);
        assert_eq!(info.parts_summary(&file.records[0]), "whole 81 B");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_keyed_label_gives_its_key_and_generations_are_one_row() {
        let dir = scratch("keyed");
        let path = dir.join("sum-00ff00ff00ff00ff.ckpt");
        let label = "sum [key (10, \"a]\")]";
        fs::write(files::with_suffix(&path, ".prev"), log_bytes(label, 1)).unwrap();
        fs::write(&path, log_bytes(label, 2)).unwrap();
        // A `.next` with a newer record: recovery would move it into place.
        let mut next = log::header(&meta(label));
        next.extend_from_slice(&record(3, 0, 30));
        fs::write(files::with_suffix(&path, ".next"), &next).unwrap();
        fs::write(files::with_suffix(&path, ".lock"), b"123").unwrap();
        fs::write(files::with_suffix(&path, ".reset-1700000000000"), b"x").unwrap();
        fs::write(files::with_suffix(&path, ".next.damaged-17"), b"xy").unwrap();
        let listing = inspect_dir(&dir).unwrap();
        assert_eq!(listing.checkpoints.len(), 1, "{listing:?}");
        let info = &listing.checkpoints[0];
        assert_eq!(info.label(), Some(label));
        assert_eq!(info.function(), Some("sum"));
        assert_eq!(info.key(), Some("(10, \"a]\")"));
        assert_eq!(info.index(), Some(30));
        assert_eq!(info.newest.as_ref().unwrap().0, Generation::Next);
        assert_eq!(info.health(), Health::Issues(&[Issue::PendingNext]));
        assert_eq!(info.files.len(), 3);
        let whys: Vec<(&str, Option<u64>, u64)> = listing
            .set_aside
            .iter()
            .map(|aside| (aside.why, aside.at_ms, aside.size))
            .collect();
        assert_eq!(
            whys,
            [
                ("damaged", Some(17), 2),
                ("reset", Some(1_700_000_000_000), 1)
            ]
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reset_moves_every_generation_aside_and_refuses_while_locked() {
        let dir = scratch("reset");
        let path = dir.join("job.ckpt");
        let bytes = log_bytes("job", 2);
        fs::write(&path, &bytes).unwrap();
        fs::write(files::with_suffix(&path, ".prev"), log_bytes("job", 1)).unwrap();
        let held = Lock::acquire(&path).unwrap();
        let err = reset(&path).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err}");
        assert!(path.exists());
        held.remove();
        let moved = reset(&path).unwrap();
        assert_eq!(moved.len(), 2);
        assert!(!exists(&path));
        for (from, to) in &moved {
            assert!(!from.exists() && to.exists());
            let to = to.file_name().unwrap().to_string_lossy().into_owned();
            assert!(to.contains(".reset-"), "{to}");
        }
        assert_eq!(fs::read(&moved[0].1).unwrap(), bytes);
        assert!(!files::with_suffix(&path, ".lock").exists());
        let listing = inspect_dir(&dir).unwrap();
        assert!(listing.checkpoints.is_empty());
        assert_eq!(listing.set_aside.len(), 2);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn names_and_sizes_read_as_words() {
        let dir = Path::new("/d");
        assert_eq!(checkpoint_path(dir, "a::b"), Path::new("/d/a.b.ckpt"));
        assert_eq!(checkpoint_path(dir, "a.ckpt"), Path::new("/d/a.ckpt"));
        assert_eq!(size_text(999), "999 B");
        assert_eq!(size_text(5_800), "5.8 KB");
        assert_eq!(size_text(999_999), "1.0 MB");
        assert_eq!(size_text(3_100_000_000), "3.1 GB");
    }
}
