//! A 200 MB checkpoint log to and from an S3 server, through resumable's upload and fetch (the
//! calls a run makes: `__private::upload_file` / `fetch_file`) beside bare `object_store` calls
//! on the same bytes and the same server, alternating, medians of `ROUNDS`:
//!
//! - upload: ours (8 MiB parts read from the file one at a time, sent one after another, then
//!   a commit) against `put_multipart` + `WriteMultipart` of the bytes in memory (8 MiB parts,
//!   sent concurrently);
//! - fetch: ours (streamed into a file, CRC-checked against the commit, `fsync`ed) against a
//!   bare `get` into memory, and a bare `get` streamed into a file and `fsync`ed.
//!
//! Needs a server: `python3 scripts/bench_store.py throughput` starts moto on 127.0.0.1 and
//! runs this with `BENCH_STORE_URL` and the `AWS_*` environment set.

use std::io::Write as _;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, WriteMultipart};

fn main() {
    let Ok(url) = std::env::var("BENCH_STORE_URL") else {
        eprintln!("store_throughput: set BENCH_STORE_URL (scripts/bench_store.py does)");
        return;
    };
    let size_mb: usize = env_number("SIZE_MB", 200);
    let rounds: usize = env_number("ROUNDS", 5);
    let scratch = std::env::temp_dir().join(format!("resumable-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let log = scratch.join("big.ckpt");
    let bytes = pseudo_random(size_mb << 20);
    std::fs::write(&log, &bytes).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let parsed = url::Url::parse(&url).unwrap();
    let store: std::sync::Arc<dyn ObjectStore> = std::sync::Arc::new(
        object_store::aws::AmazonS3Builder::from_env()
            .with_url(url.as_str())
            .build()
            .unwrap(),
    );
    let bare_path = Path::from_url_path(parsed.path())
        .unwrap()
        .join("bare-object");
    let mut times: [Vec<Duration>; 5] = Default::default();
    for round in 0..rounds {
        let name = format!("big-{round}.ckpt");
        // Ours: upload, then fetch into a file.
        times[0].push(resumable::__private::upload_file(&url, &name, &log).unwrap());
        let fetched = scratch.join("fetched.ckpt");
        times[1].push(resumable::__private::fetch_file(&url, &name, &fetched).unwrap());
        assert_eq!(
            std::fs::metadata(&fetched).unwrap().len(),
            bytes.len() as u64
        );
        // Bare object_store on the same bytes.
        runtime.block_on(async {
            let started = Instant::now();
            let upload = store.put_multipart(&bare_path).await.unwrap();
            let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 << 20);
            writer.write(&bytes);
            writer.finish().await.unwrap();
            times[2].push(started.elapsed());

            let started = Instant::now();
            let got = store.get(&bare_path).await.unwrap().bytes().await.unwrap();
            times[3].push(started.elapsed());
            assert_eq!(got.len(), bytes.len());
            drop(got);

            let started = Instant::now();
            let into = scratch.join("bare.bin");
            let mut file = std::fs::File::create(&into).unwrap();
            let mut stream = store.get(&bare_path).await.unwrap().into_stream();
            while let Some(chunk) = stream.next().await {
                file.write_all(&chunk.unwrap()).unwrap();
            }
            file.sync_all().unwrap();
            times[4].push(started.elapsed());
            store.delete(&bare_path).await.unwrap();
        });
        remove_prefix(&runtime, &store, &parsed, &name);
    }
    let mb = size_mb as f64 * 1.048_576;
    let median = |runs: &mut Vec<Duration>| {
        runs.sort();
        runs[runs.len() / 2]
    };
    let [ours_up, ours_fetch, bare_up, bare_get, bare_file] = times.each_mut().map(median);
    let rate = |took: Duration| mb / took.as_secs_f64();
    println!("{size_mb} MiB log, {rounds} alternating rounds, medians:");
    for (what, took) in [
        ("upload, ours", ours_up),
        ("put_multipart + WriteMultipart, bare", bare_up),
        ("fetch into a file, ours", ours_fetch),
        ("get into memory, bare", bare_get),
        ("get into a file + fsync, bare", bare_file),
    ] {
        println!(
            "  {what:<38} {:>8.0} ms  {:>6.0} MB/s",
            took.as_secs_f64() * 1e3,
            rate(took)
        );
    }
    println!(
        "  upload: ours at {:.0}% of bare; fetch: ours at {:.0}% of a bare get into memory, \
         {:.0}% of a bare get into a file",
        100.0 * bare_up.as_secs_f64() / ours_up.as_secs_f64(),
        100.0 * bare_get.as_secs_f64() / ours_fetch.as_secs_f64(),
        100.0 * bare_file.as_secs_f64() / ours_fetch.as_secs_f64(),
    );
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// Removes everything under `<prefix>/<name>/` (our upload's objects, commits and lease).
fn remove_prefix(
    runtime: &tokio::runtime::Runtime,
    store: &std::sync::Arc<dyn ObjectStore>,
    url: &url::Url,
    name: &str,
) {
    runtime.block_on(async {
        let root = Path::from_url_path(url.path()).unwrap().join(name);
        let mut listed = store.list(Some(&root));
        let mut paths = Vec::new();
        while let Some(meta) = listed.next().await {
            paths.push(meta.unwrap().location);
        }
        for path in paths {
            store.delete(&path).await.unwrap();
        }
    });
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Bytes no store or transport could compress (xorshift).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}
