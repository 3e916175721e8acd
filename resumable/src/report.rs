//! What the runtime tells the user: a line on stderr each ("resuming … at iteration …", the
//! warnings), or, with the `tracing` feature and a subscriber in effect, a `tracing` event
//! each, with structured fields, so that a service sees them in its own subscriber.
//!
//! Every message goes through here: [`note`], [`warn`], [`error`] (and [`debug`], for the
//! events only `tracing` gets, such as each checkpoint saved, as [`Report::event_only`] makes
//! any other: a refusal, which the program gets as its error anyway) name the event and its level;
//! the fields say what it is about; [`Report::say`] gives the line. Without `tracing`, notes
//! are left off stderr when [`Settings::quiet`](crate::config::Settings::quiet) is on.
//!
//! With `tracing`, each event has the target `resumable`, the field `event` (`resumed`,
//! `saved`, `fell_back`, `signal`, …) and, where they apply, `name` (the function), `index`
//! (completed iterations), `path`, `bytes` and `duration_ms`; its message is the stderr line
//! without the `resumable: ` and `warning: ` in front (the level says that).

use std::fmt;
use std::path::Path;
use std::time::Duration;

/// How much a message matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Only with `tracing`: what a service may want to count (a checkpoint saved).
    Debug,
    /// What happened as it should (resumed, stopped, reset): silenced by `quiet`.
    Info,
    /// Something may be lost or was set aside.
    Warn,
    /// Something failed.
    Error,
}

/// A message being put together; [`say`](Report::say) sends it.
#[must_use = "a report is sent by `say`"]
pub(crate) struct Report<'a> {
    level: Level,
    /// Whether, without `tracing`, the line goes to stderr (unless quiet).
    stderr: bool,
    /// What the event carries besides its message. Without `tracing` there is no event: the
    /// builders drop what they are given (the stderr line says it in words).
    #[cfg(feature = "tracing")]
    fields: Fields<'a>,
    #[cfg(not(feature = "tracing"))]
    fields: std::marker::PhantomData<&'a ()>,
}

/// A `tracing` event's fields.
#[cfg(feature = "tracing")]
struct Fields<'a> {
    event: &'static str,
    name: Option<&'a str>,
    index: Option<u64>,
    path: Option<&'a Path>,
    bytes: Option<u64>,
    duration: Option<Duration>,
}

