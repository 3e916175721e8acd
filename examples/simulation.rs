//! A simulation as a method: `Grid::run` advances a heat-diffusion grid step by step, and the
//! grid itself (`*self`, through `&mut self`) is the loop's state, checkpointed every 50 steps.
//!
//! ```text
//! cargo run --release --example simulation                  # 2,000 steps
//! cargo run --release --example simulation -- 20000 200     # 20,000 steps, 200 µs each
//! ```
//! Stop it and run the same command again: it resumes from the last checkpoint and prints what
//! an uninterrupted run prints (the grid's checksum, bit for bit).

use std::time::Duration;

use resumable::resumable;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Grid<T> {
    width: usize,
    cells: Vec<T>,
    steps_done: u64,
}

impl Grid<f64> {
    fn new(width: usize) -> Self {
        let mut cells = vec![0.0; width * width];
        cells[width * width / 2 + width / 2] = 1_000_000.0; // a hot spot in the middle
        Grid {
            width,
            cells,
            steps_done: 0,
        }
    }

    fn step(&mut self) {
        let w = self.width;
        let old = self.cells.clone();
        for y in 1..w - 1 {
            for x in 1..w - 1 {
                let at = y * w + x;
                let around = old[at - 1] + old[at + 1] + old[at - w] + old[at + w];
                self.cells[at] = old[at] + 0.2 * (around - 4.0 * old[at]);
            }
        }
        self.steps_done += 1;
    }

    /// Advances `steps` steps. `self` is state: a `&mut self` method's `*self` is saved and
    /// restored like a `let mut` binding. The default checkpoint name has the type in it
    /// (`simulation::Grid<f64>::run`).
    // The key is `steps`; the delay only slows the demo down.
    #[resumable(every = 50, key = steps)]
    fn run(&mut self, steps: u64, delay: Duration) {
        for _ in 0..steps {
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            self.step();
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let steps = args
        .next()
        .map_or(2_000, |arg| arg.parse().expect("STEPS must be a number"));
    let delay_us = args
        .next()
        .map_or(0, |arg| arg.parse().expect("DELAY_US must be a number"));
    let mut grid = Grid::new(48);
    grid.run(steps, Duration::from_micros(delay_us));
    let checksum = grid.cells.iter().fold(0u64, |hash, cell| {
        (hash ^ cell.to_bits()).wrapping_mul(0x0100_0000_01b3)
    });
    println!("steps {} checksum {checksum:016x}", grid.steps_done);
}
