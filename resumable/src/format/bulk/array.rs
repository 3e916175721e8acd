//! ndarray's `Array<f32 | f64 | u8 | i8, D>` decoded in bulk: its serde writes `v` (a byte),
//! `dim` (a tuple of lengths, or a sequence of them for `IxDyn`) and `data` (the elements as a
//! sequence: postcard's `Vec` bytes), and builds the array from the `Vec` its visitor is handed.
//! So the array's own `Deserialize` runs, on a deserializer of ours that reads postcard's
//! bytes for the few calls it makes and hands it the `Vec` filled with one copy.
//!
//! A restore site knows only `T: DeserializeOwned`: castaway cannot name an ndarray type
//! (that needs its `unsafe` trait `LifetimeFree` on a foreign type). So `T` is asked instead,
//! once, with no bytes ([`probe`]): an array is the struct `Array` with fields `v`, `dim`,
//! `data`, whose visitor expects an "ndarray representation", and whose `data` asks for a
//! `Vec` the bulk decode fills. Anything else, or any other call, is left to serde.
//!
//! A state array in a memory order other than row-major (column-major, axes permuted) is saved
//! in a format of ours, version [`PERMUTED_VERSION`]: that byte, the order of its axes in
//! memory, then the array in ndarray's format over the axes in that order (which is row-major,
//! so its data is the array's memory as it is). Read only where a codec asks for it
//! ([`in_memory_order`]), which puts the axes back; ndarray's serde, and any older reader,
//! refuse the version, so such a checkpoint is never read as a transposed array.

use std::cell::{Cell, RefCell};

use serde::de::{self, DeserializeOwned, DeserializeSeed, Expected, SeqAccess, Visitor};

use super::{Input, fill, new_in, varint_usize};

/// What ndarray's serde calls the struct, its fields, and what its visitor expects.
const NAME: &str = "Array";
const FIELDS: [&str; 3] = ["v", "dim", "data"];
const EXPECTING: &str = "ndarray representation";
/// The field the elements are in.
const DATA: usize = 2;

/// The format version of an array saved in its own memory order (ndarray's is 1).
pub(crate) const PERMUTED_VERSION: u8 = 2;

thread_local! {
    /// While a codec decodes an array that may be in its own memory order: `Some`, holding
    /// the order of its axes once read ([`in_memory_order`]).
    static ORDER: RefCell<Option<Option<Vec<usize>>>> = const { RefCell::new(None) };
}

/// Runs `decode`, in which one array saved in its own memory order may be read: returns what
/// it returned and that array's order of axes in memory, if it was saved so. Elsewhere such
/// an array is an unknown version, as to ndarray's serde.
pub(crate) fn in_memory_order<R>(decode: impl FnOnce() -> R) -> (R, Option<Vec<usize>>) {
    /// Stops accepting the format when the decode ends, by a panic too.
    struct Accepting;
    impl Drop for Accepting {
        fn drop(&mut self) {
            ORDER.with(|order| order.borrow_mut().take());
        }
    }
    ORDER.with(|order| *order.borrow_mut() = Some(None));
    let accepting = Accepting;
    let decoded = decode();
    let order = ORDER.with(|order| order.borrow_mut().take()).flatten();
    drop(accepting);
    (decoded, order)
}

/// The order of axes after a [`PERMUTED_VERSION`] byte, if one is accepted here (none read
/// yet in an [`in_memory_order`] decode); `None` if it is not (the byte is then ndarray's to
/// refuse).
fn read_order(input: &mut dyn Input) -> Option<postcard::Result<()>> {
    let accepted = ORDER.with(|order| matches!(*order.borrow(), Some(None)));
    if !accepted {
        return None;
    }
    let read = (|| {
        let axes = varint_usize(input)?;
        // As many axes as ndarray's `IxDyn` could have, without an allocation a damaged
        // length could make huge.
        if axes > 64 {
            return Err(postcard::Error::DeserializeBadVarint);
        }
        let order = (0..axes)
            .map(|_| varint_usize(input))
            .collect::<postcard::Result<Vec<_>>>()?;
        ORDER.with(|slot| *slot.borrow_mut() = Some(Some(order)));
        Ok(())
    })();
    Some(read)
}

