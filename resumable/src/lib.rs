//! Make a long-running loop survive crashes.
//!
//! Put `#[resumable(every = N)]` on a function. Its `for` loop then saves its accumulators and
//! the number of completed iterations to a checkpoint file every `N` iterations, and when the
//! program runs again after a crash, a kill or a panic, it restores them and carries on where it
//! stopped, returning exactly what an uninterrupted run returns.
//!
//! ```
//! use resumable::resumable;
//!
//! #[resumable(every = 1000)]
//! fn squares(n: u64) -> Vec<u64> {
//!     let mut results = Vec::new();
//!     for i in 0..n {
//!         results.push(i * i);
//!     }
//!     results
//! }
//!
//! assert_eq!(squares(10_000)[9_999], 9_999 * 9_999);
//! ```
//!
//! Checkpoints are [postcard]-encoded with serde (nothing in a file can run code), checksummed,
//! typed, and replaced atomically, so a kill at any instant leaves the previous checkpoint or
//! the new one, never a torn file. A checkpoint that cannot be loaded stops the program with an
//! error that names it; it is never deleted or overwritten.
//!
//! The attribute's exact semantics are on [`resumable`](macro@resumable). Without the macro,
//! [`save`], [`load`] and [`remove`] checkpoint any serde value with the same file format.
//!
//! # Environment
//!
//! - `RESUMABLE_DIR`: the directory for checkpoints; default `.resumable` in the current
//!   directory. It is created (owner-only) on the first save.
//! - `RESUMABLE_RESET=1`: start over. An existing checkpoint is renamed to
//!   `<file>.reset-<unix ms>` beside it, never deleted, and the loop starts from the beginning.
//!   Any value but empty, `0`, `false` and `no` counts; unset it again for the next run.
//! - `RESUMABLE_SIGNALS=0`: leave SIGINT and SIGTERM alone (see below).
//!
//! # Signals
//!
//! While a resumable loop runs, SIGINT (Ctrl-C) and SIGTERM (what a scheduler or a preempted
//! cloud machine sends) make it save at the next iteration boundary — no completed iteration
//! lost, none run twice — print one line saying where it stopped, and end the process the
//! conventional way: the signal is raised again with its default action, so the shell and
//! schedulers see "killed by SIGINT/SIGTERM". A second signal while the save runs ends the
//! process at once (the previous checkpoint is still there). Outside resumable loops, the
//! signals do what they would do without this library. The handlers come from
//! [signal-hook](https://docs.rs/signal-hook) and are installed when the first loop starts.
//!
//! Programs with handlers of their own opt out with `signals = false` on the attribute or
//! `RESUMABLE_SIGNALS=0`, and call [`request_stop`] to ask the loops to save and stop.
//!
//! # One run at a time, and two generations
//!
//! A run holds an exclusive lock on `<checkpoint>.lock` (it records the process id); a second
//! process using the same checkpoint fails at once with an error naming the checkpoint and the
//! holder. The previous checkpoint is kept as `<checkpoint>.prev` until the next one is
//! durable. If the newest file is damaged (or missing after a crash between the two renames of
//! a save), the run resumes from the previous one, with a warning; the damaged file is moved
//! to `<checkpoint>.damaged-<unix ms>`, never deleted. Temporary files of saves that were
//! killed are removed by the next run.
//!
//! # Iteration order
//!
//! Resuming skips the first `index` items, which is only right if the iterator yields the same
//! items in the same order on every run. A loop over a `HashMap` or `HashSet` (whose order is
//! random per process) is refused on entry, before any iteration runs. Every periodic
//! checkpoint also records a hash of the next item when the item type is `Hash`; a resumed
//! loop whose iterator yields a different item there is refused before running anything.
//!
//! # File format
//!
//! One file per checkpoint name, `<dir>/<name>.ckpt` (`::` in the default name becomes `.`):
//!
//! ```text
//! offset  size  field
//! 0       8     magic "RESUMABL"
//! 8       4     format version (u32 LE), currently 1
//! 12      4     metadata length M (u32 LE), at most 64 KiB
//! 16      8     payload length P (u64 LE)
//! 24      M     metadata (postcard): fingerprint, index, saved_at_ms, label, shape, next_item
//! 24+M    P     payload (postcard): the state values, in the order of the state bindings
//! 24+M+P  4     CRC-32C (u32 LE) of every byte before it
//! ```
//!
//! The label is the checkpoint name (or `resumable::save` for [`save`]); the shape lists the
//! state bindings with the structure of their types (for [`save`], the type name), and the
//! fingerprint is a hash of both.
//! `next_item` is a hash of the item the loop was about to process, when its type is `Hash`.
//! Loading checks, in order: magic, version, both lengths against the file's real size, the
//! checksum, the fingerprint against the running program's, then decodes the payload and
//! requires that it is consumed exactly. The whole file is read (its real size bounds every
//! allocation; postcard never preallocates more than 1 MiB from a length prefix).
//!
//! # Limits
//!
//! - A state value that nests deeper than 128 levels (a linked list of more than about 60
//!   boxed nodes, say) saves but is refused on load: the loader bounds recursion so a hostile
//!   file cannot overflow the stack. Keep deep structures in a `Vec`.
//! - A process ignoring SIGINT when it starts (`cmd &` in a non-interactive shell) gets it
//!   handled while a loop runs: signal-hook cannot tell us the inherited disposition.
//! - Files saved after a failure (a panic, `?`, a returned `Err`) record no next-item hash, so
//!   a resume from them is not order-checked.
//!
//! - postcard is not self-describing, so each `#[resumable]` checkpoint records the structure
//!   of its state types, traced from their serde impls (struct and field names, field order and
//!   types, enum variants): a checkpoint whose structure differs is refused with a message
//!   that says what changed (`field min added to Stats`). A type whose `Deserialize` cannot be
//!   traced (untagged enums, `#[serde(flatten)]`, input validation that rejects every
//!   placeholder) is recorded by its type name only. [`save`] and [`load`] check the type
//!   name only.
//! - With `panic = "abort"`, a panic cannot be caught, so it saves nothing; the last periodic
//!   checkpoint is still there.
//! - Durability against power loss depends on the filesystem honouring `fsync`; local
//!   filesystems do, some network filesystems do not.

