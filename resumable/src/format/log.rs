//! The format of a `#[resumable]` checkpoint file: a header, then one record per checkpoint,
//! appended. A record carries each state binding whole, or — for a `Vec` or `String` that only
//! grew — just what was appended since the record before, so a run writes O(final size) bytes.
//!
//! ```text
//! header  0      8  magic "RESUMABL"
//!         8      4  format version (u32 LE), 2 for logs (1 is a single-checkpoint file)
//!         12     4  metadata length M (u32 LE), at most 64 KiB
//!         16     M  metadata, postcard: fingerprint, label, shape
//!         16+M   4  CRC-32C (u32 LE) of the header's bytes before it
//! record  0      8  body length L (u64 LE)
//!         8      L  body: postcard `RecordHead` (seq, index, time, next item, parts), then the
//!                   bytes of each part in binding order
//!         8+L    4  CRC-32C (u32 LE) of the record's bytes before it
//! ```
//!
//! Reading stops at the first record that is incomplete or fails its checksum: what a crash
//! or power loss cut short. Everything before it was checked and can be restored.

use std::io;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::format::checksum::{Crc32c, crc32c};
use crate::format::envelope;
use crate::format::source::{self, CHUNK, Source};

pub(crate) const MAGIC: [u8; 8] = *b"RESUMABL";
pub(crate) const LOG_VERSION: u32 = 2;
const MAX_META_LEN: usize = 64 * 1024;
pub(crate) const CHECKSUM_LEN: usize = 4;

/// What a log says about itself once, in its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogMeta {
    /// Hash of `label` and `shape` (see [`envelope::fingerprint`]).
    pub fingerprint: u64,
    /// The checkpoint name.
    pub label: String,
    /// The state's bindings and the structure of their types.
    pub shape: String,
}

/// One checkpoint in a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordHead {
    /// Increases by one per record, across files and runs: the newest record wins.
    pub seq: u64,
    /// Completed iterations.
    pub index: u64,
    /// Wall-clock time of the save, milliseconds since the Unix epoch.
    pub saved_at_ms: u64,
    /// The hash of the loop's next item, when its type is `Hash`.
    pub next_item: Option<u64>,
    /// One per state binding, in order.
    pub parts: Vec<Part>,
}

/// How a record holds one state binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Part {
    /// The value's whole postcard encoding, `len` bytes.
    Whole { len: u64 },
    /// Elements `from..to` of a sequence (bytes of a `String`), each postcard-encoded, `len`
    /// bytes in all; elements `0..from` are in the records before, back to one with `from` 0.
    Extend { from: u64, to: u64, len: u64 },
}

impl Part {
    pub(crate) fn len(&self) -> u64 {
        match *self {
            Part::Whole { len } | Part::Extend { len, .. } => len,
        }
    }
}

/// The header of a new log.
pub(crate) fn header(meta: &LogMeta) -> Vec<u8> {
    let meta_bytes = postcard::to_allocvec(meta).expect("metadata always serializes");
    assert!(
        meta_bytes.len() <= MAX_META_LEN,
        "checkpoint metadata over 64 KiB"
    );
    let mut bytes = Vec::with_capacity(16 + meta_bytes.len() + CHECKSUM_LEN);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&LOG_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(meta_bytes.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&meta_bytes);
    let checksum = crc32c(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    bytes
}

/// Frames a record whose parts' bytes are `data`: writes the length and the head into `head`
/// (cleared first) and appends the checksum to `data`. The record is `head` then `data`.
pub(crate) fn frame_record(record: &RecordHead, head: &mut Vec<u8>, data: &mut Vec<u8>) {
    head.clear();
    head.extend_from_slice(&[0; 8]);
    let head_bytes = postcard::to_allocvec(record).expect("a record head always serializes");
    head.extend_from_slice(&head_bytes);
    let body_len = (head_bytes.len() + data.len()) as u64;
    head[..8].copy_from_slice(&body_len.to_le_bytes());
    let mut crc = Crc32c::new();
    crc.update(head);
    crc.update(data);
    data.extend_from_slice(&crc.finish().to_le_bytes());
}

/// A log read back: its header and the records that passed their checks, in order.
#[derive(Debug)]
pub(crate) struct Scan {
    pub meta: LogMeta,
    /// Where the first record starts (the end of the header).
    pub records_start: u64,
    pub records: Vec<Record>,
    /// What follows the last good record.
    pub tail: Tail,
}

/// One checked record: its head and where its parts' bytes are in the file.
#[derive(Debug)]
pub(crate) struct Record {
    pub head: RecordHead,
    pub data: Range<u64>,
}

impl Record {
    /// Where each part's bytes are in the file.
    pub(crate) fn part_ranges(&self) -> impl Iterator<Item = (Part, Range<u64>)> + '_ {
        let mut at = self.data.start;
        self.head.parts.iter().map(move |&part| {
            let start = at;
            at += part.len();
            (part, start..at)
        })
    }

    /// Where the record ends in the file (after its checksum).
    pub(crate) fn end(&self) -> u64 {
        self.data.end + CHECKSUM_LEN as u64
    }
}

