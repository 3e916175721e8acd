//! Preparing the loop's iterator: iterators of a random order refused, the completed
//! iterations skipped (`nth`) or the saved position sought, and the item resumed at checked.

use crate::error::Error;

use super::Run;
use super::open::refused;
use super::restore::Restore;

impl Run {
    /// The error for a nest whose outer loop ended before the iteration its checkpoint was
    /// saved in (a `while` whose condition no longer held there, a `break` before the inner
    /// loop): the saved state was never restored, so the run is refused instead of returning
    /// the state the loop starts with.
    pub fn outer_ended_early(&self, outer: u64) -> Error {
        let err = self.too_short(outer);
        refused(self.function, &err);
        err
    }

    /// Completed iterations to skip: the checkpoint's index, or 0.
    pub fn start_index(&self) -> u64 {
        self.start
    }

    /// Refuses iterators whose order is random per process, then advances `iter` past the
    /// iterations already completed (with `nth`, O(1) for ranges). Takes and gives back the
    /// iterator by value, so its address never escapes and the loop keeps it in registers.
    ///
    /// # Errors
    /// If `iter` walks a `HashMap` or `HashSet`, or ends before the saved index, or yields
    /// another item there than the saved run did: it would not yield what it yielded then.
    ///
    /// `fingerprint` gives an item's fingerprint (see [`crate::__private::ItemHash`]; a `fn`
    /// pointer, so that this is compiled once per iterator type, not once per function): on
    /// resume from a save that holds none (one after a failure), the item after the last
    /// record that holds one is checked on the way, so that an order that changed is caught
    /// there too.
    ///
    /// An iterator that saved its position (see [`Run::restore_with`]) is put back there by
    /// `resume` instead, in one step; its next item is still checked at the first boundary.
    ///
    /// `restore` is the checkpoint the state was just restored from, if any: it is finished
    /// first (nothing may be left in it), so that the function has one error to route for
    /// both. Then the progress report learns how many items are left.
    #[inline(never)] // once per call: not to be optimized again in every annotated function
    pub fn prepare<I: Iterator>(
        &mut self,
        iter: I,
        restore: Option<Restore>,
        fingerprint: fn(&I::Item) -> Option<u64>,
        resume: fn(&mut I, &[u8]) -> Result<(), Error>,
    ) -> Result<I, Error> {
        if let Some(restore) = restore {
            restore.finish()?;
        }
        let iter = match self.resume_position.take() {
            Some(position) => self.refuse_unordered::<I>().and_then(|()| {
                let mut iter = iter;
                resume(&mut iter, &position)?;
                Ok(iter)
            }),
            None => self.prepare_checked(iter, fingerprint),
        }
        .inspect_err(|err| refused(self.function, err))?;
        self.size_hint(iter.size_hint());
        Ok(iter)
    }

    fn prepare_checked<I: Iterator>(
        &mut self,
        iter: I,
        fingerprint: fn(&I::Item) -> Option<u64>,
    ) -> Result<I, Error> {
        self.refuse_unordered::<I>()?;
        let start = self.start;
        let Some((at, expected)) = self.expected.take_if(|&mut (at, _)| at < start) else {
            return self.skip_items(iter, self.start);
        };
        let mut iter = self.skip_items(iter, at)?;
        let Some(item) = iter.next() else {
            return Err(self.too_short(self.start));
        };
        if fingerprint(&item).is_some_and(|found| found != expected) {
            return Err(self.order_changed(at));
        }
        drop(item);
        self.skip_items(iter, self.start - at - 1)
    }

    /// [`Run::prepare`] for the outer loop of a nest: refuses iterators whose order is random
    /// per process, then advances `iter` past the `done` completed outer iterations. When
    /// `resuming`, the outer iteration the checkpoint was saved in (item `done`) must follow:
    /// the saved state is restored in it, so without it the loop would end with the state it
    /// starts with.
    ///
    /// # Errors
    /// Those of [`Run::prepare`] but the order check (a nest's items are not fingerprinted).
    pub fn skip<I: Iterator>(
        &self,
        iter: I,
        done: u64,
        resuming: bool,
    ) -> Result<std::iter::Peekable<I>, Error> {
        self.refuse_unordered::<I>()
            .and_then(|()| self.skip_items(iter, done))
            .and_then(|iter| {
                let mut iter = iter.peekable();
                match resuming && iter.peek().is_none() {
                    true => Err(self.too_short(done + 1)),
                    false => Ok(iter),
                }
            })
            .inspect_err(|err| refused(self.function, err))
    }

    /// [`Run::skip`] for the inner loop of a nest, made anew every outer iteration: the check
    /// of its type runs once per call of the function, and nothing else runs unless `done`
    /// items are to be skipped (only on resume).
    ///
    /// # Errors
    /// Those of [`Run::skip`].
    #[inline]
    pub fn skip_inner<I: Iterator>(&mut self, iter: I, done: u64) -> Result<I, Error> {
        if !self.inner_checked {
            self.inner_checked = true;
            self.refuse_unordered::<I>()
                .inspect_err(|err| refused(self.function, err))?;
        }
        if done == 0 {
            return Ok(iter);
        }
        self.skip_items(iter, done)
            .inspect_err(|err| refused(self.function, err))
    }

    fn refuse_unordered<I>(&self) -> Result<(), Error> {
        match crate::run::arg_key::unordered::<I>() {
            Some(iterator) => Err(self.unordered(iterator)),
            None => Ok(()),
        }
    }

    // The errors, apart from the generic functions above: compiled once, here, not once per
    // iterator type in every crate (issue 25).

    /// The iterator ended before item `index`.
    #[inline(never)]
    fn too_short(&self, index: u64) -> Error {
        Error::IteratorTooShort {
            path: self.generations.newest.clone(),
            index,
        }
    }

    /// Item `index` is another than the saved run's.
    #[inline(never)]
    fn order_changed(&self, index: u64) -> Error {
        Error::OrderChanged {
            path: self.generations.newest.clone(),
            index,
        }
    }

    /// The iterator, of type `iterator`, walks a hash table.
    #[inline(never)]
    fn unordered(&self, iterator: &'static str) -> Error {
        Error::UnorderedIterator {
            path: self.generations.newest.clone(),
            iterator,
        }
    }

    fn skip_items<I: Iterator>(&self, mut iter: I, done: u64) -> Result<I, Error> {
        let Some(last) = done.checked_sub(1) else {
            return Ok(iter);
        };
        let ended = match usize::try_from(last) {
            Ok(last) => iter.nth(last).is_none(),
            Err(_) => true,
        };
        if ended {
            return Err(self.too_short(done));
        }
        Ok(iter)
    }
}
