//! One call of a `#[resumable]` function: where its checkpoint lives, what it restores, when it
//! saves. Generated code drives a [`Run`] through `__private`; nothing here is public API.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::format::checkpoint::{self, Loaded};
use crate::format::hash;
use crate::format::hash::Hash128;
use crate::format::label;
use crate::format::log::LogMeta;
use crate::format::shape;
use crate::format::stream::{DecodeError, Reader};
use crate::report;
use crate::run::growth::Growth;
use crate::run::interrupt::{self, Point};
use crate::run::other_keys;
use crate::run::outputs::{self, Restoring};
use crate::run::progress::Progress;
use crate::run::signals::{self, Watch};
use crate::run::ticker::Ticker;
use crate::store::clock::{age, now_ms};
use crate::store::files::{self, Generations};
use crate::store::fs::{Fs as _, OsFs};
use crate::store::hooks;
use crate::store::journal::Journal;
use crate::store::lock::Lock;
use crate::store::recover::{self, Recovered};
use crate::store::remote::{self, Remote, layout::Commit};
use crate::store::syncer::Syncer;

use crate::run::save::{Encoded, Save, Saver};
use crate::run::spec::Spec;

/// The checkpoint of one call: loaded on entry, saved while the loop runs, removed at the end.
pub struct Run {
    function: &'static str,
    generations: Generations,
    start: u64,
    /// On resume: the fingerprint the item at this iteration must have (`Loaded::checked`).
    /// At the iteration resumed at, it is checked at the first boundary; at an earlier one
    /// (the save resumed from came after a failure and holds none), while the iterator skips.
    expected: Option<(u64, u64)>,
    /// The checkpoint to restore, and the file it came from.
    loaded: Option<(Loaded, PathBuf)>,
    /// Writes the checkpoints: the log, its background syncer, what was saved of each binding.
    saver: Saver,
    /// What the restore found of the bindings declared in `append(...)`: the next save
    /// appends to them after checking they only grew (see [`Restore::appended_restored`]).
    restored: Arc<Restored>,
    /// Per binding, in the log the run goes on appending to: the elements its newest record
    /// holds of it, if saved as a sequence. A restored binding's growth is taken only if it
    /// matches, so a next record never continues a chain the log does not have (a binding
    /// saved whole by another build, say, now declared in `append(...)`).
    continued: Vec<Option<u64>>,
    /// Per binding: whether its shape is one line, a sequence or a string (see [`Restore`]).
    sequences: Arc<[bool]>,
    lock: Option<Lock>,
    /// The object store checkpoints are uploaded to (`RESUMABLE_STORE`), if one is set.
    remote: Option<Remote>,
    /// Signals save and stop the loop while this is set; `end_watch` ends it with the loop.
    watch: Option<Watch>,
    /// A stop that arrived after the loop's last boundary check, taken by `end_watch`.
    pending_stop: Option<usize>,
    /// With `every = "30s"`: the timer that raises the loop's `tick` flag.
    ticker: Option<Ticker>,
    /// Iterations between periodic saves (`u64::MAX` with `every = "30s"`).
    every: u64,
    /// Iterations between boundaries: `every`, or fewer when a progress bar is drawn.
    stride: u64,
    /// Completed iterations at which the next periodic save is due.
    next_save: u64,
    /// The `progress` feature's bar (nothing without it).
    progress: Progress,
    /// A loop nest's resume message, printed once the position is known.
    resume_message: Option<ResumeMessage>,
    /// Whether a nest's inner iterator type was checked by [`Run::skip_inner`].
    inner_checked: bool,
    /// The fingerprints, on entry, of the bindings the loop names without owning them (see
    /// [`crate::__private::Watched`]), compared at every save; `None` when there are none.
    watched: Option<Vec<(&'static str, Option<u64>)>>,
    /// The loop's iterator implements [`Position`](crate::Position): its position is the first
    /// value of each checkpoint.
    positioned: bool,
    /// Where the iterator stood at the last boundary, before it pulled the next item: the
    /// completed iterations and the position's bytes. A save at that index writes it.
    marked: Option<(u64, Encoded)>,
    /// On resume: the saved position's bytes, for [`Run::prepare`].
    resume_position: Option<Vec<u8>>,
}

/// "resuming squares at iteration 237000 (checkpoint …, saved 12 s ago)".
struct ResumeMessage {
    function: &'static str,
    index: u64,
    from: PathBuf,
    saved_at_ms: u64,
    /// The key's text, if the checkpoint has one.
    key: Option<String>,
    /// The store the checkpoint was fetched from, if it came from one.
    fetched_from: Option<String>,
    /// The checkpoint was saved by other code of the function (its fingerprint differs).
    code_changed: bool,
}

impl ResumeMessage {
    /// "resuming squares at iteration 73000 (checkpoint …, saved 2 s ago, key n = 200000);
    /// iterations from 73000 on run again …": what the user needs to know when the iterations
    /// have side effects (a file appended per item).
    fn print(&self, position: Option<(u64, u64)>) {
        let position = position.map_or_else(String::new, |(outer, inner)| {
            format!(" (outer iteration {outer}, inner iteration {inner})")
        });
        let key = self
            .key
            .as_ref()
            .map_or_else(String::new, |key| format!(", key {key}"));
        let fetched = self
            .fetched_from
            .as_ref()
            .map_or_else(String::new, |url| format!(", fetched from the store {url}"));
        // Iterations of the old code and the new would be mixed: a warning, not a note that
        // `quiet` silences.
        let (report, changed) = if self.code_changed {
            (
                report::warn("resumed"),
                format!(
                    "; the code of `{}` changed since this checkpoint was saved: iterations \
                     before {} ran with the old code (`#[resumable(strict)]` refuses instead)",
                    self.function, self.index
                ),
            )
        } else {
            (report::note("resumed"), String::new())
        };
        report
            .name(self.function)
            .index(self.index)
            .path(&self.from)
            .say(format_args!(
                "resuming {} at iteration {}{position} (checkpoint {}{fetched}, saved {} \
                 ago{key}); iterations from {} on run again, including any the last run did \
                 after this checkpoint{changed}",
                self.function,
                self.index,
                self.from.display(),
                age(self.saved_at_ms),
                self.index,
            ));
    }
}

impl Run {
    /// Locks, finds, checks and reads the checkpoint, or moves it aside if `RESUMABLE_RESET`
    /// asks; then starts watching for SIGINT and SIGTERM.
    ///
    /// # Errors
    /// If another process holds the checkpoint, or a checkpoint exists but cannot be used:
    /// unreadable, corrupt with no intact previous generation, or of other state; or the store
    /// cannot be used. No checkpoint file is changed. The generated code returns the error
    /// from a function whose error type takes it, else panics with it ([`fail`]).
    pub fn start(spec: &Spec<'_>, shapes: &[String]) -> Result<Run, Error> {
        Run::open(spec, shapes).inspect_err(|err| refused(spec.function, err))
    }

