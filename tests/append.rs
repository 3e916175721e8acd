//! Sequences that only grow: `append(...)` and the verified growth the runtime finds by itself.
//! A checkpoint then writes only the new elements, a resumed run still returns what an
//! uninterrupted run returns, and a sequence that did not only grow is either saved whole
//! (found growth) or refused with an error that names it (declared growth).
//!
//! Every function has its own checkpoint `name` and its own iteration counter.

mod common;

use std::fs;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, panic_of, previous, saved_index, take};
use resumable::resumable;

static APPEND_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 100, name = "append-vec", append(results, log), key = (), skip(APPEND_RUNS))]
fn squares_and_text(n: u64, panic_at: Option<u64>) -> (Vec<u64>, String) {
    let mut results = Vec::new();
    let mut log = String::new();
    for i in 0..n {
        APPEND_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        results.push(i * i);
        log.push_str(if i % 3 == 0 { "é" } else { "x" });
    }
    (results, log)
}

#[test]
fn declared_append_only_state_resumes_exactly_and_writes_only_what_was_appended() {
    let path = fresh("append-vec");
    let uninterrupted = squares_and_text(10_000, None);
    assert_eq!(take(&APPEND_RUNS), 10_000);

    panic_of(|| squares_and_text(10_000, Some(9_950)));
    assert_eq!(take(&APPEND_RUNS), 9_951);
    assert_eq!(saved_index(&path), Some(9_950));
    // 100 checkpoints of a growing state, in one log: about the size of the final state (a
    // whole snapshot each time would be ~50 times that).
    let state_size = postcard::to_allocvec(&uninterrupted).unwrap().len();
    let log_size = fs::metadata(&path).unwrap().len() as usize;
    assert!(
        log_size < state_size * 3 / 2,
        "the log is {log_size} bytes for a state of {state_size}"
    );

    assert_eq!(squares_and_text(10_000, None), uninterrupted);
    assert_eq!(take(&APPEND_RUNS), 50);
    assert!(!path.exists());
}

static SHRINK_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10, name = "append-shrinks", append(kept), key = (), skip(SHRINK_RUNS))]
fn keep_some(n: u64, clear_at: u64, edit_at: u64) -> Vec<u64> {
    let mut kept = Vec::new();
    for i in 0..n {
        SHRINK_RUNS.fetch_add(1, SeqCst);
        if i == clear_at {
            kept.clear();
        }
        if i == edit_at {
            // The element the last checkpoint (at a multiple of 10) saved last.
            kept[(i / 10 * 10 - 1) as usize] += 1;
        }
        kept.push(i);
    }
    kept
}

#[test]
fn declared_append_only_state_that_shrinks_or_changes_is_refused_and_the_checkpoint_kept() {
    let path = fresh("append-shrinks");
    let text = panic_of(|| keep_some(100, 25, u64::MAX));
    assert!(text.contains("`kept`"), "{text}");
    assert!(text.contains("shrank from 20 to 5 elements"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(
        take(&SHRINK_RUNS),
        30,
        "stopped at the save after the clear"
    );
    assert_eq!(
        saved_index(&path),
        Some(20),
        "the checkpoint before is intact"
    );
    fresh("append-shrinks");

    // Iteration 35 edits the element saved last (index 29): caught at the save at 40.
    let text = panic_of(|| keep_some(100, u64::MAX, 35));
    assert!(text.contains("its element 29 changed"), "{text}");
    assert_eq!(saved_index(&path), Some(30));
    fresh("append-shrinks");
    take(&SHRINK_RUNS);
}

static FOUND_RUNS: AtomicU64 = AtomicU64::new(0);

/// No hint: `values` grows, but every 7th iteration rewrites an old element, and `names`
/// (a `String` element type) only grows. Whatever the runtime saves must restore exactly.
#[resumable(every = 5, name = "append-found", key = (), skip(FOUND_RUNS))]
fn found_growth(n: u64, panic_at: Option<u64>) -> (Vec<u64>, Vec<String>, String) {
    let mut values: Vec<u64> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut text = String::new();
    for i in 0..n {
        FOUND_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        values.push(i);
        if i % 7 == 6 {
            values[(i / 2) as usize] += 1000;
        }
        if i % 11 == 10 {
            text.clear();
        }
        names.push(format!("n{i}"));
        text.push_str(&i.to_string());
    }
    (values, names, text)
}

#[test]
fn found_growth_is_verified_so_edits_of_saved_elements_still_resume_exactly() {
    let path = fresh("append-found");
    let uninterrupted = found_growth(200, None);
    take(&FOUND_RUNS);
    for panic_at in [3, 6, 7, 44, 100, 133, 199] {
        panic_of(|| found_growth(200, Some(panic_at)));
        assert_eq!(saved_index(&path), Some(panic_at));
        assert_eq!(
            found_growth(200, None),
            uninterrupted,
            "panic at {panic_at}"
        );
        assert!(!path.exists());
    }
    take(&FOUND_RUNS);
}

static COMPACT_RUNS: AtomicU64 = AtomicU64::new(0);

/// A whole part big enough that the log outgrows its compaction bound (1 MiB) every ~20
/// records, beside a growing one whose chain must survive each compaction.
#[resumable(every = 1, name = "append-compaction", key = (), skip(COMPACT_RUNS))]
fn compacting(n: u64, panic_at: Option<u64>) -> (Vec<u64>, u64) {
    let mut grown: Vec<u64> = Vec::new();
    let mut blob: Option<Vec<u64>> = Some(vec![u64::MAX; 8_000]);
    for i in 0..n {
        COMPACT_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        grown.push(i * 3);
        if let Some(blob) = &mut blob {
            blob[i as usize % 8_000] = i;
        }
    }
    let sum = blob.map_or(0, |blob| blob.iter().fold(0u64, |a, b| a.wrapping_add(*b)));
    (grown, sum)
}

#[test]
fn growing_state_survives_compaction_into_new_logs() {
    let path = fresh("append-compaction");
    let uninterrupted = compacting(120, None);
    panic_of(|| compacting(120, Some(90)));
    assert_eq!(saved_index(&path), Some(90));
    // 90 records of a 64 KB blob: 5.8 MB uncompacted.
    let size = fs::metadata(&path).unwrap().len();
    assert!(size < 3 << 20, "the log was not compacted: {size} bytes");
    assert!(
        !previous(&path).exists(),
        "the log before the compaction outlived it"
    );
    assert_eq!(compacting(120, None), uninterrupted);
    assert_eq!(take(&COMPACT_RUNS), 120 + 91 + 30);
    assert!(!path.exists() && !previous(&path).exists());
}

static RESUMED_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 100, name = "append-resumed", append(results, log), key = (), skip(RESUMED_RUNS))]
fn squares_resumed(n: u64, panic_at: Option<u64>) -> (Vec<u64>, String) {
    let mut results = Vec::new();
    let mut log = String::new();
    for i in 0..n {
        RESUMED_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        results.push(i * i);
        log.push_str(if i % 3 == 0 { "é" } else { "x" });
    }
    (results, log)
}

