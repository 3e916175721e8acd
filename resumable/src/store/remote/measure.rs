//! What the store benchmarks measure of this code (`scripts/bench_store.py`): the bytes this
//! process put on stores for checkpoints, and one upload and one fetch of a file through the
//! same calls a run makes, timed. Not used by runs.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::store::fs::LogFile;
use crate::store::journal::Written;
use crate::store::remote::client::{self, Client, UploadError};

/// Bytes of data objects and commits this process put on stores so far.
pub fn uploaded_bytes() -> u64 {
    client::UPLOADED.load(Ordering::Relaxed)
}

/// Uploads the file `path` as checkpoint `name`'s log on the store `url` (taking its lease
/// first, untimed) and returns how long the upload and its commit took.
pub fn upload_file(url: &str, name: &str, path: &Path) -> Result<Duration, Error> {
    let file = std::fs::File::open(path).map_err(|err| Error::io("open", path, err))?;
    let len = file
        .metadata()
        .map_err(|err| Error::io("read the size of", path, err))?
        .len();
    let written = Written {
        log_no: 0,
        len,
        seq: 1,
        index: 1,
        saved_at_ms: 0,
        bytes: len,
    };
    runtime().block_on(async {
        let mut client = Client::connect(url, name).await?;
        client.acquire(Duration::from_secs(30)).await?;
        let started = Instant::now();
        match client.upload(&LogFile::new(file), &written).await {
            Ok(()) => {}
            Err(UploadError::Transient(err) | UploadError::TakenOver(err)) => return Err(err),
        }
        let took = started.elapsed();
        client.release().await;
        Ok(took)
    })
}

/// Fetches checkpoint `name`'s newest log from the store `url` into `to` as a run does
/// (streamed, checked against its commit, synced) and returns how long the fetch took.
pub fn fetch_file(url: &str, name: &str, to: &Path) -> Result<Duration, Error> {
    runtime().block_on(async {
        let mut client = Client::open(url, name)?;
        let newest = client.newest().await?.ok_or_else(|| Error::Store {
            url: url.to_owned(),
            name: name.to_owned(),
            action: "fetch",
            problem: "it holds no checkpoint".into(),
        })?;
        let started = Instant::now();
        client.download(&newest, to).await?;
        Ok(started.elapsed())
    })
}

fn runtime() -> tokio::runtime::Runtime {
    client::runtime().expect("a current-thread runtime starts")
}
