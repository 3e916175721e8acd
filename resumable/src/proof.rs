//! A check for your own tests that a call of your `#[resumable]` functions resumes to what an
//! uninterrupted call returns: for what the attribute cannot see.
//!
//! The attribute saves the bindings it can see the loop change, and refuses what it can tell
//! it cannot save (see [What is state](macro@crate::resumable#what-is-state)). Some state it
//! cannot see from the tokens: a library's hidden global RNG, a `let mut` that a macro
//! writes, a global counter, a map whose iteration order changes when it is rebuilt. A loop
//! that reads one resumes to a different value. [`assert_resumes`] finds out by running it:
//!
//! 1. the call uninterrupted, twice: the value `A` (both the same, else the call is not
//!    deterministic and no resume can return its value);
//! 2. for each of four points — the first, a middle and the last boundary where the loop
//!    saves, and the end of the loop — the call again, interrupted there by a panic the
//!    runtime injects, then the call once more, which resumes from what the interrupted run
//!    left. Each resumed value must equal `A`, and a resume must load the checkpoint the
//!    interrupted run left (a call whose key changes from call to call never would).
//!
//! At a boundary, the panic comes before the save due there; the loop's own panic handling
//! then saves its state at that boundary, as for a panic of yours, and the resume starts
//! there. At the loop's end it comes after the last save, outside the loop, so nothing more
//! is saved: the resume starts at the last periodic checkpoint and runs the iterations after
//! it again. The panic's payload is a type of the runtime's, so a panic of the call's own is
//! never taken for it: it goes on as it is.
//!
//! [`assert_resumes_killed`] does the same, then the same points again with SIGKILL instead
//! of a panic: the test is re-run in a child process of the test binary, which kills itself
//! there (nothing runs on the way out), and the call resumes in the test's process. At a
//! boundary the kill comes before the save, so the resume starts at the save before (between
//! saves, for a loop that saves by time) and at the first boundary there is none yet: the
//! resume starts over; at the loop's end it starts at the last save.
//!
//! An interrupted run that never reaches its point fails the check (the call did other work
//! than the first time), except in a loop that saves by time (`every = "30s"`), which passes
//! other boundaries in every run: there a point not reached is skipped, as long as one is. So the check costs about ten
//! calls (eighteen, killed, four of them in child processes): give it an input a few times
//! `every` long, not a production one.
//!
//! ```
//! use resumable::resumable;
//!
//! #[resumable(every = 10)]
//! fn sum_of_squares(n: u64) -> u64 {
//!     let mut sum = 0;
//!     for i in 0..n {
//!         sum += i * i;
//!     }
//!     sum
//! }
//!
//! // In a #[test]: passes, as the loop's whole state is `sum`.
//! resumable::proof::assert_resumes(|| sum_of_squares(100));
//! ```
//!
//! A failure names the interruption after which the value differed, shows both values
//! (`Debug`) and the first line where they differ.
//!
//! Each run has a checkpoint directory of its own, a fresh temporary one, removed at the end:
//! it wins over `RESUMABLE_DIR`, the attribute's `dir` and [`Config::dir`](crate::Config::dir),
//! and no run uses an object store. The directory is set for the runs' thread only, so tests
//! that cargo runs at once on other threads keep theirs; each run is on a new thread, which
//! starts with fresh thread-locals, as a new process would. So the loops must run on the
//! thread that calls them: an `async fn` under `block_on` of a current-thread runtime, not one
//! spawned on another runtime's workers. A loop on another thread is neither interrupted nor
//! kept in the check's directory (it uses your usual one); if no loop runs on the calling
//! thread, the check fails, finding no checkpoint. The call must reach at least one
//! checkpoint: give it more iterations than `every`.

use std::any::Any;
use std::cell::Cell;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::run::interrupt::{self, Action, Interrupted, Point};

/// Checks that the call resumes to what it returns uninterrupted, whichever checkpoint
/// boundary a panic interrupts it at (see [the module](self)).
///
/// # Panics
/// If it does not: the message names the interruption, the two values and where they
/// differ. Also if the call is not deterministic, reaches no checkpoint, or panics itself
/// (that panic goes on).
pub fn assert_resumes<T, F>(call: F)
where
    F: Fn() -> T + Sync,
    T: PartialEq + Debug + Send,
{
    Proof::new(&call).interrupt(Action::Panic, Proof::panic_at);
}