/// The records of the checkpoint's log: (seq, index, parts).
fn records(path: &std::path::Path) -> Vec<(u64, u64, Vec<resumable::inspect::PartInfo>)> {
    let info = resumable::inspect::inspect(path);
    assert_eq!(info.files.len(), 1, "the log alone: {:?}", info.files);
    info.files[0]
        .records
        .iter()
        .map(|record| (record.seq, record.index, record.parts.clone()))
        .collect()
}

/// A run that resumes goes on appending to the log it resumed from: its first checkpoint
/// holds only what was appended since the last one of the run before, not the whole state
/// in a new log (O(new data) across runs, and no second copy on a nearly full disk).
#[test]
fn a_resumed_run_appends_to_the_log_it_resumed_from() {
    use resumable::inspect::PartInfo;
    let path = fresh("append-resumed");
    let uninterrupted = squares_resumed(1_000, None);
    take(&RESUMED_RUNS);

    panic_of(|| squares_resumed(1_000, Some(450)));
    let first = records(&path);
    assert_eq!(first.last().map(|record| record.1), Some(450));

    panic_of(|| squares_resumed(1_000, Some(750)));
    let second = records(&path);
    assert_eq!(
        &second[..first.len()],
        &first[..],
        "the first run's records were kept"
    );
    let added = &second[first.len()..];
    assert_eq!(
        added.iter().map(|record| record.1).collect::<Vec<_>>(),
        // Every 100 from 450, then the failure's own save.
        [550, 650, 750, 750]
    );
    let mut before = 450;
    for (seq, index, parts) in added {
        match &parts[0] {
            PartInfo::Elements { from, to, .. } => {
                assert_eq!((*from, *to), (before, *index), "record {seq}");
            }
            whole => panic!("record {seq} holds `results` as {whole:?}, not its new elements"),
        }
        before = *index;
    }
    assert_eq!(squares_resumed(1_000, None), uninterrupted);
    assert_eq!(take(&RESUMED_RUNS), 451 + 301 + 250);
    assert!(!path.exists());
}

static RESUMED_FOUND_RUNS: AtomicU64 = AtomicU64::new(0);

/// A `Vec` of plain items with no `append(...)`: its growth is found. Element 3 changes in
/// iteration 460, in every run.
#[resumable(every = 100, name = "found-resumed", key = (), skip(RESUMED_FOUND_RUNS))]
fn squares_found(n: u64, panic_at: Option<u64>) -> Vec<u64> {
    let mut results: Vec<u64> = Vec::new();
    for i in 0..n {
        RESUMED_FOUND_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        results.push(i * i);
        if i == 460 {
            results[3] += 1;
        }
    }
    results
}

/// The first save of a resumed run checks a found-growing `Vec` against its bytes in the
/// checkpoint: unchanged, only its new elements are appended; changed in place after the
/// resume (element 3, in iteration 460), it is saved whole, so a later resume gets the change.
#[test]
fn a_resumed_run_appends_found_growth_only_when_the_restored_elements_did_not_change() {
    use resumable::inspect::PartInfo;
    let path = fresh("found-resumed");
    let uninterrupted = squares_found(1_000, None);
    take(&RESUMED_FOUND_RUNS);

    // Resumed at 350 and saved at 450 without a change: appended.
    panic_of(|| squares_found(1_000, Some(350)));
    panic_of(|| squares_found(1_000, Some(455)));
    let first = records(&path);
    let at_450 = first.iter().find(|record| record.1 == 450).unwrap();
    assert!(
        matches!(at_450.2[0], PartInfo::Elements { from, to, .. } if (from, to) == (350, 450)),
        "{:?}",
        at_450.2
    );
    // Resumed at 455; element 3 changes at 460, before the save at 555: saved whole.
    panic_of(|| squares_found(1_000, Some(750)));
    let second = records(&path);
    let at_555 = second.iter().find(|record| record.1 == 555).unwrap();
    assert!(
        matches!(at_555.2[0], PartInfo::Elements { from, to, .. } if (from, to) == (0, 555)),
        "{:?}",
        at_555.2
    );
    assert_eq!(squares_found(1_000, None), uninterrupted);
    assert!(!path.exists());
}
