//! The timer of `every = "30s"`: the loop reads one flag per iteration, the clock is read here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Raises `due` every `interval`, so a time-based loop saves without reading the clock on every
/// iteration: the loop reads one flag, the clock is read here.
pub(crate) struct Ticker {
    pub due: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    pub(crate) fn start(interval: Duration) -> Ticker {
        let due = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (raise, finished) = (Arc::clone(&due), Arc::clone(&done));
        let thread = thread::Builder::new()
            .name("resumable-ticker".into())
            .spawn(move || {
                let mut next = Instant::now() + interval;
                while !finished.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    if now >= next {
                        raise.store(true, Ordering::Relaxed);
                        next = now + interval;
                    }
                    thread::park_timeout(next.saturating_duration_since(now));
                }
            })
            .inspect_err(|err| {
                crate::report::warn("no_timer").say(format_args!(
                    "resumable: warning: no timer thread ({err}); time-based saves are off"
                ));
            })
            .ok();
        Ticker { due, done, thread }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
