//! Where the bytes go: the filesystem seam ([`fs::Fs`]: the real one, or the simulated disk of
//! the unit tests), crash-safe replacement and the generations of a checkpoint's files, the
//! journal that appends records to a log, the background syncer that makes them durable, the
//! recovery that picks the file a run resumes from, the lock of one run per checkpoint, the wall clock, and
//! (`remote`, the `object-store` feature) the copy of each checkpoint on an object store.
//!
//! It knows files and records as bytes (through `format`), never the state's types, and uses
//! nothing above it (`run`, `inspect`).

pub(crate) mod clock;
pub(crate) mod files;
pub(crate) mod fs;
pub(crate) mod hooks;
pub(crate) mod journal;
pub(crate) mod lock;
pub(crate) mod output_file;
pub(crate) mod recover;
pub(crate) mod remote;
pub(crate) mod spill;
pub(crate) mod syncer;
