//! What every way out of the loop does, once its closure has ended: one path for all of them,
//! so that each runs the same checks. The generated code hands over how the closure ended, where
//! the loop stood, and how to save its state (a closure it writes once per function, after the
//! loop, where the state's types are known); only the part that holds the function's return
//! value is generic.

use std::any::Any;

use crate::Error;
use crate::run::call::Run;

use super::exit::Exit;

/// Where the loop stood when its closure ended, and what a failure saves.
pub struct Ended<'a> {
    /// The loop's `pulled`: iteration `pulled - 1` was running.
    pub pulled: u64,
    /// A panic came from inside a save (a `Serialize` impl): saving again would only panic
    /// again.
    pub saving: bool,
    /// The failing iteration had not touched the state yet (see the macro's `first_use.rs`),
    /// so the state is as it was when that iteration started and may be saved.
    pub untouched: bool,
    /// How a failure saves.
    pub save: FailureSave<'a>,
}

/// What a failure inside the loop saves.
pub enum FailureSave<'a> {
    /// Nothing here: the failure was saved where it happened (a loop nest's inner loop).
    Elsewhere,
    /// Nothing can be saved: the last checkpoint stands, and says what runs again.
    Unsaved,
    /// A watched binding the body can move on a way out may be gone: nothing is saved, and
    /// the warning names these bindings.
    Moved(&'a [&'a str]),
    /// Saves the state after this failure, `pulled - 1` iterations completed: `run.save`,
    /// each binding, `commit_after_failure`.
    State(&'a mut dyn FnMut(&mut Run, u64, &str)),
}

/// Ends the run as the loop's closure ended (`exit`; its `Err` a caught panic): removes the
/// checkpoint when the loop completed, saves after a failure, routes a failed save to the
/// function's `Err` (`route`, else the panic), ends as a stop request says, resumes a panic.
/// `Some(value)` is the function's return value, `None` goes on after the loop.
#[track_caller]
#[inline]
pub fn finish<R>(
    run: &mut Run,
    exit: std::thread::Result<Exit<R>>,
    ended: Ended<'_>,
    is_failure: fn(&R) -> bool,
    route: fn(Error) -> Result<R, Error>,
) -> Option<R> {
    let (way, value) = match exit {
        Ok(Exit::Completed) => (Way::Completed, None),
        Ok(Exit::Returned(value)) => {
            let way = if is_failure(&value) {
                Way::Failed("the function returned an error")
            } else {
                Way::Completed
            };
            (way, Some(value))
        }
        Ok(Exit::Failed(value)) => (Way::Failed("`?` returned early with an error"), Some(value)),
        // A failed save: returned as the function's `Err` (the checkpoints before it made
        // durable first), else the panic that says which checkpoint stands.
        Ok(Exit::Abort(err)) => match route(err) {
            Ok(value) => {
                run.settle();
                return Some(value);
            }
            Err(err) => run.abort(err),
        },
        Ok(Exit::Stopped) => (Way::Stopped, None),
        Err(payload) => (Way::Panicked(payload), None),
    };
    end(run, way, ended);
    value
}

/// The loop's closure ended without handing back the state it moved in (see the macro's
/// `moved.rs`): a value returned took it (`return out`), or an error returned where the macro
/// cannot see (`bail!`) or a panic dropped it. Nothing can be saved: the last checkpoint
/// stands. Ends the run as [`finish`] does and returns the function's value.
#[track_caller]
#[inline]
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
        Some(value) => value,
        None => unreachable!("only a returned error hands no state back"),
    }
}

/// `Err(err)`: the route of a function that cannot return a runtime error (it panics with it,
/// through [`Run::abort`]).
#[inline(always)]
pub fn no_route<R>(err: Error) -> Result<R, Error> {
    Err(err)
}

/// A loop nest's inner loop has ended: a failure saves here, where the state declared between
/// the loops still exists. `Some(exit)` leaves the outer loop's closure with it (the outer
/// loop's [`finish`] then ends the run), `None` goes on with the outer iteration; a panic is
/// resumed.
#[inline]
pub fn finish_inner<R>(
    run: &mut Run,
    exit: std::thread::Result<Exit<R>>,
    mut ended: Ended<'_>,
    is_failure: fn(&R) -> bool,
) -> Option<Exit<R>> {
    match exit {
        Ok(Exit::Completed) => None,
        Ok(Exit::Returned(value)) => {
            if is_failure(&value) {
                failed(run, "the function returned an error", &mut ended);
            }
            Some(Exit::Returned(value))
        }
        Ok(Exit::Failed(value)) => {
            failed(run, "`?` returned early with an error", &mut ended);
            Some(Exit::Failed(value))
        }
        Ok(exit) => Some(exit),
        Err(payload) => panicked(run, payload, &mut ended, false),
    }
}

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

/// What a way out does to the run; not generic, so compiled once.
fn end(run: &mut Run, way: Way, mut ended: Ended<'_>) {
    match way {
        Way::Completed => run.complete(),
        Way::Failed(failure) => {
            failed(run, failure, &mut ended);
            run.obey_signal();
        }
        Way::Stopped => run.stopped(ended.pulled - 1),
        Way::Panicked(payload) => panicked(run, payload, &mut ended, true),
    }
}

/// A panic in the loop: saves unless it came from inside a save, waits for what was saved
/// (`obey`; a nest's inner loop leaves that to the outer loop's [`finish`]), resumes it.
fn panicked(run: &mut Run, payload: Box<dyn Any + Send>, ended: &mut Ended<'_>, obey: bool) -> ! {
    if !ended.saving {
        failed(run, "a panic", ended);
    }
    if obey {
        run.obey_signal();
    }
    std::panic::resume_unwind(payload)
}

/// Saves the state after `failure`, if the failing iteration had not touched it; else says
/// that the last checkpoint stands.
fn failed(run: &mut Run, failure: &str, ended: &mut Ended<'_>) {
    let pulled = ended.pulled;
    match &mut ended.save {
        FailureSave::Elsewhere => {}
        FailureSave::Unsaved => run.failed_unsaved(failure, pulled - 1),
        _ if !ended.untouched => run.failed_unsaved(failure, pulled - 1),
        FailureSave::Moved(moved) => run.failed_unchecked(failure, pulled - 1, moved),
        FailureSave::State(save) => save(run, pulled - 1, failure),
    }
}
