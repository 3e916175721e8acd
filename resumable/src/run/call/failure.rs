//! The failure policy: what a loop that failed saves and says (nothing, when its iteration
//! changed the state), which errors are a save that failed, and the panic of a function
//! that cannot return the error.

use crate::error::Error;
use crate::report;

use super::Run;

impl Run {
    /// The loop failed (`failure`) in iteration `index` after that iteration had changed the
    /// state: saving it would resume a half-done iteration, so nothing is saved and the last
    /// checkpoint stands. Says what the next run does.
    pub fn failed_unsaved(&mut self, failure: &str, index: u64) {
        let function = self.function;
        let next = self.what_stands(index);
        report::warn("not_saved")
            .name(function)
            .index(index)
            .path(&self.generations.newest)
            .say(format_args!(
                "resumable: {failure} in iteration {index} of {function}, after the iteration \
                 had changed its state: nothing is saved, so that a half-done iteration is never \
                 resumed; {next} (a failure before the loop body first uses its state saves at \
                 the failing iteration)"
            ));
    }

    /// The loop failed (`failure`) in iteration `index`, and it may move `moved` (bindings it
    /// reads but does not own) on a way out, after which the watch cannot check them: nothing
    /// is saved, and the last checkpoint (checked when it was saved) stands.
    pub fn failed_unchecked(&mut self, failure: &str, index: u64, moved: &[&str]) {
        let function = self.function;
        let next = self.what_stands(index);
        let moved: Vec<String> = moved.iter().map(|name| format!("`{name}`")).collect();
        report::warn("not_saved")
            .name(function)
            .index(index)
            .path(&self.generations.newest)
            .say(format_args!(
                "resumable: {failure} in iteration {index} of {function}: nothing is saved, \
                 because the loop can move {} on a way out, after which whether it changed \
                 cannot be checked; {next}",
                moved.join(", ")
            ));
    }

    /// What the next run resumes from, after a failure in iteration `index` saved nothing.
    pub(super) fn what_stands(&self, index: u64) -> String {
        match self.saver.last_saved {
            Some(saved) => format!(
                "the next run resumes from the checkpoint at iteration {saved} ({}) and runs \
                 iterations {saved} to {index} again",
                self.generations.newest.display()
            ),
            None => {
                "no checkpoint was saved yet, so the next run starts from the beginning".to_owned()
            }
        }
    }
}

/// Whether `err` is a save that failed (the checkpoint before it, if any, stands).
pub(super) fn saving_failed(err: &Error) -> bool {
    matches!(
        err,
        Error::Io { .. }
            | Error::TakenOver { .. }
            | Error::NoSpace { .. }
            | Error::Serialize { .. }
            | Error::NotAppendOnly { .. }
            | Error::NotRoundTrip { .. }
            | Error::OutputIo { .. }
    )
}

/// Panics with `err` and what it means for the checkpoint: what a runtime error does in a
/// function that cannot return it.
#[track_caller]
pub fn fail(err: Error) -> ! {
    let text = err.with_causes();
    match err {
        // Outside a save (the lock, recovery, a reset): whatever failed changed no checkpoint.
        _ if saving_failed(&err) => panic!("resumable: {text}; no checkpoint was changed"),
        Error::Locked { .. }
        | Error::InUseHere { .. }
        | Error::NotState { .. }
        | Error::UnorderedIterator { .. }
        | Error::CodeChanged { .. }
        | Error::OutputChanged { .. }
        | Error::InputChanged { .. }
        | Error::Environment { .. } => {
            panic!("resumable: {text}")
        }
        // Nothing local to move aside: the store, or what is on it, is the problem.
        Error::Store { .. } => panic!("resumable: {text}; no checkpoint was changed"),
        _ => panic!("resumable: {text} (RESUMABLE_RESET=1 moves it aside for you)"),
    }
}
