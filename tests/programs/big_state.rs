//! A state changed in place at every step: `Vec<f64>` of LEN elements, every element
//! rewritten each step, a checkpoint after every step. `tests/disk_full.rs` runs it on a
//! small filesystem; `scripts/bench_big_state.py` measures its memory, disk and time.
//!
//! ```text
//! resumable-big-state LEN STEPS [--written | --struct | --tensor] [--fail-at K] [--times] [--peak-memory]
//! ```
//!
//! The state starts as `vec![0.0; len]`, whose pages the kernel maps only when the first step
//! writes them; with `--written` it is built element by element (`(0..len).map(…).collect()`),
//! all of it resident before the loop, so a resume that decoded beside it would hold it twice.
//! `--struct` is `--written` with the vector inside a derived struct, whose `Deserialize` has
//! no in-place form. `--tensor` is `--written` as a candle `Var` (the `candle` feature),
//! changed in place each step through `Var::set`.
//! Prints the sum of the final state (`{:?}`, so bit for bit). With `--fail-at K`, step K
//! panics before it changes the state (so the failure saves at K). With `--times`, prints to
//! stderr how long the loop stood between two steps (each gap holds one checkpoint), a line
//! `gap_ms <ms>` per gap. With `--peak-memory`, prints `peak_rss_bytes <n>` to stderr at the end:
//! the process's peak resident memory (Linux's `VmHWM`).

use std::process::ExitCode;
use std::time::Instant;

use resumable::resumable;

/// One step of the job: every weight changed in place.
fn advance(weights: &mut [f64], step: u64) {
    for (i, weight) in weights.iter_mut().enumerate() {
        *weight = *weight * 0.5 + (i % 1000) as f64 + step as f64;
    }
}

// The key is what selects the work; the failure point and the timing are not part of it.
#[resumable(every = 1, key = (len, steps, written), skip(last))]
fn job(len: usize, steps: u64, written: bool, fail_at: Option<u64>, times: bool) -> f64 {
    let mut weights: Vec<f64> = if written {
        (0..len).map(|i| (i % 7) as f64).collect()
    } else {
        vec![0.0f64; len]
    };
    let mut last: Option<Instant> = None;
    for step in 0..steps {
        if let Some(last) = last.filter(|_| times) {
            eprintln!("gap_ms {:.1}", last.elapsed().as_secs_f64() * 1000.0);
        }
        if fail_at == Some(step) {
            panic!("injected failure at step {step}");
        }
        advance(&mut weights, step);
        last = Some(Instant::now());
    }
    weights.iter().sum()
}

/// The state of `--struct`.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Field {
    weights: Vec<f64>,
}

#[resumable(every = 1, key = (len, steps), skip(last))]
fn job_struct(len: usize, steps: u64, fail_at: Option<u64>, times: bool) -> f64 {
    let mut field = Field {
        weights: (0..len).map(|i| (i % 7) as f64).collect(),
    };
    let mut last: Option<Instant> = None;
    for step in 0..steps {
        if let Some(last) = last.filter(|_| times) {
            eprintln!("gap_ms {:.1}", last.elapsed().as_secs_f64() * 1000.0);
        }
        if fail_at == Some(step) {
            panic!("injected failure at step {step}");
        }
        advance(&mut field.weights, step);
        last = Some(Instant::now());
    }
    field.weights.iter().sum()
}

/// One step of `--tensor`: every weight changed, as [`advance`] does, through candle.
fn advance_tensor(weights: &candle_core::Var, step: u64) -> candle_core::Result<()> {
    weights.set(&weights.as_tensor().affine(0.5, step as f64 + 3.0)?)
}

#[resumable(every = 1, key = (len, steps), skip(last))]
fn job_tensor(len: usize, steps: u64, fail_at: Option<u64>, times: bool) -> f64 {
    let values: Vec<f64> = (0..len).map(|i| (i % 7) as f64).collect();
    let mut weights = candle_core::Var::from_vec(values, len, &candle_core::Device::Cpu)
        .expect("a vector makes a tensor");
    let mut last: Option<Instant> = None;
    for step in 0..steps {
        if let Some(last) = last.filter(|_| times) {
            eprintln!("gap_ms {:.1}", last.elapsed().as_secs_f64() * 1000.0);
        }
        if fail_at == Some(step) {
            panic!("injected failure at step {step}");
        }
        advance_tensor(&weights, step).expect("a CPU tensor op");
        last = Some(Instant::now());
    }
    weights
        .sum_all()
        .and_then(|sum| sum.to_scalar::<f64>())
        .expect("a sum")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |at: usize| args.get(at).and_then(|text| text.parse::<u64>().ok());
    let (Some(len), Some(steps)) = (number(0), number(1)) else {
        eprintln!(
            "usage: resumable-big-state LEN STEPS [--written | --struct | --tensor] [--fail-at K] \
             [--times] [--peak-memory]"
        );
        return ExitCode::from(2);
    };
    let fail_at = args
        .iter()
        .position(|arg| arg == "--fail-at")
        .and_then(|at| number(at + 1));
    let times = args.iter().any(|arg| arg == "--times");
    let written = args.iter().any(|arg| arg == "--written");
    // Reports when main ends, also when `job` panics (the failure a run is asked for).
    let _report = args
        .iter()
        .any(|arg| arg == "--peak-memory")
        .then_some(PeakReport);
    let sum = if args.iter().any(|arg| arg == "--struct") {
        job_struct(len as usize, steps, fail_at, times)
    } else if args.iter().any(|arg| arg == "--tensor") {
        job_tensor(len as usize, steps, fail_at, times)
    } else {
        job(len as usize, steps, written, fail_at, times)
    };
    println!("{sum:?}");
    ExitCode::SUCCESS
}

/// Prints the process's peak resident memory when dropped.
struct PeakReport;

impl Drop for PeakReport {
    fn drop(&mut self) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let peak_kb = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        match peak_kb {
            Some(kb) => eprintln!("peak_rss_bytes {}", kb * 1024),
            None => eprintln!("peak_rss_bytes unknown (no /proc/self/status)"),
        }
    }
}
