//! Restoring: the saved state read back binding by binding, in the order it was saved, a
//! chunk of the file at a time; and what the restore found of growing sequences, which the
//! run's next save appends to.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::format::checkpoint;
use crate::format::hash::Hash128;
use crate::format::stream::{DecodeError, Reader};
use crate::run::growth::Growth;
use crate::run::outputs::{self, Restoring};

use super::Run;

impl Run {
    /// The saved state to assign back to the bindings, if there is a checkpoint.
    pub fn restore(&mut self) -> Option<Restore> {
        let (loaded, path) = self.loaded.take()?;
        Some(Restore {
            path,
            reader: loaded.payload.reader(),
            binding: 0,
            restored: Arc::clone(&self.restored),
            sequences: Arc::clone(&self.sequences),
            candidates: Vec::new(),
            seen: None,
            failed: None,
            _restoring: Restoring::new(),
        })
    }

    /// [`Run::restore`] for a single loop, whose iterator may save its position: then the
    /// checkpoint's first value is that position, decoded by `load` and kept for
    /// [`Run::prepare`]. An error decoding it is the restore's, returned by its next value or
    /// its `finish`.
    pub fn restore_with(
        &mut self,
        load: fn(&mut Restore) -> Result<Vec<u8>, Error>,
    ) -> Option<Restore> {
        let mut restore = self.restore()?;
        if self.positioned {
            match load(&mut restore) {
                Ok(bytes) => self.resume_position = Some(bytes),
                Err(err) => restore.failed = Some(err),
            }
        }
        Some(restore)
    }

    /// Takes what the restore found of the bindings declared in `append(...)`, once.
    #[inline]
    pub(super) fn take_restored(&mut self) {
        // A load first: a nest asks at every outer iteration, and a swap would be a locked
        // instruction each time.
        if !self.restored.any.load(Ordering::Relaxed)
            || !self.restored.any.swap(false, Ordering::Acquire)
        {
            return;
        }
        let mut restored = self.restored.growth();
        for (binding, growth) in restored.drain(..) {
            let len = match &growth {
                Growth::Declared { len, .. } | Growth::Restored { len, .. } => Some(*len),
                #[cfg(feature = "polars")]
                Growth::Rows { pieces, .. } => Some(*pieces),
                Growth::Checked { .. } | Growth::Changing => None,
            };
            if len.is_none() || self.continued.get(binding) != Some(&len) {
                continue;
            }
            self.saver.growth[binding] = Some(growth);
        }
    }
}

/// Restores the state from a checkpoint, one value at a time, in the order they were saved,
/// reading the file in chunks as it goes.
pub struct Restore {
    path: PathBuf,
    reader: Reader,
    /// The binding the next value is.
    binding: usize,
    /// Shared with the [`Run`], which takes it at its next save.
    restored: Arc<Restored>,
    /// Per binding: whether it is a sequence of plain items or a string (by its shape), whose
    /// growth a save may find.
    sequences: Arc<[bool]>,
    /// Such bindings restored: the binding, and its bytes' length prefix and hash.
    candidates: Vec<(usize, SeenBytes)>,
    /// What the binding being decoded fed of its bytes, if it is such a binding.
    seen: Option<SeenBytes>,
    /// The iterator's saved position did not decode (see [`Run::restore_with`]): the error
    /// the next value, or `finish`, returns.
    failed: Option<Error>,
    /// While it exists, an `io::Output` the restore assigns over leaves its file alone.
    _restoring: Restoring,
}

/// What a [`Restore`] found of the bindings declared in `append(...)`, for the [`Run`]: each
/// binding's growth, and whether there is any not taken yet (checked at every outer
/// iteration of a nest, so without the lock).
#[derive(Default)]
pub(super) struct Restored {
    any: AtomicBool,
    growth: Mutex<Vec<(usize, Growth)>>,
}

impl Restored {
    /// The growth found so far (a panic elsewhere while it was held changes nothing in it).
    fn growth(&self) -> MutexGuard<'_, Vec<(usize, Growth)>> {
        self.growth.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A restored sequence's bytes as they were decoded: their hash, and their first bytes (the
/// sequence's length).
#[derive(Default)]
struct SeenBytes {
    hasher: Hash128,
    first: Vec<u8>,
}

impl std::hash::Hasher for SeenBytes {
    fn write(&mut self, bytes: &[u8]) {
        let more = bytes.len().min(MAX_VARINT_LEN - self.first.len());
        self.first.extend_from_slice(&bytes[..more]);
        self.hasher.write(bytes);
    }

    fn finish(&self) -> u64 {
        self.hasher.finish()
    }
}

/// The longest a postcard `usize` is.
const MAX_VARINT_LEN: usize = 10;

impl Restore {
    /// Decodes the next state value.
    ///
    /// # Errors
    /// If the payload does not decode: the function stops before any value is used.
    pub fn value<T: DeserializeOwned>(&mut self) -> Result<T, Error> {
        self.next_value(|reader, hasher| match hasher {
            Some(hasher) => reader.value_hashed(hasher),
            None => reader.value(),
        })
    }

