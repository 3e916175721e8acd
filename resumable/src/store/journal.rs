//! Appending checkpoints to a log (see [`crate::format::log`]) and the steps that make them
//! durable.
//!
//! The loop's side ([`Journal`]) serializes a record into reused buffers and appends it to the
//! open log file: handed to the operating system, so a killed process loses nothing written.
//! Making it survive a power loss is a [`SyncJob`], which the background thread of
//! [`crate::store::syncer`] runs (tests run it inline against a simulated disk).
//!
//! A record goes to its file in data frames (format version 3) as it is serialized, a frame
//! each time [`FLUSH_BYTES`] are ready, then its head: so a big state is never held whole in
//! memory. A save that fails half-way ends its frames with an abort frame. (A log of version
//! 2, which a run resumed from, takes its records whole, as before.)
//!
//! A resumed run reopens the log it resumed from ([`Journal::resume`]) and appends to it.
//! A log only grows; when it outgrows twice what its newest record needs, or holds nothing a
//! record needs (a state saved whole), that record starts a new file, `<file>.next`, with
//! everything in it. The sync job of that record fsyncs the new file, then renames the current
//! one to `<file>.prev` and the new one into place, fsyncs the directory and removes `.prev`.
//! So every name a rename moves holds a synced, loadable checkpoint, the last durable
//! checkpoint is never overwritten before a newer one is durable, and the files hold at most
//! two copies of a state changed in place.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::error::Error;
use crate::format::checkpoint::LogEnd;
use crate::format::encode::VecFlavor;
use crate::format::log::{self, LogMeta, Part, RecordHead};
use crate::store::files::{self, Generations};
use crate::store::fs::{Fs, LogFile};
use crate::store::hooks;
use crate::store::output_file::OutputFile;

/// The default compaction floor (see [`Journal::wants_new_file`]).
const MIN_COMPACTION_BYTES: u64 = 1 << 20;

/// A record's bytes go to its file in a data frame once this many are ready.
pub(crate) const FLUSH_BYTES: usize = 1 << 20;

/// A record that wants a new file while the one before is still syncing stays in memory up
/// to this many bytes before it waits for it: serializing then overlaps with that sync, as it
/// did when records were written whole, and memory stays within the state plus this.
const HOLD_BYTES: usize = 16 << 20;

/// What the journal writes with while a record is serialized: the filesystem, and whether a
/// record may start a new file now (it waits for the one before to be in place).
pub(crate) struct Sink<'s> {
    pub fs: &'s dyn Fs,
    /// Waits for a new file on its way into place, if any; whether one may start now.
    pub may_start_file: &'s dyn Fn() -> bool,
    /// Whether a new file is on its way into place (without waiting).
    pub file_pending: &'s dyn Fn() -> bool,
}

impl<'s> Sink<'s> {
    /// A sink that may always start a new file (tests, which run sync jobs inline).
    #[cfg(test)]
    pub(crate) fn new(fs: &'s dyn Fs) -> Self {
        Sink {
            fs,
            may_start_file: &|| true,
            file_pending: &|| false,
        }
    }
}

/// Elements encoded at a time into a record of a growing sequence.
const ITEMS_PER_ENCODE: usize = 1 << 16;

/// Encodes a range of a sequence binding's new items at the end of the buffer (see
/// [`Journal::extend`]).
pub(crate) type EncodeItems<'a> = &'a dyn Fn(Range<usize>, &mut Vec<u8>) -> postcard::Result<()>;

/// postcard's output into a record: bytes gather in the journal's buffer and go to the file
/// as a data frame once there are enough.
struct Frames<'j, 's> {
    journal: &'j mut Journal,
    sink: &'j Sink<'s>,
    /// The binding being serialized is whole (needs nothing of the log).
    self_contained: bool,
}

impl postcard::ser_flavors::Flavor for Frames<'_, '_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        VecFlavor(&mut self.journal.data).try_extend(data)?;
        self.flushed()
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.journal.data.push(data);
        self.flushed()
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

impl Frames<'_, '_> {
    #[inline]
    fn flushed(&mut self) -> postcard::Result<()> {
        match self.journal.maybe_flush(self.sink, self.self_contained) {
            Ok(()) => Ok(()),
            Err(err) => {
                self.journal.flush_error = Some(err);
                Err(postcard::Error::SerializeBufferFull)
            }
        }
    }
}

