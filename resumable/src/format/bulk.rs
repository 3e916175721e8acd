//! `Vec`s of numbers whose postcard encoding is their bytes, decoded with one copy into the
//! vector instead of element by element through serde's `Vec` visitor (which tops out near
//! 1 GB/s; issue 11's restore target is 2 GB/s). postcard writes an `f32` or `f64` as its
//! little-endian bytes and a `u8` or `i8` as itself, after the length as a varint, so on a
//! little-endian machine the vector's memory is exactly the encoded bytes.
//!
//! The restore sites know only `T: DeserializeOwned`, not `T: 'static`, so `TypeId` cannot
//! tell the element type; `castaway` compares the types without it and does the cast, and
//! `bytemuck` views the vector as bytes, so our crates stay free of `unsafe`.

use bytemuck::Pod;
use serde::de::DeserializeOwned;

#[cfg(feature = "ndarray")]
mod array;
#[cfg(feature = "ndarray")]
pub(crate) use array::{PERMUTED_VERSION, in_memory_order};

/// The encoded bytes a bulk decode reads.
pub(super) trait Input {
    /// The next byte, or `None` at the end (or when a read failed).
    fn pop(&mut self) -> Option<u8>;
    /// Bytes not read yet.
    fn remaining(&self) -> u64;
    /// Fills `out` with the next bytes; `false` if there are not that many (or a read failed).
    fn read_into(&mut self, out: &mut [u8]) -> bool;
}

/// Decodes a `T` in bulk if it is a `Vec` of `f32`, `f64`, `u8` or `i8` (or, with the `ndarray`
/// feature, an ndarray array of them): `None` for any other type, which serde decodes. The
/// outcome is postcard's for the same bytes: the same value and bytes used, or an error.
pub(super) fn decode<T: DeserializeOwned>(input: &mut dyn Input) -> Option<postcard::Result<T>> {
    let mut slot: Option<T> = None;
    let Some(vec) = new_in(&mut slot) else {
        return decode_array(input);
    };
    let filled = fill(vec, input);
    Some(filled.map(|()| slot.expect("a filled slot holds the vector")))
}

/// [`decode`] into `place`, reusing its allocation when it holds enough (so a resume does not
/// hold the prelude's vector and the decoded one at once); an array is decoded new and
/// replaces `place`. On an error `place` may hold part of the decoded value.
pub(super) fn decode_into<T: DeserializeOwned>(
    input: &mut dyn Input,
    place: &mut T,
) -> Option<postcard::Result<()>> {
    let Some(vec) = as_bulk(place) else {
        return decode_array(input).map(|value| value.map(|value| *place = value));
    };
    Some(fill(vec, input))
}

/// Whether a `T` is what [`decode`] decodes in bulk.
pub(crate) fn is_bulk<T: DeserializeOwned>() -> bool {
    if reuses_place::<T>() {
        return true;
    }
    #[cfg(feature = "ndarray")]
    return array::is_array::<T>();
    #[cfg(not(feature = "ndarray"))]
    false
}

/// Whether [`decode_into`] decodes a `T` over the allocation of the value in place: a `Vec`.
pub(crate) fn reuses_place<T>() -> bool {
    new_in(&mut None::<T>).is_some()
}

/// An ndarray array of bulk elements, decoded; `None` for any other `T`.
#[cfg(feature = "ndarray")]
fn decode_array<T: DeserializeOwned>(input: &mut dyn Input) -> Option<postcard::Result<T>> {
    array::is_array::<T>().then(|| array::decode(input))
}

#[cfg(not(feature = "ndarray"))]
fn decode_array<T>(_: &mut dyn Input) -> Option<postcard::Result<T>> {
    None
}

