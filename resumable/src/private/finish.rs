//! What every way out of the loop does, once its closure has ended: one path for all of them,
//! so that each runs the same checks. The generated code hands over how the closure ended and
//! where the loop stood; when a failure is to save the state, it gets a [`Pending`] back, saves
//! the state itself (once per function, after the loop, where the state's types are known, and
//! in the function's own code, so the state's addresses do not escape it and its loop keeps the
//! state in registers), and hands the `Pending` back. Only what holds the function's return
//! value is generic.

use std::any::Any;

use crate::Error;
use crate::run::call::Run;

use super::exit::Exit;

/// Where the loop stood when its closure ended, and what a failure saves.
pub struct Ended {
    /// The loop's `pulled`: iteration `pulled - 1` was running.
    pub pulled: u64,
    /// A panic came from inside a save (a `Serialize` impl): saving again would only panic
    /// again.
    pub saving: bool,
    /// The failing iteration had not touched the state yet (see the macro's `first_use.rs`),
    /// so the state is as it was when that iteration started and may be saved.
    pub untouched: bool,
    /// How a failure saves.
    pub save: FailureSave,
}

/// What a failure inside the loop saves.
pub enum FailureSave {
    /// Nothing here: the failure was saved where it happened (a loop nest's inner loop).
    Elsewhere,
    /// Nothing can be saved: the last checkpoint stands, and says what runs again.
    Unsaved,
    /// A watched binding the body can move on a way out may be gone: nothing is saved, and
    /// the warning names these bindings.
    Moved(&'static [&'static str]),
    /// The generated code saves the state (see [`Pending`]).
    State,
}

/// How the run ended, as [`finish`] says.
pub enum Finished<R> {
    /// The function returns this value.
    Return(R),
    /// The loop completed: go on after it.
    GoOn,
    /// A failure: save the state, then [`Pending::saved`].
    Save(Pending<R>),
}

/// A failure whose state the generated code saves: `run.save(index, None, watched)`, each
/// binding, `commit_after_failure(failure)`; then [`Pending::saved`] finishes the way out.
pub struct Pending<T> {
    /// The iterations completed.
    pub index: u64,
    /// What failed, for the messages.
    pub failure: &'static str,
    /// What the way out returns, or the panic it resumes.
    then: Result<T, Box<dyn Any + Send>>,
    /// Whether to wait for what was saved (a nest's inner loop leaves that to the outer
    /// loop's [`finish`]).
    obey: bool,
}

impl<T> Pending<T> {
    /// The state is saved: waits for it to be durable (a signal that arrived meanwhile ends the
    /// process), then returns the value, or resumes the panic.
    #[inline]
    pub fn saved(self, run: &mut Run) -> T {
        match self.then {
            Ok(value) => {
                if self.obey {
                    run.obey_signal();
                }
                value
            }
            Err(payload) => resume(run, payload, self.obey),
        }
    }
}

/// Ends the run as the loop's closure ended (`exit`; its `Err` a caught panic): removes the
/// checkpoint when the loop completed, saves after a failure (or has the generated code save),
/// routes a failed save to the function's `Err` (`route`, else the panic), ends as a stop
/// request says, resumes a panic.
// Not inlined: once per call of the function, and inlined it would be optimized again in every
// annotated function (issue 25: build time per function).
#[track_caller]
#[inline(never)]
pub fn finish<R>(
    run: &mut Run,
    exit: std::thread::Result<Exit<R>>,
    ended: Ended,
    is_failure: fn(&R) -> bool,
    route: fn(Error) -> Result<R, Error>,
) -> Finished<R> {
    // The loop is over: signals no longer save and stop it, the progress report ends.
    run.end_watch();
    let (way, value) = match exit {
        Ok(Exit::Completed) => (Way::Completed, None),
        Ok(Exit::Returned(value)) => {
            let way = if is_failure(&value) {
                Way::Failed(RETURNED)
            } else {
                Way::Completed
            };
            (way, Some(value))
        }
        Ok(Exit::Failed(value)) => (Way::Failed(TRIED), Some(value)),
        // A failed save: returned as the function's `Err` (the checkpoints before it made
        // durable first), else the panic that says which checkpoint stands.
        Ok(Exit::Abort(err)) => match route(err) {
            Ok(value) => {
                run.settle();
                return Finished::Return(value);
            }
            Err(err) => run.abort(err),
        },
        Ok(Exit::Stopped) => (Way::Stopped, None),
        Err(payload) => (Way::Panicked(payload), None),
    };
    let failure = match &way {
        Way::Failed(failure) => Some(*failure),
        // A panic inside our own save came from a `Serialize` impl: saving again would only
        // panic again.
        Way::Panicked(_) if !ended.saving => Some(PANIC),
        _ => None,
    };
    if let Some(failure) = failure
        && failed(run, failure, &ended)
    {
        let then = match way {
            Way::Panicked(payload) => Err(payload),
            _ => Ok(returned_value(value)),
        };
        return Finished::Save(Pending {
            index: ended.pulled - 1,
            failure,
            then,
            obey: true,
        });
    }
    end(run, way, ended.pulled);
    match value {
        Some(value) => Finished::Return(value),
        None => Finished::GoOn,
    }
}

