//! Opening a run: the lock, the checkpoint found and checked (or moved aside when
//! `RESUMABLE_RESET` asks), the store's newer one fetched, and the message that says where the
//! run resumes; and the `refused` event when it cannot start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::format::hash;
use crate::format::label;
use crate::format::log::LogMeta;
use crate::format::shape;
use crate::report;
use crate::run::interrupt;
use crate::run::other_keys;
use crate::run::outputs;
use crate::run::progress::Progress;
use crate::run::save::Saver;
use crate::run::signals::Watch;
use crate::run::spec::Spec;
use crate::run::ticker::Ticker;
use crate::store::clock::age;
use crate::store::files::{self, Generations};
use crate::store::fs::{Fs, OsFs};
use crate::store::journal::Journal;
use crate::store::lock::Lock;
use crate::store::recover;
use crate::store::remote::fetch::{local_crc, newer_on_store};
use crate::store::remote::{self, Remote};
use crate::store::syncer::Syncer;

use super::Run;

/// "resuming squares at iteration 237000 (checkpoint …, saved 12 s ago)".
pub(super) struct ResumeMessage {
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
    /// from a function whose error type takes it, else panics with it ([`fail`](super::fail)).
    pub fn start(spec: &Spec<'_>, shapes: &[String]) -> Result<Run, Error> {
        // Where a run's filesystem is chosen: the process's own (a unit test opens a run on
        // the simulated disk instead).
        Run::open(spec, shapes, Arc::new(OsFs)).inspect_err(|err| refused(spec.function, err))
    }

    /// [`Run::start`] on `fs`, without the `refused` event.
    pub(crate) fn open(spec: &Spec<'_>, shapes: &[String], fs: Arc<dyn Fs>) -> Result<Run, Error> {
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
        files::remove_stale_temp_files(&*fs, &path);
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
            reset(&*fs, &generations, spec.function)?;
        }
        let remote = match remote::configured() {
            Some(url) => {
                let name = generations.newest.file_name().unwrap_or_default();
                Some(Remote::connect(&url, &name.to_string_lossy())?)
            }
            None => None,
        };
        let mut recovered = recover::recover(&*fs, &generations, &label, &shape)?;
        let from_store = match &remote {
            Some(remote) => newer_on_store(
                &*fs,
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
                    && local_crc(&*fs, &generations.newest, end.len) == Some(commit.log_crc)
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
                    other_keys::report(&*fs, spec.function, &generations.newest, &key.text);
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
        let resumed_end = log_end.filter(|end| journal.resume(&*fs, end).is_ok());
        if let (Some(remote), Some(commit), true) = (&remote, &store_has_log, resumed_end.is_some())
        {
            remote.continue_from(commit);
        }
        let continued = resumed_end.map_or_else(Vec::new, |end| end.sequence_lengths());
        let syncer = Syncer::new(Arc::clone(&fs));
        let mut progress = Progress::start(spec.function, (start > 0).then_some(start));
        if let Some(remote) = &remote {
            syncer.upload_to(remote.uploads());
            progress.watch_store(remote.uploads());
        }
        Ok(Run {
            fs: Arc::clone(&fs),
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
                fs: Arc::clone(&fs),
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
}

/// A `refused` event: the loop does not start, and the program gets `err` (as its `Err` or
/// in a panic).
pub(super) fn refused(function: &str, err: &Error) {
    // The prelude's `io::Output` then leaves its file as it is.
    outputs::refused();
    report::error("refused")
        .name(function)
        .event_only()
        .say(format_args!("resumable: {}", err.with_causes()));
}

/// Moves every generation of the checkpoint aside, for `RESUMABLE_RESET`.
fn reset(fs: &dyn Fs, generations: &Generations, function: &str) -> Result<(), Error> {
    for (path, aside) in files::reset_generations(fs, generations)? {
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

/// `a::b::f` becomes `a.b.f.ckpt`. Names are checked at compile time to be plain file names.
fn file_name(name: &str) -> PathBuf {
    Path::new(&format!("{}.ckpt", name.replace("::", "."))).to_owned()
}

/// `RESUMABLE_RESET`, read as every switch is (`config::env_flag`).
fn reset_requested() -> bool {
    crate::config::env_flag("RESUMABLE_RESET") == Some(true)
}