/// Whether a `T` is an ndarray array whose elements [`decode`] reads in bulk.
pub(super) fn is_array<T: DeserializeOwned>() -> bool {
    let seen = Seen::default();
    // Placeholders: a type's serde impls must not act on what they name (`io::Output`).
    let _tracing = crate::format::shape::Tracing::enter();
    let probe = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(T::deserialize(Arrays {
            input: None,
            seen: &seen,
            field: None,
        }));
    }));
    probe.is_ok() && seen.array.get() && seen.bulk_data.get() && !seen.other.get()
}

/// Decodes an array [`is_array`] accepted: the outcome is postcard's for the same bytes.
pub(super) fn decode<T: DeserializeOwned>(input: &mut dyn Input) -> postcard::Result<T> {
    let seen = Seen::default();
    T::deserialize(Arrays {
        input: Some(input),
        seen: &seen,
        field: None,
    })
}

/// What the probe saw.
#[derive(Default)]
struct Seen {
    /// ndarray's struct.
    array: Cell<bool>,
    /// Its `data` is a `Vec` the bulk decode fills.
    bulk_data: Cell<bool>,
    /// A call this deserializer does not serve.
    other: Cell<bool>,
}

/// A deserializer for the calls an ndarray array makes, reading postcard's bytes from
/// `input`, or answering with placeholders when there is none (the probe).
struct Arrays<'a, 'i> {
    input: Option<&'a mut (dyn Input + 'i)>,
    seen: &'a Seen,
    /// Which of the struct's fields this value is, inside it.
    field: Option<usize>,
}

impl Arrays<'_, '_> {
    fn refuse<V>(&self) -> postcard::Result<V> {
        self.seen.other.set(true);
        Err(postcard::Error::WontImplement)
    }

    fn varint(&mut self) -> postcard::Result<u64> {
        match self.input.as_deref_mut() {
            Some(input) => varint_usize(input).map(|n| n as u64),
            None => Ok(0),
        }
    }
}

/// A struct's fields, a tuple's or a sequence's elements: `left` of them.
struct Elements<'a, 'b, 'i> {
    de: &'b mut Arrays<'a, 'i>,
    left: usize,
    /// The struct's field index of the next element, inside ndarray's struct.
    field: Option<usize>,
}

impl<'de> SeqAccess<'de> for Elements<'_, '_, '_> {
    type Error = postcard::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> postcard::Result<Option<S::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let field = self.field;
        self.field = field.map(|at| at + 1);
        let inner = Arrays {
            input: self.de.input.as_deref_mut(),
            seen: self.de.seen,
            field,
        };
        seed.deserialize(inner).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