/// A vector [`decode`] fills, its element type named. Only the casts to it need the state's
/// type; the decode, [`fill`], takes none, so it is compiled once, here, not in every crate
/// that restores a state (issue 25).
enum BulkVec<'a> {
    F32(&'a mut Vec<f32>),
    F64(&'a mut Vec<f64>),
    U8(&'a mut Vec<u8>),
    I8(&'a mut Vec<i8>),
}

/// `place` as a [`BulkVec`], if it is one.
fn as_bulk<T>(place: &mut T) -> Option<BulkVec<'_>> {
    if !cfg!(all(target_endian = "little", target_pointer_width = "64")) {
        return None;
    }
    // A cast that fails gives the reference back, for the next.
    let place = match castaway::cast!(place, &mut Vec<f32>) {
        Ok(vec) => return Some(BulkVec::F32(vec)),
        Err(place) => place,
    };
    let place = match castaway::cast!(place, &mut Vec<f64>) {
        Ok(vec) => return Some(BulkVec::F64(vec)),
        Err(place) => place,
    };
    let place = match castaway::cast!(place, &mut Vec<u8>) {
        Ok(vec) => return Some(BulkVec::U8(vec)),
        Err(place) => place,
    };
    castaway::cast!(place, &mut Vec<i8>).ok().map(BulkVec::I8)
}

/// An empty vector put in `slot`, as a [`BulkVec`], if a `T` is one.
fn new_in<T>(slot: &mut Option<T>) -> Option<BulkVec<'_>> {
    if !cfg!(all(target_endian = "little", target_pointer_width = "64")) {
        return None;
    }
    let slot = match castaway::cast!(slot, &mut Option<Vec<f32>>) {
        Ok(slot) => return Some(BulkVec::F32(slot.insert(Vec::new()))),
        Err(slot) => slot,
    };
    let slot = match castaway::cast!(slot, &mut Option<Vec<f64>>) {
        Ok(slot) => return Some(BulkVec::F64(slot.insert(Vec::new()))),
        Err(slot) => slot,
    };
    let slot = match castaway::cast!(slot, &mut Option<Vec<u8>>) {
        Ok(slot) => return Some(BulkVec::U8(slot.insert(Vec::new()))),
        Err(slot) => slot,
    };
    let slot = castaway::cast!(slot, &mut Option<Vec<i8>>).ok()?;
    Some(BulkVec::I8(slot.insert(Vec::new())))
}

/// Reads the vector into `vec` (see [`fill_into`]).
fn fill(vec: BulkVec<'_>, input: &mut dyn Input) -> postcard::Result<()> {
    match vec {
        BulkVec::F32(vec) => fill_into(vec, input),
        BulkVec::F64(vec) => fill_into(vec, input),
        BulkVec::U8(vec) => fill_into(vec, input),
        BulkVec::I8(vec) => fill_into(vec, input),
    }
}

/// Reads the vector into `vec`: over its elements when its allocation holds them all, else
/// into a new allocation made after the old one is freed, so `vec`'s old and new contents
/// never take memory at once.
fn fill_into<E: Pod>(vec: &mut Vec<E>, input: &mut dyn Input) -> postcard::Result<()> {
    let len = varint_usize(input)?;
    // Checked before allocating: a damaged length must not ask for terabytes.
    let fits = len
        .checked_mul(size_of::<E>())
        .is_some_and(|bytes| bytes as u64 <= input.remaining());
    if !fits {
        return Err(postcard::Error::DeserializeUnexpectedEnd);
    }
    if vec.capacity() >= len {
        // Only the elements past the old length are zeroed first; the read writes them all.
        vec.truncate(len);
        vec.resize(len, E::zeroed());
    } else {
        *vec = Vec::new();
        *vec = vec![E::zeroed(); len];
    }
    if !input.read_into(bytemuck::cast_slice_mut(vec)) {
        return Err(postcard::Error::DeserializeUnexpectedEnd);
    }
    Ok(())
}

/// A sequence's length, read as postcard reads it (`try_take_varint_usize` on a 64-bit
/// machine): at most 10 bytes, the last one holding at most the 64th bit.
fn varint_usize(input: &mut dyn Input) -> postcard::Result<usize> {
    const MAX_BYTES: usize = 10;
    const MAX_OF_LAST_BYTE: u8 = 1;
    let mut out: u64 = 0;
    for i in 0..MAX_BYTES {
        let byte = input
            .pop()
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        out |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            if i == MAX_BYTES - 1 && byte > MAX_OF_LAST_BYTE {
                return Err(postcard::Error::DeserializeBadVarint);
            }
            return Ok(out as usize);
        }
    }
    Err(postcard::Error::DeserializeBadVarint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::rng::TestRng as Rng;

    pub(super) struct Bytes<'a>(pub(super) &'a [u8]);

    impl Input for Bytes<'_> {
        fn pop(&mut self) -> Option<u8> {
            let (&first, rest) = self.0.split_first()?;
            self.0 = rest;
            Some(first)
        }
        fn remaining(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_into(&mut self, out: &mut [u8]) -> bool {
            if out.len() > self.0.len() {
                return false;
            }
            let (taken, rest) = self.0.split_at(out.len());
            out.copy_from_slice(taken);
            self.0 = rest;
            true
        }
    }

    /// What postcard makes of `bytes` as a `T`: the value and the bytes left, or `None`.
    fn postcard_outcome<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<(T, usize)> {
        let mut deserializer = postcard::Deserializer::from_bytes(bytes);
        let value = serde::Deserialize::deserialize(&mut deserializer).ok()?;
        Some((value, deserializer.finalize().unwrap().len()))
    }

    fn bulk_outcome<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<(T, usize)> {
        let mut input = Bytes(bytes);
        let value = decode::<T>(&mut input).expect("a bulk type").ok()?;
        Some((value, input.0.len()))
    }

    /// Valid encodings, cut, with bytes flipped or added, and lengths of every varint form:
    /// the bulk decode and postcard agree on each (floats compared by their bits, so NaNs
    /// with payloads count).
    #[test]
    fn decodes_exactly_what_postcard_decodes_from_any_bytes() {
        let mut rng = Rng(0x5851_F42D_4C95_7F2D);
        let mut decoded = 0;
        for case in 0..4_000 {
            let len = [0, 1, 3, 127, 128, 300, 20_000][rng.below(7)];
            let raw: Vec<u8> = (0..len * 8).map(|_| rng.next() as u8).collect();
            let mut bytes = match case % 4 {
                0 => {
                    let floats: Vec<f32> = raw[..len * 4]
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                        .collect();
                    postcard::to_allocvec(&floats).unwrap()
                }
                1 => {
                    let floats: Vec<f64> = raw
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                        .collect();
                    postcard::to_allocvec(&floats).unwrap()
                }
                _ => postcard::to_allocvec(&raw[..len]).unwrap(),
            };
            for _ in 0..rng.below(3) {
                match rng.below(4) {
                    0 if !bytes.is_empty() => {
                        let at = rng.below(bytes.len().min(12));
                        bytes[at] ^= 1 << rng.below(8);
                    }
                    1 => bytes.truncate(rng.below(bytes.len() + 1)),
                    2 => bytes
                        .splice(0..0, [0xFF; 9].iter().take(rng.below(10)).copied())
                        .for_each(drop),
                    _ => bytes.push(rng.next() as u8),
                }
            }
            let bits32 = |v: Option<(Vec<f32>, usize)>| {
                v.map(|(v, left)| (v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), left))
            };
            let bits64 = |v: Option<(Vec<f64>, usize)>| {
                v.map(|(v, left)| (v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), left))
            };
            let agreed = match case % 4 {
                0 => {
                    let got = bits32(bulk_outcome(&bytes));
                    assert_eq!(got, bits32(postcard_outcome(&bytes)), "case {case}");
                    got.is_some()
                }
                1 => {
                    let got = bits64(bulk_outcome(&bytes));
                    assert_eq!(got, bits64(postcard_outcome(&bytes)), "case {case}");
                    got.is_some()
                }
                2 => {
                    let got = bulk_outcome::<Vec<u8>>(&bytes);
                    assert_eq!(got, postcard_outcome(&bytes), "case {case}");
                    got.is_some()
                }
                _ => {
                    let got = bulk_outcome::<Vec<i8>>(&bytes);
                    assert_eq!(got, postcard_outcome(&bytes), "case {case}");
                    got.is_some()
                }
            };
            decoded += usize::from(agreed);
        }
        assert!(
            decoded > 1_000,
            "only {decoded} cases decoded: the test reaches little"
        );
    }

    /// Into a vector that holds other values, longer, shorter or empty: what postcard decodes,
    /// in the same allocation when it holds enough.
    #[test]
    fn decodes_into_a_vector_what_postcard_decodes_reusing_its_allocation() {
        let saved: Vec<f64> = (0..5_000).map(|i| f64::from(i) * 0.25).collect();
        let bytes = postcard::to_allocvec(&saved).unwrap();
        for old_len in [0, 1, 4_999, 5_000, 20_000] {
            let mut place: Vec<f64> = vec![-1.0; old_len];
            let old_ptr = place.as_ptr();
            let mut input = Bytes(&bytes);
            decode_into(&mut input, &mut place)
                .expect("a bulk type")
                .unwrap();
            assert_eq!(place, saved, "from {old_len} elements");
            assert!(input.0.is_empty());
            if old_len >= saved.len() {
                assert_eq!(
                    place.as_ptr(),
                    old_ptr,
                    "reallocated from {old_len} elements"
                );
            }
        }
        let mut place = vec![1.0f64; 10];
        let cut = &bytes[..bytes.len() - 1];
        assert!(decode_into(&mut Bytes(cut), &mut place).unwrap().is_err());
        assert!(decode_into(&mut Bytes(&bytes), &mut vec![1u32]).is_none());
    }

    #[test]
    fn other_types_are_left_to_serde() {
        let bytes = postcard::to_allocvec(&vec![1u32, 2]).unwrap();
        assert!(decode::<Vec<u32>>(&mut Bytes(&bytes)).is_none());
        assert!(decode::<Vec<Vec<f32>>>(&mut Bytes(&bytes)).is_none());
        assert!(decode::<(Vec<f32>,)>(&mut Bytes(&bytes)).is_none());
        assert!(decode::<std::borrow::Cow<'static, [u8]>>(&mut Bytes(&bytes)).is_none());
    }

    #[test]
    fn a_length_past_the_input_fails_before_allocating() {
        let mut bytes = Vec::new();
        crate::format::encode::push_varint(&mut bytes, 1 << 60);
        bytes.extend_from_slice(&[0; 16]);
        let got = decode::<Vec<f64>>(&mut Bytes(&bytes)).unwrap();
        assert!(matches!(
            got,
            Err(postcard::Error::DeserializeUnexpectedEnd)
        ));
    }
}
