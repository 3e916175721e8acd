//! The process-wide settings: what a program sets in code ([`Config`]), and the environment
//! variables, which win where the user sets them. Every runtime layer asks here.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use crate::error::Error;

/// Settings for every `#[resumable]` loop of the process, set in code before they run.
///
/// Each setting has an environment variable, which wins when the user sets it, so a program
/// can ship defaults and its user can still change them per run:
///
/// | setting | variable | default |
/// |---|---|---|
/// | [`dir`](Config::dir) | `RESUMABLE_DIR` | `.resumable` |
/// | [`store`](Config::store) | `RESUMABLE_STORE` | none: checkpoints stay on this machine |
/// | [`store_lease`](Config::store_lease) | `RESUMABLE_STORE_LEASE` (seconds) | 30 s |
/// | [`store_deadline`](Config::store_deadline) | `RESUMABLE_STORE_DEADLINE` (seconds) | 25 s |
/// | [`signals`](Config::signals) | `RESUMABLE_SIGNALS` (`0`/`1`, …) | on |
/// | [`quiet`](Config::quiet) | `RESUMABLE_QUIET` (`0`/`1`, …) | off: notes on stderr |
///
/// A switch's variable takes `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`, in any
/// case; set to anything else (or `RESUMABLE_STORE_LEASE` or `RESUMABLE_STORE_DEADLINE` to
/// anything but a number of seconds above zero), it stops every loop before it starts, with
/// [`Error::Environment`] naming it.
///
/// A function's `#[resumable(dir = …)]` wins over [`dir`](Config::dir) (and `RESUMABLE_DIR`
/// over both). A loop reads the settings when it starts, so [`Config::apply`] them before the
/// loops run.
/// Unlike `std::env::set_var` (`unsafe` since edition 2024, as other threads may read the
/// environment), `apply` is safe from any thread.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("resumable-doc-config-{}", std::process::id()));
/// resumable::Config::new()
///     .dir(&dir)
///     .signals(false)
///     .apply()?;
/// # if std::env::var_os("RESUMABLE_DIR").is_none() {
/// assert_eq!(resumable::Config::current().dir, dir);
/// # }
/// # resumable::Config::new().apply()?;
/// # Ok::<(), resumable::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    dir: Option<PathBuf>,
    store: Option<String>,
    store_lease: Option<Duration>,
    store_deadline: Option<Duration>,
    signals: Option<bool>,
    quiet: Option<bool>,
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

/// The settings in effect, environment included: what [`Config::current`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// The checkpoint directory.
    pub dir: PathBuf,
    /// The object store's URL, if checkpoints go to one.
    pub store: Option<String>,
    /// How long a run on the store may go without beating before another takes over.
    pub store_lease: Duration,
    /// How long a run that stops waits for its last checkpoint to reach the store.
    pub store_deadline: Duration,
    /// Whether SIGINT and SIGTERM save and stop the loops.
    pub signals: bool,
    /// Whether the runtime's notes (resuming, stopped, reset) are left off stderr.
    pub quiet: bool,
}

static APPLIED: RwLock<Config> = RwLock::new(Config::new());

impl Config {
    /// No setting: every one is its environment variable's, else its default.
    pub const fn new() -> Config {
        Config {
            dir: None,
            store: None,
            store_lease: None,
            store_deadline: None,
            signals: None,
            quiet: None,
        }
    }

