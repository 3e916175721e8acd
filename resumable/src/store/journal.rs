//! Appending checkpoints to a log (see [`crate::format::log`]) and the steps that make them
//! durable.
//!
//! The loop's side ([`Journal`]) serializes a record into reused buffers and appends it to the
//! open log file: handed to the operating system, so a killed process loses nothing written.
//! Making it survive a power loss is a [`SyncJob`], which the background thread of
//! [`crate::store::syncer`] runs (tests run it inline against a simulated disk).
//!
//! A resumed run reopens the log it resumed from ([`Journal::resume`]) and appends to it.
//! A log only grows; when it outgrows twice what its newest record needs, or holds nothing a
//! record needs (a state saved whole), that record starts a new file, `<file>.next`, with
//! everything in it. The sync job of that record fsyncs the new file, then renames the current
//! one to `<file>.prev` and the new one into place, fsyncs the directory and removes `.prev`.
//! So every name a rename moves holds a synced, loadable checkpoint, the last durable
//! checkpoint is never overwritten before a newer one is durable, and the files hold at most
//! two copies of a state changed in place.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::error::Error;
use crate::format::checkpoint::LogEnd;
use crate::format::encode::VecFlavor;
use crate::format::log::{self, LogMeta, Part, RecordHead};
use crate::store::files::{self, Generations};
use crate::store::fs::{Fs, LogFile};

/// The default compaction floor (see [`Journal::wants_new_file`]).
const MIN_COMPACTION_BYTES: u64 = 1 << 20;

