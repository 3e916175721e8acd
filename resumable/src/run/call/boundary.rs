//! The loop's boundaries: where they fall, whether a save is due at one (count, timer, stop),
//! what a save checks first (the watched bindings, the iterator's position), and the save.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::Error;
use crate::run::interrupt::{self, Point};
use crate::run::save::{Encoded, Save};
use crate::run::signals;

use super::Run;

impl Run {
    /// At a boundary, before the iterator pulls the next item: where it stands after
    /// `completed` items (its [`Position`](crate::Position)), for a save at that boundary.
    #[cold]
    pub fn mark(&mut self, completed: u64, position: Encoded) {
        self.marked = Some((completed, position));
    }

    /// A new iteration of a nest's outer loop starts: the bindings from `first_inner_binding`
    /// on are declared between the loops, so they are new values, and their next save holds
    /// each of them whole (what the last record saved of the old ones says nothing of these).
    #[inline]
    pub fn new_outer_iteration(&mut self, first_inner_binding: usize) {
        // What the restore found of them was of the iteration before.
        self.take_restored();
        for growth in self.saver.growth.iter_mut().skip(first_inner_binding) {
            *growth = None;
        }
    }

    /// Records, on entry, the fingerprints of the bindings the loop reads that are not state
    /// (see [`crate::__private::Watched`]).
    pub fn watch(&mut self, prints: &[(&'static str, Option<u64>)]) {
        self.watched = Some(prints.to_vec());
    }

    /// Every save asks this first, with the watched bindings' fingerprints now: a binding that
    /// is not state but changed since entry (through `&`: a `Cell`, an atomic) would be lost by
    /// a resume, so nothing is saved. A fingerprint that could not be taken (a `Serialize` that
    /// failed) cannot vouch for the binding either.
    fn check_watched(&self, now: &[(&'static str, Option<u64>)]) -> Result<(), Error> {
        let Some(before) = &self.watched else {
            return Ok(());
        };
        let changed = before
            .iter()
            .zip(now)
            .find(|((_, was), (_, is))| was.is_none() || was != is);
        match changed {
            Some(((binding, _), _)) => Err(Error::NotState {
                path: self.generations.newest.clone(),
                binding,
            }),
            None => Ok(()),
        }
    }

    /// The iterator's remaining length, for the progress bar's total (nothing without it).
    pub fn size_hint(&mut self, remaining: (usize, Option<usize>)) {
        self.progress.set_total(self.start, remaining);
    }

    /// Sets the loop up to save every `every` iterations, and returns the value of `pulled`
    /// (items taken from the iterator) at which it first stops at a boundary: right away on
    /// resume when the next item can be checked, else after [`Run::stride`] iterations.
    pub fn first_boundary(&mut self, every: u64) -> u64 {
        self.every = every;
        self.stride = self.progress.stride(every);
        self.next_save = self.start.saturating_add(every);
        let first = if self.expected.is_some_and(|(at, _)| at == self.start) {
            1
        } else {
            self.stride.saturating_add(1)
        };
        self.start.saturating_add(first)
    }

    /// Iterations from one boundary to the next: `every`, or fewer when a progress bar shows.
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// With `every = "30s"`: the flag the timer raises when a save is due.
    pub fn tick_flag(&self) -> Arc<AtomicBool> {
        match &self.ticker {
            Some(ticker) => Arc::clone(&ticker.due),
            None => Arc::default(),
        }
    }

    /// At a boundary after `completed` iterations, with the fingerprint of the next item: `Ok(true)`
    /// if a save is due (periodic, timed, or asked for by a stop), `Ok(false)` if this boundary
    /// only checked that a resumed loop goes on with the item it stopped at, or only moved the
    /// progress bar.
    pub fn at_boundary(&mut self, completed: u64, next_item: Option<u64>) -> Result<bool, Error> {
        self.progress.set(completed);
        let ticked = match &self.ticker {
            Some(ticker) => ticker.due.swap(false, Ordering::Relaxed),
            None => false,
        };
        if let Some((_, expected)) = self.expected.take_if(|&mut (at, _)| at == completed) {
            if next_item.is_some_and(|found| found != expected) {
                return Err(Error::OrderChanged {
                    path: self.generations.newest.clone(),
                    index: self.start,
                });
            }
            return Ok(false);
        }
        let stop = signals::stop_flag().load(Ordering::Relaxed) != 0;
        if completed >= self.next_save || ticked || stop {
            self.next_save = completed.saturating_add(self.every);
            interrupt::reached(|| Point::Save {
                function: self.function,
                index: completed,
                timed: ticked,
            });
            return Ok(true);
        }
        Ok(false)
    }

    /// The flag the loop checks at every iteration boundary: non-zero asks it to save and stop.
    pub fn stop_flag(&self) -> &'static AtomicUsize {
        signals::stop_flag()
    }

    /// Starts a checkpoint at `index` completed iterations, the next item having the hash
    /// `next_item` (if known; `None` after a failure); add each state value, then commit. Every
    /// save, at a boundary or after a failure, comes through here with `watched`, the watched
    /// bindings' fingerprints now: one that changed since entry fails the save with
    /// [`Error::NotState`] before anything is written, which its commit returns.
    pub fn save(
        &mut self,
        index: u64,
        next_item: Option<u64>,
        watched: &[(&'static str, Option<u64>)],
    ) -> Save<'_> {
        let refused = self.check_watched(watched).err();
        // An iterator's position is known only at the boundary it was marked at: a save after
        // a failure in a later iteration has none to resume the failed item from.
        let unknown = self.positioned && self.marked.as_ref().is_none_or(|(at, _)| *at != index);
        let left = unknown.then(|| self.what_stands(index));
        self.take_restored();
        // A new file holds every binding whole; only one may be on its way into place (see
        // `Syncer::may_start_file`).
        let new_file = self.saver.journal.wants_new_file() && self.saver.syncer.may_start_file();
        let mut save = Save::new(&mut self.saver, index, next_item, new_file);
        match (left, &self.marked) {
            (Some(stands), _) => save.leave(format!(
                "nothing is saved, because the loop's iterator says where it stands only at \
                 a checkpoint boundary (it implements `Position`) and the item that failed \
                 was pulled after the last one; {stands}"
            )),
            // Only an iterator that saves its position marks one.
            (None, Some((_, position))) => save.encoded(position),
            (None, _) => {}
        }
        if let Some(err) = refused {
            save.fail(err);
        }
        save
    }
}
