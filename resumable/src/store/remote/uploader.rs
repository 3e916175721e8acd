//! The thread that talks to the store, so the loop never waits on the network.
//!
//! Its own tokio runtime (current-thread) runs the `object_store` calls of a [`Client`], one at
//! a time: at start the lease and the fence (whose newest commit the run is handed) and a
//! fetch, answered before the loop starts; then uploads and beats on the lease. The syncer hands it each checkpoint once durable
//! ([`Uploads::durable`]); only the newest waits, so when the network is slower than the loop,
//! checkpoints in between are skipped, never queued; and after an upload the next one waits
//! four times as long as it took (0.1–10 s; the start's fence counts as one), so uploading
//! takes a bounded share of a core and of the network. A store that cannot be reached is
//! reported once and tried again with a growing pause; the local checkpoints go on as ever.
//! A commit another run made first ([`UploadError::TakenOver`]) is kept for the loop, which
//! stops at its next save.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::report;
use crate::store::fs::LogFile;
use crate::store::journal::Written;
use crate::store::remote::client::{self, Client, UploadError};
use crate::store::remote::layout::Commit;
use crate::store::remote::lease;

/// The longest pause between tries while the store cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// After an upload that took `d`, the next waits `UPLOAD_SHARE × d` (within `MIN_GAP` and
/// `MAX_GAP`), so uploads take at most a fifth of a core and of the network while the loop
/// runs: the checkpoints in between are skipped, and a lost machine loses at most that gap
/// and one upload. A run that is stopping uploads its last checkpoint at once.
const UPLOAD_SHARE: u32 = 4;
const MIN_GAP: Duration = Duration::from_millis(100);
const MAX_GAP: Duration = Duration::from_secs(10);

/// The run's handle on the store's thread.
pub(crate) struct Remote {
    uploads: Arc<Uploads>,
    url: String,
    /// The newest checkpoint on the store when the lease was taken: no other run writes
    /// there since.
    newest: Option<Commit>,
}

/// What the syncer and the run share with the store's thread.
pub(crate) struct Uploads {
    state: Mutex<State>,
    /// Work arrived, or the thread should stop.
    work: Condvar,
    /// An upload ended.
    done: Condvar,
    /// The index of the newest checkpoint this run put on the store (`NONE` before the
    /// first), read by the progress line without the lock.
    on_store: AtomicU64,
    /// The store cannot be reached right now.
    unreachable: AtomicBool,
}

/// `on_store` before the first upload.
const NONE: u64 = u64::MAX;

#[derive(Default)]
struct State {
    /// The newest durable checkpoint not uploaded yet.
    pending: Option<(Arc<LogFile>, Written)>,
    requests: VecDeque<Request>,
    uploading: bool,
    /// Another run took the checkpoint over: nothing more is uploaded, and the error waits
    /// for the loop's next save.
    fenced: bool,
    taken_over: Option<Error>,
    /// A store outage was reported and has not ended yet.
    outage: bool,
    /// The run is stopping: its last checkpoint goes up without waiting for the gap.
    finishing: bool,
    stop: bool,
}

enum Request {
    Download(Box<Commit>, PathBuf, mpsc::Sender<Result<(), Error>>),
    Continue(Box<Commit>),
    RemoveAll(mpsc::Sender<Result<(), Error>>),
    Release(mpsc::Sender<()>),
}

impl Uploads {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A checkpoint is durable in `file` up to `written.len`: upload it, unless a newer one
    /// comes first.
    pub(crate) fn durable(&self, file: &Arc<LogFile>, written: Written) {
        let mut state = self.lock();
        state.pending = Some((Arc::clone(file), written));
        drop(state);
        self.work.notify_one();
    }

    /// Another run took the checkpoint over since the last call, if one did.
    pub(crate) fn take_error(&self) -> Option<Error> {
        self.lock().taken_over.take()
    }

    /// The index of the newest checkpoint this run put on the store, and whether the store
    /// cannot be reached right now: what the progress line shows.
    pub(crate) fn on_store(&self) -> (Option<u64>, bool) {
        let index = self.on_store.load(Ordering::Relaxed);
        (
            (index != NONE).then_some(index),
            self.unreachable.load(Ordering::Relaxed),
        )
    }
}

