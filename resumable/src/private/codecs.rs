//! How each state binding is saved and restored: its [`Codec`], checked once for `State`,
//! then chosen by autoref specialization — whole, as a growing sequence, or as declared in
//! `append(...)`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::run::call::Restore;
use crate::run::growth::PlainItem;
pub use crate::run::round_trip::Comparison;
use crate::run::save::Encoded;
use crate::run::save::{STRING_TAIL_CHECKED, Save};

/// How one state binding is saved and restored; checking `T: State` once, in [`CodecOf`], keeps
/// the calls through it free of further errors when the check fails.
pub struct Codec<T> {
    /// Writes the binding into a checkpoint.
    pub save: fn(&mut Save<'_>, &T),
    /// Reads it back into the binding, over the prelude's value (see [`Restore::value_into`]).
    pub load: fn(&mut Restore, &mut T) -> Result<(), crate::Error>,
    /// Reads it back in place of the binding's value, which it takes: for a binding the
    /// function owns (see [`Restore::value_over`]).
    pub take: fn(&mut Restore, T) -> Result<T, crate::Error>,
    /// Reads it back as a value of its own, for a binding behind the caller's `&mut` (`*self`,
    /// a `&mut` parameter), assigned only once whole: a checkpoint that does not decode leaves
    /// the caller's value as it came in, never half-restored.
    pub fresh: fn(&mut Restore) -> Result<T, crate::Error>,
    /// The structure of `T`, recorded in the checkpoint so a changed type is refused; from the
    /// binding's value on entry when there is one (see `shape_of_value`).
    pub shape: fn(Option<&T>) -> String,
    /// At the run's first checkpoint, checks that the value comes back from its bytes as it
    /// was, compared as the binding's type allows (see [`RoundTrip`]).
    pub check: fn(&mut Save<'_>, &T, &Comparison<T>),
    /// Whether `load`, `take` and `fresh` restore an ndarray array in the memory order it was
    /// saved in (the codec [`CodecOf`] finds for an array); where they do not (a binding
    /// declared between the loops of a nest, whose codec is [`codec_of`]'s), a state array is
    /// saved only if it is row-major.
    pub in_memory_order: bool,
}

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Codec<T> {}

/// A state binding, asked for its [`Codec`] by autoref specialization:
/// `(&&&&CodecOf(&value)).codec()` finds, in this order, a codec of the runtime's own for a
/// type without serde or saved its own way ([`OwnCodec`]: a candle `Tensor` or `Var`, burn's
/// `ModuleOptimizer`, an ndarray array in its memory order, a polars `DataFrame` by its new
/// rows), serde's ([`SerdeCodec`]), a burn model's ([`ModuleCodec`], with the `burn` feature:
/// after serde's, since burn makes `f64` and `String` modules too), else [`NoCodec`], which
/// fails to compile at the binding with what to write.
pub struct CodecOf<'a, T>(pub &'a T);

/// The codec of a serde type: the usual one.
pub trait SerdeCodec<T> {
    /// [`codec_of`].
    #[inline(always)]
    fn codec(&self) -> Codec<T>
    where
        T: State,
    {
        codec_of()
    }
}

impl<T: State> SerdeCodec<T> for &&CodecOf<'_, T> {}

/// The codec of a type that has none: `T: State` fails to compile at the binding, with its
/// message.
pub trait NoCodec<T> {
    /// Never called: the bound fails first.
    #[inline(always)]
    fn codec(&self) -> Codec<T>
    where
        T: State,
    {
        codec_of()
    }
}

impl<T> NoCodec<T> for CodecOf<'_, T> {}

/// The codec of a type the runtime saves itself (the `candle` feature's tensors, the `burn`
/// feature's optimizer, the `polars` feature's frames).
pub trait OwnCodec<T> {
    /// Its codec.
    fn codec(&self) -> Codec<T>;
}

#[cfg(feature = "candle")]
impl OwnCodec<candle_core::Tensor> for &&&CodecOf<'_, candle_core::Tensor> {
    fn codec(&self) -> Codec<candle_core::Tensor> {
        use crate::candle::*;
        Codec {
            save: save_tensor,
            load: load_tensor,
            take: take_tensor,
            fresh: not_decodable_whole,
            shape: tensor_shape,
            // The numbers are the tensor's own, by construction: nothing to compare.
            check: |_, _, _| {},
            in_memory_order: false,
        }
    }
}

