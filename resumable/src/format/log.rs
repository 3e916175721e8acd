//! The format of a `#[resumable]` checkpoint file: a header, then one record per checkpoint,
//! appended. A record carries each state binding whole, or — for a `Vec` or `String` that only
//! grew — just what was appended since the record before, so a run writes O(final size) bytes.
//!
//! Version 3 (what this build writes) frames a record as data frames followed by its head, so
//! a big record is written as it is serialized, a frame at a time, without a copy of it in
//! memory; version 2 (an older build's, still read; a run that resumes from one writes its next
//! record to a new version-3 file) puts the head first:
//!
//! ```text
//! header  0      8  magic "RESUMABL"
//!         8      4  format version (u32 LE): 3 (framed) or 2; 1 is a single-checkpoint file
//!         12     4  metadata length M (u32 LE), at most 64 KiB
//!         16     M  metadata, postcard: fingerprint, label, shape
//!         16+M   4  CRC-32C (u32 LE) of the header's bytes before it
//!
//! version 3: frames, each
//!         0      8  body length L (u64 LE)
//!         8      1  kind: 0 data, 1 head, 2 abort
//!         9      L-1  data: the next bytes of the record being written (its parts' bytes, in
//!                   binding order, across as many data frames as it takes);
//!                   head: postcard `RecordHead`, which ends the record: its parts take exactly
//!                   the data since the record before; then the fingerprint of the code that
//!                   saved it, u64 LE (see `Record::code`), and if its state holds
//!                   `io::Output`s, postcard `Vec<(path bytes, length)>` (`Record::outputs`);
//!                   abort: nothing (the data since the record before belongs to no record: a
//!                   save that failed half-way)
//!         8+L    4  CRC-32C (u32 LE) of the frame's bytes before it
//!
//! version 2: records, each
//!         0      8  body length L (u64 LE)
//!         8      L  body: postcard `RecordHead` (seq, index, time, next item, parts), then the
//!                   bytes of each part in binding order
//!         8+L    4  CRC-32C (u32 LE) of the record's bytes before it
//! ```
//!
//! Reading stops at the first frame or record that is incomplete or fails its checksum.
//! Everything before it was checked and can be restored. What stopped it is a crash's torn
//! tail (data frames with no head after them, a frame that runs past the end of the file,
//! zeros) only if nothing well-formed follows it: a crash cuts only a log's end, and a run
//! truncates a log to its newest good record before it appends, so a frame whose checksum
//! holds after the bad one means the bad one was damaged after it was written (see
//! [`frame_after`]).

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::format::checksum::{Crc32c, crc32c};
use crate::format::hash;
use crate::format::source::{self, CHUNK, Source};

pub(crate) const MAGIC: [u8; 8] = *b"RESUMABL";
/// Version 2: a record's head before its data.
pub(crate) const LOG_VERSION: u32 = 2;
/// Version 3: a record's data in frames, then its head.
pub(crate) const FRAMED_VERSION: u32 = 3;
const FRAME_DATA: u8 = 0;
const FRAME_HEAD: u8 = 1;
const FRAME_ABORT: u8 = 2;
/// Bytes before a frame's content: its length and kind.
pub(crate) const FRAME_PREFIX_LEN: usize = 9;
const MAX_META_LEN: usize = 64 * 1024;
pub(crate) const CHECKSUM_LEN: usize = 4;

/// What a log says about itself once, in its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogMeta {
    /// Hash of `label` and `shape` (see [`fingerprint`](crate::format::hash::fingerprint)).
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

/// The header of a new version-2 log (a record's head before its data), as older builds wrote.
#[cfg(test)]
pub(crate) fn header(meta: &LogMeta) -> Vec<u8> {
    header_of_version(meta, LOG_VERSION)
}

/// The header of a new version-3 log (framed records).
pub(crate) fn framed_header(meta: &LogMeta) -> Vec<u8> {
    header_of_version(meta, FRAMED_VERSION)
}

