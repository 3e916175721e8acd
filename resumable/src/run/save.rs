//! Writing one checkpoint: the state bindings go in one by one, each whole or — for a sequence
//! that only grew — only its new elements (see [`crate::run::growth`]), then the record is appended
//! to the log and handed to the background sync thread.

use std::hash::Hasher as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::format::bulk;
use crate::format::encode::VecFlavor;
use crate::format::hash::Hash128;
use crate::report;
use crate::run::growth::{Elements, Growth, PlainItem};
use crate::run::outputs::{self, Collecting};
use crate::run::round_trip::{self, Comparison};
use crate::store::clock::now_ms;
use crate::store::fs::Fs;
use crate::store::journal::{EncodeItems, Journal, Sink};
use crate::store::syncer::Syncer;

/// What a run writes its checkpoints with.
pub(crate) struct Saver {
    /// The filesystem the checkpoint's files are on (the run's).
    pub fs: Arc<dyn Fs>,
    /// Appends checkpoints to the log; `syncer` makes them durable in the background.
    pub journal: Journal,
    pub syncer: Syncer,
    /// Per state binding: what the last record saved of it, if it is saved as it grows.
    pub growth: Vec<Option<Growth>>,
    /// The completed iterations of the newest checkpoint on disk: the one resumed from, or
    /// the last one this run saved.
    pub last_saved: Option<u64>,
    /// The function whose loop it saves, for messages.
    pub function: &'static str,
    /// The log's path, for messages.
    pub path: PathBuf,
    /// The state bindings' names, for errors (the iterator's position first, if it saves one).
    pub state: Vec<&'static str>,
    /// Whether a checkpoint of this run was written, its bindings checked to come back from
    /// their bytes (see [`Save::check`]): the check runs until one is.
    pub round_trip_checked: bool,
}

/// Runs `write` with the journal and the sink it writes a record's data frames through.
#[inline]
fn with_sink<R>(saver: &mut Saver, write: impl FnOnce(&mut Journal, &Sink<'_>) -> R) -> R {
    let syncer = &saver.syncer;
    let may_start = || syncer.may_start_file();
    let pending = || syncer.compaction_pending();
    let sink = Sink {
        fs: &*saver.fs,
        may_start_file: &may_start,
        file_pending: &pending,
    };
    write(&mut saver.journal, &sink)
}

/// A checkpoint being written: the state values go in one by one, in binding order.
pub struct Save<'a> {
    saver: &'a mut Saver,
    index: u64,
    next_item: Option<u64>,
    /// The binding the next value is.
    binding: usize,
    /// What to remember of growing bindings once the record is written.
    growth: Vec<(usize, Growth)>,
    error: Option<Error>,
    /// Why this save after a failure writes nothing: see [`Save::leave`].
    left: Option<String>,
    /// When it began, for the `saved` event's duration.
    started: Instant,
    /// The output files its bindings flushed (`io::Output`): its sync job syncs them first.
    outputs: Collecting,
}

impl<'a> Save<'a> {
    pub(crate) fn new(
        saver: &'a mut Saver,
        index: u64,
        next_item: Option<u64>,
        new_file: bool,
    ) -> Self {
        saver.journal.begin(new_file);
        Save {
            saver,
            index,
            next_item,
            binding: 0,
            growth: Vec::new(),
            error: None,
            left: None,
            started: Instant::now(),
            outputs: Collecting::new(),
        }
    }

    /// This save (after a failure) cannot be made: nothing is written, and its
    /// [`commit_after_failure`](Save::commit_after_failure) says `why` (it names what the
    /// next run resumes from) instead of reporting a failed save.
    pub(crate) fn leave(&mut self, why: String) {
        self.left = Some(why);
    }

    /// Nothing more is written: the save failed, or is left.
    fn stopped(&self) -> bool {
        self.error.is_some() || self.left.is_some()
    }

    /// Fails the save before anything is written: its values are not serialized, and its
    /// commit returns `err`.
    pub(crate) fn fail(&mut self, err: Error) {
        self.error = Some(err);
    }

