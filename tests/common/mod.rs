//! Helpers shared by the integration tests (each declares `mod common;`): panic messages,
//! checkpoint paths, scratch directories, the example binaries, a seeded PRNG, and the probe
//! program (`tests/programs/probe.rs`) run as a child process whose stderr is read as it comes.

// Every test binary compiles this whole module but uses only some of it.
#![allow(dead_code)]

use std::any::Any;
use std::fmt::Debug;
use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::process::ExitStatusExt as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------------
// Panics

/// Runs `f`, which must panic, and returns its panic message.
pub fn panic_of<R: Debug>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => panic!("expected a panic, got {value:?}"),
        Err(payload) => panic_message(payload),
    }
}

/// The message of a panic payload (`panic!` makes it a `String` or a `&str`).
pub fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else {
        "<a panic payload that is not a string>".to_owned()
    }
}

/// Takes the count of loop bodies run since the last call.
pub fn take(counter: &AtomicU64) -> u64 {
    counter.swap(0, SeqCst)
}

// ---------------------------------------------------------------------------------------------
// Checkpoint paths of `#[resumable]` functions run in the test process

/// Where the function with checkpoint `name` keeps it (the package root is the cwd).
pub fn checkpoint(name: &str) -> PathBuf {
    Path::new(".resumable").join(format!("{name}.ckpt"))
}

/// The checkpoint file of `name` in `dir`: `<name>.ckpt`, or `<name>-<hash of its key>.ckpt`
/// for a function whose default key is its arguments (the only one there); `None` if there is
/// none yet.
pub fn find_checkpoint(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = format!("{name}.ckpt");
    let keyed = format!("{name}-");
    std::fs::read_dir(dir).ok()?.find_map(|entry| {
        let file = entry.ok()?.file_name().into_string().ok()?;
        let hash = file
            .strip_prefix(&keyed)
            .and_then(|rest| rest.strip_suffix(".ckpt"));
        let is_keyed = hash.is_some_and(|hash| {
            hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
        });
        (file == plain || is_keyed).then(|| dir.join(file))
    })
}

/// The previous generation kept beside a checkpoint.
pub fn previous(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".prev");
    PathBuf::from(name)
}

/// The bytes of the newest checkpoint file at `path`: the log, or the `.next` log that has not
/// been moved into place yet (see `resumable/src/store/journal.rs`).
pub fn newest_bytes(path: &Path) -> Option<Vec<u8>> {
    let mut next = path.as_os_str().to_owned();
    next.push(".next");
    std::fs::read(PathBuf::from(next))
        .or_else(|_| std::fs::read(path))
        .ok()
}

