//! One call of a `#[resumable]` function: where its checkpoint lives, what it restores, when it
//! saves. Generated code drives a [`Run`] through `__private`; nothing here is public API.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checkpoint::{self, Loaded, Writer};
use crate::envelope::{Meta, now_ms};
use crate::error::Error;
use crate::storage;

/// What the attribute knows at compile time about one resumable function.
#[derive(Debug)]
pub struct Spec {
    /// The function's name, for messages.
    pub function: &'static str,
    /// The checkpoint's name: `name = "…"`, or the function's full path.
    pub name: &'static str,
    /// Save after every this many completed iterations; at least 1.
    pub every: u64,
    /// The state bindings, in the order they are saved.
    pub state: &'static [&'static str],
}

/// The checkpoint of one call: loaded on entry, saved while the loop runs, removed at the end.
pub struct Run {
    path: PathBuf,
    label: &'static str,
    shape: String,
    start: u64,
    loaded: Option<Loaded>,
    writer: Writer,
}

impl Run {
    /// Finds, checks and reads the checkpoint, or moves it aside if `RESUMABLE_RESET` asks.
    ///
    /// # Panics
    /// If a checkpoint exists but cannot be used: unreadable, corrupt, or of other state. The
    /// message names the file and how to start over; the file is left as it is.
    #[track_caller]
    pub fn start(spec: &Spec, types: &[&'static str]) -> Run {
        let path = checkpoint_dir().join(file_name(spec.name));
        storage::remove_stale_temp_files(&path);
        let shape = describe_state(spec.state, types);
        if reset_requested() {
            match storage::move_aside(&path, now_ms()) {
                Ok(aside) => eprintln!(
                    "resumable: RESUMABLE_RESET is set: moved checkpoint {} aside to {}; {} starts over",
                    path.display(),
                    aside.display(),
                    spec.function
                ),
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => fail(err),
            }
        }
        let loaded =
            checkpoint::read_checked(&path, spec.name, &shape).unwrap_or_else(|err| fail(err));
        let start = loaded.as_ref().map_or(0, |loaded| loaded.meta.index);
        if let Some(loaded) = &loaded {
            eprintln!(
                "resuming {} at iteration {} (checkpoint {}, saved {} ago)",
                spec.function,
                loaded.meta.index,
                path.display(),
                age(loaded.meta.saved_at_ms)
            );
        }
        Run {
            path,
            label: spec.name,
            shape,
            start,
            loaded,
            writer: Writer::default(),
        }
    }

    /// The saved state to assign back to the bindings, if there is a checkpoint.
    pub fn restore(&mut self) -> Option<Restore> {
        let loaded = self.loaded.take()?;
        Some(Restore {
            path: self.path.clone(),
            loaded,
            offset: 0,
        })
    }

    /// Completed iterations to skip: the checkpoint's index, or 0.
    pub fn start_index(&self) -> u64 {
        self.start
    }

    /// Advances `iter` past the iterations already completed (with `nth`, O(1) for ranges).
    ///
    /// # Panics
    /// If the iterator ends first: it does not yield what it yielded on the saved run.
    #[track_caller]
    pub fn skip<I: Iterator>(&self, iter: &mut I) {
        let Some(last) = self.start.checked_sub(1) else {
            return;
        };
        let ended = match usize::try_from(last) {
            Ok(last) => iter.nth(last).is_none(),
            Err(_) => true,
        };
        if ended {
            fail(Error::IteratorTooShort {
                path: self.path.clone(),
                index: self.start,
            });
        }
    }

    /// Starts a checkpoint at `index` completed iterations; add each state value, then commit.
    pub fn save(&mut self, index: u64) -> Save<'_> {
        self.writer
            .begin(&Meta::new(self.label, &self.shape, index));
        Save {
            run: self,
            index,
            error: None,
        }
    }

    /// The loop ended normally: the checkpoint is no longer needed.
    pub fn complete(&mut self) {
        if let Err(err) = storage::remove(&self.path) {
            eprintln!(
                "resumable: warning: the loop finished but {err}; the next run will resume from it"
            );
        }
    }