    /// Whether this save checks each binding's round trip ([`Save::check`]): the run's first.
    #[inline]
    pub fn checks(&self) -> bool {
        !self.saver.round_trip_checked
    }

    /// At the run's first checkpoint: checks that the binding about to be saved decodes, as a
    /// resume would decode it, to the value saved (compared as `compare` can); if not, the
    /// save fails with [`Error::NotRoundTrip`] and writes nothing. Once per run: what a type's
    /// serde drops or cannot read back it drops at the first checkpoint as at any other.
    pub fn check<T: Serialize + DeserializeOwned>(&mut self, value: &T, compare: &Comparison<T>) {
        // A `Vec` of `f32`, `f64`, `u8` or `i8` round-trips by construction: postcard writes
        // its length and its elements' bytes, and a resume copies those bytes back into the
        // vector (`format::bulk`), with no serde impl of the user's on the way and no nesting.
        // It is also the state that is big (100 MB of samples), where the check would cost a
        // copy of it and a decode.
        if self.stopped() || bulk::is_bulk::<T>() {
            return;
        }
        if let Some(problem) = round_trip::problem(value, compare, &self.saver.path) {
            self.not_round_trip(problem);
        }
    }

    /// Fails the save instead of appending a state value that would not come back as it is:
    /// `problem` says why (an ndarray array in another memory order than a restore builds).
    pub fn refuse_value(&mut self, problem: String) {
        if !self.stopped() {
            self.not_round_trip(problem);
        }
        self.binding += 1;
    }

    /// [`Save::refuse_value`] from a codec's own round-trip check, before the binding is saved.
    #[cfg(feature = "polars")]
    pub(crate) fn refuse_round_trip(&mut self, problem: String) {
        if !self.stopped() {
            self.not_round_trip(problem);
        }
    }

    /// Fails the save: the binding does not come back from its bytes. Apart from the generic
    /// [`Save::check`], so that it is compiled once, here (issue 25).
    fn not_round_trip(&mut self, problem: String) {
        self.error = Some(Error::NotRoundTrip {
            path: self.saver.path.clone(),
            binding: self.saver.state.get(self.binding).copied().unwrap_or("?"),
            problem,
        });
    }