/// The checkpoint path of `name`, with any file a previous, interrupted test run left removed
/// (keyed ones too).
pub fn fresh(name: &str) -> PathBuf {
    while let Some(keyed) = find_checkpoint(Path::new(".resumable"), name) {
        resumable::remove(&keyed).unwrap();
        resumable::remove(previous(&keyed)).unwrap();
    }
    let path = checkpoint(name);
    resumable::remove(&path).unwrap();
    resumable::remove(previous(&path)).unwrap();
    let mut next = path.as_os_str().to_owned();
    next.push(".next");
    resumable::remove(PathBuf::from(next)).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------
// Scratch directories

/// A fresh, empty directory for one test: `resumable-<test binary>-<pid>-<test>` under the
/// system temp dir.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "resumable-{}-{}-{test}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A [`scratch`] directory that is removed when the value is dropped, at the end of the test
/// (even one ended by a failed assertion).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        Scratch(scratch(test))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The files in `dir`, sorted; none if there is no `dir`.
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// Child processes

/// The example binary `name`, built first (once per test process) if it is missing or older
/// than this test binary.
///
/// The test binary is `target/<profile>/deps/<test>-<hash>`; examples live in
/// `target/<profile>/examples/<name>`.
pub fn example(name: &str) -> PathBuf {
    static CHECKED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let me = std::env::current_exe().expect("current_exe");
    let profile_dir = me
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let exe = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut checked = CHECKED.lock().unwrap_or_else(|poison| poison.into_inner());
    if checked.iter().any(|done| done == name) {
        return exe;
    }
    let modified = |path: &Path| path.metadata().and_then(|meta| meta.modified()).ok();
    if modified(&exe).is_none() || modified(&exe) < modified(&me) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--example", name, "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
        if profile_dir.file_name().is_some_and(|dir| dir == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build --example {name} failed");
    }
    assert!(exe.exists(), "no example binary at {}", exe.display());
    checked.push(name.to_owned());
    exe
}

/// The iteration a `resuming <function> at iteration K (...)` line names, if there is one.
pub fn resumed_at(stderr: &str, function: &str) -> Option<u64> {
    let prefix = format!("resuming {function} at iteration ");
    let line = stderr.lines().find(|line| line.starts_with(&prefix))?;
    let digits: String = line[prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(digits.parse().unwrap())
}

/// xorshift64*: enough randomness to vary kill times and instants, reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from the environment variable `seed_var` if it is set, from the clock if not; the
    /// seed is printed with how to replay it.
    pub fn from_clock(test: &str, seed_var: &str) -> Rng {
        let seed = match std::env::var(seed_var) {
            Ok(seed) => seed
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{seed_var} must be a u64")),
            Err(_) => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64,
        };
        eprintln!("{test}: seed {seed} (replay with {seed_var}={seed})");
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `low..high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

// ---------------------------------------------------------------------------------------------
// The probe program

/// The probe with `n`, `every`, `delay_us` and `log`, checkpointing into `dir`; `extra`
/// arguments after those. None of the variables that change how it runs is inherited.
pub fn probe(dir: &Path, n: u64, every: u64, delay_us: u64, log: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resumable-probe"));
    command
        .args([n, every, delay_us].map(|arg| arg.to_string()))
        .arg(log)
        .args(extra)
        .env("RESUMABLE_DIR", dir)
        .env_remove("RESUMABLE_RESET")
        .env_remove("RESUMABLE_SIGNALS")
        .env_remove("RESUMABLE_TEST_PAUSE_AT")
        .env_remove("RESUMABLE_TEST_PAUSE_MS");
    command
}

/// The indices a probe run logged, in order.
pub fn read_log(path: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{} ends with a partial line",
        path.display()
    );
    text.lines()
        .map(|line| line.parse().expect("a log line is an index"))
        .collect()
}

/// A running probe whose stderr is read line by line as it comes.
pub struct Probe {
    child: Child,
    lines: Receiver<String>,
    stderr: JoinHandle<String>,
    stdout: JoinHandle<String>,
}

/// How a probe ended.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Probe {
    pub fn spawn(command: &mut Command) -> Probe {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the probe");
        let (send, lines) = channel();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // All of stderr as it came, a last line cut short by a kill included; each whole line
        // also goes to `lines` as soon as it is read.
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            loop {
                let mut line = String::new();
                let read = stderr
                    .read_line(&mut line)
                    .expect("read the probe's stderr");
                all.push_str(&line);
                match line.strip_suffix('\n') {
                    Some(whole) => {
                        let _ = send.send(whole.to_owned());
                    }
                    None if read == 0 => return all,
                    None => {}
                }
            }
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut all = String::new();
            out.read_to_string(&mut all)
                .expect("read the probe's stdout");
            all
        });
        Probe {
            child,
            lines,
            stderr,
            stdout,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the `count`-th stderr line equal to `wanted`; `false` if the probe closed its
    /// stderr (exited) first.
    pub fn wait_for_line(&self, wanted: &str, count: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == wanted => {
                    seen += 1;
                    if seen == count {
                        return true;
                    }
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => return false,
                Err(RecvTimeoutError::Timeout) => panic!("no {wanted:?} line after 60 s"),
            }
        }
    }

    /// Waits for the `count`-th stderr line equal to `wanted`, which must come before the probe
    /// exits.
    pub fn expect_line(&self, wanted: &str, count: u64) {
        assert!(
            self.wait_for_line(wanted, count),
            "the probe exited before {wanted:?}"
        );
    }

    /// Waits until `log` holds at least `lines` lines: the loop is running.
    pub fn wait_for_log(&mut self, log: &Path, lines: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.lines().count() >= lines {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the probe exited ({status}) before logging {lines} lines");
            }
            assert!(Instant::now() < deadline, "no {lines} log lines after 60 s");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGKILL, unless the probe has already exited.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Sends `signal` with `kill(1)`.
    pub fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .args(["-s", &signal.to_string(), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} {} failed", self.pid());
    }

    pub fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn finish(mut self) -> Outcome {
        let status = self.child.wait().expect("wait for the probe");
        Outcome {
            status,
            stdout: self.stdout.join().unwrap(),
            stderr: self.stderr.join().unwrap(),
        }
    }
}

impl Outcome {
    /// The exit status, stdout and stderr, for assertion messages.
    pub fn context(&self) -> String {
        format!(
            "{}\nstdout:\n{}\nstderr:\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    /// Asserts that the process died of `signal`.
    pub fn died_of(&self, signal: i32) -> &Self {
        assert_eq!(
            self.status.signal(),
            Some(signal),
            "did not die of signal {signal}: {}",
            self.context()
        );
        self
    }

    /// Asserts that it succeeded and printed `expected`.
    pub fn succeeded_with(&self, expected: &str) -> &Self {
        assert!(self.status.success(), "failed: {}", self.context());
        assert_eq!(self.stdout, expected, "{}", self.context());
        self
    }

    /// Asserts that nothing was saved because of a signal.
    pub fn saved_nothing(&self) -> &Self {
        assert!(
            !self.stderr.contains("saved checkpoint"),
            "{}",
            self.context()
        );
        self
    }
}

/// The completed-iteration index a checkpoint records, read from its header (the format is
/// documented in resumable/src/format/envelope.rs: a 24-byte fixed header, then the postcard metadata
/// record, whose first two fields are the fingerprint and the index, both varints).
/// `None` if there is no file.
pub fn saved_index(path: &Path) -> Option<u64> {
    resumable::__private::saved_index(path)
}
