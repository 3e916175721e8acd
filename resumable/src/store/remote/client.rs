//! The object store calls one checkpoint needs, through `object_store`: open a store by URL and
//! check it, find the newest commit, fetch a log, upload a log's new bytes and commit them,
//! keep the newest two commits, remove the checkpoint. Run on the uploader's thread (see
//! [`super::uploader`]), one call at a time.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::Path as FilePath;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

use crate::error::Error;
use crate::format::checksum::Crc32c;
use crate::store::fs::LogFile;
use crate::store::journal::Written;
use crate::store::remote::layout::{self, Commit, MAX_CHAIN, Stretch, Writer};

/// Objects up to this size go up in one request; bigger ones in parts of this size, read from
/// the file one at a time, so an upload holds one part in memory.
const PART: usize = 8 << 20;

/// Bytes of data objects and commits this process put on stores (what the store benchmarks
/// report: `measure::uploaded_bytes`).
pub(crate) static UPLOADED: AtomicU64 = AtomicU64::new(0);

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

/// A failed upload: the store is unreachable for now (retried), or another run owns the
/// checkpoint (the run must stop).
pub(crate) enum UploadError {
    Transient(Error),
    TakenOver(Error),
}

/// One checkpoint on one store.
pub(crate) struct Client {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) url: String,
    pub(super) name: String,
    /// `<prefix>/<name>`.
    pub(super) root: Path,
    pub(super) writer: Writer,
    /// The lease's epoch this run holds (see `lease`).
    pub(super) epoch: u64,
    /// The data objects this run uploaded (for their names).
    objects: u64,
    /// The newest generation known to exist: ours or found at start.
    pub(super) generation: u64,
    /// The local log the last commit holds, as uploaded.
    current: Option<Uploaded>,
    /// The newest commits and the objects each lists, oldest first; older ones are removed.
    pub(super) kept: VecDeque<(u64, Vec<String>)>,
    /// Commits found at start that this run has not removed yet.
    found: Vec<u64>,
    /// Commits that could not be used: never removed, even when the job finishes.
    damaged: Vec<(Path, String)>,
}

/// What of one local log is on the store.
struct Uploaded {
    log_no: u64,
    len: u64,
    crc: Crc32c,
    chain: Vec<Stretch>,
}

impl Client {
    /// Opens the store at `url` for the checkpoint `name` and checks that it can be reached
    /// and that it refuses to create an object twice, which is what keeps two writers from
    /// overwriting each other's checkpoints.
    pub(crate) async fn connect(url: &str, name: &str) -> Result<Client, Error> {
        let client = Client::open(url, name)?;
        client.probe().await?;
        Ok(client)
    }

    /// The client of checkpoint `name` on the store at `url`, without a request yet: for
    /// reading only (`inspect`), as nothing checked that the store refuses a second create.
    pub(crate) fn open(url: &str, name: &str) -> Result<Client, Error> {
        let (store, prefix) = open(url).map_err(|problem| Error::Store {
            url: url.to_owned(),
            name: name.to_owned(),
            action: "open",
            problem,
        })?;
        let root = prefix.clone().join(name);
        let writer = Writer {
            run: random_id(),
            host: host_name(),
            pid: std::process::id(),
        };
        Ok(Client {
            store,
            url: url.to_owned(),
            name: name.to_owned(),
            root,
            writer,
            epoch: 0,
            objects: 0,
            generation: 0,
            current: None,
            kept: VecDeque::new(),
            found: Vec::new(),
            damaged: Vec::new(),
        })
    }

    /// Checks that the store can be reached and refuses to create an object twice.
    async fn probe(&self) -> Result<(), Error> {
        let probe = self
            .root
            .clone()
            .join(format!("probe-{:016x}", self.writer.run));
        let payload = || PutPayload::from_static(b"probe");
        let first = self.create(&probe, payload()).await;
        let second = match first {
            Ok(_) => self.create(&probe, payload()).await,
            Err(err) => return Err(self.error("reach", reason(&err))),
        };
        let _ = self.store.delete(&probe).await;
        match second {
            Ok(false) => Ok(()),
            Ok(true) => Err(self.error(
                "use",
                "the store let an object be created twice: it ignores conditional writes \
                 (`If-None-Match: *`), so two runs could overwrite each other's checkpoints. \
                 Use a store that honours them (AWS S3, Google Cloud Storage, Azure, MinIO, \
                 Cloudflare R2)"
                    .into(),
            )),
            Err(err) => Err(self.error("use", reason(&err))),
        }
    }