    /// Appends one state value, whole.
    #[inline]
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        self.binding += 1;
        if !self.stopped()
            && let Err(err) = with_sink(self.saver, |journal, sink| journal.whole(sink, value))
        {
            self.value_failed(err);
        }
    }

    /// Appends one state value, whole: its bytes `head`, then `items` as a `Vec`'s elements
    /// (encoded directly, as [`Save::grown`] encodes them); an ndarray array.
    pub fn whole_items<E: PlainItem>(&mut self, head: &[u8], items: &[E]) {
        self.binding += 1;
        if self.stopped() {
            return;
        }
        let encode = |range: Range<usize>, buf: &mut Vec<u8>| E::encode_items(&items[range], buf);
        if let Err(err) = with_sink(self.saver, |journal, sink| {
            journal.whole_items(sink, head, items.len(), &encode)
        }) {
            self.value_failed(err);
        }
    }

    /// Fails the save: a value could not be written. Apart from the generic [`Save::value`],
    /// so that it is compiled once, here (issue 25).
    fn value_failed(&mut self, err: Error) {
        // An `io::Output` that could not flush says why; postcard's error cannot.
        self.error = Some(outputs::take_failure().unwrap_or(err));
    }

    /// This record holds every binding whole: it starts a new file.
    fn whole_only(&self) -> bool {
        self.saver.journal.whole_only()
    }

    /// Appends one state value encoded before (by [`Encoded::of`]), whole.
    pub fn encoded(&mut self, encoded: &Encoded) {
        self.binding += 1;
        if self.stopped() {
            return;
        }
        match &encoded.0 {
            Ok(bytes) => {
                if let Err(err) =
                    with_sink(self.saver, |journal, sink| journal.whole_bytes(sink, bytes))
                {
                    self.error = Some(err);
                }
            }
            Err(source) => self.fail_serialize(source.clone()),
        }
    }

    /// Appends a `Vec` of plain items; only its new elements if the saved ones are unchanged.
    pub fn grown<E: PlainItem>(&mut self, items: &[E]) {
        let binding = self.take_binding();
        let (from, growth) = self.found_growth(
            binding,
            items.len(),
            &|range, hasher| E::hash_items(&items[range], hasher),
            &|len, hasher| restored_bytes_hash(&items[..len], hasher, E::encode_items),
        );
        self.extend_with(binding, items, from, growth, E::encode_items);
    }

    /// Appends a `String`; only its new bytes if the saved ones are unchanged.
    pub fn grown_str(&mut self, text: &str) {
        let binding = self.take_binding();
        let bytes = text.as_bytes();
        let (from, growth) = self.found_growth(
            binding,
            bytes.len(),
            &|range, hasher| hasher.write(&bytes[range]),
            &|len, hasher| {
                push_varint_into(hasher, len as u128);
                hasher.write(&bytes[..len]);
                true
            },
        );
        self.extend_bytes(binding, bytes, from, growth);
    }

    /// Where a record of a sequence of `len` elements that may have grown starts: after the
    /// elements the last record saved, if their hash says they did not change. `hash` feeds
    /// elements to a hasher. A sequence found changed in place twice in a row is saved whole
    /// from then on, without hashing.
    ///
    /// After a resume, the elements the checkpoint held are checked once against the hash of
    /// their bytes in it: `restored` feeds the postcard bytes of the first `len` elements
    /// (their count first) to a hasher, `false` if they do not encode.
    ///
    /// `hash` and `restored` are `dyn`, so that this is compiled once, here, not once per
    /// element type in every crate (issue 25); each is called at most twice per save.
    fn found_growth(
        &self,
        binding: usize,
        len: usize,
        hash: &dyn Fn(Range<usize>, &mut Hash128),
        restored: &dyn Fn(usize, &mut Hash128) -> bool,
    ) -> (u64, Growth) {
        let mut hasher = Hash128::default();
        // (elements still as saved, this save finds them changed, the save before did too)
        let (saved, missed, missed_before) =
            match self.saver.growth.get(binding).and_then(Option::as_ref) {
                Some(Growth::Changing) => return (0, Growth::Changing),
                Some(&Growth::Restored { len: saved, bytes }) => {
                    let mut restored_hasher = Hash128::default();
                    let unchanged = saved as usize <= len
                        && restored(saved as usize, &mut restored_hasher)
                        && restored_hasher.finish128() == bytes;
                    if unchanged {
                        hash(0..saved as usize, &mut hasher);
                        (saved, false, false)
                    } else {
                        (0, true, false)
                    }
                }
                Some(&Growth::Checked {
                    len: saved,
                    prefix,
                    missed,
                }) => {
                    let unchanged = saved as usize <= len && {
                        hash(0..saved as usize, &mut hasher);
                        hasher.finish128() == prefix
                    };
                    if unchanged {
                        (saved, false, missed)
                    } else {
                        hasher = Hash128::default();
                        (0, true, missed)
                    }
                }
                _ => (0, false, false),
            };
        if missed && missed_before {
            return (0, Growth::Changing);
        }
        hash(saved as usize..len, &mut hasher);
        let growth = Growth::Checked {
            len: len as u64,
            prefix: hasher.finish128(),
            missed,
        };
        // A new file holds every binding whole.
        (if self.whole_only() { 0 } else { saved }, growth)
    }

    /// Appends a `Vec` declared append-only: only its new elements, after checking that it did
    /// not shrink and that its last saved element did not change.
    pub fn appended<E: Serialize>(&mut self, items: &[E]) {
        self.appended_with(items, |new, buf| {
            postcard::serialize_with_flavor(&Elements(new), VecFlavor(buf))
        });
    }

    /// [`Save::appended`] for a `Vec` of plain items: the same record, encoded directly.
    pub fn appended_plain<E: PlainItem>(&mut self, items: &[E]) {
        self.appended_with(items, E::encode_items);
    }

    fn appended_with<E: Serialize>(
        &mut self,
        items: &[E],
        encode_new: impl Fn(&[E], &mut Vec<u8>) -> postcard::Result<()>,
    ) {
        let binding = self.take_binding();
        let from = match self.previous(binding) {
            Some(Growth::Declared { len, last }) => {
                let len = *len;
                if (items.len() as u64) < len {
                    return self.not_append_only(
                        binding,
                        format!("it shrank from {len} to {} elements", items.len()),
                    );
                }
                if len > 0 && encode(&items[len as usize - 1]).as_deref() != Ok(&last[..]) {
                    return self.not_append_only(
                        binding,
                        format!("its element {} changed after it was saved", len - 1),
                    );
                }
                len
            }
            _ => 0,
        };
        // A new file holds every binding whole.
        let from = if self.whole_only() { 0 } else { from };
        let growth = match items.last().map_or(Ok(Vec::new()), encode) {
            Ok(last) => Growth::Declared {
                len: items.len() as u64,
                last,
            },
            Err(source) => return self.fail_serialize(source),
        };
        self.extend_with(binding, items, from, growth, encode_new);
    }

    /// Appends a `String` declared append-only: only its new bytes, after checking that it did
    /// not shrink and that the end of what was saved did not change.
    pub fn appended_str(&mut self, text: &str) {
        let binding = self.take_binding();
        let bytes = text.as_bytes();
        let from = match self.previous(binding) {
            Some(Growth::Declared { len, last }) => {
                let len = *len;
                if (bytes.len() as u64) < len {
                    return self.not_append_only(
                        binding,
                        format!("it shrank from {len} to {} bytes", bytes.len()),
                    );
                }
                let end = len as usize;
                if !text.is_char_boundary(end) || bytes[end - last.len()..end] != last[..] {
                    return self.not_append_only(
                        binding,
                        "the text it held at the last checkpoint changed".into(),
                    );
                }
                len
            }
            _ => 0,
        };
        let from = if self.whole_only() { 0 } else { from };
        let last = bytes[bytes.len().saturating_sub(STRING_TAIL_CHECKED)..].to_vec();
        self.extend_bytes(
            binding,
            bytes,
            from,
            Growth::Declared {
                len: bytes.len() as u64,
                last,
            },
        );
    }

    fn take_binding(&mut self) -> usize {
        self.binding += 1;
        self.binding - 1
    }

    /// What the last record saved of the binding about to be saved, if it was saved by rows
    /// (see [`Save::pieces`]): how many pieces its chain holds, and the codec's own check.
    #[cfg(feature = "polars")]
    pub(crate) fn previous_rows(&self) -> Option<(u64, &(dyn std::any::Any + Send + Sync))> {
        match self.previous(self.binding)? {
            Growth::Rows { pieces, check } => Some((*pieces, &**check)),
            _ => None,
        }
    }

    /// Whether this record holds every binding whole (it starts a new file): a binding saved by
    /// rows then writes all its rows.
    #[cfg(feature = "polars")]
    pub(crate) fn starts_whole(&self) -> bool {
        self.whole_only()
    }

    /// Appends pieces `from..to` of a binding grown by rows (a polars `DataFrame`), which
    /// `encode` serializes a range of them at a time (`from` is 0 for a whole save), and
    /// remembers `check` for the next save once the record is written.
    #[cfg(feature = "polars")]
    pub(crate) fn pieces(
        &mut self,
        (from, to): (u64, u64),
        check: Box<dyn std::any::Any + Send + Sync>,
        encode: EncodeItems<'_>,
    ) {
        let binding = self.take_binding();
        debug_assert!(
            from == 0 || !self.whole_only(),
            "a new file holds every binding whole"
        );
        self.extend_range(
            binding,
            (from, to),
            Growth::Rows { pieces: to, check },
            encode,
        );
    }

    /// Fails the save of a binding declared in `append(...)` that did not only grow: `problem`
    /// says how; nothing is written and the checkpoint on disk stays as it was.
    #[cfg(feature = "polars")]
    pub(crate) fn refuse_append(&mut self, problem: String) {
        let binding = self.take_binding();
        self.not_append_only(binding, problem);
    }

    /// What the last record saved of a declared binding.
    fn previous(&self, binding: usize) -> Option<&Growth> {
        self.saver.growth.get(binding)?.as_ref()
    }

    /// Adds elements `from..` of `items`, encoded by `encode`, and remembers `growth` once the
    /// record is written.
    fn extend_with<E>(
        &mut self,
        binding: usize,
        items: &[E],
        from: u64,
        growth: Growth,
        encode: impl Fn(&[E], &mut Vec<u8>) -> postcard::Result<()>,
    ) {
        let span = (from, items.len() as u64);
        let new =
            |range: Range<usize>, buf: &mut Vec<u8>| encode(&items[from as usize..][range], buf);
        self.extend_range(binding, span, growth, &new);
    }

    /// [`Save::extend_with`] once the items are behind `encode` (a range of them at a time):
    /// compiled once, here, not once per element type in every crate (issue 25).
    fn extend_range(
        &mut self,
        binding: usize,
        (from, to): (u64, u64),
        growth: Growth,
        encode: EncodeItems<'_>,
    ) {
        if self.stopped() {
            return;
        }
        let count = (to - from) as usize;
        match with_sink(self.saver, |journal, sink| {
            journal.extend(sink, (from, to), count, encode)
        }) {
            Ok(()) => self.growth.push((binding, growth)),
            Err(err) => self.error = Some(err),
        }
    }

    /// Adds bytes `from..` of a `String`, and remembers `growth` once the record is written.
    fn extend_bytes(&mut self, binding: usize, bytes: &[u8], from: u64, growth: Growth) {
        // A `String`'s elements are its bytes, as postcard writes them after the length.
        self.extend_with(binding, bytes, from, growth, |new, buf| {
            buf.extend_from_slice(new);
            Ok(())
        });
    }

    fn fail_serialize(&mut self, source: postcard::Error) {
        let path = &self.saver.path;
        self.error.get_or_insert_with(|| {
            outputs::take_failure().unwrap_or_else(|| Error::Serialize {
                path: path.clone(),
                source,
            })
        });
    }

    fn not_append_only(&mut self, binding: usize, problem: String) {
        self.error.get_or_insert(Error::NotAppendOnly {
            path: self.saver.path.clone(),
            binding: self.saver.state.get(binding).copied().unwrap_or("?"),
            problem,
        });
    }

    /// Appends the checkpoint to the log and hands it to the operating system; the background
    /// thread makes it durable. Reports a background sync that failed since the last save.
    pub fn commit(self) -> Result<(), Error> {
        self.write().1
    }

    fn write(self) -> (&'a mut Saver, Result<(), Error>) {
        let saver = self.saver;
        // Only a save after a failure is left (a boundary's has what it needs): it says so.
        if self.left.is_some() {
            saver.journal.abandon_record(&*saver.fs);
            return (saver, Ok(()));
        }
        let failed = match self.error {
            Some(err) => Err(err),
            None => saver.syncer.take_error(),
        };
        if let Err(err) = failed {
            saver.journal.abandon_record(&*saver.fs);
            return (saver, Err(err));
        }
        // A record that turned out to need nothing of the log before it goes to a file of its
        // own (a state changed in place), so that the old copies do not pile up. (One whose
        // data frames went out already has its file; `write` keeps it.)
        let new_file = saver.journal.whole_only()
            || (!saver.journal.streaming()
                && saver.journal.record_wants_new_file()
                && saver.syncer.may_start_file());
        let outputs = self.outputs.take();
        let lengths: Vec<(&Path, u64)> = outputs
            .iter()
            .map(|(file, len)| (file.path.as_path(), *len))
            .collect();
        let written = saver.journal.write(
            &*saver.fs,
            new_file,
            self.index,
            now_ms(),
            self.next_item,
            &lengths,
        );
        let job = match written {
            // The outputs' data is synced before the record that holds their lengths.
            Ok(job) => job.with_outputs(outputs.into_iter().map(|(file, _)| file).collect()),
            Err(err) => return (saver, Err(err)),
        };
        for (binding, growth) in self.growth {
            saver.growth[binding] = Some(growth);
        }
        saver.round_trip_checked = true;
        saver.last_saved = Some(self.index);
        report::debug("saved")
            .name(saver.function)
            .index(self.index)
            .path(&saver.path)
            .bytes(job.written.bytes)
            .duration(self.started.elapsed())
            .say(format_args!(
                "resumable: saved checkpoint {} at iteration {} ({} bytes)",
                saver.path.display(),
                self.index,
                job.written.bytes
            ));
        saver.syncer.submit(job);
        (saver, Ok(()))
    }

    /// Saves after the loop failed (a panic, `?`, or a returned `Err`), waits until the
    /// checkpoint is durable, and says so on stderr. A failure to save is reported too; the
    /// original failure goes on either way.
    pub fn commit_after_failure(self, failure: &str) {
        let index = self.index;
        if let Some(why) = &self.left {
            let function = self.saver.function;
            report::warn("not_saved")
                .name(function)
                .index(index)
                .path(&self.saver.path)
                .say(format_args!(
                    "resumable: {failure} in iteration {index} of {function}: {why}"
                ));
            self.saver.journal.abandon_record(&*self.saver.fs);
            return;
        }
        let (saver, written) = self.write();
        match written.and_then(|()| saver.syncer.flush()) {
            Ok(()) => report::note("saved_on_failure")
                .name(saver.function)
                .index(index)
                .path(&saver.path)
                .say(format_args!(
                    "resumable: {failure} in iteration {index}; saved checkpoint {} so the next \
                     run starts again at iteration {index}",
                    saver.path.display()
                )),
            Err(err) => {
                let err = err.with_causes();
                report::error("save_failed")
                    .name(saver.function)
                    .index(index)
                    .path(&saver.path)
                    .say(format_args!(
                        "resumable: {failure} in iteration {index}, and saving failed: {err}"
                    ))
            }
        }
    }
}

