//! Sequences that only grow. A checkpoint then writes just the elements added since the one
//! before (see [`crate::log::Part::Extend`]), so a run writes O(final size) bytes, not
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

use crate::__private::{Codec, State};
use crate::run::Save;

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
}

/// Items whose `Hash` covers every bit of what they serialize, so equal hashes of the saved
/// elements mean they did not change. Primitives, `String`, and tuples of them.
pub trait PlainItem: Serialize + Sized {
    /// Feeds `items` to `hasher`, every bit of each.
    fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H);
}

macro_rules! plain_by_hash {
    ($($ty:ty),*) => {$(
        impl PlainItem for $ty {
            #[inline]
            fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
                // For integers std writes the slice's bytes in one call.
                Hash::hash_slice(items, hasher);
            }
        }
    )*};
}

plain_by_hash!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char, String
);

impl PlainItem for f32 {
    fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
        for item in items {
            hasher.write_u32(item.to_bits());
        }
    }
}

impl PlainItem for f64 {
    fn hash_items<H: Hasher>(items: &[Self], hasher: &mut H) {
        for item in items {
            hasher.write_u64(item.to_bits());
        }
    }
}

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

/// A state binding, asked how it is saved. Autoref specialization: `(&Pick(&value)).pick(codec)`
/// finds [`Grows`] for a `Vec` of [`PlainItem`]s and for a `String`, and [`Whole`] for the rest.
pub struct Pick<'a, T>(pub &'a T);

/// Saved as a growing sequence, verified (see the module docs).
pub trait Grows {
    /// The binding's type.
    type Value;
    /// The codec that saves only new elements when the saved ones did not change.
    fn pick(&self, whole: Codec<Self::Value>) -> Codec<Self::Value>;
}

impl<E: PlainItem + State> Grows for Pick<'_, Vec<E>> {
    type Value = Vec<E>;
    #[inline(always)]
    fn pick(&self, whole: Codec<Vec<E>>) -> Codec<Vec<E>> {
        Codec {
            save: |save, value| save.grown(value),
            ..whole
        }
    }
}

impl Grows for Pick<'_, String> {
    type Value = String;
    #[inline(always)]
    fn pick(&self, whole: Codec<String>) -> Codec<String> {
        Codec {
            save: |save, value| save.grown_str(value),
            ..whole
        }
    }
}

/// Saved whole at every checkpoint.
pub trait Whole {
    /// The binding's type.
    type Value;
    /// The codec as it is.
    #[inline(always)]
    fn pick(&self, whole: Codec<Self::Value>) -> Codec<Self::Value> {
        whole
    }
}

impl<T> Whole for &Pick<'_, T> {
    type Value = T;
}

/// A binding named in `append(...)`.
#[diagnostic::on_unimplemented(
    message = "`append(...)` works on `Vec<T>` and `String`, not on `{Self}`",
    label = "declared append-only here",
    note = "remove it from `append(...)`: it is then saved whole at every checkpoint"
)]
pub trait AppendOnly {
    /// Saves only what was appended since the last checkpoint, after checking that nothing
    /// saved changed.
    fn save_appended(save: &mut Save<'_>, value: &Self);
}

impl<E: Serialize> AppendOnly for Vec<E> {
    fn save_appended(save: &mut Save<'_>, value: &Self) {
        save.appended(value);
    }
}

impl AppendOnly for String {
    fn save_appended(save: &mut Save<'_>, value: &Self) {
        save.appended_str(value);
    }
}

/// The codec of a binding declared in `append(...)`.
#[inline(always)]
pub fn append_only<T: AppendOnly>(_: &T, whole: Codec<T>) -> Codec<T> {
    Codec {
        save: T::save_appended,
        ..whole
    }
}
