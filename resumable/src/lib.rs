//! Make a long-running loop survive crashes.
//!
//! Put `#[resumable(every = N)]` on a function. Its loop (`for`, `while` or `loop`) then saves
//! its accumulators and the number of completed iterations to a checkpoint file every `N`
//! iterations, and when the program runs again after a crash, a kill or a panic, it restores
//! them and carries on where it stopped, returning exactly what an uninterrupted run returns.
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
//! Checkpoints are [postcard]-encoded with serde (nothing in a file can run code), checksummed
//! and typed. They are appended to a log file: a kill at any instant leaves every checkpoint
//! the loop had written, and a torn last record is detected and skipped, never loaded. A
//! checkpoint that cannot be loaded stops the program with an error that names it; it is never
//! deleted or overwritten.
//!
//! The attribute's exact semantics are on [`resumable`](macro@resumable). Without the macro,
//! [`save`], [`load`] and [`remove`] checkpoint any serde value with the same file format.
//!
//! # Environment and configuration in code
//!
//! A program sets the directory, the store, the lease and the signals in code with
//! [`Config`] (`resumable::Config::new().dir("ckpt").store("s3://bucket/jobs").apply()?`),
//! before its loops run; each environment variable below wins over it where the user sets it.
//!
//! - `RESUMABLE_DIR`: the directory for checkpoints; default `.resumable` in the current
//!   directory. It is created (owner-only) on the first save.
//! - `RESUMABLE_RESET=1`: start over. An existing checkpoint is renamed to
//!   `<file>.reset-<unix ms>` beside it, never deleted, and the loop starts from the beginning.
//!   `1`, `true`, `yes`, `on` count (`0`, `false`, `no`, `off` and empty do not, in any case,
//!   as for every `RESUMABLE_*` switch; any other value stops the loop before it starts with
//!   [`Error::Environment`], rather than guess); unset it again for the next run.
//! - `RESUMABLE_SIGNALS=0`: leave SIGINT and SIGTERM alone (see below).
//! - `RESUMABLE_QUIET=1`: leave the runtime's notes off stderr (see
//!   [Messages](#messages-stderr-quiet-or-tracing)).
//! - `RESUMABLE_STORE=s3://bucket/prefix` (the `object-store` feature): keep each checkpoint
//!   on an object store too; `RESUMABLE_STORE_LEASE`: seconds a holder may go without beating
//!   on its lease (30); `RESUMABLE_STORE_DEADLINE`: seconds a stopping run waits for its
//!   last checkpoint to reach the store (25). See [Object storage](#object-storage).
//!
//! # Signals
//!
//! While a resumable loop runs, SIGINT (Ctrl-C) and SIGTERM (what a scheduler or a preempted
//! cloud machine sends) make it save at the next iteration boundary — no completed iteration
//! lost, none run twice — print one line saying where it stopped, and end the process the
//! conventional way: the signal is raised again with its default action, so the shell and
//! schedulers see "killed by SIGINT/SIGTERM". A second signal while the save runs ends the
//! process at once (the previous checkpoint is still there). A signal during a long iteration
//! is answered at once with a line saying that the loop stops at the end of that iteration.
//! Outside resumable loops, the signals do what they would do without this library. The handlers come from
//! [signal-hook](https://docs.rs/signal-hook) and are installed when the first loop starts.
//!
//! Programs with handlers of their own opt out with `signals = false` on the attribute or
//! `RESUMABLE_SIGNALS=0`, and call [`request_stop`] to ask the loops to save and stop.
//!
//! # Durability: what a crash and a power loss can cost
//!
//! A checkpoint is serialized into a reused buffer and appended to the checkpoint's log with
//! `write(2)` before the loop goes on; a background thread then makes it durable with
//! `fdatasync`, one sync for every checkpoint written meanwhile (group commit). So:
//!
//! - **A process crash** (a panic with `panic = "abort"`, `kill -9`, an OOM kill, a preempted
//!   container) loses nothing that was written: the next run resumes from the newest
//!   checkpoint, at most `every` iterations back (or one interval, with `every = "30s"`).
//! - **A power loss or kernel crash** loses at most the checkpoints written since the last
//!   completed background sync — in practice the last few, the time of one `fsync` — and never
//!   leaves a torn or unloadable file: every record carries its own length and CRC-32C, and
//!   recovery uses the newest one that is whole.
//! - SIGINT/SIGTERM, and a panic, `?` or `Err` in the loop before the failing iteration
//!   touched the state (see [Failures](macro@resumable#failures)), save a checkpoint and
//!   **wait until it is durable** before the function unwinds or the process ends; a failure
//!   after the iteration touched it waits for the last checkpoint to be durable. Normal
//!   completion removes the checkpoint and does not wait.
//! - A background sync that fails (a disk error, a full disk) is reported at the loop's next
//!   checkpoint, which then stops the loop with an error naming the file.
//!
//! Durability is always on; there is no mode that skips the `fsync`.
//!
//! # The checkpoint's files
//!
//! A run holds an exclusive lock on `<checkpoint>.lock` (it records the process id); a second
//! process using the same checkpoint fails at once with an error naming the checkpoint and the
//! holder. The log `<checkpoint>` only grows: a checkpoint appends one record, holding each
//! state binding whole, or — for a sequence that only grew — only its new elements (see
//! `append(...)` on [`resumable`](macro@resumable)). A resumed run goes on appending to the log
//! it resumed from (a record a crash cut short at its end is cut off first), and a binding in
//! `append(...)` then saves only what was appended since the last run's checkpoint. A
//! checkpoint starts a new log, `<checkpoint>.next`, with the whole state: at a run's first
//! checkpoint when there was no log to resume from (or only `.prev`, or a file `save` wrote);
//! when the log holds more than twice what its newest record needs; and when the checkpoint
//! needs nothing of the log before it (a state saved whole, changed in place) — the last two
//! once the log is past 1 MiB. Once the new log is synced, the background thread renames the current
//! one to `<checkpoint>.prev`, the new one into place, syncs the directory and removes `.prev`.
//! A file is only renamed after it was synced, and the last durable checkpoint is never
//! overwritten or removed before a newer one is durable; so the files hold at most two copies
//! of the state, the last durable one and the one being written. When checkpoints that each
//! start a new log come faster than the disk syncs them, a checkpoint waits for the one before
//! (the loop's only wait on the disk).
//!
//! A disk that is full is [`Error::NoSpace`], which says how much room the checkpoint needs;
//! the checkpoint before it stays, and the new file is removed.
//!
//! Memory: a checkpoint holds at most 1 MiB of its bytes before they go to the file (16 MiB
//! while the file before it is still being synced, rather than wait for it); a resume holds
//! the state it restores and a 256 KiB chunk of the file. Neither ever copies the state whole.
//!
//! Recovery takes the newest intact checkpoint among these files: a `.next` log a crash kept
//! from being moved into place is moved then. If the newest log is damaged, the run resumes
//! from the newest intact record before the damage (or `.prev`, if a crash left it), with a
//! warning, and the damaged bytes are kept: moved to `<checkpoint>.damaged-<unix ms>`, or
//! copied there when the log itself is still in use; never deleted. A damaged file with no
//! intact checkpoint to fall back on stops the run. Temporary files of [`save`]s that were
//! killed are removed by the next run.
//!
//! # Object storage
//!
//! With the feature `object-store` (`object-store-gcp`, `object-store-azure` add `gs://`,
//! `az://`), `RESUMABLE_STORE` names a store by URL (`s3://`, `file://`, `memory://`), reached
//! through the [object_store](https://docs.rs/object_store) crate with credentials from the
//! environment as its builders read them (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, `AWS_ENDPOINT`,
//! …). The local log stays the fast path: a background thread uploads each checkpoint once it
//! is durable here (only what the log gained; the whole log after a compaction), paced so
//! uploads take a bounded share of the machine, then creates a commit object only if absent;
//! a checkpoint exists on the store once its commit does. A run whose directory is empty or
//! older fetches the store's newest checkpoint, checks it like a local file and resumes. One
//! run holds a checkpoint at a time: a lease with beats, taken over once it expires or is
//! released, and a fence commit that stops a paused old holder at its next save. A store
//! that cannot be reached at start, or that ignores conditional writes, stops the run before
//! its loop ([`Error::Store`]); one held by a live run is [`Error::HeldOnStore`]. Built
//! without the feature, a set `RESUMABLE_STORE` is an error, never ignored.
//!
//! ```sh
//! export RESUMABLE_STORE=s3://my-bucket/jobs   # also file:///shared/dir, memory:// (tests)
//! # credentials, region and endpoint the way object_store reads them:
//! # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT, AWS_ALLOW_HTTP
//! cargo run --release --example squares
//! ```
//!
//! Or in code, before the loops run: `Config::new().store("s3://my-bucket/jobs").apply()?`
//! (the variable still wins where it is set).
//!
//! - **Uploads.** The commit object is created only once the data it names is there, so a
//!   torn upload is never seen. When the network is slower than the loop, the checkpoints in
//!   between are skipped, never queued: the loop never waits on the store. A store that stops
//!   answering during the run is reported once while the loop goes on locally.
//! - **Resuming from the store** says so: `resuming squares at iteration 23000 (checkpoint …,
//!   fetched from the store s3://…`.
//! - **Stopping.** A stop by a signal or a failure waits up to 25 s for the last checkpoint
//!   to reach the store (`RESUMABLE_STORE_DEADLINE` seconds, or [`Config::store_deadline`]:
//!   keep it under the machine's time between SIGTERM and SIGKILL), then releases the lease.
//!   A finished job removes its data from the store.
//! - **The lease.** A run beats on its lease every quarter of `RESUMABLE_STORE_LEASE` seconds
//!   (30 by default), by the store's clock. A second run is refused at once, naming the
//!   holder (host, process, run id); it takes over once the holder misses its beats for the
//!   lease's length, or at once if the holder released it (it stopped on a signal or a
//!   failure) or was a process of the same host that is gone. Taking over writes a fence
//!   commit, so a holder that was only paused and wakes up later finds its next commit taken
//!   and stops with an error at its next save; nothing it wrote after the takeover is read.
//!
//! Give each task of a job array its own checkpoint with `key = task` (a Slurm array's
//! `$SLURM_ARRAY_TASK_ID`, a Kubernetes indexed Job's `$JOB_COMPLETION_INDEX`), so tasks never
//! share state:
//!
//! ```
//! use resumable::resumable;
//! # fn score(line: &str) -> f64 { line.len() as f64 }
//!
//! #[resumable(every = 1000, key = task)]
//! fn shard(task: u32, inputs: &[String]) -> Vec<f64> {
//!     let mut scores = Vec::new();
//!     for line in inputs.iter().skip(task as usize).step_by(8) {
//!         scores.push(score(line));
//!     }
//!     scores
//! }
//! # let inputs: Vec<String> = (0..100).map(|i| i.to_string()).collect();
//! # assert_eq!(shard(3, &inputs).len(), 13);
//! ```
//!
//! ```yaml
//! # Kubernetes: an indexed Job; a pod that is preempted is restarted, on any node, and resumes.
//! apiVersion: batch/v1
//! kind: Job
//! metadata: { name: scoring }
//! spec:
//!   completions: 8
//!   completionMode: Indexed          # $JOB_COMPLETION_INDEX = the task
//!   backoffLimit: 20                 # restarts after preemption
//!   template:
//!     spec:
//!       restartPolicy: OnFailure
//!       containers:
//!         - name: scoring
//!           image: registry.example/scoring:1
//!           env:
//!             - { name: RESUMABLE_STORE, value: "s3://my-bucket/scoring" }
//!             - { name: RESUMABLE_DIR, value: /scratch }   # local disk: the fast path
//!           envFrom: [{ secretRef: { name: aws-credentials } }]
//! ```
//!
//! ```sh
//! # Slurm: an array; `--requeue` puts a preempted task back, on any node.
//! #SBATCH --array=0-7 --requeue --signal=TERM@60
//! export RESUMABLE_STORE=s3://my-bucket/scoring RESUMABLE_DIR=/tmp/$SLURM_JOB_ID
//! srun ./scoring --task "$SLURM_ARRAY_TASK_ID"
//! ```
//!
//! # Messages: stderr, quiet, or `tracing`
//!
//! The runtime says what it did in a line on stderr: "resuming squares at iteration 73000
//! (…)", "saved checkpoint … so the next run starts again at iteration 37", and warnings
//! (a damaged checkpoint moved aside, a checkpoint that may not survive a power loss).
//! [`Config::quiet`] or `RESUMABLE_QUIET=1` leaves the notes out; warnings still print.
//!
//! With the feature `tracing`, and a subscriber in effect, each message is a
//! [tracing](https://docs.rs/tracing) event instead, with target `resumable` and fields:
//!
//! | field | what |
//! |---|---|
//! | `event` | `resumed`, `saved` (`DEBUG`, one per checkpoint), `saved_on_failure`, `not_saved`, `fell_back`, `refused` (`ERROR`; the program gets the error too), `signal`, `stopped`, `reset`, `not_durable`, `not_removed`, `store_behind`, `store_unreachable`, `store_reachable`, `taken_over`, `save_failed`, `no_signals`, `no_timer` |
//! | `name` | the function |
//! | `index` | completed iterations |
//! | `path` | the checkpoint file (or where a damaged one was moved) |
//! | `bytes`, `duration_ms` | of a save |
//! | `message` | the stderr line, without its `resumable: ` |
//!
//! Notes are `INFO`, warnings `WARN`, failures `ERROR`. With no subscriber set the messages
//! are the stderr lines after all, so a program that never set one hears what happened.
//!
//! # Progress bar
//!
//! With the crate's feature `progress` (`resumable = { version = "…", features = ["progress"]
//! }`), every `#[resumable]` loop draws an [indicatif](https://docs.rs/indicatif) bar on stderr:
//! the position, the total when the iterator knows it (a range, a `Vec`, anything whose
//! `size_hint` is exact), the rate, the ETA and, after a resume, where it resumed. It is drawn
//! only when stderr is a terminal. The bar moves at iteration boundaries: with a bar, the loop
//! stops at a boundary at least every 1/500 of the total (every 100 iterations when the total
//! is unknown) without saving there; without the feature, or without a terminal, boundaries
//! come only when a checkpoint is due and the bar costs nothing. With a store (see [Object
//! storage](#object-storage)), the bar also says how far the store is behind.
//!
//! # The `resumable` command
//!
//! `cargo install resumable-cli` (or `cargo run -p resumable-cli -- list` in this workspace)
//! gives a `resumable` command that looks at a checkpoint directory (`$RESUMABLE_DIR`, else
//! `.resumable`) or a store from the outside:
//!
//! - `resumable list`: one row per checkpoint: its name, function and key, the index and age
//!   of the checkpoint a run resumes from, the size of its files, and its health (`ok`, `torn
//!   tail`, `damaged: …`, `pending .next`); then the files set aside.
//! - `resumable show NAME`: its files, state shape and every intact record.
//! - `resumable check`: exits 3 if a run would refuse a checkpoint or fall back past damage.
//! - `resumable reset NAME`: moves its files aside to `<file>.reset-<unix ms>`, as
//!   `RESUMABLE_RESET=1` does; it deletes nothing, and refuses while a run holds it.
//! - `resumable prune --older-than 30d`: removes the files set aside that long ago.
//!
//! `NAME` is the name `list` shows, the attribute's `name = "…"`, the function's path or its
//! own name; `--dir` takes a directory or a store URL; `--json` gives `list` and `show` as one
//! JSON document. The command's README (in the `resumable-cli` crate) says it all: names and
//! keys, health, exit codes, stores, the JSON's fields. Programs read a directory or a store
//! the same way with [`inspect`].
//!
//! # Iteration order
//!
//! Resuming skips the first `index` items, which is only right if the iterator yields the same
//! items in the same order on every run. A loop over a `HashMap` or `HashSet` (whose order is
//! random per process) is refused on entry, before any iteration runs. Every periodic
//! checkpoint also records a fingerprint of the next item — of its `Hash`, else its postcard
//! bytes (`Serialize`: floats, structs that derive only serde's traits), else its `Debug`
//! text — and a resumed loop whose iterator yields a different item there is refused before
//! running anything, with the checkpoint untouched. A checkpoint saved after a failure has no
//! next item to fingerprint (the failing iteration took it); a resume from one checks the item
//! after the newest record that has one, while the iterator skips. So a `Vec` collected from
//! a `HashMap` (another order in every process) is caught whatever ended the last run.
//!
//! # Input files and iterators that know their position
//!
//! [`io::Lines`] reads a file's lines like `BufRead::lines`, [`io::Records`] its records
//! separated by a delimiter byte like `BufRead::split`, and `io::Csv` (the `csv` feature) a CSV
//! file's records deserialized by the `csv` crate. Each implements [`Position`]: it can say
//! where it stands (a byte offset, the line or record number, a fingerprint of the bytes
//! before the offset) and be put back there with one seek, refusing a file truncated or
//! edited where it checks ([`Error::InputChanged`]). Implement [`Position`] for an iterator of your own (a
//! database cursor: the last key; a paginated API: the page token).
//!
//! When the iterator of a `#[resumable]` loop implements [`Position`], each checkpoint saves
//! its position (first, before the state), and a resume puts a fresh iterator there with
//! [`Position::resume_at`] instead of skipping the completed items one by one: a loop at 90%
//! of a 50 GB file resumes with one seek. The next item is still checked against the
//! fingerprint saved with the checkpoint. The position is taken at each checkpoint boundary,
//! before the next item is pulled; the iterator cannot say where it stood before an item it
//! has already yielded, so after a panic or an error in a later iteration nothing is saved and
//! the last checkpoint stands (it says so on stderr): the next run runs the iterations since
//! that checkpoint again. (The iterators of a loop nest, `inner = 'label`, still skip with
//! `nth`.) Which is chosen depends on the iterator's type where the function is written: in a
//! generic function over `I: Iterator`, `I` is skipped with `nth` unless the bound says
//! `I: Position`.
//!
//! # Output files
//!
//! A file the loop writes is an [`io::Output`], created before the loop like a
//! [`File`](std::fs::File) (`Output::create`, or `Output::append` for one kept across jobs)
//! and written like a `BufWriter`: it is state, and each checkpoint saves its length (after
//! writing out its buffer; the checkpoint's background sync syncs the file before the
//! checkpoint). A resume cuts the file back to that length and writes on, so the output of
//! an interrupted and resumed run is the uninterrupted run's, byte for byte; a file gone or
//! shorter than the length saved is refused ([`Error::OutputChanged`]), unless an older
//! checkpoint's length fits, as a power loss can leave it: the run then falls back to that
//! checkpoint, with a warning. A `File` kept as
//! state does not compile (it is not serializable), and one listed in `skip` is created again
//! on resume: emptied by `File::create`, or written twice after the checkpoint when opened to
//! append.
//!
//! ```
//! use std::io::Write as _;
//! use resumable::resumable;
//!
//! #[resumable(every = 10_000)]
//! fn filter(input: &[u64], output: &std::path::Path) -> std::io::Result<u64> {
//!     let mut out = resumable::io::Output::create(output)?;
//!     let mut kept = 0u64;
//!     for &value in input {
//!         if value % 3 == 0 {
//!             writeln!(out, "{value}")?;
//!             kept += 1;
//!         }
//!     }
//!     out.finish()?;
//!     Ok(kept)
//! }
//! # let dir = std::env::temp_dir().join(format!("resumable-lib-output-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # resumable::Config::new().dir(&dir).apply()?;
//! let input: Vec<u64> = (0..100_000).collect();
//! assert_eq!(filter(&input, &dir.join("kept.txt"))?, 33_334);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # File format
//!
//! A `#[resumable]` checkpoint is a log, `<dir>/<name>.ckpt` (`::` in the default name becomes
//! `.`): a header, then records, each written as frames: its data (the postcard bytes of each
//! state binding, in order) in as many data frames as it takes — each goes out once 1 MiB of
//! it is serialized, so a big state is never copied whole in memory — then its head, which
//! ends it. A frame cut short, or data frames with no head after them, are what a crash left
//! — at the end of the log only: with a well-formed frame after it, a bad frame is damage.
//!
//! ```text
//! header  0      8  magic "RESUMABL"
//!         8      4  format version (u32 LE): 3
//!         12     4  metadata length M (u32 LE), at most 64 KiB
//!         16     M  metadata (postcard): fingerprint, label, shape
//!         16+M   4  CRC-32C (u32 LE) of the header's bytes before it
//! frame   0      8  body length L (u64 LE)
//!         8      1  kind: 0 data, 1 head, 2 abort (the data since the last head belongs to
//!                   no record: a save that failed half-way)
//!         9      L-1  data: the next bytes of the record; head: postcard (sequence number,
//!                   index, saved_at_ms, next_item, and per state binding: whole, or elements
//!                   `from..to` of a sequence, with its length in bytes), then the
//!                   fingerprint of the function's code (u64 LE; absent from earlier builds,
//!                   which read the head and leave what follows)
//!         8+L    4  CRC-32C (u32 LE) of the frame's bytes before it
//! ```
//!
//! Version 2, which earlier builds wrote, put each record's head before its data in one
//! frame; it is still read, and a run that resumes from such a log appends to it in its format.
//!
//! [`save`] writes a version-1 file, one checkpoint replaced atomically (temporary file,
//! fsync, rename, fsync of the directory):
//!
//! ```text
//! offset  size  field
//! 0       8     magic "RESUMABL"
//! 8       4     format version (u32 LE): 1
//! 12      4     metadata length M (u32 LE), at most 64 KiB
//! 16      8     payload length P (u64 LE)
//! 24      M     metadata (postcard): fingerprint, index, saved_at_ms, label, shape, next_item
//! 24+M    P     payload (postcard): the value
//! 24+M+P  4     CRC-32C (u32 LE) of every byte before it
//! ```
//!
//! The label is the checkpoint name (or `resumable::save` for [`save`]); the shape lists the
//! state bindings with the structure of their types (for [`save`], of the value's type), and the
//! fingerprint is a hash of both.
//! `next_item` is a fingerprint of the item the loop was about to process (see
//! [Iteration order](#iteration-order)). The shape's first line names the function that saves
//! the checkpoint (`fn my_crate::jobs::squares`).
//! Loading checks the magic, the version, every length against the file's real size, every
//! checksum, and the fingerprint against the running program's before it decodes anything, and
//! requires that the state's bytes are consumed exactly. A `#[resumable]` function also reads
//! version-1 files. The file is read in chunks of 256 KiB, twice: once to check every
//! checksum, once to decode the state straight into its values, so a resume needs memory of
//! the order of the state, never a copy of the file (a type that borrows while it decodes, as
//! `uuid` does, keeps those bytes in an arena until its binding is decoded). The file's size
//! bounds every allocation; postcard never preallocates more than 1 MiB from a length prefix.
//!
//! # Limits
//!
//! - A state value that nests deeper than 128 levels (a linked list of more than about 60
//!   boxed nodes, say) cannot be loaded: the loader bounds recursion so a hostile file cannot
//!   overflow the stack. A `#[resumable]` loop is refused at its first checkpoint (see
//!   [What is state](macro@resumable#what-is-state)); [`save`] writes it and [`load`] refuses
//!   it. Keep deep structures in a `Vec`.
//! - The round trip of the state is checked at each run's first checkpoint only: a value
//!   that stops coming back later in the run (a `Vec` that is empty only at a later
//!   checkpoint, under `skip_serializing_if`) is found at the first checkpoint of a run that
//!   holds it. A field serde skips is found when it differs from its default there.
//! - The code fingerprint covers the tokens of the `#[resumable]` function itself: a change
//!   in a function it calls, or in a macro's definition, is not seen.
//! - A process ignoring SIGINT when it starts (`cmd &` in a non-interactive shell) gets it
//!   handled while a loop runs: signal-hook cannot tell us the inherited disposition.
//! - Statics are caught where the loop body names them with a call that changes them (a path
//!   spelled `LIKE_THIS`: `NEXT_ID`, `ids::NEXT`, `Self::NEXT`). A static changed inside a
//!   function the loop calls is not seen: a library's hidden global state, such as the
//!   thread-local RNG behind `rand::random()` / `rand::rng()` (which gives other numbers on
//!   every run anyway), an id allocator, a global cache that changes results. Likewise a
//!   binding that is not state, advanced inside a function it is passed to
//!   (`parse_next(&mut lines)`), or by a method the attribute does not know, is not caught:
//!   keep what the loop pulls from in the loop's iterator or in its state.
//! - The order check compares one item: items with no `Hash`, `Serialize` or `Debug` are not
//!   checked, and an order that changed only after the checked item is not caught. In a loop
//!   nest, a resume from a failure checkpoint does not check the inner loop's order.
//!
//! - postcard is not self-describing, so each `#[resumable]` checkpoint records the structure
//!   of its state types, traced from their serde impls (struct and field names, field order and
//!   types, enum variants): a checkpoint whose structure differs is refused with a message
//!   that says what changed (`field min added to Stats`). A field whose `Deserialize`
//!   validates its input is read from the binding's value on entry and recorded as opaque,
//!   so the fields beside it are still checked. A type whose `Deserialize` cannot be traced
//!   (untagged enums, `#[serde(flatten)]`, validation inside an enum variant or an empty
//!   sequence) is recorded by its type name only. [`save`] and [`load`] check the same
//!   structure, traced without a value.
//! - **A method's default checkpoint name** holds its type as `std::any::type_name` gives it
//!   (`Grid<f64>::step`), which std says may change between compiler versions: after such a
//!   change, the method's run would start over instead of resuming. Give a long-running
//!   method `name = "…"` on the attribute (and `key = …` if its instances do separate work):
//!   then such a change is refused with a message naming both texts (the checkpoint kept, for
//!   `RESUMABLE_RESET` or an older toolchain), never a silent start over. Functions are named
//!   by `module_path!()`, which does not change.
//! - With `panic = "abort"`, a panic cannot be caught, so it saves nothing; the last periodic
//!   checkpoint is still there.
//! - Durability against power loss depends on the filesystem honouring `fsync`; local
//!   filesystems do, some network filesystems do not. The log also relies on an append never
//!   damaging bytes synced before it (as SQLite's and LevelDB's logs do): true of ext4, XFS,
//!   btrfs and APFS.

