//! The loop's end, however it ends: completed (the files removed), stopped by a signal or a
//! request (saved, then ended as asked), or aborted by a failed save; and the flush that
//! makes what was saved durable first.

use std::time::Instant;

use crate::error::Error;
use crate::report;
use crate::run::interrupt::{self, Point};
use crate::run::signals;
use crate::store::files::{self, Generations};
use crate::store::hooks;

use super::Run;
use super::failure::{fail, saving_failed};

impl Run {
    /// Waits until every checkpoint written is durable, and on the store if there is one, then
    /// lets go of the store's lease, both within
    /// [`Settings::store_deadline`](crate::config::Settings::store_deadline) (a store that
    /// does not answer must not hold up a process that SIGTERM is ending); reports a failure on
    /// stderr. The run is ending: nothing goes to the store after this.
    fn flush(&mut self) {
        if let Err(err) = self.saver.syncer.flush() {
            let err = err.with_causes();
            report::warn("not_durable")
                .name(self.function)
                .path(&self.generations.newest)
                .say(format_args!(
                    "resumable: warning: the last checkpoint may not survive a power loss: {err}"
                ));
        }
        let Some(remote) = self.remote.take() else {
            return;
        };
        let until = Instant::now() + crate::config::Config::current().store_deadline;
        if !remote.finish(until) {
            let on_store = remote.committed().map_or_else(
                || "none of this run's checkpoints".to_owned(),
                |index| format!("the checkpoint at iteration {index}"),
            );
            report::warn("store_behind")
                .name(self.function)
                .path(&self.generations.newest)
                .say(format_args!(
                    "resumable: warning: the last checkpoint is not on the store {} yet (it \
                     holds {on_store}); it is kept on this machine",
                    remote.url()
                ));
        }
        // The run ends here: the next one, on any machine, need not wait for the expiry (unless
        // the store does not answer in time: then the expiry frees it).
        remote.release(until);
    }

    /// The loop has ended, however it ended: from here on signals do what they would do
    /// without this library. A stop that arrived after the loop's last boundary check is kept
    /// for [`Run::complete`], [`Run::obey_signal`] and [`Run::stopped`].
    pub fn end_watch(&mut self) {
        interrupt::reached(|| Point::End {
            function: self.function,
        });
        self.progress.finish();
        self.watch = None;
        self.ticker = None;
        self.pending_stop = signals::take_stop();
    }

    /// After a failure: waits until what was saved is durable; a signal that arrived meanwhile
    /// then ends the process.
    pub fn obey_signal(&mut self) {
        self.flush();
        if let Some(signal) = self.pending_signal() {
            report::warn("signal")
                .name(self.function)
                .path(&self.generations.newest)
                .say(format_args!(
                    "resumable: {} arrived as {} stopped with a failure; its checkpoint is saved",
                    signals::name(signal),
                    self.function
                ));
            self.die_of(signal);
        }
    }

    /// A signal (not a `request_stop`) that arrived after the loop's last boundary check.
    fn pending_signal(&self) -> Option<usize> {
        self.pending_stop
            .filter(|&reason| reason != signals::REQUESTED)
    }

    /// Releases the lock, so a supervisor's restart never sees it held, and ends the process
    /// the way `signal` does.
    fn die_of(&mut self, signal: usize) -> ! {
        self.flush();
        drop(self.lock.take());
        signals::die_of(signal)
    }

    /// The loop ended normally: the checkpoint is no longer needed — unless a signal arrived
    /// after the last boundary check, in which case the last checkpoint is kept (the next run
    /// redoes at most `every` iterations) and the process ends as the signal says.
    pub fn complete(&mut self) {
        if let Some(signal) = self.pending_signal() {
            report::warn("signal")
                .name(self.function)
                .path(&self.generations.newest)
                .say(format_args!(
                    "resumable: {} arrived as {}'s loop ended; its last checkpoint {} is kept; \
                     run the same command again to finish",
                    signals::name(signal),
                    self.function,
                    self.generations.newest.display()
                ));
            self.die_of(signal);
        }
        // No rename may bring a file back once they are removed.
        self.saver.syncer.stop_renames();
        hooks::test_report(format_args!("complete"));
        let Generations {
            newest,
            previous,
            next,
        } = &self.generations;
        for path in [next, previous, newest] {
            if let Err(err) = files::remove(&*self.fs, path) {
                let err = err.with_causes();
                report::warn("not_removed")
                    .name(self.function)
                    .path(path)
                    .say(format_args!(
                        "resumable: warning: the loop finished but {err}; the next run will \
                         resume from it"
                    ));
                return;
            }
        }
        // The background thread closes the removed log (freeing its pages and blocks takes
        // milliseconds), so the function returns without waiting for that.
        match self.saver.journal.take_file() {
            Some(file) => self.saver.syncer.cancel_and_close(file),
            None => self.saver.syncer.cancel(),
        }
        if let Some(remote) = self.remote.take()
            && let Err(err) = remote.remove_all()
        {
            let err = err.with_causes();
            report::warn("not_removed")
                .name(self.function)
                .say(format_args!(
                    "resumable: warning: the loop finished but {err}; a run on another machine \
                     would resume from what is left there"
                ));
        }
        if let Some(lock) = self.lock.take() {
            lock.remove();
        }
    }

    /// A save failed and the function returns the error (see [`Run::abort`] for the panic):
    /// the checkpoints saved before stay, durable and in place.
    pub fn settle(&self) {
        let _ = self.saver.syncer.flush();
    }

    /// A save failed, or the resumed iterator's order changed: stop, leaving the checkpoint
    /// files as they are.
    #[track_caller]
    pub fn abort(&self, err: Error) -> ! {
        self.settle();
        // Only here is it known whether a checkpoint stands behind the failed save.
        match (saving_failed(&err), self.saver.last_saved) {
            (true, Some(_)) => panic!(
                "resumable: {}; the last good checkpoint is intact",
                err.with_causes()
            ),
            (true, None) => panic!(
                "resumable: {}; no checkpoint was saved yet, so the next run starts from the \
                 beginning",
                err.with_causes()
            ),
            (false, _) => fail(err),
        }
    }

    /// The loop saved at `index` because it was asked to stop: end as the request says. A
    /// signal ends the process the way that signal does; [`crate::request_stop`] unwinds
    /// with a [`Stopped`](signals::Stopped) payload.
    pub fn stopped(&mut self, index: u64) -> ! {
        self.flush();
        let reason = self.pending_stop.take().unwrap_or(signals::REQUESTED);
        let newest = &self.generations.newest;
        let path = newest.display();
        let function = self.function;
        let stopped = report::note("stopped")
            .name(function)
            .index(index)
            .path(newest);
        if reason == signals::REQUESTED {
            stopped.say(format_args!(
                "resumable: stop requested: {function} saved checkpoint {path} at iteration \
                 {index}; call it again to resume"
            ));
            std::panic::resume_unwind(Box::new(signals::Stopped { index }));
        }
        stopped.say(format_args!(
            "resumable: {}: {function} saved checkpoint {path} at iteration {index}; run the \
             same command again to resume",
            signals::name(reason)
        ));
        self.die_of(reason)
    }
}
