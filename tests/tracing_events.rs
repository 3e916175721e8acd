//! The `tracing` feature (on for this package): with a subscriber set, the runtime's messages
//! are events in it, with their fields, and nothing goes to stderr; before one is set, they
//! are the stderr lines (as in the package's other tests, which read them).
//!
//! The runs happen in a child process (this binary's ignored `child` test) so that its stderr
//! can be read; the child checks the events it recorded itself.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use resumable::resumable;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// An event as recorded: its level, target and fields (the message as `message`).
#[derive(Debug, Clone)]
struct Recorded {
    level: Level,
    target: String,
    fields: BTreeMap<String, String>,
}

impl Recorded {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

static EVENTS: Mutex<Vec<Recorded>> = Mutex::new(Vec::new());

/// Records every event; spans are not used by the runtime.
struct Recorder;

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        EVENTS.lock().unwrap().push(Recorded {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields,
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[resumable(every = 10, name = "traced", key = ())]
fn count(n: u64, panic_at: Option<u64>) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i * i;
    }
    sum
}

#[resumable(every = 10, name = "traced-early", key = ())]
fn early(panic_at: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..10 {
        if i == panic_at {
            panic!("injected early failure at {i}");
        }
        sum += i;
    }
    sum
}

#[resumable(every = 10, name = "traced-fallible", key = ())]
fn fallible(n: u64) -> Result<u64, resumable::Error> {
    let mut sum = 0u64;
    for i in 0..n {
        sum += i;
    }
    Ok(sum)
}

fn events(event: &str) -> Vec<Recorded> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|recorded| recorded.field("event") == Some(event))
        .cloned()
        .collect()
}

#[test]
#[ignore = "run by the test below, in a process of its own"]
fn child() {
    // No subscriber yet: the stderr line (read by the parent).
    assert!(catch_unwind(|| early(3)).is_err());
    tracing::subscriber::set_global_default(Recorder).unwrap();
    let dir = PathBuf::from(std::env::var_os("RESUMABLE_DIR").unwrap());

    // A failure at 37 saves there: `saved` events with their bytes and duration, then the
    // save after the failure; the second run resumes at 37.
    assert!(catch_unwind(AssertUnwindSafe(|| count(100, Some(37)))).is_err());
    let saved = events("saved");
    let indexes: Vec<&str> = saved.iter().filter_map(|e| e.field("index")).collect();
    assert_eq!(indexes, ["10", "20", "30", "37"], "{saved:?}");
    for event in &saved {
        assert_eq!(event.level, Level::DEBUG);
        assert_eq!(event.field("name"), Some("count"), "{event:?}");
        assert_eq!(event.target, "resumable");
        let bytes: u64 = event.field("bytes").unwrap().parse().unwrap();
        assert!(bytes > 0, "{event:?}");
        let ms: f64 = event.field("duration_ms").unwrap().parse().unwrap();
        assert!(ms >= 0.0, "{event:?}");
        assert!(event.field("path").unwrap().ends_with("traced.ckpt"));
    }
    let on_failure = events("saved_on_failure");
    assert_eq!(on_failure.len(), 1, "{on_failure:?}");
    assert_eq!(on_failure[0].level, Level::INFO);
    assert_eq!(on_failure[0].field("index"), Some("37"));
    assert_eq!(on_failure[0].field("name"), Some("count"));

    assert_eq!(count(100, None), (0..100u64).map(|i| i * i).sum::<u64>());
    let resumed = events("resumed");
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    let resumed = &resumed[0];
    assert_eq!(resumed.level, Level::INFO);
    assert_eq!(resumed.field("name"), Some("count"));
    assert_eq!(resumed.field("index"), Some("37"));
    assert_eq!(
        resumed.field("path").map(PathBuf::from),
        Some(dir.join("traced.ckpt"))
    );
    // The message is the stderr line without its `resumable: ` prefix.
    let message = resumed.field("message").unwrap();
    assert!(
        message.starts_with("resuming count at iteration 37"),
        "{message}"
    );

    // A checkpoint that cannot be loaded: the program gets the error, and a `refused` event
    // at ERROR says it too; the file is left as it was.
    let file = dir.join("traced-fallible.ckpt");
    std::fs::write(&file, b"not a checkpoint at all").unwrap();
    let err = fallible(50).unwrap_err();
    let refused = events("refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].level, Level::ERROR);
    assert_eq!(refused[0].field("name"), Some("fallible"));
    let message = refused[0].field("message").unwrap();
    assert!(message.contains("traced-fallible.ckpt"), "{message}");
    assert!(
        message.contains(&err.to_string()),
        "{message} does not say {err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"not a checkpoint at all");
}

#[test]
fn the_messages_are_events_with_fields_and_stderr_stays_quiet() {
    let dir = std::env::temp_dir().join(format!("resumable-tracing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--ignored", "--nocapture"])
        .env("RESUMABLE_DIR", &dir)
        .env_remove("RESUMABLE_QUIET")
        .env_remove("RESUMABLE_STORE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "the child failed:\n{stderr}");
    // Before the subscriber: the runtime's line on stderr.
    let (before, after) = stderr
        .split_once("resumable: a panic in iteration 3; saved checkpoint")
        .unwrap_or_else(|| panic!("no stderr line before the subscriber was set:\n{stderr}"));
    assert!(before.contains("injected early failure at 3"), "{stderr}");
    // After it, the panic's own message is the program's; the runtime's lines are events.
    assert!(after.contains("injected failure at 37"), "{stderr}");
    let after = after.split_once('\n').map_or("", |(_, rest)| rest);
    assert!(!after.contains("resumable:"), "{after}");
    assert!(!after.contains("resuming"), "{after}");
}