#[cfg(feature = "candle")]
impl OwnCodec<candle_core::Var> for &&&CodecOf<'_, candle_core::Var> {
    fn codec(&self) -> Codec<candle_core::Var> {
        use crate::candle::*;
        Codec {
            save: save_var,
            load: load_var,
            take: take_var,
            fresh: not_decodable_whole,
            shape: var_shape,
            check: |_, _, _| {},
            in_memory_order: false,
        }
    }
}

#[cfg(feature = "burn")]
impl OwnCodec<burn_optim::ModuleOptimizer> for &&&CodecOf<'_, burn_optim::ModuleOptimizer> {
    fn codec(&self) -> Codec<burn_optim::ModuleOptimizer> {
        use crate::burn::*;
        Codec {
            save: save_optimizer,
            load: load_optimizer,
            take: take_optimizer,
            fresh: not_decodable_whole,
            shape: optimizer_shape,
            // burn's record is the optimizer's state by construction: nothing to compare.
            check: |_, _, _| {},
            in_memory_order: false,
        }
    }
}

/// A polars `DataFrame` (the `polars` feature): each checkpoint writes the rows added since the
/// one before, the saved ones checked unchanged, or the frame whole; a restore reads its pieces
/// back (see `crate::polars`). Its own codec rather than a [`Grows`] pick, because the restore
/// differs from serde's too.
#[cfg(feature = "polars")]
impl OwnCodec<polars::prelude::DataFrame> for &&&CodecOf<'_, polars::prelude::DataFrame> {
    fn codec(&self) -> Codec<polars::prelude::DataFrame> {
        use crate::polars::*;
        Codec {
            save: save_frame,
            load: load_frame,
            take: take_frame,
            fresh: fresh_frame,
            shape: frame_shape,
            check: |save, frame, _| check_frame(save, frame),
            in_memory_order: false,
        }
    }
}

/// An ndarray array (the `ndarray` feature): serde's codec, restoring the array in the memory
/// order it was saved in (see `Grows` for `Pick` of an array).
#[cfg(feature = "ndarray")]
impl<S, D> OwnCodec<ndarray::ArrayBase<S, D>> for &&&CodecOf<'_, ndarray::ArrayBase<S, D>>
where
    S: ndarray::RawData,
    D: ndarray::Dimension,
    ndarray::ArrayBase<S, D>: State,
{
    #[inline(always)]
    fn codec(&self) -> Codec<ndarray::ArrayBase<S, D>> {
        Codec {
            load: |restore, place| {
                *place = array_in_order(restore)?;
                Ok(())
            },
            take: |restore, old| {
                drop(old);
                array_in_order(restore)
            },
            fresh: array_in_order,
            in_memory_order: true,
            ..codec_of()
        }
    }
}

/// The codec of a burn model (the `burn` feature): any `#[derive(Module)]` type.
pub trait ModuleCodec<T> {
    /// Its codec.
    fn codec(&self) -> Codec<T>;
}

#[cfg(feature = "burn")]
impl<M: burn_core::module::Module> ModuleCodec<M> for &CodecOf<'_, M> {
    #[inline(always)]
    fn codec(&self) -> Codec<M> {
        use crate::burn::*;
        Codec {
            save: save_module::<M>,
            load: load_module::<M>,
            take: take_module::<M>,
            fresh: not_decodable_whole,
            shape: module_shape::<M>,
            check: |_, _, _| {},
            in_memory_order: false,
        }
    }
}

