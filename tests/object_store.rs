//! Checkpoints on a real S3 server (moto on 127.0.0.1, started and stopped by pid:
//! tests/common/s3.rs), through `examples/squares` run as a program with `RESUMABLE_STORE`: a
//! machine lost mid-run is resumed from the store on another, a finished run leaves nothing
//! there, a store that cannot be reached stops the run before it starts, damaged objects are
//! refused and never loaded, and a store that stops answering never stalls the loop.

mod common;
#[path = "common/s3.rs"]
mod s3;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Rng, Scratch, example, files, resumed_at};
use s3::S3Server;

/// `examples/squares N DELAY_US` with its checkpoints in `dir` and on `store`.
fn squares(dir: &Path, store: &str, env: &[(String, String)], n: u64, delay_us: u64) -> Command {
    let mut command = Command::new(example("squares"));
    command
        .args([n.to_string(), delay_us.to_string()])
        .env("RESUMABLE_DIR", dir)
        .env("RESUMABLE_STORE", store)
        .envs(env.iter().map(|(key, value)| (key, value)))
        .env("RUST_BACKTRACE", "0")
        .env_remove("RESUMABLE_RESET");
    command
}

/// What `squares n` prints when it runs from start to end.
fn uninterrupted(n: u64) -> String {
    let checksum = (0..n).fold(0u64, |sum, i| (sum + (i * i) % 1_000_003) % 1_000_003);
    format!("{n} {checksum}")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

/// Runs `command` to its end, failing the test after `limit`.
fn run(command: &mut Command, limit: Duration) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn squares");
    let started = Instant::now();
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(output) => output.expect("wait for squares"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!(
                "squares did not end within {limit:?} (started {:?} ago)",
                started.elapsed()
            );
        }
    }
}

/// Starts squares and SIGKILLs it once the store holds a checkpoint and `after` more passed.
fn killed_after_an_upload(mut command: Command, server: &S3Server, prefix: &str, after: Duration) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn squares");
    let started = Instant::now();
    while !server
        .list_keys()
        .iter()
        .any(|key| key.starts_with(prefix) && key.contains("/commits/"))
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "squares ended before any upload"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no commit on the store in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(after);
    child.kill().unwrap();
    child.wait().unwrap();
}

fn keys_under(server: &S3Server, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = server
        .list_keys()
        .into_iter()
        .filter(|key| key.starts_with(prefix))
        .collect();
    keys.sort();
    keys
}

#[test]
fn a_lost_machine_is_resumed_from_the_store_on_another() {
    let server = S3Server::start();
    let env = server.env();
    let store = server.url("jobs");
    let (n, delay_us) = (40_000, 50);
    let mut rng = Rng::from_clock("a_lost_machine", "RESUMABLE_STORE_SEED");
    for round in 0..2 {
        let machine_a = Scratch::new(&format!("lost-a-{round}"));
        let after = Duration::from_millis(rng.range(0, 600));
        killed_after_an_upload(
            squares(&machine_a.0, &store, &env, n, delay_us),
            &server,
            "jobs/",
            after,
        );
        drop(machine_a); // the machine is gone, and its disk with it
        let machine_b = Scratch::new(&format!("lost-b-{round}"));
        let output = run(
            &mut squares(&machine_b.0, &store, &env, n, delay_us),
            Duration::from_secs(120),
        );
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "round {round}: {stderr}");
        assert_eq!(
            text(&output.stdout),
            uninterrupted(n),
            "round {round}: {stderr}"
        );
        let resumed =
            resumed_at(&stderr, "squares").unwrap_or_else(|| panic!("no resume: {stderr}"));
        assert!(resumed > 0, "round {round}: {stderr}");
        assert!(
            stderr.contains(&format!("fetched from the store {store}")),
            "round {round}: the resume line does not say where it came from: {stderr}"
        );
        // The job finished: nothing of it is left, here or on the store.
        assert_eq!(
            keys_under(&server, "jobs/"),
            Vec::<String>::new(),
            "round {round}"
        );
        assert!(
            files(&machine_b.0)
                .iter()
                .all(|file| !file.contains(".ckpt")),
            "round {round}: {:?}",
            files(&machine_b.0)
        );
    }
}

#[test]
fn a_store_that_cannot_be_reached_stops_the_run_before_it_starts() {
    let server = S3Server::start();
    let mut env = server.env();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (key, value) in &mut env {
        if key == "AWS_ENDPOINT" {
            *value = format!("http://127.0.0.1:{closed}");
        }
    }
    let dir = Scratch::new("unreachable");
    let store = server.url("unreachable");
    let output = run(
        &mut squares(&dir.0, &store, &env, 1_000, 0),
        Duration::from_secs(90),
    );
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("could not reach checkpoint")
            && stderr.contains(&format!("on the store {store}")),
        "{stderr}"
    );
    assert!(text(&output.stdout).is_empty(), "the loop ran: {stderr}");
}

#[test]
fn damaged_objects_on_the_store_are_refused_and_never_loaded() {
    let server = S3Server::start();
    let env = server.env();
    let store = server.url("damaged");
    let (n, delay_us) = (40_000, 50);
    let machine_a = Scratch::new("damaged-a");
    killed_after_an_upload(
        squares(&machine_a.0, &store, &env, n, delay_us),
        &server,
        "damaged/",
        Duration::from_millis(200),
    );
    drop(machine_a);
    let data: Vec<String> = keys_under(&server, "damaged/")
        .into_iter()
        .filter(|key| key.contains("/data/"))
        .collect();
    assert!(!data.is_empty());
    for key in &data {
        let mut bytes = server.get(key).expect("a listed object");
        bytes.truncate(bytes.len() / 2);
        server.put(key, &bytes);
    }
    let before = keys_under(&server, "damaged/");
    let machine_b = Scratch::new("damaged-b");
    let output = run(
        &mut squares(&machine_b.0, &store, &env, n, delay_us),
        Duration::from_secs(90),
    );
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "a damaged log was used: {stderr}");
    assert!(stderr.contains("nothing was loaded"), "{stderr}");
    assert!(text(&output.stdout).is_empty(), "the loop ran: {stderr}");
    // Nothing on the store was removed or replaced, and no part of its log was left here.
    assert_eq!(keys_under(&server, "damaged/"), before);
    assert!(
        files(&machine_b.0)
            .iter()
            .all(|file| !file.contains(".ckpt") || file.ends_with(".lock")),
        "{:?}",
        files(&machine_b.0)
    );
}

#[test]
fn the_loop_goes_on_while_the_store_does_not_answer_and_the_store_catches_up() {
    let server = S3Server::start();
    let env = server.env();
    let store = server.url("outage");
    let n = 30_000;
    let dir = Scratch::new("outage");
    let child = squares(&dir.0, &store, &env, n, 50)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.pause();
    std::thread::sleep(Duration::from_millis(1500));
    server.resume();
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(text(&output.stdout), uninterrupted(n), "{stderr}");
    assert_eq!(
        keys_under(&server, "outage/"),
        Vec::<String>::new(),
        "{stderr}"
    );
}
