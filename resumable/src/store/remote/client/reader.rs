//! Reading a checkpoint from the store: its newest intact commit (a damaged newer one left in
//! place and reported), and the log the commit lists fetched into a local file, checked
//! against the commit's length and CRC as it arrives.

use std::io::Write as _;
use std::path::Path as FilePath;

use futures_util::StreamExt as _;
use object_store::ObjectStoreExt as _;
use object_store::path::Path;

use crate::error::Error;
use crate::format::checksum::Crc32c;
use crate::store::remote::layout::{self, Commit};

use super::{Client, reason};

/// While a log is fetched, every this many bytes written go to the disk on another thread, so
/// the final `fsync` is short and the disk works while the network does.
const WRITEBACK_EVERY: usize = 32 << 20;

/// The thread that syncs a file being fetched while it grows ([`WRITEBACK_EVERY`]). Best
/// effort: a failure here is left to the final `sync_all`, which reports it.
struct Writeback {
    nudges: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writeback {
    fn start(file: &std::fs::File) -> Writeback {
        let Ok(file) = file.try_clone() else {
            return Writeback {
                nudges: None,
                thread: None,
            };
        };
        let (nudges, nudged) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("resumable-writeback".into())
            .spawn(move || {
                while nudged.recv().is_ok() {
                    let _ = file.sync_data();
                }
            })
            .ok();
        Writeback {
            nudges: thread.is_some().then_some(nudges),
            thread,
        }
    }

    /// Syncs what was written so far, unless a sync is already waiting.
    fn nudge(&self) {
        if let Some(nudges) = &self.nudges {
            let _ = nudges.try_send(());
        }
    }

    fn stop(mut self) {
        self.nudges = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Client {
    /// The newest intact commit, if there is one. A damaged newer one is reported and left
    /// in place (never deleted); the one before it is used.
    pub(crate) async fn newest(&mut self) -> Result<Option<Commit>, Error> {
        let newest = self.newest_found().await?;
        for (path, problem) in &self.damaged {
            crate::report::warn("fell_back").say(format_args!(
                "resumable: warning: commit {path} on the store {} cannot be used: {problem}; \
                 it is left in place and the commit before it is used",
                self.url
            ));
        }
        Ok(newest.map(|(_, commit)| commit))
    }

    /// The newest intact commit and its generation, silently: the damaged ones newer than it
    /// are kept in [`Client::damaged`].
    pub(crate) async fn newest_found(&mut self) -> Result<Option<(u64, Commit)>, Error> {
        let generations = self.list_numbered("commits").await?;
        self.generation = generations.last().copied().unwrap_or(0);
        self.found = generations.clone();
        self.damaged.clear();
        for &generation in generations.iter().rev() {
            let path = self.commit_path(generation);
            let bytes = match self.read(&path).await {
                Ok(bytes) => bytes,
                // Removed since the listing (by a writer keeping the newest two): look again.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(err) => return Err(self.error("fetch", reason(&err))),
            };
            match layout::decode(&bytes) {
                // A fence over nothing, a finished or reset job: no checkpoint.
                Ok(commit) if commit.chain.is_empty() => return Ok(None),
                Ok(commit) => return Ok(Some((generation, commit))),
                Err(problem) => {
                    self.found.retain(|&found| found != generation);
                    self.damaged.push((path, problem));
                }
            }
        }
        Ok(None)
    }

    /// The commits newer than the newest intact one that cannot be decoded, and why.
    pub(crate) fn damaged(&self) -> &[(Path, String)] {
        &self.damaged
    }

    /// Writes the log `commit` holds to `to` (created or truncated), chunk by chunk as it
    /// arrives, checks its length and CRC against the commit, and syncs it.
    pub(crate) async fn download(&self, commit: &Commit, to: &FilePath) -> Result<(), Error> {
        let mut file = std::fs::File::create(to).map_err(|err| Error::io("create", to, err))?;
        let writeback = Writeback::start(&file);
        let mut unsynced = 0usize;
        let mut crc = Crc32c::new();
        for stretch in &commit.chain {
            let path = self.data_path(&stretch.name);
            let got =
                self.store.get(&path).await.map_err(|err| {
                    self.error("fetch", format!("object {path}: {}", reason(&err)))
                })?;
            let mut stream = got.into_stream();
            let mut len = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|err| {
                    self.error("fetch", format!("object {path}: {}", reason(&err)))
                })?;
                len += chunk.len() as u64;
                if len > stretch.len {
                    break;
                }
                crc.update(&chunk);
                file.write_all(&chunk)
                    .map_err(|err| Error::io("write", to, err))?;
                unsynced += chunk.len();
                if unsynced >= WRITEBACK_EVERY {
                    unsynced = 0;
                    writeback.nudge();
                }
            }
            if len != stretch.len {
                return Err(self.error(
                    "fetch",
                    format!(
                        "object {path} holds {len} bytes where its commit says {}: it was \
                         changed or cut after the commit; nothing was loaded",
                        stretch.len
                    ),
                ));
            }
        }
        if crc.finish() != commit.log_crc {
            return Err(self.error(
                "fetch",
                "the log's bytes do not match the checksum in its commit: an object was \
                 changed after the commit; nothing was loaded"
                    .into(),
            ));
        }
        writeback.stop();
        file.sync_all().map_err(|err| Error::io("sync", to, err))
    }
}