/// The `fresh` of a type restored into the value there (a candle tensor, a burn model or
/// optimizer): never called, since such state behind a `&mut` is refused at compile time (see
/// `probes::Borrowed`).
#[cfg(any(feature = "candle", feature = "burn"))]
fn not_decodable_whole<T>(restore: &mut Restore) -> Result<T, crate::Error> {
    Err(restore.damaged("a tensor, model or optimizer cannot be decoded whole".to_owned()))
}

/// The codec of a serde type, for a binding whose type the code after this call decides: a binding declared
/// between the loops of a nest (`inner = 'label`), whose shape the checkpoint needs before the
/// outer loop runs.
#[inline(always)]
pub fn codec_of<T: State>() -> Codec<T> {
    Codec {
        save: save_whole,
        load,
        take,
        fresh,
        shape,
        check,
        in_memory_order: false,
    }
}

// A codec's functions, compiled once per state type. Not inlined: the codec is a constant where
// the generated code calls it, so these would be inlined, and optimized again, in every annotated
// function (issue 25: build time per function); they run once per call or per checkpoint.

#[inline(never)]
fn save_whole<T: State>(save: &mut Save<'_>, value: &T) {
    save.value(value);
}

#[inline(never)]
fn load<T: State>(restore: &mut Restore, place: &mut T) -> Result<(), crate::Error> {
    restore.value_into(place)
}

#[inline(never)]
fn take<T: State>(restore: &mut Restore, old: T) -> Result<T, crate::Error> {
    restore.value_over(old)
}

#[inline(never)]
fn fresh<T: State>(restore: &mut Restore) -> Result<T, crate::Error> {
    restore.value()
}

#[inline(never)]
fn shape<T: State>(value: Option<&T>) -> String {
    crate::format::shape::shape_of_value(value)
}

#[inline(never)]
fn check<T: State>(save: &mut Save<'_>, value: &T, compare: &Comparison<T>) {
    save.check(value, compare);
}

/// A state binding's value serialized now, for the saves that follow (see [`Encoded`]).
#[inline(always)]
pub fn encoded<T: State>(_: Codec<T>, value: &T) -> Encoded {
    Encoded::of(value)
}

/// The bound every state binding must meet.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be checkpointed: state must implement `Serialize` and `DeserializeOwned`",
    label = "this binding is checkpointed as loop state",
    note = "derive `serde::Serialize` and `serde::Deserialize` for it; for a random number generator, use one that serializes, `rand_chacha::ChaCha8Rng` with its `serde` feature (the same stream as rand's `ChaCha8Rng`), or make a fresh one in each iteration seeded from the item or the epoch (`ChaCha8Rng::seed_from_u64(seed ^ epoch)`), so that no iteration depends on the draws before it; for a reader, an iterator or a channel the loop pulls from, make it the loop's iterator (`for line in lines`) or keep its position (an index, a byte offset) as state",
    note = "a file the loop writes is `resumable::io::Output`, created like a `File` before the loop: each checkpoint saves its length and a resume cuts it back there (with `skip` the resumed run writes the file over from the start, or twice)",
    note = "`#[resumable(skip(name))]` is only for a value that never changes the result (a cache, a scratch buffer, a client): a skipped binding starts fresh on resume",
    note = "serde reads and writes arrays of at most 32 elements: hold a longer one (`[u64; 64]`) as a `Vec`, or in a struct whose field serializes it with `serde_big_array` or `serde_with`"
)]
pub trait State: Serialize + DeserializeOwned {}

impl<T: Serialize + DeserializeOwned> State for T {}

/// A state binding, asked how it is saved. Autoref specialization: `(&Pick(&value)).pick(codec)`
/// finds [`Grows`] for a `Vec` of [`PlainItem`]s and for a `String`, and [`Whole`] for the rest.
pub struct Pick<'a, T>(pub &'a T);

/// Saved as a growing sequence, verified (see the module docs).
pub trait Grows {
    /// The binding's type.
    type Value;
    /// The codec that saves only new elements when the saved ones did not change.
    fn pick(&self, whole: Codec<Self::Value>) -> Codec<Self::Value>;
}

