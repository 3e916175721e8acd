//! Sequences that only grow. A checkpoint then writes just the elements added since the one
//! before (see [`crate::format::log::Part::Extend`]), so a run writes O(final size) bytes, not
//! O(size × checkpoints). Two ways in, both verified at every save:
//!
//! - Found: a `Vec` of plain items ([`PlainItem`]) or a `String`, with no hint. Each save
//!   hashes the elements already saved (128 bits, at memory speed) and compares; if anything
//!   in them changed, that save writes the sequence whole. Never a wrong state, at the cost of
//!   one pass over the sequence in memory.
//! - Declared: `#[resumable(append(results))]` on a `Vec<T>` of any serde `T`, or a `String`.
//!   Each save checks that the sequence did not shrink and that its last saved element is
//!   unchanged: O(new elements). A violation stops the run with an error; the checkpoint on
//!   disk stays as it was.

use std::hash::{Hash, Hasher};

use serde::Serialize;

use crate::format::encode::{VecFlavor, push_varint, push_varints};

/// What a run remembers of a growing binding since its last saved record.
pub(crate) enum Growth {
    /// Found growing: how many elements were saved and the hash of all of them; `missed` if
    /// the save before found the elements it had saved changed.
    Checked {
        len: u64,
        prefix: u128,
        missed: bool,
    },
    /// Found changed in place at two saves in a row: saved whole, unhashed, for the rest of
    /// the run (a vector of weights, say, rather than of results).
    Changing,
    /// Declared append-only: how many elements (bytes, for a `String`) were saved, and the
    /// encoding of the last of them.
    Declared { len: u64, last: Vec<u8> },
    /// Restored by a resumed run and not yet saved by it: how many elements (bytes, for a
    /// `String`) the checkpoint held, and the hash of their postcard bytes (length first),
    /// against which its first save checks that the loop did not change them.
    Restored { len: u64, bytes: u128 },
    /// Grown by rows (a polars `DataFrame`, the `polars` feature): how many pieces of rows the
    /// saved chain holds, and what the binding's codec keeps to check the next save against
    /// (its own type: this layer does not know it).
    #[cfg(feature = "polars")]
    Rows {
        pieces: u64,
        check: Box<dyn std::any::Any + Send + Sync>,
    },
}

/// Items whose `Hash` covers every bit of what they serialize, so equal hashes of the saved
/// elements mean they did not change. Primitives, `String`, and tuples of them.
///
/// Asked for only when the save site picks a growth codec before the type checker knows the
/// `Vec`'s element type (it is decided later in the source), hence the message.
#[diagnostic::on_unimplemented(
    message = "the element type of a state `Vec` is decided after the code that saves it, and `{Self}` is not a number, `String` or tuple of them",
    label = "give this binding its type where it is declared",
    note = "write the type where the binding is declared, e.g. `let mut name: Vec<{Self}> = Vec::new();`"
)]
pub trait PlainItem: Serialize + Sized {
    /// Feeds `items` to `hasher`, every bit of each.
    fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H);

    /// Appends postcard's encoding of each item to `out`, with nothing between them (what
    /// postcard writes after a sequence's length). Numbers have a direct encoder, tested to
    /// give postcard's bytes; the rest go through serde.
    #[doc(hidden)]
    fn encode_items(items: &[Self], out: &mut Vec<u8>) -> postcard::Result<()> {
        postcard::serialize_with_flavor(&Elements(items), VecFlavor(out))
    }
}

/// Elements of a sequence, serialized one after another with no length before them: what
/// postcard writes for a tuple, and for a sequence after its length.
pub(crate) struct Elements<'a, E>(pub &'a [E]);

impl<E: Serialize> Serialize for Elements<'_, E> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple as _;
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for element in self.0 {
            tuple.serialize_element(element)?;
        }
        tuple.end()
    }
}

macro_rules! plain_unsigned {
    ($($ty:ty),*) => {$(
        impl PlainItem for $ty {
            #[inline]
            fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
                // For integers std writes the slice's bytes in one call.
                Hash::hash_slice(items, hasher);
            }

            fn encode_items(items: &[Self], out: &mut Vec<u8>) -> postcard::Result<()> {
                push_varints(out, items, |item| item as u64);
                Ok(())
            }
        }
    )*};
}

plain_unsigned!(u16, u32, u64, usize);

impl PlainItem for u128 {
    #[inline]
    fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
        Hash::hash_slice(items, hasher);
    }

    fn encode_items(items: &[Self], out: &mut Vec<u8>) -> postcard::Result<()> {
        for &item in items {
            push_varint(out, item);
        }
        Ok(())
    }
}

macro_rules! plain_signed {
    ($($ty:ty => $unsigned:ty),*) => {$(
        impl PlainItem for $ty {
            #[inline]
            fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
                Hash::hash_slice(items, hasher);
            }

            fn encode_items(items: &[Self], out: &mut Vec<u8>) -> postcard::Result<()> {
                // Zigzag, then the varint, as postcard does.
                let zigzag = |item: $ty| ((item << 1) ^ (item >> (<$ty>::BITS - 1))) as $unsigned;
                push_varints(out, items, |item| zigzag(item) as u64);
                Ok(())
            }
        }
    )*};
}

plain_signed!(i16 => u16, i32 => u32, i64 => u64, isize => usize);

