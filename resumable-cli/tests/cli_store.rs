//! The `resumable` command given a store URL, against a real S3 server (moto on 127.0.0.1,
//! started and stopped by pid: tests/common/s3.rs). The checkpoints are left by real runs: this
//! test binary runs its own `child` test as a separate process, with `RESUMABLE_STORE` and
//! `RESUMABLE_DIR` in its environment, and the run stops by a panic (which saves and uploads
//! its last checkpoint) or is killed.
#![cfg(feature = "object-store")]

#[path = "../../tests/common/s3.rs"]
mod s3;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use resumable::resumable;
use s3::S3Server;

/// The loop the child runs: `n` squares, one every `delay_ms`, a panic at `panic_at`.
#[resumable(every = 5, name = "cli-store", append(results), key = ())]
fn squares(n: u64, delay_ms: u64, panic_at: Option<u64>) -> (Vec<u64>, u64) {
    let mut results = Vec::new();
    let mut total = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        results.push(i * i);
        total += i;
    }
    (results, total)
}

fn uninterrupted(n: u64) -> String {
    let results: Vec<u64> = (0..n).map(|i| i * i).collect();
    let total: u64 = (0..n).sum();
    format!("{} {} {total}", results.len(), results.iter().sum::<u64>())
}

/// Run as a child process only (see the module docs): `CHILD_N`, `CHILD_DELAY_MS` and
/// `CHILD_PANIC_AT` say what to run; prints `result <len> <sum> <total>`.
#[test]
#[ignore = "a child process of the other tests, which set its environment"]
fn child() {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let n = number("CHILD_N").expect("CHILD_N");
    let (results, total) = squares(
        n,
        number("CHILD_DELAY_MS").unwrap_or(0),
        number("CHILD_PANIC_AT"),
    );
    println!(
        "result {} {} {total}",
        results.len(),
        results.iter().sum::<u64>()
    );
}

struct Machine {
    dir: PathBuf,
}