/// [`assert_resumes`], then the same points again with the process killed there: the test is
/// re-run in a child process of the test binary, killed with SIGKILL at the point (no panic
/// handler, no save on the way out), and the call resumes in this process.
///
/// Call it on the test's own thread: the child runs the test by its name, which libtest gives
/// the thread (`tests::my_test`). The child runs the test's code up to this call, then only
/// the call; each call of this function in a test is told apart by its order.
///
/// ```no_run
/// # use resumable::resumable;
/// # #[resumable(every = 10)]
/// # fn job(n: u64) -> u64 { let mut s = 0; for i in 0..n { s += i; } s }
/// #[test]
/// fn job_resumes() {
///     resumable::proof::assert_resumes_killed(|| job(100));
/// }
/// ```
///
/// # Panics
/// As [`assert_resumes`]; also if the child process does not die at the point (it reached
/// fewer checkpoints, failed otherwise, or ran no test by that name) or the thread is not
/// a test's.
pub fn assert_resumes_killed<T, F>(call: F)
where
    F: Fn() -> T + Sync,
    T: PartialEq + Debug + Send,
{
    let order = ORDER.replace(ORDER.get() + 1);
    if let Ok(child) = std::env::var(KILL_AT) {
        return in_child(&call, order, &child);
    }
    let test = test_name();
    let proof = Proof::new(&call);
    proof.interrupt(Action::Panic, Proof::panic_at);
    proof.interrupt(Action::Kill, |proof, at, dir| {
        proof.kill_at(&test, order, at, dir)
    });
}

/// The child's instructions: `<order>:<point>`, the call of [`assert_resumes_killed`] (by
/// its order in the test) and the point to die at.
const KILL_AT: &str = "RESUMABLE_PROOF_KILL_AT";
/// The child's checkpoint directory.
const CHILD_DIR: &str = "RESUMABLE_PROOF_DIR";
/// The child's exit code when its call ended without reaching the point.
const NOT_REACHED: i32 = 75;

thread_local! {
    /// The calls of [`assert_resumes_killed`] made on this thread so far.
    static ORDER: Cell<usize> = const { Cell::new(0) };
}

/// One check of one call: the uninterrupted value and the points its run passed.
struct Proof<'a, T, F> {
    call: &'a F,
    dir: TempDir,
    uninterrupted: T,
    points: Vec<Point>,
}

/// How one run of the call ended.
enum Ran<T> {
    /// The value, the points the run passed, and whether a call resumed from a checkpoint.
    Returned(T, Vec<Point>, bool),
    Interrupted,
    /// The child process's call ended without reaching the point.
    NotReached,
}