/// A note: what happened as it should.
pub(crate) fn note(event: &'static str) -> Report<'static> {
    Report::new(Level::Info, event)
}

/// A warning: something may be lost or was set aside.
pub(crate) fn warn(event: &'static str) -> Report<'static> {
    Report::new(Level::Warn, event)
}

/// An error the program goes on after (the error itself, if any, is returned or panics).
pub(crate) fn error(event: &'static str) -> Report<'static> {
    Report::new(Level::Error, event)
}

/// An event only `tracing` gets: nothing is printed without it.
pub(crate) fn debug(event: &'static str) -> Report<'static> {
    Report::new(Level::Debug, event)
}

/// Without `tracing`: `report`, with `field` dropped (there is no event to carry it).
#[cfg(not(feature = "tracing"))]
fn without<T>(report: Report<'_>, field: T) -> Report<'_> {
    let _ = field;
    report
}

impl<'a> Report<'a> {
    fn new(level: Level, event: &'static str) -> Report<'a> {
        Report {
            level,
            stderr: level != Level::Debug,
            #[cfg(feature = "tracing")]
            fields: Fields {
                event,
                name: None,
                index: None,
                path: None,
                bytes: None,
                duration: None,
            },
            #[cfg(not(feature = "tracing"))]
            fields: {
                let _ = event;
                std::marker::PhantomData
            },
        }
    }

    /// Sets the event's fields (with `tracing`).
    #[cfg(feature = "tracing")]
    fn with<'b>(self, set: impl FnOnce(&mut Fields<'b>)) -> Report<'b>
    where
        'a: 'b,
    {
        let mut report: Report<'b> = self;
        set(&mut report.fields);
        report
    }

    /// Only a `tracing` event, never a stderr line: for what the program hears of anyway (an
    /// error that comes back as `Err` or panics with its message).
    pub(crate) fn event_only(self) -> Report<'a> {
        Report {
            stderr: false,
            ..self
        }
    }

    /// The function whose loop it is about.
    pub(crate) fn name<'b>(self, name: &'b str) -> Report<'b>
    where
        'a: 'b,
    {
        #[cfg(feature = "tracing")]
        return self.with(|fields| fields.name = Some(name));
        #[cfg(not(feature = "tracing"))]
        return without(self, name);
    }

    /// The completed iterations it is about.
    pub(crate) fn index(self, index: u64) -> Report<'a> {
        #[cfg(feature = "tracing")]
        return self.with(|fields| fields.index = Some(index));
        #[cfg(not(feature = "tracing"))]
        return without(self, index);
    }

    /// The checkpoint file it is about.
    pub(crate) fn path<'b>(self, path: &'b Path) -> Report<'b>
    where
        'a: 'b,
    {
        #[cfg(feature = "tracing")]
        return self.with(|fields| fields.path = Some(path));
        #[cfg(not(feature = "tracing"))]
        return without(self, path);
    }

    /// How many bytes it wrote.
    pub(crate) fn bytes(self, bytes: u64) -> Report<'a> {
        #[cfg(feature = "tracing")]
        return self.with(|fields| fields.bytes = Some(bytes));
        #[cfg(not(feature = "tracing"))]
        return without(self, bytes);
    }

    /// How long it took.
    pub(crate) fn duration(self, duration: Duration) -> Report<'a> {
        #[cfg(feature = "tracing")]
        return self.with(|fields| fields.duration = Some(duration));
        #[cfg(not(feature = "tracing"))]
        return without(self, duration);
    }

    /// Sends the message: `line` is its stderr line (formatted only if it is sent).
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn say(self, line: impl fmt::Display) {
        self.print(line);
    }

    /// Sends the message as a `tracing` event: `line` is its stderr line, formatted (without
    /// its `resumable: ` and `warning: `) only if the subscriber records it. With no
    /// subscriber in effect it is the stderr line after all: a program that never set one
    /// (the feature turned on by another crate of its build, say) still hears what happened.
    #[cfg(feature = "tracing")]
    pub(crate) fn say(self, line: impl fmt::Display) {
        let none = tracing::dispatcher::get_default(|dispatch| {
            dispatch.is::<tracing::subscriber::NoSubscriber>()
        });
        if none {
            return self.print(line);
        }
        let fields = &self.fields;
        let path = fields
            .path
            .map(|path| tracing::field::display(path.display()));
        let duration_ms = fields.duration.map(|elapsed| elapsed.as_secs_f64() * 1e3);
        let message = WithoutPrefix(line);
        // `event!` wants its level as a constant.
        macro_rules! at {
            ($level:expr) => {
                tracing::event!(
                    target: "resumable",
                    $level,
                    event = fields.event,
                    name = fields.name,
                    index = fields.index,
                    path,
                    bytes = fields.bytes,
                    duration_ms,
                    "{message}"
                )
            };
        }
        match self.level {
            Level::Debug => at!(tracing::Level::DEBUG),
            Level::Info => at!(tracing::Level::INFO),
            Level::Warn => at!(tracing::Level::WARN),
            Level::Error => at!(tracing::Level::ERROR),
        }
    }

    /// The stderr line, unless it is for events only or a note while quiet.
    fn print(self, line: impl fmt::Display) {
        let silenced =
            !self.stderr || (self.level == Level::Info && crate::config::Config::current().quiet);
        if !silenced {
            eprintln!("{line}");
        }
    }
}

/// A stderr line as an event's message: the level and the target say what its
/// `resumable: warning: ` did.
#[cfg(feature = "tracing")]
struct WithoutPrefix<T>(T);

#[cfg(feature = "tracing")]
impl<T: fmt::Display> fmt::Display for WithoutPrefix<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.0.to_string();
        let line = line.strip_prefix("resumable: ").unwrap_or(&line);
        let line = line.strip_prefix("warning: ").unwrap_or(line);
        f.write_str(line)
    }
}
