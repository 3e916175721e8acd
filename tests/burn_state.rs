//! burn's models and optimizer as loop state (the `burn` feature, issue 26): burn's natural
//! training loop (`let mut model`, `let mut optim = AdamConfig::new().init()`,
//! `model = optim.step(lr, model, grads)`), interrupted and resumed, ends with the uninterrupted
//! run's weights bit for bit (so Adam's moments and step count came back too); a checkpoint
//! of another architecture is refused and kept; a model argument is in the key by its weights.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use common::{find_checkpoint, fresh, panic_of, saved_index, take};
use resumable::resumable;

fn saved(name: &str) -> Option<u64> {
    saved_index(&find_checkpoint(std::path::Path::new(".resumable"), name)?)
}

#[derive(Module, Debug)]
struct Regressor {
    hidden: Linear,
    out: Linear,
}

/// A layer with fixed, distinct weights: the same model at every run, without burn's global
/// random generator (which the tests' threads would share).
fn layer(inputs: usize, outputs: usize, salt: f32, device: &Device) -> Linear {
    let weights = (0..inputs * outputs)
        .map(|i| ((i as f32 + salt) * 0.37).sin() * 0.5)
        .collect::<Vec<_>>();
    let bias = (0..outputs)
        .map(|i| (i as f32 * 0.11 + salt).cos() * 0.1)
        .collect::<Vec<_>>();
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(weights, [inputs, outputs]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [outputs]),
            device,
        ))),
    }
}

