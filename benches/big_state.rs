//! B3 and B4 for a 100 MB state (`Vec<f32>` of 25M).
//!
//! - B3: how long the loop is blocked per checkpoint, measured inside the loop as the time
//!   between two iterations of a `#[resumable(every = 1)]` loop whose body changes one weight
//!   (so every checkpoint writes the whole vector), against serializing the same state in
//!   memory and against a synchronous durable save (write, fsync, rename) of it; with no other
//!   work (checkpoints as fast as the disk takes them) and with 0.5 s of work per step.
//! - B4: restore throughput (read, check, decode) at 100 MB and 1 GB, against reading the
//!   file into new memory.
//! - The same 100 MB as an ndarray `Array1<f32>` and as a candle `Var` beside the `Vec<f32>`
//!   (issue 26): the loop blocked per checkpoint, a resume (the call that resumes a checkpoint
//!   and ends after one step), and `resumable::load` (a `Var` in a bundle).
//!
//! `cargo bench --bench big_state` (that group alone: `-- "Vec against Array1"`)

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use candle_core::{Device, Var};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array1;
use resumable::resumable;

const LEN: usize = 25_000_000;

/// A training-like loop: every step does `pause` of work (none, or longer than the disk takes
/// to sync a checkpoint) and changes the weights, every step is a checkpoint. Returns the time
/// from each step's end to the next one's start: each holds one checkpoint.
#[resumable(every = 1, name = "bench-b3", skip(gaps, last))]
fn train(steps: u64, weights: Vec<f32>, pause: Duration) -> (Vec<f32>, Vec<Duration>) {
    let mut weights = weights;
    let mut gaps = Vec::new();
    let mut last: Option<Instant> = None;
    for step in 0..steps {
        let now = Instant::now();
        if let Some(last) = last {
            gaps.push(now - last);
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
        weights[step as usize % LEN] += 1.0;
        last = Some(Instant::now());
    }
    (weights, gaps)
}

fn big_state(c: &mut Criterion) {
    let state: Vec<f32> = (0..LEN).map(|i| i as f32 * 0.5).collect();
    let dir = std::env::temp_dir().join(format!("resumable-bench-{}", std::process::id()));
    let path = dir.join("big.ckpt");
    let mut group = c.benchmark_group("B3/B4 100 MB state");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((LEN * 4) as u64));
    group.bench_function("serialize in memory (postcard)", |b| {
        b.iter(|| postcard::to_allocvec(black_box(&state)).unwrap())
    });
    group.bench_function("synchronous save (write, fsync, rename)", |b| {
        b.iter(|| resumable::save(&path, black_box(&state)).unwrap())
    });
    group.bench_function("#[resumable] loop blocked per checkpoint", |b| {
        b.iter_custom(|checkpoints| {
            // Steps 1.. each start after one checkpoint; a step itself takes nanoseconds.
            let (_, gaps) = train(checkpoints + 1, state.clone(), Duration::ZERO);
            gaps.iter().sum()
        })
    });
    // A checkpoint each step, with nothing else to do: the disk's speed decides, as a
    // checkpoint waits for the one before it to be synced (so the files never hold more than
    // two copies).
    group.bench_function(
        "#[resumable] loop blocked per checkpoint, 0.5 s of work per step",
        |b| {
            b.iter_custom(|checkpoints| {
                let (_, gaps) = train(checkpoints + 1, state.clone(), Duration::from_millis(500));
                gaps.iter().sum()
            })
        },
    );
    resumable::save(&path, &state).unwrap();
    restore_against_the_floor(&mut group, &path);
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

/// B4 at 1 GB (`Vec<f32>` of 250M): restore against reading the file into new memory.
fn restore_1gb(c: &mut Criterion) {
    const LEN_1GB: usize = 250_000_000;
    let state: Vec<f32> = (0..LEN_1GB).map(|i| i as f32 * 0.5).collect();
    let dir = std::env::temp_dir().join(format!("resumable-bench-1gb-{}", std::process::id()));
    let path = dir.join("big.ckpt");
    resumable::save(&path, &state).unwrap();
    drop(state);
    let mut group = c.benchmark_group("B4 1 GB state");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((LEN_1GB * 4) as u64));
    restore_against_the_floor(&mut group, &path);
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

/// B4: restoring the `Vec<f32>` saved at `path`, beside the floor of any restore: the file's
/// bytes copied into new memory, which this machine's page faults make slower than the copy.
fn restore_against_the_floor(group: &mut BenchmarkGroup<'_, WallTime>, path: &Path) {
    group.bench_function(
        "read the file into new memory (std::fs::read, the floor)",
        |b| b.iter(|| std::fs::read(black_box(path)).unwrap()),
    );
    group.bench_function("restore (read, check, decode)", |b| {
        b.iter(|| {
            resumable::load::<Vec<f32>>(black_box(path))
                .unwrap()
                .unwrap()
        })
    });
}

/// [`train`] with the weights as an ndarray array.
#[resumable(every = 1, name = "bench-array", skip(gaps, last))]
fn train_array(steps: u64, weights: Array1<f32>) -> (Array1<f32>, Vec<Duration>) {
    let mut weights = weights;
    let mut gaps = Vec::new();
    let mut last: Option<Instant> = None;
    for step in 0..steps {
        let now = Instant::now();
        if let Some(last) = last {
            gaps.push(now - last);
        }
        weights[step as usize % LEN] += 1.0;
        last = Some(Instant::now());
    }
    (weights, gaps)
}

/// Fails the next [`steps_vec`] or [`steps_array`] at step 1, leaving a checkpoint to resume.
static FAIL: AtomicBool = AtomicBool::new(false);

#[resumable(every = 1, name = "bench-resume-vec", key = ())]
fn steps_vec(steps: u64, weights: Vec<f32>) -> f32 {
    let mut weights = weights;
    for step in 0..steps {
        if step == 1 && FAIL.load(SeqCst) {
            panic!("leaving a checkpoint to resume");
        }
        weights[step as usize] += 1.0;
    }
    weights[0]
}

#[resumable(every = 1, name = "bench-resume-array", key = ())]
fn steps_array(steps: u64, weights: Array1<f32>) -> f32 {
    let mut weights = weights;
    for step in 0..steps {
        if step == 1 && FAIL.load(SeqCst) {
            panic!("leaving a checkpoint to resume");
        }
        weights[step as usize] += 1.0;
    }
    weights[0]
}

/// The time of the call that resumes: a first call fails at step 1 (its checkpoint holds the
/// state as step 1 found it), the second resumes there, runs step 1 and ends.
fn resume_time(run: impl Fn() -> f32) -> Duration {
    FAIL.store(true, SeqCst);
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&run));
    assert!(failed.is_err(), "the first call did not fail");
    FAIL.store(false, SeqCst);
    let start = Instant::now();
    black_box(run());
    start.elapsed()
}