    /// Decodes the next state value into `place`, which holds the binding's value from the
    /// prelude: a `Vec` or a `String` (alone or inside a tuple, an array or another `Vec`) is
    /// read over its allocation, so a resume holds the state once, not the prelude's copy and
    /// the checkpoint's (other types are decoded whole, then assigned).
    ///
    /// # Errors
    /// If the payload does not decode: `place` may then hold part of the saved value, and the
    /// function stops before it is used.
    pub fn value_into<T: DeserializeOwned>(&mut self, place: &mut T) -> Result<(), Error> {
        self.next_value(|reader, hasher| reader.value_into(place, hasher))
    }

    /// Decodes the next binding with `decode`, which feeds its bytes to the hasher it is given:
    /// one for a binding whose growth the next save looks for (see [`Restore::finish`]).
    fn next_value<R>(
        &mut self,
        decode: impl FnOnce(&mut Reader, Option<&mut dyn std::hash::Hasher>) -> Result<R, DecodeError>,
    ) -> Result<R, Error> {
        // What is around `decode` takes no type parameter: compiled once, here, not in every
        // crate that restores a state (issue 25).
        self.begin_value()?;
        let hasher = self
            .seen
            .as_mut()
            .map(|seen| seen as &mut dyn std::hash::Hasher);
        let decoded = decode(&mut self.reader, hasher);
        self.end_value();
        decoded.map_err(|err| self.decode_failed(err))
    }

    /// Starts the next binding: the error its decode returns at once, if the iterator's
    /// position did not decode; else what sees its bytes, if its growth is looked for.
    fn begin_value(&mut self) -> Result<(), Error> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        self.binding += 1;
        let sequence = self.sequences.get(self.binding - 1) == Some(&true);
        self.seen = sequence.then(SeenBytes::default);
        Ok(())
    }

    /// Ends the binding [`Restore::begin_value`] started: keeps what was seen of its bytes.
    fn end_value(&mut self) {
        if let Some(seen) = self.seen.take() {
            self.candidates.push((self.binding - 1, seen));
        }
    }

    /// Decodes the next state value in place of `old`, the binding's value from the prelude,
    /// never holding both whole: a `Vec` of `f32`, `f64`, `u8` or `i8` is read over its
    /// elements; any other `old` is dropped first (a derived struct's `Deserialize` has no
    /// in-place form to decode over it with).
    ///
    /// # Errors
    /// If the payload does not decode: the function stops before the binding is used.
    pub fn value_over<T: DeserializeOwned>(&mut self, old: T) -> Result<T, Error> {
        if crate::format::bulk::reuses_place::<T>() {
            let mut value = old;
            self.value_into(&mut value)?;
            return Ok(value);
        }
        drop(old);
        self.value()
    }

    /// The error for a value that decoded but does not hold what its type needs (a tensor's
    /// bytes of another length than its header says): the checkpoint is damaged.
    pub fn damaged(&self, problem: String) -> Error {
        outputs::refused();
        Error::corrupt(&self.path, problem)
    }

    fn decode_failed(&self, err: DecodeError) -> Error {
        // The prelude's `io::Output` leaves its file as it is.
        outputs::refused();
        // An `io::Output` that refused says why; postcard's error cannot.
        outputs::take_failure().unwrap_or_else(|| checkpoint::decode_failed(&self.path, err))
    }

    /// The value just decoded is a binding declared in `append(...)`, of `len` elements (bytes,
    /// for a `String`), whose last is encoded `last`: the next save appends only what follows
    /// it, after checking it is unchanged, as it would have after the save that wrote it.
    pub fn appended_restored(&mut self, len: u64, last: Vec<u8>) {
        let binding = self.binding - 1;
        self.candidates
            .retain(|(candidate, _)| *candidate != binding);
        let growth = Growth::Declared { len, last };
        self.restored.growth().push((self.binding - 1, growth));
        self.restored.any.store(true, Ordering::Release);
    }

    /// The value just decoded is a binding grown by rows whose chain holds `pieces` pieces:
    /// the next save appends a piece after checking the rows against `check` (the codec's own).
    #[cfg(feature = "polars")]
    pub(crate) fn rows_restored(
        &mut self,
        pieces: u64,
        check: Box<dyn std::any::Any + Send + Sync>,
    ) {
        let binding = self.binding - 1;
        self.candidates
            .retain(|(candidate, _)| *candidate != binding);
        let growth = Growth::Rows { pieces, check };
        self.restored.growth().push((binding, growth));
        self.restored.any.store(true, Ordering::Release);
    }

    /// Checks that every byte of the payload was used.
    pub fn finish(mut self) -> Result<(), Error> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        let left = self.reader.remaining();
        if left != 0 {
            outputs::refused();
            return Err(Error::corrupt(
                &self.path,
                format!("{left} bytes are left over after the state"),
            ));
        }
        // Sequences whose growth the runtime finds: their first save checks them against
        // the hash of their bytes here, and if unchanged appends to them.
        if self.candidates.is_empty() {
            return Ok(());
        }
        let mut growth = self.restored.growth();
        for (binding, seen) in self.candidates {
            let Ok((len, _)) = postcard::take_from_bytes::<usize>(&seen.first) else {
                continue;
            };
            growth.push((
                binding,
                Growth::Restored {
                    len: len as u64,
                    bytes: seen.hasher.finish128(),
                },
            ));
        }
        drop(growth);
        self.restored.any.store(true, Ordering::Release);
        Ok(())
    }
}
