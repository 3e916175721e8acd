//! Reading checkpoints on an object store from the outside (the `object-store` feature), as
//! `resumable list s3://bucket/prefix` does: each checkpoint's newest commit, the run holding
//! its lease, and commits that cannot be used; fetching one to read it like a local file; and
//! resetting one. Each function makes its own requests on a runtime of its own, so it must
//! not be called from inside an async runtime.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::store::remote::client::{self, Client};
use crate::store::remote::lease::{self, LeaseState};

/// One checkpoint on a store.
#[derive(Debug, Clone)]
pub struct StoreCheckpointInfo {
    /// Its name, as `list` shows it: the file name without `.ckpt`.
    pub name: String,
    /// The checkpoint a run on a new machine would resume from; `None` if there is none (it
    /// finished, was reset, or none was uploaded yet).
    pub newest: Option<StoreCommitInfo>,
    /// Commits newer than `newest` that cannot be used (path and why): kept, never read.
    pub damaged: Vec<(String, String)>,
    /// Who holds its lease.
    pub lease: StoreLease,
}

/// A commit: one checkpoint complete on the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCommitInfo {
    /// Its generation: commits are numbered 1, 2, … and never rewritten.
    pub generation: u64,
    /// The checkpoint's completed iterations.
    pub index: u64,
    /// When the checkpoint was saved (on the machine that ran the loop), ms since the epoch.
    pub saved_at_ms: u64,
    /// The bytes of its log.
    pub size: u64,
    /// The data objects the log is made of.
    pub objects: usize,
    /// The run that committed it: host, process, run id.
    pub writer: String,
}

/// Who holds a checkpoint's lease on the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLease {
    /// No run ever took it.
    Free,
    /// Its last holder stopped and let go: the next run takes over at once.
    Released {
        /// The run that let go.
        holder: String,
    },
    /// A run holds it, and beat `beat_ago_ms` ago: it is alive if that is within the expiry
    /// (`RESUMABLE_STORE_LEASE`, 30 s by default), and taken over by the next run after it.
    Held {
        /// The holder: host, process, run id.
        holder: String,
        /// How long ago it last beat.
        beat_ago_ms: u64,
        /// How long a holder may go without beating.
        expiry_ms: u64,
    },
}

impl StoreLease {
    /// `free`, `released by …`, `held by … (beat 3 s ago)`, `expired: … beat 2 min ago`.
    pub fn text(&self) -> String {
        match self {
            StoreLease::Free => "free".into(),
            StoreLease::Released { holder } => format!("released by {holder}"),
            StoreLease::Held {
                holder,
                beat_ago_ms,
                expiry_ms,
            } => {
                let ago = crate::error::duration_text(*beat_ago_ms);
                if beat_ago_ms < expiry_ms {
                    format!("held by {holder} (beat {ago} ago)")
                } else {
                    format!("expired: {holder} last beat {ago} ago")
                }
            }
        }
    }
}

impl StoreCheckpointInfo {
    /// Ok, or the commits that cannot be used.
    pub fn health(&self) -> StoreHealth<'_> {
        if self.damaged.is_empty() {
            StoreHealth::Ok
        } else {
            StoreHealth::Damaged(&self.damaged)
        }
    }
}

/// A checkpoint's health on a store: what the `HEALTH` column shows, in its
/// [`Display`](std::fmt::Display) text (`ok`, or `commit … cannot be used: …` for each commit,
/// separated by `; `).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreHealth<'a> {
    /// Every commit can be used.
    Ok,
    /// The commits that cannot be used (path and why), at least one.
    Damaged(&'a [(String, String)]),
}

impl StoreHealth<'_> {
    /// Whether every commit can be used.
    pub fn is_ok(&self) -> bool {
        matches!(self, StoreHealth::Ok)
    }
}

impl std::fmt::Display for StoreHealth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreHealth::Ok => f.write_str("ok"),
            StoreHealth::Damaged(commits) => {
                for (at, (path, problem)) in commits.iter().enumerate() {
                    if at > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "commit {path} cannot be used: {problem}")?;
                }
                Ok(())
            }
        }
    }
}

/// How many iterations the store is behind a local checkpoint at `local_index`: `None` when
/// the store holds none.
pub fn store_lag(local_index: u64, store: &StoreCheckpointInfo) -> Option<u64> {
    store
        .newest
        .as_ref()
        .map(|newest| local_index.saturating_sub(newest.index))
}

