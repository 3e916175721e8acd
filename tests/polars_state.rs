//! A polars `DataFrame` as loop state (issue 26, the `polars` feature): a frame grown by
//! `vstack` checkpoints only its new rows, found growing or declared in `append(...)`; it
//! resumes, after a panic or a kill, to the uninterrupted frame (values bit for bit, dtypes,
//! names, row order and chunks); a saved row changed makes the found frame's next checkpoint
//! whole, and is refused for a declared one.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, panic_of, scratch};
use polars::prelude::{ChunkAgg as _, Column, DataFrame, NamedFrom as _, Series};
use resumable::inspect::PartInfo;
use resumable::resumable;

/// Rows per batch.
const BATCH: usize = 500;

static GROW_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static GROW_RUNS: AtomicU64 = AtomicU64::new(0);
static CHANGE_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static DECLARED_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// The rows `from..from + rows`: an id, a float whose sum depends on the order it is taken
/// in, a string, and an integer with nulls.
fn batch(from: usize, rows: usize) -> DataFrame {
    let range = from..from + rows;
    let ids: Vec<i64> = range.clone().map(|r| r as i64).collect();
    let x: Vec<f64> = range
        .clone()
        .map(|r| (r as f64 * 0.618_033_988_749_895).fract() * 10f64.powi((r % 9) as i32 - 3))
        .collect();
    let tag: Vec<String> = range.clone().map(|r| format!("tag-{}", r % 13)).collect();
    let maybe: Vec<Option<i32>> = range.map(|r| (r % 7 != 0).then_some(r as i32)).collect();
    DataFrame::new(
        rows,
        vec![
            Column::new("id".into(), ids),
            Column::new("x".into(), x),
            Column::new("tag".into(), tag),
            Column::new("maybe".into(), maybe),
        ],
    )
    .unwrap()
}

/// The frame's values bit for bit, row by row, with its dtypes, names and chunks.
fn exact(df: &DataFrame) -> String {
    let mut text = format!("{:?}\n", df.schema());
    for column in df.columns() {
        let series = column.as_materialized_series();
        let chunks: Vec<usize> = series.chunk_lengths().collect();
        text += &format!("{} chunks {chunks:?}\n", series.name());
    }
    let column = |name: &str| df.column(name).unwrap().as_materialized_series().clone();
    let x = column("x");
    for (row, (((id, x), tag), maybe)) in column("id")
        .i64()
        .unwrap()
        .iter()
        .zip(x.f64().unwrap().iter())
        .zip(column("tag").str().unwrap().iter())
        .zip(column("maybe").i32().unwrap().iter())
        .enumerate()
    {
        text += &format!("{row} {id:?} {:?} {tag:?} {maybe:?}\n", x.map(f64::to_bits));
    }
    text
}

/// The `x` column's sum, bit for bit: polars adds each chunk's sum.
fn sum_bits(df: &DataFrame) -> u64 {
    let x = df.column("x").unwrap().as_materialized_series();
    x.f64().unwrap().sum().unwrap().to_bits()
}

/// The newest record's part for the frame (its only binding).
fn newest_part(name: &str) -> Option<PartInfo> {
    let path = common::find_checkpoint(Path::new(".resumable"), name)?;
    let info = resumable::inspect::inspect(&path);
    let (_, record) = info.newest?;
    record.parts.first().cloned()
}

#[resumable(every = 4, name = "polars-grow", skip(GROW_RUNS))]
fn grow(batches: usize) -> DataFrame {
    let mut df = DataFrame::empty();
    for b in 0..batches {
        GROW_RUNS.fetch_add(1, SeqCst);
        if GROW_FAIL_AT.load(SeqCst) == b as u64 {
            panic!("failing batch {b}");
        }
        df.vstack_mut_owned(batch(b * BATCH, BATCH)).unwrap();
    }
    df
}

