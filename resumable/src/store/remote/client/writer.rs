//! Writing a checkpoint to the store: what a local log gained since the last upload put as
//! one object (in parts when big), then a commit created only if absent (another run's there
//! means it took the checkpoint over); the commits older than the newest two removed; and
//! at the end the whole checkpoint.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt as _;
use object_store::ObjectStoreExt as _;

use crate::error::Error;
use crate::format::checksum::Crc32c;
use crate::store::fs::LogFile;
use crate::store::journal::Written;
use crate::store::remote::layout::{self, Commit, MAX_CHAIN, Stretch};

use super::{Client, reason};

/// Objects up to this size go up in one request; bigger ones in parts of this size, read from
/// the file one at a time, so an upload holds one part in memory.
const PART: usize = 8 << 20;

/// Bytes of data objects and commits this process put on stores (what the store benchmarks
/// report: `measure::uploaded_bytes`).
pub(crate) static UPLOADED: AtomicU64 = AtomicU64::new(0);

/// A failed upload: the store is unreachable for now (retried), or another run owns the
/// checkpoint (the run must stop).
pub(crate) enum UploadError {
    Transient(Error),
    TakenOver(Error),
}

/// What of one local log is on the store.
pub(super) struct Uploaded {
    log_no: u64,
    len: u64,
    crc: Crc32c,
    chain: Vec<Stretch>,
}

impl Client {
    /// Takes `commit` as what the store holds of the local log this run resumed from (log 0),
    /// so the next upload sends only what follows it.
    pub(crate) fn continue_from(&mut self, commit: &Commit) {
        self.current = Some(Uploaded {
            log_no: 0,
            len: commit.log_len,
            crc: Crc32c::continuing(commit.log_crc),
            chain: commit.chain.clone(),
        });
    }

    /// Uploads what `file` (log `written.log_no`) holds past what the store has of it, then
    /// commits it as the next generation; then removes commits older than the newest two.
    pub(crate) async fn upload(
        &mut self,
        file: &LogFile,
        written: &Written,
    ) -> Result<(), UploadError> {
        let transient = UploadError::Transient;
        let mut current = match self.current.take() {
            Some(current)
                if current.log_no == written.log_no
                    && current.len <= written.len
                    && current.chain.len() < MAX_CHAIN =>
            {
                current
            }
            // A new log (a compaction), or too many objects: the whole log as one object.
            _ => Uploaded {
                log_no: written.log_no,
                len: 0,
                crc: Crc32c::new(),
                chain: Vec::new(),
            },
        };
        if written.len > current.len {
            let name = layout::data_name(self.writer.run, self.objects);
            self.objects += 1;
            let range = current.len..written.len;
            self.put_stretch(&name, file, range, &mut current.crc)
                .await
                .map_err(transient)?;
            current.chain.push(Stretch {
                name,
                len: written.len - current.len,
            });
            current.len = written.len;
        }
        let commit = Commit {
            writer: self.writer.clone(),
            epoch: self.epoch,
            seq: written.seq,
            index: written.index,
            saved_at_ms: written.saved_at_ms,
            log_len: current.len,
            log_crc: current.crc.finish(),
            chain: current.chain.clone(),
        };
        let names = commit.chain.iter().map(|s| s.name.clone()).collect();
        self.current = Some(current);
        let generation = self.generation + 1;
        self.create_commit(generation, &commit).await?;
        self.generation = generation;
        self.kept.push_back((generation, names));
        self.remove_old().await;
        Ok(())
    }

    async fn create_commit(&mut self, generation: u64, commit: &Commit) -> Result<(), UploadError> {
        let path = self.commit_path(generation);
        let encoded = layout::encode(commit);
        let len = encoded.len() as u64;
        match self.create(&path, encoded.into()).await {
            Ok(true) => {
                UPLOADED.fetch_add(len, Ordering::Relaxed);
                Ok(())
            }
            Ok(false) => {
                // Ours if an earlier try went through and only its answer was lost.
                match self.read_commit(&path).await {
                    Some(theirs) if theirs.writer == self.writer => Ok(()),
                    theirs => Err(UploadError::TakenOver(self.taken_over(theirs.map_or_else(
                        || "unknown: its commit could not be read".to_owned(),
                        |theirs| theirs.writer.to_string(),
                    )))),
                }
            }
            Err(err) => Err(UploadError::Transient(
                self.error("commit", format!("commit {path}: {}", reason(&err))),
            )),
        }
    }

    /// The error that stops this run: `holder` took the checkpoint over.
    pub(crate) fn taken_over(&self, holder: String) -> Error {
        Error::TakenOver {
            url: self.url.clone(),
            name: self.name.clone(),
            holder,
        }
    }

