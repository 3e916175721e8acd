//! burn's models and optimizers as loop state (the `burn` feature).
//!
//! A `#[resumable]` loop's state may be a burn model (any `#[derive(Module)]` type) and burn's
//! optimizer (`ModuleOptimizer`, what `AdamConfig::new().init()` and the other configs make),
//! written as burn's own examples write them:
//!
//! ```text
//! let mut model = Regressor::new(&device);
//! let mut optim = AdamConfig::new().init();
//! for step in 0..steps {
//!     let grads = GradientsParams::from_grads(loss(&model, step).backward(), &model);
//!     model = optim.step(1e-2, model, grads);
//! }
//! ```
//!
//! Both are saved through burn's own records (`Module::into_record`, `ModuleOptimizer::to_record`,
//! in burn's burnpack bytes) and restored bit for bit: every parameter with its dtype, shape and
//! parameter id (which the optimizer's moments are keyed by), and every moment and step count
//! of the optimizer. A model is restored with `Module::try_load_record` over the value the
//! function built before the loop, so its device and its runtime settings (dropout, flags) are
//! that value's; an optimizer's state is loaded on the default device and moves to its
//! parameters' device at the next step, as burn's `load_record` does.
//!
//! A checkpoint records the model's parameters (path, dtype, dims), so a checkpoint of another
//! architecture is refused as saved with different state before anything is restored. A model
//! or optimizer behind a `&mut` parameter is refused at compile time (a resume would have to
//! decode it whole, with no model to load it into): pass it by value and return it.
//!
//! A model argument is keyed by the hash of its parameters' data, not its `Debug` text (which
//! shows parameter ids, not weights); a model the loop only reads (declared without `mut`, or
//! an argument) is watched through its parameters' ids and dims, which is all that can change
//! through `&`. burn's random numbers (dropout, `Tensor::random`) are not state: a loop that
//! draws them reseeds per step (`device.seed(seed ^ step as u64)`) to resume to the same result.

use std::hash::Hasher as _;

use burn_core::module::{Module, ModuleVisitor, Param};
use burn_core::store::ModuleRecord;
use burn_core::tensor::{Bool, Bytes, Int, Tensor, TensorData};
use burn_optim::ModuleOptimizer;

use crate::format::hash::Hash128;
use crate::run::call::Restore;
use crate::run::save::Save;

// What a model's codec does (`__private::codecs` puts them together).

/// Saves a model binding: its record's burnpack bytes, as one byte string.
pub(crate) fn save_module<M: Module>(save: &mut Save<'_>, model: &M) {
    match model.clone().into_record().into_bytes() {
        Ok(bytes) => save.value(&*bytes),
        Err(err) => save.refuse_value(format!("burn cannot write the model's record ({err})")),
    }
}

/// Restores a model binding over `place`: the record loaded into a copy of it, assigned once
/// loaded.
pub(crate) fn load_module<M: Module>(
    restore: &mut Restore,
    place: &mut M,
) -> Result<(), crate::Error> {
    *place = take_module(restore, place.clone())?;
    Ok(())
}

/// Restores a model binding the function owns, loading the record into `old`.
pub(crate) fn take_module<M: Module>(restore: &mut Restore, old: M) -> Result<M, crate::Error> {
    let bytes: Vec<u8> = restore.value()?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|err| {
        restore.damaged(format!("the saved model's record does not decode ({err})"))
    })?;
    old.try_load_record(record)
        .map_err(|err| restore.damaged(format!("the saved model does not load into it ({err})")))
}

/// The structure a checkpoint records for a model binding: its type and each parameter's path,
/// dtype and dims, so a checkpoint of another architecture is refused before it is read.
pub(crate) fn module_shape<M: Module>(model: Option<&M>) -> String {
    let mut text = format!("burn {}", std::any::type_name::<M>());
    if let Some(model) = model {
        each_param(model, |path, data| {
            text.push_str(&format!(" {path}:{:?}{:?}", data.dtype(), data.shape()));
        });
    }
    text
}

// What an optimizer's codec does.