impl Machine {
    fn new(name: &str) -> Machine {
        let dir =
            std::env::temp_dir().join(format!("resumable-cli-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Machine { dir }
    }

    /// The child run on this machine; `store` none for a run without one.
    fn run(&self, server: &S3Server, store: Option<&str>, vars: &[(&str, u64)]) -> Command {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RESUMABLE_DIR", &self.dir)
            .env("RESUMABLE_STORE_LEASE", "2")
            .env("RUST_BACKTRACE", "0")
            .env_remove("RESUMABLE_RESET")
            .env_remove("RESUMABLE_STORE")
            .envs(server.env())
            .envs(vars.iter().map(|(name, value)| (*name, value.to_string())));
        if let Some(url) = store {
            command.env("RESUMABLE_STORE", url);
        }
        command
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn finished(child: Child) -> Output {
    let output = child.wait_with_output().unwrap();
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn spawned(command: &mut Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `resumable ARGS` with the server's environment, `RESUMABLE_DIR` and `RESUMABLE_STORE` unset.
fn cli(server: &S3Server, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable"));
    command
        .args(args)
        .env_remove("RESUMABLE_DIR")
        .env_remove("RESUMABLE_STORE")
        .env("RESUMABLE_STORE_LEASE", "2")
        .envs(server.env());
    finished(spawned(&mut command))
}

/// The `list` row of checkpoint `name`, split at runs of two or more spaces.
fn row(listing: &str, name: &str) -> Vec<String> {
    let line = listing
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{listing}"));
    line.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The output of a `--json` command, parsed.
fn json(output: &Output) -> serde_json::Value {
    assert_eq!(output.code, 0, "{}", output.stderr);
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}):\n{}", output.stdout))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn local_log(dir: &Path) -> PathBuf {
    dir.join("cli-store.ckpt")
}

#[test]
fn list_show_and_reset_a_checkpoint_on_the_store() {
    let server = S3Server::start();
    let url = server.url("jobs");
    let a = Machine::new("a");

    // Nothing there yet.
    let empty = cli(&server, &["list", &url]);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    assert!(
        empty.stdout.contains("no checkpoints on the store"),
        "{}",
        empty.stdout
    );

    // A run stops by a panic at 40: its checkpoint at 40 is saved and uploaded before it ends.
    let stopped = finished(spawned(&mut a.run(
        &server,
        Some(&url),
        &[("CHILD_N", 100), ("CHILD_PANIC_AT", 40)],
    )));
    assert_ne!(
        stopped.code, 0,
        "the child was to panic: {}",
        stopped.stdout
    );
    let listed = cli(&server, &["list", &url]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let cells = row(&listed.stdout, "cli-store");
    assert_eq!(cells[1], "40", "{}", listed.stdout);
    assert!(cells[5].starts_with("released by "), "{}", listed.stdout);
    assert_eq!(cells[6], "ok", "{}", listed.stdout);
    // The same as JSON; `check` finds nothing damaged.
    let listing = json(&cli(&server, &["list", "--json", "--dir", &url]));
    assert_eq!(
        (&listing["kind"], &listing["location"]),
        (&"store".into(), &url.as_str().into())
    );
    assert_eq!(listing["set_aside"], serde_json::json!([]));
    let entry = &listing["checkpoints"][0];
    assert_eq!(
        listing["checkpoints"].as_array().unwrap().len(),
        1,
        "{listing:#}"
    );
    assert_eq!(entry["name"], "cli-store");
    assert_eq!(entry["index"], 40);
    assert!(entry["size"].as_u64().unwrap() > 0, "{entry:#}");
    assert!(entry["generation"].as_u64().unwrap() >= 1, "{entry:#}");
    assert!(
        entry["saved_at_ms"].as_u64().unwrap() > 1_700_000_000_000,
        "{entry:#}"
    );
    assert_eq!(
        (&entry["health"], &entry["ok"]),
        (&"ok".into(), &true.into())
    );
    assert_eq!(
        (&entry["damaged"], &entry["damaged_commits"]),
        (&false.into(), &serde_json::json!([]))
    );
    assert_eq!(entry["lease"]["state"], "released");
    assert!(entry["lease"]["holder"].is_string(), "{entry:#}");
    let shown = json(&cli(
        &server,
        &["show", "cli-store", "--json", "--dir", &url],
    ));
    assert_eq!(shown["index"], 40);
    assert_eq!(shown["location"], url.as_str());
    assert_eq!(shown["log"]["index"], 40, "{shown:#}");
    assert_eq!(
        shown["log"]["files"][0]["records"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["index"],
        40
    );
    let checked = cli(&server, &["check", "--dir", &url]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.stdout.starts_with("cli-store: ok\n"),
        "{}",
        checked.stdout
    );

    // `show` on the store: the commit, and the records of its log fetched and checked.
    let shown = cli(&server, &["show", "cli-store", "--dir", &url]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    for expected in [
        "index 40, saved",
        "generation",
        "== results",
        "records of",
        "released by",
    ] {
        assert!(
            shown.stdout.contains(expected),
            "{expected}:\n{}",
            shown.stdout
        );
    }
    assert!(
        !shown.stdout.contains("then: damaged"),
        "the fetched log reads whole:\n{}",
        shown.stdout
    );

    // The local checkpoint is the store's: nothing behind.
    let dir = a.dir.to_str().unwrap();
    let lag = cli(
        &server,
        &["show", "cli-store", "--dir", dir, "--store", &url],
    );
    assert_eq!(lag.code, 0, "{}", lag.stderr);
    assert!(lag.stdout.contains("0 iterations behind"), "{}", lag.stdout);
    let lag = json(&cli(
        &server,
        &["show", "cli-store", "--json", "--dir", dir, "--store", &url],
    ));
    assert_eq!(lag["store"]["location"], url.as_str());
    assert_eq!(
        (&lag["store"]["behind"], &lag["store"]["error"]),
        (&0.into(), &serde_json::Value::Null)
    );
    assert_eq!(lag["store"]["checkpoint"]["index"], 40);

    // A run without the store goes on locally to 70: the store is 30 iterations behind it.
    let local_only = finished(spawned(&mut a.run(
        &server,
        None,
        &[("CHILD_N", 100), ("CHILD_PANIC_AT", 70)],
    )));
    assert_ne!(local_only.code, 0, "{}", local_only.stdout);
    let lag = cli(
        &server,
        &["show", "cli-store", "--dir", dir, "--store", &url],
    );
    assert!(lag.stdout.contains("index 40"), "{}", lag.stdout);
    assert!(
        lag.stdout.contains("30 iterations behind"),
        "{}",
        lag.stdout
    );

    // While a run holds the lease (beating), `reset` is refused naming it, and `list` says
    // who holds it.
    let b = Machine::new("b");
    let mut holder = spawned(&mut b.run(
        &server,
        Some(&url),
        &[("CHILD_N", 100_000), ("CHILD_DELAY_MS", 20)],
    ));
    wait_until("the second run resumed and saved", || {
        std::fs::metadata(local_log(&b.dir)).is_ok_and(|meta| meta.len() > 0)
    });
    let held = cli(&server, &["list", &url]);
    let cells = row(&held.stdout, "cli-store");
    assert!(cells[5].starts_with("held by "), "{}", held.stdout);
    let lease = &json(&cli(&server, &["list", "--json", "--dir", &url]))["checkpoints"][0]["lease"];
    assert_eq!(lease["state"], "held", "{lease:#}");
    assert!(
        lease["holder"]
            .as_str()
            .unwrap()
            .contains(&format!("process {}", holder.id())),
        "{lease:#}"
    );
    assert!(lease["beat_ago_ms"].as_u64().unwrap() < lease["expiry_ms"].as_u64().unwrap());
    assert!(
        cells[5].contains(&format!("process {}", holder.id())),
        "{}",
        held.stdout
    );
    let refused = cli(&server, &["reset", "cli-store", "--dir", &url]);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("in use by another run")
            && refused.stderr.contains(&format!("process {}", holder.id())),
        "{}",
        refused.stderr
    );

    // Once the holder is gone and its lease expired, `reset` goes through: the store holds
    // no checkpoint, and a new machine's run starts over and gives the uninterrupted result.
    holder.kill().unwrap();
    holder.wait().unwrap();
    std::thread::sleep(Duration::from_millis(2_500));
    let reset = cli(&server, &["reset", "cli-store", "--dir", &url]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert!(reset.stdout.contains("is reset"), "{}", reset.stdout);
    let after = cli(&server, &["list", &url]);
    let cells = row(&after.stdout, "cli-store");
    assert_eq!(cells[1], "-", "{}", after.stdout);
    let shown = cli(&server, &["show", "cli-store", "--dir", &url]);
    assert!(
        shown.stdout.contains("newest      none"),
        "{}",
        shown.stdout
    );

    let c = Machine::new("c");
    let fresh = finished(spawned(&mut c.run(
        &server,
        Some(&url),
        &[("CHILD_N", 100)],
    )));
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    assert!(
        !fresh.stderr.contains("resuming"),
        "the reset checkpoint was loaded: {}",
        fresh.stderr
    );
    let result = fresh
        .stdout
        .lines()
        .find_map(|line| line.split_once("result ").map(|(_, result)| result))
        .unwrap_or_else(|| panic!("no result in {}", fresh.stdout));
    assert_eq!(result, uninterrupted(100));
}

#[test]
fn a_store_that_cannot_be_reached_or_a_name_it_does_not_have_is_an_error() {
    let server = S3Server::start();
    let url = server.url("jobs");
    let missing = cli(&server, &["show", "nothing-here", "--dir", &url]);
    assert_ne!(missing.code, 0);
    assert!(
        missing
            .stderr
            .contains("no checkpoint named nothing-here on the store"),
        "{}",
        missing.stderr
    );
    let mut down = S3Server::start();
    let down_url = down.url("jobs");
    down.stop();
    let unreachable = cli(&down, &["list", &down_url]);
    assert_ne!(unreachable.code, 0, "{}", unreachable.stdout);
    assert!(
        unreachable.stderr.contains(&down_url),
        "the error names the store: {}",
        unreachable.stderr
    );
}