    /// Uploads bytes `range` of `file` as the data object `name`, adding them to `crc`.
    async fn put_stretch(
        &self,
        name: &str,
        file: &LogFile,
        range: std::ops::Range<u64>,
        crc: &mut Crc32c,
    ) -> Result<(), Error> {
        let path = self.data_path(name);
        let read = |at: u64, len: usize| -> Result<Vec<u8>, Error> {
            let mut buf = vec![0; len];
            file.read_exact_at(&mut buf, at)
                .map_err(|err| self.error("upload", format!("reading the local log: {err}")))?;
            Ok(buf)
        };
        let failed =
            |err: object_store::Error| self.error("upload", format!("{path}: {}", reason(&err)));
        let len = range.end - range.start;
        if len <= PART as u64 {
            let bytes = read(range.start, len as usize)?;
            crc.update(&bytes);
            self.store.put(&path, bytes.into()).await.map_err(failed)?;
            UPLOADED.fetch_add(len, Ordering::Relaxed);
            return Ok(());
        }
        let mut upload = self.store.put_multipart(&path).await.map_err(failed)?;
        let mut at = range.start;
        while at < range.end {
            let part = (range.end - at).min(PART as u64) as usize;
            let sent = match read(at, part) {
                Ok(bytes) => {
                    crc.update(&bytes);
                    upload.put_part(bytes.into()).await.map_err(failed)
                }
                Err(err) => Err(err),
            };
            if let Err(err) = sent {
                let _ = upload.abort().await;
                return Err(err);
            }
            at += part as u64;
        }
        upload.complete().await.map_err(failed)?;
        UPLOADED.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// Removes the commits older than the newest two, and the objects only they listed. Best
    /// effort: what is left over takes room but is never read.
    async fn remove_old(&mut self) {
        let newest = self.generation;
        for generation in std::mem::take(&mut self.found) {
            if generation + 1 >= newest {
                self.found.push(generation);
                continue;
            }
            // Found at start: read what it lists before removing it.
            let listed = self.read_commit(&self.commit_path(generation)).await;
            let names =
                listed.map_or_else(Vec::new, |c| c.chain.into_iter().map(|s| s.name).collect());
            self.kept.push_front((generation, names));
        }
        while self.kept.len() > 2 {
            let (generation, names) = self.kept.pop_front().expect("more than two");
            if self
                .store
                .delete(&self.commit_path(generation))
                .await
                .is_err()
            {
                return;
            }
            for name in names {
                let listed_later = self.kept.iter().any(|(_, kept)| kept.contains(&name));
                if !listed_later {
                    let _ = self.store.delete(&self.data_path(&name)).await;
                }
            }
        }
    }

    /// Removes the checkpoint from the store: its loop finished. An empty commit at the next
    /// generation says so (a run started later finds no checkpoint, and a writer of an older
    /// epoch, paused until now, finds its next generation taken); then the other commits, the
    /// data and the beats go. The lease and release markers (a few bytes) stay, so epochs
    /// only grow.
    pub(crate) async fn remove_all(&mut self) -> Result<(), Error> {
        self.commit_empty().await?;
        let keep = self.commit_path(self.generation);
        let mut listed = self.store.list(Some(&self.root));
        let mut paths = Vec::new();
        while let Some(meta) = listed.next().await {
            let path = meta
                .map_err(|err| self.error("list", reason(&err)))?
                .location;
            let part = path.as_ref();
            let kept = path == keep || self.damaged.iter().any(|(damaged, _)| *damaged == path);
            if !kept && !part.contains("/lease/") && !part.contains("/released/") {
                paths.push(path);
            }
        }
        // Commits first: once none is left, no half-removed log can be read.
        paths.sort_by_key(|path| !path.as_ref().contains("/commits/"));
        for path in paths {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(self.error("remove", format!("{path}: {}", reason(&err)))),
            }
        }
        self.kept.clear();
        Ok(())
    }

    /// Commits an empty checkpoint as the next generation: a run started later finds none.
    /// The older generations stay until a writer's retention removes them.
    pub(crate) async fn commit_empty(&mut self) -> Result<(), Error> {
        let empty = Commit::empty(self.writer.clone(), self.epoch);
        let generation = self.generation + 1;
        match self.create_commit(generation, &empty).await {
            Ok(()) => {
                self.generation = generation;
                Ok(())
            }
            Err(UploadError::TakenOver(err) | UploadError::Transient(err)) => Err(err),
        }
    }
}