/// A record some of whose data frames are in a file already.
struct Streaming {
    file: Arc<LogFile>,
    /// Where the record starts in the file, and the bytes of its frames so far.
    start_len: u64,
    written: u64,
    /// Its data bytes in those frames.
    flushed: u64,
    /// The file is a new `.next`.
    new_file: bool,
}

/// The loop's side of a checkpoint log.
pub(crate) struct Journal {
    generations: Generations,
    header: Vec<u8>,
    /// The log records go to, and its length; `None` until the first record, or after a
    /// write failed (the next record then starts a new file instead of following a torn one).
    file: Option<(Arc<LogFile>, u64)>,
    /// The record being written went to a file already (some of its data frames).
    streaming: Option<Streaming>,
    /// The record being written holds every binding whole: it starts a new file.
    whole_only: bool,
    /// Data frames are written once the record's unwritten bytes reach this.
    flush_at: usize,
    /// The record's unwritten bytes are looked at again once they reach this: `flush_at`, or
    /// more while the record is held in memory (see [`HOLD_BYTES`]).
    next_flush: usize,
    /// A failed write of a data frame, while postcard was serializing into it.
    flush_error: Option<Error>,
    /// The last record's bytes (with the header of its file if it started one).
    last_record_len: u64,
    /// The last record's sequence number.
    seq: u64,
    /// Which of this run's log files records go to: 0 for the one it resumed from, then one
    /// more for each new file (the uploader tells a new log from more of the same by it).
    log_no: u64,
    /// What the newest record needs of its file: its own bytes, and the chains of bytes in
    /// earlier records its appended parts continue.
    live_bytes: u64,
    /// A log smaller than this is never compacted: rewriting small files gains nothing.
    compaction_floor: u64,
    /// The fingerprint of the code of the function whose records these are, written after
    /// each head (see `log::Record::code`).
    pub(crate) code: Option<u64>,
    /// Per binding: the bytes of its chain of `Extend` parts so far (0 for whole parts).
    chain_bytes: Vec<u64>,
    // Reused between records, so a warm save allocates nothing.
    head: Vec<u8>,
    data: Vec<u8>,
    parts: Vec<Part>,
}

