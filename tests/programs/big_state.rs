//! A state changed in place at every step: `Vec<f64>` of LEN elements, every element
//! rewritten each step, a checkpoint after every step. `tests/disk_full.rs` runs it on a
//! small filesystem; it is also the program to measure a big state's memory and disk with.
//!
//! ```text
//! resumable-big-state LEN STEPS [--fail-at K]
//! ```
//!
//! Prints the sum of the final state (`{:?}`, so bit for bit). With `--fail-at K`, step K
//! panics before it changes the state (so the failure saves at K).

use std::process::ExitCode;

use resumable::resumable;

// The key is what selects the work; the failure point is not part of it.
#[resumable(every = 1, key = (len, steps))]
fn job(len: usize, steps: u64, fail_at: Option<u64>) -> f64 {
    let mut weights = vec![0.0f64; len];
    for step in 0..steps {
        if fail_at == Some(step) {
            panic!("injected failure at step {step}");
        }
        for (i, weight) in weights.iter_mut().enumerate() {
            *weight = *weight * 0.5 + (i % 1000) as f64 + step as f64;
        }
    }
    weights.iter().sum()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let number = |arg: Option<String>| arg.and_then(|text| text.parse::<u64>().ok());
    let (Some(len), Some(steps)) = (number(args.next()), number(args.next())) else {
        eprintln!("usage: resumable-big-state LEN STEPS [--fail-at K]");
        return ExitCode::from(2);
    };
    let fail_at = match args.next().as_deref() {
        Some("--fail-at") => number(args.next()),
        _ => None,
    };
    println!("{:?}", job(len as usize, steps, fail_at));
    ExitCode::SUCCESS
}