impl Remote {
    /// Starts the thread for checkpoint `name` on the store at `url`; returns once the store
    /// was reached and checked (see [`Client::connect`]).
    pub(crate) fn connect(url: &str, name: &str) -> Result<Remote, Error> {
        let uploads = Arc::new(Uploads {
            state: Mutex::default(),
            work: Condvar::new(),
            done: Condvar::new(),
            on_store: AtomicU64::new(NONE),
            unreachable: AtomicBool::new(false),
        });
        let (ready, connected) = mpsc::channel();
        let shared = Arc::clone(&uploads);
        let (url_owned, name) = (url.to_owned(), name.to_owned());
        thread::Builder::new()
            .name("resumable-upload".into())
            .spawn(move || {
                let runtime = match client::runtime() {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready.send(Err(Error::Store {
                            url: url_owned,
                            name,
                            action: "reach",
                            problem: format!("could not start the upload thread's runtime: {err}"),
                        }));
                        return;
                    }
                };
                let expiry = lease::expiry();
                let client = runtime.block_on(async {
                    let mut client = Client::connect(&url_owned, &name).await?;
                    let newest = client.acquire(expiry).await?;
                    Ok::<_, Error>((client, newest))
                });
                match client {
                    Ok((client, newest)) => {
                        let _ = ready.send(Ok(newest));
                        serve(&runtime, client, expiry / 4, &shared);
                    }
                    Err(err) => {
                        let _ = ready.send(Err(err));
                    }
                }
            })
            .map_err(|err| Error::Store {
                url: url.to_owned(),
                name: String::new(),
                action: "reach",
                problem: format!("could not start the upload thread: {err}"),
            })?;
        let newest = connected
            .recv()
            .unwrap_or_else(|_| panic!("resumable: the upload thread for {url} ended at start"))?;
        Ok(Remote {
            uploads,
            url: url.to_owned(),
            newest,
        })
    }

    /// The store's URL, for messages.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// What the syncer hands durable checkpoints to.
    pub(crate) fn uploads(&self) -> Arc<Uploads> {
        Arc::clone(&self.uploads)
    }

    /// Hands the thread a request; its answer comes on the receiver.
    fn send<T>(&self, request: impl FnOnce(mpsc::Sender<T>) -> Request) -> mpsc::Receiver<T> {
        let (reply, answer) = mpsc::channel();
        self.uploads.lock().requests.push_back(request(reply));
        self.uploads.work.notify_one();
        answer
    }

    /// Hands the thread a request and waits for its answer.
    fn ask<T>(&self, request: impl FnOnce(mpsc::Sender<T>) -> Request) -> T {
        self.send(request)
            .recv()
            .expect("the upload thread answers every request while the run holds it")
    }

    /// The newest intact checkpoint on the store.
    pub(crate) fn newest(&self) -> Option<&Commit> {
        self.newest.as_ref()
    }

    /// Writes the log `commit` holds to `to`, checked and synced.
    pub(crate) fn download(&self, commit: &Commit, to: PathBuf) -> Result<(), Error> {
        self.ask(|reply| Request::Download(Box::new(commit.clone()), to, reply))
    }

    /// The log this run resumed from is `commit`'s: uploads go on after it.
    pub(crate) fn continue_from(&self, commit: &Commit) {
        self.uploads
            .lock()
            .requests
            .push_back(Request::Continue(Box::new(commit.clone())));
        self.uploads.work.notify_one();
    }

    /// Waits until the newest durable checkpoint handed over is on the store, or until `until`;
    /// says which. (The syncer must have been flushed first.)
    pub(crate) fn finish(&self, until: Instant) -> bool {
        let mut state = self.uploads.lock();
        state.finishing = true;
        self.uploads.work.notify_one();
        while state.pending.is_some() || state.uploading || !state.requests.is_empty() {
            if state.fenced {
                return false;
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return false;
            };
            state = self
                .uploads
                .done
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// The index of the newest checkpoint this run put on the store.
    pub(crate) fn committed(&self) -> Option<u64> {
        self.uploads.on_store().0
    }

    /// Lets go of the lease (the run stops), waiting until `until` at most: the next run takes
    /// over without waiting for the expiry. A store that has not answered by then is left to
    /// the expiry, and the upload thread stops once this `Remote` is dropped.
    pub(crate) fn release(&self, until: Instant) {
        let answer = self.send(Request::Release);
        let _ = answer.recv_timeout(until.saturating_duration_since(Instant::now()));
    }

    /// Removes the checkpoint from the store (its loop finished); nothing is uploaded after.
    pub(crate) fn remove_all(&self) -> Result<(), Error> {
        self.uploads.lock().pending = None;
        self.ask(Request::RemoveAll)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.uploads.lock().stop = true;
        self.uploads.work.notify_one();
    }
}

/// The thread's loop: requests first, then the newest pending checkpoint; a beat on the
/// lease every `beat_every`.
fn serve(
    runtime: &tokio::runtime::Runtime,
    mut client: Client,
    beat_every: Duration,
    uploads: &Uploads,
) {
    let mut backoff = Duration::from_millis(100);
    let mut next_beat = Instant::now() + beat_every;
    // The start's fence was an upload too: the first checkpoint waits the gap like any other.
    let mut next_upload = Instant::now() + MIN_GAP;
    let mut state = uploads.lock();
    loop {
        loop {
            let now = Instant::now();
            let upload_due = state.pending.is_some() && (state.finishing || now >= next_upload);
            if state.stop || !state.requests.is_empty() || upload_due || now >= next_beat {
                break;
            }
            let until = match state.pending {
                Some(_) => next_upload.min(next_beat),
                None => next_beat,
            };
            state = uploads
                .work
                .wait_timeout(state, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if state.stop {
            return;
        }
        if Instant::now() >= next_beat {
            drop(state);
            next_beat = Instant::now() + beat_every;
            let taken = runtime.block_on(async {
                client.beat().await?;
                client.taken_over_by().await
            });
            state = uploads.lock();
            if let Ok(Some(holder)) = taken
                && !state.fenced
            {
                let err = client.taken_over(holder);
                report::error("taken_over").say(format_args!("resumable: {err}"));
                state.fenced = true;
                state.taken_over = Some(err);
            }
            continue;
        }
        if let Some(request) = state.requests.pop_front() {
            drop(state);
            match request {
                Request::Download(commit, to, reply) => {
                    let _ = reply.send(runtime.block_on(client.download(&commit, &to)));
                }
                Request::Continue(commit) => client.continue_from(&commit),
                Request::RemoveAll(reply) => {
                    let _ = reply.send(runtime.block_on(client.remove_all()));
                }
                Request::Release(reply) => {
                    runtime.block_on(client.release());
                    let _ = reply.send(());
                }
            }
            state = uploads.lock();
            uploads.done.notify_all();
            continue;
        }
        if state.fenced {
            // Nothing more goes to a checkpoint another run owns.
            state.pending = None;
            uploads.done.notify_all();
            continue;
        }
        if !state.finishing && Instant::now() < next_upload {
            continue;
        }
        let (file, written) = state.pending.take().expect("checked above");
        state.uploading = true;
        drop(state);
        let started = Instant::now();
        let result = runtime.block_on(client.upload(&file, &written));
        next_upload = Instant::now() + (started.elapsed() * UPLOAD_SHARE).clamp(MIN_GAP, MAX_GAP);
        state = uploads.lock();
        state.uploading = false;
        match result {
            Ok(()) => {
                backoff = Duration::from_millis(100);
                uploads.on_store.store(written.index, Ordering::Relaxed);
                uploads.unreachable.store(false, Ordering::Relaxed);
                if std::mem::take(&mut state.outage) {
                    report::note("store_reachable")
                        .index(written.index)
                        .say(format_args!(
                            "resumable: the store is reachable again; checkpoint at iteration \
                             {} uploaded (generation {})",
                            written.index,
                            client.generation()
                        ));
                }
            }
            Err(UploadError::TakenOver(err)) => {
                if !std::mem::replace(&mut state.fenced, true) {
                    report::error("taken_over").say(format_args!("resumable: {err}"));
                    state.taken_over = Some(err);
                }
            }
            Err(UploadError::Transient(err)) => {
                uploads.unreachable.store(true, Ordering::Relaxed);
                if !std::mem::replace(&mut state.outage, true) {
                    report::warn("store_unreachable").say(format_args!(
                        "resumable: warning: {err}; the loop goes on with local checkpoints \
                         and the upload is tried again"
                    ));
                }
                // Tried again with the newest, unless a newer one came meanwhile.
                state.pending.get_or_insert((file, written));
                uploads.done.notify_all();
                state = uploads
                    .work
                    .wait_timeout_while(state, backoff, |state| {
                        !state.stop && state.requests.is_empty()
                    })
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        }
        uploads.done.notify_all();
    }
}
