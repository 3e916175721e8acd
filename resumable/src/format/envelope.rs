//! The checkpoint file format: a fixed header, a small metadata record, the postcard payload,
//! and a CRC-32C over all of it.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "RESUMABL"
//! 8       4     format version (u32 LE), currently 1
//! 12      4     metadata length M (u32 LE), at most 64 KiB
//! 16      8     payload length P (u64 LE)
//! 24      M     metadata, postcard: fingerprint, index, saved_at_ms, label, shape, next_item
//! 24+M    P     payload, postcard: the state values one after another
//! 24+M+P  4     CRC-32C (u32 LE) of every byte before it
//! ```
//!
//! Decoding checks the magic, version, both lengths against the file's real size and the
//! checksum before it decodes anything, so a torn or flipped byte is reported, never loaded.

use std::io;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::format::checksum::{Crc32c, crc32c};
use crate::format::hash::fingerprint;
use crate::format::source::{self, Source};

const MAGIC: [u8; 8] = *b"RESUMABL";
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 24;
const CHECKSUM_LEN: usize = 4;
const MAX_META_LEN: usize = 64 * 1024;

/// What a checkpoint says about itself, apart from the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// Hash of `label` and `shape`: the quick "is this the same state?" check.
    pub fingerprint: u64,
    /// Completed iterations (0 for values saved with [`crate::save`]).
    pub index: u64,
    /// Wall-clock time of the save, milliseconds since the Unix epoch.
    pub saved_at_ms: u64,
    /// Who saved it: the checkpoint name, or "value" for the runtime API.
    pub label: String,
    /// The state's binding names and type names, for messages.
    pub shape: String,
    /// A hash of the first item the loop had not yet processed, when its type is `Hash`: on
    /// resume, the iterator must yield that item again at that position.
    pub next_item: Option<u64>,
}

impl Meta {
    /// The metadata of a checkpoint saved at `saved_at_ms` (milliseconds since the Unix epoch).
    pub(crate) fn new(label: &str, shape: &str, index: u64, saved_at_ms: u64) -> Self {
        Meta {
            fingerprint: fingerprint(label, shape),
            index,
            saved_at_ms,
            label: label.to_owned(),
            shape: shape.to_owned(),
            next_item: None,
        }
    }
}

/// Starts a checkpoint in `buf` (cleared first): header and metadata. The caller appends the
/// payload, then calls [`finish`].
pub(crate) fn begin(buf: &mut Vec<u8>, meta: &Meta) {
    buf.clear();
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    buf.extend_from_slice(&[0; 12]); // lengths, filled in by `finish`
    let meta_bytes = postcard::to_allocvec(meta).expect("metadata always serializes");
    assert!(
        meta_bytes.len() <= MAX_META_LEN,
        "checkpoint metadata over 64 KiB"
    );
    buf.extend_from_slice(&meta_bytes);
    let meta_len = meta_bytes.len() as u32;
    buf[12..16].copy_from_slice(&meta_len.to_le_bytes());
}

/// Completes a checkpoint started with [`begin`]: payload length and checksum.
pub(crate) fn finish(buf: &mut Vec<u8>) {
    let meta_len = u32::from_le_bytes(buf[12..16].try_into().unwrap()) as usize;
    let payload_len = (buf.len() - HEADER_LEN - meta_len) as u64;
    buf[16..24].copy_from_slice(&payload_len.to_le_bytes());
    let checksum = crc32c(buf);
    buf.extend_from_slice(&checksum.to_le_bytes());
}

/// A checked checkpoint: its metadata and the still-encoded payload.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    pub meta: Meta,
    pub payload: &'a [u8],
}

/// Checks and splits a whole checkpoint file held in memory. The error says what is wrong.
#[cfg(test)]
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded<'_>, String> {
    let (meta, payload) = decode_from(bytes).expect("bytes in memory always read")?;
    Ok(Decoded {
        meta,
        payload: &bytes[payload.start as usize..payload.end as usize],
    })
}

/// Checks a checkpoint file, reading it in chunks: its metadata and where its payload is.
/// The inner error says what is wrong, in words; the outer one is a read that failed.
pub(crate) fn decode_from<S: Source + ?Sized>(
    source: &S,
) -> io::Result<Result<(Meta, Range<u64>), String>> {
    let size = source.size();
    if size < (HEADER_LEN + CHECKSUM_LEN) as u64 {
        return Ok(Err(format!(
            "the file is {size} bytes long, shorter than any checkpoint"
        )));
    }
    let header = source::read_range(source, 0..HEADER_LEN as u64)?;
    if header[..8] != MAGIC {
        return Ok(Err(
            "it is not a resumable checkpoint (the first 8 bytes are not \"RESUMABL\")".into(),
        ));
    }
    let version = u32::from_le_bytes(header[8..12].try_into().unwrap());
    if version != FORMAT_VERSION {
        return Ok(Err(format!(
            "it uses checkpoint format version {version}, and this build reads version {FORMAT_VERSION}"
        )));
    }
    let meta_len = u32::from_le_bytes(header[12..16].try_into().unwrap()) as usize;
    let payload_len = u64::from_le_bytes(header[16..24].try_into().unwrap());
    let expected_size = u64::try_from(HEADER_LEN + CHECKSUM_LEN + meta_len)
        .ok()
        .and_then(|fixed| fixed.checked_add(payload_len));
    if meta_len > MAX_META_LEN || expected_size != Some(size) {
        return Ok(Err(format!(
            "the header announces {meta_len} + {payload_len} bytes of content but the file is \
             {size} bytes long (truncated, extended or damaged)"
        )));
    }
    let body_end = size - CHECKSUM_LEN as u64;
    let stored = source::read_range(source, body_end..size)?;
    let stored = u32::from_le_bytes(stored[..].try_into().unwrap());
    let mut crc = Crc32c::new();
    source::checksum(source, 0..body_end, &mut crc)?;
    let computed = crc.finish();
    if stored != computed {
        return Ok(Err(format!(
            "its checksum does not match its content (stored {stored:#010x}, computed \
             {computed:#010x}): the file is damaged"
        )));
    }
    let meta_end = (HEADER_LEN + meta_len) as u64;
    let meta_bytes = source::read_range(source, HEADER_LEN as u64..meta_end)?;
    let meta = match postcard::take_from_bytes::<Meta>(&meta_bytes) {
        Ok((meta, [])) => meta,
        Ok(_) => return Ok(Err("its metadata record has trailing bytes".into())),
        Err(err) => {
            return Ok(Err(format!(
                "its metadata record cannot be decoded ({err})"
            )));
        }
    };
    if meta.fingerprint != fingerprint(&meta.label, &meta.shape) {
        return Ok(Err(
            "its fingerprint does not match its own description".into()
        ));
    }
    Ok(Ok((meta, meta_end..body_end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut buf = Vec::new();
        begin(&mut buf, &Meta::new("demo", "x: u32", 7, 1_700_000_000_000));
        buf.extend_from_slice(b"payload!");
        finish(&mut buf);
        buf
    }

    #[test]
    fn round_trips() {
        let bytes = sample();
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.meta.index, 7);
        assert_eq!(decoded.meta.label, "demo");
        assert_eq!(decoded.payload, b"payload!");
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "accepted a file cut to {len} bytes"
            );
        }
    }

    #[test]
    fn every_single_bit_flip_is_refused() {
        let bytes = sample();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&flipped).is_err(), "accepted a flip of bit {bit}");
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = sample();
        bytes.push(0);
        assert!(
            decode(&bytes)
                .unwrap_err()
                .contains("truncated, extended or damaged")
        );
    }
}
