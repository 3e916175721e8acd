//! The one error type of the crate: every variant names the file it is about.

use std::io;
use std::path::PathBuf;

/// What every load error tells the user to do. Nothing is ever deleted for them. (The macro's
/// runtime adds that `RESUMABLE_RESET=1` does it for them; `load` does not read it.)
const START_OVER: &str =
    "The file was left untouched; to start over, remove the file or move it aside";

/// An error from saving, loading or removing a checkpoint.
///
/// Its `Display` says what went wrong, with which file, and — for a checkpoint that cannot be
/// loaded — how to start over. A checkpoint that fails to load is never deleted or overwritten.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing, syncing, renaming or removing a file failed.
    #[error("could not {action} checkpoint {}", path.display())]
    Io {
        /// What was being done: "read", "write", "sync", "rename", "remove", ...
        action: &'static str,
        /// The file (or directory) the operation was on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The disk (or the user's quota) has no room for the next checkpoint. The checkpoint
    /// saved before it is intact, and the partial new file was removed.
    #[error(
        "no room for checkpoint {}: it needs {} free in {}",
        path.display(),
        size_text(*needed),
        dir.display()
    )]
    NoSpace {
        /// The checkpoint file.
        path: PathBuf,
        /// The directory it is in.
        dir: PathBuf,
        /// The bytes the checkpoint being written needs, beside the one before it.
        needed: u64,
        /// The operating system's error (`ENOSPC` or `EDQUOT`).
        #[source]
        source: io::Error,
    },

    /// The file is not a checkpoint, or it is damaged (truncated, bit-flipped, torn).
    #[error("checkpoint {} cannot be loaded: {problem}. {START_OVER}", path.display())]
    Corrupt {
        /// The checkpoint file.
        path: PathBuf,
        /// What check failed.
        problem: String,
    },

    /// The file is a valid checkpoint of other state: another function, or another version of
    /// this one whose state bindings, or the structure of their types, changed.
    #[error(
        "checkpoint {} was saved with different state: {change}. {START_OVER}",
        path.display()
    )]
    Mismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// What differs, in words: "`stats`: field `min` added to `Stats`".
        change: String,
    },

    /// A binding declared `append(...)` changed in a way appending cannot: it shrank, or an
    /// element already saved changed. The checkpoint was not saved.
    #[error(
        "state `{binding}` is declared append-only with `append({binding})`, but {problem}; \
         checkpoint {} was not updated. Remove `{binding}` from `append(...)` if it may \
         change that way",
        path.display()
    )]
    NotAppendOnly {
        /// The checkpoint file.
        path: PathBuf,
        /// The binding's name.
        binding: &'static str,
        /// What happened to it.
        problem: String,
    },

    /// A state binding does not come back from its bytes as it was saved (checked at each
    /// run's first checkpoint): a field serde skips, a `skip_serializing_if`, a list nested
    /// deeper than a resume decodes. That checkpoint was not written.
    #[error(
        "state `{binding}` does not survive its own checkpoint: {problem}. A resume would \
         refuse it or go on with another value, so the loop stops now, before checkpoint {} \
         is written; fix the type's serde, or leave `{binding}` out with \
         `#[resumable(skip({binding}))]` if the function's result does not depend on it",
        path.display()
    )]
    NotRoundTrip {
        /// The checkpoint file.
        path: PathBuf,
        /// The binding's name.
        binding: &'static str,
        /// What happened to it on the way back, and where.
        problem: String,
    },

    /// `#[resumable(strict)]`: the function's code changed since its checkpoint was saved, and
    /// resuming would mix iterations of the old code with the new.
    #[error(
        "the code of `{function}` changed since checkpoint {} was saved: iterations before \
         {index} ran with the old code, and `#[resumable(strict)]` refuses to resume them with \
         the new. To start over, run once with RESUMABLE_RESET=1 (or `resumable reset`), \
         which moves the checkpoint aside; to resume with the new code, remove `strict`",
        path.display()
    )]
    CodeChanged {
        /// The checkpoint file.
        path: PathBuf,
        /// The function.
        function: &'static str,
        /// The iteration the checkpoint resumes at.
        index: u64,
    },

    /// The iterator yielded fewer items than the checkpoint says were already processed.
    #[error(
        "checkpoint {} says {index} iterations were completed, but the loop's iterator now yields \
         fewer items than that: a resumable loop's iterator must yield the same items in the same \
         order on every run. {START_OVER}",
        path.display()
    )]
    IteratorTooShort {
        /// The checkpoint file.
        path: PathBuf,
        /// Iterations recorded as completed in the checkpoint.
        index: u64,
    },

    /// The loop's iterator yields a different item where the checkpoint stopped than it did
    /// when the checkpoint was saved: its order changed between runs.
    #[error(
        "checkpoint {} was saved when the loop's next item (at iteration {index}) was a \
         different one than the iterator yields now: the iterator's order changed between runs, \
         so resuming would process some items twice and others never. Iterate in an order that \
         is the same on every run (a BTreeMap, or a sorted Vec of keys, not a HashMap). \
         {START_OVER}",
        path.display()
    )]
    OrderChanged {
        /// The checkpoint file.
        path: PathBuf,
        /// The iteration the checkpoint resumes at.
        index: u64,
    },

    /// The loop iterates over a collection whose order is random per process.
    #[error(
        "the loop of checkpoint {} iterates over a hash-ordered collection ({iterator}), whose \
         order changes from run to run: a resumed run would process some items twice and others \
         never. Iterate a BTreeMap or BTreeSet instead, or collect the keys into a Vec and sort it",
        path.display()
    )]
    UnorderedIterator {
        /// The checkpoint file.
        path: PathBuf,
        /// The iterator's type.
        iterator: &'static str,
    },

    /// Another process is running with this checkpoint.
    #[error(
        "checkpoint {} is in use by another run (process {holder}); wait for it to finish or \
         stop it. Two runs of one checkpoint would overwrite each other's progress",
        path.display()
    )]
    Locked {
        /// The checkpoint file.
        path: PathBuf,
        /// The process id recorded by the holder, as text (empty if unknown).
        holder: String,
    },

    /// A binding the loop reads but does not own as state (declared without `mut`, a `&`
    /// parameter, `&self`) changed while the loop ran: through a `Cell`, `RefCell`, `Mutex` or
    /// atomic inside it.
    #[error(
        "`{binding}` changed while the loop of checkpoint {} ran, but it is not loop state (it \
         is declared without `mut`, or is a `&` parameter or `&self`): it changed through a \
         shared reference (a `Cell`, `RefCell`, `Mutex` or atomic inside it), so a checkpoint \
         would not save it and a resumed run would silently start it over. Make it loop state \
         (`let mut {binding}`, a `&mut` parameter, `&mut self`; its type `Serialize` and \
         `Deserialize`), or keep what changes in a `let mut` binding before the loop; if it does \
         not change what the function computes (a progress bar, a logger), leave it out with \
         `#[resumable(skip({binding}))]`. The checkpoint due now was not saved",
        path.display()
    )]
    NotState {
        /// The checkpoint file.
        path: PathBuf,
        /// The binding.
        binding: &'static str,
    },

    /// An input read by a [`Position`](crate::Position) iterator (an
    /// [`io::Lines`](crate::io::Lines)) is not what it was when its position was saved: it is
    /// shorter than the position, or the bytes checked before the position changed. Resuming
    /// would read different lines from a different place, so the resume is refused.
    #[error(
        "input {} changed since its position was saved with the checkpoint: {problem}. \
         Resuming would go on from a place that no longer holds what the interrupted run read. \
         Put the input back as it was, or start over: run once with RESUMABLE_RESET=1 (or \
         `resumable reset`), which moves the checkpoint aside",
        path.display()
    )]
    InputChanged {
        /// The input file.
        path: PathBuf,
        /// What differs: "it is 1200 bytes long, the position is at byte 5000".
        problem: String,
    },

    /// Reading an input of a [`Position`](crate::Position) iterator (an
    /// [`io::Lines`](crate::io::Lines)) failed while putting it back at its saved position.
    #[error("could not {action} input {} to resume at its saved position", path.display())]
    InputIo {
        /// What was being done: "read the length of", "read", "seek in".
        action: &'static str,
        /// The input file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// An output file written through an [`io::Output`](crate::io::Output) is not what the
    /// checkpoint saved of it: it is gone, or shorter than the length saved. Resuming would
    /// append after bytes that are not the ones the interrupted run wrote, so the resume is
    /// refused.
    #[error(
        "output {} changed since its length was saved with the checkpoint: {problem}. \
         Resuming would write on after bytes that are not the ones the interrupted run wrote. \
         Put the output back as it was, or start over: run once with RESUMABLE_RESET=1 (or \
         `resumable reset`), which moves the checkpoint aside",
        path.display()
    )]
    OutputChanged {
        /// The output file.
        path: PathBuf,
        /// What differs: "it is 1200 bytes long, the checkpoint saved 5000".
        problem: String,
    },

    /// Writing, syncing or reopening an output file of an [`io::Output`](crate::io::Output)
    /// failed while a checkpoint was saved or restored.
    #[error("could not {action} output {}", path.display())]
    OutputIo {
        /// What was being done: "write", "open", "truncate".
        action: &'static str,
        /// The output file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// This same process already runs a loop with this checkpoint: a recursive call, or
    /// another thread, with the same name and key.
    #[error(
        "checkpoint {} is already in use by a call of the same function in this process (a \
         recursive call, or another thread) with the same arguments: two loops on one \
         checkpoint would overwrite each other's progress. Give each call its own checkpoint \
         with `#[resumable(key = …)]` (what tells the calls apart) or its own `name`",
        path.display()
    )]
    InUseHere {
        /// The checkpoint file.
        path: PathBuf,
    },

    /// A setting given to [`Config`](crate::Config) cannot work; nothing was changed.
    #[error("resumable::Config: the setting `{setting}` cannot be used: {problem}")]
    Config {
        /// The setting: `dir`, `store`, `store_lease`, `store_deadline`.
        setting: &'static str,
        /// Why.
        problem: String,
    },

    /// A variable of the runtime's environment (`RESUMABLE_RESET`, `RESUMABLE_SIGNALS`,
    /// `RESUMABLE_QUIET`, `RESUMABLE_STORE_LEASE`, `RESUMABLE_STORE_DEADLINE`) holds a value
    /// it cannot read: the loop does not start, rather than guess what was meant.
    #[error(
        "the environment variable {variable}={value:?} cannot be read ({expected}); fix or unset it"
    )]
    Environment {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What it takes.
        expected: &'static str,
    },

    /// The object store named by `RESUMABLE_STORE` (or [`Config::store`](crate::Config::store))
    /// cannot be used: it cannot be reached, it
    /// refused a request, or it does not do what keeping checkpoints safe needs.
    #[error("could not {action} checkpoint {name} on the store {url}: {problem}")]
    Store {
        /// The store's URL.
        url: String,
        /// The checkpoint's name on the store.
        name: String,
        /// What was being done: "reach", "upload", "fetch", ...
        action: &'static str,
        /// What went wrong, and what to do about it.
        problem: String,
    },

    /// Another run wrote a newer checkpoint of this name on the store while this one ran
    /// (another machine took the job over): this run must stop, and nothing it writes from
    /// here on is read.
    #[error(
        "checkpoint {name} on the store {url} was taken over by another run ({holder}): this \
         run stops without writing to it again; its local checkpoint stays in place"
    )]
    TakenOver {
        /// The store's URL.
        url: String,
        /// The checkpoint's name on the store.
        name: String,
        /// The other run: host, process, run id.
        holder: String,
    },

    /// Another run holds the checkpoint on the store and beat on its lease within the expiry:
    /// a second machine must not run the same job.
    #[error(
        "checkpoint {name} on the store {url} is in use by another run ({holder}), which beat \
         on its lease {} ago; wait for it to finish or stop it. It is taken over once it misses \
         its beats for {} (RESUMABLE_STORE_LEASE seconds)",
        duration_text(*beat_ago_ms),
        duration_text(*expiry_ms)
    )]
    HeldOnStore {
        /// The store's URL.
        url: String,
        /// The checkpoint's name on the store.
        name: String,
        /// The holder: host, process, run id.
        holder: String,
        /// How long ago the holder last beat, by the store's clock.
        beat_ago_ms: u64,
        /// How long a holder may go without beating.
        expiry_ms: u64,
    },

    /// The state could not be serialized (a `Serialize` impl returned an error, or a sequence
    /// did not know its length).
    #[error("could not serialize the state for checkpoint {}", path.display())]
    Serialize {
        /// The checkpoint that was being written; it was left as it was.
        path: PathBuf,
        /// postcard's error.
        #[source]
        source: postcard::Error,
    },
}