impl PlainItem for i128 {
    #[inline]
    fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
        Hash::hash_slice(items, hasher);
    }

    fn encode_items(items: &[Self], out: &mut Vec<u8>) -> postcard::Result<()> {
        for &item in items {
            push_varint(out, ((item << 1) ^ (item >> 127)) as u128);
        }
        Ok(())
    }
}

macro_rules! plain_by_hash {
    ($($ty:ty),*) => {$(
        impl PlainItem for $ty {
            #[inline]
            fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
                Hash::hash_slice(items, hasher);
            }
        }
    )*};
}

plain_by_hash!(u8, i8, bool, char, String);

macro_rules! plain_float {
    ($($ty:ty),*) => {$(
        impl PlainItem for $ty {
            fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
                // Through a buffer: one `write` per 64 floats, not one per float.
                let mut buf = [0u8; 64 * size_of::<$ty>()];
                for chunk in items.chunks(64) {
                    for (bytes, item) in buf.chunks_exact_mut(size_of::<$ty>()).zip(chunk) {
                        bytes.copy_from_slice(&item.to_bits().to_le_bytes());
                    }
                    hasher.write(&buf[..chunk.len() * size_of::<$ty>()]);
                }
            }

            fn encode_items(items: &[Self], out: &mut Vec<u8>) -> postcard::Result<()> {
                // Little-endian bytes, as postcard writes floats.
                let start = out.len();
                out.resize(start + items.len() * size_of::<$ty>(), 0);
                for (bytes, item) in out[start..].chunks_exact_mut(size_of::<$ty>()).zip(items) {
                    bytes.copy_from_slice(&item.to_le_bytes());
                }
                Ok(())
            }
        }
    )*};
}

plain_float!(f32, f64);

macro_rules! plain_tuple {
    ($($name:ident . $field:tt),*) => {
        impl<$($name: PlainItem),*> PlainItem for ($($name,)*) {
            fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
                for item in items {
                    $( $name::hash_items(std::slice::from_ref(&item.$field), hasher); )*
                }
            }
        }
    };
}

plain_tuple!(A.0, B.1);
plain_tuple!(A.0, B.1, C.2);
plain_tuple!(A.0, B.1, C.2, D.3);

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct encoders write exactly what postcard writes after a sequence's length.
    fn same_as_postcard<E: PlainItem + Serialize>(items: &[E]) {
        let mut ours = Vec::new();
        E::encode_items(items, &mut ours).unwrap();
        let whole = postcard::to_allocvec(items).unwrap();
        let mut length = Vec::new();
        push_varint(&mut length, items.len() as u128);
        assert_eq!(
            &whole[length.len()..],
            &ours[..],
            "{}",
            std::any::type_name::<E>()
        );
    }

    #[test]
    fn direct_encoders_match_postcard() {
        let mut rng = crate::testing::rng::TestRng(0x9E37_79B9_7F4A_7C15);
        let mut next = move || {
            // Every width of varint: shift a random value right by a random amount.
            let x = rng.next();
            x >> (x % 64)
        };
        let words: Vec<u64> = (0..5000)
            .map(|_| next())
            .chain([0, 1, 127, 128, u64::MAX])
            // Each side of the word-at-once encoding's limit (2^56) and of 8 and 9 bytes.
            .chain([
                (1 << 49) - 1,
                1 << 49,
                (1 << 56) - 1,
                1 << 56,
                (1 << 63) - 1,
                1 << 63,
            ])
            .collect();
        same_as_postcard(&words);
        same_as_postcard(&words.iter().map(|&w| w as u16).collect::<Vec<_>>());
        same_as_postcard(&words.iter().map(|&w| w as u32).collect::<Vec<_>>());
        same_as_postcard(&words.iter().map(|&w| w as usize).collect::<Vec<_>>());
        same_as_postcard(
            &words
                .iter()
                .map(|&w| (w as u128) << (w % 64))
                .collect::<Vec<_>>(),
        );
        same_as_postcard(&words.iter().map(|&w| w as i16).collect::<Vec<_>>());
        same_as_postcard(&words.iter().map(|&w| w as i32).collect::<Vec<_>>());
        same_as_postcard(&words.iter().map(|&w| w as i64).collect::<Vec<_>>());
        same_as_postcard(&words.iter().map(|&w| w as isize).collect::<Vec<_>>());
        same_as_postcard(
            &words
                .iter()
                .map(|&w| ((w as i128) << (w % 64)) - (w as i128))
                .collect::<Vec<_>>(),
        );
        same_as_postcard(&[i64::MIN, i64::MAX, -1, 0, 1]);
        same_as_postcard(&[i128::MIN, i128::MAX, -1, 0, 1]);
        same_as_postcard(&words.iter().map(|&w| f64::from_bits(w)).collect::<Vec<_>>());
        same_as_postcard(
            &words
                .iter()
                .map(|&w| f32::from_bits(w as u32))
                .collect::<Vec<_>>(),
        );
        same_as_postcard(&words.iter().map(|&w| w as u8).collect::<Vec<_>>());
        same_as_postcard(&words.iter().map(|&w| w as i8).collect::<Vec<_>>());
        same_as_postcard(&words.iter().map(|&w| w % 2 == 0).collect::<Vec<_>>());
        same_as_postcard(&['a', 'é', '€', '😀']);
        same_as_postcard(&["".to_string(), "abc".into(), "x".repeat(300)]);
        same_as_postcard(&[(1u64, -2i32), (u64::MAX, i32::MIN)]);
    }
}