impl<E: PlainItem + State> Grows for Pick<'_, Vec<E>> {
    type Value = Vec<E>;
    #[inline(always)]
    fn pick(&self, whole: Codec<Vec<E>>) -> Codec<Vec<E>> {
        Codec {
            save: |save, value| save.grown(value),
            ..whole
        }
    }
}

impl Grows for Pick<'_, String> {
    type Value = String;
    #[inline(always)]
    fn pick(&self, whole: Codec<String>) -> Codec<String> {
        Codec {
            save: |save, value| save.grown_str(value),
            ..whole
        }
    }
}

/// An ndarray array: saved whole, with the bytes ndarray's serde writes (from the slice of its
/// elements: see `run::layout::RowMajor`) if it is row-major; an array in another memory order
/// (`.f()`, after `reversed_axes` or `permuted_axes`) with that order, and restored in it (see
/// `run::layout`), since a sum over it, or any loop in memory order, could round differently
/// after a resume that brought it back row-major. One in no order of its axes (a reversed
/// axis, gaps), or of elements not read in bulk, is refused at the checkpoint.
#[cfg(feature = "ndarray")]
impl<S, D> Grows for Pick<'_, ndarray::ArrayBase<S, D>>
where
    S: ndarray::Data<Elem: Serialize>,
    D: ndarray::Dimension + Serialize,
    ndarray::ArrayBase<S, D>: State,
{
    type Value = ndarray::ArrayBase<S, D>;
    #[inline(always)]
    fn pick(&self, whole: Codec<Self::Value>) -> Codec<Self::Value> {
        Codec {
            save: match whole.in_memory_order {
                true => save_array::<S, D, true>,
                false => save_array::<S, D, false>,
            },
            ..whole
        }
    }
}

/// Saves an array, in its memory order where `IN_ORDER` (its codec restores it so) and it has
/// one, else only if it is row-major.
#[cfg(feature = "ndarray")]
#[inline(never)]
fn save_array<S, D, const IN_ORDER: bool>(save: &mut Save<'_>, value: &ndarray::ArrayBase<S, D>)
where
    S: ndarray::Data<Elem: Serialize>,
    D: ndarray::Dimension + Serialize,
    ndarray::ArrayBase<S, D>: State,
{
    use crate::run::layout::{RowMajor, axes, memory_order, not_row_major};
    let (mut head, view) = match not_row_major(value.shape(), value.strides()) {
        None => (Vec::new(), value.view()),
        Some(problem) => {
            let order = IN_ORDER
                .then(|| memory_order(value.shape(), value.strides()))
                .flatten();
            let Some(order) = order else {
                return save.refuse_value(problem);
            };
            // Our format's version, the order, then the array over its axes in that order.
            let mut head = vec![crate::format::bulk::PERMUTED_VERSION];
            crate::format::encode::push_varint(&mut head, order.len() as u128);
            for &axis in &order {
                crate::format::encode::push_varint(&mut head, axis as u128);
            }
            let view = value.view().permuted_axes(axes::<D>(&order));
            if !crate::format::bulk::is_bulk::<ndarray::ArrayBase<S, D>>() {
                // Read back only in bulk (see `format::bulk::array`).
                return save.refuse_value(problem);
            }
            (head, view)
        }
    };
    let Some(data) = view.as_slice() else {
        // Row-major with an odd stride on an axis of length 1: ndarray's own serde.
        return save.value(value);
    };
    let array = RowMajor {
        dim: view.raw_dim(),
        data,
    };
    // Elements a `Vec` of them encodes directly go so, after the array's head.
    let Ok(array_head) = array.head() else {
        return save.value(&array);
    };
    head.extend_from_slice(&array_head);
    let data = match castaway::cast!(data, &[f32]) {
        Ok(floats) => return save.whole_items(&head, floats),
        Err(data) => data,
    };
    let data = match castaway::cast!(data, &[f64]) {
        Ok(floats) => return save.whole_items(&head, floats),
        Err(data) => data,
    };
    let data = match castaway::cast!(data, &[u8]) {
        Ok(bytes) => return save.whole_items(&head, bytes),
        Err(data) => data,
    };
    match castaway::cast!(data, &[i8]) {
        Ok(bytes) => save.whole_items(&head, bytes),
        Err(_) => save.value(&array),
    }
}

/// Restores an array binding in the memory order it was saved in.
#[cfg(feature = "ndarray")]
#[inline(never)]
fn array_in_order<S, D>(restore: &mut Restore) -> Result<ndarray::ArrayBase<S, D>, crate::Error>
where
    S: ndarray::RawData,
    D: ndarray::Dimension,
    ndarray::ArrayBase<S, D>: State,
{
    let (array, order) = crate::format::bulk::in_memory_order(|| restore.value());
    match order {
        None => array,
        Some(order) => crate::run::layout::back_in_order(array?, &order)
            .map_err(|problem| restore.damaged(problem)),
    }
}

/// Saved whole at every checkpoint.
pub trait Whole {
    /// The binding's type.
    type Value;
    /// The codec as it is.
    #[inline(always)]
    fn pick(&self, whole: Codec<Self::Value>) -> Codec<Self::Value> {
        whole
    }
}

impl<T> Whole for &Pick<'_, T> {
    type Value = T;
}

