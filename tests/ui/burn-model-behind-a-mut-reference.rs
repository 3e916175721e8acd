// A burn model behind the caller's `&mut` is state, and a resume decodes such state whole:
// a model cannot be (it is restored by loading the checkpoint into a model built by code), so
// the loop is refused here, not after a run whose checkpoints no resume could load.
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use resumable::resumable;

#[resumable(every = 10)]
fn fit(model: &mut Linear, steps: u64) {
    for _ in 0..steps {
        let x = Tensor::<2>::ones([4, 1], &Device::default());
        let _ = model.forward(x);
        *model = LinearConfig::new(1, 1).init(&Device::default());
    }
}

fn main() {
    let mut model = LinearConfig::new(1, 1).init(&Device::default());
    fit(&mut model, 3);
}
