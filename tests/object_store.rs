//! Checkpoints on a real S3 server (moto on 127.0.0.1, started and stopped by pid:
//! tests/common/s3.rs), through `examples/squares` run as a program with `RESUMABLE_STORE`: a
//! machine lost mid-run is resumed from the store on another, a finished run leaves nothing
//! there, a store that cannot be reached stops the run before it starts, damaged objects are
//! refused and never loaded, and a store that stops answering never stalls the loop.

mod common;
#[path = "common/s3.rs"]
mod s3;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
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
    let child = spawned(command);
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

/// Waits until `done`, failing the test after 30 s with `what` did not happen.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `command` started with its output piped, to be read by `wait_with_output`.
fn spawned(command: &mut Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn squares")
}

/// Sends SIGTERM to `child` and waits for it to end; returns its stderr and the iteration its
/// last checkpoint was saved at (its "SIGTERM: squares saved checkpoint … at iteration N" line).
fn terminate(child: Child) -> (String, u64) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let stderr = text(&child.wait_with_output().unwrap().stderr);
    let saved = stderr
        .lines()
        .find(|line| line.contains("SIGTERM: squares saved checkpoint"))
        .and_then(|line| line.split(" at iteration ").nth(1))
        .and_then(|rest| rest.split(';').next())
        .and_then(|index| index.trim().parse().ok())
        .unwrap_or_else(|| panic!("no saved checkpoint in: {stderr}"));
    (stderr, saved)
}

/// Runs `squares n` to its end: it resumes at `saved` and prints the uninterrupted result.
fn finishes_from(command: &mut Command, saved: u64, n: u64) {
    let output = run(command, Duration::from_secs(120));
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(resumed_at(&stderr, "squares"), Some(saved), "{stderr}");
    assert_eq!(text(&output.stdout), uninterrupted(n), "{stderr}");
}

/// A machine (a directory of its own, `test`) runs `squares n` until the store holds a
/// checkpoint with data (`keys` lists the store's names; the first commit is the run's fence
/// over nothing) and `after` more passed, then is lost: SIGKILL, and its directory deleted.
fn a_machine_lost_after_an_upload(
    test: &str,
    (store, env): (&str, &[(String, String)]),
    (n, delay_us): (u64, u64),
    keys: impl Fn() -> Vec<String>,
    after: Duration,
) {
    let machine = Scratch::new(test);
    let mut child = squares(&machine.0, store, env, n, delay_us)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn squares");
    wait_until("no commit with data on the store", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "squares ended before any upload"
        );
        let keys = keys();
        let commits = keys.iter().filter(|key| key.contains("/commits/")).count();
        commits >= 2 && keys.iter().any(|key| key.contains("/data/"))
    });
    std::thread::sleep(after);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(machine); // the machine is gone, and its disk with it
}

