//! What the runtime tells an [`io::Output`](crate::io::Output), and what it tells the runtime,
//! through thread-locals (its serde impls get nothing but the value):
//!
//! - whether a [`Restore`](crate::run::call::Restore) exists on this thread: the prelude's
//!   `Output` that a restore assigns over is dropped then, and must leave the file alone;
//! - how many runs this thread entered: until one did since an `Output` of `create` was
//!   opened (the code before a loop), what it is given stays in memory, so that a resumed
//!   run's prelude never empties the file before the restore puts it back;
//! - how many runs this thread refused (on entry, or at the restore): the prelude's `Output`
//!   of such a run is dropped without emptying the file, which holds the output of the run
//!   the refused one would have resumed (or another process's, holding its lock);
//! - while a [`Save`](crate::run::save::Save) is being written, the output files its bindings
//!   flushed: its sync job syncs them before the log (see `SyncJob::sync`), so the log's
//!   fsync never makes a length durable before the bytes it counts, and the record lists
//!   each file's length (the operating system may still write the record out on its own
//!   first: a resume then falls back to the newest record whose files are long enough);
//! - the error an `Output`'s `Serialize` or `Deserialize` failed with, which postcard's error
//!   cannot carry (it keeps no message): the save or the restore reports it instead.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::error::Error;
pub(crate) use crate::store::output_file::OutputFile;

/// An output file flushed for a save, and the length the save holds of it.
pub(crate) type Flushed = (Arc<OutputFile>, u64);

thread_local! {
    static RESTORING: Cell<u32> = const { Cell::new(0) };
    static ENTERED: Cell<u64> = const { Cell::new(0) };
    static REFUSED: Cell<u64> = const { Cell::new(0) };
    static FLUSHED: RefCell<Option<Vec<Flushed>>> = const { RefCell::new(None) };
    static FAILED: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Held by a [`Restore`](crate::run::call::Restore) while it exists.
pub(crate) struct Restoring(());

impl Restoring {
    pub(crate) fn new() -> Restoring {
        RESTORING.with(|count| count.set(count.get() + 1));
        Restoring(())
    }
}

impl Drop for Restoring {
    fn drop(&mut self) {
        RESTORING.with(|count| count.set(count.get().saturating_sub(1)));
    }
}

/// Whether a restore is assigning saved values over the prelude's on this thread.
pub(crate) fn restoring() -> bool {
    RESTORING.with(|count| count.get() > 0)
}

/// A run starts on this thread (it may yet be refused).
pub(crate) fn entered() {
    ENTERED.with(|count| count.set(count.get() + 1));
}

/// The runs this thread entered so far.
pub(crate) fn runs_entered() -> u64 {
    ENTERED.with(Cell::get)
}

/// A run on this thread was refused: on entry, or as it restored its state.
pub(crate) fn refused() {
    REFUSED.with(|count| count.set(count.get() + 1));
}

/// The runs this thread refused so far.
pub(crate) fn refusals() -> u64 {
    REFUSED.with(Cell::get)
}

/// Held by a [`Save`](crate::run::save::Save) from its start to its write: collects the
/// output files flushed meanwhile.
pub(crate) struct Collecting(());

impl Collecting {
    pub(crate) fn new() -> Collecting {
        FLUSHED.with(|flushed| *flushed.borrow_mut() = Some(Vec::new()));
        Collecting(())
    }

    /// The files flushed since the save started, each with the length saved of it.
    pub(crate) fn take(&self) -> Vec<Flushed> {
        FLUSHED.with(|flushed| {
            flushed
                .borrow_mut()
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default()
        })
    }
}

impl Drop for Collecting {
    fn drop(&mut self) {
        FLUSHED.with(|flushed| *flushed.borrow_mut() = None);
    }
}

/// An output file was flushed for the save being written, if one is, and `len` bytes of it
/// saved: its sync job syncs it, and the record lists its length.
pub(crate) fn flushed(file: &Arc<OutputFile>, len: u64) {
    FLUSHED.with(|flushed| {
        if let Some(files) = flushed.borrow_mut().as_mut() {
            match files.iter_mut().find(|(known, _)| Arc::ptr_eq(known, file)) {
                Some((_, known_len)) => *known_len = len,
                None => files.push((Arc::clone(file), len)),
            }
        }
    });
}

/// An `Output`'s serde impl failed with `err`: the save or restore reports it.
pub(crate) fn failed(err: Error) {
    FAILED.with(|failed| *failed.borrow_mut() = Some(err));
}

/// The error an `Output`'s serde impl failed with, once.
pub(crate) fn take_failure() -> Option<Error> {
    FAILED.with(|failed| failed.borrow_mut().take())
}
