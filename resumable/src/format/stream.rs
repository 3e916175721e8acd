//! A checkpoint's state decoded straight from its file: the payload is a list of pieces (byte
//! ranges of the file, and the few bytes a joined sequence's length needs), read through one
//! buffer of [`CHUNK`](crate::format::source::CHUNK) bytes and handed to postcard's own
//! deserializer as a [`Flavor`]. So a resume holds the state it builds and one chunk of the
//! file, never the file itself.
//!
//! postcard's deserializer asks for bytes two ways: for a while (`try_take_n_temp`: numbers,
//! a `String`'s or `Vec<u8>`'s content, which the value copies), served from the buffer; and
//! for as long as the whole decode (`try_take_n`: a `&str` or `&[u8]` a type borrows, as
//! `uuid` does), copied into an arena that lives as long as one value's decode.

use std::hash::Hasher;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use postcard::de_flavors::Flavor;
use serde::de::DeserializeOwned;

use crate::format::bulk;
use crate::format::depth_limit;
use crate::format::source::{CHUNK, Source};

/// One piece of a payload.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    /// Bytes held here (a joined sequence's length).
    Inline(Vec<u8>),
    /// A range of the source.
    At(Range<u64>),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Inline(bytes) => bytes.len() as u64,
            Piece::At(range) => range.end - range.start,
        }
    }
}

/// The state's postcard bytes, every binding whole: pieces of a source, in order.
#[derive(Clone)]
pub(crate) struct Payload {
    source: Arc<dyn Source>,
    pieces: Arc<[Piece]>,
}

impl Payload {
    pub(crate) fn new(source: Arc<dyn Source>, pieces: Vec<Piece>) -> Self {
        Payload {
            source,
            pieces: pieces.into(),
        }
    }

    /// The payload `bytes`, held in memory.
    #[cfg(test)]
    pub(crate) fn in_memory(bytes: Vec<u8>) -> Self {
        let len = bytes.len() as u64;
        Payload::new(Arc::new(bytes), vec![Piece::At(0..len)])
    }

    pub(crate) fn len(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// Reads the payload from its start.
    pub(crate) fn reader(&self) -> Reader {
        Reader {
            payload: self.clone(),
            piece: 0,
            piece_at: 0,
            left: self.len(),
            buf: Vec::new(),
            pos: 0,
            scratch: Vec::new(),
            error: None,
        }
    }
}

/// Reads a [`Payload`] in order, one buffer at a time.
pub(crate) struct Reader {
    payload: Payload,
    /// The next piece to read from, and how far into it.
    piece: usize,
    piece_at: u64,
    /// Bytes not yet read into the buffer.
    left: u64,
    /// Bytes read; `buf[pos..]` not yet decoded.
    buf: Vec<u8>,
    pos: usize,
    /// A take longer than what the buffer holds is put together here.
    scratch: Vec<u8>,
    /// The read that failed, reported once the decode stops.
    error: Option<io::Error>,
}

/// Decoding a value failed: the file could not be read, or its bytes are not the value.
#[derive(Debug)]
pub(crate) enum DecodeError {
    Read(io::Error),
    Value(depth_limit::Error<postcard::Error>),
}

impl Reader {
    /// Bytes not decoded yet.
    pub(crate) fn remaining(&self) -> u64 {
        self.left + (self.buf.len() - self.pos) as u64
    }

    /// Decodes the next value, through the depth limit.
    pub(crate) fn value<T: DeserializeOwned>(&mut self) -> Result<T, DecodeError> {
        self.decode(None, None)
            .map(|value| value.expect("decoded without a place"))
    }

    /// Decodes the next value and feeds its bytes to `hasher` as well.
    pub(crate) fn value_hashed<T: DeserializeOwned>(
        &mut self,
        hasher: &mut dyn Hasher,
    ) -> Result<T, DecodeError> {
        let from = self.pos;
        self.decode(Some(Tee { hasher, from }), None)
            .map(|value| value.expect("decoded without a place"))
    }

