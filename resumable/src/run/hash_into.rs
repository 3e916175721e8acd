//! Fingerprints of values through their serde or `Debug` form, fed straight into a hasher
//! without a copy: the checkpoint's default key (`arg_key`), the loop's next item, and the
//! bindings watched for changes through `&` (`__private::Watched`), at most a given number of
//! bytes.

use std::fmt;
use std::hash::Hasher;

use serde::Serialize;

/// Hashes at most `cap` bytes of what is written into it.
pub(crate) struct HashInto<'a, H: Hasher> {
    hasher: &'a mut H,
    room: usize,
}

impl<'a, H: Hasher> HashInto<'a, H> {
    /// Feeds `hasher` at most `cap` bytes.
    pub(crate) fn new(hasher: &'a mut H, cap: usize) -> Self {
        HashInto { hasher, room: cap }
    }

    /// Feeds what fits; `false` once full.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let taken = &bytes[..bytes.len().min(self.room)];
        self.hasher.write(taken);
        self.room -= taken.len();
        taken.len() == bytes.len()
    }
}

/// Feeds `value`'s postcard bytes, as many as fit, into `hasher`; `false` if its `Serialize`
/// failed (a full cap is not a failure).
pub(crate) fn serialized<T: Serialize + ?Sized, H: Hasher>(
    value: &T,
    hasher: &mut H,
    cap: usize,
) -> bool {
    match postcard::serialize_with_flavor(value, HashInto::new(hasher, cap)) {
        Ok(()) | Err(postcard::Error::SerializeBufferFull) => true,
        Err(_) => false,
    }
}

/// Feeds `value`'s `Debug` text, as much as fits, into `hasher`.
pub(crate) fn debugged<T: fmt::Debug + ?Sized, H: Hasher>(value: &T, hasher: &mut H, cap: usize) {
    let _ = fmt::write(&mut HashInto::new(hasher, cap), format_args!("{value:?}"));
}

impl<H: Hasher> postcard::ser_flavors::Flavor for HashInto<'_, H> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        match self.feed(data) {
            true => Ok(()),
            false => Err(postcard::Error::SerializeBufferFull),
        }
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.try_extend(&[data])
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

impl<H: Hasher> fmt::Write for HashInto<'_, H> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        match self.feed(text.as_bytes()) {
            true => Ok(()),
            false => Err(fmt::Error),
        }
    }
}