/// The loop's closure ended without handing back the state it moved in (see the macro's
/// `moved.rs`): a value returned took it (`return out`), or an error returned where the macro
/// cannot see (`bail!`) or a panic dropped it. Nothing can be saved: the last checkpoint
/// stands. Ends the run as [`finish`] does and returns the function's value.
#[track_caller]
#[inline(never)]
pub fn state_lost<R, S>(
    run: &mut Run,
    lost: std::thread::Result<(Exit<R>, S)>,
    pulled: u64,
    is_failure: fn(&R) -> bool,
    route: fn(Error) -> Result<R, Error>,
) -> R {
    let ended = Ended {
        pulled,
        saving: false,
        untouched: false,
        save: FailureSave::Unsaved,
    };
    match finish(run, lost.map(|(exit, _)| exit), ended, is_failure, route) {
        Finished::Return(value) => value,
        Finished::GoOn | Finished::Save(_) => {
            unreachable!("only a returned error hands no state back")
        }
    }
}

/// `Err(err)`: the route of a function that cannot return a runtime error (it panics with it,
/// through [`Run::abort`]).
#[inline(always)]
pub fn no_route<R>(err: Error) -> Result<R, Error> {
    Err(err)
}

/// How a loop nest's inner loop ended, as [`finish_inner`] says.
pub enum InnerFinished<R> {
    /// It completed: go on with the outer iteration.
    GoOn,
    /// Leave the outer loop's closure with this exit (the outer loop's [`finish`] then ends
    /// the run).
    Leave(Exit<R>),
    /// A failure: save the state, then leave with what [`Pending::saved`] returns.
    Save(Pending<Exit<R>>),
}

/// A loop nest's inner loop has ended: a failure saves here, where the state declared between
/// the loops still exists; a panic is resumed.
#[inline(never)]
pub fn finish_inner<R>(
    run: &mut Run,
    exit: std::thread::Result<Exit<R>>,
    ended: Ended,
    is_failure: fn(&R) -> bool,
) -> InnerFinished<R> {
    let (failure, then) = match exit {
        Ok(Exit::Completed) => return InnerFinished::GoOn,
        Ok(Exit::Returned(value)) if is_failure(&value) => (RETURNED, Ok(Exit::Returned(value))),
        Ok(Exit::Failed(value)) => (TRIED, Ok(Exit::Failed(value))),
        Ok(exit) => return InnerFinished::Leave(exit),
        Err(payload) if ended.saving => resume(run, payload, false),
        Err(payload) => (PANIC, Err(payload)),
    };
    if failed(run, failure, &ended) {
        return InnerFinished::Save(Pending {
            index: ended.pulled - 1,
            failure,
            then,
            obey: false,
        });
    }
    match then {
        Ok(exit) => InnerFinished::Leave(exit),
        Err(payload) => resume(run, payload, false),
    }
}

/// What each failure is called in the messages.
const RETURNED: &str = "the function returned an error";
const TRIED: &str = "`?` returned early with an error";
const PANIC: &str = "a panic";

/// A way out, without the function's return value.
enum Way {
    /// The iterator ran out, `break`, or a value returned that is no error.
    Completed,
    /// A failure, which returns: says what failed.
    Failed(&'static str),
    /// A stop was requested, and the loop saved.
    Stopped,
    /// A panic, with its payload.
    Panicked(Box<dyn Any + Send>),
}

/// The value of a failure that returns one.
fn returned_value<R>(value: Option<R>) -> R {
    match value {
        Some(value) => value,
        None => unreachable!("a failure that returns has a value"),
    }
}

/// What a way out does to the run once a failure has saved; not generic, so compiled once.
fn end(run: &mut Run, way: Way, pulled: u64) {
    match way {
        Way::Completed => run.complete(),
        // Waits until what was saved is durable; a signal that arrived meanwhile ends the
        // process.
        Way::Failed(_) => run.obey_signal(),
        Way::Stopped => run.stopped(pulled - 1),
        Way::Panicked(payload) => resume(run, payload, true),
    }
}

/// Resumes a panic, after waiting for what was saved (`obey`).
fn resume(run: &mut Run, payload: Box<dyn Any + Send>, obey: bool) -> ! {
    if obey {
        run.obey_signal();
    }
    std::panic::resume_unwind(payload)
}

/// After `failure`: whether the generated code is to save the state (the failing iteration had
/// not touched it); else says here that the last checkpoint stands, or nothing (saved
/// elsewhere).
fn failed(run: &mut Run, failure: &str, ended: &Ended) -> bool {
    let pulled = ended.pulled;
    match ended.save {
        FailureSave::Elsewhere => {}
        FailureSave::Unsaved => run.failed_unsaved(failure, pulled - 1),
        _ if !ended.untouched => run.failed_unsaved(failure, pulled - 1),
        FailureSave::Moved(moved) => run.failed_unchecked(failure, pulled - 1, moved),
        FailureSave::State => return true,
    }
    false
}
