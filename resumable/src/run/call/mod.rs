//! One call of a `#[resumable]` function: where its checkpoint lives, what it restores, when it
//! saves. Generated code drives a [`Run`] through `__private`; nothing here is public API.
//!
//! A file per role, each an `impl Run` of its own: `open` (the lock, recovery, the resume
//! message, `RESUMABLE_RESET`), `restore` (the state read back, binding by binding), `prepare`
//! (the iterator skipped or put back where it stood), `boundary` (when a save is due, and the
//! save), `finish` (the loop's end: complete, stopped, aborted), `failure` (what a failure
//! saves and says, and the panic of a function that cannot return the error).

mod boundary;
mod failure;
mod finish;
mod open;
mod prepare;
mod restore;

pub use failure::fail;
pub use restore::Restore;

use std::path::PathBuf;
use std::sync::Arc;

use crate::format::checkpoint::Loaded;
use crate::run::progress::Progress;
use crate::run::save::{Encoded, Saver};
use crate::run::signals::Watch;
use crate::run::ticker::Ticker;
use crate::store::files::Generations;
use crate::store::fs::Fs;
use crate::store::lock::Lock;
use crate::store::remote::Remote;

use open::ResumeMessage;
use restore::Restored;

/// The checkpoint of one call: loaded on entry, saved while the loop runs, removed at the end.
pub struct Run {
    /// The filesystem its checkpoint's files are on, given once by [`Run::start`] (the
    /// process's) and shared with the saver and its syncer thread.
    fs: Arc<dyn Fs>,
    function: &'static str,
    generations: Generations,
    start: u64,
    /// On resume: the fingerprint the item at this iteration must have (`Loaded::checked`).
    /// At the iteration resumed at, it is checked at the first boundary; at an earlier one
    /// (the save resumed from came after a failure and holds none), while the iterator skips.
    expected: Option<(u64, u64)>,
    /// The checkpoint to restore, and the file it came from.
    loaded: Option<(Loaded, PathBuf)>,
    /// Writes the checkpoints: the log, its background syncer, what was saved of each binding.
    saver: Saver,
    /// What the restore found of the bindings declared in `append(...)`: the next save
    /// appends to them after checking they only grew (see [`Restore::appended_restored`]).
    restored: Arc<Restored>,
    /// Per binding, in the log the run goes on appending to: the elements its newest record
    /// holds of it, if saved as a sequence. A restored binding's growth is taken only if it
    /// matches, so a next record never continues a chain the log does not have (a binding
    /// saved whole by another build, say, now declared in `append(...)`).
    continued: Vec<Option<u64>>,
    /// Per binding: whether its shape is one line, a sequence or a string (see [`Restore`]).
    sequences: Arc<[bool]>,
    lock: Option<Lock>,
    /// The object store checkpoints are uploaded to (`RESUMABLE_STORE`), if one is set.
    remote: Option<Remote>,
    /// Signals save and stop the loop while this is set; `end_watch` ends it with the loop.
    watch: Option<Watch>,
    /// A stop that arrived after the loop's last boundary check, taken by `end_watch`.
    pending_stop: Option<usize>,
    /// With `every = "30s"`: the timer that raises the loop's `tick` flag.
    ticker: Option<Ticker>,
    /// Iterations between periodic saves (`u64::MAX` with `every = "30s"`).
    every: u64,
    /// Iterations between boundaries: `every`, or fewer when a progress bar is drawn.
    stride: u64,
    /// Completed iterations at which the next periodic save is due.
    next_save: u64,
    /// The `progress` feature's bar (nothing without it).
    progress: Progress,
    /// A loop nest's resume message, printed once the position is known.
    resume_message: Option<ResumeMessage>,
    /// Whether a nest's inner iterator type was checked by [`Run::skip_inner`].
    inner_checked: bool,
    /// The fingerprints, on entry, of the bindings the loop names without owning them (see
    /// [`crate::__private::Watched`]), compared at every save; `None` when there are none.
    watched: Option<Vec<(&'static str, Option<u64>)>>,
    /// The loop's iterator implements [`Position`](crate::Position): its position is the first
    /// value of each checkpoint.
    positioned: bool,
    /// Where the iterator stood at the last boundary, before it pulled the next item: the
    /// completed iterations and the position's bytes. A save at that index writes it.
    marked: Option<(u64, Encoded)>,
    /// On resume: the saved position's bytes, for [`Run::prepare`].
    resume_position: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Run;
    use crate::run::spec::Spec;
    use crate::testing::sim_fs::{Fault, SimFs};

    /// A run opened on the simulated disk saves there, the next run on that disk resumes from
    /// it, and a completed run removes it: `run/` reaches the files only through the `Fs` it is
    /// given (its lock alone is a real file).
    #[test]
    fn a_run_on_the_simulated_disk_saves_resumes_and_completes_there() {
        let dir = std::env::temp_dir().join(format!("resumable-run-sim-{}", std::process::id()));
        let spec = Spec {
            function: "job",
            path: "tests::job",
            name: "job",
            interval_ms: 0,
            state: &["total"],
            signals: false,
            key: None,
            dir: Some(&dir),
            nest: false,
            code: 1,
            strict: false,
            position: None,
        };
        let shapes = ["u64".to_owned()];
        let sim = Arc::new(SimFs::new(Fault::Healthy));
        let checkpoint = dir.join("job.ckpt");

        let mut first = Run::open(&spec, &shapes, Arc::clone(&sim) as _).unwrap();
        assert_eq!(first.start_index(), 0);
        assert!(first.restore().is_none());
        let mut save = first.save(5, None, &[]);
        save.value(&42u64);
        save.commit().unwrap();
        first.settle();
        drop(first);
        assert_eq!(sim.names(), std::slice::from_ref(&checkpoint));
        assert!(!checkpoint.exists(), "a checkpoint on the real disk");

        let mut second = Run::open(&spec, &shapes, Arc::clone(&sim) as _).unwrap();
        assert_eq!(second.start_index(), 5);
        let mut restore = second.restore().expect("the first run's checkpoint");
        assert_eq!(restore.value::<u64>().unwrap(), 42);
        restore.finish().unwrap();
        second.end_watch();
        second.complete();
        assert!(sim.names().is_empty(), "{:?}", sim.names());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
