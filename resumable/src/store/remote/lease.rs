//! One writer per checkpoint across machines: a lease on the store, with heartbeats, taken
//! over once its holder stops beating, and a fence that keeps a holder that wakes up late from
//! ever having what it writes read.
//!
//! - `<name>/lease/<epoch>` is created only if absent and names its holder; the newest epoch
//!   holds the checkpoint. `<name>/beat/<epoch>` is rewritten by the holder every quarter of
//!   the expiry; the store's own clock (the object's last-modified time, against that of an
//!   object written just now) says how long ago it beat, so machines' clocks do not matter.
//!   `<name>/released/<epoch>` says the holder let go (it stopped, saved): the next run takes
//!   over at once.
//! - A run takes the lease if there is none, if its holder released it, if the holder's last
//!   beat is older than the expiry, or if the holder was a process of this host that is gone;
//!   else it is refused, naming the holder.
//! - Having taken it, the run fences: it creates the next commit generation itself, a copy of
//!   the newest commit under its own epoch (an empty one if there is none). A writer of an older
//!   epoch, paused until now, then finds every generation it could create taken by a newer
//!   epoch, and stops ([`Client::upload`](super::client::Client::upload)); what it uploaded
//!   is never listed by a commit, so never read.

use std::time::Duration;

use object_store::path::Path;
use object_store::{ObjectStoreExt as _, PutPayload};

use crate::error::Error;
use crate::store::remote::client::{Client, reason};
use crate::store::remote::layout::{self, Commit, Writer};

/// How long a holder may go without beating before another run takes the checkpoint over:
/// `RESUMABLE_STORE_LEASE` seconds, else [`Config::store_lease`](crate::Config::store_lease),
/// else 30 s.
pub(crate) fn expiry() -> Duration {
    crate::config::Config::current().store_lease
}

/// The state of a checkpoint's lease, as the newest lease on the store says.
pub(crate) enum LeaseState {
    /// No run ever took it.
    Free,
    /// Its last holder let go: the next run takes it at once.
    Released { holder: String },
    /// Its holder beat `beat_ago`: alive if that is within the expiry.
    Held { holder: String, beat_ago: Duration },
}

impl Client {
    fn lease_path(&self, epoch: u64) -> Path {
        self.numbered_path("lease", epoch)
    }

    fn beat_path(&self, epoch: u64) -> Path {
        self.numbered_path("beat", epoch)
    }

    fn released_path(&self, epoch: u64) -> Path {
        self.numbered_path("released", epoch)
    }

    /// The newest epoch on the store, and its holder (`None` if its lease cannot be read).
    async fn newest_lease(&self) -> Result<Option<(u64, Option<Writer>)>, Error> {
        let Some(&epoch) = self.list_numbered("lease").await?.last() else {
            return Ok(None);
        };
        let holder = self.read(&self.lease_path(epoch)).await.ok();
        let holder = holder.and_then(|bytes| postcard::from_bytes::<Writer>(&bytes).ok());
        Ok(Some((epoch, holder)))
    }

    /// The store's clock now, in ms: the time it gives an object written just now.
    async fn store_now_ms(&self) -> Result<i64, Error> {
        let probe = self
            .root
            .clone()
            .join(format!("clock-{:016x}", self.writer.run));
        self.store
            .put(&probe, PutPayload::from_static(b"now"))
            .await
            .map_err(|err| self.error("reach", reason(&err)))?;
        let now = self
            .store
            .head(&probe)
            .await
            .map_err(|err| self.error("reach", reason(&err)))?
            .last_modified
            .timestamp_millis();
        let _ = self.store.delete(&probe).await;
        Ok(now)
    }