/// The loop's side of a checkpoint log.
pub(crate) struct Journal {
    generations: Generations,
    header: Vec<u8>,
    /// The log records go to, and its length; `None` until the first record, or after a
    /// write failed (the next record then starts a new file instead of following a torn one).
    file: Option<(Arc<LogFile>, u64)>,
    /// The last record's sequence number.
    seq: u64,
    /// What the newest record needs of its file: its own bytes, and the chains of bytes in
    /// earlier records its appended parts continue.
    live_bytes: u64,
    /// A log smaller than this is never compacted: rewriting small files gains nothing.
    compaction_floor: u64,
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
            header: log::header(meta),
            file: None,
            seq: last_seq,
            live_bytes: 0,
            compaction_floor: MIN_COMPACTION_BYTES,
            chain_bytes: Vec::new(),
            head: Vec::new(),
            data: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// Goes on appending to the log a run resumed from, after its newest good record (`end`,
    /// from recovery): the next record follows it instead of starting a new file with the
    /// whole state. A record a crash cut short after it is cut off first.
    pub(crate) fn resume(&mut self, fs: &dyn Fs, end: &LogEnd) -> Result<(), Error> {
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
        let self_contained = self
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

    /// Starts a record; add one part per binding, in order.
    pub(crate) fn begin(&mut self) {
        self.data.clear();
        self.parts.clear();
    }

    /// Adds a binding whole. Inlined so that a small state value's address does not escape
    /// into a call: the loop can then keep it in a register between boundaries (B2).
    #[inline]
    pub(crate) fn whole<T: Serialize + ?Sized>(&mut self, value: &T) -> postcard::Result<()> {
        let start = self.data.len();
        postcard::serialize_with_flavor(value, VecFlavor(&mut self.data))?;
        let len = (self.data.len() - start) as u64;
        self.parts.push(Part::Whole { len });
        Ok(())
    }

    /// Adds a binding's value serialized before, whole.
    pub(crate) fn whole_bytes(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        self.parts.push(Part::Whole {
            len: bytes.len() as u64,
        });
    }

    /// Adds elements `from..to` of a sequence binding, which `write` serializes one by one.
    pub(crate) fn extend(
        &mut self,
        from: u64,
        to: u64,
        write: impl FnOnce(&mut Vec<u8>) -> postcard::Result<()>,
    ) -> postcard::Result<()> {
        let start = self.data.len();
        write(&mut self.data)?;
        let len = (self.data.len() - start) as u64;
        self.parts.push(Part::Extend { from, to, len });
        Ok(())
    }

    /// Appends the record (to a new `.next` file if `new_file`) and returns the job that makes
    /// it durable. On error nothing later is appended to this file.
    pub(crate) fn write(
        &mut self,
        fs: &dyn Fs,
        new_file: bool,
        index: u64,
        saved_at_ms: u64,
        next_item: Option<u64>,
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
        log::frame_record(&head, &mut self.head, &mut self.data);
        self.parts = head.parts;
        let next = &self.generations.next;
        let (file, start_len) = match (&self.file, new_file) {
            (Some((file, len)), false) => (Arc::clone(file), *len),
            // After a failed write while a new log is on its way into place: starting another
            // would truncate that one before it is durable.
            (None, false) => {
                return Err(Error::io(
                    "write",
                    &self.generations.newest,
                    std::io::Error::other("an earlier write of this checkpoint failed"),
                ));
            }
            (_, true) => {
                self.file = None;
                let dir = files::parent_dir(next);
                fs.create_dir(dir)
                    .map_err(|err| Error::io("create the directory of", dir, err))?;
                let file = fs
                    .create_log(next)
                    .map_err(|err| self.write_error("create", new_file, err))?;
                if let Err(err) = fs.append(&file, &[&self.header]) {
                    return Err(self.abandon_next(fs, new_file, err));
                }
                (Arc::new(file), self.header.len() as u64)
            }
        };
        // Until the append succeeds there is no file to go on with: after a failed (maybe
        // partial) write, the next record starts a new file rather than follow a torn one.
        self.file = None;
        if let Err(err) = fs.append(&file, &[&self.head, &self.data]) {
            return Err(match new_file {
                true => self.abandon_next(fs, new_file, err),
                false => self.write_error("write", new_file, err),
            });
        }
        let newest = self.generations.newest.clone();
        let record_len = (self.head.len() + self.data.len()) as u64;
        self.file = Some((Arc::clone(&file), start_len + record_len));
        self.seq = seq;
        self.track_live_bytes(record_len, new_file);
        Ok(SyncJob {
            file,
            path: newest,
            seq,
            compaction: new_file.then(|| self.generations.clone()),
        })
    }

    /// A new file that could not be written is removed: it holds nothing durable, and a
    /// disk that is full must not keep an empty `.next` either.
    fn abandon_next(&self, fs: &dyn Fs, new_file: bool, err: std::io::Error) -> Error {
        let _ = fs.remove(&self.generations.next);
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
            return Error::NoSpace {
                path: self.generations.newest.clone(),
                dir: files::parent_dir(path).to_owned(),
                needed: (header + self.head.len() + self.data.len()) as u64,
                source: err,
            };
        }
        Error::io(action, path, err)
    }

    fn track_live_bytes(&mut self, record_len: u64, new_file: bool) {
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

/// What makes a written record durable: fsync its file and, for the first record of a new
/// file, move that file into place.
pub(crate) struct SyncJob {
    file: Arc<LogFile>,
    /// The checkpoint's name, for errors.
    path: PathBuf,
    /// The record this job makes durable (and every record before it).
    pub seq: u64,
    /// Set when the file is a new `.next` to rename into place once synced.
    compaction: Option<Generations>,
}

impl SyncJob {
    /// This job, followed by `later` (written after it): one fsync does for both.
    pub(crate) fn merge(self, later: SyncJob) -> SyncJob {
        SyncJob {
            file: later.file,
            path: later.path,
            seq: later.seq,
            compaction: self.compaction.or(later.compaction),
        }
    }

    /// Whether this job moves a new file into place.
    pub(crate) fn compacts(&self) -> bool {
        self.compaction.is_some()
    }

    /// Step one, the slow one: fsync the file.
    pub(crate) fn sync(&self, fs: &dyn Fs) -> Result<(), Error> {
        files::test_hook("before-sync");
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