mod api;
#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;
mod config;
mod error;
mod format;
pub mod inspect;
pub mod io;
#[cfg(feature = "polars")]
pub mod polars;
mod position;
pub mod proof;
mod report;
mod run;
mod store;
#[cfg(test)]
mod testing;

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

pub use api::{load, remove, save};
pub use config::{Config, Settings};
pub use error::Error;
pub use position::Position;
pub use run::signals::Stopped;

/// Asks every running `#[resumable]` loop to save at its next iteration boundary and stop.
///
/// For programs that handle signals themselves (with `signals = false` on the attribute or
/// `RESUMABLE_SIGNALS=0`): call it from your handler's thread. Each loop then saves its
/// checkpoint and unwinds with a [`Stopped`] payload, which [`std::panic::catch_unwind`]
/// catches (no panic message is printed). A loop that starts after the call stops at its
/// first boundary.
pub fn request_stop() {
    run::signals::request_stop();
}

/// Makes a function's top-level loop (`for`, `while` or `loop`), or a loop nested in it,
/// checkpoint its state and resume after a crash.
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
/// - `skip(a, …)`: the default state, less these bindings. A skipped binding is not saved: a
///   resumed run starts it fresh, as the code before the loop makes it. So `skip` is only for
///   values that never change the result: a cache, a scratch buffer, a handle written to (a
///   diagnostics log, a connection, a progress bar; an output file the loop writes is an
///   [`io::Output`], state). Never for what the loop advances (an RNG it
///   draws from, a reader or iterator it pulls lines from, a channel it receives from): a
///   loop that advances a binding that is not state is refused (see [What is
///   state](#what-is-state)). `skip(NAME)` also takes a static the loop changes that never
///   changes the result (a counter for logs or tests); the loop must name it.
/// - `signals = false`: SIGINT and SIGTERM keep their default action during the loop (for
///   programs with handlers of their own; see [`request_stop`]).
/// - `append(a, …)`: these state bindings, each a `Vec<T>` (any serde `T`) or a `String`, only
///   grow: each checkpoint writes just the elements (bytes) appended since the one before, so
///   a run writes O(final size) bytes instead of O(size × checkpoints). Every checkpoint checks
///   that the binding did not shrink and that the last element it saved is unchanged; if not,
///   the loop stops with an error that names the binding, and the checkpoint on disk stays as
///   it was. (The check is O(new elements): a change to an older element is not caught — leave
///   a binding out of `append(...)` if it may change in place.) With the `polars` feature, a
///   polars `DataFrame` may be named too (its rows: see the `resumable::polars` module).
///   Anything else named in `append(...)` is a compile error.
/// - `key = expr`: one checkpoint per value of `expr`, so a call with other arguments never
///   resumes another call's state. `expr` is evaluated first on entry, before the body runs
///   (it can use the arguments; `key = (n, path)`), and must be `Serialize` and `Debug`. The
///   checkpoint's file is `<name>-<hash of the key>.ckpt`, and its header records the key's
///   `Debug` text; a file that holds another key's checkpoint is refused with both keys named.
///   Checkpoints of keys that never complete stay until removed (`RESUMABLE_RESET=1` on a call
///   with that key). **Without `key`, the key is the arguments** (see [Keys](#keys)); `key =
///   ()` gives one checkpoint whatever the arguments are.
/// - `inner = 'label`: checkpoint inside the loop labelled `'label`, nested in the top-level
///   loop (see [Loop nests](#loop-nests)).
/// - `loop = 'label`: checkpoint the top-level loop labelled `'label`, where the function has
///   several (see [The loop](#the-loop)).
/// - `dir = expr`: this function's checkpoint directory. `expr` is evaluated on entry, after
///   `key` (it can use the arguments), and is anything `AsRef<Path>`. It wins over
///   [`Config::dir`]; `RESUMABLE_DIR`, where the user sets it, wins over it, as over every
///   setting in code.
/// - `strict`: refuse to resume a checkpoint saved by other code of this function (see
///   [Changed code](#changed-code)) with [`Error::CodeChanged`], instead of resuming it and
///   saying so.
/// - `crate = path` (or `crate = "path"`, serde's spelling): where the runtime crate is, for a
///   program that renamed the dependency (`checkpointing = { package = "resumable", … }`:
///   `crate = checkpointing`). Default `::resumable`.
///
/// ```
/// use std::path::Path;
/// use resumable::resumable;
///
/// #[resumable(every = 100, key = (), dir = job.join("checkpoints"))]
/// fn score(job: &Path, n: u64) -> u64 {
///     let mut total = 0;
///     for i in 0..n {
///         total += i % 7;
///     }
///     total
/// }
///
/// # let job = std::env::temp_dir().join(format!("resumable-doc-dir-{}", std::process::id()));
/// assert_eq!(score(&job, 1000), (0..1000u64).map(|i| i % 7).sum::<u64>());
/// # let _ = std::fs::remove_dir_all(&job);
/// ```
///
/// # What a checkpoint writes
///
/// Each state binding whole, except for sequences that only grow:
///
/// - a binding named in `append(...)`, as above;
/// - without a hint, a `Vec` of primitives, `String`s, or tuples of them, and a `String`: at
///   each checkpoint the runtime hashes the elements it saved before (128 bits, about 10 GB/s)
///   and, if they are unchanged, writes only the new ones; if any changed, the whole binding.
///   This can never save a wrong state; its cost is one pass over the sequence in memory per
///   checkpoint. A binding found changed at two checkpoints in a row (weights, not results) is
///   written whole, without hashing, for the rest of the run. After a resume, the first
///   checkpoint checks the elements restored against the hash of their bytes in the
///   checkpoint (taken on restore), and appends to the log if they are unchanged.
///
/// A resumed run appends to the log it resumed from, so a binding in `append(...)` (or found
/// growing and unchanged) costs only its new elements at the resumed run's first checkpoint
/// too.
///
/// Either way the checkpoint restores exactly the value the binding had.
///
/// # What is state
///
/// Everything the loop can change is saved and restored, or the attribute refuses the
/// function, at compile time where it can see the problem, else at run time before anything
/// it would get wrong is saved, with a message that names the binding and says what to write
/// instead. A resumed run
/// never silently computes something else. The attribute reads the function's tokens: what
/// the loop changes out of their sight (the table's last row) is for a test of yours to
/// prove (see [Proving what the attribute cannot
/// see](#proving-what-the-attribute-cannot-see)).
///
/// The state, by default:
///
/// - every `let mut` binding declared at the top level of the function body before the loop
///   and named inside the loop body (a `Cell`, `RefCell`, `Mutex` or atomic included, when
///   declared `let mut`: serde saves what it holds);
/// - every parameter the loop names that it can change: `mut acc: u64` (the binding), and
///   `out: &mut T` (saved and restored through `*out`, so the caller's value is whole);
/// - in a method, `*self` in a `&mut self` method (or `self` in a `mut self` one) whose loop
///   uses it;
/// - in a loop nest, the bindings declared between the loops (see [Loop nests](#loop-nests)).
///
/// `state(a, b)` lists it exactly; `skip(a)` leaves a binding out, which a resumed run starts
/// fresh: only for what never changes the result (a scratch buffer, a cache, a log file, a
/// connection). Each state binding must be `serde::Serialize` and
/// `serde::de::DeserializeOwned` (or, with the `candle` feature, a candle `Tensor` or `Var`:
/// see the `resumable::candle` module; with the `burn` feature, a burn model or burn's
/// `ModuleOptimizer`: see `resumable::burn`; with the `polars` feature, a polars `DataFrame` is
/// saved by its new rows: see `resumable::polars`); otherwise compilation fails at the
/// binding, with what to use instead: for an RNG, a generator that serializes
/// (`rand_chacha::ChaCha8Rng` with its `serde` feature, the same stream as rand's
/// `ChaCha8Rng`) or a fresh one in each iteration seeded from the item or the epoch; for a
/// reader, the loop's iterator (`for line in lines`) or a position (an index, a byte offset).
/// Statics are not state: a loop that changes one is refused at compile time, with how to keep its value in a `let mut` binding instead. The loop's index
/// (the completed iterations) is saved with it. Everything else — the other arguments, the
/// other bindings, the iterator — is computed again by the next run, so it must come out the
/// same; every input on entry is the checkpoint's key (see [Keys](#keys)), so a call with
/// other inputs never resumes this one's state.
///
/// | The loop… | Outcome |
/// |---|---|
/// | changes `let mut` bindings before it, `mut` and `&mut` parameters, `*self` | saved and restored |
/// | changes a `let mut` `Cell`, `RefCell`, `Mutex`, `RwLock` or atomic (worker threads in the body included) | saved and restored (serde serializes them) |
/// | threads state by value: `acc = step(acc, i)`, `phase = match phase { … }`, or returns it from inside the loop (`return out`) | saved and restored; a panic in such a loop keeps the last checkpoint (a `Copy` one declared with a literal, `let mut count = 0`, is not moved by a `return`) |
/// | threads a skipped binding by value (`model = optim.step(lr, model, grads)` with `skip(model)`) | not saved, as skipped; handed back after the loop |
/// | `drain(..)`s a collection | resumes like an owned iterator (the collection is emptied either way) |
/// | fails with `?`, `return Err`, `anyhow::bail!`, a macro's `return Err`, or a panic | see [Failures](#failures) |
/// | changes a binding declared without `mut` through `&`: `let hits = Cell::new(0)`, `AtomicU64`, `Mutex`, `RefCell`, `OnceCell` | compile error: declare it `let mut` |
/// | keeps an `Rc` or `Arc` handle as state (`let mut log = Arc::new(Mutex::new(…))`), or one without `mut` to a value it changes | compile error: keep the value in a `let mut` binding, share it after the loop |
/// | changes a collection through its own iterator: `grid.iter_mut()`, `values_mut()`, `chunks_mut(4)`, `&mut v` | compile error naming the collection, with the loop over indices (or keys) that fits: `for i in 0..grid.len() { let item = &mut grid[i]; … }`, rows of 4 for `chunks_mut(4)` |
/// | changes a binding through a `&mut` borrow of it declared before the loop (`let cur = &mut grid`) | compile error: use `grid` in the loop |
/// | reads state in a closure of its iterator (`.filter(\|x\| *x < limit.get())`) | compile error: test it in the body (`if !(…) { continue; }`) |
/// | keeps state declared without a value (`let mut last;`) | compile error: give it one (`= 0`, or an `Option`) |
/// | keeps an array longer than 32 as state (`[u64; 64]`: serde's limit) | compile error: a `Vec`, or the array in a struct with `serde_big_array` / `serde_with` |
/// | calls a closure, declared before it, that names a `let mut` binding (`let mut add = \|x\| total += x`) | compile error: pass the binding in (`add(&mut total, x)`), or write the closure in the body |
/// | keeps a borrow as state: `let mut best: &str`, `= &x`, `Vec<&'a str>` | compile error: an owned type (`String`), or an index |
/// | changes a static: `NEXT_ID.fetch_add(1, …)`, `LOG.lock()`, `.store`, `.swap`, `.compare_exchange`, `.borrow_mut()`, `.set`/`.take`/`.replace`, a `thread_local!`'s `.with(\|c\| c.set(…))` or `.with_borrow_mut`, a `static mut` assigned, a concurrent collection's `.insert`/`.push` | compile error at the static: `let mut next_id = NEXT_ID.load(…)` before the loop, `NEXT_ID.store(next_id, …)` after it (or pass the value in); `skip(NEXT_ID)` if it never changes the result (a test's run counter). Constants and reads pass: `MAX.min(x)`, `u64::MAX`, `CONFIG.limit`, `.load()`, `.get()`, `.with(\|c\| c.get())` |
/// | advances a binding that is not state (left out by `skip` or `state(...)`, or declared without `mut`): `lines.next()`, `while let Ok(x) = rx.recv()`, `reader.read_line(…)`, `rng.random()`, `items.shuffle(&mut rng)`, `for x in &mut it`; or whose `while` condition reads a `let mut` binding left out | compile error: make it the loop's iterator (`for line in lines`, whose completed items a resume skips and checks), or keep its position (an index, a byte offset, a serializable RNG) as state. A message received and dropped (`go.recv().unwrap();`) only paces the loop and passes |
/// | writes a file opened before it (or between the loops of a nest): `File::create`, `File::options()`/`OpenOptions::new()` … `.open(p)`, wrapped or not (`BufWriter::new(File::create(p)?)`), `csv::Writer::from_path`, `skip`ped or not | compile error at the opening call: a resumed run opens it again, which empties it (or, opened for append, writes again what followed the checkpoint). Write it through `resumable::io::Output::create(path)` (or `Output::append(path)`), whose length is saved with each checkpoint. A log opened with `.append(true)` and named in `skip` passes (its repeated lines accepted); so does a file opened with `.write(true)` alone, skipped, that the loop writes only at positions it computes (`write_all_at`). A file only read in the loop, or written after it, passes |
/// | takes `&mut [T]`, `&mut str` or `&mut dyn Trait` and uses it | compile error: `&mut Vec<T>`, `&mut String`, or a local copy |
/// | runs a recursive call, or a call on another thread, with the same checkpoint and key | refused on entry: give each its own `key` |
/// | iterates a `HashMap`/`HashSet`, or items whose order changed since the checkpoint | refused on entry (see [Iteration order](crate#iteration-order)) |
/// | changes what a binding it reads but does not own holds through `&`: a binding without `mut`, a `&` parameter (`hits: &AtomicU64`), `&self` with a `Cell` field, or what a closure it calls reads | refused at every save, the one after a failure too, before that checkpoint is saved: each such binding is fingerprinted on entry and at each save (its first 1 MiB of postcard bytes, else its `Hash`). Make it state (`let mut`, `&mut`), or `skip(name)` if it never changes the result (a progress bar, a client) |
/// | reads such a binding whose type has neither `Serialize` nor `Hash` (a client, a closure's result, a tensor whose `Debug` shows only its shape) | compile error at the binding: the watch cannot see it; `skip(name)` if the loop never changes it, else make it state or derive `Serialize` or `Hash` (a closure declared before the loop is not asked: what it reads is watched instead) |
/// | changes what no token of the function shows: a global or thread-local RNG or counter behind a function call, a `let mut` that a macro writes | not seen by the attribute: prove your loop with [`proof::assert_resumes`] in a test (below) |
/// | keeps state whose serde does not bring it back: a `#[serde(skip)]` field (back as its default), `#[serde(skip_serializing_if = …)]` (bytes that do not decode: postcard cannot tell a field is missing), a list or tree nested deeper than 128 levels | refused at the first checkpoint of every run, before it is written ([`Error::NotRoundTrip`], naming the binding and the field where it can; the checkpoint before it stands): the value is serialized, decoded as a resume would, and compared through `PartialEq` (unless the value is not equal to itself: a NaN), else its `Debug` text, else the bytes it encodes to again (which do not see a skipped field). A skipped field that only caches what the others determine passes when the type's `PartialEq` (or `Debug`) leaves it out too |
///
/// ```
/// use std::cell::Cell;
///
/// use resumable::resumable;
///
/// // `out` is state: a resumed call restores into `*out` what the interrupted one had pushed.
/// // `hits` is a `Cell` declared `let mut`: state too.
/// #[resumable(every = 100, name = "doc-state")]
/// fn fill(n: u64, out: &mut Vec<u64>) -> u64 {
///     let mut hits = Cell::new(0u64);
///     for i in 0..n {
///         if i % 3 == 0 {
///             hits.set(hits.get() + 1);
///         }
///         out.push(i * i);
///     }
///     hits.get()
/// }
///
/// let mut squares = Vec::new();
/// assert_eq!(fill(1000, &mut squares), 334);
/// assert_eq!(squares.len(), 1000);
/// ```
///
/// ## Proving what the attribute cannot see
///
/// The attribute reads tokens. What the loop changes out of their sight is not in the
/// checkpoint, and a resume computes it again from scratch: a library's global or
/// thread-local RNG read through a function, a global counter, a `let mut` that a macro
/// writes (`let_mut!(acc)`), the order of a map rebuilt on every run. Check your own loops in
/// your test suite with [`proof::assert_resumes`]: it runs the
/// call uninterrupted, then interrupted by a panic at its first, a middle and its last
/// checkpoint and at its loop's end, resumes each time, and fails (naming the interruption and
/// showing both values) if a resumed value differs.
/// [`assert_resumes_killed`](proof::assert_resumes_killed) also kills a child process
/// of the test binary at those points. Each run has a temporary checkpoint directory of its
/// own, so tests running at once do not meet.
///
/// ```
/// # use resumable::resumable;
/// # #[resumable(every = 100, name = "doc-proof")]
/// # fn fill_squares(n: u64) -> Vec<u64> { let mut v = Vec::new(); for i in 0..n { v.push(i * i); } v }
/// resumable::proof::assert_resumes(|| fill_squares(1000));
/// ```
///
/// # Failures
///
/// A failure in iteration `i` — a panic, `?`, a returned `Err` (of any `Result`, type aliases
/// such as `anyhow::Result` included), or an `Err` returned where the attribute cannot see it
/// (`anyhow::bail!`, `anyhow::ensure!`, a `macro_rules!` of the program's that returns) — never
/// saves a half-done iteration. The attribute marks, in the loop body, where an iteration first
/// touches the state: the first top-level statement that names a state binding (looking into
/// an `if` whose condition only reads, and, for `out.push(fetch(i)?)`, `total += parse(x)?`
/// and `x = f(y)?`, after the value is computed, just before it is stored). Then:
///
/// - a failure **before** that point leaves the state as iteration `i` found it: it is saved,
///   durably, with the resume point `i`, so iteration `i` runs again and nothing else does;
/// - a failure **after** it would save a state that counted part of iteration `i`: nothing is
///   saved, the last checkpoint stands, and the next run runs iterations from it again. One
///   line on stderr says which.
///
/// So that a failure saves at the failing iteration, do the fallible work before changing the
/// state: `let y = parse(x)?; total += y;` rather than `total += x; parse(x)?;`. Then the
/// failure goes on: the panic unwinds, the `Err` is returned.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// use resumable::resumable;
///
/// #[derive(Debug)]
/// struct Flaky(u32);
///
/// static FAIL_AT: AtomicU32 = AtomicU32::new(25);
/// static FETCHED: AtomicU32 = AtomicU32::new(0);
///
/// /// A transient error, like a dropped connection: item 25 fails once.
/// fn fetch(item: u32) -> Result<u32, Flaky> {
///     FETCHED.fetch_add(1, Ordering::Relaxed);
///     if FAIL_AT.compare_exchange(item, u32::MAX, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
///         return Err(Flaky(item));
///     }
///     Ok(item * 2)
/// }
///
/// #[resumable(every = 10, name = "doc-failure")]
/// fn double_all(items: &[u32]) -> Result<Vec<u32>, Flaky> {
///     let mut out = Vec::new();
///     for &item in items {
///         // `fetch` fails before `out` changes: saved at 25, with items 0..25 in `out`.
///         out.push(fetch(item)?);
///     }
///     Ok(out)
/// }
///
/// let items: Vec<u32> = (0..100).collect();
/// assert!(double_all(&items).is_err());
/// assert_eq!(FETCHED.swap(0, Ordering::Relaxed), 26);
/// // The same call runs again: it resumes at item 25 (fetching 25..100 only) and returns
/// // what an uninterrupted run returns.
/// let doubled = double_all(&items).unwrap();
/// assert_eq!(FETCHED.load(Ordering::Relaxed), 75);
/// assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
/// ```
///
/// # Changed code
///
/// Each checkpoint records a fingerprint of the function's code: the tokens of its signature
/// and body as written (not whitespace, comments or doc comments, nor the attribute's
/// options). Fixing a bug in the loop and running again resumes, so the work done is kept,
/// and the resume line says what that means: "the code of `run` changed since this
/// checkpoint was saved: iterations before 500 ran with the old code". With `strict` the run
/// is refused instead ([`Error::CodeChanged`]); `RESUMABLE_RESET=1` (or `resumable reset`)
/// moves the checkpoint aside so that the new code starts over. A checkpoint written before
/// the fingerprint was recorded resumes without a word about its code, `strict` or not.
///
/// ```
/// use resumable::resumable;
///
/// // A checkpoint left by an earlier build of `tally` with another loop body is refused.
/// #[resumable(every = 100, name = "doc-strict", strict)]
/// fn tally(n: u64) -> u64 {
///     let mut total = 0;
///     for i in 0..n {
///         total += i;
///     }
///     total
/// }
/// # assert_eq!(tally(1000), 499_500);
/// ```
///
/// # Errors of the runtime itself
///
/// Before the loop, the runtime can find that it cannot run it: another process holds the
/// checkpoint ([`Error::Locked`]), the checkpoint cannot be loaded ([`Error::Corrupt`],
/// [`Error::Mismatch`], a store that cannot be used), or the iterator does not yield what the
/// saved run's did ([`Error::IteratorTooShort`], [`Error::OrderChanged`],
/// [`Error::UnorderedIterator`]); and a save can fail in the loop ([`Error::Io`],
/// [`Error::NoSpace`], [`Error::NotAppendOnly`], [`Error::NotRoundTrip`], …), and a resume by
/// changed code is refused under `strict` ([`Error::CodeChanged`]). Each leaves the
/// checkpoint as it was (a failed save: the one before it stands). Then:
///
/// - a function returning `Result<T, E>` where `E: From<resumable::Error>` — `anyhow::Error`,
///   `Box<dyn std::error::Error>`, a `thiserror` enum with a `#[from] resumable::Error`, an
///   alias such as `anyhow::Result<T>`, a `T` that is `impl Trait` — returns
///   `Err(E::from(error))`;
/// - any other function panics with the error's message, which names the file and what to do.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("resumable-doc-errors-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # resumable::Config::new().dir(&dir).apply()?;
/// use resumable::resumable;
///
/// #[resumable(every = 10, name = "doc-errors", key = ())]
/// fn total(n: u64, panic_at: u64) -> Result<u64, Box<dyn std::error::Error>> {
///     let mut sum = 0;
///     for i in 0..n {
///         assert!(i != panic_at, "stopped at {i}");
///         sum += i;
///     }
///     Ok(sum)
/// }
///
/// // A run stops at 45 and leaves a checkpoint; then a byte of its header is damaged.
/// assert!(std::panic::catch_unwind(|| total(100, 45)).is_err());
/// let file = resumable::Config::current().dir.join("doc-errors.ckpt");
/// let mut bytes = std::fs::read(&file)?;
/// bytes[12] ^= 0x55;
/// std::fs::write(&file, &bytes)?;
/// # let _ = std::fs::remove_file(file.with_extension("ckpt.prev"));
/// // Returned as the function's `Err`; the file is left as it is.
/// let err = total(100, u64::MAX).unwrap_err();
/// let err = err.downcast_ref::<resumable::Error>().unwrap();
/// assert!(matches!(err, resumable::Error::Corrupt { .. }), "{err}");
/// assert_eq!(std::fs::read(&file)?, bytes);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("resumable-doc-panics-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # resumable::Config::new().dir(&dir).apply().unwrap();
/// use resumable::resumable;
///
/// // `String` cannot hold a `resumable::Error`: the same damage makes this one panic.
/// #[resumable(every = 10, name = "doc-panics", key = ())]
/// fn total(n: u64, panic_at: u64) -> Result<u64, String> {
///     let mut sum = 0;
///     for i in 0..n {
///         assert!(i != panic_at, "stopped at {i}");
///         sum += i;
///     }
///     Ok(sum)
/// }
///
/// assert!(std::panic::catch_unwind(|| total(100, 45)).is_err());
/// let file = resumable::Config::current().dir.join("doc-panics.ckpt");
/// let mut bytes = std::fs::read(&file).unwrap();
/// bytes[12] ^= 0x55;
/// std::fs::write(&file, &bytes).unwrap();
/// # let _ = std::fs::remove_file(file.with_extension("ckpt.prev"));
/// let panic = std::panic::catch_unwind(|| total(100, u64::MAX)).unwrap_err();
/// let message = panic.downcast_ref::<String>().unwrap();
/// assert!(message.contains("doc-panics.ckpt"), "{message}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// # Keys
///
/// A checkpoint belongs to one call: the function (its full path is recorded in the
/// checkpoint, so another function given the same `name` is refused, never loaded) and its
/// key. Without `key = …`, the key is every input of the call as it is on entry: `self` (in
/// a `&mut self` method too: on a resumed run it holds its entry value again), every argument
/// (state arguments too: `w = train_epoch(w, &data)` has one checkpoint per epoch), each type
/// parameter (its name: `evaluate::<Sq>` and `evaluate::<Abs>` are two calls) and const
/// parameter. Each value is fingerprinted through the first of `Hash`, `Serialize` (its
/// postcard bytes) and `Debug` (its text) it has; an input with none of them (a closure, a
/// handle) is a compile error at the input asking for `key = …`, since left out it would let
/// one call resume another's state. A call that finds no checkpoint for its key while the
/// function has checkpoints for other keys says so as it starts, naming the inputs that differ
/// (a key that changes on every run, such as a timestamp inside `self`, shows on the first
/// rerun). A function without inputs has one checkpoint, `<name>.ckpt`; otherwise the file is
/// `<name>-<hash of the key>.ckpt` and the resume line shows the key (`key n = 1000000`): each
/// input's `Debug` text when it is one short line, else a summary of its type, its number of
/// items (a collection, or a reference to one) and the start of its fingerprint
/// (`rows = &[f64] of 100000 items #3fa2c1d0`), so a big or multi-line input never fills the
/// line. So
/// `for part in parts { score(part, n) }` works: each call resumes its own checkpoint. A call
/// with a changed argument (a larger `n`) is another call: it starts from the beginning, and
/// the old call's checkpoint stays until that call completes or is reset (`resumable list`
/// shows it). An argument that does not change the work (a delay, a verbosity, a thread
/// count) belongs out of the key: say what does with `key = (input, n)`, or `key = ()` for one
/// checkpoint whatever the arguments. An argument that is a `HashMap` or `HashSet` (its order,
/// and so its bytes, differ per process) is refused on entry with that advice. Fingerprinting
/// reads each argument once per call (a large slice of input, about 1 GB/s); `key = …` avoids
/// it.
///
/// # The loop
///
/// A top-level loop of the function body: a `for`, a `while` (or `while let`) or a `loop`,
/// written as a statement or as the value of a `let` (`let found = loop { … };`) or of the
/// function. None is a compile error. Where the body has several, one checkpoints:
///
/// - the one labelled `'label` with `loop = 'label` on the attribute; else
/// - with `inner = 'label`, the one whose body holds the loop with that label; else
/// - the first whose body names a `let mut` binding declared before it (or a `mut` or `&mut`
///   parameter, or `self` in a `&mut self` method), which is where state changes; else the
///   first.
///
/// The others are ordinary code. Those before it run before the checkpointing starts, on
/// every call, a resumed one too, like the other statements there (the state they leave is
/// replaced by the restored one, so they must not have effects outside the function that
/// may not repeat); those after it run once it has ended. An index built in a loop before the
/// main loop changes a `let mut` binding, so it is the one chosen by default: name the main
/// loop with `loop = 'main`.
///
/// - **`for`**: the iterator expression is evaluated once, before the state is restored, as in
///   an uninterrupted run. On resume the iterator skips the completed items with
///   [`Iterator::nth`], which is O(1) for ranges and slices, or, if it implements
///   [`Position`] (as [`io::Lines`] does), goes back to the position saved with the checkpoint
///   in one step (see [Input files](crate#input-files-and-iterators-that-know-their-position)).
///   **The iterator must yield the same
///   items in the same order on every run** (a range, a `Vec`, a sorted listing — not a
///   `HashMap`); if it yields fewer items than were completed, the function panics.
/// - **`while` and `loop`**: the loop's progress lives entirely in its state (a counter, a
///   queue, a cursor), which is checkpointed like any other; the checkpoint's index counts
///   completed iterations. `while COND BODY` runs as `for _ in 0u64.. { if COND BODY else {
///   break } }` and `loop BODY` as `for _ in 0u64.. BODY`, so the condition is evaluated on
///   the restored state, and `let` chains (`while let Some(job) = queue.pop()`) work. A
///   `loop` whose value is used (`let found = loop { … break i; };`, or the function's last
///   expression) gives it as without the attribute: a `break value` ends the loop and the
///   run. A `break` whose value takes state with it (`break out` for a `Vec` the loop fills)
///   is a compile error: break with a copy (`out.clone()`), or read the state after the loop.
/// - **Loop nests**: by default, checkpoints fall between iterations of the top-level loop,
///   and a loop inside its body runs whole within one iteration. To checkpoint inside the
///   inner loop, label it and name it with `inner = 'label` (see [Loop nests](#loop-nests)).
///
/// ```
/// use resumable::resumable;
///
/// // A work queue in the state: each checkpoint saves what is left to do.
/// #[resumable(every = 100, name = "doc-queue")]
/// fn drain(jobs: Vec<u32>) -> u64 {
///     let mut queue = jobs;
///     let mut total = 0u64;
///     while let Some(job) = queue.pop() {
///         total += u64::from(job) * 2;
///     }
///     total
/// }
/// # assert_eq!(drain((0..1000).collect()), 999_000);
/// ```
///
/// # Loop nests
///
/// `inner = 'label` checkpoints inside the loop with that label, which must be a statement of
/// the top-level loop's body (not inside an `if`, a block or a deeper loop); the top-level
/// loop is then the outer loop. An outer `while let PAT = EXPR` runs as a `for _ in 0u64..`
/// whose body starts with `let PAT = EXPR else { break };` (`while COND` with `if COND {}
/// else { break }`), so its condition is one of the statements between the loops; a `let`
/// chain there is not supported. An outer loop that ends before the iteration the checkpoint
/// was saved in (a queue that is empty on resume) is refused on resume, as an iterator that
/// is too short is: its state was never restored. `every` counts the inner loop's iterations, over the whole
/// run; the checkpoint's index is the inner iterations completed so far (one that `break`s
/// included, and for a `while` inner loop the check of its condition that ends it), and its
/// resume point is the pair (outer iteration, inner iteration), saved with the state.
///
/// The state is the function-level state (as above: `let mut` bindings before the outer loop
/// that the outer loop's body names), then the bindings declared between the loops (the
/// outer body's `let`s before the inner loop) that the inner loop or the statements after it
/// name — `let` and `let mut` alike, since they are restored rather than trusted to come out
/// the same. `skip(...)` and `state(...)` take both kinds. A between-loop binding that only
/// the inner loop's iterator names is serialized once, when the inner loop starts, and those
/// bytes go into that outer iteration's checkpoints, so the iterator may move it (`'batches:
/// for batch in batch_list`). On resume:
///
/// 1. the code before the outer loop runs, and the outer iterator skips the completed outer
///    iterations;
/// 2. the outer iteration the checkpoint was saved in starts: its pattern is bound and the
///    statements between the loops run again (their side effects happen again);
/// 3. the function-level state and the between-loop state are restored (what step 2 computed
///    for them is replaced), the inner iterator is created and skips the completed inner
///    iterations, and the loop goes on.
///
/// A panic, a `?` or a returned `Err` inside the inner loop saves there, as for a single loop.
/// One in the statements between or after the loops saves nothing: the next run resumes from
/// the last checkpoint, which was consistent. The inner loop's body cannot `break` or
/// `continue` the outer loop (a compile error that says what to do instead); the statements
/// around it can. The types of the between-loop bindings are part of the checkpoint's shape,
/// checked on entry like the rest.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// use resumable::resumable;
///
/// static FAIL: AtomicBool = AtomicBool::new(true);
///
/// #[resumable(every = 2, name = "doc-nest", inner = 'batches, skip(FAIL))]
/// fn train(epochs: u64, data: &[f64]) -> Vec<f64> {
///     let mut losses = Vec::new();
///     for epoch in 0..epochs {
///         let rate = 1.0 / (1.0 + epoch as f64);
///         let mut loss = 0.0;
///         'batches: for (b, batch) in data.chunks(2).enumerate() {
///             if epoch == 1 && b == 2 && FAIL.swap(false, Ordering::Relaxed) {
///                 panic!("a failure in epoch 1, batch 2");
///             }
///             loss += rate * batch.iter().sum::<f64>();
///         }
///         losses.push(loss);
///     }
///     losses
/// }
///
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
/// assert!(std::panic::catch_unwind(|| train(3, &data)).is_err());
/// // Resumes at (epoch 1, batch 2), with epoch 1's `loss` and `rate` restored...
/// let resumed = train(3, &data);
/// // ...and returns what an uninterrupted run returns.
/// assert_eq!(resumed, train(3, &data));
/// assert_eq!(resumed[..2], [36.0, 18.0]);
/// ```
///
/// Since the function-level state is restored (decoded into) after the statements between the
/// loops, a between-loop binding cannot borrow it for the inner loop (`let row = &grid[r];` with
/// `grid` state): the borrow checker refuses the restore's mutable borrow, pointing at both. Borrow inside the
/// inner loop instead (`for c in 0..n { … grid[r][c] … }`).
///
/// A state `Vec` whose element type only the statements after the inner loop decide (`let
/// mut history = Vec::new();` filled after it) needs its type written where it is declared
/// when the elements are not numbers, `String`s or tuples of them: the inner loop's saves
/// come first in the source. The compiler's message says so.
///
/// # Semantics
///
/// 1. On entry: if a checkpoint exists, the accumulators and index are restored after their
///    initialisers ran, and one line goes to stderr, e.g. `resuming squares at iteration
///    237000 (checkpoint .resumable/jobs.squares-9f1c….ckpt, saved 12 s ago, key n =
///    1000000); iterations from 237000 on run again, including any the last run did after
///    this checkpoint` — what a loop with side effects (a file appended per item) needs to
///    know.
/// 2. Periodic: after every `every` completed iterations, at an iteration boundary (the next
///    item has been taken from the iterator but not processed), counted from where this run's
///    loop started. The checkpoint is written to the operating system before the loop goes
///    on, so a killed process loses at most `every` iterations; it is made durable (fsync) by a
///    background thread, so the loop does not wait for the disk (see
///    [durability](crate#durability-what-a-crash-and-a-power-loss-can-cost)) — except that a
///    checkpoint that starts a new log waits for the one before it if that one is still
///    syncing (see [the checkpoint's files](crate#the-checkpoints-files)).
/// 3. A panic, `?` or returned `Err` in iteration `i`: saved at `i` if the iteration had not
///    touched the state yet, else nothing is saved and the last checkpoint stands (see
///    [Failures](#failures)); then the failure goes on.
/// 4. `break`, and a `return` of anything that is not an error, end the loop normally
///    (Semantics 5). `continue`, labelled loops inside the body, closures with their own
///    `return`/`?`, nested fns, async blocks and macros in the body keep their meaning. A
///    `break` or `continue` of the loop hidden in a macro the attribute cannot read (one that
///    expands to `break`) is a compile error rather than a jump to the wrong place.
/// 5. Normal completion: the checkpoint is removed and the function returns exactly what an
///    uninterrupted run returns. The removal happens when the loop ends; the code after the
///    loop runs after it.
/// 6. Free functions and methods, sync or async, with any return type (including
///    `Result<_, E>` with `?`, `impl Trait` and `Result<impl Trait, E>`, generics). Const fns
///    are a compile error.
///
/// # Async fns
///
/// In an `async fn` the loop body may `.await`; the loop runs in an async block whose every
/// poll catches a panic, so panics, `?`, a returned `Err`, signals and `request_stop` behave as
/// in a sync loop, under any executor (tokio, a `block_on` of your own). The future is `Send`
/// when the state and the body are. The executor thread does not wait for the disk to sync:
/// a checkpoint is a buffered `write` of the record, and the fsync runs on the background
/// thread (a checkpoint that starts a new log while the one before is still syncing waits
/// for it, as in a sync loop). (The start of a call reads the checkpoint file synchronously,
/// once.)
///
/// ```
/// use resumable::resumable;
///
/// async fn fetch(page: u32) -> Result<String, std::io::Error> {
///     Ok(format!("page {page}"))
/// }
///
/// #[resumable(every = 10, name = "doc-async", append(pages))]
/// async fn crawl(n: u32) -> Result<Vec<String>, std::io::Error> {
///     let mut pages = Vec::new();
///     for page in 0..n {
///         pages.push(fetch(page).await?);
///     }
///     Ok(pages)
/// }
/// # let pages = tokio::runtime::Builder::new_current_thread().build().unwrap()
/// #     .block_on(crawl(25)).unwrap();
/// # assert_eq!(pages.len(), 25);
/// ```
///
/// # Methods
///
/// In a method, `self` is a binding like the others: in a `&mut self` (or `mut self`) method
/// whose loop uses `self`, the whole `*self` is state — saved, and restored on resume — so
/// its type must be `Serialize` and `DeserializeOwned` (or leave it out with `skip(self)`, or
/// list the state with `state(...)`). The resume decodes the saved value whole and then
/// assigns it to `*self` (and to a `&mut` parameter that is state): when the checkpoint does
/// not decode and the method returns its error (or panics), the caller's value is as it came
/// in, never half-restored; that needs the memory of the saved value beside the caller's for
/// a moment (state the function owns is dropped before it is decoded; see "Big states" in
/// BENCHMARKS.md). In a `&self` (or `self`) method, `self` is not state:
/// like an argument, it must be the same on the next run, and it is watched: a `Cell` field the
/// loop changes is refused at the save (see [What is state](#what-is-state)). Either way
/// `*self` on entry is part of the key, so several instances never share a checkpoint. The
/// default checkpoint name holds
/// the type, `crate::module::Type<Params>::method` (with `<`, `>` and `,` made `_`), so each
/// instantiation of a generic impl has its own checkpoint.
///
/// ```
/// use resumable::resumable;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Walker {
///     position: i64,
///     steps: u64,
/// }
///
/// impl Walker {
///     // `*self` is the state: a resumed walk goes on from where the walker was.
///     #[resumable(every = 100)]
///     fn walk(&mut self, n: u64) {
///         for i in 0..n {
///             self.position += if i % 3 == 0 { -1 } else { 1 };
///             self.steps += 1;
///         }
///     }
/// }
///
/// let mut walker = Walker { position: 0, steps: 0 };
/// walker.walk(300);
/// assert_eq!((walker.position, walker.steps), (100, 300));
/// ```
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
/// # Example: an append-only accumulator
///
/// ```
/// use resumable::resumable;
///
/// // Each checkpoint writes only the 1000 lines added since the one before.
/// #[resumable(every = 1000, name = "doc-report", append(lines, report))]
/// fn report(n: u32) -> (Vec<String>, String) {
///     let mut lines = Vec::new();
///     let mut report = String::new();
///     for i in 0..n {
///         lines.push(format!("item {i}"));
///         report.push_str(if i % 2 == 0 { "even\n" } else { "odd\n" });
///     }
///     (lines, report)
/// }
/// # let (lines, report) = report(2500);
/// # assert_eq!(lines.len(), 2500);
/// # assert_eq!(report.lines().count(), 2500);
/// ```
///
/// # Example: a checkpoint per argument
///
/// ```
/// use resumable::resumable;
///
/// // `total(1000, "a")` and `total(1000, "b")` each resume only their own work.
/// #[resumable(every = 100, name = "doc-keyed", key = (n, label))]
/// fn total(n: u64, label: &str) -> u64 {
///     let mut sum = 0u64;
///     for i in 0..n {
///         sum += i * label.len() as u64;
///     }
///     sum
/// }
/// # assert_eq!(total(1000, "a"), 499_500);
/// # assert_eq!(total(1000, "bb"), 999_000);
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