macro_rules! refused {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $(_: $arg,)* _: V) -> postcard::Result<V::Value> {
            self.refuse()
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Arrays<'_, '_> {
    type Error = postcard::Error;

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> postcard::Result<V::Value> {
        let byte = match self.input {
            Some(input) => {
                let mut byte = input
                    .pop()
                    .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
                // The format version: ours, where accepted, before ndarray's.
                if byte == PERMUTED_VERSION
                    && self.field == Some(0)
                    && let Some(read) = read_order(input)
                {
                    read?;
                    byte = input
                        .pop()
                        .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
                }
                byte
            }
            // ndarray's format version.
            None => 1,
        };
        visitor.visit_u8(byte)
    }

    /// A length (`usize` is a `u64` to serde).
    fn deserialize_u64<V: Visitor<'de>>(mut self, visitor: V) -> postcard::Result<V::Value> {
        visitor.visit_u64(self.varint()?)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> postcard::Result<V::Value> {
        let ndarray = self.field.is_none()
            && name == NAME
            && fields == FIELDS
            && format!("{}", &visitor as &dyn Expected) == EXPECTING;
        if !ndarray {
            return self.refuse();
        }
        self.seen.array.set(true);
        let mut de = self;
        visitor.visit_seq(Elements {
            de: &mut de,
            left: FIELDS.len(),
            field: Some(0),
        })
    }

    /// `dim`, a fixed number of lengths.
    fn deserialize_tuple<V: Visitor<'de>>(
        mut self,
        len: usize,
        visitor: V,
    ) -> postcard::Result<V::Value> {
        visitor.visit_seq(Elements {
            de: &mut self,
            left: len,
            field: None,
        })
    }

    /// A `Vec` of `f32`, `f64`, `u8` or `i8` (`data`) in bulk; any other sequence (an `IxDyn`'s
    /// `dim`) element by element.
    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> postcard::Result<V::Value> {
        let mut slot: Option<V::Value> = None;
        if let Some(vec) = new_in(&mut slot) {
            match self.input {
                Some(input) => fill(vec, input)?,
                None if self.field == Some(DATA) => self.seen.bulk_data.set(true),
                None => {}
            }
            return Ok(slot.expect("a filled slot holds the vector"));
        }
        if self.field == Some(DATA) {
            return self.refuse();
        }
        // The probe reads one element, so that what the elements call is seen too.
        let len = match self.input {
            Some(_) => varint_usize(self.input.as_deref_mut().expect("checked"))?,
            None => 1,
        };
        visitor.visit_seq(Elements {
            de: &mut self,
            left: len,
            field: None,
        })
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> postcard::Result<V::Value> {
        self.refuse()
    }

    refused! {
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u16();
        deserialize_u32();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(&'static str);
        deserialize_newtype_struct(&'static str);
        deserialize_tuple_struct(&'static str, usize);
        deserialize_map();
        deserialize_enum(&'static str, &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArcArray2, Array, Array0, Array1, Array2, Array3, Array6, IxDyn, ShapeBuilder};
    use serde::Serialize;

    use super::*;
    use crate::format::bulk::tests::Bytes;
    use crate::testing::rng::TestRng as Rng;

    #[test]
    fn arrays_of_bulk_elements_are_found_and_nothing_else() {
        assert!(is_array::<Array1<f32>>());
        assert!(is_array::<Array2<f64>>());
        assert!(is_array::<Array3<i8>>());
        assert!(is_array::<Array<u8, IxDyn>>());
        assert!(is_array::<Array0<f64>>());
        assert!(is_array::<Array6<u8>>());
        assert!(is_array::<ArcArray2<f32>>());
        assert!(
            is_array::<(u64, Array1<f32>, Vec<f64>)>(),
            "read as postcard reads it"
        );
        assert!(!is_array::<Array1<u32>>());
        assert!(!is_array::<Array2<String>>());
        assert!(!is_array::<Vec<f32>>(), "decoded as a `Vec`, not here");
        assert!(!is_array::<Option<Array1<f32>>>());
        assert!(!is_array::<(Vec<u32>, Array1<f32>)>());
        assert!(!is_array::<(String, u64)>());
        assert!(!is_array::<std::collections::BTreeMap<u8, Array1<f32>>>());
        /// Named and shaped as ndarray's, but not it: its visitor expects another thing.
        #[derive(serde::Deserialize)]
        #[serde(rename = "Array")]
        #[allow(dead_code)]
        struct LookAlike {
            v: u8,
            dim: (usize,),
            data: Vec<f32>,
        }
        assert!(!is_array::<LookAlike>());
    }

    /// What postcard makes of `bytes` as a `T`: the value (as its bytes) and the bytes left.
    fn postcard_outcome<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
        let mut deserializer = postcard::Deserializer::from_bytes(bytes);
        let value: T = serde::Deserialize::deserialize(&mut deserializer).ok()?;
        let left = deserializer.finalize().unwrap().len();
        Some((postcard::to_allocvec(&value).unwrap(), left))
    }

    fn bulk_outcome<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
        assert!(is_array::<T>());
        let mut input = Bytes(bytes);
        let value: T = decode(&mut input).ok()?;
        Some((postcard::to_allocvec(&value).unwrap(), input.0.len()))
    }

    /// Arrays of every kind, encoded by ndarray's serde, then cut, with bytes flipped or added:
    /// the bulk decode and postcard agree on every outcome (values compared by their bytes,
    /// so NaNs with payloads count), and a bulk decode of a whole encoding is row-major.
    #[test]
    fn decodes_exactly_what_postcard_decodes_from_any_bytes() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut decoded = 0;
        for case in 0..3_000 {
            let (m, n) = (rng.below(40), rng.below(40));
            let raw: Vec<u8> = (0..(m + 1) * (n + 1) * 8)
                .map(|_| rng.next() as u8)
                .collect();
            let f64s: Vec<f64> = raw[..m * n * 8]
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect();
            let mut bytes = match case % 4 {
                0 => postcard::to_allocvec(&Array2::from_shape_vec((m, n), f64s).unwrap()),
                1 => postcard::to_allocvec(&Array1::from_vec(
                    raw[..m * 4]
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                        .collect::<Vec<_>>(),
                )),
                2 => postcard::to_allocvec(
                    &Array::from_shape_vec(IxDyn(&[m, n, 2]), raw[..m * n * 2].to_vec()).unwrap(),
                ),
                _ => postcard::to_allocvec(
                    &Array3::from_shape_vec(
                        (2, m, n),
                        raw[..2 * m * n].iter().map(|&b| b as i8).collect(),
                    )
                    .unwrap(),
                ),
            }
            .unwrap();
            for _ in 0..rng.below(3) {
                match rng.below(4) {
                    0 if !bytes.is_empty() => {
                        let at = rng.below(bytes.len().min(12));
                        bytes[at] ^= 1 << rng.below(8);
                    }
                    1 => bytes.truncate(rng.below(bytes.len() + 1)),
                    2 => bytes.push(rng.next() as u8),
                    _ => bytes.insert(rng.below(bytes.len().min(6) + 1), rng.next() as u8),
                }
            }
            let (got, expected) = match case % 4 {
                0 => (
                    bulk_outcome::<Array2<f64>>(&bytes),
                    postcard_outcome::<Array2<f64>>(&bytes),
                ),
                1 => (
                    bulk_outcome::<Array1<f32>>(&bytes),
                    postcard_outcome::<Array1<f32>>(&bytes),
                ),
                2 => (
                    bulk_outcome::<Array<u8, IxDyn>>(&bytes),
                    postcard_outcome::<Array<u8, IxDyn>>(&bytes),
                ),
                _ => (
                    bulk_outcome::<Array3<i8>>(&bytes),
                    postcard_outcome::<Array3<i8>>(&bytes),
                ),
            };
            assert_eq!(got, expected, "case {case}");
            decoded += usize::from(got.is_some());
        }
        assert!(
            decoded > 1_000,
            "only {decoded} cases decoded: the test reaches little"
        );
    }

    #[test]
    fn a_decoded_array_is_row_major_with_the_values_saved() {
        let saved = Array2::from_shape_fn((3, 5).f(), |(i, j)| (i * 10 + j) as f64);
        let bytes = postcard::to_allocvec(&saved).unwrap();
        let back: Array2<f64> = decode(&mut Bytes(&bytes)).unwrap();
        assert_eq!(back, saved);
        assert!(back.is_standard_layout(), "what ndarray's serde builds too");
    }

    /// An array saved in its own memory order: read where a codec asks, with its order;
    /// refused anywhere else (as ndarray's serde refuses it), and refused when damaged.
    #[test]
    fn an_array_in_its_own_memory_order_is_read_only_where_asked() {
        // Axes in memory order (1, 0), then a row-major (3, 2) array over them.
        let over = Array2::from_shape_fn((3, 2), |(i, j)| (i * 2 + j) as f32);
        let mut bytes = vec![PERMUTED_VERSION, 2, 1, 0];
        bytes.extend(postcard::to_allocvec(&over).unwrap());
        let (back, order) = in_memory_order(|| decode::<Array2<f32>>(&mut Bytes(&bytes)));
        assert_eq!(back.unwrap(), over);
        assert_eq!(order, Some(vec![1, 0]));
        assert!(
            decode::<Array2<f32>>(&mut Bytes(&bytes)).is_err(),
            "not asked"
        );
        assert!(
            postcard::from_bytes::<Array2<f32>>(&bytes).is_err(),
            "ndarray's serde"
        );
        // Not two in one decode.
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        let (back, _) = in_memory_order(|| decode::<(Array2<f32>, Array2<f32>)>(&mut Bytes(&two)));
        assert!(back.is_err());
        // Asked, and answered once: a later decode is back to refusing.
        assert!(decode::<Array2<f32>>(&mut Bytes(&bytes)).is_err());
        // A damaged order: too many axes, or cut short.
        let mut many = bytes.clone();
        many[1] = 100;
        assert!(
            in_memory_order(|| decode::<Array2<f32>>(&mut Bytes(&many)))
                .0
                .is_err()
        );
        assert!(
            in_memory_order(|| decode::<Array2<f32>>(&mut Bytes(&bytes[..3])))
                .0
                .is_err()
        );
    }

    #[test]
    fn a_length_past_the_input_fails_before_allocating() {
        // `v`, then `dim` = (2^40,), then `data` announcing 2^40 elements, then 8 bytes.
        let mut bytes = vec![1];
        crate::format::encode::push_varint(&mut bytes, 1 << 40);
        crate::format::encode::push_varint(&mut bytes, 1 << 40);
        bytes.extend_from_slice(&[0; 8]);
        let got = decode::<Array1<f64>>(&mut Bytes(&bytes));
        assert!(
            matches!(got, Err(postcard::Error::DeserializeUnexpectedEnd)),
            "{got:?}"
        );
    }
}