    /// A periodic save failed: stop, leaving the previous checkpoint as it was.
    #[track_caller]
    pub fn save_failed(&self, err: Error) -> ! {
        panic!("resumable: {err}; the previous checkpoint, if any, is intact")
    }
}

/// Restores the state from a checkpoint, one value at a time, in the order they were saved.
pub struct Restore {
    path: PathBuf,
    loaded: Loaded,
    offset: usize,
}

impl Restore {
    /// Decodes the next state value.
    ///
    /// # Panics
    /// If the payload does not decode: the function stops before any value is used.
    #[track_caller]
    pub fn value<T: DeserializeOwned>(&mut self) -> T {
        let mut rest = &self.loaded.payload()[self.offset..];
        let before = rest.len();
        match checkpoint::take_value(&mut rest) {
            Ok(value) => {
                self.offset += before - rest.len();
                value
            }
            Err(err) => fail(Error::corrupt(
                &self.path,
                format!("its state does not decode ({err})"),
            )),
        }
    }

    /// Checks that every byte of the payload was used.
    #[track_caller]
    pub fn finish(self) {
        let left = self.loaded.payload().len() - self.offset;
        if left != 0 {
            fail(Error::corrupt(
                &self.path,
                format!("{left} bytes are left over after the state"),
            ));
        }
    }
}

/// A checkpoint being written: the state values go in one by one.
pub struct Save<'a> {
    run: &'a mut Run,
    index: u64,
    error: Option<postcard::Error>,
}

impl Save<'_> {
    /// Appends one state value.
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        if self.error.is_none() {
            self.error = self.run.writer.value(value).err();
        }
    }

    /// Writes the checkpoint durably in place of the previous one.
    pub fn commit(self) -> Result<(), Error> {
        if let Some(source) = self.error {
            return Err(Error::Serialize {
                path: self.run.path.clone(),
                source,
            });
        }
        self.run.writer.commit(&self.run.path)
    }

    /// Saves after the loop failed (a panic, `?`, or a returned `Err`) and says so on stderr.
    /// A failure to save is reported too; the original failure goes on either way.
    pub fn commit_after_failure(self, failure: &str) {
        let index = self.index;
        let path = self.run.path.clone();
        match self.commit() {
            Ok(()) => eprintln!(
                "resumable: {failure} in iteration {index}; saved checkpoint {} so the next run \
                 starts again at iteration {index}",
                path.display()
            ),
            Err(err) => {
                eprintln!("resumable: {failure} in iteration {index}, and saving failed: {err}")
            }
        }
    }
}

#[track_caller]
fn fail(err: Error) -> ! {
    match err {
        Error::Io { .. } | Error::Serialize { .. } => panic!("resumable: {err}"),
        _ => panic!("resumable: {err} (RESUMABLE_RESET=1 moves it aside for you)"),
    }
}

/// `RESUMABLE_DIR`, else `.resumable` in the current directory.
fn checkpoint_dir() -> PathBuf {
    match std::env::var_os("RESUMABLE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(".resumable"),
    }
}

/// `a::b::f` becomes `a.b.f.ckpt`. Names are checked at compile time to be plain file names.
fn file_name(name: &str) -> PathBuf {
    Path::new(&format!("{}.ckpt", name.replace("::", "."))).to_owned()
}

fn reset_requested() -> bool {
    match std::env::var("RESUMABLE_RESET") {
        Ok(value) => !matches!(value.trim(), "" | "0" | "false" | "no"),
        Err(_) => false,
    }
}

/// `results: alloc::vec::Vec<u64>, total: u64`
fn describe_state(names: &[&str], types: &[&str]) -> String {
    let mut shape = String::new();
    for (i, (name, ty)) in names.iter().zip(types).enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(shape, "{sep}{name}: {ty}");
    }
    shape
}

/// "12 s", "5 min", "3 h", "2 days": how long ago `then_ms` was.
fn age(then_ms: u64) -> String {
    let secs = now_ms().saturating_sub(then_ms) / 1000;
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        7200..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}