    /// The checkpoint directory (unless `RESUMABLE_DIR` is set).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Config {
        self.dir = Some(dir.into());
        self
    }

    /// Keeps checkpoints on the object store at `url` too, e.g. `s3://bucket/jobs` (unless
    /// `RESUMABLE_STORE` is set). Needs the `object-store` feature: without it a loop stops
    /// with [`Error::Store`] saying so, rather than run without the store.
    pub fn store(mut self, url: impl Into<String>) -> Config {
        self.store = Some(url.into());
        self
    }

    /// How long a run holding a checkpoint on the store may go without beating on its lease
    /// before another run takes it over (unless `RESUMABLE_STORE_LEASE` is set).
    pub fn store_lease(mut self, expiry: Duration) -> Config {
        self.store_lease = Some(expiry);
        self
    }

    /// How long a run that stops — SIGTERM, a failure, [`request_stop`](crate::request_stop)
    /// — waits for its last checkpoint to reach the store before the process goes on (unless
    /// `RESUMABLE_STORE_DEADLINE` is set). The checkpoint is durable on this machine either
    /// way; past the deadline a warning says what the store holds. Set it below the time the
    /// machine gets between SIGTERM and SIGKILL (30 s on most clouds' spot machines and
    /// Kubernetes' default grace period, 120 s on AWS spot).
    pub fn store_deadline(mut self, deadline: Duration) -> Config {
        self.store_deadline = Some(deadline);
        self
    }

    /// Whether SIGINT and SIGTERM save and stop the loops (unless `RESUMABLE_SIGNALS` is set).
    /// `#[resumable(signals = false)]` turns them off for one function whatever this says.
    pub fn signals(mut self, on: bool) -> Config {
        self.signals = Some(on);
        self
    }

    /// Leaves the runtime's notes off stderr: "resuming … at iteration …", "stopped …",
    /// "moved checkpoint … aside" (unless `RESUMABLE_QUIET` is set). Warnings (a damaged
    /// checkpoint set aside, a checkpoint that may not be durable, a store out of reach)
    /// still print: each says that something may be lost. With the `tracing` feature nothing
    /// goes to stderr and this changes nothing: the subscriber's filter decides.
    pub fn quiet(mut self, on: bool) -> Config {
        self.quiet = Some(on);
        self
    }

    /// Makes these the process's settings, replacing any applied before. Refused, changing
    /// nothing, when a setting cannot work: an empty directory or store URL, a zero lease or
    /// deadline.
    pub fn apply(self) -> Result<(), Error> {
        let invalid = |setting: &'static str, problem: &str| {
            Err(Error::Config {
                setting,
                problem: problem.to_owned(),
            })
        };
        if self
            .dir
            .as_ref()
            .is_some_and(|dir| dir.as_os_str().is_empty())
        {
            return invalid("dir", "it is empty");
        }
        if self.store.as_ref().is_some_and(|url| url.trim().is_empty()) {
            return invalid("store", "it is empty");
        }
        if self.store_lease == Some(Duration::ZERO) {
            return invalid(
                "store_lease",
                "it is zero: every run would take over at once",
            );
        }
        if self.store_deadline == Some(Duration::ZERO) {
            return invalid(
                "store_deadline",
                "it is zero: a stopping run would never put its last checkpoint on the store",
            );
        }
        *APPLIED.write().unwrap_or_else(PoisonError::into_inner) = self;
        Ok(())
    }

    /// The settings in effect now: the environment's where set, else the applied ones, else
    /// the defaults.
    pub fn current() -> Settings {
        let applied = APPLIED
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Settings {
            dir: env_text("RESUMABLE_DIR")
                .map(PathBuf::from)
                .or(applied.dir)
                .unwrap_or_else(|| PathBuf::from(".resumable")),
            store: env_text("RESUMABLE_STORE").or(applied.store),
            store_lease: env_seconds("RESUMABLE_STORE_LEASE")
                .or(applied.store_lease)
                .unwrap_or(Duration::from_secs(30)),
            store_deadline: env_seconds("RESUMABLE_STORE_DEADLINE")
                .or(applied.store_deadline)
                .unwrap_or(Duration::from_secs(25)),
            signals: env_flag("RESUMABLE_SIGNALS")
                .or(applied.signals)
                .unwrap_or(true),
            quiet: env_flag("RESUMABLE_QUIET")
                .or(applied.quiet)
                .unwrap_or(false),
        }
    }
}

/// The directory of a checkpoint whose function says `dir = attribute` (or nothing):
/// `RESUMABLE_DIR` where the user set it, else the attribute's, else [`Config::dir`], else
/// `.resumable`.
pub(crate) fn checkpoint_dir(attribute: Option<&std::path::Path>) -> PathBuf {
    if let Some(dir) = THREAD_DIR.with_borrow(Clone::clone) {
        return dir;
    }
    match (env_text("RESUMABLE_DIR"), attribute) {
        (Some(env), _) => PathBuf::from(env),
        (None, Some(dir)) => dir.to_path_buf(),
        (None, None) => Config::current().dir,
    }
}