/// The checkpoints under the store `url` (e.g. `s3://bucket/prefix`, what `RESUMABLE_STORE`
/// names), by name.
pub fn inspect_store(url: &str) -> Result<Vec<StoreCheckpointInfo>, Error> {
    block_on(url, async {
        let mut checkpoints = Vec::new();
        for name in client::checkpoint_names(url).await? {
            checkpoints.push(read(url, &name).await?);
        }
        Ok(checkpoints)
    })
}

/// Checkpoint `name` on the store `url` (a name as [`super::checkpoint_path`] takes it); `None`
/// if the store has nothing of that name.
pub fn inspect_store_checkpoint(
    url: &str,
    name: &str,
) -> Result<Option<StoreCheckpointInfo>, Error> {
    let name = store_name(name);
    block_on(url, async {
        if !client::checkpoint_names(url).await?.contains(&name) {
            return Ok(None);
        }
        read(url, &name).await.map(Some)
    })
}

/// Fetches the newest checkpoint `name` on the store into `dir` as `<name>.ckpt` (checked
/// against its commit as it arrives, as a run fetches it) and returns its path, to read with
/// [`super::inspect`]; `None` if the store holds no checkpoint of that name.
pub fn fetch_from_store(url: &str, name: &str, dir: &Path) -> Result<Option<PathBuf>, Error> {
    let name = store_name(name);
    block_on(url, async {
        let mut client = Client::open(url, &name)?;
        let Some(newest) = client.newest_found().await?.map(|(_, commit)| commit) else {
            return Ok(None);
        };
        std::fs::create_dir_all(dir).map_err(|err| Error::io("create", dir, err))?;
        let path = dir.join(&name);
        client.download(&newest, &path).await?;
        Ok(Some(path))
    })
}

/// What [`reset_on_store`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreReset {
    /// The checkpoint that was the newest, which no run resumes from any more.
    pub was: Option<StoreCommitInfo>,
    /// The generation of the empty commit that resets it.
    pub generation: u64,
}

/// Resets checkpoint `name` on the store `url`, so that a run on a machine without a local
/// checkpoint starts over: takes its lease (refused with [`Error::HeldOnStore`], naming the
/// holder, while a run holds it), commits an empty checkpoint as the newest generation and
/// lets the lease go. Nothing is deleted here; the older generations are removed by the next
/// run's retention once it committed two of its own. A machine that still has a local
/// checkpoint resumes from it: reset that one with [`super::reset`].
pub fn reset_on_store(url: &str, name: &str) -> Result<StoreReset, Error> {
    let name = store_name(name);
    block_on(url, async {
        let mut client = Client::connect(url, &name).await?;
        let was = client.newest_found().await?;
        client.acquire(lease::expiry()).await?;
        let reset = client.commit_empty().await;
        client.release().await;
        reset?;
        Ok(StoreReset {
            was: was.map(|(generation, commit)| commit_info(generation, &commit)),
            generation: client.generation(),
        })
    })
}

/// The name on the store of the checkpoint `name` names: its file name.
fn store_name(name: &str) -> String {
    let path = super::checkpoint_path(Path::new(""), name);
    path.to_string_lossy().into_owned()
}

async fn read(url: &str, name: &str) -> Result<StoreCheckpointInfo, Error> {
    let mut client = Client::open(url, name)?;
    let newest = client.newest_found().await?;
    let lease = match client.lease_state().await? {
        LeaseState::Free => StoreLease::Free,
        LeaseState::Released { holder } => StoreLease::Released { holder },
        LeaseState::Held { holder, beat_ago } => StoreLease::Held {
            holder,
            beat_ago_ms: millis(beat_ago),
            expiry_ms: millis(lease::expiry()),
        },
    };
    Ok(StoreCheckpointInfo {
        name: name.strip_suffix(".ckpt").unwrap_or(name).to_owned(),
        newest: newest.map(|(generation, commit)| commit_info(generation, &commit)),
        damaged: client
            .damaged()
            .iter()
            .map(|(path, problem)| (path.to_string(), problem.clone()))
            .collect(),
        lease,
    })
}

fn commit_info(generation: u64, commit: &crate::store::remote::layout::Commit) -> StoreCommitInfo {
    StoreCommitInfo {
        generation,
        index: commit.index,
        saved_at_ms: commit.saved_at_ms,
        size: commit.log_len,
        objects: commit.chain.len(),
        writer: commit.writer.to_string(),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn block_on<T>(
    url: &str,
    work: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let runtime = client::runtime().map_err(|err| Error::Store {
        url: url.to_owned(),
        name: String::new(),
        action: "reach",
        problem: format!("could not start a runtime for its requests: {err}"),
    })?;
    runtime.block_on(work)
}
