//! The background thread that makes checkpoints durable, so the loop never waits for the disk.
//!
//! The loop hands each written record's [`SyncJob`] to [`Syncer::submit`] and goes on. The
//! thread runs one job at a time; jobs submitted meanwhile merge into one (group commit: one
//! fsync makes all of them durable). A failure is kept and reported to the loop at its next
//! save or [`Syncer::flush`].
//!
//! Renames run under a lock of their own, which [`Syncer::stop_renames`] (and so
//! [`Syncer::cancel`]) takes after setting the cancelled flag, so once it returns no rename
//! can follow (nor a hand-off to the store's upload thread); the run can then remove its files
//! without a late rename bringing one back, and give the thread the log to close
//! ([`Syncer::cancel_and_close`]). (Not under the state's lock: a rename may free a big old
//! log's pages, and the loop must not wait for that to queue its next checkpoint.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use crate::error::Error;
use crate::store::fs::{Fs, LogFile};
use crate::store::hooks;
use crate::store::journal::SyncJob;
use crate::store::remote::Uploads;

pub(crate) struct Syncer {
    shared: Arc<Shared>,
    /// The filesystem the thread syncs and renames on: the run's.
    fs: Arc<dyn Fs>,
    started: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Mirrors of `State` the loop reads at every checkpoint without taking the lock.
    compaction_pending: AtomicBool,
    failed: AtomicBool,
    /// Held while files are renamed; see the module docs.
    renaming: Mutex<()>,
    cancelled: AtomicBool,
    /// Where each durable checkpoint goes next: the store's upload thread, if there is a store.
    uploads: OnceLock<Arc<Uploads>>,
    /// Work was submitted, or the syncer was cancelled.
    work: Condvar,
    /// A job finished.
    done: Condvar,
}

#[derive(Default)]
struct State {
    queued: Option<SyncJob>,
    running: bool,
    /// The thread sleeps on `work`: a submit must wake it (else it finds the job itself).
    idle: bool,
    error: Option<Error>,
    cancelled: bool,
    /// A log to close once cancelled (see [`Syncer::cancel_and_close`]).
    closing: Option<Arc<LogFile>>,
    /// Threads waiting on `done`: a finished job wakes them only if there are any (a wake is
    /// a system call, which the loop would otherwise wait on at every checkpoint for the lock).
    waiters: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The thread never panics while holding the lock; if it did, the state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits on `done` once, counted in `waiters` so that the thread wakes this one.
    fn wait_done<'a>(&self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        state.waiters += 1;
        let mut state = self
            .done
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner);
        state.waiters -= 1;
        state
    }
}

impl Syncer {
    /// A syncer of the files on `fs`; its thread starts with the first [`Syncer::submit`].
    pub(crate) fn new(fs: Arc<dyn Fs>) -> Syncer {
        Syncer {
            shared: Arc::default(),
            fs,
            started: false,
        }
    }

    /// Hands every checkpoint, once durable, to the store's upload thread.
    pub(crate) fn upload_to(&self, uploads: Arc<Uploads>) {
        let _ = self.shared.uploads.set(uploads);
    }

    /// Queues `job`; starts the thread on first use.
    pub(crate) fn submit(&mut self, job: SyncJob) {
        if !self.started {
            self.started = true;
            let shared = Arc::clone(&self.shared);
            let fs = Arc::clone(&self.fs);
            thread::Builder::new()
                .name("resumable-sync".into())
                .spawn(move || run(&shared, &*fs))
                .expect("resumable: could not start the background sync thread");
        }
        if job.compacts() {
            self.shared
                .compaction_pending
                .store(true, Ordering::Release);
        }
        let mut state = self.shared.lock();
        state.queued = Some(match state.queued.take() {
            Some(earlier) => earlier.merge(job),
            None => job,
        });
        let idle = state.idle;
        drop(state);
        if idle {
            self.shared.work.notify_one();
        }
    }

    /// Whether a new file is still being moved into place (no other may start meanwhile).
    pub(crate) fn compaction_pending(&self) -> bool {
        self.shared.compaction_pending.load(Ordering::Acquire)
    }

    /// Whether a record may start a new file: not while the one before is still on its way
    /// into place. When checkpoints that each need a new file come faster than the disk syncs
    /// them, the loop waits here for the one before (its only wait on the disk): appending to
    /// that file instead would keep both copies in it until its sync ends.
    pub(crate) fn may_start_file(&self) -> bool {
        if self.compaction_pending() {
            self.wait_for_compaction();
        }
        !self.compaction_pending()
    }

    /// Waits until no new file is on its way into place (or a sync failed, which the next
    /// [`Syncer::take_error`] reports): a checkpoint that needs a new file of its own must
    /// not be appended to the one still syncing, which would then hold both.
    pub(crate) fn wait_for_compaction(&self) {
        let mut state = self.shared.lock();
        while self.compaction_pending() && !self.shared.failed.load(Ordering::Acquire) {
            state = self.shared.wait_done(state);
        }
    }

    /// The error of a background sync since the last call, if one failed; or that another
    /// run took the checkpoint over on the store.
    pub(crate) fn take_error(&self) -> Result<(), Error> {
        if !self.shared.failed.load(Ordering::Acquire) {
            return match self.shared.uploads.get().and_then(|u| u.take_error()) {
                Some(err) => Err(err),
                None => Ok(()),
            };
        }
        self.shared.failed.store(false, Ordering::Relaxed);
        self.shared.lock().error.take().map_or(Ok(()), Err)
    }