/// What follows a log's last good record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Nothing: the file ends there.
    Clean,
    /// A record cut short, or zeros: what a crash in the middle of an append leaves.
    Torn,
    /// Bytes that are neither: the file was damaged after it was written.
    Damaged(String),
}

/// Why a file is not a readable log.
#[derive(Debug)]
pub(crate) struct NotALog {
    pub problem: String,
    /// The file ends inside its header: a log whose creation a crash cut short.
    pub torn: bool,
}

/// Whether `source` starts like a log (as opposed to a version-1 single checkpoint).
pub(crate) fn is_log<S: Source + ?Sized>(source: &S) -> io::Result<bool> {
    if source.size() < 12 {
        return Ok(false);
    }
    let start = source::read_range(source, 0..12)?;
    Ok(start[..8] == MAGIC && start[8..12] == LOG_VERSION.to_le_bytes())
}

/// Checks the header and every record of a log, reading it in chunks; stops at the first
/// record that fails. The outer error is a read that failed.
pub(crate) fn scan<S: Source + ?Sized>(source: &S) -> io::Result<Result<Scan, NotALog>> {
    let not_a_log = |problem: String, torn: bool| Ok(Err(NotALog { problem, torn }));
    let size = source.size();
    let start = source::read_range(source, 0..size.min(16))?;
    if size < 16 || start[..8] != MAGIC {
        let torn = MAGIC.starts_with(&start) || source::all_zeros(source, 0..size)?;
        return not_a_log(
            "it is not a resumable checkpoint (the first 8 bytes are not \"RESUMABL\")".into(),
            torn,
        );
    }
    let version = u32::from_le_bytes(start[8..12].try_into().unwrap());
    if version != LOG_VERSION {
        return not_a_log(
            format!(
                "it uses checkpoint format version {version}, and this build reads versions 1 \
                 and {LOG_VERSION}"
            ),
            false,
        );
    }
    let meta_len = u32::from_le_bytes(start[12..16].try_into().unwrap()) as usize;
    if meta_len > MAX_META_LEN {
        return not_a_log(
            format!("its header announces {meta_len} bytes of metadata, more than any checkpoint"),
            false,
        );
    }
    let header_end = (16 + meta_len + CHECKSUM_LEN) as u64;
    if size < header_end {
        return not_a_log(
            format!("the file is truncated: {size} bytes long, it ends inside its header"),
            true,
        );
    }
    let header = source::read_range(source, 0..header_end)?;
    let (checked, stored) = header.split_at(header.len() - CHECKSUM_LEN);
    if u32::from_le_bytes(stored.try_into().unwrap()) != crc32c(checked) {
        return not_a_log(
            "its header's checksum does not match its content: the file is damaged".into(),
            false,
        );
    }
    let meta = match postcard::take_from_bytes::<LogMeta>(&checked[16..]) {
        Ok((meta, [])) if meta.fingerprint == envelope::fingerprint(&meta.label, &meta.shape) => {
            meta
        }
        _ => {
            return not_a_log(
                "its header's metadata is inconsistent: the file is damaged".into(),
                false,
            );
        }
    };
    let mut records = Vec::new();
    let mut at = header_end;
    let tail = loop {
        match read_record(source, at)? {
            Ok(Some(record)) => {
                at = record.end();
                records.push(record);
            }
            Ok(None) => break Tail::Clean,
            Err(RecordProblem::CutShort) => break Tail::Torn,
            Err(RecordProblem::Bad(_)) if source::all_zeros(source, at..size)? => break Tail::Torn,
            Err(RecordProblem::Bad(problem)) => {
                break Tail::Damaged(format!("the record at byte {at} of {size} {problem}"));
            }
        }
    };
    Ok(Ok(Scan {
        meta,
        records_start: header_end,
        records,
        tail,
    }))
}

enum RecordProblem {
    CutShort,
    Bad(String),
}

