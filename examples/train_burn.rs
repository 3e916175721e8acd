//! A training loop on burn, written as burn's own examples write one: a model
//! (`#[derive(Module)]`, one hidden layer of 16, tanh) and Adam, `model = optim.step(lr, model,
//! grads)` at each step, both held as loop state (the `resumable` crate's `burn` feature). Kill
//! it and run it again: it resumes where the last checkpoint stood, with the weights and Adam's
//! moments, and ends with the same weights, bit for bit, as a run that never stopped.
//!
//! ```text
//! cargo run --release --example train_burn                # 2000 steps
//! cargo run --release --example train_burn -- 4000 500    # 4000 steps, 500 µs each; kill it
//! ```
//!
//! burn's CPU backend (ndarray) with autodiff. The data and the device are only read: every
//! run computes them again.

use std::hash::{DefaultHasher, Hasher};
use std::time::Duration;

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use resumable::resumable;

#[derive(Module, Debug)]
struct Network {
    hidden: Linear,
    out: Linear,
}

/// A layer with a deterministic start: small weights from a fixed formula (burn's random
/// initializers draw from a generator that is not loop state).
fn layer(inputs: usize, outputs: usize, device: &Device) -> Linear {
    let weights: Vec<f32> = (0..inputs * outputs)
        .map(|i| ((i * 7919 % 97) as f32 / 97.0 - 0.5) * 0.8)
        .collect();
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(weights, [inputs, outputs]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::zeros([outputs], device))),
    }
}

impl Network {
    fn new(device: &Device) -> Self {
        Self {
            hidden: layer(2, 16, device),
            out: layer(16, 1, device),
        }
    }

    fn forward(&self, xs: Tensor<2>) -> Tensor<2> {
        self.out.forward(self.hidden.forward(xs).tanh())
    }
}

/// `y = sin(3 x0) + x1²`, sampled on a grid: 256 rows of 2 features.
fn dataset(device: &Device) -> (Tensor<2>, Tensor<2>) {
    let grid: Vec<f32> = (0..256)
        .flat_map(|i| [(i % 16) as f32 / 8.0 - 1.0, (i / 16) as f32 / 8.0 - 1.0])
        .collect();
    let ys: Vec<f32> = grid
        .chunks(2)
        .map(|x| (3.0 * x[0]).sin() + x[1] * x[1])
        .collect();
    (
        Tensor::from_data(TensorData::new(grid, [256, 2]), device),
        Tensor::from_data(TensorData::new(ys, [256, 1]), device),
    )
}

// The key is `steps`; the delay only slows the demo down.
#[resumable(every = 100, key = steps)]
fn train(steps: u64, delay: Duration) -> (Vec<u32>, Vec<f32>) {
    let device = Device::default().autodiff();
    let (xs, ys) = dataset(&device);
    let mut model = Network::new(&device);
    let mut optim = AdamConfig::new().init();
    let mut losses = Vec::new();
    for step in 0..steps {
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let loss = (model.forward(xs.clone()) - ys.clone())
            .powf_scalar(2.0)
            .mean();
        if step % 100 == 99 {
            losses.push(loss.clone().into_scalar());
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let learning_rate = 1e-2 / (1.0 + step as f64 / 1000.0);
        model = optim.step(learning_rate, model, grads);
    }
    (weight_bits(&model), losses)
}

/// Every weight's bits, in order.
fn weight_bits(model: &Network) -> Vec<u32> {
    let mut bits = Vec::new();
    for layer in [&model.hidden, &model.out] {
        let bias = layer.bias.as_ref().map(|b| b.val().into_data());
        for data in std::iter::once(layer.weight.val().into_data()).chain(bias) {
            let values: Vec<f32> = data.try_into_vec().expect("f32 weights");
            bits.extend(values.into_iter().map(f32::to_bits));
        }
    }
    bits
}

fn main() {
    let mut args = std::env::args().skip(1);
    let steps = args
        .next()
        .map_or(2000, |arg| arg.parse().expect("STEPS must be a number"));
    let delay_us: u64 = args.next().map_or(0, |arg| arg.parse().expect("DELAY_US"));
    let (bits, losses) = train(steps, Duration::from_micros(delay_us));
    // Every weight's bits, hashed: equal only if the runs agree bit for bit.
    let mut hasher = DefaultHasher::new();
    for value in bits {
        hasher.write_u32(value);
    }
    println!("weights {:016x}", hasher.finish());
    println!(
        "loss first {:.6} last {:.6}",
        losses.first().copied().unwrap_or(0.0),
        losses.last().copied().unwrap_or(0.0)
    );
}
