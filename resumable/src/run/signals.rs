//! Ctrl-C and SIGTERM while a resumable loop runs: the loop saves at its next iteration
//! boundary, then the process ends the way the signal would have ended it.
//!
//! signal-hook cannot give a signal back to the OS's default once it has registered for it
//! (unregistering leaves it ignored), so the handlers, installed once, do the default action
//! themselves whenever no loop is running: outside loops the program behaves as if we were not
//! there. Inside a loop, the first signal is recorded in [`STOP`] and arms [`DEFAULT_NOW`], so
//! a second one, while the save runs, ends the process at once.

#[cfg(unix)]
use std::io::Read as _;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

/// The panic payload of a loop stopped by [`request_stop`](crate::request_stop): it saved a
/// checkpoint at `index` completed iterations, and the next call resumes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Completed iterations, saved in the checkpoint.
    pub index: u64,
}

/// Why the loop should stop at its next boundary: 0 for no reason, a signal number, or
/// [`REQUESTED`].
static STOP: AtomicUsize = AtomicUsize::new(0);

/// When set, SIGINT and SIGTERM do what they would do without this library.
static DEFAULT_NOW: AtomicBool = AtomicBool::new(true);

/// How many loops are watching right now (several threads may each run one).
static WATCHING: Mutex<usize> = Mutex::new(0);

/// [`STOP`]'s value for a stop asked for with [`crate::request_stop`].
pub(crate) const REQUESTED: usize = usize::MAX;

/// The flag generated code reads at every iteration boundary (one relaxed load).
pub(crate) fn stop_flag() -> &'static AtomicUsize {
    &STOP
}

/// Asks every running resumable loop to save at its next iteration boundary and stop.
pub(crate) fn request_stop() {
    STOP.store(REQUESTED, Ordering::SeqCst);
}

/// Takes the pending stop request, if any.
pub(crate) fn take_stop() -> Option<usize> {
    match STOP.swap(0, Ordering::SeqCst) {
        0 => None,
        reason => Some(reason),
    }
}

/// Whether `RESUMABLE_SIGNALS` (else [`Config::signals`](crate::Config::signals)) turns the
/// handlers off for the whole program.
fn opted_out() -> bool {
    !crate::config::Config::current().signals
}

/// While alive, SIGINT and SIGTERM stop the loop at a boundary instead of killing it.
pub(crate) struct Watch {
    active: bool,
}

impl Watch {
    pub(crate) fn start(enabled: bool) -> Watch {
        if !enabled || opted_out() || !install() {
            return Watch { active: false };
        }
        let mut watching = WATCHING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *watching += 1;
        if STOP.load(Ordering::SeqCst) == 0 {
            DEFAULT_NOW.store(false, Ordering::SeqCst);
        }
        Watch { active: true }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.active {
            let mut watching = WATCHING
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *watching -= 1;
            if *watching == 0 {
                DEFAULT_NOW.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Registers the handlers once per process; `false` if the OS refused.
fn install() -> bool {
    static INSTALL: Once = Once::new();
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    INSTALL.call_once(|| {
        let registered = [SIGINT, SIGTERM].iter().try_for_each(|&signal| {
            // Order matters: the default action is decided before this signal arms it.
            signal_hook::flag::register_conditional_default(signal, &DEFAULT_NOW)?;
            signal_hook::flag::register(signal, &DEFAULT_NOW)?;
            signal_hook::flag::register_usize(signal, &STOP, signal as usize)?;
            Ok::<(), std::io::Error>(())
        });
        match registered.and_then(|()| announce_stops()) {
            Ok(()) => INSTALLED.store(true, Ordering::SeqCst),
            Err(err) => crate::report::warn("no_signals").say(format_args!(
                "resumable: warning: could not handle SIGINT/SIGTERM ({err}); a signal will end \
                 the loop without saving"
            )),
        }
    });
    INSTALLED.load(Ordering::SeqCst)
}

/// How long a stopping loop may take to reach its boundary before [`announce_stops`] says
/// what is happening: a loop of short iterations saves and says so first.
const ANNOUNCE_AFTER: Duration = Duration::from_millis(300);

/// Starts a thread that, when a signal asks a running loop to stop and the loop is still in
/// an iteration [`ANNOUNCE_AFTER`] later, says at once that it stops at the end of that
/// iteration and that a second signal ends the program now. A signal handler cannot print;
/// signal-hook's self-pipe wakes the thread.
#[cfg(unix)]
fn announce_stops() -> std::io::Result<()> {
    let (mut read, write) = UnixStream::pair()?;
    signal_hook::low_level::pipe::register(SIGINT, write.try_clone()?)?;
    signal_hook::low_level::pipe::register(SIGTERM, write)?;
    std::thread::Builder::new()
        .name("resumable-signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while matches!(read.read(&mut byte), Ok(1)) {
                let reason = STOP.load(Ordering::SeqCst);
                if reason == 0 || reason == REQUESTED {
                    continue;
                }
                std::thread::sleep(ANNOUNCE_AFTER);
                let watching = *WATCHING.lock().unwrap_or_else(|p| p.into_inner());
                if watching > 0 && STOP.load(Ordering::SeqCst) == reason {
                    let signal = name(reason);
                    crate::report::note("signal").say(format_args!(
                        "resumable: {signal}: the loop stops at the end of its current \
                         iteration, saves its checkpoint and exits; another {signal} exits now, \
                         without saving"
                    ));
                }
            }
        })?;
    Ok(())
}

#[cfg(not(unix))]
fn announce_stops() -> std::io::Result<()> {
    Ok(())
}

/// Ends the process as `signal` would have: the default action, re-raised.
pub(crate) fn die_of(signal: usize) -> ! {
    let signal = signal as i32;
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    // Only reached if the signal did not end the process.
    std::process::exit(128 + signal)
}

/// The signal's name for messages.
pub(crate) fn name(signal: usize) -> &'static str {
    signal_hook::low_level::signal_name(signal as i32).unwrap_or("a signal")
}