impl<'a, T, F> Proof<'a, T, F>
where
    F: Fn() -> T + Sync,
    T: PartialEq + Debug + Send,
{
    /// Runs the call uninterrupted twice, checks both return the same and that it reached a
    /// checkpoint.
    fn new(call: &'a F) -> Self {
        if crate::config::env_flag("RESUMABLE_RESET") == Some(true) {
            panic!(
                "resumable::proof: RESUMABLE_RESET is set, so every resume would start over; \
                 unset it to run the check"
            );
        }
        let dir = TempDir::new();
        let ran = |name: &str| match run(call, &dir.join(name), None) {
            Ok(Ran::Returned(value, points, _)) => (value, points),
            Ok(Ran::Interrupted | Ran::NotReached) => unreachable!("no interruption was armed"),
            Err(payload) => std::panic::resume_unwind(payload),
        };
        let (uninterrupted, points) = ran("uninterrupted");
        if !points
            .iter()
            .any(|point| matches!(point, Point::Save { .. }))
        {
            panic!(
                "resumable::proof: the call reached no checkpoint, so there is nothing to \
                 interrupt: give it more iterations than `every` (and run its loops on the \
                 calling thread, not on another runtime's workers)"
            );
        }
        let (again, _) = ran("again");
        if again != uninterrupted {
            panic!(
                "resumable::proof: two uninterrupted calls returned different values, so no \
                 resumed call can return the uninterrupted value: the call reads something \
                 that is not its arguments and state (a global RNG or counter, the clock)\n\
                 {}{SEE}",
                differ("first", &uninterrupted, "second", &again)
            );
        }
        Proof {
            call,
            dir,
            uninterrupted,
            points,
        }
    }

    /// For each chosen point: interrupts a run there with `interrupted`, resumes it, and
    /// compares.
    fn interrupt(&self, action: Action, interrupted: impl Fn(&Self, usize, &Path) -> Ran<T>) {
        // A loop that saves by time passes other boundaries in every run: a point it does not
        // reach is skipped, as long as one is reached.
        let timed = self
            .points
            .iter()
            .any(|point| matches!(point, Point::Save { timed: true, .. }));
        let mut reached = 0;
        for at in chosen(&self.points) {
            let what = describe(action, at, &self.points);
            let dir = self.dir.join(&format!("{at}-{action:?}"));
            match interrupted(self, at, &dir) {
                Ran::Interrupted => reached += 1,
                Ran::Returned(..) | Ran::NotReached if timed => continue,
                Ran::Returned(..) | Ran::NotReached => panic!(
                    "resumable::proof: {what} was never reached: the interrupted run passed \
                     fewer checkpoints than the uninterrupted one (in a new process, for a \
                     kill), so it does other work"
                ),
            }
            let left_checkpoint = holds_checkpoint(&dir);
            wait_for_locks(&dir);
            let resumed = match run(self.call, &dir, None) {
                Ok(Ran::Returned(value, _, resumed)) => {
                    if left_checkpoint && !resumed {
                        panic!(
                            "resumable::proof: after {what}, the next call started from the \
                             beginning although the interrupted one left a checkpoint: the \
                             call's key differs from call to call (an argument such as a \
                             temporary path or a time); say what identifies the work with \
                             `key = …` on the attribute"
                        );
                    }
                    value
                }
                Ok(Ran::Interrupted | Ran::NotReached) => {
                    unreachable!("no interruption was armed")
                }
                Err(payload) => panic!(
                    "resumable::proof: after {what}, the resumed call panicked: {}",
                    panic_text(&*payload)
                ),
            };
            if resumed != self.uninterrupted {
                panic!(
                    "resumable::proof: after {what}, the resumed call returned another value \
                     than an uninterrupted call\n{}{SEE}",
                    differ("uninterrupted", &self.uninterrupted, "resumed", &resumed)
                );
            }
        }
        if reached == 0 {
            panic!(
                "resumable::proof: no run was interrupted: the loop saves by time, and no run \
                 reached the saves the first one made; give it more iterations or a shorter \
                 interval"
            );
        }
    }

    /// A run in `dir` that panics at point `at`.
    fn panic_at(&self, at: usize, dir: &Path) -> Ran<T> {
        match run(self.call, dir, Some((at, Action::Panic))) {
            Ok(ran) => ran,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }

    /// A run in `dir`, in a child process, that is killed at point `at`.
    fn kill_at(&self, test: &str, order: usize, at: usize, dir: &Path) -> Ran<T> {
        let exe = std::env::current_exe()
            .unwrap_or_else(|err| panic!("resumable::proof: cannot find the test binary: {err}"));
        let output = std::process::Command::new(exe)
            .args([test, "--exact", "--include-ignored", "--test-threads=1"])
            .arg("--nocapture")
            .env(KILL_AT, format!("{order}:{at}"))
            .env(CHILD_DIR, dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("resumable::proof: cannot run the test binary: {err}"));
        if killed(&output.status) {
            return Ran::Interrupted;
        }
        let what = describe(Action::Kill, at, &self.points);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if text.contains(NOT_REACHED_LINE) {
            return Ran::NotReached;
        }
        if output.status.success() {
            panic!(
                "resumable::proof: the test binary ran no test named `{test}` to re-run for \
                 {what}:\n{text}"
            );
        }
        panic!(
            "resumable::proof: the child process for {what} did not die there; it ended with \
             {}:\n{text}",
            output.status
        );
    }
}

/// What the child prints when its call ended before the point.
const NOT_REACHED_LINE: &str = "resumable::proof: the child's call ended before its point";

/// In the child process: the call `order` of the test dies at the point `child` names; the
/// calls before it are not run at all.
fn in_child<T, F>(call: &F, order: usize, child: &str)
where
    F: Fn() -> T + Sync,
    T: Send,
{
    let parsed = child
        .split_once(':')
        .and_then(|(order, at)| Some((order.parse::<usize>().ok()?, at.parse::<usize>().ok()?)));
    let Some((target, at)) = parsed else {
        panic!("resumable::proof: {KILL_AT}={child} is not <order>:<point>");
    };
    if order != target {
        return;
    }
    let dir = std::env::var_os(CHILD_DIR).map_or_else(TempDir::path, PathBuf::from);
    if let Err(payload) = run(call, &dir, Some((at, Action::Kill))) {
        std::panic::resume_unwind(payload);
    }
    eprintln!("{NOT_REACHED_LINE}");
    std::process::exit(NOT_REACHED);
}

/// Whether the child died of the SIGKILL (or, where there are no signals, the abort).
fn killed(status: &std::process::ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        status.signal() == Some(signal_hook::consts::SIGKILL)
    }
    #[cfg(not(unix))]
    {
        !status.success() && status.code() != Some(NOT_REACHED) && status.code() != Some(101)
    }
}