/// Saves an optimizer binding: its record's burnpack bytes, as one byte string.
pub(crate) fn save_optimizer(save: &mut Save<'_>, optim: &ModuleOptimizer) {
    match optim.into_bytes() {
        Ok(bytes) => save.value(&*bytes),
        Err(err) => save.refuse_value(format!("burn cannot write the optimizer's record ({err})")),
    }
}

/// Restores an optimizer binding over `place`, assigned once loaded.
pub(crate) fn load_optimizer(
    restore: &mut Restore,
    place: &mut ModuleOptimizer,
) -> Result<(), crate::Error> {
    *place = take_optimizer(restore, place.clone())?;
    Ok(())
}

/// Restores an optimizer binding the function owns: its configuration (which optimizer, which
/// groups) is `old`'s, its state the checkpoint's.
pub(crate) fn take_optimizer(
    restore: &mut Restore,
    old: ModuleOptimizer,
) -> Result<ModuleOptimizer, crate::Error> {
    let bytes: Vec<u8> = restore.value()?;
    old.from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|err| {
        restore.damaged(format!(
            "the saved optimizer's record does not decode ({err})"
        ))
    })
}

/// The shape text of an optimizer binding.
pub(crate) fn optimizer_shape(_: Option<&ModuleOptimizer>) -> String {
    "burn ModuleOptimizer".to_owned()
}

// Models the loop reads: watched and keyed by their data.

/// A watched model's fingerprint: the hash of every parameter's path, id and dims, not its
/// data. A burn model cannot change through `&` (a parameter is replaced only by a new module,
/// with a new id, through `&mut` or by value), so what can change is seen without copying
/// every weight at each checkpoint.
pub(crate) fn fingerprint<M: Module>(model: &M) -> u64 {
    let mut hasher = Hash128::new();
    model.visit(&mut Ids(&mut hasher));
    hasher.finish()
}

/// The visitor of [`fingerprint`].
struct Ids<'a>(&'a mut Hash128);

impl Ids<'_> {
    fn meet(&mut self, id: burn_core::module::ParamId, dims: &[usize]) {
        self.0.write(&id.val().to_le_bytes());
        for dim in dims {
            self.0.write(&dim.to_le_bytes());
        }
    }
}

impl ModuleVisitor for Ids<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.0.write(name.as_bytes());
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.meet(param.id, param.lazy_shape().as_slice());
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<D, Int>>) {
        self.meet(param.id, param.lazy_shape().as_slice());
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<D, Bool>>) {
        self.meet(param.id, param.lazy_shape().as_slice());
    }
}

/// A model argument's part of the checkpoint's key: the same hash, 128 bits.
pub(crate) fn key_fingerprint<M: Module>(model: &M) -> u128 {
    let mut hasher = hasher_over(model);
    hasher.write(b"burn");
    hasher.finish128()
}

/// A hasher fed each parameter's path, dtype, dims and data, in the module's order. Not its
/// parameter ids: a model built afresh gets new ones at each run.
fn hasher_over<M: Module>(model: &M) -> Hash128 {
    let mut hasher = Hash128::new();
    each_param(model, |path, data| {
        hasher.write(format!("{path}:{:?}{:?}", data.dtype(), data.shape()).as_bytes());
        hasher.write(data.as_bytes());
    });
    hasher
}

/// Calls `meet` with each tensor parameter of `model`, its path and its data, as burn's record
/// holds them (`transform_for_save`), in the module's order.
fn each_param<M: Module>(model: &M, meet: impl FnMut(&str, TensorData)) {
    model.visit(&mut Params {
        path: Vec::new(),
        meet,
    });
}

/// The visitor of [`each_param`].
struct Params<F> {
    path: Vec<String>,
    meet: F,
}

impl<F: FnMut(&str, TensorData)> ModuleVisitor for Params<F> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        (self.meet)(
            &self.path.join("."),
            param.transform_for_save().val().into_data(),
        );
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<D, Int>>) {
        (self.meet)(
            &self.path.join("."),
            param.transform_for_save().val().into_data(),
        );
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<D, Bool>>) {
        (self.meet)(
            &self.path.join("."),
            param.transform_for_save().val().into_data(),
        );
    }
}