    fn open(spec: &Spec<'_>, shapes: &[String]) -> Result<Run, Error> {
        outputs::entered();
        crate::config::check_environment()?;
        // A keyed checkpoint has a file per key value, and the key in its label.
        let (file, label) = match spec.key {
            None => (file_name(spec.name), spec.name.to_owned()),
            Some(key) => (
                file_name(&format!("{}-{:016x}", spec.name, key.hash)),
                key.label(spec.name),
            ),
        };
        let path = crate::config::checkpoint_dir(spec.dir).join(file);
        let lock = Lock::acquire(&path).map_err(|err| match err {
            Error::Locked { path, holder } if holder == std::process::id().to_string() => {
                Error::InUseHere { path }
            }
            err => err,
        })?;
        files::remove_stale_temp_files(&OsFs, &path);
        let generations = Generations::of(path);
        // An iterator that saves its position saves it first (see `private::seek`).
        let (state, shapes) = match &spec.position {
            Some(position) => (
                [label::ITERATOR]
                    .iter()
                    .chain(spec.state)
                    .copied()
                    .collect(),
                [position].into_iter().chain(shapes).cloned().collect(),
            ),
            None => (spec.state.to_vec(), shapes.to_vec()),
        };
        let shape = label::describe_state(spec.path, &state, &shapes);
        if reset_requested() {
            reset(&generations, spec.function)?;
        }
        let remote = match remote::configured() {
            Some(url) => {
                let name = generations.newest.file_name().unwrap_or_default();
                Some(Remote::connect(&url, &name.to_string_lossy())?)
            }
            None => None,
        };
        let mut recovered = recover::recover(&OsFs, &generations, &label, &shape)?;
        let from_store = match &remote {
            Some(remote) => newer_on_store(
                remote,
                &generations,
                &mut recovered,
                spec.function,
                &label,
                &shape,
            )?,
            None => None,
        };
        // The log resumed from in place is appended to; from anything else (`.prev`, a
        // version-1 file) the first save starts a new log.
        let log_end = recovered
            .as_mut()
            .filter(|r| r.from == generations.newest)
            .and_then(|r| r.loaded.log.take());
        // The store holds this very log (fetched now, or uploaded before): uploads go on
        // after it instead of sending it whole again.
        let store_has_log = match (&remote, &log_end) {
            // Fetched now: its bytes were checked against the commit as they arrived.
            (Some(_), Some(end)) if from_store.is_some() => from_store
                .as_ref()
                .map(|(commit, _)| commit.clone())
                .filter(|commit| commit.log_len == end.len),
            (Some(remote), Some(end)) => remote.newest().cloned().filter(|commit| {
                commit.log_len == end.len
                    && local_crc(&generations.newest, end.len) == Some(commit.log_crc)
            }),
            _ => None,
        };
        // A checkpoint saved by other code of the function (one from a build before the
        // fingerprint was recorded says nothing, and resumes as it always did).
        let code_changed = recovered
            .as_ref()
            .and_then(|r| r.loaded.code)
            .is_some_and(|code| code != spec.code);
        if let (true, true, Some(recovered)) = (code_changed, spec.strict, &recovered) {
            return Err(Error::CodeChanged {
                path: recovered.from.clone(),
                function: spec.function,
                index: recovered.loaded.meta.index,
            });
        }
        let start = recovered.as_ref().map_or(0, |r| r.loaded.meta.index);
        let last_seq = recovered.as_ref().map_or(0, |r| r.loaded.seq);
        let expected = recovered.as_ref().and_then(|r| r.loaded.checked);
        let loaded = recovered.map(|recovered| {
            if let Some((aside, damage)) = &recovered.set_aside {
                // The problem names the damaged record and what falling back loses.
                let damage = match damage {
                    Error::Corrupt { path, problem } => {
                        format!("checkpoint {} is damaged: {problem}.", path.display())
                    }
                    damage => damage.to_string(),
                };
                report::warn("fell_back")
                    .name(spec.function)
                    .path(aside)
                    .say(format_args!(
                        "resumable: warning: {damage} Its bytes are kept in {}, and the run \
                         resumes from index {} in {}",
                        aside.display(),
                        recovered.loaded.meta.index,
                        recovered.from.display()
                    ));
            }
            for (copy, problem) in &recovered.ahead_of_outputs {
                report::warn("fell_back")
                    .name(spec.function)
                    .path(copy)
                    .say(format_args!(
                        "resumable: warning: {problem}. The log as it was is kept in {}",
                        copy.display()
                    ));
            }
            let message = ResumeMessage {
                function: spec.function,
                index: recovered.loaded.meta.index,
                from: recovered.from.clone(),
                saved_at_ms: recovered.loaded.meta.saved_at_ms,
                key: spec.key.map(|key| key.text.clone()),
                fetched_from: from_store.as_ref().map(|(_, url)| url.clone()),
                code_changed,
            };
            (recovered.loaded, recovered.from, message)
        });
        let (loaded, resume_message) = match loaded {
            Some((loaded, from, message)) => {
                interrupt::resuming();
                if !spec.nest {
                    message.print(None);
                }
                (Some((loaded, from)), Some(message))
            }
            None => {
                if let Some(key) = spec.key {
                    other_keys::report(spec.function, &generations.newest, &key.text);
                }
                (None, None)
            }
        };
        let meta = LogMeta {
            fingerprint: hash::fingerprint(&label, &shape),
            label,
            shape,
        };
        let last_saved = loaded.is_some().then_some(start);
        let mut journal = Journal::new(generations.clone(), &meta, last_seq);
        journal.code = Some(spec.code);
        // If the log cannot be reopened, the first save starts a new one, as it always did.
        let resumed_end = log_end.filter(|end| journal.resume(&OsFs, end).is_ok());
        if let (Some(remote), Some(commit), true) = (&remote, &store_has_log, resumed_end.is_some())
        {
            remote.continue_from(commit);
        }
        let continued = resumed_end.map_or_else(Vec::new, |end| end.sequence_lengths());
        let syncer = Syncer::default();
        let mut progress = Progress::start(spec.function, (start > 0).then_some(start));
        if let Some(remote) = &remote {
            syncer.upload_to(remote.uploads());
            progress.watch_store(remote.uploads());
        }
        Ok(Run {
            function: spec.function,
            restored: Arc::default(),
            continued,
            sequences: shapes
                .iter()
                .enumerate()
                .map(|(i, shape)| {
                    (i > 0 || spec.position.is_none()) && shape::is_flat_sequence(shape)
                })
                .collect(),
            saver: Saver {
                journal,
                syncer,
                growth: state.iter().map(|_| None).collect(),
                last_saved,
                function: spec.function,
                path: generations.newest.clone(),
                state,
                round_trip_checked: false,
            },
            generations,
            start,
            expected,
            loaded,
            lock: Some(lock),
            remote,
            watch: Some(Watch::start(spec.signals)),
            pending_stop: None,
            ticker: (spec.interval_ms > 0)
                .then(|| Ticker::start(Duration::from_millis(spec.interval_ms))),
            every: u64::MAX,
            stride: u64::MAX,
            next_save: u64::MAX,
            progress,
            resume_message,
            inner_checked: false,
            watched: None,
            positioned: spec.position.is_some(),
            marked: None,
            resume_position: None,
        })
    }

