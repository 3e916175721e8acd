//! candle's tensors as loop state (the `candle` feature, issue 26): a training loop whose
//! weights are `Var`s, interrupted and resumed, ends with the uninterrupted run's weights bit
//! for bit; an optimizer's clone of a `Var` sees the restored weights; a `Tensor` reassigned
//! every iteration resumes too; a `Var` changed without being state is refused; bundles of
//! tensors round-trip through `resumable::save`/`load`.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use candle_core::{DType, Device, Tensor, Var};
use common::{find_checkpoint, fresh, panic_of, saved_index, take};
use resumable::resumable;
use serde::{Deserialize, Serialize};

static TRAIN_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static TRAIN_RUNS: AtomicU64 = AtomicU64::new(0);

fn saved(name: &str) -> Option<u64> {
    saved_index(&find_checkpoint(std::path::Path::new(".resumable"), name)?)
}

/// The bits of a tensor's values, to compare runs exactly.
fn bits(tensor: &Tensor) -> Vec<u32> {
    tensor
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f32::to_bits)
        .collect()
}

/// Linear regression by gradient descent: `w` and `b` are state; the update writes through
/// `params`, the clones an optimizer would hold, so the restore must be in place.
#[resumable(every = 10, name = "candle-train", skip(TRAIN_RUNS, params, xs, ys))]
fn train(steps: u64) -> (Vec<u32>, Vec<u32>) {
    let dev = Device::Cpu;
    let xs = Tensor::arange(0f32, 32., &dev)
        .unwrap()
        .affine(1.0 / 32.0, 0.0)
        .unwrap()
        .reshape((32, 1))
        .unwrap();
    let ys = xs.affine(3.0, -2.0).unwrap();
    let mut w = Var::zeros((1, 1), DType::F32, &dev).unwrap();
    let mut b = Var::zeros(1, DType::F32, &dev).unwrap();
    let params = [w.clone(), b.clone()];
    for step in 0..steps {
        TRAIN_RUNS.fetch_add(1, SeqCst);
        if TRAIN_FAIL_AT.load(SeqCst) == step {
            panic!("failing step {step}");
        }
        let pred = xs.matmul(&w).unwrap().broadcast_add(&b).unwrap();
        let loss = (pred - &ys).unwrap().sqr().unwrap().mean_all().unwrap();
        let grads = loss.backward().unwrap();
        for param in &params {
            let grad = grads.get(param).unwrap();
            let next = (param.as_tensor() - (grad * 0.5).unwrap()).unwrap();
            param.set(&next).unwrap();
        }
    }
    (bits(&w), bits(&b))
}

#[test]
fn a_training_loop_resumes_to_the_same_weights_bit_for_bit() {
    fresh("candle-train");
    let uninterrupted = train(60);
    fresh("candle-train");
    TRAIN_FAIL_AT.store(37, SeqCst);
    let message = panic_of(|| train(60));
    assert!(message.contains("failing step 37"), "{message}");
    assert_eq!(saved("candle-train"), Some(37));
    TRAIN_FAIL_AT.store(u64::MAX, SeqCst);
    take(&TRAIN_RUNS);
    assert_eq!(train(60), uninterrupted);
    assert_eq!(
        take(&TRAIN_RUNS),
        23,
        "the resumed run runs steps 37 to 59 only"
    );
    // Not a fresh start that agrees: training moved the weights.
    assert_ne!(uninterrupted.0, vec![0f32.to_bits()]);
}