/// What a finished job may leave on the store: one empty commit that says it finished, and
/// the lease's few bytes. No data object, no other commit.
fn assert_finished(server: &S3Server, prefix: &str, context: &str) {
    let keys = keys_under(server, prefix);
    let data = keys.iter().filter(|key| key.contains("/data/")).count();
    let commits = keys.iter().filter(|key| key.contains("/commits/")).count();
    assert!(data == 0 && commits == 1, "{context}: {keys:?}");
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
        let after = Duration::from_millis(rng.range(0, 600));
        a_machine_lost_after_an_upload(
            &format!("lost-a-{round}"),
            (&store, &env),
            (n, delay_us),
            || keys_under(&server, "jobs/"),
            after,
        );
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
        assert_finished(&server, "jobs/", &format!("round {round}"));
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
    a_machine_lost_after_an_upload(
        "damaged-a",
        (&store, &env),
        (n, delay_us),
        || keys_under(&server, "damaged/"),
        Duration::from_millis(200),
    );
    let data: Vec<String> = keys_under(&server, "damaged/")
        .into_iter()
        .filter(|key| key.contains("/data/"))
        .collect();
    assert!(!data.is_empty());
    let mut damaged_lengths = std::collections::HashMap::new();
    for key in &data {
        let mut bytes = server.get(key).expect("a listed object");
        bytes.truncate(bytes.len() / 2);
        server.put(key, &bytes);
        damaged_lengths.insert(key.clone(), bytes.len());
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
    // Nothing on the store was removed or replaced (the second run took the lease and
    // fenced, which adds objects), and no part of its log was left here.
    let after = keys_under(&server, "damaged/");
    for key in &before {
        assert!(after.contains(key), "{key} was removed: {after:?}");
    }
    for key in &data {
        let bytes = server.get(key).expect("kept");
        assert_eq!(bytes.len(), damaged_lengths[key], "{key} was replaced");
    }
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
    let child = spawned(&mut squares(&dir.0, &store, &env, n, 50));
    std::thread::sleep(Duration::from_millis(300));
    server.pause();
    std::thread::sleep(Duration::from_millis(1500));
    server.resume();
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(text(&output.stdout), uninterrupted(n), "{stderr}");
    assert_finished(&server, "outage/", &stderr);
}

/// A second run of the job (another machine: another directory, the same store) is refused
/// while the first beats on its lease, naming it; once the first stops beating (SIGSTOP, past
/// the expiry) the second takes over; when the first wakes up it stops with an error at its
/// next save, and the second's result is the uninterrupted one.
#[test]
fn a_second_machine_is_refused_then_takes_over_and_the_old_writer_is_fenced() {
    let server = S3Server::start();
    let mut env = server.env();
    env.push(("RESUMABLE_STORE_LEASE".into(), "2".into()));
    let store = server.url("fenced");
    let (n, delay_us) = (60_000, 50);
    let (dir_a, dir_b) = (Scratch::new("fenced-a"), Scratch::new("fenced-b"));
    let first = spawned(&mut squares(&dir_a.0, &store, &env, n, delay_us));
    wait_until("no upload", || {
        keys_under(&server, "fenced/")
            .iter()
            .any(|key| key.contains("/data/"))
    });
    let refused = run(
        &mut squares(&dir_b.0, &store, &env, n, delay_us),
        Duration::from_secs(60),
    );
    let refusal = text(&refused.stderr);
    assert!(!refused.status.success(), "{refusal}");
    assert!(
        refusal.contains("is in use by another run")
            && refusal.contains(&format!("process {}", first.id())),
        "the refusal does not name the holder: {refusal}"
    );
    assert!(text(&refused.stdout).is_empty(), "{refusal}");
    let pid = first.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_millis(2_500));
    let second = spawned(&mut squares(&dir_b.0, &store, &env, n, delay_us));
    // Let the second take the lease and fence, then wake the first.
    wait_until("no takeover", || {
        keys_under(&server, "fenced/")
            .iter()
            .any(|key| key.ends_with("/lease/00000000000000000002"))
    });
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    let (first_err, second_err) = (text(&first.stderr), text(&second.stderr));
    assert!(
        !first.status.success(),
        "the old writer went on: {first_err}"
    );
    assert!(
        first_err.contains("was taken over by another run"),
        "the old writer does not say why it stopped: {first_err}"
    );
    assert!(second.status.success(), "{second_err}");
    assert_eq!(text(&second.stdout), uninterrupted(n), "{second_err}");
    assert_finished(&server, "fenced/", &second_err);
}

/// SIGTERM (what a preemptible machine gets before it goes): the run saves, puts that last
/// checkpoint on the store before it ends, and another machine resumes exactly there.
#[test]
fn sigterm_puts_the_last_checkpoint_on_the_store_before_the_process_ends() {
    let server = S3Server::start();
    let env = server.env();
    let store = server.url("preempted");
    let (n, delay_us) = (60_000, 50);
    let machine_a = Scratch::new("preempted-a");
    let child = spawned(&mut squares(&machine_a.0, &store, &env, n, delay_us));
    std::thread::sleep(Duration::from_millis(1_200));
    let (stopped_err, saved) = terminate(child);
    assert!(!stopped_err.contains("not on the store"), "{stopped_err}");
    drop(machine_a);
    let machine_b = Scratch::new("preempted-b");
    finishes_from(
        &mut squares(&machine_b.0, &store, &env, n, delay_us),
        saved,
        n,
    );
}

