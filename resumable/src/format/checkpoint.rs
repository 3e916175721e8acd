//! A checkpoint file's bytes as a whole, checked: a version-1 file (one value in its
//! envelope, as `save` writes) or a log (the newest good record, its appended parts joined to
//! the bindings whole), refused unless its label and shape are the program's. The state is
//! not decoded here: a [`Payload`] says where its bytes are, and is read in chunks. Both the
//! macro's runtime and the public `save`/`load` API read through here.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::format::encode::VecFlavor;
use crate::format::envelope::{self, Meta};
use crate::format::hash;
use crate::format::label;
use crate::format::log::{self, Part, Tail};
use crate::format::source::Source;
use crate::format::stream::{DecodeError, Payload, Piece};

/// A checkpoint read from disk whose checksums and fingerprint were checked: the metadata of
/// its newest record and where the state's postcard bytes are, every binding whole.
pub(crate) struct Loaded {
    pub meta: Meta,
    /// The record's sequence number in its log (0 for a version-1 file).
    pub seq: u64,
    /// The newest record of the log (this one or one before) that holds the fingerprint of
    /// the item after it: its index and that fingerprint. A save after a failure has none (the
    /// item is gone by then), so a resumed loop checks its order at the record before.
    pub checked: Option<(u64, u64)>,
    /// For a log: where its newest good record ends, and each record's parts, so that a run
    /// can go on appending to it.
    pub log: Option<LogEnd>,
    pub payload: Payload,
    /// The fingerprint of the code that saved the record, if it says (see `log::Record`).
    pub code: Option<u64>,
}

/// Where a log's newest good record ends, and the length and parts of each record up to it,
/// in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogEnd {
    pub len: u64,
    pub records: Vec<(u64, Vec<Part>)>,
    /// The log is framed (version 3); a version-2 log is read, never appended to.
    pub framed: bool,
}

/// A checkpoint file read back: the checkpoint to resume from, and what follows it.
pub(crate) struct Found {
    pub loaded: Loaded,
    /// Damage after the newest good record of a log, which a later record may have been lost
    /// to: a copy of the file is kept before the log is replaced.
    pub damaged_tail: Option<String>,
    /// Records newer than the one loaded that count more of an `io::Output` file than it
    /// holds (see [`drop_records_ahead_of_outputs`]): what happened, to say; a copy of the
    /// file is kept before the log is cut back.
    pub ahead_of_outputs: Option<String>,
    /// Even the oldest record counts more of an output file than it holds: what, in words.
    /// A resume from this file would refuse the output; recovery takes an older file if it
    /// has one whose outputs hold what it counts.
    pub outputs_short: Option<String>,
}

