//! The background thread that makes checkpoints durable, so the loop never waits for the disk.
//!
//! The loop hands each written record's [`SyncJob`] to [`Syncer::submit`] and goes on. The
//! thread runs one job at a time; jobs submitted meanwhile merge into one (group commit: one
//! fsync makes all of them durable). A failure is kept and reported to the loop at its next
//! save or [`Syncer::flush`].
//!
//! Renames run under the lock, so once [`Syncer::cancel`] returns no rename can follow; the
//! run can then remove its files without a late rename bringing one back.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use crate::error::Error;
use crate::fs::OsFs;
use crate::journal::SyncJob;

#[derive(Default)]
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    started: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Work was submitted, or the syncer was cancelled.
    work: Condvar,
    /// A job finished.
    done: Condvar,
}

#[derive(Default)]
struct State {
    queued: Option<SyncJob>,
    running: bool,
    /// A submitted compaction has not been renamed into place yet.
    compaction_pending: bool,
    error: Option<Error>,
    cancelled: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The thread never panics while holding the lock; if it did, the state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Syncer {
    /// Queues `job`; starts the thread on first use.
    pub(crate) fn submit(&mut self, job: SyncJob) {
        if !self.started {
            self.started = true;
            let shared = Arc::clone(&self.shared);
            thread::Builder::new()
                .name("resumable-sync".into())
                .spawn(move || run(&shared))
                .expect("resumable: could not start the background sync thread");
        }
        let mut state = self.shared.lock();
        state.compaction_pending |= job.compacts();
        state.queued = Some(match state.queued.take() {
            Some(earlier) => earlier.merge(job),
            None => job,
        });
        drop(state);
        self.shared.work.notify_one();
    }

    /// Whether a new file is still being moved into place (no other may start meanwhile).
    pub(crate) fn compaction_pending(&self) -> bool {
        self.shared.lock().compaction_pending
    }

    /// The error of a background sync since the last call, if one failed.
    pub(crate) fn take_error(&self) -> Result<(), Error> {
        self.shared.lock().error.take().map_or(Ok(()), Err)
    }

    /// Waits until every submitted record is durable.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        let mut state = self.shared.lock();
        while state.queued.is_some() || state.running {
            state = self
                .shared
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.error.take().map_or(Ok(()), Err)
    }

    /// Drops the queued work and stops the thread without waiting for an fsync in flight;
    /// no rename happens after this returns.
    pub(crate) fn cancel(&self) {
        let mut state = self.shared.lock();
        state.cancelled = true;
        state.queued = None;
        drop(state);
        self.shared.work.notify_one();
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.cancel();
    }
}

fn run(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        while state.queued.is_none() && !state.cancelled {
            state = shared
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.cancelled {
            return;
        }
        let job = state.queued.take().expect("checked above");
        state.running = true;
        drop(state);
        let synced = job.sync(&OsFs);
        state = shared.lock();
        let result = match synced {
            Ok(()) if !state.cancelled => job.rename_into_place(&OsFs),
            other => other,
        };
        state.running = false;
        match result {
            Ok(()) => {
                if job.compacts() {
                    state.compaction_pending = false;
                }
            }
            Err(err) => {
                state.error.get_or_insert(err);
            }
        }
        shared.done.notify_all();
    }
}
