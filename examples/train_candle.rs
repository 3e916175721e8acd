//! A training loop on candle: a small network (one hidden layer of 16, tanh) fitted by
//! gradient descent through candle's autograd, its weights `Var`s held as loop state (the
//! `resumable` crate's `candle` feature). Kill it and run it again: it resumes where the last
//! checkpoint stood and ends with the same weights, bit for bit, as a run that never stopped.
//!
//! ```text
//! cargo run --release --example train_candle                # 2000 steps
//! cargo run --release --example train_candle -- 4000 500    # 4000 steps, 500 µs each; kill it
//! ```
//!
//! The weights are restored in place (`Var::set`), so `params`, the clones the update goes
//! through (as an optimizer's would), see the restored values. The data tensors are only read:
//! `skip(xs, ys, params)` says they are computed again by every run.

use std::hash::{DefaultHasher, Hasher};
use std::time::Duration;

use candle_core::{D, DType, Device, Result, Tensor, Var};
use resumable::resumable;

/// `y = sin(3 x0) + x1²`, sampled on a grid: 256 rows of 2 features.
fn dataset(dev: &Device) -> Result<(Tensor, Tensor)> {
    let grid: Vec<f32> = (0..256)
        .flat_map(|i| [(i % 16) as f32 / 8.0 - 1.0, (i / 16) as f32 / 8.0 - 1.0])
        .collect();
    let xs = Tensor::from_vec(grid, (256, 2), dev)?;
    let x0 = xs.narrow(1, 0, 1)?;
    let x1 = xs.narrow(1, 1, 1)?;
    let ys = ((x0 * 3.0)?.sin()? + x1.sqr()?)?;
    Ok((xs, ys))
}

/// A deterministic start: small weights from a fixed formula (no RNG to carry).
fn init(rows: usize, cols: usize, dev: &Device) -> Result<Var> {
    let values: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919 % 97) as f32 / 97.0 - 0.5) * 0.8)
        .collect();
    Var::from_tensor(&Tensor::from_vec(values, (rows, cols), dev)?)
}

// The key is `steps`; the delay only slows the demo down.
#[resumable(every = 100, key = steps, skip(xs, ys, params))]
fn train(steps: u64, delay: Duration) -> Result<(Vec<Tensor>, Vec<f32>)> {
    let dev = Device::Cpu;
    let (xs, ys) = dataset(&dev)?;
    let mut w1 = init(2, 16, &dev)?;
    let mut b1 = Var::zeros(16, DType::F32, &dev)?;
    let mut w2 = init(16, 1, &dev)?;
    let mut b2 = Var::zeros(1, DType::F32, &dev)?;
    let params = [w1.clone(), b1.clone(), w2.clone(), b2.clone()];
    let mut losses = Vec::new();
    for step in 0..steps {
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let hidden = xs.matmul(&w1)?.broadcast_add(&b1)?.tanh()?;
        let predicted = hidden.matmul(&w2)?.broadcast_add(&b2)?;
        let loss = (predicted - &ys)?.sqr()?.mean(D::Minus2)?.sum_all()?;
        let grads = loss.backward()?;
        let learning_rate = 0.2 / (1.0 + step as f64 / 1000.0);
        for param in &params {
            if let Some(grad) = grads.get(param) {
                param.set(&(param.as_tensor() - (grad * learning_rate)?)?)?;
            }
        }
        if step % 100 == 99 {
            losses.push(loss.to_scalar::<f32>()?);
        }
    }
    Ok((
        vec![
            w1.as_tensor().clone(),
            b1.as_tensor().clone(),
            w2.as_tensor().clone(),
            b2.as_tensor().clone(),
        ],
        losses,
    ))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let steps = args
        .next()
        .map_or(2000, |arg| arg.parse().expect("STEPS must be a number"));
    let delay_us: u64 = args.next().map_or(0, |arg| arg.parse().expect("DELAY_US"));
    let (weights, losses) = train(steps, Duration::from_micros(delay_us))?;
    // Every weight's bits, hashed: equal only if the runs agree bit for bit.
    let mut hasher = DefaultHasher::new();
    for tensor in &weights {
        for value in tensor.flatten_all()?.to_vec1::<f32>()? {
            hasher.write_u32(value.to_bits());
        }
    }
    println!("weights {:016x}", hasher.finish());
    println!(
        "loss first {:.6} last {:.6}",
        losses.first().copied().unwrap_or(0.0),
        losses.last().copied().unwrap_or(0.0)
    );
    Ok(())
}