/// The checkpoint in `source`, the content of the file `path`. `output_len` says how many
/// bytes an `io::Output` file a record counts holds now (the caller reads the disk: this
/// layer does not).
pub(crate) fn found_in(
    path: &Path,
    source: Arc<dyn Source>,
    label: &str,
    shape: &str,
    output_len: &dyn Fn(&Path) -> u64,
) -> Result<Found, Error> {
    let read_failed = |err| Error::io("read", path, err);
    let check_fingerprint = |fingerprint, saved_label: &str, saved_shape: &str| {
        if fingerprint == hash::fingerprint(label, shape) {
            return Ok(());
        }
        Err(Error::Mismatch {
            path: path.into(),
            change: label::describe_mismatch(saved_label, saved_shape, label, shape),
        })
    };
    if !log::is_log(&*source).map_err(read_failed)? {
        let (meta, payload) = envelope::decode_from(&*source)
            .map_err(read_failed)?
            .map_err(|problem| Error::corrupt(path, problem))?;
        check_fingerprint(meta.fingerprint, &meta.label, &meta.shape)?;
        let loaded = Loaded {
            checked: meta.next_item.map(|hash| (meta.index, hash)),
            meta,
            seq: 0,
            log: None,
            payload: Payload::new(source, vec![Piece::At(payload)]),
            code: None,
        };
        return Ok(Found {
            loaded,
            damaged_tail: None,
            ahead_of_outputs: None,
            outputs_short: None,
        });
    }
    let mut scan = log::scan(&*source)
        .map_err(read_failed)?
        .map_err(|not| Error::corrupt(path, not.problem))?;
    check_fingerprint(scan.meta.fingerprint, &scan.meta.label, &scan.meta.shape)?;
    let ahead_of_outputs = drop_records_ahead_of_outputs(path, &mut scan, output_len);
    let Some(newest) = scan.records.last() else {
        let problem = match &scan.tail {
            Tail::Damaged(problem) => problem.clone(),
            _ => "it holds no complete checkpoint (its first record was cut short)".into(),
        };
        return Err(Error::corrupt(path, problem));
    };
    let meta = Meta {
        fingerprint: scan.meta.fingerprint,
        index: newest.head.index,
        saved_at_ms: newest.head.saved_at_ms,
        label: scan.meta.label.clone(),
        shape: scan.meta.shape.clone(),
        next_item: newest.head.next_item,
    };
    let seq = newest.head.seq;
    let checked = scan
        .records
        .iter()
        .rev()
        .find_map(|record| record.head.next_item.map(|hash| (record.head.index, hash)));
    let pieces = joined_pieces(&scan.records).map_err(|problem| Error::corrupt(path, problem))?;
    let log = log_end(&scan);
    let damaged_tail = match scan.tail {
        Tail::Damaged(problem) => Some(match scan.lost_to {
            Some(lost_to) if lost_to > meta.index => format!(
                "{problem}; a run falls back to index {}, the newest intact record before it, \
                 and loses {} iterations",
                meta.index,
                lost_to - meta.index
            ),
            _ => format!(
                "{problem}; a run falls back to index {}, the newest intact record before it",
                meta.index
            ),
        }),
        Tail::Clean | Tail::Torn => None,
    };
    Ok(Found {
        loaded: Loaded {
            meta,
            seq,
            checked,
            log: Some(log),
            payload: Payload::new(source, pieces),
            code: newest.code,
        },
        damaged_tail,
        outputs_short: output_shortfall(path, newest, output_len),
        ahead_of_outputs,
    })
}

/// Drops the newest records of `scan` (the log `path`) that count more bytes of an
/// `io::Output` file than the file holds now, down to the newest whose files all hold what it
/// counts, and says what was dropped. An output's data is synced before the record that
/// counts it, but the system may write the record out first: after a power loss, a record
/// can be on the disk and the output's last bytes not. Such a record is cut off like a torn
/// tail. If no record fits (the file was cut short by hand, or removed; or the whole log is
/// a new one a power loss kept ahead of its output), nothing is dropped: see
/// [`Found::outputs_short`].
fn drop_records_ahead_of_outputs(
    path: &Path,
    scan: &mut log::Scan,
    output_len: &dyn Fn(&Path) -> u64,
) -> Option<String> {
    let newest = scan.records.last()?;
    let short = output_shortfall(path, newest, output_len)?;
    let keep = scan
        .records
        .iter()
        .rposition(|record| output_shortfall(path, record, output_len).is_none())?;
    let message = format!(
        "{short}; the run falls back to index {}, the newest checkpoint whose outputs hold \
         what it counts, and loses {} iterations",
        scan.records[keep].head.index,
        newest.head.index - scan.records[keep].head.index,
    );
    scan.records.truncate(keep + 1);
    Some(message)
}

/// What `record` of the log `path` counts of an output file that the file does not hold, in
/// words; `None` if its outputs hold all it counts.
fn output_shortfall(
    path: &Path,
    record: &log::Record,
    output_len: &dyn Fn(&Path) -> u64,
) -> Option<String> {
    record.outputs.iter().find_map(|(output, counted)| {
        let held = output_len(output);
        (held < *counted).then(|| {
            format!(
                "checkpoint {}: its checkpoint at index {} counts {counted} bytes of the output \
                 {}, which holds {held} (the record reached the disk and the output's last \
                 bytes did not, as a power loss can leave them)",
                path.display(),
                record.head.index,
                output.display(),
            )
        })
    })
}