fn header_of_version(meta: &LogMeta, version: u32) -> Vec<u8> {
    let meta_bytes = postcard::to_allocvec(meta).expect("metadata always serializes");
    assert!(
        meta_bytes.len() <= MAX_META_LEN,
        "checkpoint metadata over 64 KiB"
    );
    let mut bytes = Vec::with_capacity(16 + meta_bytes.len() + CHECKSUM_LEN);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&(meta_bytes.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&meta_bytes);
    let checksum = crc32c(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    bytes
}

/// Frames a version-2 record whose parts' bytes are `data`, as older builds wrote: writes the
/// length and the head into `head` (cleared first) and appends the checksum to `data`. The
/// record is `head` then `data`. Tests only: this build writes version 3.
#[cfg(test)]
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

/// The bytes before a version-3 data frame of `len` bytes, and the CRC to put after them.
pub(crate) fn data_frame(data: &[u8]) -> ([u8; FRAME_PREFIX_LEN], [u8; CHECKSUM_LEN]) {
    frame_around(FRAME_DATA, data)
}

/// A version-3 abort frame, whole.
pub(crate) fn abort_frame() -> Vec<u8> {
    let (prefix, crc) = frame_around(FRAME_ABORT, &[]);
    [&prefix[..], &crc[..]].concat()
}

/// Appends to `out` the version-3 head frame that ends a record, with the fingerprint of the
/// code that saved it after the head if there is one (see [`Record::code`]), and after that
/// the output files its state holds and their lengths (see [`Record::outputs`]; a run always
/// has a code: a head without one has no room for them).
pub(crate) fn push_head_frame(
    record: &RecordHead,
    code: Option<u64>,
    outputs: &[(&Path, u64)],
    out: &mut Vec<u8>,
) {
    let mut head = postcard::to_allocvec(record).expect("a record head always serializes");
    if let Some(code) = code {
        head.extend_from_slice(&code.to_le_bytes());
        if !outputs.is_empty() {
            let outputs: Vec<(Vec<u8>, u64)> = outputs
                .iter()
                .map(|(path, len)| (path_bytes(path), *len))
                .collect();
            head = postcard::to_extend(&outputs, head).expect("a list of lengths serializes");
        }
    }
    let (prefix, crc) = frame_around(FRAME_HEAD, &head);
    out.extend_from_slice(&prefix);
    out.extend_from_slice(&head);
    out.extend_from_slice(&crc);
}

fn frame_around(kind: u8, content: &[u8]) -> ([u8; FRAME_PREFIX_LEN], [u8; CHECKSUM_LEN]) {
    let mut prefix = [0; FRAME_PREFIX_LEN];
    prefix[..8].copy_from_slice(&(content.len() as u64 + 1).to_le_bytes());
    prefix[8] = kind;
    let mut crc = Crc32c::new();
    crc.update(&prefix);
    crc.update(content);
    (prefix, crc.finish().to_le_bytes())
}

/// A log read back: its header and the records that passed their checks, in order.
#[derive(Debug)]
pub(crate) struct Scan {
    /// The format version, 2 or 3.
    pub version: u32,
    pub meta: LogMeta,
    /// Where the first record starts (the end of the header).
    pub records_start: u64,
    pub records: Vec<Record>,
    /// What follows the last good record.
    pub tail: Tail,
    /// With [`Tail::Damaged`]: the newest index among the records whose heads are still
    /// readable after the damage, which a run that falls back loses.
    pub lost_to: Option<u64>,
}

/// One checked record: its head and where its parts' bytes are in the file.
#[derive(Debug)]
pub(crate) struct Record {
    pub head: RecordHead,
    /// Where the parts' bytes are, one after another (one range in a version-2 log, one per
    /// data frame in version 3).
    pub data: Vec<Range<u64>>,
    /// Where the record ends in the file (after its last checksum).
    pub end: u64,
    /// The fingerprint of the code of the function that saved it: 8 bytes (u64 LE) after the
    /// head in its head frame, which builds before it did not write and do not read (they
    /// decode the head and leave the rest). `None` in a version-2 log and from those builds.
    pub code: Option<u64>,
    /// The `io::Output` files the record's state holds, each with the length it saved of it:
    /// after the code in its head frame (builds before it read no further than the code).
    pub outputs: Vec<(PathBuf, u64)>,
}

impl Record {
    /// Where each part's bytes are in the file: the ranges that hold them, in order.
    pub(crate) fn part_ranges(&self) -> Vec<(Part, Vec<Range<u64>>)> {
        let mut ranges = self.data.iter().cloned();
        let mut current = ranges.next().unwrap_or(0..0);
        self.head
            .parts
            .iter()
            .map(|&part| {
                let mut left = part.len();
                let mut pieces = Vec::new();
                while left > 0 {
                    if current.is_empty() {
                        current = ranges.next().expect("parts checked against the data");
                        continue;
                    }
                    let take = left.min(current.end - current.start);
                    pieces.push(current.start..current.start + take);
                    current.start += take;
                    left -= take;
                }
                (part, pieces)
            })
            .collect()
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
    let version = u32::from_le_bytes(start[8..12].try_into().unwrap());
    Ok(start[..8] == MAGIC && matches!(version, LOG_VERSION | FRAMED_VERSION))
}

/// A log's header, checked: its metadata, its format version and where its records start.
fn read_header<S: Source + ?Sized>(source: &S) -> io::Result<Result<(LogMeta, u32, u64), NotALog>> {
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
    if !matches!(version, LOG_VERSION | FRAMED_VERSION) {
        return not_a_log(
            format!(
                "it uses checkpoint format version {version}, and this build reads versions 1 \
                 to {FRAMED_VERSION}"
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
        Ok((meta, [])) if meta.fingerprint == hash::fingerprint(&meta.label, &meta.shape) => meta,
        _ => {
            return not_a_log(
                "its header's metadata is inconsistent: the file is damaged".into(),
                false,
            );
        }
    };
    Ok(Ok((meta, version, header_end)))
}

/// The label in a log's header, if the header is intact (records unread): for messages.
pub(crate) fn label_of<S: Source + ?Sized>(source: &S) -> Option<String> {
    let (meta, _, _) = read_header(source).ok()?.ok()?;
    Some(meta.label)
}

/// Checks the header and every record of a log, reading it in chunks; stops at the first
/// record that fails. The outer error is a read that failed.
pub(crate) fn scan<S: Source + ?Sized>(source: &S) -> io::Result<Result<Scan, NotALog>> {
    let (meta, version, header_end) = match read_header(source)? {
        Ok(header) => header,
        Err(not_a_log) => return Ok(Err(not_a_log)),
    };
    let size = source.size();
    let mut records = Vec::new();
    let mut at = header_end;
    // Version 3: the data frames since the last record, and how many bytes they hold.
    let mut pending: Vec<Range<u64>> = Vec::new();
    let problem = loop {
        let read = match version {
            LOG_VERSION => read_record(source, at)?,
            _ => read_framed(source, at, &mut pending)?,
        };
        match read {
            Ok(Some(Read::Record(record))) => {
                at = record.end;
                records.push(record);
            }
            Ok(Some(Read::Frame(end))) => at = end,
            // Data frames with no head after them: a record a crash cut short.
            Ok(None) if !pending.is_empty() => break Some(RecordProblem::CutShort),
            Ok(None) => break None,
            Err(problem) => break Some(problem),
        }
    };
    let (tail, lost_to) = match problem {
        None => (Tail::Clean, None),
        Some(problem) => match frame_after(source, version, at)? {
            // Nothing well-formed after it: the end of the log, which a crash may cut.
            None => match problem {
                RecordProblem::CutShort => (Tail::Torn, None),
                RecordProblem::Bad(_) if source::all_zeros(source, at..size)? => (Tail::Torn, None),
                RecordProblem::Bad(problem) => (
                    Tail::Damaged(format!("the record at byte {at} of {size} {problem}")),
                    None,
                ),
            },
            Some(next) => {
                let problem = match problem {
                    // Frames follow: not the end of the file, so its length ran past it.
                    RecordProblem::CutShort => {
                        "announces a length that runs past the end of the file".to_owned()
                    }
                    RecordProblem::Bad(problem) => problem,
                };
                let lost_to = newest_index_from(source, version, next)?;
                let reach = match lost_to {
                    Some(index) => format!(", up to index {index}"),
                    None => String::new(),
                };
                let tail = Tail::Damaged(format!(
                    "the record at byte {at} of {size} {problem}, and well-formed records \
                     follow it from byte {next}{reach}: the log was damaged in the middle \
                     after it was written, not cut by a crash"
                ));
                (tail, lost_to)
            }
        },
    };
    Ok(Ok(Scan {
        version,
        meta,
        records_start: header_end,
        records,
        tail,
        lost_to,
    }))
}

/// The smallest frame there is: a length, a one-byte body (a version-3 frame's kind; a
/// version-2 record's head is longer) and a checksum.
const MIN_FRAME_LEN: u64 = 8 + 1 + CHECKSUM_LEN as u64;

/// Where the first well-formed frame (a version-2 record) after the bad one at `at` starts, if
/// one does: at any byte after `at`, a length that fits in the file, a known kind (version
/// 3), and a checksum that holds over them. After a crash there is none: a crash cuts a
/// log's end, and a run truncates a log to its newest good record before it appends (nothing
/// is appended after a write that failed part-way either: the next record starts a new file).
/// A frame whose length field was damaged runs past the end of the file as a cut-short one
/// does; the frames after it tell the two apart.
///
/// The lengths are read in chunks; a checksum is computed only where a length fits. A body
/// full of small little-endian integers could make many fit: the bytes checksummed are
/// bounded (16 times the bytes after `at`, and 4 chunks), and past that the bad frame is
/// taken for the end of the log, as it was before this search.
fn frame_after<S: Source + ?Sized>(source: &S, version: u32, at: u64) -> io::Result<Option<u64>> {
    let size = source.size();
    let mut budget = (size - at)
        .saturating_mul(16)
        .saturating_add(4 * CHUNK as u64);
    let mut start = at + 1;
    while start + MIN_FRAME_LEN <= size {
        let end = (start + (CHUNK + FRAME_PREFIX_LEN) as u64).min(size);
        let window = source::read_range(source, start..end)?;
        // Each offset with its length and kind in this window; the last few are read again
        // at the start of the next.
        let offsets = window.len() - FRAME_PREFIX_LEN + 1;
        for i in 0..offsets {
            let offset = start + i as u64;
            let length = u64::from_le_bytes(window[i..i + 8].try_into().unwrap());
            let room = (size - offset).saturating_sub((8 + CHECKSUM_LEN) as u64);
            let fits = length >= 1
                && length <= room
                && (version != FRAMED_VERSION
                    || matches!(window[i + 8], FRAME_DATA | FRAME_HEAD | FRAME_ABORT));
            if !fits {
                continue;
            }
            let Some(left) = budget.checked_sub(length) else {
                return Ok(None);
            };
            budget = left;
            if let Ok(Some(_)) = read_frame(source, offset)? {
                return Ok(Some(offset));
            }
        }
        if end == size {
            break;
        }
        start += offsets as u64;
    }
    Ok(None)
}

/// The newest index among the record heads that read, frame after frame, from `at` (a frame
/// [`frame_after`] found) to the end of the log or the next bad frame.
fn newest_index_from<S: Source + ?Sized>(
    source: &S,
    version: u32,
    mut at: u64,
) -> io::Result<Option<u64>> {
    let mut newest = None;
    while let Ok(Some(frame)) = read_frame(source, at)? {
        let head = match (version, frame.first.split_first()) {
            (LOG_VERSION, _) => Some(&frame.first[..]),
            (_, Some((&FRAME_HEAD, head))) => Some(head),
            _ => None,
        };
        if let Some(Ok((head, _))) = head.map(decode_head) {
            newest = newest.max(Some(head.index));
        }
        at = frame.end;
    }
    Ok(newest)
}

enum RecordProblem {
    CutShort,
    Bad(String),
}

/// What one step of a scan read.
enum Read {
    /// A whole record.
    Record(Record),
    /// A version-3 data or abort frame, ending here.
    Frame(u64),
}

/// A frame whose length and checksum were checked: `[u64 LE length][body][CRC-32C]`, the shape
/// of a version-2 record and of a version-3 frame alike.
struct Frame {
    /// The first [`CHUNK`] bytes of the body (all of it, if shorter), read once for the
    /// checksum and kept for what the body starts with: a head, or a frame's kind.
    first: Vec<u8>,
    body: Range<u64>,
    /// Where the frame ends (after its checksum).
    end: u64,
}

/// The frame at `at`, its checksum checked through a bounded buffer; `None` at the end of the
/// file.
fn read_frame<S: Source + ?Sized>(
    source: &S,
    at: u64,
) -> io::Result<Result<Option<Frame>, RecordProblem>> {
    let rest = source.size() - at;
    if rest == 0 {
        return Ok(Ok(None));
    }
    if rest < 8 {
        return Ok(Err(RecordProblem::CutShort));
    }
    let length = source::read_range(source, at..at + 8)?;
    let body_len = u64::from_le_bytes(length[..].try_into().unwrap());
    let frame_len = body_len.checked_add((8 + CHECKSUM_LEN) as u64);
    if frame_len.is_none_or(|len| len > rest) {
        return Ok(Err(RecordProblem::CutShort));
    }
    let body = at + 8..at + 8 + body_len;
    let first = source::read_range(source, body.start..body.end.min(body.start + CHUNK as u64))?;
    let mut crc = Crc32c::new();
    crc.update(&length);
    crc.update(&first);
    source::checksum(source, body.start + first.len() as u64..body.end, &mut crc)?;
    let end = body.end + CHECKSUM_LEN as u64;
    let stored = source::read_range(source, body.end..end)?;
    if u32::from_le_bytes(stored[..].try_into().unwrap()) != crc.finish() {
        return Ok(Err(RecordProblem::Bad(
            "fails its checksum (damaged after it was written)".into(),
        )));
    }
    Ok(Ok(Some(Frame { first, body, end })))
}

/// The output files after a head's code; none if there are none, or if they do not decode
/// (the frame's checksum held: a later build's addition, which this one cannot use).
fn decode_outputs(bytes: &[u8]) -> Vec<(PathBuf, u64)> {
    if bytes.is_empty() {
        return Vec::new();
    }
    postcard::from_bytes::<Vec<(Vec<u8>, u64)>>(bytes)
        .map(|outputs| {
            outputs
                .into_iter()
                .map(|(path, len)| (path_from_bytes(path), len))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    String::from_utf8_lossy(&bytes).into_owned().into()
}

/// A record's head decoded from the start of `bytes`, and what follows it.
fn decode_head(bytes: &[u8]) -> Result<(RecordHead, &[u8]), RecordProblem> {
    postcard::take_from_bytes::<RecordHead>(bytes)
        .map_err(|err| RecordProblem::Bad(format!("has a head that does not decode ({err})")))
}

/// Checks that `head`'s parts take exactly the `data_len` bytes of its record's data.
fn parts_fit(head: &RecordHead, data_len: u64) -> Result<(), RecordProblem> {
    let parts_len = head
        .parts
        .iter()
        .try_fold(0u64, |sum, part| sum.checked_add(part.len()));
    if parts_len != Some(data_len) {
        return Err(RecordProblem::Bad(
            "announces parts longer or shorter than its content".into(),
        ));
    }
    Ok(())
}

/// The version-3 frame at `at`: a data or abort frame updates `pending` (the data since the
/// last record); a head frame ends a record, whose parts must take exactly that data.
fn read_framed<S: Source + ?Sized>(
    source: &S,
    at: u64,
    pending: &mut Vec<Range<u64>>,
) -> io::Result<Result<Option<Read>, RecordProblem>> {
    let frame = match read_frame(source, at)? {
        Ok(Some(frame)) => frame,
        Ok(None) => return Ok(Ok(None)),
        Err(problem) => return Ok(Err(problem)),
    };
    let Some((&kind, head_bytes)) = frame.first.split_first() else {
        return Ok(Err(RecordProblem::CutShort));
    };
    let content = frame.body.start + 1..frame.body.end;
    let read = match kind {
        FRAME_DATA => {
            pending.push(content);
            Read::Frame(frame.end)
        }
        FRAME_ABORT => {
            pending.clear();
            Read::Frame(frame.end)
        }
        FRAME_HEAD if frame.body.end - frame.body.start > CHUNK as u64 => {
            return Ok(Err(RecordProblem::Bad(
                "has a head longer than any record's".into(),
            )));
        }
        FRAME_HEAD => {
            let (head, code, outputs) = match decode_head(head_bytes) {
                Ok((head, [a, b, c, d, e, f, g, h, outputs @ ..])) => (
                    head,
                    Some(u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h])),
                    decode_outputs(outputs),
                ),
                Ok((head, _)) => (head, None, Vec::new()),
                Err(problem) => return Ok(Err(problem)),
            };
            let data_len = pending.iter().map(|range| range.end - range.start).sum();
            if let Err(problem) = parts_fit(&head, data_len) {
                return Ok(Err(problem));
            }
            let data = std::mem::take(pending);
            Read::Record(Record {
                head,
                data,
                end: frame.end,
                code,
                outputs,
            })
        }
        kind => {
            return Ok(Err(RecordProblem::Bad(format!(
                "is a frame of unknown kind {kind}"
            ))));
        }
    };
    Ok(Ok(Some(read)))
}

/// The version-2 record at `at`; `None` at the end of the file. Its head is decoded from the
/// first chunk of its body, which holds it (a head is a few bytes per state binding).
fn read_record<S: Source + ?Sized>(
    source: &S,
    at: u64,
) -> io::Result<Result<Option<Read>, RecordProblem>> {
    let frame = match read_frame(source, at)? {
        Ok(Some(frame)) => frame,
        Ok(None) => return Ok(Ok(None)),
        Err(problem) => return Ok(Err(problem)),
    };
    let (head, after_head) = match decode_head(&frame.first) {
        Ok(decoded) => decoded,
        Err(problem) => return Ok(Err(problem)),
    };
    let data = frame.body.start + (frame.first.len() - after_head.len()) as u64..frame.body.end;
    if let Err(problem) = parts_fit(&head, data.end - data.start) {
        return Ok(Err(problem));
    }
    Ok(Ok(Some(Read::Record(Record {
        head,
        data: vec![data],
        end: frame.end,
        code: None,
        outputs: Vec::new(),
    }))))
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
            fingerprint: hash::fingerprint("demo", "x"),
            label: "demo".into(),
            shape: "x".into(),
        }
    }

    fn head(seq: u64, len: usize) -> RecordHead {
        RecordHead {
            seq,
            index: seq * 10,
            saved_at_ms: 1,
            next_item: Some(seq),
            parts: vec![Part::Whole { len: len as u64 }],
        }
    }

    fn record(seq: u64, data: &[u8]) -> Vec<u8> {
        let (mut framed, mut data) = (Vec::new(), data.to_vec());
        frame_record(&head(seq, data.len()), &mut framed, &mut data);
        framed.extend_from_slice(&data);
        framed
    }

    fn data_frame_bytes(data: &[u8]) -> Vec<u8> {
        let (prefix, crc) = data_frame(data);
        [&prefix[..], data, &crc[..]].concat()
    }

    /// A version-3 record: its data in two frames, then its head.
    fn framed_record(seq: u64, data: &[u8]) -> Vec<u8> {
        let mut bytes = data_frame_bytes(&data[..2]);
        bytes.extend_from_slice(&data_frame_bytes(&data[2..]));
        push_head_frame(&head(seq, data.len()), None, &[], &mut bytes);
        bytes
    }

    /// A log of `records` records of 5 bytes each, in version 2 or 3 (where a save abandoned
    /// half-way, a data frame and an abort frame, precedes the second record). Also where each
    /// record ends (the header's end first) and every length at which the log ends cleanly.
    fn log_of(version: u32, records: u64) -> (Vec<u8>, Vec<usize>, Vec<usize>) {
        let mut bytes = header_of_version(&meta(), version);
        let mut ends = vec![bytes.len()];
        let mut clean = vec![bytes.len()];
        for seq in 1..=records {
            let data = [seq as u8; 5];
            if version == LOG_VERSION {
                bytes.extend_from_slice(&record(seq, &data));
            } else {
                if seq == 2 {
                    bytes.extend_from_slice(&data_frame_bytes(b"junk"));
                    bytes.extend_from_slice(&abort_frame());
                    clean.push(bytes.len());
                }
                bytes.extend_from_slice(&framed_record(seq, &data));
            }
            ends.push(bytes.len());
            clean.push(bytes.len());
        }
        (bytes, ends, clean)
    }

    fn log(records: u64) -> Vec<u8> {
        log_of(LOG_VERSION, records).0
    }

    const VERSIONS: [u32; 2] = [LOG_VERSION, FRAMED_VERSION];

    /// The code's fingerprint after a head: read back by this build; a build before it, which
    /// decodes the head and leaves the rest, reads the same head; and a head without it (from
    /// such a build) reads as `None`.
    #[test]
    fn a_heads_code_fingerprint_is_read_and_an_older_reader_skips_it() {
        let mut bytes = header_of_version(&meta(), FRAMED_VERSION);
        for (seq, code) in [(1, None), (2, Some(0xfeed_beef_u64))] {
            bytes.extend_from_slice(&data_frame_bytes(&[seq as u8; 5]));
            push_head_frame(&head(seq, 5), code, &[], &mut bytes);
        }
        let scan = scan(&bytes).ok().unwrap();
        let codes: Vec<Option<u64>> = scan.records.iter().map(|record| record.code).collect();
        assert_eq!(codes, [None, Some(0xfeed_beef)]);
        assert_eq!(scan.records[1].head, head(2, 5));
        let mut with_code = Vec::new();
        push_head_frame(&head(2, 5), Some(7), &[], &mut with_code);
        let content = &with_code[FRAME_PREFIX_LEN..with_code.len() - CHECKSUM_LEN];
        let (old_reading, _) = decode_head(content).ok().unwrap();
        assert_eq!(old_reading, head(2, 5));
    }

    /// The output files and lengths after the code: read back with the code; a reader that
    /// stops at the head (a build before the code) reads the same head.
    #[test]
    fn a_heads_output_lengths_are_read_back_after_its_code() {
        let outputs = [(Path::new("/data/out.txt"), 4096), (Path::new("rel/b"), 0)];
        let mut bytes = header_of_version(&meta(), FRAMED_VERSION);
        bytes.extend_from_slice(&data_frame_bytes(&[1; 5]));
        push_head_frame(&head(1, 5), Some(9), &outputs, &mut bytes);
        let scan = scan(&bytes).ok().unwrap();
        let record = &scan.records[0];
        assert_eq!(record.code, Some(9));
        let read: Vec<(&Path, u64)> = record
            .outputs
            .iter()
            .map(|(path, len)| (path.as_path(), *len))
            .collect();
        assert_eq!(read, outputs);
        assert_eq!(record.head, head(1, 5));
    }

    /// The bytes of a record's parts, joined.
    fn data_of(bytes: &[u8], record: &Record) -> Vec<u8> {
        record
            .data
            .iter()
            .flat_map(|piece| bytes[range(piece)].to_vec())
            .collect()
    }

    #[test]
    fn round_trips() {
        for version in VERSIONS {
            let (bytes, ends, _) = log_of(version, 3);
            let scan = scan(&bytes).unwrap();
            assert_eq!(scan.meta, meta());
            assert_eq!(scan.tail, Tail::Clean);
            let seqs: Vec<u64> = scan.records.iter().map(|r| r.head.seq).collect();
            assert_eq!(seqs, [1, 2, 3]);
            assert_eq!(data_of(&bytes, &scan.records[2]), [3; 5]);
            let record_ends: Vec<usize> = scan.records.iter().map(|r| r.end as usize).collect();
            assert_eq!(record_ends, ends[1..]);
            let parts = scan.records[2].part_ranges();
            let joined: Vec<u8> = parts[0]
                .1
                .iter()
                .flat_map(|r| bytes[range(r)].to_vec())
                .collect();
            assert_eq!(joined, [3; 5], "version {version}");
        }
    }

    #[test]
    fn every_cut_keeps_exactly_the_whole_records_before_it() {
        for version in VERSIONS {
            let (bytes, ends, clean) = log_of(version, 3);
            for len in ends[0]..bytes.len() {
                let scan = scan(&bytes[..len]).unwrap();
                let whole = ends.iter().filter(|&&end| end <= len).count() - 1;
                assert_eq!(scan.records.len(), whole, "version {version}, cut at {len}");
                let expected = if clean.contains(&len) {
                    Tail::Clean
                } else {
                    Tail::Torn
                };
                assert_eq!(scan.tail, expected, "version {version}, cut at {len}");
            }
            for len in 0..ends[0] {
                assert!(scan(&bytes[..len]).is_err(), "header cut at {len}");
            }
        }
    }

    #[test]
    fn every_bit_flip_loses_at_most_the_records_from_the_flip_on() {
        for version in VERSIONS {
            let (bytes, ends, _) = log_of(version, 3);
            for bit in 0..bytes.len() * 8 {
                let mut flipped = bytes.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                let Ok(scan) = scan(&flipped) else {
                    assert!(bit / 8 < ends[0], "a flip in a record broke the header");
                    continue;
                };
                let intact = ends.iter().filter(|&&end| end <= bit / 8).count() - 1;
                assert_eq!(
                    scan.records.len(),
                    intact,
                    "version {version}, flip of bit {bit}"
                );
                for (record, seq) in scan.records.iter().zip(1..) {
                    assert_eq!(data_of(&flipped, record), [seq as u8; 5]);
                }
                assert_ne!(scan.tail, Tail::Clean, "flip of bit {bit} went unnoticed");
                if (ends[0]..ends[ends.len() - 2]).contains(&(bit / 8)) {
                    assert!(
                        matches!(scan.tail, Tail::Damaged(_)),
                        "version {version}, flip of bit {bit} before the last record: {:?}",
                        scan.tail
                    );
                }
            }
        }
    }

    /// Every single-byte change (each of the 255 other values) in the records of a log
    /// before its last record is damage, never a torn tail nor a clean end, whatever field it
    /// hits: a crash cuts only a log's end, and the last record is there to show the cut was
    /// not one. A change in the last record may read as a crash's cut (a length run past the
    /// end of the file is what a crash leaves), never as a clean end.
    #[test]
    fn every_byte_change_before_the_last_record_is_damage() {
        for version in VERSIONS {
            let (bytes, ends, _) = log_of(version, 4);
            let last_starts = ends[ends.len() - 2];
            for at in ends[0]..bytes.len() {
                for mask in 1..=255u8 {
                    let mut changed = bytes.clone();
                    changed[at] ^= mask;
                    let scan = scan(&changed).unwrap();
                    let case = format!("version {version}, byte {at} ^ {mask:#x}");
                    if at < last_starts {
                        assert!(
                            matches!(scan.tail, Tail::Damaged(_)),
                            "{case}: {:?}",
                            scan.tail
                        );
                    } else {
                        assert_ne!(scan.tail, Tail::Clean, "{case}");
                    }
                }
            }
        }
    }

    /// Where each frame of the record `seq` (from 1) of a [`log_of`] log starts: the record
    /// in version 2; its two data frames and its head in version 3.
    fn frame_starts(version: u32, ends: &[usize], seq: usize) -> Vec<usize> {
        let mut start = ends[seq - 1];
        if version == LOG_VERSION {
            return vec![start];
        }
        if seq == 2 {
            // The data frame and abort frame of an abandoned save come first.
            start += data_frame_bytes(b"junk").len() + abort_frame().len();
        }
        let second = start + data_frame_bytes(&[0; 2]).len();
        vec![start, second, second + data_frame_bytes(&[0; 3]).len()]
    }

    /// A length field damaged so that its frame runs past the end of the file, in the middle
    /// of a log: damage, which names the record and the index the records after it reach.
    #[test]
    fn a_length_run_past_the_end_in_the_middle_is_damage() {
        for version in VERSIONS {
            let (bytes, ends, _) = log_of(version, 4);
            let frames = (1..=3).flat_map(|seq| {
                let starts = frame_starts(version, &ends, seq);
                starts.into_iter().map(move |at| (seq, at))
            });
            for (seq, at) in frames {
                let mut damaged = bytes.clone();
                damaged[at + 2] ^= 0x10;
                let scan = scan(&damaged).unwrap();
                let case = format!("version {version}, record {seq}, frame at {at}");
                assert_eq!(scan.records.len(), seq - 1, "{case}");
                let Tail::Damaged(problem) = &scan.tail else {
                    panic!("{case}: {:?}", scan.tail);
                };
                assert!(
                    problem.contains(&format!("the record at byte {at} ")),
                    "{case}: {problem}"
                );
                assert!(problem.contains("up to index 40"), "{case}: {problem}");
                assert_eq!(scan.lost_to, Some(40), "{case}");
            }
        }
    }

    /// The same damage to a log's last frame reads as a crash's cut (nothing follows it to
    /// tell them apart), as does every cut of the last record. (A version-3 record's first
    /// data frames are followed by the rest of the record: damage.)
    #[test]
    fn a_length_run_past_the_end_in_the_last_frame_is_a_torn_tail() {
        for version in VERSIONS {
            let (bytes, ends, _) = log_of(version, 4);
            let frames = frame_starts(version, &ends, 4);
            for (i, &at) in frames.iter().enumerate() {
                let mut damaged = bytes.clone();
                damaged[at + 2] ^= 0x10;
                let scan = scan(&damaged).unwrap();
                assert_eq!(scan.records.len(), 3);
                let case = format!("version {version}, frame at {at}");
                match i == frames.len() - 1 {
                    true => assert_eq!(scan.tail, Tail::Torn, "{case}"),
                    false => assert!(matches!(scan.tail, Tail::Damaged(_)), "{case}"),
                }
            }
            for len in ends[3] + 1..bytes.len() {
                assert_eq!(scan_tail(&bytes[..len]), Tail::Torn, "cut at {len}");
            }
        }
    }

    fn scan_tail(bytes: &[u8]) -> Tail {
        scan(bytes).unwrap().tail
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