    /// Decodes the next value into `place`, reusing what it holds (see
    /// [`depth_limit::deserialize_in_place`]), and feeds its bytes to `hasher` if there is
    /// one. On an error `place` may hold part of the value.
    pub(crate) fn value_into<T: DeserializeOwned>(
        &mut self,
        place: &mut T,
        hasher: Option<&mut dyn Hasher>,
    ) -> Result<(), DecodeError> {
        let from = self.pos;
        let tee = hasher.map(|hasher| Tee { hasher, from });
        self.decode(tee, Some(place)).map(drop)
    }

    /// Decodes the next value: into `place` if there is one (then `None`), else a new one.
    fn decode<T: DeserializeOwned>(
        &mut self,
        tee: Option<Tee<'_>>,
        mut place: Option<&mut T>,
    ) -> Result<Option<T>, DecodeError> {
        let arena = bumpalo::Bump::new();
        let mut stream = Stream {
            reader: &mut *self,
            tee,
            arena: &arena,
        };
        let bulk = match &mut place {
            // `&mut **`: a `&mut &mut Vec<f64>` would not be found a `Vec`.
            Some(place) => {
                bulk::decode_into(&mut stream, &mut **place).map(|done| done.map(|()| None))
            }
            None => bulk::decode(&mut stream).map(|value| value.map(Some)),
        };
        let value = match bulk {
            Some(value) => {
                stream.finalize().expect("a stream's end always succeeds");
                value.map_err(depth_limit::Error::Inner)
            }
            None => {
                let mut deserializer = postcard::Deserializer::from_flavor(stream);
                let value = match place {
                    Some(place) => {
                        depth_limit::deserialize_in_place(&mut deserializer, place).map(|()| None)
                    }
                    None => depth_limit::deserialize(&mut deserializer).map(Some),
                };
                deserializer
                    .finalize()
                    .expect("a stream's end always succeeds");
                value
            }
        };
        drop(arena);
        match (value, self.error.take()) {
            (_, Some(err)) => Err(DecodeError::Read(err)),
            (Ok(value), None) => Ok(value),
            (Err(err), None) => Err(DecodeError::Value(err)),
        }
    }

    #[inline]
    fn pop(&mut self, tee: &mut Option<Tee<'_>>) -> Option<u8> {
        if self.pos == self.buf.len() && !self.refill(tee) {
            return None;
        }
        let byte = self.buf[self.pos];
        self.pos += 1;
        Some(byte)
    }

    #[inline]
    fn take(&mut self, n: usize, tee: &mut Option<Tee<'_>>) -> Option<&[u8]> {
        if self.buf.len() - self.pos >= n {
            let start = self.pos;
            self.pos += n;
            return Some(&self.buf[start..self.pos]);
        }
        self.take_across(n, tee)
    }

    /// A take the buffer does not hold: the rest of the buffer, then more reads, joined.
    #[cold]
    fn take_across(&mut self, n: usize, tee: &mut Option<Tee<'_>>) -> Option<&[u8]> {
        if (n as u64) > self.remaining() {
            return None;
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.buf[self.pos..]);
        self.pos = self.buf.len();
        while self.scratch.len() < n {
            if !self.refill(tee) {
                return None;
            }
            let more = (n - self.scratch.len()).min(self.buf.len());
            self.scratch.extend_from_slice(&self.buf[..more]);
            self.pos = more;
        }
        Some(&self.scratch)
    }

    /// Fills `out` with the next bytes: what the buffer holds, then straight from the pieces,
    /// not through the buffer. `false` if the payload holds fewer bytes or a read failed.
    fn read_into(&mut self, out: &mut [u8], tee: &mut Option<Tee<'_>>) -> bool {
        if (out.len() as u64) > self.remaining() {
            return false;
        }
        let buffered = (self.buf.len() - self.pos).min(out.len());
        out[..buffered].copy_from_slice(&self.buf[self.pos..self.pos + buffered]);
        self.pos += buffered;
        if buffered == out.len() {
            return true;
        }
        // The buffer is used up: what the hasher has not seen of it goes first.
        if let Some(tee) = tee {
            tee.flush(&self.buf, self.buf.len());
            tee.from = 0;
        }
        self.buf.clear();
        self.pos = 0;
        let mut at = buffered;
        while at < out.len() {
            let len = self.read_piece(&mut out[at..]);
            if len == 0 {
                return false;
            }
            if let Some(tee) = tee {
                tee.hasher.write(&out[at..at + len]);
            }
            at += len;
        }
        true
    }