/// A binding named in `append(...)`, asked how its new elements are encoded: directly for a
/// `Vec` of [`PlainItem`]s ([`AppendsPlain`]), through serde for the rest ([`AppendsAny`]).
/// Chosen at the save site like [`Grows`].
pub trait AppendsPlain {
    /// The binding's type.
    type Value;
    /// The declared codec, encoding new elements directly.
    fn pick_append(&self, declared: Codec<Self::Value>) -> Codec<Self::Value>;
}

impl<E: PlainItem + State> AppendsPlain for Pick<'_, Vec<E>> {
    type Value = Vec<E>;
    #[inline(always)]
    fn pick_append(&self, declared: Codec<Vec<E>>) -> Codec<Vec<E>> {
        Codec {
            save: |save, value| save.appended_plain(value),
            ..declared
        }
    }
}

/// A declared binding whose new elements are encoded through serde.
pub trait AppendsAny {
    /// The binding's type.
    type Value;
    /// The declared codec as it is.
    #[inline(always)]
    fn pick_append(&self, declared: Codec<Self::Value>) -> Codec<Self::Value> {
        declared
    }
}

impl<T> AppendsAny for &Pick<'_, T> {
    type Value = T;
}

/// A binding named in `append(...)`.
#[diagnostic::on_unimplemented(
    message = "`append(...)` works on `Vec<T>` and `String` (and a polars `DataFrame`, with the `polars` feature), not on `{Self}`",
    label = "declared append-only here",
    note = "remove it from `append(...)`: it is then saved whole at every checkpoint"
)]
pub trait AppendOnly: Sized + Default {
    /// Saves only what was appended since the last checkpoint, after checking that nothing
    /// saved changed.
    fn save_appended(save: &mut Save<'_>, value: &Self);

    /// Restores the binding into `place`, and tells the run what was saved of it: the first
    /// save after a resume then appends to the log too.
    fn load_appended(restore: &mut Restore, place: &mut Self) -> Result<(), crate::Error>;
}

impl<E: Serialize + DeserializeOwned> AppendOnly for Vec<E> {
    fn save_appended(save: &mut Save<'_>, value: &Self) {
        save.appended(value);
    }

    fn load_appended(restore: &mut Restore, value: &mut Self) -> Result<(), crate::Error> {
        restore.value_into(value)?;
        let last = value.last().map_or(Ok(Vec::new()), postcard::to_allocvec);
        if let Ok(last) = last {
            restore.appended_restored(value.len() as u64, last);
        }
        Ok(())
    }
}

impl AppendOnly for String {
    fn save_appended(save: &mut Save<'_>, value: &Self) {
        save.appended_str(value);
    }