    /// In a loop nest, after the position is read from the checkpoint: says where the run
    /// resumes, in the same line as a single loop's, with the position added.
    pub fn resuming_at(&mut self, (outer, inner): (u64, u64)) {
        if let Some(message) = self.resume_message.take() {
            message.print(Some((outer, inner)));
        }
    }

    /// The error for a nest whose outer loop ended before the iteration its checkpoint was
    /// saved in (a `while` whose condition no longer held there, a `break` before the inner
    /// loop): the saved state was never restored, so the run is refused instead of returning
    /// the state the loop starts with.
    pub fn outer_ended_early(&self, outer: u64) -> Error {
        let err = Error::IteratorTooShort {
            path: self.generations.newest.clone(),
            index: outer,
        };
        refused(self.function, &err);
        err
    }

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

    /// At a boundary, before the iterator pulls the next item: where it stands after
    /// `completed` items (its [`Position`](crate::Position)), for a save at that boundary.
    #[cold]
    pub fn mark(&mut self, completed: u64, position: Encoded) {
        self.marked = Some((completed, position));
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
    /// `fingerprint` gives an item's fingerprint (see [`crate::__private::ItemHash`]): on
    /// resume from a save that holds none (one after a failure), the item after the last
    /// record that holds one is checked on the way, so that an order that changed is caught
    /// there too.
    ///
    /// An iterator that saved its position (see [`Run::restore_with`]) is put back there by
    /// `resume` instead, in one step; its next item is still checked at the first boundary.
    pub fn prepare<I: Iterator>(
        &mut self,
        iter: I,
        fingerprint: &impl Fn(&I::Item) -> Option<u64>,
        resume: fn(&mut I, &[u8]) -> Result<(), Error>,
    ) -> Result<I, Error> {
        match self.resume_position.take() {
            Some(position) => self.refuse_unordered::<I>().and_then(|()| {
                let mut iter = iter;
                resume(&mut iter, &position)?;
                Ok(iter)
            }),
            None => self.prepare_checked(iter, fingerprint),
        }
        .inspect_err(|err| refused(self.function, err))
    }

    fn prepare_checked<I: Iterator>(
        &mut self,
        iter: I,
        fingerprint: &impl Fn(&I::Item) -> Option<u64>,
    ) -> Result<I, Error> {
        self.refuse_unordered::<I>()?;
        let start = self.start;
        let Some((at, expected)) = self.expected.take_if(|&mut (at, _)| at < start) else {
            return self.skip_items(iter, self.start);
        };
        let mut iter = self.skip_items(iter, at)?;
        let Some(item) = iter.next() else {
            return Err(Error::IteratorTooShort {
                path: self.generations.newest.clone(),
                index: self.start,
            });
        };
        if fingerprint(&item).is_some_and(|found| found != expected) {
            return Err(Error::OrderChanged {
                path: self.generations.newest.clone(),
                index: at,
            });
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
                    true => Err(Error::IteratorTooShort {
                        path: self.generations.newest.clone(),
                        index: done + 1,
                    }),
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
            Some(iterator) => Err(Error::UnorderedIterator {
                path: self.generations.newest.clone(),
                iterator,
            }),
            None => Ok(()),
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
            return Err(Error::IteratorTooShort {
                path: self.generations.newest.clone(),
                index: done,
            });
        }
        Ok(iter)
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

    /// Takes what the restore found of the bindings declared in `append(...)`, once.
    #[inline]
    fn take_restored(&mut self) {
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
                Growth::Checked { .. } | Growth::Changing => None,
            };
            if len.is_none() || self.continued.get(binding) != Some(&len) {
                continue;
            }
            self.saver.growth[binding] = Some(growth);
        }
    }

