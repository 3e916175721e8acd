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

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::format::checksum::{Crc32c, crc32c};
use crate::format::envelope;

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
    pub records: Vec<Record>,
    /// What follows the last good record.
    pub tail: Tail,
}

/// One checked record: its head and where its parts' bytes are in the file.
#[derive(Debug)]
pub(crate) struct Record {
    pub head: RecordHead,
    pub data: Range<usize>,
}

impl Record {
    /// Where each part's bytes are in the file.
    pub(crate) fn part_ranges(&self) -> impl Iterator<Item = (Part, Range<usize>)> + '_ {
        let mut at = self.data.start;
        self.head.parts.iter().map(move |&part| {
            let start = at;
            at += part.len() as usize;
            (part, start..at)
        })
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

/// Where the first record of the log `bytes` (whose header was checked) starts.
pub(crate) fn records_start(bytes: &[u8]) -> usize {
    let meta_len = u32::from_le_bytes(bytes[12..16].try_into().expect("a checked header"));
    16 + meta_len as usize + CHECKSUM_LEN
}

/// Whether `bytes` start like a log (as opposed to a version-1 single checkpoint).
pub(crate) fn is_log(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && bytes[..8] == MAGIC && bytes[8..12] == LOG_VERSION.to_le_bytes()
}

/// Checks the header and every record of a log; stops at the first record that fails.
pub(crate) fn scan(bytes: &[u8]) -> Result<Scan, NotALog> {
    let not_a_log = |problem: String, torn: bool| NotALog { problem, torn };
    let size = bytes.len();
    if size < 16 || bytes[..8] != MAGIC {
        let torn = bytes.iter().all(|&b| b == 0) || MAGIC.starts_with(bytes);
        return Err(not_a_log(
            "it is not a resumable checkpoint (the first 8 bytes are not \"RESUMABL\")".into(),
            torn,
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    if version != LOG_VERSION {
        return Err(not_a_log(
            format!(
                "it uses checkpoint format version {version}, and this build reads versions 1 \
                 and {LOG_VERSION}"
            ),
            false,
        ));
    }
    let meta_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    if meta_len > MAX_META_LEN {
        return Err(not_a_log(
            format!("its header announces {meta_len} bytes of metadata, more than any checkpoint"),
            false,
        ));
    }
    let header_end = 16 + meta_len + CHECKSUM_LEN;
    if size < header_end {
        return Err(not_a_log(
            format!("the file is truncated: {size} bytes long, it ends inside its header"),
            true,
        ));
    }
    let stored = u32::from_le_bytes(bytes[header_end - 4..header_end].try_into().unwrap());
    if stored != crc32c(&bytes[..header_end - 4]) {
        return Err(not_a_log(
            "its header's checksum does not match its content: the file is damaged".into(),
            false,
        ));
    }
    let meta = match postcard::take_from_bytes::<LogMeta>(&bytes[16..16 + meta_len]) {
        Ok((meta, [])) if meta.fingerprint == envelope::fingerprint(&meta.label, &meta.shape) => {
            meta
        }
        _ => {
            return Err(not_a_log(
                "its header's metadata is inconsistent: the file is damaged".into(),
                false,
            ));
        }
    };
    let mut records = Vec::new();
    let mut at = header_end;
    let tail = loop {
        match read_record(bytes, at) {
            Ok(Some((record, end))) => {
                records.push(record);
                at = end;
            }
            Ok(None) => break Tail::Clean,
            Err(problem) => {
                let rest = &bytes[at..];
                break match problem {
                    _ if rest.iter().all(|&b| b == 0) => Tail::Torn,
                    RecordProblem::CutShort => Tail::Torn,
                    RecordProblem::Bad(problem) => {
                        Tail::Damaged(format!("the record at byte {at} of {size} {problem}"))
                    }
                };
            }
        }
    };
    Ok(Scan {
        meta,
        records,
        tail,
    })
}

enum RecordProblem {
    CutShort,
    Bad(String),
}

/// The record at `at` and where it ends; `None` at the end of the file.
fn read_record(bytes: &[u8], at: usize) -> Result<Option<(Record, usize)>, RecordProblem> {
    let rest = &bytes[at..];
    if rest.is_empty() {
        return Ok(None);
    }
    if rest.len() < 8 {
        return Err(RecordProblem::CutShort);
    }
    let body_len = u64::from_le_bytes(rest[..8].try_into().unwrap());
    let record_len = body_len.checked_add((8 + CHECKSUM_LEN) as u64);
    if record_len.is_none_or(|len| len > rest.len() as u64) {
        return Err(RecordProblem::CutShort);
    }
    let body_end = 8 + body_len as usize;
    let stored = u32::from_le_bytes(rest[body_end..body_end + 4].try_into().unwrap());
    if stored != crc32c(&rest[..body_end]) {
        return Err(RecordProblem::Bad(
            "fails its checksum (damaged after it was written)".into(),
        ));
    }
    let (head, data) = postcard::take_from_bytes::<RecordHead>(&rest[8..body_end])
        .map_err(|err| RecordProblem::Bad(format!("has a head that does not decode ({err})")))?;
    let parts_len = head
        .parts
        .iter()
        .try_fold(0u64, |sum, part| sum.checked_add(part.len()));
    if parts_len != Some(data.len() as u64) {
        return Err(RecordProblem::Bad(
            "announces parts longer or shorter than its content".into(),
        ));
    }
    let data_start = at + body_end - data.len();
    Ok(Some((
        Record {
            head,
            data: data_start..at + body_end,
        },
        at + body_end + CHECKSUM_LEN,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(&bytes[scan.records[2].data.clone()], &[3; 5]);
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
                assert_eq!(&flipped[record.data.clone()], &[seq as u8; 5]);
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