impl LogEnd {
    /// Per binding of the newest record: how many elements it holds, if it was saved as a
    /// sequence (a chain of elements a next record can continue); `None` if saved whole.
    pub(crate) fn sequence_lengths(&self) -> Vec<Option<u64>> {
        let Some((_, parts)) = self.records.last() else {
            return Vec::new();
        };
        parts
            .iter()
            .map(|part| match *part {
                Part::Extend { to, .. } => Some(to),
                Part::Whole { .. } => None,
            })
            .collect()
    }
}

/// The end of the newest record of a scanned log, and each record's framed length and parts.
fn log_end(scan: &log::Scan) -> LogEnd {
    let mut start = scan.records_start;
    let records = scan
        .records
        .iter()
        .map(|record| {
            let len = record.end - start;
            start = record.end;
            (len, record.head.parts.clone())
        })
        .collect();
    LogEnd {
        len: start,
        records,
        framed: scan.version == log::FRAMED_VERSION,
    }
}

/// Where the postcard bytes of each binding of the newest record are, whole: an appended part
/// is joined with the parts it continues, back to one that starts at element 0, behind the
/// sequence's length.
fn joined_pieces(records: &[log::Record]) -> Result<Vec<Piece>, String> {
    let (newest, earlier) = records.split_last().expect("at least one record");
    let mut pieces = Vec::new();
    for (binding, (part, ranges)) in newest.part_ranges().into_iter().enumerate() {
        let Part::Extend { mut from, to, .. } = part else {
            pieces.extend(ranges.into_iter().map(Piece::At));
            continue;
        };
        let mut chain = vec![ranges];
        for record in earlier.iter().rev() {
            if from == 0 {
                break;
            }
            match record.part_ranges().into_iter().nth(binding) {
                Some((
                    Part::Extend {
                        from: before,
                        to: end,
                        ..
                    },
                    ranges,
                )) if end == from => {
                    chain.push(ranges);
                    from = before;
                }
                _ => break,
            }
        }
        if from != 0 {
            return Err(format!(
                "its newest record continues state binding {binding} from element {from}, and \
                 the records before it do not hold the elements up to there"
            ));
        }
        let mut length = Vec::new();
        crate::format::encode::push_varint(&mut length, u128::from(to));
        pieces.push(Piece::Inline(length));
        pieces.extend(chain.into_iter().rev().flatten().map(Piece::At));
    }
    Ok(pieces)
}

/// Decodes a checkpoint of one value held in memory — a version-1 file, or a log's newest
/// record — to its index and the value, through the same chunked reading as a file. The label
/// and shape are not checked (there is no program to compare them with).
#[cfg(any(test, feature = "test-hooks"))]
pub(crate) fn decode_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<(u64, T), Error> {
    let here = Path::new("<memory>");
    let source: Arc<dyn Source> = Arc::new(bytes.to_vec());
    let in_memory = "bytes in memory always read";
    let (index, payload) = if log::is_log(&*source).expect(in_memory) {
        let scan = log::scan(&*source)
            .expect(in_memory)
            .map_err(|not| Error::corrupt(here, not.problem))?;
        let Some(newest) = scan.records.last() else {
            return Err(Error::corrupt(here, "it holds no complete checkpoint"));
        };
        let pieces = joined_pieces(&scan.records).map_err(|p| Error::corrupt(here, p))?;
        (newest.head.index, Payload::new(source, pieces))
    } else {
        let (meta, payload) = envelope::decode_from(&*source)
            .expect(in_memory)
            .map_err(|problem| Error::corrupt(here, problem))?;
        (meta.index, Payload::new(source, vec![Piece::At(payload)]))
    };
    let value = read_whole(here, &payload)?;
    Ok((index, value))
}

/// Decodes the one value of `payload`, held in memory and cut into pieces of `piece_len`
/// bytes (at least 1), as [`read_whole`] would from a file.
#[cfg(feature = "test-hooks")]
pub(crate) fn decode_in_pieces<T: DeserializeOwned>(
    payload: &[u8],
    piece_len: usize,
) -> Result<T, Error> {
    let len = payload.len() as u64;
    let step = piece_len.max(1) as u64;
    let pieces = (0..len)
        .step_by(step as usize)
        .map(|start| Piece::At(start..(start + step).min(len)))
        .collect();
    let source: Arc<dyn Source> = Arc::new(payload.to_vec());
    read_whole(Path::new("<memory>"), &Payload::new(source, pieces))
}