    /// Takes the checkpoint's lease, or says who holds it; then fences (see the module docs)
    /// and returns the newest checkpoint on the store.
    pub(crate) async fn acquire(&mut self, expiry: Duration) -> Result<Option<Commit>, Error> {
        let mut epoch = 0;
        if let Some((held, holder)) = self.newest_lease().await? {
            epoch = held;
            self.refuse_if_held(held, holder, expiry).await?;
        }
        loop {
            epoch += 1;
            let lease = postcard::to_allocvec(&self.writer).expect("a writer always encodes");
            match self.create(&self.lease_path(epoch), lease.into()).await {
                Ok(true) => break,
                // Another run took it a moment ago: it holds it now.
                Ok(false) => {
                    let (held, holder) = self.newest_lease().await?.unwrap_or((epoch, None));
                    self.refuse_if_held(held, holder, expiry).await?;
                    epoch = held;
                }
                Err(err) => return Err(self.error("take the lease of", reason(&err))),
            }
        }
        // The lease's own time is its first beat (see `refuse_if_held`).
        self.epoch = epoch;
        self.fence().await
    }

    async fn refuse_if_held(
        &self,
        epoch: u64,
        holder: Option<Writer>,
        expiry: Duration,
    ) -> Result<(), Error> {
        let Some(ago) = self.beat_ago(epoch, self.store_now_ms().await?).await? else {
            return Ok(());
        };
        let gone_from_here = holder
            .as_ref()
            .is_some_and(|holder| holder.host == self.writer.host && !process_alive(holder.pid));
        if ago >= expiry || gone_from_here {
            return Ok(());
        }
        Err(Error::HeldOnStore {
            url: self.url.clone(),
            name: self.name.clone(),
            holder: holder_text(holder),
            beat_ago_ms: ago.as_millis() as u64,
            expiry_ms: expiry.as_millis() as u64,
        })
    }

    /// How long before `now_ms` the holder of `epoch` last beat; `None` if it released the
    /// lease. A lease just taken has not beaten yet: its own time is its first beat.
    async fn beat_ago(&self, epoch: u64, now_ms: i64) -> Result<Option<Duration>, Error> {
        if self.store.head(&self.released_path(epoch)).await.is_ok() {
            return Ok(None);
        }
        let mut beat = None;
        for path in [self.beat_path(epoch), self.lease_path(epoch)] {
            match self.store.head(&path).await {
                Ok(meta) => {
                    beat = Some(meta.last_modified.timestamp_millis());
                    break;
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(self.error("read the lease of", reason(&err))),
            }
        }
        Ok(Some(Duration::from_millis(beat.map_or(u64::MAX, |beat| {
            now_ms.saturating_sub(beat).max(0) as u64
        }))))
    }

    /// Who holds the checkpoint's lease and how long ago they beat, for `resumable list`.
    /// The store's clock is asked if this process may write; else this machine's is used.
    pub(crate) async fn lease_state(&self) -> Result<LeaseState, Error> {
        let Some((epoch, holder)) = self.newest_lease().await? else {
            return Ok(LeaseState::Free);
        };
        let now = match self.store_now_ms().await {
            Ok(now) => now,
            Err(_) => crate::store::clock::now_ms() as i64,
        };
        let holder = holder_text(holder);
        Ok(match self.beat_ago(epoch, now).await? {
            None => LeaseState::Released { holder },
            Some(beat_ago) => LeaseState::Held { holder, beat_ago },
        })
    }

    /// Creates the next generation as a copy of the newest commit under this run's epoch, so
    /// no older epoch can commit after it; returns the newest checkpoint.
    async fn fence(&mut self) -> Result<Option<Commit>, Error> {
        loop {
            let newest = self.newest().await?;
            let fence = match &newest {
                Some(commit) => Commit {
                    writer: self.writer.clone(),
                    epoch: self.epoch,
                    ..commit.clone()
                },
                None => Commit::empty(self.writer.clone(), self.epoch),
            };
            let generation = self.generation + 1;
            let path = self.commit_path(generation);
            match self.create(&path, layout::encode(&fence).into()).await {
                Ok(true) => {
                    self.generation = generation;
                    let names = fence.chain.iter().map(|s| s.name.clone()).collect();
                    self.kept.push_back((generation, names));
                    return Ok(newest);
                }
                // A writer of the epoch before committed meanwhile: its commit came before
                // the takeover; fence after it.
                Ok(false) => continue,
                Err(err) => return Err(self.error("commit", format!("{path}: {}", reason(&err)))),
            }
        }
    }

    /// Beats: rewrites this epoch's beat object, whose time says the holder is alive.
    pub(crate) async fn beat(&self) -> Result<(), Error> {
        self.store
            .put(
                &self.beat_path(self.epoch),
                PutPayload::from_static(b"beat"),
            )
            .await
            .map_err(|err| self.error("beat on the lease of", reason(&err)))?;
        Ok(())
    }

    /// The holder of the newest lease, if it is not this run: it took the checkpoint over.
    pub(crate) async fn taken_over_by(&self) -> Result<Option<String>, Error> {
        match self.newest_lease().await? {
            Some((epoch, holder)) if epoch > self.epoch => Ok(Some(holder_text(holder))),
            _ => Ok(None),
        }
    }

    /// Lets go of the lease: the next run takes it over without waiting for the expiry.
    pub(crate) async fn release(&self) {
        let released = PutPayload::from_static(b"released");
        let _ = self.create(&self.released_path(self.epoch), released).await;
    }
}

/// The holder named in messages.
fn holder_text(holder: Option<Writer>) -> String {
    holder.map_or_else(
        || "a run whose lease cannot be read".into(),
        |holder| holder.to_string(),
    )
}

/// Whether process `pid` of this host still runs (where `/proc` says; else assumed alive).
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.exists() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;
    use crate::store::fs::LogFile;
    use crate::store::journal::Written;
    use crate::store::remote::client::UploadError;