/// Feeds `hasher` postcard's bytes of `items` as a sequence (the count, then each item), in
/// chunks, so that no copy of them all is made; `false` if they do not encode.
fn restored_bytes_hash<E>(
    items: &[E],
    hasher: &mut Hash128,
    encode: impl Fn(&[E], &mut Vec<u8>) -> postcard::Result<()>,
) -> bool {
    push_varint_into(hasher, items.len() as u128);
    let mut buf = Vec::new();
    for chunk in items.chunks(1 << 16) {
        buf.clear();
        if encode(chunk, &mut buf).is_err() {
            return false;
        }
        hasher.write(&buf);
    }
    true
}

/// Feeds `hasher` postcard's varint of `value`.
fn push_varint_into(hasher: &mut Hash128, value: u128) {
    let mut bytes = Vec::with_capacity(19);
    crate::format::encode::push_varint(&mut bytes, value);
    hasher.write(&bytes);
}

/// A state value serialized ahead of the saves that write it: in a nest, a binding declared
/// between the loops that only the inner loop's iterator uses, which may move it.
pub struct Encoded(postcard::Result<Vec<u8>>);

impl Encoded {
    /// Serializes `value` as [`Save::value`] would.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Encoded {
        Encoded(encode(value))
    }
}

/// Bytes of a `String` before the saved length that `append(...)` checks for changes.
pub(crate) const STRING_TAIL_CHECKED: usize = 16;

fn encode<T: Serialize + ?Sized>(value: &T) -> postcard::Result<Vec<u8>> {
    postcard::to_allocvec(value)
}