    /// Reads the next chunk (at most to the end of the current piece) into the buffer, once
    /// it is used up; `false` at the end of the payload or when the read fails.
    #[cold]
    fn refill(&mut self, tee: &mut Option<Tee<'_>>) -> bool {
        if let Some(tee) = tee {
            tee.flush(&self.buf, self.buf.len());
            tee.from = 0;
        }
        let mut buf = std::mem::take(&mut self.buf);
        // No more than the piece holds: a buffer zeroed to a chunk for each small piece
        // would cost a chunk's memset per piece.
        buf.resize(self.piece_left().min(CHUNK as u64) as usize, 0);
        self.pos = 0;
        let filled = self.read_piece(&mut buf);
        buf.truncate(filled);
        self.buf = buf;
        filled > 0
    }

    /// Passes the pieces read to their end; what is left of the one the reader is in (0 at
    /// the end of the payload).
    fn piece_left(&mut self) -> u64 {
        while let Some(piece) = self.payload.pieces.get(self.piece)
            && self.piece_at == piece.len()
        {
            self.piece += 1;
            self.piece_at = 0;
        }
        self.payload
            .pieces
            .get(self.piece)
            .map_or(0, |piece| piece.len() - self.piece_at)
    }

    /// Reads into `dest` from where the reader is, at most to the end of the piece it is in
    /// (pieces read to their end are passed): how many bytes; 0 at the end of the payload, or
    /// when the read failed (the error is kept for the end of the decode, and nothing more is
    /// read).
    fn read_piece(&mut self, dest: &mut [u8]) -> usize {
        self.piece_left();
        let Some(piece) = self.payload.pieces.get(self.piece) else {
            return 0;
        };
        let len = (piece.len() - self.piece_at).min(dest.len() as u64) as usize;
        let read = match piece {
            Piece::Inline(bytes) => {
                let from = self.piece_at as usize;
                dest[..len].copy_from_slice(&bytes[from..from + len]);
                Ok(())
            }
            Piece::At(range) => self
                .payload
                .source
                .read_exact_at(&mut dest[..len], range.start + self.piece_at),
        };
        if let Err(err) = read {
            self.error = Some(err);
            self.left = 0;
            return 0;
        }
        self.piece_at += len as u64;
        self.left -= len as u64;
        len
    }
}

/// A hasher fed the bytes of the value being decoded: those of the buffer from `from` on are
/// not fed yet.
struct Tee<'h> {
    hasher: &'h mut dyn Hasher,
    from: usize,
}

impl Tee<'_> {
    fn flush(&mut self, buf: &[u8], to: usize) {
        self.hasher.write(&buf[self.from..to]);
        self.from = to;
    }
}

impl bulk::Input for Stream<'_, '_> {
    fn pop(&mut self) -> Option<u8> {
        self.reader.pop(&mut self.tee)
    }

    fn remaining(&self) -> u64 {
        self.reader.remaining()
    }

    fn read_into(&mut self, out: &mut [u8]) -> bool {
        self.reader.read_into(out, &mut self.tee)
    }
}

/// postcard's view of a [`Reader`] during one value's decode.
struct Stream<'de, 't> {
    reader: &'de mut Reader,
    tee: Option<Tee<'t>>,
    arena: &'de bumpalo::Bump,
}

impl<'de, 't: 'de> Flavor<'de> for Stream<'de, 't> {
    type Remainder = ();
    type Source = ();

