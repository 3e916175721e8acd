//! A training loop: epochs of mini-batches over a fixed dataset, a linear model fitted by SGD,
//! with its seeded random number generator in the state, so a run that is killed and resumed
//! ends with the same weights, bit for bit, as one that never stopped.
//!
//! ```text
//! cargo run --release --example train                 # 40 epochs
//! cargo run --release --example train -- 400 300      # 400 epochs, 300 µs per batch
//! ```
//!
//! The loop nest is checkpointed inside its inner loop (`inner = 'batches`): a checkpoint can
//! fall between any two batches, and the resume point is the pair (epoch, batch). What an epoch
//! declares between the loops (its shuffled batch order, its learning rate, its running loss)
//! is saved with the function's state (model, RNG, losses) and restored on resume.

use std::time::Duration;

use resumable::resumable;
use serde::{Deserialize, Serialize};

/// xorshift64*: small, seeded, and serializable, so its position is part of the checkpoint.
#[derive(Serialize, Deserialize)]
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Serialize, Deserialize)]
struct Model {
    weights: [f64; 3],
    bias: f64,
}

/// `y = 2 x0 - 3 x1 + 0.5 x2 + 1`, sampled at fixed points.
fn dataset() -> Vec<([f64; 3], f64)> {
    (0..256)
        .map(|i| {
            let x = [
                (i % 16) as f64 / 16.0,
                (i / 16) as f64 / 16.0,
                ((i * 7) % 13) as f64 / 13.0,
            ];
            (x, 2.0 * x[0] - 3.0 * x[1] + 0.5 * x[2] + 1.0)
        })
        .collect()
}

const BATCH: usize = 16;

// The key is `epochs`; the delay only slows the demo down.
#[resumable(every = 25, inner = 'batches, key = epochs)]
fn train(epochs: u64, delay: Duration) -> (Model, Vec<f64>) {
    let data = dataset();
    let batches = data.len().div_ceil(BATCH);
    let mut model = Model {
        weights: [0.0; 3],
        bias: 0.0,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut losses = Vec::new();
    for epoch in 0..epochs {
        // A new batch order every epoch, shuffled with the seeded generator (Fisher-Yates).
        let mut order: Vec<usize> = (0..batches).collect();
        for i in (1..batches).rev() {
            order.swap(i, (rng.next_f64() * (i + 1) as f64) as usize);
        }
        let learning_rate = 0.5 / (1.0 + epoch as f64 / 10.0);
        let mut epoch_loss = 0.0;
        'batches: for &batch in &order {
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            let start = batch * BATCH;
            let mut grad = ([0.0; 3], 0.0);
            for _ in 0..BATCH {
                // A random sample of the batch, drawn from the seeded generator in the state.
                let (x, y) = data[start + (rng.next_f64() * BATCH as f64) as usize];
                let predicted: f64 = model.bias
                    + x.iter()
                        .zip(&model.weights)
                        .map(|(x, w)| x * w)
                        .sum::<f64>();
                let error = predicted - y;
                epoch_loss += error * error;
                for (g, x) in grad.0.iter_mut().zip(&x) {
                    *g += error * x;
                }
                grad.1 += error;
            }
            for (w, g) in model.weights.iter_mut().zip(&grad.0) {
                *w -= learning_rate * g / BATCH as f64;
            }
            model.bias -= learning_rate * grad.1 / BATCH as f64;
        }
        losses.push(epoch_loss / data.len() as f64);
    }
    (model, losses)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let epochs = args
        .next()
        .map_or(40, |arg| arg.parse().expect("EPOCHS must be a number"));
    let delay_us: u64 = args.next().map_or(0, |arg| arg.parse().expect("DELAY_US"));
    let (model, losses) = train(epochs, Duration::from_micros(delay_us));
    let bits = |x: f64| format!("{:016x}", x.to_bits());
    println!(
        "weights {} {} {} bias {}",
        bits(model.weights[0]),
        bits(model.weights[1]),
        bits(model.weights[2]),
        bits(model.bias)
    );
    println!(
        "loss first {:.6} last {:.6} (bits {})",
        losses.first().copied().unwrap_or(0.0),
        losses.last().copied().unwrap_or(0.0),
        bits(losses.last().copied().unwrap_or(0.0))
    );
}
