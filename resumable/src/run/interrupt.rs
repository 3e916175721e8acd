//! The interruptions `resumable::proof` injects into a call: the points of a run where it
//! may panic or be killed (each boundary where a save is due, before the save; each loop's
//! end, after its last save), counted on the thread the proof armed. Unarmed, a point costs
//! one thread-local read, and points are only where a save is due or a loop ends.

use std::cell::RefCell;

/// A point of a run where the proof may interrupt it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Point {
    /// A boundary where a save is due, after `index` completed iterations, before the save.
    Save {
        function: &'static str,
        index: u64,
        /// Due because the interval of `every = "30s"` passed.
        timed: bool,
    },
    /// A loop has ended (however it ended), after its last save and before its checkpoint is
    /// removed.
    End { function: &'static str },
}

/// What happens at the armed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Unwinds with an [`Interrupted`] payload, as a panic of the program's would.
    Panic,
    /// SIGKILLs the process: nothing after this runs, as when the machine is lost.
    Kill,
}

/// The payload of an injected panic, so that the proof tells it apart from the program's.
pub(crate) struct Interrupted;

struct Armed {
    /// The point (its position among those passed) and what happens there; `None` once done.
    at: Option<(usize, Action)>,
    passed: Vec<Point>,
    /// How many calls resumed from a checkpoint.
    resumed: usize,
}

thread_local! {
    static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
}

/// Counts the points this thread passes until the guard drops, and interrupts at the
/// `at.0`-th (from 0) if `at` says so.
pub(crate) fn arm(at: Option<(usize, Action)>) -> Guard {
    ARMED.set(Some(Armed {
        at,
        passed: Vec::new(),
        resumed: 0,
    }));
    Guard
}

/// Disarms the thread when dropped; says which points the run passed and how many calls
/// resumed.
pub(crate) struct Guard;

impl Guard {
    /// The points passed so far, in order.
    pub(crate) fn passed(&self) -> Vec<Point> {
        ARMED.with_borrow(|armed| armed.as_ref().map(|a| a.passed.clone()).unwrap_or_default())
    }

    /// How many calls resumed from a checkpoint so far.
    pub(crate) fn resumed(&self) -> usize {
        ARMED.with_borrow(|armed| armed.as_ref().map_or(0, |a| a.resumed))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        ARMED.set(None);
    }
}

/// The run is at `point`: interrupts it there if the thread is armed for it.
pub(crate) fn reached(point: impl FnOnce() -> Point) {
    let action = ARMED.with_borrow_mut(|armed| {
        let armed = armed.as_mut()?;
        let position = armed.passed.len();
        armed.passed.push(point());
        armed
            .at
            .take_if(|&mut (at, _)| at == position)
            .map(|(_, action)| action)
    });
    match action {
        None => {}
        // No panic hook runs for it: the proof's own interruption prints nothing.
        Some(Action::Panic) => std::panic::resume_unwind(Box::new(Interrupted)),
        Some(Action::Kill) => kill(),
    }
}

/// A call starts from a checkpoint: the proof checks a resume did resume.
pub(crate) fn resuming() {
    ARMED.with_borrow_mut(|armed| {
        if let Some(armed) = armed {
            armed.resumed += 1;
        }
    });
}

/// Ends the process at once, with no destructor, flush or handler run.
fn kill() -> ! {
    #[cfg(unix)]
    let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
    std::process::abort()
}