/// SIGTERM while the store does not answer: the stopping run waits for the store only as long
/// as `RESUMABLE_STORE_DEADLINE` says (1 s here; 25 s by default, past the 10 s this allows),
/// says what the store holds, and keeps its checkpoint on this machine, from which the next
/// run resumes exactly where it stopped.
#[test]
fn sigterm_waits_for_a_silent_store_only_until_the_deadline() {
    let server = S3Server::start();
    let env = server.env();
    let store = server.url("deadline");
    let (n, delay_us) = (60_000, 50);
    let dir = Scratch::new("deadline");
    let child =
        spawned(squares(&dir.0, &store, &env, n, delay_us).env("RESUMABLE_STORE_DEADLINE", "1"));
    std::thread::sleep(Duration::from_millis(1_200));
    server.pause();
    let signalled = Instant::now();
    let (stopped_err, saved) = terminate(child);
    let waited = signalled.elapsed();
    server.resume();
    assert!(
        stopped_err.contains("is not on the store"),
        "no warning that the store is behind: {stopped_err}"
    );
    assert!(
        waited < Duration::from_secs(10),
        "the run waited {waited:?} for a store with a 1 s deadline: {stopped_err}"
    );
    finishes_from(&mut squares(&dir.0, &store, &env, n, delay_us), saved, n);
}

/// The same lost machine with a `file://` store (a shared filesystem): object_store's local
/// store creates objects only if absent too.
#[test]
fn a_file_store_resumes_a_lost_machine_too() {
    let shared = Scratch::new("file-store");
    let store = format!("file://{}", shared.path("bucket").display());
    std::fs::create_dir_all(shared.path("bucket")).unwrap();
    let (n, delay_us) = (40_000, 50);
    let bucket = shared.path("bucket");
    a_machine_lost_after_an_upload(
        "file-a",
        (&store, &[]),
        (n, delay_us),
        || walk(&bucket),
        Duration::from_millis(200),
    );
    let machine_b = Scratch::new("file-b");
    let output = run(
        &mut squares(&machine_b.0, &store, &[], n, delay_us),
        Duration::from_secs(120),
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(text(&output.stdout), uninterrupted(n), "{stderr}");
    assert!(
        resumed_at(&stderr, "squares").is_some_and(|at| at > 0),
        "{stderr}"
    );
    assert!(
        stderr.contains("fetched from the store file://"),
        "{stderr}"
    );
}

/// Every file under `dir`, as paths.
fn walk(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// A hostile object where the newest commit should be (garbage under the next generation's
/// name): the run says it cannot be used, leaves it in place, and resumes from the commit
/// before it, with the uninterrupted result.
#[test]
fn a_hostile_newest_commit_is_reported_left_in_place_and_the_one_before_is_used() {
    let server = S3Server::start();
    let env = server.env();
    let store = server.url("hostile");
    let (n, delay_us) = (40_000, 50);
    a_machine_lost_after_an_upload(
        "hostile-a",
        (&store, &env),
        (n, delay_us),
        || keys_under(&server, "hostile/"),
        Duration::from_millis(100),
    );
    let commits: Vec<String> = keys_under(&server, "hostile/")
        .into_iter()
        .filter(|key| key.contains("/commits/"))
        .collect();
    let newest = commits.last().expect("commits");
    let (dir, number) = newest.rsplit_once('/').unwrap();
    let hostile = format!("{dir}/{:020}", number.parse::<u64>().unwrap() + 1);
    server.put(
        &hostile,
        b"RSMCOMMT\x01 not a commit at all, and no checksum",
    );
    let machine_b = Scratch::new("hostile-b");
    let output = run(
        &mut squares(&machine_b.0, &store, &env, n, delay_us),
        Duration::from_secs(120),
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(text(&output.stdout), uninterrupted(n), "{stderr}");
    assert!(
        stderr.contains(&format!("commit {hostile} on the store"))
            && stderr.contains("cannot be used"),
        "{stderr}"
    );
    assert!(
        resumed_at(&stderr, "squares").is_some_and(|at| at > 0),
        "{stderr}"
    );
    assert!(
        keys_under(&server, "hostile/").contains(&hostile),
        "it was removed"
    );
}