    #[inline]
    fn pop(&mut self) -> postcard::Result<u8> {
        self.reader
            .pop(&mut self.tee)
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)
    }

    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.reader.remaining()).ok()
    }

    fn try_take_n(&mut self, ct: usize) -> postcard::Result<&'de [u8]> {
        let bytes = self
            .reader
            .take(ct, &mut self.tee)
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        Ok(self.arena.alloc_slice_copy(bytes))
    }

    #[inline]
    fn try_take_n_temp<'a>(&'a mut self, ct: usize) -> postcard::Result<&'a [u8]>
    where
        'de: 'a,
    {
        self.reader
            .take(ct, &mut self.tee)
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)
    }

    /// Feeds the hasher what it has not seen of the value.
    fn finalize(mut self) -> postcard::Result<()> {
        if let Some(tee) = &mut self.tee {
            tee.flush(&self.reader.buf, self.reader.pos);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::format::hash::Hash128;
    use crate::testing::rng::TestRng as Rng;

    type State = (
        Vec<f64>,
        String,
        BTreeMap<u16, Vec<i32>>,
        Option<char>,
        Vec<String>,
        u128,
    );

    fn random_state(rng: &mut Rng) -> State {
        let n = rng.below(3) * rng.below(20_000);
        (
            (0..n).map(|i| i as f64 * 0.5).collect(),
            "é".repeat(rng.below(CHUNK / 2)),
            (0..rng.below(50))
                .map(|k| (k as u16, vec![-(k as i32); rng.below(300)]))
                .collect(),
            char::from_u32(rng.below(0x11_0000) as u32),
            (0..rng.below(40)).map(|i| "x".repeat(i * 997)).collect(),
            u128::from(rng.next()) << 64 | u128::from(rng.next()),
        )
    }

    /// Splits `bytes` into pieces of the source at random places, some held inline.
    fn random_pieces(rng: &mut Rng, bytes: &[u8]) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut at = 0;
        let longest = [1, 3, 16, 2 * CHUNK][rng.below(4)];
        while at < bytes.len() {
            let len = (1 + rng.below(longest)).min(bytes.len() - at);
            pieces.push(if rng.below(4) == 0 {
                Piece::Inline(bytes[at..at + len].to_vec())
            } else {
                Piece::At(at as u64..(at + len) as u64)
            });
            at += len;
        }
        pieces
    }

    /// Two random states, their bytes one after the other, and those bytes as a payload cut
    /// into random pieces.
    fn two_random_states(rng: &mut Rng) -> ([State; 2], Vec<u8>, Payload) {
        let states = [random_state(rng), random_state(rng)];
        let mut bytes = Vec::new();
        for state in &states {
            bytes.extend_from_slice(&postcard::to_allocvec(state).unwrap());
        }
        let source: Arc<dyn Source> = Arc::new(bytes.clone());
        let payload = Payload::new(source, random_pieces(rng, &bytes));
        (states, bytes, payload)
    }

    /// Whatever the split into pieces, the stream decodes what postcard decodes from the
    /// joined bytes, and the hash of a value's bytes is the hash of its encoding.
    #[test]
    fn decodes_what_postcard_decodes_across_any_split() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..40 {
            let (states, bytes, payload) = two_random_states(&mut rng);
            assert_eq!(payload.len(), bytes.len() as u64);
            let mut reader = payload.reader();
            let first: State = reader.value().unwrap();
            let first_len = payload.len() - reader.remaining();
            let mut hasher = Hash128::new();
            let second: State = reader.value_hashed(&mut hasher).unwrap();
            assert_eq!([first, second], states, "case {case}");
            assert_eq!(reader.remaining(), 0);
            let mut expected = Hash128::new();
            expected.write(&bytes[first_len as usize..]);
            assert_eq!(hasher.finish(), expected.finish(), "case {case}");
        }
    }

    /// Decoded into values that hold other data (longer, shorter, empty), in place: the same
    /// values and hashes as decoded new, the bulk vectors' allocations reused when they hold
    /// enough.
    #[test]
    fn decodes_into_a_place_what_it_decodes_new() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for case in 0..40 {
            let (states, bytes, payload) = two_random_states(&mut rng);
            let mut places = [random_state(&mut rng), random_state(&mut rng)];
            let reused = places[1].0.capacity() >= states[1].0.len();
            let old_ptr = places[1].0.as_ptr();
            let mut reader = payload.reader();
            reader.value_into(&mut places[0], None).unwrap();
            let first_len = payload.len() - reader.remaining();
            let mut hasher = Hash128::new();
            reader
                .value_into(&mut places[1], Some(&mut hasher))
                .unwrap();
            assert_eq!(places, states, "case {case}");
            assert_eq!(reader.remaining(), 0);
            if reused {
                assert_eq!(places[1].0.as_ptr(), old_ptr, "case {case}");
            }
            let mut expected = Hash128::new();
            expected.write(&bytes[first_len as usize..]);
            assert_eq!(hasher.finish(), expected.finish(), "case {case}");
        }
    }

    /// A `Vec<f64>` decoded into a place goes through the bulk path, which checks the length
    /// against the bytes left before it writes anything (serde's `Vec` would have overwritten
    /// the elements the bytes hold before it failed), and reads over the allocation.
    #[test]
    fn a_vector_of_numbers_is_decoded_into_its_place_in_bulk() {
        let bytes = postcard::to_allocvec(&vec![2.0f64; 10]).unwrap();
        let mut place = vec![1.0f64; 10];
        let cut = Payload::in_memory(bytes[..bytes.len() - 1].to_vec());
        assert!(cut.reader().value_into(&mut place, None).is_err());
        assert_eq!(
            place, [1.0; 10],
            "written before the length was checked: not in bulk"
        );
        let old_ptr = place.as_ptr();
        let whole = Payload::in_memory(bytes);
        whole.reader().value_into(&mut place, None).unwrap();
        assert_eq!(
            (place.as_slice(), place.as_ptr()),
            ([2.0; 10].as_slice(), old_ptr)
        );
    }

    /// Vectors decoded in bulk (read partly from the buffer, partly straight from the pieces)
    /// come out as postcard's, leave the reader where postcard would, and feed the hasher
    /// exactly their bytes, whatever the split.
    #[test]
    fn vectors_decoded_in_bulk_read_and_hash_exactly_their_bytes() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        for case in 0..60 {
            let floats: Vec<f32> = (0..rng.below(3) * rng.below(200_000))
                .map(|i| i as f32 * 0.25)
                .collect();
            let raw: Vec<u8> = (0..rng.below(2 * CHUNK)).map(|i| i as u8).collect();
            let doubles: Vec<f64> = (0..rng.below(5)).map(|i| -(i as f64)).collect();
            let encoded = [
                postcard::to_allocvec(&floats).unwrap(),
                postcard::to_allocvec(&raw).unwrap(),
                postcard::to_allocvec(&doubles).unwrap(),
            ];
            let bytes = encoded.concat();
            let source: Arc<dyn Source> = Arc::new(bytes.clone());
            let mut reader = Payload::new(source, random_pieces(&mut rng, &bytes)).reader();
            let mut hashers = [Hash128::new(), Hash128::new()];
            let got: (Vec<f32>, Vec<u8>, Vec<f64>) = (
                reader.value().unwrap(),
                reader.value_hashed(&mut hashers[0]).unwrap(),
                reader.value_hashed(&mut hashers[1]).unwrap(),
            );
            assert_eq!(got, (floats, raw, doubles), "case {case}");
            assert_eq!(reader.remaining(), 0);
            for (hasher, part) in hashers.iter().zip(&encoded[1..]) {
                let mut expected = Hash128::new();
                expected.write(part);
                assert_eq!(hasher.finish(), expected.finish(), "case {case}");
            }
        }
    }

    #[test]
    fn borrowed_bytes_and_strings_decode_through_the_arena() {
        let value = (b"raw".to_vec(), "text".to_owned());
        let bytes = postcard::to_allocvec(&(serde_bytes_ref(&value.0), &value.1)).unwrap();
        let payload = Payload::in_memory(bytes);
        let mut reader = payload.reader();
        let (raw, text): (Vec<u8>, String) = reader
            .value::<(ByteBuf, String)>()
            .map(|(raw, text)| (raw.0, text))
            .unwrap();
        assert_eq!((raw, text), value);
    }

    fn serde_bytes_ref(bytes: &[u8]) -> impl Serialize + '_ {
        struct AsBytes<'a>(&'a [u8]);
        impl Serialize for AsBytes<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        AsBytes(bytes)
    }

    /// Decodes with `deserialize_bytes` and takes the borrowed slice, as `uuid` does.
    struct ByteBuf(Vec<u8>);

    impl<'de> Deserialize<'de> for ByteBuf {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Borrow;
            impl<'de> serde::de::Visitor<'de> for Borrow {
                type Value = ByteBuf;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("borrowed bytes")
                }
                fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v.to_vec()))
                }
            }
            d.deserialize_bytes(Borrow)
        }
    }

    #[test]
    fn a_failed_read_is_reported_as_a_read_error() {
        struct Failing;
        impl Source for Failing {
            fn size(&self) -> u64 {
                100
            }
            fn read_exact_at(&self, _: &mut [u8], _: u64) -> io::Result<()> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let payload = Payload::new(Arc::new(Failing), vec![Piece::At(0..100)]);
        match payload.reader().value::<Vec<u8>>() {
            Err(DecodeError::Read(err)) => assert!(err.to_string().contains("on fire")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_length_past_the_payload_fails_without_reading_it() {
        // A string announcing 2^40 bytes in a 10-byte payload.
        let mut bytes = Vec::new();
        crate::format::encode::push_varint(&mut bytes, 1 << 40);
        bytes.extend_from_slice(b"abc");
        let payload = Payload::in_memory(bytes);
        assert!(matches!(
            payload.reader().value::<String>(),
            Err(DecodeError::Value(_))
        ));
    }

    /// Damaged bytes (a valid encoding with bytes flipped, cut or added): the stream and
    /// postcard over the joined bytes agree on every outcome, the value and how many bytes it
    /// took, or that it fails.
    #[test]
    fn damaged_bytes_decode_exactly_as_postcard_decodes_them() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut agreed_ok = 0;
        for case in 0..3_000 {
            let mut bytes = postcard::to_allocvec(&random_small_state(&mut rng)).unwrap();
            for _ in 0..rng.below(4) {
                match rng.below(3) {
                    0 if !bytes.is_empty() => {
                        let at = rng.below(bytes.len());
                        bytes[at] ^= 1 << rng.below(8);
                    }
                    1 => bytes.truncate(rng.below(bytes.len() + 1)),
                    _ => bytes.push(rng.next() as u8),
                }
            }
            let expected = {
                let mut deserializer = postcard::Deserializer::from_bytes(&bytes);
                depth_limit::deserialize::<State, _>(&mut deserializer)
                    .ok()
                    .map(|value| (value, deserializer.finalize().unwrap().len() as u64))
            };
            let source: Arc<dyn Source> = Arc::new(bytes.clone());
            let mut reader = Payload::new(source, random_pieces(&mut rng, &bytes)).reader();
            let got = reader
                .value::<State>()
                .ok()
                .map(|value| (value, reader.remaining()));
            agreed_ok += usize::from(expected.is_some());
            assert_eq!(got, expected, "case {case}");
        }
        assert!(
            agreed_ok > 100,
            "only {agreed_ok} cases decoded: the test reaches little"
        );
    }

    fn random_small_state(rng: &mut Rng) -> State {
        (
            (0..rng.below(5)).map(|i| i as f64).collect(),
            "ab".repeat(rng.below(4)),
            (0..rng.below(3))
                .map(|k| (k as u16, vec![k as i32; rng.below(3)]))
                .collect(),
            char::from_u32(rng.below(0x800) as u32),
            (0..rng.below(3)).map(|i| "y".repeat(i)).collect(),
            u128::from(rng.next()),
        )
    }
}