mod api;
mod checkpoint;
mod checksum;
mod depth_limit;
mod envelope;
mod error;
mod fs;
mod growth;
mod journal;
mod lock;
mod log;
mod prefix_hash;
mod run;
mod shape;
mod signals;
#[cfg(test)]
mod sim_fs;
mod storage;
mod syncer;
mod ticker;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use api::{load, remove, save};
pub use error::Error;

/// Asks every running `#[resumable]` loop to save at its next iteration boundary and stop.
///
/// For programs that handle signals themselves (with `signals = false` on the attribute or
/// `RESUMABLE_SIGNALS=0`): call it from your handler's thread. Each loop then saves its
/// checkpoint and unwinds with a [`Stopped`] payload, which [`std::panic::catch_unwind`]
/// catches (no panic message is printed). A loop that starts after the call stops at its
/// first boundary.
pub fn request_stop() {
    signals::request_stop();
}

/// The panic payload of a loop stopped by [`request_stop`]: it saved a checkpoint at `index`
/// completed iterations, and the next call resumes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Completed iterations, saved in the checkpoint.
    pub index: u64,
}

/// Makes a function's top-level `for` loop checkpoint its state and resume after a crash.
///
/// ```
/// use resumable::resumable;
///
/// #[resumable(every = 1000)]
/// fn sum_of_squares(n: u64) -> u64 {
///     let mut sum = 0u64;
///     for i in 0..n {
///         sum += i * i;
///     }
///     sum
/// }
/// # assert_eq!(sum_of_squares(100), 328_350);
/// ```
///
/// # Options
///
/// - `every = N` (required, a positive integer): save after every `N` completed iterations.
///   Or `every = "30s"` (units `ms`, `s`, `m`, `h`): save at the first iteration boundary after
///   each interval. A timer thread raises a flag when the interval has passed, so the loop does
///   not read the clock on every iteration.
/// - `name = "…"`: the checkpoint's name, stable across refactors. Default: the function's
///   module path and name (`my_crate::jobs::squares`). A name is 1 to 200 ASCII letters,
///   digits, `_`, `-` and `.`, not starting with `.`, so it cannot leave the checkpoint
///   directory.
/// - `state(a, b, …)`: exactly these bindings are the state. Each must be a `let mut` binding
///   at the top level of the function body, before the loop.
/// - `skip(a, …)`: the default state, less these bindings (a scratch buffer, a connection).
/// - `signals = false`: SIGINT and SIGTERM keep their default action during the loop (for
///   programs with handlers of their own; see [`request_stop`]).
///
/// # What is state
///
/// By default, every `let mut` binding declared at the top level of the function body before
/// the loop and named inside the loop body. Each state binding must implement
/// `serde::Serialize` and `serde::de::DeserializeOwned`; otherwise compilation fails at the
/// binding, with a note on how to leave it out. The loop's index (the number of completed
/// iterations) is saved with the state. Everything else — arguments, other bindings, the
/// iterator — is computed again by the next run, so it must come out the same.
///
/// # The loop
///
/// The function body's one top-level `for` loop; none, or two, is a compile error. The
/// iterator expression is evaluated once, before the state is restored, as in an
/// uninterrupted run. On resume the iterator skips the completed items with
/// [`Iterator::nth`], which is O(1) for ranges and slices. **The iterator must yield the same
/// items in the same order on every run** (a range, a `Vec`, a sorted listing — not a
/// `HashMap`); if it yields fewer items than were completed, the function panics.
///
/// # Semantics
///
/// 1. On entry: if a checkpoint exists, the accumulators and index are restored after their
///    initialisers ran, and one line goes to stderr, e.g. `resuming squares at iteration
///    237000 (checkpoint .resumable/jobs.squares.ckpt, saved 12 s ago)`.
/// 2. Periodic: after every `every` completed iterations, at an iteration boundary (the next
///    item has been taken from the iterator but not processed), counted from where this run's
///    loop started. The save is atomic and durable before the loop goes on.
/// 3. Panic in iteration `i`: the state as it is and the resume point `i` are saved
///    (iteration `i` runs again), then the panic continues. The same for a failure that leaves
///    the function early: `?` inside the body, or a `return` whose value is an `Err` (any
///    `Result`, type aliases such as `anyhow::Result` included). So that iteration `i` can run
///    again, the body should update its accumulators after its fallible work.
/// 4. `break`, and a `return` of anything that is not an error, end the loop normally
///    (Semantics 5). `continue`, labelled loops inside the body, closures with their own
///    `return`/`?`, nested fns, async blocks and macros in the body keep their meaning.
/// 5. Normal completion: the checkpoint is removed and the function returns exactly what an
///    uninterrupted run returns. The removal happens when the loop ends; the code after the
///    loop runs after it.
/// 6. Sync free functions, with any return type (including `Result<_, E>` with `?`,
///    `impl Trait`, generics). Methods, async fns and const fns are a compile error for now.
///
/// SIGINT and SIGTERM during the loop save at the next iteration boundary and then end the
/// process as the signal would (see [the crate docs](crate#signals)).
///
/// A checkpoint that exists but cannot be used — unreadable, corrupt, truncated, not a
/// checkpoint, or saved by a version of the function whose state bindings or their types
/// differ — makes the function panic before the loop runs, with a message that names the file,
/// says what is wrong and how to start over. The file is left as it is. A periodic save that
/// fails (disk full, permissions) panics too, leaving the previous checkpoint intact.
///
/// # Example: a failure, then a resume
///
/// ```
/// use resumable::resumable;
///
/// #[derive(Debug)]
/// struct Flaky(u32);
///
/// // Fails at item `fail_at`, if given: a transient error, like a dropped connection.
/// #[resumable(every = 10, name = "doc-parse-all")]
/// fn double_all(items: &[u32], fail_at: Option<u32>) -> Result<Vec<u32>, Flaky> {
///     let mut out = Vec::new();
///     for &item in items {
///         if Some(item) == fail_at {
///             return Err(Flaky(item)); // saves: `out` holds items 0..25, resume at 25
///         }
///         out.push(item * 2);
///     }
///     Ok(out)
/// }
///
/// let items: Vec<u32> = (0..100).collect();
/// assert!(double_all(&items, Some(25)).is_err());
/// // The next run resumes at item 25 and returns what an uninterrupted run returns.
/// let doubled = double_all(&items, None).unwrap();
/// assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
/// ```
///
/// # Example: leaving a scratch buffer out
///
/// ```
/// use resumable::resumable;
///
/// #[resumable(every = 100, name = "doc-line-lengths", skip(line))]
/// fn total_length(n: usize) -> usize {
///     let mut total = 0;
///     let mut line = String::with_capacity(64); // reused, not state
///     for i in 0..n {
///         line.clear();
///         line.push_str(&i.to_string());
///         total += line.len();
///     }
///     total
/// }
/// # assert_eq!(total_length(100), 190);
/// ```
#[doc(inline)]
pub use resumable_macros::resumable;
