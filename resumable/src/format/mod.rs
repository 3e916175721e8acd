//! What a checkpoint file holds, and how it is checked: the version-1 envelope and the log's
//! header and records (version 3 in frames), the CRC-32C over every byte, postcard written by
//! hand, the label and shape text that say whose state a file is, the structure of state types
//! traced from their serde impls, the nesting limit of decoding, and the decoding of the state
//! from a file read in chunks (`source`, `stream`), numeric vectors in bulk (`bulk`).
//!
//! Bytes in, bytes out: nothing here opens, writes or names a file (a [`source::Source`] is
//! read from, whoever opened it), and nothing here uses the layers above (`store`, `run`).
//! Decoding never panics, whatever the bytes.

pub(crate) mod bulk;
pub(crate) mod checkpoint;
pub(crate) mod checksum;
pub(crate) mod depth_limit;
pub(crate) mod encode;
pub(crate) mod envelope;
pub(crate) mod hash;
pub(crate) mod label;
pub(crate) mod log;
pub(crate) mod shape;
pub(crate) mod source;
pub(crate) mod stream;
