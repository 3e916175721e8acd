//! A real S3-compatible server (moto, installed by `scripts/s3_server.sh`) for the
//! object-storage tests, run on 127.0.0.1 and stopped by its pid; and a raw HTTP/1.1 client
//! of it, so tests can see and plant what is on the store without going through the runtime.
//! Standalone and std-only: a test includes it with `#[path = "common/s3.rs"] mod s3;`.

// Every test binary compiles this whole module but uses only some of it.
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a server may take to answer after it is spawned (it takes ~0.5 s when warm).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The timeout of each raw request made by the helpers (`get`, `put`, …).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A running moto server with one empty bucket of its own. Dropping it stops the server.
pub struct S3Server {
    pid: u32,
    port: u16,
    /// `None` once stopped (and reaped).
    child: Option<Child>,
    bucket: String,
    /// The server's stdout and stderr, appended to by every (re)start.
    log: PathBuf,
}

/// The answer to a raw request.
#[derive(Debug)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The headers, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, exactly `Content-Length` bytes.
    pub body: Vec<u8>,
}

impl S3Server {
    /// Installs moto if needed, starts it on a free port and creates a bucket
    /// `test-<pid>-<n>`. Panics (never skips) if moto cannot be installed or started.
    pub fn start() -> S3Server {
        static SERVERS: AtomicU64 = AtomicU64::new(0);
        let n = SERVERS.fetch_add(1, SeqCst);
        let bucket = format!("test-{}-{n}", std::process::id());
        let log = target_dir().join("s3-logs").join(format!("{bucket}.log"));
        std::fs::create_dir_all(log.parent().unwrap()).unwrap();
        // Another process may take the free port before moto binds it: moto then exits, and
        // another port is tried.
        for _ in 0..5 {
            let port = free_port();
            let mut server = S3Server {
                pid: 0,
                port,
                child: None,
                bucket: bucket.clone(),
                log: log.clone(),
            };
            if server.spawn() {
                server.create_bucket();
                return server;
            }
        }
        panic!(
            "moto could not bind a free port 5 times: see {}",
            log.display()
        );
    }

