//! A polars `DataFrame` grown by `vstack` in batches of rows (issue 26), four ways: found
//! growing (`resumable`, nothing declared), declared (`declared`, `append(df)`), `whole` (the
//! frame in a serde newtype, saved whole by polars' serde at every checkpoint: what the runtime
//! did before the `polars` feature) and `plain` (the same loop without the attribute). `scripts/bench_polars.py` times whole processes of it;
//! `tests/polars_state.rs` kills it (`STOP_AT=k` exits at the start of batch `k`, as a kill:
//! no unwinding, nothing saved) and runs it again.
//!
//! `resumable-polars-rows MODE [ROWS] [BATCH]`: ROWS in all (2,000,000), BATCH rows per
//! iteration (10,000), a checkpoint every 20 iterations (10 in all, by default). Prints the frame's height,
//! chunks, a digest of its values and its `x` column's sum (both bit for bit), and the peak
//! memory of the process.

use polars::prelude::{ChunkAgg as _, Column, DataFrame};
use resumable::resumable;
use serde::{Deserialize, Serialize};

/// The frame through polars' own serde, whole: the runtime's codec is for `DataFrame` itself.
#[derive(Serialize, Deserialize, Default)]
struct Whole(DataFrame);

/// The rows `from..from + rows`: an id, a float whose sum depends on the order it is taken in,
/// and a small integer.
fn batch(from: usize, rows: usize) -> DataFrame {
    let ids: Vec<i64> = (from..from + rows).map(|r| r as i64).collect();
    let x: Vec<f64> = (from..from + rows)
        .map(|r| (r as f64 * 0.618_033_988_749_895).fract() * 10f64.powi((r % 9) as i32 - 3))
        .collect();
    let group: Vec<i32> = (from..from + rows).map(|r| (r % 97) as i32).collect();
    DataFrame::new(
        rows,
        vec![
            Column::new("id".into(), ids),
            Column::new("x".into(), x),
            Column::new("group".into(), group),
        ],
    )
    .expect("columns of one length")
}

/// `STOP_AT`: the batch at whose start the process exits, as if killed.
fn stop_at() -> usize {
    std::env::var("STOP_AT")
        .ok()
        .and_then(|at| at.parse().ok())
        .unwrap_or(usize::MAX)
}

fn maybe_stop(at: usize, stop: usize) {
    if at == stop {
        std::process::exit(3);
    }
}

#[resumable(every = 20, name = "polars-rows", key = (batches, rows))]
fn found(batches: usize, rows: usize) -> DataFrame {
    let stop = stop_at();
    let mut df = DataFrame::empty();
    for b in 0..batches {
        maybe_stop(b, stop);
        df.vstack_mut_owned(batch(b * rows, rows))
            .expect("same columns");
    }
    df
}

#[resumable(every = 20, name = "polars-rows-declared", key = (batches, rows), append(df))]
fn declared(batches: usize, rows: usize) -> DataFrame {
    let stop = stop_at();
    let mut df = DataFrame::empty();
    for b in 0..batches {
        maybe_stop(b, stop);
        df.vstack_mut_owned(batch(b * rows, rows))
            .expect("same columns");
    }
    df
}

#[resumable(every = 20, name = "polars-rows-whole", key = (batches, rows))]
fn whole(batches: usize, rows: usize) -> DataFrame {
    let stop = stop_at();
    let mut df = Whole::default();
    for b in 0..batches {
        maybe_stop(b, stop);
        df.0.vstack_mut_owned(batch(b * rows, rows))
            .expect("same columns");
    }
    df.0
}

fn plain(batches: usize, rows: usize) -> DataFrame {
    let mut df = DataFrame::empty();
    for b in 0..batches {
        df.vstack_mut_owned(batch(b * rows, rows))
            .expect("same columns");
    }
    df
}

/// A digest of every value of the frame, bit for bit, in row order.
fn digest(df: &DataFrame) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut feed = |word: u64| {
        hash ^= word;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    };
    let column = |name: &str| df.column(name).expect("column").as_materialized_series();
    for id in column("id").i64().expect("i64").iter() {
        feed(id.map_or(u64::MAX, |id| id as u64));
    }
    for x in column("x").f64().expect("f64").iter() {
        feed(x.map_or(u64::MAX, f64::to_bits));
    }
    for group in column("group").i32().expect("i32").iter() {
        feed(group.map_or(u64::MAX, |group| group as u64));
    }
    hash
}

/// The process's peak resident memory, from /proc (0 where there is none).
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |at: usize, default: usize| {
        args.get(at)
            .map_or(default, |text| text.parse().expect("a number"))
    };
    let mode = args.get(1).map_or("resumable", String::as_str);
    let (total, rows) = (arg(2, 2_000_000), arg(3, 10_000));
    let batches = total / rows;
    let df = match mode {
        "resumable" => found(batches, rows),
        "declared" => declared(batches, rows),
        "whole" => whole(batches, rows),
        "plain" => plain(batches, rows),
        other => panic!("unknown mode {other}: resumable, declared, whole or plain"),
    };
    let x = df.column("x").expect("x").as_materialized_series();
    let sum = x.f64().expect("f64").sum().unwrap_or(0.0);
    let chunks: Vec<usize> = x.chunk_lengths().collect();
    println!(
        "rows {} chunks {} digest {:016x} sum {:016x} peak_kb {}",
        df.height(),
        chunks.len(),
        digest(&df),
        sum.to_bits(),
        peak_kb()
    );
}