/// [`train`] with the weights as a candle `Var`, changed in place.
#[resumable(every = 1, name = "bench-var", skip(gaps, last))]
fn train_var(steps: u64, weights: Var) -> (Var, Vec<Duration>) {
    let mut weights = weights;
    let mut gaps = Vec::new();
    let mut last: Option<Instant> = None;
    for step in 0..steps {
        let now = Instant::now();
        if let Some(last) = last {
            gaps.push(now - last);
        }
        // One weight changed: a slice of one element set in place.
        let at = step as usize % LEN;
        let one = weights.narrow(0, at, 1).unwrap().affine(1.0, 1.0).unwrap();
        weights.slice_set(&one, 0, at).unwrap();
        last = Some(Instant::now());
    }
    (weights, gaps)
}

#[resumable(every = 1, name = "bench-resume-var", key = ())]
fn steps_var(steps: u64, weights: Var) -> f32 {
    let mut weights = weights;
    for step in 0..steps {
        if step == 1 && FAIL.load(SeqCst) {
            panic!("leaving a checkpoint to resume");
        }
        let one = weights
            .narrow(0, step as usize, 1)
            .unwrap()
            .affine(1.0, 1.0)
            .unwrap();
        weights.slice_set(&one, 0, step as usize).unwrap();
    }
    weights.get(0).unwrap().to_scalar().unwrap()
}

/// A bundle holding a `Var`, for `resumable::save` and `load`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Weights(#[serde(with = "resumable::candle::var")] Var);

/// 100 MB of `f32` as a `Vec`, as an `Array1` and as a candle `Var`, side by side.
fn vec_against_array(c: &mut Criterion) {
    let vec: Vec<f32> = (0..LEN).map(|i| i as f32 * 0.5).collect();
    let array = Array1::from_vec(vec.clone());
    let var = || Var::from_vec(vec.clone(), LEN, &Device::Cpu).unwrap();
    let dir = std::env::temp_dir().join(format!("resumable-bench-nd-{}", std::process::id()));
    let mut group = c.benchmark_group("100 MB of f32: Vec against Array1");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((LEN * 4) as u64));
    group.bench_function("Vec: loop blocked per checkpoint", |b| {
        b.iter_custom(|checkpoints| {
            let (_, gaps) = train(checkpoints + 1, vec.clone(), Duration::ZERO);
            gaps.iter().sum()
        })
    });
    group.bench_function("Array1: loop blocked per checkpoint", |b| {
        b.iter_custom(|checkpoints| {
            let (_, gaps) = train_array(checkpoints + 1, array.clone());
            gaps.iter().sum()
        })
    });
    group.bench_function("Var: loop blocked per checkpoint", |b| {
        b.iter_custom(|checkpoints| {
            let (_, gaps) = train_var(checkpoints + 1, var());
            gaps.iter().sum()
        })
    });
    // The panic of each first call is expected: no message for it.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    group.bench_function("Vec: resume", |b| {
        b.iter_custom(|resumes| {
            (0..resumes)
                .map(|_| resume_time(|| steps_vec(2, vec.clone())))
                .sum()
        })
    });
    group.bench_function("Array1: resume", |b| {
        b.iter_custom(|resumes| {
            (0..resumes)
                .map(|_| resume_time(|| steps_array(2, array.clone())))
                .sum()
        })
    });
    group.bench_function("Var: resume", |b| {
        b.iter_custom(|resumes| {
            (0..resumes)
                .map(|_| resume_time(|| steps_var(2, var())))
                .sum()
        })
    });
    std::panic::set_hook(hook);
    let vec_path = dir.join("vec.ckpt");
    let array_path = dir.join("array.ckpt");
    resumable::save(&vec_path, &vec).unwrap();
    resumable::save(&array_path, &array).unwrap();
    group.bench_function("Vec: resumable::load", |b| {
        b.iter(|| {
            resumable::load::<Vec<f32>>(black_box(&vec_path))
                .unwrap()
                .unwrap()
        })
    });
    group.bench_function("Array1: resumable::load", |b| {
        b.iter(|| {
            resumable::load::<Array1<f32>>(black_box(&array_path))
                .unwrap()
                .unwrap()
        })
    });
    let var_path = dir.join("var.ckpt");
    resumable::save(&var_path, &Weights(var())).unwrap();
    group.bench_function("Var: resumable::load", |b| {
        b.iter(|| {
            resumable::load::<Weights>(black_box(&var_path))
                .unwrap()
                .unwrap()
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, big_state, restore_1gb, vec_against_array);
criterion_main!(benches);