impl Error {
    /// The message and its causes on one line, `message: cause: cause`: what the runtime
    /// prints and panics with, and what a program without an error reporter can print. The
    /// error's own `Display` leaves its cause to `source()`, so that `anyhow`'s `{:#}` and
    /// other reporters print each cause once.
    pub fn with_causes(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// Whether `err` says the disk or the quota is full.
pub(crate) fn is_no_space(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// "850 ms", "2.5 s", "30 s".
pub(crate) fn duration_text(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        _ => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

/// "120 B", "5.8 KB", "3.1 MB", "2.0 GB" (powers of 1000).
pub(crate) fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant; the `match` fails to compile when a variant is added, so the test
    /// below covers it too.
    fn every_variant() -> Vec<Error> {
        let path = || PathBuf::from("/jobs/squares.ckpt");
        let disk = || io::Error::other("disk on fire");
        let postcard_error = postcard::to_allocvec(&Unlengthed).unwrap_err();
        let all = vec![
            Error::io("write", path(), disk()),
            Error::NoSpace {
                path: path(),
                dir: PathBuf::from("/jobs"),
                needed: 5_000_000,
                source: io::Error::from_raw_os_error(28),
            },
            Error::corrupt(path(), "record 3 fails its checksum"),
            Error::Mismatch {
                path: path(),
                change: "binding `total` is now i64".into(),
            },
            Error::NotAppendOnly {
                path: path(),
                binding: "results",
                problem: "it shrank".into(),
            },
            Error::NotRoundTrip {
                path: path(),
                binding: "stats",
                problem: "it decodes to another value".into(),
            },
            Error::CodeChanged {
                path: path(),
                function: "squares",
                index: 40,
            },
            Error::IteratorTooShort {
                path: path(),
                index: 40,
            },
            Error::OrderChanged {
                path: path(),
                index: 40,
            },
            Error::UnorderedIterator {
                path: path(),
                iterator: "std::collections::HashMap",
            },
            Error::Locked {
                path: path(),
                holder: "4242".into(),
            },
            Error::NotState {
                path: path(),
                binding: "file",
            },
            Error::InUseHere { path: path() },
            Error::Config {
                setting: "dir",
                problem: "it is empty".into(),
            },
            Error::Environment {
                variable: "RESUMABLE_RESET",
                value: "flase".into(),
                expected: "a switch is 1, true, yes or on, or 0, false, no or off",
            },
            Error::Store {
                url: "s3://bucket/jobs".into(),
                name: "squares.ckpt".into(),
                action: "reach",
                problem: "connection refused".into(),
            },
            Error::TakenOver {
                url: "s3://bucket/jobs".into(),
                name: "squares.ckpt".into(),
                holder: "host b, process 7, run 00ff".into(),
            },
            Error::HeldOnStore {
                url: "s3://bucket/jobs".into(),
                name: "squares.ckpt".into(),
                holder: "host b, process 7, run 00ff".into(),
                beat_ago_ms: 1_000,
                expiry_ms: 30_000,
            },
            Error::InputChanged {
                path: path(),
                problem: "it is 10 bytes long, but the position saved is at byte 20".into(),
            },
            Error::InputIo {
                action: "read",
                path: path(),
                source: io::Error::other("disk on fire"),
            },
            Error::OutputChanged {
                path: path(),
                problem: "it is 10 bytes long, but the checkpoint saved 20".into(),
            },
            Error::OutputIo {
                action: "write",
                path: path(),
                source: io::Error::other("disk on fire"),
            },
            Error::Serialize {
                path: path(),
                source: postcard_error,
            },
        ];
        for err in &all {
            match err {
                Error::Io { .. }
                | Error::NoSpace { .. }
                | Error::Corrupt { .. }
                | Error::Mismatch { .. }
                | Error::NotAppendOnly { .. }
                | Error::NotRoundTrip { .. }
                | Error::CodeChanged { .. }
                | Error::IteratorTooShort { .. }
                | Error::OrderChanged { .. }
                | Error::UnorderedIterator { .. }
                | Error::Locked { .. }
                | Error::NotState { .. }
                | Error::InUseHere { .. }
                | Error::Config { .. }
                | Error::Environment { .. }
                | Error::Store { .. }
                | Error::TakenOver { .. }
                | Error::HeldOnStore { .. }
                | Error::InputChanged { .. }
                | Error::InputIo { .. }
                | Error::OutputChanged { .. }
                | Error::OutputIo { .. }
                | Error::Serialize { .. } => {}
            }
        }
        all
    }

    /// A sequence that does not say its length: postcard refuses to serialize it.
    struct Unlengthed;

    impl serde::Serialize for Unlengthed {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq as _;
            serializer.serialize_seq(None)?.end()
        }
    }

    /// Through `anyhow`, `{}` is the message alone, and `{:#}` and `{:?}` print each cause
    /// exactly once; `with_causes` (what the runtime panics with) holds each once too.
    #[test]
    fn every_error_reads_each_cause_once() {
        for err in every_variant() {
            let causes: Vec<String> =
                std::iter::successors(std::error::Error::source(&err), |cause| cause.source())
                    .map(ToString::to_string)
                    .collect();
            let message = err.to_string();
            let runtime = err.with_causes();
            let err = anyhow::Error::from(err);
            let (plain, alternate, debug) =
                (format!("{err}"), format!("{err:#}"), format!("{err:?}"));
            assert_eq!(plain, message);
            // Each names what it is about: the checkpoint, the setting or the variable.
            assert!(
                ["squares", "dir", "RESUMABLE_RESET"]
                    .iter()
                    .any(|about| plain.contains(about)),
                "{plain}"
            );
            for cause in &causes {
                assert!(
                    !plain.contains(cause.as_str()),
                    "{{}} repeats its cause: {plain}"
                );
                for text in [&alternate, &debug, &runtime] {
                    assert_eq!(
                        text.matches(cause.as_str()).count(),
                        1,
                        "{cause:?} in {text}"
                    );
                }
            }
            assert!(runtime.starts_with(&message), "{runtime}");
        }
    }
}
