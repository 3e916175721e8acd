//! The state at a save, binding by binding: the generated code lists the bindings (each with
//! the codec chosen for its type at the save site) and one function here saves them, for every
//! annotated function and both kinds of save — at a boundary ([`boundary`]) and after a failure
//! ([`save_after_failure`]). Not generic, so compiled once, not once per function.

use crate::Error;
use crate::run::call::Run;
use crate::run::round_trip::Comparison;
use crate::run::save::{Encoded, Save};

use super::codecs::Codec;

/// One state binding at a save: its value, how it is saved (the codec as the save site picked
/// it: whole, growing or appended) and how its round trip is compared.
pub struct Binding<'a, T> {
    value: &'a T,
    codec: Codec<T>,
    compare: Comparison<T>,
}

impl<'a, T> Binding<'a, T> {
    /// The binding `value`, saved by `codec`.
    #[inline(always)]
    pub fn new(value: &'a T, codec: Codec<T>, compare: Comparison<T>) -> Self {
        Binding {
            value,
            codec,
            compare,
        }
    }
}

/// A binding as a save takes it, whatever its type.
pub trait SaveBinding {
    /// Writes the binding into `save`; at the run's first checkpoint, checks its round trip
    /// first.
    fn save_into(&self, save: &mut Save<'_>);
}

impl<T> SaveBinding for Binding<'_, T> {
    fn save_into(&self, save: &mut Save<'_>) {
        if save.checks() {
            (self.codec.check)(save, self.value, &self.compare);
        }
        (self.codec.save)(save, self.value);
    }
}

/// A binding serialized ahead (a nest's between-loop binding that only the inner loop's
/// iterator names).
impl SaveBinding for Encoded {
    fn save_into(&self, save: &mut Save<'_>) {
        save.encoded(self);
    }
}

/// A boundary: `index` iterations done, the next item's fingerprint `next_item`. Saves `state`
/// when a checkpoint is due (on resume, checks the next item instead). `saving` is true while
/// a save runs: a panic from a `Serialize` impl then is not saved again (see `finish`); it
/// stays true when the save fails, whose error is returned.
pub fn boundary(
    run: &mut Run,
    saving: &mut bool,
    index: u64,
    next_item: Option<u64>,
    watched: &[(&'static str, Option<u64>)],
    state: &[&dyn SaveBinding],
) -> Result<(), Error> {
    if !run.at_boundary(index, next_item)? {
        return Ok(());
    }
    *saving = true;
    let mut save = run.save(index, next_item, watched);
    for binding in state {
        binding.save_into(&mut save);
    }
    save.commit()?;
    *saving = false;
    Ok(())
}

/// After `failure` in the iteration after `index`, which had not touched the state yet: saves
/// `state` at `index` (see `finish`'s `Pending`).
pub fn save_after_failure(
    run: &mut Run,
    index: u64,
    failure: &str,
    watched: &[(&'static str, Option<u64>)],
    state: &[&dyn SaveBinding],
) {
    let mut save = run.save(index, None, watched);
    for binding in state {
        binding.save_into(&mut save);
    }
    save.commit_after_failure(failure);
}