/// The test this thread runs, by the name libtest gave the thread.
fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => panic!(
            "resumable::proof::assert_resumes_killed re-runs the test in a child process by \
             its name, which libtest gives the test's thread: call it on that thread, in a \
             #[test] (or use assert_resumes, which needs no child)"
        ),
    }
}

/// Runs the call once on a new thread (fresh thread-locals, as in a new process), with its
/// checkpoints in `dir` and the interruption `at`. `Err` is the call's own panic.
fn run<T, F>(
    call: &F,
    dir: &Path,
    at: Option<(usize, Action)>,
) -> Result<Ran<T>, Box<dyn Any + Send>>
where
    F: Fn() -> T + Sync,
    T: Send,
{
    let name = std::thread::current()
        .name()
        .unwrap_or("resumable-proof")
        .to_owned();
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn_scoped(scope, || {
                let _dir = crate::config::thread_dir(dir.to_owned());
                let armed = interrupt::arm(at);
                let value = call();
                (value, armed.passed(), armed.resumed() > 0)
            });
        let thread =
            thread.unwrap_or_else(|err| panic!("resumable::proof: cannot start a thread: {err}"));
        match thread.join() {
            Ok((value, passed, resumed)) => Ok(Ran::Returned(value, passed, resumed)),
            Err(payload) if payload.is::<Interrupted>() => Ok(Ran::Interrupted),
            Err(payload) => Err(payload),
        }
    })
}

/// Whether an interrupted run left a checkpoint in `dir` (a log, or its next or previous
/// generation).
fn holds_checkpoint(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            [".ckpt", ".ckpt.next", ".ckpt.prev"]
                .iter()
                .any(|end| name.ends_with(end))
        })
    })
}