/// The record at `at`; `None` at the end of the file. Its head is decoded from the first
/// chunk of its body, which holds it (a head is a few bytes per state binding).
fn read_record<S: Source + ?Sized>(
    source: &S,
    at: u64,
) -> io::Result<Result<Option<Record>, RecordProblem>> {
    let rest = source.size() - at;
    if rest == 0 {
        return Ok(Ok(None));
    }
    if rest < 8 {
        return Ok(Err(RecordProblem::CutShort));
    }
    let length = source::read_range(source, at..at + 8)?;
    let body_len = u64::from_le_bytes(length[..].try_into().unwrap());
    let record_len = body_len.checked_add((8 + CHECKSUM_LEN) as u64);
    if record_len.is_none_or(|len| len > rest) {
        return Ok(Err(RecordProblem::CutShort));
    }
    let body = at + 8..at + 8 + body_len;
    let first = source::read_range(source, body.start..body.end.min(body.start + CHUNK as u64))?;
    let mut crc = Crc32c::new();
    crc.update(&length);
    crc.update(&first);
    source::checksum(source, body.start + first.len() as u64..body.end, &mut crc)?;
    let stored = source::read_range(source, body.end..body.end + CHECKSUM_LEN as u64)?;
    if u32::from_le_bytes(stored[..].try_into().unwrap()) != crc.finish() {
        return Ok(Err(RecordProblem::Bad(
            "fails its checksum (damaged after it was written)".into(),
        )));
    }
    let (head, after_head) = match postcard::take_from_bytes::<RecordHead>(&first) {
        Ok(decoded) => decoded,
        Err(err) => {
            return Ok(Err(RecordProblem::Bad(format!(
                "has a head that does not decode ({err})"
            ))));
        }
    };
    let data = body.start + (first.len() - after_head.len()) as u64..body.end;
    let parts_len = head
        .parts
        .iter()
        .try_fold(0u64, |sum, part| sum.checked_add(part.len()));
    if parts_len != Some(data.end - data.start) {
        return Ok(Err(RecordProblem::Bad(
            "announces parts longer or shorter than its content".into(),
        )));
    }
    Ok(Ok(Some(Record { head, data })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan of bytes in memory, which always read.
    fn scan(bytes: &[u8]) -> Result<Scan, NotALog> {
        super::scan(bytes).unwrap()
    }

    fn range(range: &Range<u64>) -> Range<usize> {
        range.start as usize..range.end as usize
    }

    fn meta() -> LogMeta {
        LogMeta {
            fingerprint: envelope::fingerprint("demo", "x"),
            label: "demo".into(),
            shape: "x".into(),
        }
    }

    fn record(seq: u64, data: &[u8]) -> Vec<u8> {
        let head = RecordHead {
            seq,
            index: seq * 10,
            saved_at_ms: 1,
            next_item: Some(seq),
            parts: vec![Part::Whole {
                len: data.len() as u64,
            }],
        };
        let (mut framed, mut data) = (Vec::new(), data.to_vec());
        frame_record(&head, &mut framed, &mut data);
        framed.extend_from_slice(&data);
        framed
    }

    fn log(records: u64) -> Vec<u8> {
        let mut bytes = header(&meta());
        for seq in 1..=records {
            bytes.extend_from_slice(&record(seq, &[seq as u8; 5]));
        }
        bytes
    }

    #[test]
    fn round_trips() {
        let bytes = log(3);
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.meta, meta());
        assert_eq!(scan.tail, Tail::Clean);
        let seqs: Vec<u64> = scan.records.iter().map(|r| r.head.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(&bytes[range(&scan.records[2].data)], &[3; 5]);
    }

    #[test]
    fn every_cut_keeps_exactly_the_whole_records_before_it() {
        let bytes = log(3);
        let ends: Vec<usize> = (0..=3).map(|n| log(n).len()).collect();
        for len in ends[0]..bytes.len() {
            let scan = scan(&bytes[..len]).unwrap();
            let whole = ends.iter().filter(|&&end| end <= len).count() - 1;
            assert_eq!(scan.records.len(), whole, "cut at {len}");
            let expected = if ends.contains(&len) {
                Tail::Clean
            } else {
                Tail::Torn
            };
            assert_eq!(scan.tail, expected, "cut at {len}");
        }
        for len in 0..ends[0] {
            assert!(scan(&bytes[..len]).is_err(), "header cut at {len}");
        }
    }

    #[test]
    fn every_bit_flip_loses_at_most_the_records_from_the_flip_on() {
        let bytes = log(3);
        let ends: Vec<usize> = (0..=3).map(|n| log(n).len()).collect();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let Ok(scan) = scan(&flipped) else {
                assert!(bit / 8 < ends[0], "a flip in a record broke the header");
                continue;
            };
            let intact = ends.iter().filter(|&&end| end <= bit / 8).count() - 1;
            assert_eq!(scan.records.len(), intact, "flip of bit {bit}");
            for (record, seq) in scan.records.iter().zip(1..) {
                assert_eq!(&flipped[range(&record.data)], &[seq as u8; 5]);
            }
            assert_ne!(scan.tail, Tail::Clean, "flip of bit {bit} went unnoticed");
        }
    }

    #[test]
    fn zeros_after_the_last_record_are_a_torn_tail_and_garbage_is_damage() {
        let mut bytes = log(2);
        bytes.extend_from_slice(&[0; 40]);
        assert_eq!(scan(&bytes).unwrap().tail, Tail::Torn);
        let mut bytes = log(2);
        let mut garbage = record(3, b"abcde");
        garbage[12] ^= 0xff;
        bytes.extend_from_slice(&garbage);
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.records.len(), 2);
        assert!(matches!(scan.tail, Tail::Damaged(_)), "{:?}", scan.tail);
    }
}