#[test]
fn a_frame_found_growing_resumes_to_the_same_frame_and_writes_only_new_rows() {
    fresh("polars-grow");
    let uninterrupted = grow(30);
    assert_eq!(uninterrupted.height(), 30 * BATCH);
    assert_eq!(
        uninterrupted.column("x").unwrap().n_chunks(),
        30,
        "vstack keeps each batch's chunk"
    );

    // Stopped at batch 13: the record saved then holds batch 12's rows, appended to the chain.
    fresh("polars-grow");
    GROW_FAIL_AT.store(13, SeqCst);
    let message = panic_of(|| grow(30));
    assert!(message.contains("failing batch 13"), "{message}");
    let Some(PartInfo::Elements {
        from,
        to,
        len: at_13,
    }) = newest_part("polars-grow")
    else {
        panic!(
            "the frame is saved as pieces: {:?}",
            newest_part("polars-grow")
        );
    };
    assert!(from > 0 && to == from + 1, "one new piece: {from}..{to}");

    // Stopped at batch 26 instead (resuming from 13, checkpoints at 17, 21, 25): the newest
    // record again holds one piece, batch 25's rows, the same size as at 13, not 2x.
    GROW_FAIL_AT.store(26, SeqCst);
    let message = panic_of(|| grow(30));
    assert!(message.contains("failing batch 26"), "{message}");
    let Some(PartInfo::Elements {
        from,
        to,
        len: at_26,
    }) = newest_part("polars-grow")
    else {
        panic!("pieces");
    };
    assert!(from > 0 && to == from + 1, "one new piece: {from}..{to}");
    let batch_bytes = (BATCH * (8 + 8 + 8 + 4)) as u64;
    assert!(
        at_26 < batch_bytes * 2 && at_26.abs_diff(at_13) < at_13 / 10,
        "only the new rows: {at_13} bytes at 13, {at_26} at 26 (a batch is ~{batch_bytes})"
    );

    GROW_FAIL_AT.store(u64::MAX, SeqCst);
    GROW_RUNS.store(0, SeqCst);
    let resumed = grow(30);
    assert_eq!(GROW_RUNS.load(SeqCst), 4, "batches 26 to 29 only");
    assert_eq!(exact(&resumed), exact(&uninterrupted));
    assert!(resumed.equals_missing(&uninterrupted));
    assert_eq!(sum_bits(&resumed), sum_bits(&uninterrupted));
}

/// A frame whose row `row` has another `id`, in the same chunks as before.
fn with_id_changed(df: &DataFrame, row: usize) -> DataFrame {
    let ids = df.column("id").unwrap().as_materialized_series();
    let mut values: Vec<i64> = ids.i64().unwrap().into_no_null_iter().collect();
    values[row] = -1;
    let whole = Series::new("id".into(), values);
    let mut at = 0;
    let mut rebuilt: Option<Series> = None;
    for len in ids.chunk_lengths() {
        let part = whole.slice(at as i64, len);
        at += len;
        match &mut rebuilt {
            None => rebuilt = Some(part),
            Some(rebuilt) => {
                rebuilt.append(&part).unwrap();
            }
        }
    }
    let mut changed = df.clone();
    changed.replace("id", rebuilt.unwrap().into()).unwrap();
    changed
}

#[resumable(every = 4, name = "polars-change")]
fn change(batches: usize) -> DataFrame {
    let mut df = DataFrame::empty();
    for b in 0..batches {
        if CHANGE_FAIL_AT.load(SeqCst) == b as u64 {
            panic!("failing batch {b}");
        }
        if b == 10 {
            // Row 3 was saved by the checkpoint at 8; its chunks stay as they were.
            df = with_id_changed(&df, 3);
        }
        df.vstack_mut_owned(batch(b * BATCH, BATCH)).unwrap();
    }
    df
}

#[test]
fn a_saved_row_changed_makes_the_next_checkpoint_whole_and_the_resume_right() {
    fresh("polars-change");
    let uninterrupted = change(16);
    assert_eq!(
        uninterrupted.column("id").unwrap().i64().unwrap().get(3),
        Some(-1)
    );

    // The checkpoint at 12 found row 3 changed: it held the frame whole (one piece), so the
    // record saved at 13 is that chain's second piece (it would be the fifth: 4, 8, 12, 13).
    fresh("polars-change");
    CHANGE_FAIL_AT.store(13, SeqCst);
    panic_of(|| change(16));
    let part = newest_part("polars-change");
    assert!(
        matches!(part, Some(PartInfo::Elements { from: 1, to: 2, .. })),
        "the chain starts again at 12: {part:?}"
    );
    CHANGE_FAIL_AT.store(u64::MAX, SeqCst);
    let resumed = change(16);
    assert_eq!(exact(&resumed), exact(&uninterrupted));
    assert_eq!(sum_bits(&resumed), sum_bits(&uninterrupted));
}