    fn runtime() -> tokio::runtime::Runtime {
        crate::store::remote::client::runtime().unwrap()
    }

    /// A store of this process (`memory://`) no other test uses.
    fn fresh_store(test: &str) -> String {
        format!("memory://{test}-{:016x}", rand_id())
    }

    fn rand_id() -> u64 {
        use std::hash::{BuildHasher as _, Hasher as _};
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    }

    /// Eight runs take one checkpoint's lease at the same moment, each on its own thread:
    /// exactly one gets it, the others are refused naming a holder.
    #[test]
    fn of_eight_runs_taking_one_lease_at_once_exactly_one_wins() {
        let url = fresh_store("lease-race");
        let start = Arc::new(Barrier::new(8));
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (url, start) = (url.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    runtime().block_on(async {
                        let mut client = Client::connect(&url, "job").await.unwrap();
                        start.wait();
                        client.acquire(Duration::from_secs(30)).await.map(|_| ())
                    })
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(refused, Error::HeldOnStore { .. }), "{refused}");
        }
    }

    /// A writer whose lease was taken over cannot commit again: its next commit finds the
    /// generation taken by the new holder's fence, and it is told who took over.
    #[test]
    fn a_writer_taken_over_cannot_commit_again() {
        let url = fresh_store("fenced");
        let dir = std::env::temp_dir().join(format!("resumable-fenced-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        std::fs::write(&path, b"some bytes of a log").unwrap();
        let file = LogFile::new(std::fs::File::open(&path).unwrap());
        runtime().block_on(async {
            let mut old = Client::connect(&url, "job").await.unwrap();
            old.acquire(Duration::from_secs(30)).await.unwrap();
            let written = Written {
                log_no: 1,
                len: 10,
                seq: 1,
                index: 10,
                saved_at_ms: 0,
                bytes: 10,
            };
            assert!(old.upload(&file, &written).await.is_ok());
            // The old writer stops beating (paused); a new run takes over once it expired.
            let mut new = Client::connect(&url, "job").await.unwrap();
            let newest = new.acquire(Duration::ZERO).await.unwrap();
            assert_eq!(newest.map(|commit| commit.index), Some(10));
            let later = Written {
                len: 19,
                seq: 2,
                index: 19,
                ..written
            };
            match old.upload(&file, &later).await {
                Err(UploadError::TakenOver(Error::TakenOver { holder, .. })) => {
                    assert!(
                        holder.contains(&format!("{:016x}", new.writer.run)),
                        "{holder}"
                    );
                }
                Err(UploadError::Transient(err) | UploadError::TakenOver(err)) => panic!("{err}"),
                Ok(()) => panic!("the old writer committed after the takeover"),
            }
            assert!(old.taken_over_by().await.unwrap().is_some());
            // What the store holds is still the new holder's fence of the old checkpoint.
            assert_eq!(new.newest().await.unwrap().map(|c| c.index), Some(10));
        });
        std::fs::remove_dir_all(dir).unwrap();
    }
}