    fn load_appended(restore: &mut Restore, value: &mut Self) -> Result<(), crate::Error> {
        restore.value_into(value)?;
        let tail = value.len().saturating_sub(STRING_TAIL_CHECKED);
        restore.appended_restored(value.len() as u64, value.as_bytes()[tail..].to_vec());
        Ok(())
    }
}

#[cfg(feature = "polars")]
impl AppendOnly for polars::prelude::DataFrame {
    fn save_appended(save: &mut Save<'_>, value: &Self) {
        crate::polars::save_appended(save, value);
    }

    fn load_appended(restore: &mut Restore, value: &mut Self) -> Result<(), crate::Error> {
        crate::polars::load_appended(restore, value)
    }
}

/// The codec of a binding declared in `append(...)`.
#[inline(always)]
pub fn append_only<T: AppendOnly>(_: &T, whole: Codec<T>) -> Codec<T> {
    Codec {
        save: T::save_appended,
        load: T::load_appended,
        // Decoded over the old value: serde's `Vec` writes each element over the one there,
        // so at most one element is held twice.
        take: |restore, mut value| T::load_appended(restore, &mut value).map(|()| value),
        fresh: |restore| {
            let mut value = T::default();
            T::load_appended(restore, &mut value).map(|()| value)
        },
        ..whole
    }
}

/// A state binding, asked how a copy of it decoded from its checkpoint's bytes is compared
/// with it, by autoref specialization: `(&&&RoundTrip(&x)).comparison()` is through
/// `PartialEq` and `Debug` (which names the field that differs), `PartialEq`, `Debug`, or —
/// with neither — the bytes the copy encodes to (which do not see a field serde skips).
pub struct RoundTrip<'a, T>(pub &'a T);

/// `RoundTrip` of a `PartialEq + Debug` binding.
pub trait CompareEqDebug {
    /// The binding's type.
    type Value;
    /// Through `PartialEq`; `Debug` names the field.
    fn comparison(&self) -> Comparison<Self::Value>;
}

impl<T: PartialEq + core::fmt::Debug> CompareEqDebug for &&RoundTrip<'_, T> {
    type Value = T;
    #[inline(always)]
    fn comparison(&self) -> Comparison<T> {
        Comparison::new(Some(T::eq), Some(<T as core::fmt::Debug>::fmt))
    }
}

/// `RoundTrip` of a `PartialEq` binding without `Debug`.
pub trait CompareEq {
    /// The binding's type.
    type Value;
    /// Through `PartialEq`.
    fn comparison(&self) -> Comparison<Self::Value>;
}

impl<T: PartialEq> CompareEq for &&&RoundTrip<'_, T> {
    type Value = T;
    #[inline(always)]
    fn comparison(&self) -> Comparison<T> {
        Comparison::new(Some(T::eq), None)
    }
}

/// `RoundTrip` of a `Debug` binding without `PartialEq`.
pub trait CompareDebug {
    /// The binding's type.
    type Value;
    /// Through the `Debug` text.
    fn comparison(&self) -> Comparison<Self::Value>;
}

impl<T: core::fmt::Debug> CompareDebug for &RoundTrip<'_, T> {
    type Value = T;
    #[inline(always)]
    fn comparison(&self) -> Comparison<T> {
        Comparison::new(None, Some(<T as core::fmt::Debug>::fmt))
    }
}

/// `RoundTrip` of a binding with neither.
pub trait CompareBytes {
    /// The binding's type.
    type Value;
    /// Through the bytes the copy encodes to.
    fn comparison(&self) -> Comparison<Self::Value>;
}

impl<T> CompareBytes for RoundTrip<'_, T> {
    type Value = T;
    #[inline(always)]
    fn comparison(&self) -> Comparison<T> {
        Comparison::new(None, None)
    }
}