    /// The loop failed (`failure`) in iteration `index` after that iteration had changed the
    /// state: saving it would resume a half-done iteration, so nothing is saved and the last
    /// checkpoint stands. Says what the next run does.
    pub fn failed_unsaved(&mut self, failure: &str, index: u64) {
        let function = self.function;
        let next = self.what_stands(index);
        report::warn("not_saved")
            .name(function)
            .index(index)
            .path(&self.generations.newest)
            .say(format_args!(
                "resumable: {failure} in iteration {index} of {function}, after the iteration \
                 had changed its state: nothing is saved, so that a half-done iteration is never \
                 resumed; {next} (a failure before the loop body first uses its state saves at \
                 the failing iteration)"
            ));
    }

    /// The loop failed (`failure`) in iteration `index`, and it may move `moved` (bindings it
    /// reads but does not own) on a way out, after which the watch cannot check them: nothing
    /// is saved, and the last checkpoint (checked when it was saved) stands.
    pub fn failed_unchecked(&mut self, failure: &str, index: u64, moved: &[&str]) {
        let function = self.function;
        let next = self.what_stands(index);
        let moved: Vec<String> = moved.iter().map(|name| format!("`{name}`")).collect();
        report::warn("not_saved")
            .name(function)
            .index(index)
            .path(&self.generations.newest)
            .say(format_args!(
                "resumable: {failure} in iteration {index} of {function}: nothing is saved, \
                 because the loop can move {} on a way out, after which whether it changed \
                 cannot be checked; {next}",
                moved.join(", ")
            ));
    }

