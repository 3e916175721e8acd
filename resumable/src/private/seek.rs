//! How a resumed loop's iterator gets past the items the interrupted run completed: by the
//! position it saved with the checkpoint when it implements [`Position`] (one seek), else by
//! `nth` over those items. Chosen by autoref specialization on the iterator's type:
//! `(&Seek(&iter)).seeker()` finds [`ByPosition`] for a `Position` iterator and [`ByNth`] for
//! the rest, so a loop over any other iterator is saved and resumed as before.

use crate::error::Error;
use crate::position::Position;
use crate::run::call::{Restore, Run};
use crate::run::save::Encoded;

/// The loop's iterator, asked how it resumes.
pub struct Seek<'a, I>(pub &'a I);

/// What the run does with the iterator's position. A copy of fn pointers, like a state
/// binding's [`Codec`](super::Codec).
pub struct Seeker<I> {
    /// The structure of the position the iterator saves (recorded in the checkpoint's shape,
    /// so that another iterator type is refused); `None` if it saves none.
    pub shape: fn() -> Option<String>,
    /// At a boundary, before the next item is pulled: tells the run where the iterator stands
    /// after `completed` items, for the save at that boundary.
    pub mark: fn(&I, &mut Run, u64),
    /// On resume: decodes the saved position (the checkpoint's first value) into its bytes.
    pub load: fn(&mut Restore) -> Result<Vec<u8>, Error>,
    /// Puts a fresh iterator at the saved position (its bytes, from `load`).
    pub resume: fn(&mut I, &[u8]) -> Result<(), Error>,
}

impl<I> Clone for Seeker<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I> Copy for Seeker<I> {}

/// A [`Position`] iterator: its position is saved with each checkpoint.
pub trait ByPosition {
    /// The iterator.
    type Iter;
    /// The seeker that saves and restores its position.
    fn seeker(&self) -> Seeker<Self::Iter>;
}

impl<I: Position> ByPosition for Seek<'_, I> {
    type Iter = I;
    #[inline(always)]
    fn seeker(&self) -> Seeker<I> {
        Seeker {
            shape: || Some(crate::format::shape::shape_of::<I::Saved>()),
            mark: |iter, run, completed| run.mark(completed, Encoded::of(&iter.position())),
            load: |restore| {
                let saved: I::Saved = restore.value()?;
                Ok(postcard::to_allocvec(&saved).expect("it was decoded from these bytes"))
            },
            resume: |iter, bytes| {
                let saved = postcard::from_bytes(bytes).expect("encoded by `load`");
                iter.resume_at(saved)
            },
        }
    }
}

/// Any other iterator: a resume skips the completed items with `nth`.
pub trait ByNth {
    /// The iterator.
    type Iter;
    /// The seeker that saves nothing.
    #[inline(always)]
    fn seeker(&self) -> Seeker<Self::Iter> {
        Seeker {
            shape: || None,
            mark: |_, _, _| {},
            load: |_| unreachable!("a run without a position never loads one"),
            resume: |_, _| unreachable!("a run without a position never resumes at one"),
        }
    }
}

impl<I> ByNth for &Seek<'_, I> {
    type Iter = I;
}