#[resumable(every = 4, name = "polars-declared", append(df))]
fn declared(batches: usize, change_at: u64, drop_at: u64) -> DataFrame {
    let mut df = DataFrame::empty();
    for b in 0..batches {
        if DECLARED_FAIL_AT.load(SeqCst) == b as u64 {
            panic!("failing batch {b}");
        }
        if b as u64 == change_at {
            // The last row the checkpoint at 8 saved.
            df = with_id_changed(&df, 8 * BATCH - 1);
        }
        if b as u64 == drop_at {
            df = df.drop("tag").unwrap();
            df.vstack_mut_owned(batch(b * BATCH, BATCH).drop("tag").unwrap())
                .unwrap();
            continue;
        }
        if b as u64 > drop_at {
            df.vstack_mut_owned(batch(b * BATCH, BATCH).drop("tag").unwrap())
                .unwrap();
            continue;
        }
        df.vstack_mut_owned(batch(b * BATCH, BATCH)).unwrap();
    }
    df
}

#[test]
fn a_declared_frame_resumes_and_a_changed_saved_row_or_column_is_refused() {
    fresh("polars-declared");
    let uninterrupted = declared(20, u64::MAX, u64::MAX);
    fresh("polars-declared");
    DECLARED_FAIL_AT.store(11, SeqCst);
    panic_of(|| declared(20, u64::MAX, u64::MAX));
    let part = newest_part("polars-declared");
    assert!(
        matches!(part, Some(PartInfo::Elements { from, .. }) if from > 0),
        "{part:?}"
    );
    DECLARED_FAIL_AT.store(u64::MAX, SeqCst);
    let resumed = declared(20, u64::MAX, u64::MAX);
    assert_eq!(exact(&resumed), exact(&uninterrupted));

    // Row 3999, saved at 8, changed at 10: the checkpoint at 12 is refused, 8 stays.
    fresh("polars-declared");
    let text = panic_of(|| declared(20, 10, u64::MAX));
    assert!(text.contains("`df`"), "{text}");
    assert!(
        text.contains(&format!(
            "its row {} changed after it was saved",
            8 * BATCH - 1
        )),
        "{text}"
    );
    assert_eq!(
        common::saved_index(
            &common::find_checkpoint(Path::new(".resumable"), "polars-declared").unwrap()
        ),
        Some(8)
    );

    // A column dropped at 10: refused at 12, naming the columns.
    fresh("polars-declared");
    let text = panic_of(|| declared(20, u64::MAX, 10));
    assert!(text.contains("its columns changed"), "{text}");
    assert!(text.contains("tag: str"), "{text}");
    fresh("polars-declared");
}

/// The bench program killed (it exits at a batch's start, no unwinding) and run again prints
/// the uninterrupted run's frame: digest, chunks and sum bit for bit.
#[test]
fn a_killed_process_resumes_to_the_uninterrupted_frame() {
    let dir = scratch("polars-killed");
    let program = env!("CARGO_BIN_EXE_resumable-polars-rows");
    let run = |mode: &str, stop: Option<&str>| {
        let mut command = Command::new(program);
        command
            .args([mode, "200000", "2000"])
            .env("RESUMABLE_DIR", &dir)
            .env_remove("STOP_AT");
        if let Some(stop) = stop {
            command.env("STOP_AT", stop);
        }
        command.output().unwrap()
    };
    let frame = |output: &std::process::Output| {
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.split(" peak_kb").next().unwrap().to_owned()
    };
    let plain = run("plain", None);
    assert!(plain.status.success());
    for mode in ["resumable", "declared"] {
        let killed = run(mode, Some("57"));
        assert_eq!(killed.status.code(), Some(3), "{mode}");
        let resumed = run(mode, None);
        let stderr = String::from_utf8_lossy(&resumed.stderr);
        assert!(resumed.status.success(), "{mode}: {stderr}");
        assert!(stderr.contains("at iteration 40"), "{mode}: {stderr}");
        assert_eq!(frame(&resumed), frame(&plain), "{mode}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