/// Decodes the one value `payload` holds, with no byte left over.
pub(crate) fn read_whole<T: DeserializeOwned>(path: &Path, payload: &Payload) -> Result<T, Error> {
    let mut reader = payload.reader();
    let value = reader.value().map_err(|err| decode_failed(path, err))?;
    match reader.remaining() {
        0 => Ok(value),
        left => Err(Error::corrupt(
            path,
            format!("{left} bytes are left over after the value"),
        )),
    }
}

/// The error for a value of the file `path` that could not be decoded.
pub(crate) fn decode_failed(path: &Path, err: DecodeError) -> Error {
    match err {
        DecodeError::Read(err) => Error::io("read", path, err),
        DecodeError::Value(err) => {
            Error::corrupt(path, format!("its state does not decode ({err})"))
        }
    }
}

/// Builds checkpoint files in one reused buffer, so a save allocates nothing once warm.
#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Starts a new checkpoint; append values with [`Writer::value`].
    pub(crate) fn begin(&mut self, meta: &Meta) {
        envelope::begin(&mut self.buf, meta);
    }

    /// Appends one postcard-encoded value to the payload.
    pub(crate) fn value<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), postcard::Error> {
        postcard::serialize_with_flavor(value, VecFlavor(&mut self.buf))
    }

    /// Seals the checkpoint: its bytes, whole, to be written in one piece.
    pub(crate) fn finish(&mut self) -> &[u8] {
        envelope::finish(&mut self.buf);
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::format::log::{LogMeta, RecordHead};

    use crate::testing::rng::TestRng as Rng;

    /// A log of well-framed records (right lengths and checksums) whose parts say anything:
    /// chains that do not join up, lengths past the data, garbage element bytes.
    /// Version 2 or 3 (data in random frames, then the head; sometimes an abandoned save).
    fn random_log(rng: &mut Rng) -> Vec<u8> {
        let label = "fuzz";
        let shape = "x";
        let meta = LogMeta {
            fingerprint: hash::fingerprint(label, shape),
            label: label.into(),
            shape: shape.into(),
        };
        let framed = rng.below(2) == 0;
        let mut bytes = match framed {
            true => log::framed_header(&meta),
            false => log::header(&meta),
        };
        for seq in 1..=rng.below(5) as u64 + 1 {
            let mut data = Vec::new();
            let mut parts = Vec::new();
            for _ in 0..rng.below(4) {
                let len = rng.below(24) as u64;
                data.extend((0..len).map(|_| rng.next() as u8));
                parts.push(match rng.below(3) {
                    0 => Part::Whole { len },
                    1 => Part::Extend {
                        from: 0,
                        to: rng.below(8) as u64,
                        len,
                    },
                    _ => Part::Extend {
                        from: rng.below(8) as u64,
                        to: rng.below(16) as u64,
                        len,
                    },
                });
            }
            let head = RecordHead {
                seq,
                index: seq,
                saved_at_ms: 0,
                next_item: None,
                parts,
            };
            if framed {
                if rng.below(4) == 0 {
                    push_data_frame(&mut bytes, b"abandoned");
                    bytes.extend_from_slice(&log::abort_frame());
                }
                let mut rest = &data[..];
                while !rest.is_empty() {
                    let (frame, after) = rest.split_at(1 + rng.below(rest.len()));
                    push_data_frame(&mut bytes, frame);
                    rest = after;
                }
                log::push_head_frame(&head, None, &[], &mut bytes);
            } else {
                let mut record = Vec::new();
                log::frame_record(&head, &mut record, &mut data);
                bytes.extend_from_slice(&record);
                bytes.extend_from_slice(&data);
            }
        }
        bytes
    }

    fn push_data_frame(bytes: &mut Vec<u8>, data: &[u8]) {
        let (prefix, crc) = log::data_frame(data);
        bytes.extend_from_slice(&prefix);
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(&crc);
    }

    /// Whatever parts a checksummed record announces, decoding returns a value or an error:
    /// never a panic, never a value that does not re-encode to what was decoded.
    #[test]
    fn well_framed_logs_with_arbitrary_parts_decode_or_err_and_never_panic() {
        type State = (Vec<u8>, String, BTreeMap<u8, Vec<u16>>);
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut decoded = 0;
        for case in 0..20_000 {
            let bytes = random_log(&mut rng);
            if let Ok((_, value)) = decode_bytes::<State>(&bytes) {
                decoded += 1;
                let again = postcard::to_allocvec(&value).unwrap();
                assert_eq!(
                    postcard::from_bytes::<State>(&again).unwrap(),
                    value,
                    "case {case}"
                );
            }
            // One-binding states decode from more of them.
            decoded += usize::from(decode_bytes::<Vec<u64>>(&bytes).is_ok());
            decoded += usize::from(decode_bytes::<Vec<u8>>(&bytes).is_ok());
        }
        assert!(
            decoded > 0,
            "no random log decoded: the test reaches nothing"
        );
        eprintln!("{decoded} decodes out of 60,000 attempts on 20,000 random logs");
    }

    /// A source that records every read.
    struct Recording {
        bytes: Vec<u8>,
        reads: std::sync::Mutex<Vec<usize>>,
    }

    impl Source for Recording {
        fn size(&self) -> u64 {
            self.bytes.size()
        }

        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
            self.reads.lock().unwrap().push(buf.len());
            self.bytes.read_exact_at(buf, offset)
        }
    }

    /// A resume reads its file in chunks, about twice over (checksums, then the state), and
    /// never the file whole: what keeps its memory to the state it builds.
    #[test]
    fn a_big_checkpoint_is_checked_and_decoded_in_bounded_chunks() {
        use crate::format::source::CHUNK;
        let (label, shape) = ("big", "v: [u64]\ntext: String");
        let mut bytes = log::header(&LogMeta {
            fingerprint: hash::fingerprint(label, shape),
            label: label.into(),
            shape: shape.into(),
        });
        let numbers: Vec<u64> = (0..1_000_000u64).map(|i| i * 7919).collect();
        let text = "checkpoint ".repeat(200_000);
        // Record 1 holds the first half of `v`; record 2 the rest, and `text` whole.
        let halves = numbers.split_at(numbers.len() / 2);
        for (seq, (from, items)) in [(0, halves.0), (halves.0.len(), halves.1)]
            .into_iter()
            .enumerate()
        {
            let mut data = Vec::new();
            for item in items {
                data.extend_from_slice(&postcard::to_allocvec(item).unwrap());
            }
            let mut parts = vec![Part::Extend {
                from: from as u64,
                to: (from + items.len()) as u64,
                len: data.len() as u64,
            }];
            let whole = postcard::to_allocvec(&text).unwrap();
            parts.push(Part::Whole {
                len: whole.len() as u64,
            });
            data.extend_from_slice(&whole);
            let head = RecordHead {
                seq: seq as u64 + 1,
                index: seq as u64 + 1,
                saved_at_ms: 0,
                next_item: None,
                parts,
            };
            let mut framed = Vec::new();
            log::frame_record(&head, &mut framed, &mut data);
            bytes.extend_from_slice(&framed);
            bytes.extend_from_slice(&data);
        }
        let size = bytes.len();
        assert!(
            size > 20 * CHUNK,
            "the file is {size} bytes: too small to show anything"
        );
        let source = Arc::new(Recording {
            bytes,
            reads: Default::default(),
        });
        let found = found_in(Path::new("big.ckpt"), source.clone(), label, shape, &|_| 0).unwrap();
        let mut reader = found.loaded.payload.reader();
        assert_eq!(reader.value::<Vec<u64>>().unwrap(), numbers);
        assert_eq!(reader.value::<String>().unwrap(), text);
        assert_eq!(reader.remaining(), 0);
        let reads = source.reads.lock().unwrap();
        let largest = reads.iter().max().copied().unwrap_or(0);
        let total: usize = reads.iter().sum();
        assert!(largest <= CHUNK, "a read of {largest} bytes");
        assert!(
            total <= 2 * size + 64 * 1024,
            "{total} bytes read for a file of {size}"
        );
    }
}
