//! A checkpoint file as a whole: the envelope around postcard-encoded values, written through
//! [`storage`] and checked on the way back in. Both the macro's runtime and the public
//! `save`/`load` API go through here.

use std::ops::Range;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::envelope::{self, Meta};
use crate::error::Error;
use crate::storage;

/// A checkpoint read from disk whose envelope, checksum and fingerprint were checked.
pub(crate) struct Loaded {
    pub meta: Meta,
    bytes: Vec<u8>,
    payload: Range<usize>,
}

impl Loaded {
    pub(crate) fn payload(&self) -> &[u8] {
        &self.bytes[self.payload.clone()]
    }
}

/// Reads `path` and checks that it is an intact checkpoint of state described by `label` and
/// `shape`. `Ok(None)` if there is no file.
pub(crate) fn read_checked(path: &Path, label: &str, shape: &str) -> Result<Option<Loaded>, Error> {
    let Some(bytes) = storage::read(path)? else {
        return Ok(None);
    };
    let decoded = envelope::decode(&bytes).map_err(|problem| Error::corrupt(path, problem))?;
    if decoded.meta.fingerprint != envelope::fingerprint(label, shape) {
        return Err(Error::Mismatch {
            path: path.into(),
            saved: describe(&decoded.meta.label, &decoded.meta.shape),
            expected: describe(label, shape),
        });
    }
    let start = decoded.payload.as_ptr() as usize - bytes.as_ptr() as usize;
    let payload = start..start + decoded.payload.len();
    let meta = decoded.meta;
    Ok(Some(Loaded {
        meta,
        bytes,
        payload,
    }))
}

fn describe(label: &str, shape: &str) -> String {
    format!("`{label}` with state ({shape})")
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

    /// Seals the checkpoint and replaces `path` with it, atomically and durably.
    pub(crate) fn commit(&mut self, path: &Path) -> Result<(), Error> {
        envelope::finish(&mut self.buf);
        storage::write_atomically(path, &self.buf)
    }
}

/// Decodes the next value of a payload, advancing `rest` past it.
pub(crate) fn take_value<T: DeserializeOwned>(rest: &mut &[u8]) -> Result<T, postcard::Error> {
    let (value, tail) = postcard::take_from_bytes(rest)?;
    *rest = tail;
    Ok(value)
}

/// A postcard output that appends to a borrowed `Vec`, so the buffer outlives one save.
struct VecFlavor<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for VecFlavor<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}