    /// The server's process id (kept after `stop`, to check that it is gone).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The name of the test's bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a child program, or object_store's `AmazonS3Builder::from_env`, needs
    /// to reach the server (moto accepts any credentials).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// `s3://<bucket>/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// Kills the server (SIGKILL, which also ends a paused one; moto has nothing to flush)
    /// and reaps it. Does nothing if it is already stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill the S3 server");
            child.wait().expect("reap the S3 server");
        }
    }

    /// Stops the server and starts a new one on the same port, with the bucket re-created
    /// empty: moto keeps its state in memory, so every object is lost. A test of an outage
    /// that must find its objects again uses `pause` / `resume` instead.
    pub fn restart(&mut self) {
        self.stop();
        assert!(self.spawn(), "moto could not bind port {} again", self.port);
        self.create_bucket();
    }

    /// Stops the server's process (SIGSTOP) and waits until it is stopped: connections are
    /// still accepted by the kernel but never answered, until `resume`. Objects are kept.
    pub fn pause(&self) {
        self.signal("-STOP");
        let deadline = Instant::now() + Duration::from_secs(5);
        while process_state(self.pid) != Some('T') {
            assert!(Instant::now() < deadline, "the S3 server did not stop");
            sleep(Duration::from_millis(5));
        }
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// The keys of the bucket's objects, in S3's (lexicographic) order.
    pub fn list_keys(&self) -> Vec<String> {
        let target = format!("/{}?list-type=2&max-keys=1000", self.bucket);
        let response = self.expect_status("GET", &target, &[], b"", 200);
        let xml = String::from_utf8(response.body).expect("a listing in UTF-8");
        assert!(
            !xml.contains("<IsTruncated>true</IsTruncated>"),
            "more than 1000 objects: list_keys reads one page"
        );
        xml.split("<Key>")
            .skip(1)
            .map(|rest| unescape_xml(&rest[..rest.find("</Key>").expect("a closed <Key>")]))
            .collect()
    }

    /// The bytes of object `key`, or `None` if there is none.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let response = self.request_or_panic("GET", &self.key_path(key), &[], b"");
        match response.status {
            200 => Some(response.body),
            404 => None,
            status => panic!("GET {key}: status {status}: {}", text(&response.body)),
        }
    }

    /// Writes object `key` (replacing it): for tests that plant objects, hostile ones too.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        self.expect_status("PUT", &self.key_path(key), &[], bytes, 200);
    }

    /// Deletes object `key` (S3 answers 204 whether or not it was there).
    pub fn delete(&self, key: &str) {
        self.expect_status("DELETE", &self.key_path(key), &[], b"", 204);
    }

    /// The request target of object `key`: `/<bucket>/<key>`, percent-encoded.
    pub fn key_path(&self, key: &str) -> String {
        let mut path = format!("/{}/", self.bucket);
        for byte in key.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
                path.push(byte as char);
            } else {
                path.push_str(&format!("%{byte:02X}"));
            }
        }
        path
    }

    /// Sends one raw HTTP/1.1 request (`target` is a path and query) and reads the whole
    /// answer; `timeout` bounds the connect and each read and write. Moto refuses unsigned
    /// requests on existing objects (403), and any `Authorization` header passes, so one is
    /// sent; so is a binary `Content-Type`, without which moto's web framework would read a
    /// body like `a=b` as a form and store an empty object.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout: Duration,
    ) -> io::Result<Response> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&address, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Length: {}\r\nContent-Type: application/octet-stream\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=0\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        parse_response(raw)
    }

    /// `request` with the helpers' timeout, panicking if the server does not answer.
    fn request_or_panic(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.request(method, target, headers, body, REQUEST_TIMEOUT)
            .unwrap_or_else(|error| panic!("{method} {target}: {error}{}", self.log_tail()))
    }

    /// `request_or_panic`, asserting the status.
    fn expect_status(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        status: u16,
    ) -> Response {
        let response = self.request_or_panic(method, target, headers, body);
        assert_eq!(
            response.status,
            status,
            "{method} {target}: {}",
            text(&response.body)
        );
        response
    }

    fn create_bucket(&self) {
        self.expect_status("PUT", &format!("/{}", self.bucket), &[], b"", 200);
    }

    /// Spawns moto on `self.port` and waits until it answers; false if it exited first (the
    /// port was taken). Readiness is moto's own "Running on" line, not just an answer on the
    /// port, which another test's server could give.
    fn spawn(&mut self) -> bool {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        // Only this run's part of the log counts: a restart appends to the last one's.
        let log_start = log.metadata().unwrap().len() as usize;
        let this_run = || {
            let log = std::fs::read(&self.log).unwrap_or_default();
            text(log.get(log_start..).unwrap_or_default())
        };
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn moto_server");
        self.pid = child.id();
        self.child = Some(child);
        let banner = format!("Running on http://127.0.0.1:{}", self.port);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let child = self.child.as_mut().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                assert!(
                    this_run().contains("Address already in use"),
                    "moto_server exited ({status}){}",
                    self.log_tail()
                );
                return false;
            }
            if this_run().contains(&banner)
                && self
                    .request("GET", "/", &[], b"", Duration::from_secs(1))
                    .is_ok()
            {
                return true;
            }
            if Instant::now() > deadline {
                self.stop();
                panic!(
                    "moto_server did not answer within {START_TIMEOUT:?}{}",
                    self.log_tail()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to a running server with the `kill` command.
    fn signal(&self, signal: &str) {
        assert!(self.child.is_some(), "the S3 server is stopped");
        let status = Command::new("kill")
            .args([signal, &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {}: {status}", self.pid);
    }

    /// The end of the server's log, to append to a panic message.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("\n--- {} (end) ---\n{tail}", self.log.display())
    }
}

impl Drop for S3Server {
    /// Stops the server; keeps its log only if the test is failing.
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The repository's `target/`, where the venv, its lock file and the logs live.
fn target_dir() -> PathBuf {
    workspace_root().join("target")
}

/// The workspace's root, where `scripts/` is: this package's directory or one above it (the
/// command's crate includes this file too).
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("scripts/s3_server.sh").exists())
        .expect("scripts/s3_server.sh in this package's directory or above it")
}

/// The path of `moto_server`, installed once per process by `scripts/s3_server.sh install`;
/// a lock file keeps test binaries run at the same time from installing it together.
fn moto_server() -> &'static Path {
    static MOTO_SERVER: OnceLock<PathBuf> = OnceLock::new();
    MOTO_SERVER.get_or_init(|| {
        std::fs::create_dir_all(target_dir()).unwrap();
        let lock = File::create(target_dir().join("s3-venv.lock")).unwrap();
        lock.lock().expect("lock target/s3-venv.lock");
        let script = workspace_root().join("scripts/s3_server.sh");
        let output = Command::new(&script)
            .arg("install")
            .output()
            .expect("run scripts/s3_server.sh");
        assert!(
            output.status.success(),
            "could not install moto, the S3 server of the object-storage tests \
             (it needs PyPI). Install it by hand with `scripts/s3_server.sh install`.\n{}",
            text(&output.stderr)
        );
        PathBuf::from(text(&output.stdout).trim())
    })
}

/// The state letter of process `pid` (`T`: stopped), from `/proc/<pid>/stat`, where it
/// follows the parenthesised command name.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// Splits a whole HTTP/1.1 answer into status, headers and body; an error if it is cut
/// short of its `Content-Length`.
fn parse_response(raw: Vec<u8>) -> io::Result<Response> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| invalid("headers not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_owned(), value.trim().to_owned()))
        .collect();
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_str())
    };
    // Moto always sends a Content-Length; a chunked answer would need decoding.
    if header("Transfer-Encoding").is_some() {
        return Err(invalid("a Transfer-Encoding answer"));
    }
    let body = raw[end + 4..].to_vec();
    if let Some(length) = header("Content-Length")
        && length.parse() != Ok(body.len())
    {
        let read = body.len();
        return Err(invalid(&format!(
            "Content-Length {length}, {read} bytes read"
        )));
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Undoes XML's escapes in a listed key (`&amp;` last, so `&amp;lt;` stays `&lt;`).
fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&amp;", "&")
}

/// Bytes as text, for messages.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
