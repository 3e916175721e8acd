//! `resumable-power-loss`: the job `tests/power_loss` runs on a filesystem that loses what was
//! not synced, killed at random and run again. Not an example: it exists to be observed.
//!
//! ```text
//! resumable-power-loss N OUTPUT
//! ```
//!
//! A `#[resumable(every = 100)]` loop over `0..N` whose checkpoints exercise every file
//! operation the runtime makes durable: `seen` only grows (`append`: each record holds what
//! was added), `table` is changed in place (32 KiB whole in each record, so the log passes
//! the compaction floor and moves to a new file every few dozen checkpoints: creation, fsync,
//! rename, directory fsync), and each iteration writes a line to `OUTPUT` through
//! `io::Output` (synced before the record that holds its length). The checkpoint directory is
//! `RESUMABLE_DIR`. Each iteration spins `SPIN_US` µs (default 20) of work first.
//!
//! On success it prints `power-loss n=<N> seen=<len> hash=<hash>` on stdout.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use resumable::io::Output;
use resumable::resumable;

/// The slots of `table`, the state changed in place.
const TABLE: usize = 4096;

/// A value of `i` nobody would guess from the ones before.
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Busy work, so that a kill lands anywhere in the loop rather than in its checkpoints only.
fn spin(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

#[resumable(every = 100, append(seen), key = n)]
fn job(n: u64, output: &Path, work: Duration) -> std::io::Result<(Vec<u64>, u64)> {
    let mut out = Output::create(output)?;
    let mut seen = Vec::new();
    let mut table = vec![0u64; TABLE];
    for i in 0..n {
        spin(work);
        let value = mix(i);
        seen.push(value);
        let slot = (value % TABLE as u64) as usize;
        table[slot] = table[slot].wrapping_add(value).rotate_left(9);
        writeln!(out, "{i} {value:016x}")?;
    }
    out.finish()?;
    let hash = table.iter().fold(0xCBF2_9CE4_8422_2325u64, |hash, slot| {
        (hash ^ slot).wrapping_mul(0x0000_0100_0000_01B3)
    });
    Ok((seen, hash))
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [n, output] = &args[..] else {
        panic!("usage: resumable-power-loss N OUTPUT");
    };
    let n: u64 = n.parse().expect("N must be a whole number");
    let spin_us = std::env::var("SPIN_US").map_or(20, |us| us.parse().expect("SPIN_US"));
    let (seen, hash) = job(n, Path::new(output), Duration::from_micros(spin_us))?;
    let sum = seen
        .iter()
        .fold(0u64, |sum, value| sum.wrapping_add(*value));
    println!(
        "power-loss n={n} seen={} sum={sum:016x} hash={hash:016x}",
        seen.len()
    );
    Ok(())
}