/// Waits (up to 5 s) until no one holds a lock in `dir`. The interrupted run let go of its
/// lock, but a process that another test spawned at that moment may still hold a copy of it,
/// until it execs: the resume would be refused as a second call of the same checkpoint.
fn wait_for_locks(dir: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().ends_with(".lock") {
            continue;
        }
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        while let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
            if std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// The points interrupted: the first, a middle and the last save, and the end of the loop
/// after the last save.
fn chosen(points: &[Point]) -> Vec<usize> {
    let saves: Vec<usize> = (0..points.len())
        .filter(|&at| matches!(points[at], Point::Save { .. }))
        .collect();
    let (Some(&first), Some(&last)) = (saves.first(), saves.last()) else {
        return Vec::new();
    };
    let mut chosen = vec![first, saves[saves.len() / 2], last];
    chosen.extend((last + 1..points.len()).find(|&at| matches!(points[at], Point::End { .. })));
    chosen.dedup();
    chosen
}

/// "a panic at the boundary of sum after 50 iterations (save 5 of 9), before its save".
fn describe(action: Action, at: usize, points: &[Point]) -> String {
    let action = match action {
        Action::Panic => "a panic",
        Action::Kill => "a SIGKILL (in a child process)",
    };
    let saves = points
        .iter()
        .filter(|point| matches!(point, Point::Save { .. }))
        .count();
    let nth = points[..at]
        .iter()
        .filter(|point| matches!(point, Point::Save { .. }))
        .count()
        + 1;
    match &points[at] {
        Point::Save {
            function, index, ..
        } => format!(
            "{action} at {function}'s checkpoint boundary after {index} iterations (save {nth} \
             of {saves}), before its save"
        ),
        Point::End { function } => {
            format!("{action} as {function}'s loop ended, after its last save")
        }
    }
}

/// Both values' `Debug`, and the first line where they differ.
fn differ<T: Debug>(a_name: &str, a: &T, b_name: &str, b: &T) -> String {
    let (a_text, b_text) = (format!("{a:#?}"), format!("{b:#?}"));
    let (a_name, b_name) = (format!("{a_name}:"), format!("{b_name}:"));
    let width = a_name.len().max(b_name.len());
    let mut text = if a_text.lines().count() == 1 && b_text.lines().count() == 1 {
        format!("  {a_name:width$} {a_text}\n  {b_name:width$} {b_text}\n")
    } else {
        format!("  {a_name}\n{a_text}\n  {b_name}\n{b_text}\n")
    };
    let first = a_text
        .lines()
        .zip(b_text.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| a_text.lines().count().min(b_text.lines().count()));
    if a_text.lines().count() > 1 || b_text.lines().count() > 1 {
        let line = |text: &str| {
            text.lines()
                .nth(first)
                .unwrap_or("(no more lines)")
                .to_owned()
        };
        text.push_str(&format!(
            "  first difference, line {} of the Debug text:\n  {a_name:width$} {}\n  \
             {b_name:width$} {}\n",
            first + 1,
            line(&a_text),
            line(&b_text)
        ));
    }
    text
}

/// The pointer every failure ends with.
const SEE: &str = "A resumed call computes again everything that is not in the checkpoint, so \
    a value that differs means the loop changes something the checkpoint does not hold: state \
    that the attribute cannot see (a global or thread-local RNG or counter read through a \
    function, a `let mut` written by a macro) or an input that comes out otherwise in another \
    run. See \"What is state\" in the docs of #[resumable] \
    (https://docs.rs/resumable/latest/resumable/attr.resumable.html#what-is-state).";

/// A panic's message, if it has one.
fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
        })
        .unwrap_or_else(|| "(a payload that is not text)".to_owned())
}

/// A fresh temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = TempDir::path();
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|err| {
            panic!("resumable::proof: cannot create {}: {err}", path.display())
        });
        TempDir(path)
    }

    /// A path no other check of this process (or of an earlier one with its id) uses.
    fn path() -> PathBuf {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos());
        std::env::temp_dir().join(format!(
            "resumable-proof-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(index: u64) -> Point {
        Point::Save {
            function: "f",
            index,
            timed: false,
        }
    }

    #[test]
    fn the_first_a_middle_and_the_last_save_and_the_end_after_them_are_chosen() {
        let end = Point::End { function: "f" };
        let points = [save(10), save(20), save(30), save(40), end.clone()];
        assert_eq!(chosen(&points), [0, 2, 3, 4]);
        assert_eq!(chosen(&[save(10), end.clone()]), [0, 1]);
        // An inner call's end before the last save is not the loop's end after it.
        assert_eq!(chosen(&[save(10), end.clone(), save(20)]), [0, 2]);
        assert_eq!(chosen(&[end]), [0usize; 0]);
    }

    #[test]
    fn a_failure_shows_both_values_and_the_first_line_that_differs() {
        let text = differ("uninterrupted", &vec![1, 2, 3], "resumed", &vec![1, 5, 3]);
        assert!(
            text.contains("  uninterrupted:\n[\n    1,\n    2,"),
            "{text}"
        );
        assert!(
            text.contains("first difference, line 3 of the Debug text:\n  uninterrupted:     2,\n  resumed:           5,"),
            "{text}"
        );
        let text = differ("first", &4950, "second", &4905);
        assert_eq!(text, "  first:  4950\n  second: 4905\n");
    }

    #[test]
    fn a_point_is_described_by_function_iterations_and_save() {
        let points = [save(10), save(20), Point::End { function: "f" }];
        assert_eq!(
            describe(Action::Panic, 1, &points),
            "a panic at f's checkpoint boundary after 20 iterations (save 2 of 2), before its save"
        );
        assert_eq!(
            describe(Action::Kill, 2, &points),
            "a SIGKILL (in a child process) as f's loop ended, after its last save"
        );
    }
}
