//! The object store calls one checkpoint needs, through `object_store`, run on the
//! uploader's thread (see [`super::uploader`]), one call at a time. A file per role: here the
//! [`Client`] and the calls every role makes (open a store and check it, create an object only
//! if absent, read, list); `reader` finds the newest commit and fetches a log, `writer`
//! uploads a log's new bytes and commits them, keeps the newest two commits and removes the
//! checkpoint; `url` opens the store a URL names.

mod reader;
mod url;
mod writer;

pub(crate) use url::checkpoint_names;
pub(crate) use writer::{UPLOADED, UploadError};

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::StreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

use crate::error::Error;
use crate::store::remote::layout::{self, Commit, Writer};

use writer::Uploaded;

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
        let (store, prefix) = url::open(url).map_err(|problem| Error::Store {
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