static SUM_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// A `Tensor` of another dtype, reassigned every iteration.
#[resumable(every = 4, name = "candle-sum")]
fn running(n: u64) -> Vec<f64> {
    let mut acc = Tensor::zeros((2, 2), DType::F64, &Device::Cpu).unwrap();
    for i in 0..n {
        if SUM_FAIL_AT.load(SeqCst) == i {
            panic!("failing {i}");
        }
        // `&acc`: `acc * 0.5` would move the state, which the attribute refuses (E0382).
        acc = ((&acc * 0.5).unwrap() + i as f64 / 3.0).unwrap();
    }
    acc.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn a_reassigned_tensor_resumes_with_its_dtype_and_shape() {
    fresh("candle-sum");
    let uninterrupted = running(30);
    fresh("candle-sum");
    SUM_FAIL_AT.store(18, SeqCst);
    panic_of(|| running(30));
    assert_eq!(saved("candle-sum"), Some(18));
    SUM_FAIL_AT.store(u64::MAX, SeqCst);
    let resumed = running(30);
    assert_eq!(
        resumed.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        uninterrupted
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<_>>()
    );
}

/// A `Var` the loop changes through `Var::set` while declared without `mut`: not state, so a
/// resume would lose the change; the watch sees its bytes change and refuses the save.
#[resumable(every = 5, name = "candle-watched", key = ())]
fn changes_a_watched_var(n: u64) -> f32 {
    let w = Var::ones(3, DType::F32, &Device::Cpu).unwrap();
    let mut total = 0f32;
    for i in 0..n {
        w.set(&(w.as_tensor() * 1.5).unwrap()).unwrap();
        total += i as f32;
    }
    total + w.sum_all().unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn a_var_changed_without_being_state_is_refused_before_it_is_saved() {
    fresh("candle-watched");
    let message = panic_of(|| changes_a_watched_var(12));
    assert!(message.contains("`w`"), "{message}");
    assert!(saved("candle-watched").is_none(), "nothing was saved");
}

#[derive(Serialize, Deserialize)]
struct Bundle {
    #[serde(with = "resumable::candle::var")]
    weights: Var,
    #[serde(with = "resumable::candle::tensor")]
    scale: Tensor,
    features: Vec<String>,
}

#[test]
fn a_bundle_of_tensors_round_trips_through_save_and_load() {
    let dir = common::Scratch::new("candle-bundle");
    let path = dir.0.join("model.bin");
    let weights = Var::from_tensor(
        &Tensor::arange(0u32, 12, &Device::Cpu)
            .unwrap()
            .to_dtype(DType::BF16)
            .unwrap()
            .reshape((3, 4))
            .unwrap(),
    )
    .unwrap();
    let bundle = Bundle {
        weights,
        scale: Tensor::new(&[0.25f64, 4.0], &Device::Cpu).unwrap(),
        features: vec!["age".into(), "height".into()],
    };
    resumable::save(&path, &bundle).unwrap();
    let back: Bundle = resumable::load(&path)
        .unwrap()
        .expect("the bundle was saved");
    assert_eq!(back.weights.dtype(), DType::BF16);
    assert_eq!(back.weights.dims(), &[3, 4]);
    assert_eq!(
        back.weights
            .to_dtype(DType::F32)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap(),
        bundle
            .weights
            .to_dtype(DType::F32)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap()
    );
    assert_eq!(back.scale.to_vec1::<f64>().unwrap(), vec![0.25, 4.0]);
    assert_eq!(back.features, bundle.features);
}

static SHAPE_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

#[resumable(every = 2, name = "candle-shape", key = ())]
fn three_weights(n: u64) -> f32 {
    let mut w = Var::ones(3, DType::F32, &Device::Cpu).unwrap();
    for i in 0..n {
        if SHAPE_FAIL_AT.load(SeqCst) == i {
            panic!("failing {i}");
        }
        w.set(&(w.as_tensor() * 1.5).unwrap()).unwrap();
    }
    w.sum_all().unwrap().to_scalar::<f32>().unwrap()
}

/// The same checkpoint name, a `Var` of another shape: another version of the function.
#[resumable(every = 2, name = "candle-shape", key = ())]
fn four_weights(n: u64) -> f32 {
    let mut w = Var::ones(4, DType::F32, &Device::Cpu).unwrap();
    for _ in 0..n {
        w.set(&(w.as_tensor() * 1.5).unwrap()).unwrap();
    }
    w.sum_all().unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn a_checkpoint_of_a_var_of_another_shape_is_refused_not_loaded() {
    fresh("candle-shape");
    SHAPE_FAIL_AT.store(5, SeqCst);
    panic_of(|| three_weights(10));
    SHAPE_FAIL_AT.store(u64::MAX, SeqCst);
    let before = saved("candle-shape");
    assert_eq!(before, Some(5));
    let message = panic_of(|| four_weights(10));
    assert!(
        message.contains("different state")
            && message.contains("`w`: the structure of its type changed"),
        "{message}"
    );
    // Refused, not thrown away: the checkpoint is still there for the function that made it.
    assert_eq!(saved("candle-shape"), before);
    assert_eq!(three_weights(10), 3.0 * 1.5f32.powi(10));
}

static KEYED_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static KEYED_RUNS: AtomicU64 = AtomicU64::new(0);

/// A tensor argument is in the key by its data: `Debug` shows only its dtype and dims, so a
/// call with other values of the same shape would otherwise resume this one's checkpoint.
#[resumable(every = 2, name = "candle-keyed", skip(KEYED_RUNS))]
fn scaled(init: &Tensor, n: u64) -> Vec<f32> {
    let mut acc = init.clone();
    for i in 0..n {
        KEYED_RUNS.fetch_add(1, SeqCst);
        if KEYED_FAIL_AT.load(SeqCst) == i {
            panic!("failing {i}");
        }
        acc = (&acc * 2.0).unwrap();
    }
    acc.to_vec1().unwrap()
}

#[test]
fn two_tensor_arguments_of_one_shape_are_two_calls() {
    fresh("candle-keyed");
    let ones = Tensor::ones(3, DType::F32, &Device::Cpu).unwrap();
    let twos = (&ones * 2.0).unwrap();
    KEYED_FAIL_AT.store(5, SeqCst);
    panic_of(|| scaled(&ones, 8));
    KEYED_FAIL_AT.store(u64::MAX, SeqCst);
    // Another tensor of the same shape: its own call, from the start, not `ones`' checkpoint.
    take(&KEYED_RUNS);
    assert_eq!(scaled(&twos, 8), vec![512.0; 3]);
    assert_eq!(take(&KEYED_RUNS), 8);
    // `ones` resumes its own.
    assert_eq!(scaled(&ones, 8), vec![256.0; 3]);
    assert_eq!(take(&KEYED_RUNS), 3);
}