impl Journal {
    /// A journal that continues after the record numbered `last_seq` (0 for none).
    pub(crate) fn new(generations: Generations, meta: &LogMeta, last_seq: u64) -> Self {
        Journal {
            generations,
            header: log::framed_header(meta),
            file: None,
            streaming: None,
            whole_only: false,
            flush_at: FLUSH_BYTES,
            next_flush: FLUSH_BYTES,
            flush_error: None,
            last_record_len: 0,
            seq: last_seq,
            log_no: 0,
            live_bytes: 0,
            compaction_floor: MIN_COMPACTION_BYTES,
            chain_bytes: Vec::new(),
            code: None,
            head: Vec::new(),
            data: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// Goes on appending to the log a run resumed from, after its newest good record (`end`,
    /// from recovery): the next record follows it instead of starting a new file with the
    /// whole state. A record a crash cut short after it is cut off first. A version-2 log (an
    /// older build's) is not appended to: this build writes version 3 only, so the next
    /// record starts a new file, as the first record of a run does.
    pub(crate) fn resume(&mut self, fs: &dyn Fs, end: &LogEnd) -> Result<(), Error> {
        if !end.framed {
            return Ok(());
        }
        let newest = &self.generations.newest;
        let file = fs
            .open_log(newest, end.len)
            .map_err(|err| Error::io("open", newest, err))?;
        self.file = Some((Arc::new(file), end.len));
        for (at, (len, parts)) in end.records.iter().enumerate() {
            self.parts.clone_from(parts);
            self.track_live_bytes(*len, at == 0);
        }
        self.parts.clear();
        Ok(())
    }

    /// Lets go of the log file the records went to, for a run done with it (its name is
    /// removed): whoever drops the last handle closes it.
    pub(crate) fn take_file(&mut self) -> Option<Arc<LogFile>> {
        self.streaming = None;
        self.file.take().map(|(file, _)| file)
    }

    /// Whether the next record should start a new file: there is none yet, or the current one
    /// holds more than twice what the newest record needs.
    pub(crate) fn wants_new_file(&self) -> bool {
        match &self.file {
            None => true,
            Some((_, len)) => {
                *len > self.compaction_floor && *len > self.live_bytes.saturating_mul(2)
            }
        }
    }

    /// Whether the record being built, which needs nothing of the records before it (every
    /// binding whole, or a sequence starting at its first element), should start a new file
    /// rather than follow them: once the log is past the compaction floor, everything in it
    /// is then dead. A state changed in place is saved so at every checkpoint: appended, the
    /// log would keep every old copy; in new files, the disk holds two copies at most, the
    /// last durable one and the one being written.
    pub(crate) fn record_wants_new_file(&self) -> bool {
        self.would_start_file(true)
    }

    /// [`Journal::record_wants_new_file`] with the parts so far and one being added, which is
    /// `self_contained` or continues the log.
    fn would_start_file(&self, self_contained: bool) -> bool {
        let self_contained = self_contained
            && self
                .parts
                .iter()
                .all(|part| !matches!(part, Part::Extend { from, .. } if *from > 0));
        match &self.file {
            None => true,
            Some((_, len)) => self_contained && *len > self.compaction_floor,
        }
    }

    /// Tests: what the journal knows of the newest record's needs (live bytes, chains).
    #[cfg(test)]
    pub(crate) fn tracking(&self) -> (u64, Vec<u64>) {
        (self.live_bytes, self.chain_bytes.clone())
    }

    /// Tests: compact logs of any size.
    #[cfg(test)]
    pub(crate) fn set_compaction_floor(&mut self, bytes: u64) {
        self.compaction_floor = bytes;
    }

    /// Tests: write data frames of about `bytes`.
    #[cfg(test)]
    pub(crate) fn set_flush_bytes(&mut self, bytes: usize) {
        self.flush_at = bytes;
        self.next_flush = bytes;
    }

    /// Whether the record being written holds every binding whole: it was begun so, or it
    /// went to a new file half-way.
    pub(crate) fn whole_only(&self) -> bool {
        self.whole_only
    }

    /// Whether the record being written went to its file already (some data frames).
    pub(crate) fn streaming(&self) -> bool {
        self.streaming.is_some()
    }

    /// Bytes of the record being written so far, written or not.
    fn record_len(&self) -> u64 {
        self.streaming.as_ref().map_or(0, |s| s.flushed) + self.data.len() as u64
    }

    /// Starts a record; add one part per binding, in order. `new_file`: it starts a new file,
    /// so every binding goes in whole.
    pub(crate) fn begin(&mut self, new_file: bool) {
        self.data.clear();
        self.parts.clear();
        self.streaming = None;
        self.whole_only = new_file;
        self.next_flush = self.flush_at;
        self.flush_error = None;
    }

    /// Adds a binding whole. Inlined so that a small state value's address does not escape
    /// into a call: the loop can then keep it in a register between boundaries (B2).
    #[inline]
    pub(crate) fn whole<T: Serialize + ?Sized>(
        &mut self,
        sink: &Sink<'_>,
        value: &T,
    ) -> Result<(), Error> {
        let start = self.record_len();
        let serialized = postcard::serialize_with_flavor(
            value,
            Frames {
                journal: self,
                sink,
                self_contained: true,
            },
        );
        if let Err(source) = serialized {
            return Err(self
                .flush_error
                .take()
                .unwrap_or_else(|| self.serialize_error(source)));
        }
        let len = self.record_len() - start;
        self.parts.push(Part::Whole { len });
        Ok(())
    }

    /// Adds a binding's value serialized before, whole.
    pub(crate) fn whole_bytes(&mut self, sink: &Sink<'_>, bytes: &[u8]) -> Result<(), Error> {
        self.data.extend_from_slice(bytes);
        self.parts.push(Part::Whole {
            len: bytes.len() as u64,
        });
        self.maybe_flush(sink, true)
    }

    /// Adds a binding whole: `head`, then `count` items that `encode` serializes a range of them
    /// at a time, as [`Journal::extend`] does (an ndarray array: its shape, then its elements
    /// as a `Vec`'s).
    pub(crate) fn whole_items(
        &mut self,
        sink: &Sink<'_>,
        head: &[u8],
        count: usize,
        encode: EncodeItems<'_>,
    ) -> Result<(), Error> {
        let start = self.record_len();
        self.data.extend_from_slice(head);
        for at in (0..count).step_by(ITEMS_PER_ENCODE) {
            let range = at..count.min(at + ITEMS_PER_ENCODE);
            encode(range, &mut self.data).map_err(|source| self.serialize_error(source))?;
            self.maybe_flush(sink, true)?;
        }
        self.maybe_flush(sink, true)?;
        let len = self.record_len() - start;
        self.parts.push(Part::Whole { len });
        Ok(())
    }

    /// Adds elements `from..to` of a sequence binding: `count` items, which `encode` serializes
    /// a range of them at a time, so that data frames go out as the bytes are ready. The items
    /// are behind `encode`, not a type parameter, so that this is compiled once, here (issue 25).
    pub(crate) fn extend(
        &mut self,
        sink: &Sink<'_>,
        (from, to): (u64, u64),
        count: usize,
        encode: EncodeItems<'_>,
    ) -> Result<(), Error> {
        let start = self.record_len();
        for at in (0..count).step_by(ITEMS_PER_ENCODE) {
            let range = at..count.min(at + ITEMS_PER_ENCODE);
            encode(range, &mut self.data).map_err(|source| self.serialize_error(source))?;
            self.maybe_flush(sink, from == 0)?;
        }
        let len = self.record_len() - start;
        self.parts.push(Part::Extend { from, to, len });
        Ok(())
    }

    fn serialize_error(&self, source: postcard::Error) -> Error {
        Error::Serialize {
            path: self.generations.newest.clone(),
            source,
        }
    }

    #[inline]
    fn maybe_flush(&mut self, sink: &Sink<'_>, self_contained: bool) -> Result<(), Error> {
        if self.data.len() < self.next_flush {
            return Ok(());
        }
        self.flush(sink, self_contained)
    }

    /// Writes the record's bytes so far as a data frame. The first one decides the file:
    /// a new one if the record needs nothing of the log (or was begun whole), the log
    /// otherwise.
    #[cold]
    fn flush(&mut self, sink: &Sink<'_>, self_contained: bool) -> Result<(), Error> {
        if self.streaming.is_none() {
            let wants_new_file = self.would_start_file(self_contained);
            if !self.whole_only
                && wants_new_file
                && (sink.file_pending)()
                && self.data.len() < HOLD_BYTES
            {
                // The file before is still syncing: hold on in memory a while rather than wait.
                self.next_flush = self.data.len() + self.flush_at;
                return Ok(());
            }
            let new_file = self.whole_only || (wants_new_file && (sink.may_start_file)());
            let (file, start_len) = self.target_file(sink.fs, new_file)?;
            // Until the record is written there is no file to go on with (see `write`).
            self.file = None;
            self.whole_only |= new_file;
            self.streaming = Some(Streaming {
                file,
                start_len,
                written: 0,
                flushed: 0,
                new_file,
            });
        }
        let streaming = self.streaming.as_ref().expect("set above");
        let (prefix, crc) = log::data_frame(&self.data);
        if let Err(err) = sink
            .fs
            .append(&streaming.file, &[&prefix, &self.data, &crc])
        {
            let new_file = streaming.new_file;
            self.streaming = None;
            return Err(self.append_failed(sink.fs, new_file, err));
        }
        let streaming = self.streaming.as_mut().expect("set above");
        streaming.written += (prefix.len() + self.data.len() + crc.len()) as u64;
        streaming.flushed += self.data.len() as u64;
        self.data.clear();
        self.next_flush = self.flush_at;
        Ok(())
    }

    /// Ends a record that will not be written (a save that failed): its data frames, if any
    /// went out, are followed by an abort frame, or their new file is removed.
    pub(crate) fn abandon_record(&mut self, fs: &dyn Fs) {
        let Some(streaming) = self.streaming.take() else {
            return;
        };
        if streaming.new_file {
            let _ = fs.remove(&self.generations.next);
            return;
        }
        let abort = log::abort_frame();
        if fs.append(&streaming.file, &[&abort]).is_ok() {
            let len = streaming.start_len + streaming.written + abort.len() as u64;
            self.file = Some((streaming.file, len));
        }
    }

    /// The file a record goes to, and its length: the log, or a new `.next` with its header.
    fn target_file(&mut self, fs: &dyn Fs, new_file: bool) -> Result<(Arc<LogFile>, u64), Error> {
        let next = &self.generations.next;
        match (&self.file, new_file) {
            (Some((file, len)), false) => Ok((Arc::clone(file), *len)),
            // After a failed write while a new log is on its way into place: starting another
            // would truncate that one before it is durable.
            (None, false) => Err(Error::io(
                "write",
                &self.generations.newest,
                std::io::Error::other("an earlier write of this checkpoint failed"),
            )),
            (_, true) => {
                self.file = None;
                let dir = files::parent_dir(next);
                fs.create_dir(dir)
                    .map_err(|err| Error::io("create the directory of", dir, err))?;
                let file = fs
                    .create_log(next)
                    .map_err(|err| self.write_error("create", new_file, err))?;
                if let Err(err) = fs.append(&file, &[&self.header]) {
                    return Err(self.append_failed(fs, new_file, err));
                }
                self.log_no += 1;
                Ok((Arc::new(file), self.header.len() as u64))
            }
        }
    }

    /// Appends the record (to a new `.next` file if `new_file`, unless its first data frames
    /// decided already), listing the `outputs` (`io::Output` files) and the lengths its state
    /// holds of them, and returns the job that makes it durable. On error nothing later is
    /// appended to this file.
    pub(crate) fn write(
        &mut self,
        fs: &dyn Fs,
        new_file: bool,
        index: u64,
        saved_at_ms: u64,
        next_item: Option<u64>,
        outputs: &[(&Path, u64)],
    ) -> Result<SyncJob, Error> {
        let seq = self.seq + 1;
        let head = RecordHead {
            seq,
            index,
            saved_at_ms,
            next_item,
            // Lent to the head and given back: the list is reused, not copied.
            parts: std::mem::take(&mut self.parts),
        };
        let (file, start_len, written, new_file) = match self.streaming.take() {
            Some(streaming) => (
                streaming.file,
                streaming.start_len,
                streaming.written,
                streaming.new_file,
            ),
            None => {
                let (file, start_len) = match self.target_file(fs, new_file) {
                    Ok(target) => target,
                    Err(err) => {
                        self.parts = head.parts;
                        return Err(err);
                    }
                };
                (file, start_len, 0, new_file)
            }
        };
        // The rest of the record: a data frame (if any data is left) and the head frame,
        // written with one append.
        let (prefix, crc) = log::data_frame(&self.data);
        self.head.clear();
        log::push_head_frame(&head, self.code, outputs, &mut self.head);
        self.parts = head.parts;
        let pieces: &[&[u8]] = if self.data.is_empty() {
            &[&self.head]
        } else {
            &[&prefix, &self.data, &crc, &self.head]
        };
        // Until the append succeeds there is no file to go on with: after a failed (maybe
        // partial) write, the next record starts a new file rather than follow a torn one.
        self.file = None;
        if let Err(err) = fs.append(&file, pieces) {
            return Err(self.append_failed(fs, new_file, err));
        }
        let newest = self.generations.newest.clone();
        let tail: usize = pieces.iter().map(|piece| piece.len()).sum();
        let record_len = written + tail as u64;
        self.file = Some((Arc::clone(&file), start_len + record_len));
        self.seq = seq;
        self.track_live_bytes(record_len, new_file);
        Ok(SyncJob {
            file,
            path: newest,
            compaction: new_file.then(|| self.generations.clone()),
            outputs: Vec::new(),
            written: Written {
                #[cfg(feature = "object-store")]
                log_no: self.log_no,
                #[cfg(feature = "object-store")]
                len: start_len + record_len,
                #[cfg(feature = "object-store")]
                seq,
                index,
                #[cfg(feature = "object-store")]
                saved_at_ms,
                bytes: record_len,
            },
        })
    }

    /// The error of an append to the record's file that failed. A new file is removed: it
    /// holds nothing durable, and a disk that is full must not keep an empty `.next` either.
    fn append_failed(&self, fs: &dyn Fs, new_file: bool, err: std::io::Error) -> Error {
        if new_file {
            let _ = fs.remove(&self.generations.next);
        }
        self.write_error("write", new_file, err)
    }

    /// The error of a failed write of the record being written: on a full disk, how much
    /// room it needs.
    fn write_error(&self, action: &'static str, new_file: bool, err: std::io::Error) -> Error {
        let path = match new_file {
            true => &self.generations.next,
            false => &self.generations.newest,
        };
        if crate::error::is_no_space(&err) {
            let header = if new_file { self.header.len() } else { 0 };
            // A record whose data frames went out part-way: at least as much as the last.
            let so_far = (header + self.head.len()) as u64 + self.record_len();
            return Error::NoSpace {
                path: self.generations.newest.clone(),
                dir: files::parent_dir(path).to_owned(),
                needed: so_far.max(self.last_record_len),
                source: err,
            };
        }
        Error::io(action, path, err)
    }

    fn track_live_bytes(&mut self, record_len: u64, new_file: bool) {
        self.last_record_len = record_len
            + if new_file {
                self.header.len() as u64
            } else {
                0
            };
        if new_file {
            self.chain_bytes.clear();
        }
        self.chain_bytes.resize(self.parts.len(), 0);
        let mut live = record_len;
        for (chain, part) in self.chain_bytes.iter_mut().zip(&self.parts) {
            match *part {
                Part::Whole { .. } => *chain = 0,
                Part::Extend { from: 0, len, .. } => *chain = len,
                Part::Extend { len, .. } => {
                    *chain += len;
                    // The earlier records this part continues are needed too.
                    live += *chain - len;
                }
            }
        }
        self.live_bytes = live;
    }
}

#[cfg(test)]
impl Journal {
    /// For unit tests: a journal of checkpoint `a` (label `a`, no shape) in a new directory
    /// `resumable-<name>-<pid>` of the temp directory; that directory and its generations.
    pub(crate) fn scratch(name: &str) -> (PathBuf, Generations, Journal) {
        let dir = std::env::temp_dir().join(format!("resumable-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let generations = Generations::of(dir.join("a.ckpt"));
        let meta = LogMeta {
            fingerprint: crate::format::hash::fingerprint("a", ""),
            label: "a".into(),
            shape: String::new(),
        };
        let journal = Journal::new(generations.clone(), &meta, 0);
        (dir, generations, journal)
    }
}

/// What makes a written record durable: fsync its file and, for the first record of a new
/// file, move that file into place.
pub(crate) struct SyncJob {
    file: Arc<LogFile>,
    /// The checkpoint's name, for errors.
    path: PathBuf,
    /// Set when the file is a new `.next` to rename into place once synced.
    compaction: Option<Generations>,
    /// The output files (`io::Output`) whose lengths the record holds: synced before it.
    outputs: Vec<Arc<OutputFile>>,
    /// The record this job makes durable (and every record before it): where it ends, for
    /// the uploader.
    pub written: Written,
}

/// A record written: its index and bytes (for the messages) and, for the uploader (the
/// `object-store` feature), which log, how long that log is with it, and its other numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written {
    #[cfg(feature = "object-store")]
    pub log_no: u64,
    #[cfg(feature = "object-store")]
    pub len: u64,
    #[cfg(feature = "object-store")]
    pub seq: u64,
    pub index: u64,
    #[cfg(feature = "object-store")]
    pub saved_at_ms: u64,
    /// The record's own bytes.
    pub bytes: u64,
}

impl SyncJob {
    /// This job, followed by `later` (written after it): one fsync does for both.
    pub(crate) fn merge(self, later: SyncJob) -> SyncJob {
        SyncJob {
            file: later.file,
            path: later.path,
            compaction: self.compaction.or(later.compaction),
            outputs: self.outputs,
            written: later.written,
        }
        .with_outputs(later.outputs)
    }

    /// This job syncs `outputs` too, before the log.
    pub(crate) fn with_outputs(mut self, outputs: Vec<Arc<OutputFile>>) -> SyncJob {
        for output in outputs {
            if !self.outputs.iter().any(|known| Arc::ptr_eq(known, &output)) {
                self.outputs.push(output);
            }
        }
        self
    }

    /// The log file the record went to (read by the uploader once it is durable).
    pub(crate) fn file(&self) -> &Arc<LogFile> {
        &self.file
    }

    /// Whether this job moves a new file into place.
    pub(crate) fn compacts(&self) -> bool {
        self.compaction.is_some()
    }

    /// Step one, the slow one: fsync the output files whose lengths the record holds, then
    /// the log's file, so that a record that survives a power loss never holds a length its
    /// output has not (the output's data first: a resume checks the length, not the bytes).
    pub(crate) fn sync(&self, fs: &dyn Fs) -> Result<(), Error> {
        hooks::test_hook("before-sync");
        for output in &self.outputs {
            output.sync()?;
        }
        fs.sync_log(&self.file)
            .map_err(|err| Error::io("sync", &self.path, err))
    }

    /// Step two, for a compaction: the current file becomes `.prev`, the new one takes its
    /// name, and the directory is synced. Fast; the syncer runs it under its lock.
    pub(crate) fn rename_into_place(&self, fs: &dyn Fs) -> Result<(), Error> {
        let Some(generations) = &self.compaction else {
            return Ok(());
        };
        files::install_next(fs, generations)
    }

    /// Both steps, in order.
    #[cfg(test)]
    pub(crate) fn run(&self, fs: &dyn Fs) -> Result<(), Error> {
        self.sync(fs)?;
        self.rename_into_place(fs)
    }
}