    /// Creates `path` holding `payload` only if no object has that name: `Ok(false)` if one
    /// does. Every commit, lease and release mark is written so.
    pub(super) async fn create(
        &self,
        path: &Path,
        payload: PutPayload,
    ) -> object_store::Result<bool> {
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.store.put_opts(path, payload, options).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// The bytes of the (small) object `path`.
    pub(super) async fn read(&self, path: &Path) -> object_store::Result<Vec<u8>> {
        Ok(self.store.get(path).await?.bytes().await?.to_vec())
    }

    /// The commit `path` holds, if it can be read and decoded.
    async fn read_commit(&self, path: &Path) -> Option<Commit> {
        let bytes = self.read(path).await.ok()?;
        layout::decode(&bytes).ok()
    }

    /// The numbers of the numbered objects under `<root>/<dir>/`, in order.
    pub(super) async fn list_numbered(&self, dir: &str) -> Result<Vec<u64>, Error> {
        let mut listed = self.store.list(Some(&self.root.clone().join(dir)));
        let mut numbers = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta.map_err(|err| self.error("list", reason(&err)))?;
            numbers.extend(meta.location.filename().and_then(layout::number_of));
        }
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// `<root>/<dir>/<n>`: a commit, a lease, a beat, a release mark.
    pub(super) fn numbered_path(&self, dir: &str, n: u64) -> Path {
        self.root.clone().join(dir).join(layout::numbered(n))
    }

    pub(super) fn error(&self, action: &'static str, problem: String) -> Error {
        Error::Store {
            url: self.url.clone(),
            name: self.name.clone(),
            action,
            problem,
        }
    }

    pub(super) fn commit_path(&self, generation: u64) -> Path {
        self.numbered_path("commits", generation)
    }

    fn data_path(&self, name: &str) -> Path {
        self.root.clone().join("data").join(name)
    }

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

    /// The newest generation this run committed or found.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

/// The runtime the store's calls run on: one thread, the caller's (the upload thread's, or
/// the command's), never a user's async runtime.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The names of the checkpoints under the store `url`'s prefix (`<name>.ckpt`), sorted.
pub(crate) async fn checkpoint_names(url: &str) -> Result<Vec<String>, Error> {
    let fail = |action, problem| Error::Store {
        url: url.to_owned(),
        name: String::new(),
        action,
        problem,
    };
    let (store, prefix) = open(url).map_err(|problem| fail("open", problem))?;
    let listed = store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|err| fail("list", reason(&err)))?;
    let mut names: Vec<String> = listed
        .common_prefixes
        .iter()
        .filter_map(|dir| dir.filename())
        .filter(|name| name.ends_with(".ckpt"))
        .map(str::to_owned)
        .collect();
    names.sort();
    Ok(names)
}

/// The store `url` names, and the prefix in it.
pub(crate) fn open(url: &str) -> Result<(Arc<dyn ObjectStore>, Path), String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("it is not a URL ({err})"))?;
    let prefix = || {
        Path::from_url_path(parsed.path()).map_err(|err| format!("its path is not valid ({err})"))
    };
    let built: Result<Arc<dyn ObjectStore>, object_store::Error> = match parsed.scheme() {
        "s3" | "s3a" => {
            use object_store::ClientConfigKey as Client;
            use object_store::aws::AmazonS3ConfigKey as Key;
            let mut builder = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url)
                .with_retry(retry());
            // Short enough that a start against a dead endpoint fails in seconds, unless the
            // environment says otherwise.
            for (key, value) in [(Client::ConnectTimeout, "5s"), (Client::Timeout, "60s")] {
                if builder.get_config_value(&Key::Client(key)).is_none() {
                    builder = builder.with_config(Key::Client(key), value);
                }
            }
            builder
                .build()
                .map(|store| Arc::new(store) as Arc<dyn ObjectStore>)
        }
        #[cfg(feature = "object-store-gcp")]
        "gs" => object_store::gcp::GoogleCloudStorageBuilder::from_env()
            .with_url(url)
            .with_retry(retry())
            .build()
            .map(|store| Arc::new(store) as Arc<dyn ObjectStore>),
        #[cfg(feature = "object-store-azure")]
        "az" | "azure" | "abfs" | "abfss" => object_store::azure::MicrosoftAzureBuilder::from_env()
            .with_url(url)
            .with_retry(retry())
            .build()
            .map(|store| Arc::new(store) as Arc<dyn ObjectStore>),
        "file" => {
            let (store, path) = object_store::parse_url(&parsed).map_err(|err| reason(&err))?;
            return Ok((Arc::from(store), path));
        }
        "memory" => {
            // One per process, so that every run in it sees the same objects (tests).
            static MEMORY: OnceLock<Arc<object_store::memory::InMemory>> = OnceLock::new();
            let store = MEMORY.get_or_init(Default::default);
            let path = format!("{}{}", parsed.host_str().unwrap_or(""), parsed.path());
            let path = Path::parse(path.trim_matches('/')).map_err(|err| err.to_string())?;
            return Ok((Arc::clone(store) as Arc<dyn ObjectStore>, path));
        }
        "gs" | "az" | "azure" | "abfs" | "abfss" => {
            return Err(format!(
                "`{}://` needs resumable's `object-store-gcp` or `object-store-azure` feature",
                parsed.scheme()
            ));
        }
        other => {
            return Err(format!(
                "`{other}://` is not a store this build knows: use s3://, gs://, az://, \
                 file:// or memory://"
            ));
        }
    };
    Ok((built.map_err(|err| reason(&err))?, prefix()?))
}

/// Few quick retries: the uploader retries on its own, and a start must not hang minutes on
/// a store that is down.
fn retry() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

/// An object store error with its causes, on one line.
pub(super) fn reason(err: &object_store::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_of(source);
    }
    text
}

fn cause_of<'a>(
    err: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    err.and_then(std::error::Error::source)
}

/// A run id no other process has: std's hasher keys are random per process.
fn random_id() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