    /// Waits until every submitted record is durable.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        let mut state = self.shared.lock();
        while state.queued.is_some() || state.running {
            state = self.shared.wait_done(state);
        }
        self.shared.failed.store(false, Ordering::Relaxed);
        state.error.take().map_or(Ok(()), Err)
    }

    /// Drops the queued work and stops the thread without waiting for an fsync in flight;
    /// no rename happens after this returns.
    pub(crate) fn cancel(&self) {
        self.stop_renames();
        self.shared.lock().cancelled = true;
        self.shared.work.notify_one();
    }

    /// Drops the queued work; no rename happens after this returns (nor a hand-off to the
    /// store's upload thread). The thread stays, idle, for [`Syncer::cancel_and_close`].
    pub(crate) fn stop_renames(&self) {
        self.shared.cancelled.store(true, Ordering::Release);
        self.shared.lock().queued = None;
        // Waits for a rename in flight; none starts after it.
        drop(
            self.shared
                .renaming
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
    }

    /// [`Syncer::cancel`], and the thread closes `file`, a log whose name the run removed:
    /// closing it frees its pages and blocks (milliseconds for a log of megabytes), which the
    /// loop's caller need not wait for.
    pub(crate) fn cancel_and_close(&self, file: Arc<LogFile>) {
        self.stop_renames();
        let mut state = self.shared.lock();
        state.cancelled = true;
        if self.started {
            state.closing = Some(file);
        }
        drop(state);
        self.shared.work.notify_one();
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.cancel();
    }
}

fn run(shared: &Shared, fs: &dyn Fs) {
    let mut state = shared.lock();
    loop {
        while state.queued.is_none() && !state.cancelled {
            state.idle = true;
            state = shared
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.idle = false;
        }
        if state.cancelled {
            let closing = state.closing.take();
            drop(state);
            drop(closing);
            return;
        }
        let job = state.queued.take().expect("checked above");
        state.running = true;
        drop(state);
        let result = job.sync(fs).and_then(|()| {
            let _renaming = shared
                .renaming
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if shared.cancelled.load(Ordering::Acquire) {
                return Ok(());
            }
            job.rename_into_place(fs)?;
            hooks::test_report(format_args!("durable {}", job.written.index));
            // Under the lock too, so that once `cancel` returns nothing more is uploaded.
            if let Some(uploads) = shared.uploads.get() {
                uploads.durable(job.file(), job.written);
            }
            Ok(())
        });
        state = shared.lock();
        state.running = false;
        match result {
            Ok(()) => {
                if job.compacts() {
                    shared.compaction_pending.store(false, Ordering::Release);
                }
            }
            Err(err) => {
                state.error.get_or_insert(err);
                shared.failed.store(true, Ordering::Release);
            }
        }
        if state.waiters > 0 {
            // Outside the lock, which the woken threads take at once.
            drop(state);
            shared.done.notify_all();
            state = shared.lock();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::store::fs::OsFs;
    use crate::store::journal::{Journal, Sink};

    /// Writes `records` checkpoints through a journal, submitting each, then flushes: every
    /// flush returns (a lost wake-up would hang it) and the log is in place.
    #[test]
    fn every_submitted_checkpoint_is_flushed_and_moved_into_place() {
        let (dir, generations, mut journal) = Journal::scratch("syncer");
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let mut syncer = Syncer::new(Arc::new(OsFs));
            for index in 1..=200u64 {
                let new_file = journal.wants_new_file() && !syncer.compaction_pending();
                journal.begin(new_file);
                journal.whole(&Sink::new(&OsFs), &index).unwrap();
                let job = journal.write(&OsFs, new_file, index, 0, None, &[]).unwrap();
                syncer.submit(job);
                if index % 50 == 0 {
                    syncer.flush().unwrap();
                    done.send(index).unwrap();
                }
            }
        });
        for expected in [50, 100, 150, 200] {
            let flushed = finished
                .recv_timeout(Duration::from_secs(20))
                .expect("a flush never returned");
            assert_eq!(flushed, expected);
        }
        assert!(generations.newest.exists() && !generations.next.exists());
        let newest = crate::store::recover::read_checked(&OsFs, &generations.newest, "a", "")
            .unwrap()
            .expect("a checkpoint");
        assert_eq!(newest.meta.index, 200);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// `cancel_and_close` leaves the log's last handle to the thread, which drops it and ends:
    /// the file is closed without the caller waiting for it.
    #[test]
    fn the_thread_closes_the_log_it_is_given_at_the_end() {
        let (dir, _, mut journal) = Journal::scratch("closing");
        let mut syncer = Syncer::new(Arc::new(OsFs));
        journal.begin(true);
        journal.whole(&Sink::new(&OsFs), &1u64).unwrap();
        // Not flushed: the thread may still hold the job's handle too, and drops both.
        syncer.submit(journal.write(&OsFs, true, 1, 0, None, &[]).unwrap());
        syncer.stop_renames();
        let file = journal.take_file().expect("the log");
        let closed = Arc::downgrade(&file);
        syncer.cancel_and_close(file);
        let start = std::time::Instant::now();
        while closed.strong_count() > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the thread never closed the log"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(syncer);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