thread_local! {
    /// The checkpoint directory of the loops this thread starts, over every other setting:
    /// `resumable::proof` runs a call in a directory of its own this way, so that tests that
    /// cargo runs at once on other threads never see it (a process-wide setting would leak
    /// into them).
    static THREAD_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// While the guard lives, every loop this thread starts keeps its checkpoint in `dir`,
/// whatever `RESUMABLE_DIR`, the attribute's `dir` or [`Config::dir`] say.
pub(crate) fn thread_dir(dir: PathBuf) -> ThreadDir {
    let before = THREAD_DIR.replace(Some(dir));
    ThreadDir { before }
}

/// Whether this thread's loops have a directory of their own ([`thread_dir`]).
pub(crate) fn has_thread_dir() -> bool {
    THREAD_DIR.with_borrow(Option::is_some)
}

/// Puts the thread's directory back as it was when dropped (see [`thread_dir`]).
pub(crate) struct ThreadDir {
    before: Option<PathBuf>,
}

impl Drop for ThreadDir {
    fn drop(&mut self) {
        THREAD_DIR.set(self.before.take());
    }
}

/// A variable's value, trimmed; unset and empty are the same.
fn env_text(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// How a variable's value is read.
#[derive(Clone, Copy)]
enum Reading {
    /// By [`env_flag`].
    Switch,
    /// By [`env_seconds`].
    Seconds,
}

/// The runtime's variables whose values must parse (the others are text).
const READ: [(&str, Reading); 5] = [
    ("RESUMABLE_RESET", Reading::Switch),
    ("RESUMABLE_SIGNALS", Reading::Switch),
    ("RESUMABLE_QUIET", Reading::Switch),
    ("RESUMABLE_STORE_LEASE", Reading::Seconds),
    ("RESUMABLE_STORE_DEADLINE", Reading::Seconds),
];

/// Refuses, before a loop starts, a `RESUMABLE_*` variable whose value cannot be read, rather
/// than guess: a misspelt `RESUMABLE_RESET=flase` must not start a job over, nor
/// `RESUMABLE_STORE_LEASE=30x` run with another lease than the one meant.
pub(crate) fn check_environment() -> Result<(), Error> {
    for (variable, reading) in READ {
        let Some(value) = env_text(variable) else {
            continue;
        };
        let (reads, expected) = match reading {
            Reading::Switch => (
                switch(&value).is_some(),
                "a switch is 1, true, yes or on, or 0, false, no or off",
            ),
            Reading::Seconds => (
                seconds(&value).is_some(),
                "it is seconds, a number above zero such as 30 or 2.5",
            ),
        };
        if !reads {
            return Err(Error::Environment {
                variable,
                value,
                expected,
            });
        }
    }
    Ok(())
}

/// A switch: `1`, `true`, `yes`, `on` turn it on, `0`, `false`, `no`, `off` off, in any case;
/// unset or empty leave it to the code. A loop never starts with any other value
/// ([`check_environment`]); elsewhere it is left to the code too.
pub(crate) fn env_flag(name: &str) -> Option<bool> {
    switch(&env_text(name)?)
}

fn switch(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Seconds, whole or not; a value that is not a number above zero is left to the code (and
/// refused by [`check_environment`]).
fn env_seconds(name: &str) -> Option<Duration> {
    seconds(&env_text(name)?)
}

fn seconds(value: &str) -> Option<Duration> {
    value
        .parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_setting_is_refused_and_changes_nothing() {
        let before = Config::current();
        for bad in [
            Config::new().dir(""),
            Config::new().store("  "),
            Config::new().store_lease(Duration::ZERO),
            Config::new().store_deadline(Duration::ZERO),
        ] {
            let err = bad.apply().unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{err}");
        }
        assert_eq!(Config::current(), before);
    }
}