    /// What the next run resumes from, after a failure in iteration `index` saved nothing.
    fn what_stands(&self, index: u64) -> String {
        match self.saver.last_saved {
            Some(saved) => format!(
                "the next run resumes from the checkpoint at iteration {saved} ({}) and runs \
                 iterations {saved} to {index} again",
                self.generations.newest.display()
            ),
            None => {
                "no checkpoint was saved yet, so the next run starts from the beginning".to_owned()
            }
        }
    }

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
            if let Err(err) = files::remove(&OsFs, path) {
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

/// A `refused` event: the loop does not start, and the program gets `err` (as its `Err` or
/// in a panic).
fn refused(function: &str, err: &Error) {
    // The prelude's `io::Output` then leaves its file as it is.
    outputs::refused();
    report::error("refused")
        .name(function)
        .event_only()
        .say(format_args!("resumable: {}", err.with_causes()));
}

/// Moves every generation of the checkpoint aside, for `RESUMABLE_RESET`.
fn reset(generations: &Generations, function: &str) -> Result<(), Error> {
    let suffix = format!(".reset-{}", now_ms());
    for (path, aside) in files::move_generations_aside(&OsFs, generations, &suffix)? {
        report::note("reset")
            .name(function)
            .path(&aside)
            .say(format_args!(
                "resumable: RESUMABLE_RESET is set: moved checkpoint {} aside to {}; \
                 {function} starts over",
                path.display(),
                aside.display(),
            ));
    }
    Ok(())
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
struct Restored {
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
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        self.binding += 1;
        let decoded = if self.sequences.get(self.binding - 1) == Some(&true) {
            let mut seen = SeenBytes::default();
            let decoded = decode(&mut self.reader, Some(&mut seen));
            self.candidates.push((self.binding - 1, seen));
            decoded
        } else {
            decode(&mut self.reader, None)
        };
        decoded.map_err(|err| self.decode_failed(err))
    }

    /// Decodes the next state value in place of `old`, the binding's value from the prelude,
    /// never holding both whole: a `Vec` of `f32`, `f64`, `u8` or `i8` is read over its
    /// elements; any other `old` is dropped first (a derived struct's `Deserialize` has no
    /// in-place form to decode over it with).
    ///
    /// # Errors
    /// If the payload does not decode: the function stops before the binding is used.
    pub fn value_over<T: DeserializeOwned>(&mut self, old: T) -> Result<T, Error> {
        if crate::format::bulk::is_bulk::<T>() {
            let mut value = old;
            self.value_into(&mut value)?;
            return Ok(value);
        }
        drop(old);
        self.value()
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

/// If the store holds a newer checkpoint than `recovered` (or there is none here: a new
/// machine), fetches it into place and recovers from it; returns its commit and the store's
/// URL. The local checkpoint it replaces was older (it is replaced as a compaction replaces a
/// log: once the new one is synced in place).
fn newer_on_store(
    remote: &Remote,
    generations: &Generations,
    recovered: &mut Option<Recovered>,
    function: &'static str,
    label: &str,
    shape: &str,
) -> Result<Option<(Commit, String)>, Error> {
    let Some(commit) = remote.newest().cloned() else {
        return Ok(None);
    };
    let local = recovered.as_ref().map(|r| r.loaded.meta.index);
    if local.is_some_and(|index| index >= commit.index) {
        return Ok(None);
    }
    if let Some(Recovered {
        set_aside: Some((aside, damage)),
        ..
    }) = recovered
    {
        report::warn("fell_back")
            .name(function)
            .path(aside)
            .say(format_args!(
                "resumable: warning: {damage} It was moved to {}; the store's newer checkpoint \
                 is used",
                aside.display()
            ));
    }
    let dir = files::parent_dir(&generations.next);
    OsFs.create_dir(dir)
        .map_err(|err| Error::io("create the directory of", dir, err))?;
    if let Err(err) = remote.download(&commit, generations.next.clone()) {
        // A part of the store's log is a log too: never leave one for the next run to take.
        let _ = files::remove(&OsFs, &generations.next);
        return Err(err);
    }
    files::install_next(&OsFs, generations)?;
    *recovered = recover::recover(&OsFs, generations, label, shape)?;
    Ok(Some((commit, remote.url().to_owned())))
}

/// The CRC-32C of the first `len` bytes of the file at `path`, if it can be read.
fn local_crc(path: &Path, len: u64) -> Option<u32> {
    let source = files::open(&OsFs, path).ok().flatten()?;
    if source.size() < len {
        return None;
    }
    let mut crc = crate::format::checksum::Crc32c::new();
    crate::format::source::checksum(&*source, 0..len, &mut crc).ok()?;
    Some(crc.finish())
}

/// Whether `err` is a save that failed (the checkpoint before it, if any, stands).
fn saving_failed(err: &Error) -> bool {
    matches!(
        err,
        Error::Io { .. }
            | Error::TakenOver { .. }
            | Error::NoSpace { .. }
            | Error::Serialize { .. }
            | Error::NotAppendOnly { .. }
            | Error::NotRoundTrip { .. }
            | Error::OutputIo { .. }
    )
}

/// Panics with `err` and what it means for the checkpoint: what a runtime error does in a
/// function that cannot return it.
#[track_caller]
pub fn fail(err: Error) -> ! {
    let text = err.with_causes();
    match err {
        // Outside a save (the lock, recovery, a reset): whatever failed changed no checkpoint.
        _ if saving_failed(&err) => panic!("resumable: {text}; no checkpoint was changed"),
        Error::Locked { .. }
        | Error::InUseHere { .. }
        | Error::NotState { .. }
        | Error::UnorderedIterator { .. }
        | Error::CodeChanged { .. }
        | Error::OutputChanged { .. }
        | Error::InputChanged { .. }
        | Error::Environment { .. } => {
            panic!("resumable: {text}")
        }
        // Nothing local to move aside: the store, or what is on it, is the problem.
        Error::Store { .. } => panic!("resumable: {text}; no checkpoint was changed"),
        _ => panic!("resumable: {text} (RESUMABLE_RESET=1 moves it aside for you)"),
    }
}

/// `a::b::f` becomes `a.b.f.ckpt`. Names are checked at compile time to be plain file names.
fn file_name(name: &str) -> PathBuf {
    Path::new(&format!("{}.ckpt", name.replace("::", "."))).to_owned()
}

/// `RESUMABLE_RESET`, read as every switch is (`config::env_flag`).
fn reset_requested() -> bool {
    crate::config::env_flag("RESUMABLE_RESET") == Some(true)
}