impl Regressor {
    fn new(hidden: usize, salt: f32, device: &Device) -> Self {
        Self {
            hidden: layer(1, hidden, salt, device),
            out: layer(hidden, 1, salt + 1.0, device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(self.hidden.forward(x).tanh())
    }
}

/// Step `step`'s batch of `sin(x)`, the same at every run.
fn batch(step: u64, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let xs: Vec<f32> = (0..32)
        .map(|i| ((step * 32 + i) % 97) as f32 / 97.0 * 6.0 - 3.0)
        .collect();
    let ys: Vec<f32> = xs.iter().map(|x| x.sin()).collect();
    (
        Tensor::from_data(TensorData::new(xs, [32, 1]), device),
        Tensor::from_data(TensorData::new(ys, [32, 1]), device),
    )
}

/// Every weight's bits, in order, to compare runs exactly.
fn bits(model: &Regressor) -> Vec<u32> {
    let mut params = vec![model.hidden.weight.val(), model.out.weight.val()];
    params.extend(
        [model.hidden.bias.as_ref(), model.out.bias.as_ref()]
            .map(|b| b.unwrap().val().reshape([1, -1])),
    );
    params
        .into_iter()
        .flat_map(|p| p.into_data().try_into_vec::<f32>().unwrap())
        .map(f32::to_bits)
        .collect()
}

static TRAIN_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static TRAIN_RUNS: AtomicU64 = AtomicU64::new(0);

/// burn's own way to train, as its examples write it: the model moved into the optimizer's
/// step and the result assigned back; Adam's moments live in `optim`.
#[resumable(every = 10, name = "burn-train", skip(TRAIN_RUNS))]
fn train(steps: u64) -> Vec<u32> {
    let device = Device::default().autodiff();
    let mut model = Regressor::new(16, 0.0, &device);
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    for step in 0..steps {
        TRAIN_RUNS.fetch_add(1, SeqCst);
        if TRAIN_FAIL_AT.load(SeqCst) == step {
            panic!("failing step {step}");
        }
        let (x, y) = batch(step, &device);
        let loss = (model.forward(x) - y).powf_scalar(2.0).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    bits(&model)
}

#[test]
fn burns_training_loop_resumes_to_the_same_weights_bit_for_bit() {
    fresh("burn-train");
    let start = bits(&Regressor::new(16, 0.0, &Device::default()));
    let uninterrupted = train(60);
    assert_ne!(uninterrupted, start, "training moved the weights");
    fresh("burn-train");
    TRAIN_FAIL_AT.store(37, SeqCst);
    let message = panic_of(|| train(60));
    assert!(message.contains("failing step 37"), "{message}");
    // `model` is moved into `optim.step` in every step, so a panic saves nothing (the model
    // may be gone): the checkpoint at step 30 stands.
    assert_eq!(saved("burn-train"), Some(30));
    TRAIN_FAIL_AT.store(u64::MAX, SeqCst);
    take(&TRAIN_RUNS);
    assert_eq!(train(60), uninterrupted);
    assert_eq!(
        take(&TRAIN_RUNS),
        30,
        "the resumed run runs steps 30 to 59 only"
    );
}

static FRESH_OPTIM_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// The same loop with the optimizer left out of the state: after a resume Adam starts from
/// zero moments, so the weights must come out different, which shows the test above could
/// fail (a checkpoint of the weights alone does not give the uninterrupted result).
#[resumable(every = 10, name = "burn-train-no-optim", skip(optim))]
fn train_without_optimizer_state(steps: u64) -> Vec<u32> {
    let mut model = Regressor::new(16, 0.0, &Device::default().autodiff());
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    for step in 0..steps {
        if FRESH_OPTIM_FAIL_AT.load(SeqCst) == step {
            panic!("failing step {step}");
        }
        model = descend(model, &mut optim, step);
    }
    bits(&model)
}

#[test]
fn without_the_optimizers_state_the_resumed_weights_differ() {
    fresh("burn-train-no-optim");
    let uninterrupted = train_without_optimizer_state(60);
    fresh("burn-train-no-optim");
    FRESH_OPTIM_FAIL_AT.store(37, SeqCst);
    panic_of(|| train_without_optimizer_state(60));
    FRESH_OPTIM_FAIL_AT.store(u64::MAX, SeqCst);
    assert_ne!(train_without_optimizer_state(60), uninterrupted);
}

static SHAPE_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// One step of plain gradient descent on `model`, whatever its width.
fn descend(model: Regressor, optim: &mut ModuleOptimizer, step: u64) -> Regressor {
    let device = Device::default().autodiff();
    let (x, y) = batch(step, &device);
    let loss = (model.forward(x) - y).powf_scalar(2.0).mean();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    optim.step(1e-2, model, grads)
}

#[resumable(every = 2, name = "burn-shape", key = ())]
fn sixteen_wide(n: u64) -> Vec<u32> {
    let mut model = Regressor::new(16, 0.0, &Device::default().autodiff());
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    for step in 0..n {
        if SHAPE_FAIL_AT.load(SeqCst) == step {
            panic!("failing {step}");
        }
        model = descend(model, &mut optim, step);
    }
    bits(&model)
}

/// The same checkpoint name, a hidden layer of another width: another version of the function.
#[resumable(every = 2, name = "burn-shape", key = ())]
fn eight_wide(n: u64) -> Vec<u32> {
    let mut model = Regressor::new(8, 0.0, &Device::default().autodiff());
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    for step in 0..n {
        model = descend(model, &mut optim, step);
    }
    bits(&model)
}

#[test]
fn a_checkpoint_of_another_architecture_is_refused_not_loaded() {
    fresh("burn-shape");
    let uninterrupted = sixteen_wide(10);
    fresh("burn-shape");
    SHAPE_FAIL_AT.store(5, SeqCst);
    panic_of(|| sixteen_wide(10));
    SHAPE_FAIL_AT.store(u64::MAX, SeqCst);
    let before = saved("burn-shape");
    assert_eq!(before, Some(4));
    let message = panic_of(|| eight_wide(10));
    assert!(
        message.contains("different state")
            && message.contains("`model`: the structure of its type changed"),
        "{message}"
    );
    // Refused, not thrown away: the checkpoint is still there for the function that made it.
    assert_eq!(saved("burn-shape"), before);
    assert_eq!(sixteen_wide(10), uninterrupted);
}

static KEYED_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static KEYED_RUNS: AtomicU64 = AtomicU64::new(0);

/// A model argument is in the key by its weights: its `Debug` text shows parameter ids, not
/// weights, so another model of the same architecture would otherwise resume this one's
/// checkpoint (or, built afresh with new ids, one model would never resume its own). `scale`,
/// a model declared without `mut` that the loop reads, is watched through its weights.
#[resumable(every = 2, name = "burn-keyed", skip(KEYED_RUNS))]
fn predictions(model: &Regressor, n: u64) -> Vec<u32> {
    let device = Device::default();
    let scale = Regressor::new(2, 5.0, &device);
    let mut out = Vec::new();
    for i in 0..n {
        KEYED_RUNS.fetch_add(1, SeqCst);
        if KEYED_FAIL_AT.load(SeqCst) == i {
            panic!("failing {i}");
        }
        let x = Tensor::from_data(TensorData::new(vec![i as f32 / 4.0], [1, 1]), &device);
        let y = scale.forward(model.forward(x));
        out.push(y.into_data().try_into_vec::<f32>().unwrap()[0].to_bits());
    }
    out
}

#[test]
fn two_models_of_one_architecture_are_two_calls() {
    fresh("burn-keyed");
    let device = Device::default();
    let one = Regressor::new(4, 0.0, &device);
    let other = Regressor::new(4, 3.0, &device);
    let uninterrupted = predictions(&one, 8);
    fresh("burn-keyed");
    KEYED_FAIL_AT.store(5, SeqCst);
    panic_of(|| predictions(&one, 8));
    KEYED_FAIL_AT.store(u64::MAX, SeqCst);
    // Another model of the same shape: its own call, from the start, not `one`'s checkpoint.
    take(&KEYED_RUNS);
    assert_ne!(predictions(&other, 8), uninterrupted);
    assert_eq!(take(&KEYED_RUNS), 8);
    // `one`, rebuilt with new parameter ids, resumes its own.
    let one_again = Regressor::new(4, 0.0, &device);
    assert_eq!(predictions(&one_again, 8), uninterrupted);
    assert_eq!(take(&KEYED_RUNS), 3);
}
