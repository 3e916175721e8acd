//! What the generated code asks about the values it meets, by autoref specialization (the
//! method found first tells what a type implements, with no trait bound at the call): a
//! watched binding's fingerprint, whether state is a shared handle, the loop's next item's
//! fingerprint.

use core::hash::Hasher as _;

use serde::Serialize;

/// A binding the loop reads but does not own as state (declared without `mut`, a parameter,
/// `self`), asked for a fingerprint by autoref specialization: `(&&&&Watched(&x)).print()` hashes
/// at most [`WATCHED_BYTES`] of its postcard bytes (or a candle tensor's data), else its `Hash`,
/// else a burn model's data. A binding with neither is a
/// compile error at the binding ([`Visible`]): its `Debug` text may not show what changed (a
/// tensor prints its shape), so a watch through it could not be trusted. Compared on entry and
/// at every save ([`Run::save`](super::Run::save)).
pub struct Watched<'a, T: ?Sized>(pub &'a T);

/// How much of a watched binding is fingerprinted: what a `Cell` in a user's type changes sits
/// near its start, and a large input (a `Vec` of a million rows) costs no more than this.
pub const WATCHED_BYTES: usize = 1 << 20;

/// `Watched` of a `Serialize` binding: what serde sees of a `Cell`, a `RefCell`, an atomic
/// or a `Mutex` is its content.
pub trait WatchedSerde {
    /// The hash of its first [`WATCHED_BYTES`] postcard bytes; `None` if its `Serialize` fails.
    fn print(&self) -> Option<u64>;
}

impl<T: Serialize + ?Sized> WatchedSerde for &&&Watched<'_, T> {
    fn print(&self) -> Option<u64> {
        let mut hasher = crate::format::hash::Hash128::new();
        crate::run::hash_into::serialized(self.0, &mut hasher, WATCHED_BYTES)
            .then(|| hasher.finish())
    }
}

/// `Watched` of a type the runtime fingerprints itself. A candle `Tensor` or `Var` (the `candle`
/// feature): the hash of all its bytes, so that a `Var` the loop changes through `Var::set`
/// without holding it as state is refused at the next save, and a tensor it only reads is
/// checked unchanged. A burn `Device` (the `burn` feature): its `Debug` text, all there is to it.
pub trait WatchedOwn {
    /// The hash of its dtype, dims and data.
    fn print(&self) -> Option<u64>;
}

#[cfg(feature = "candle")]
impl WatchedOwn for &&&Watched<'_, candle_core::Tensor> {
    fn print(&self) -> Option<u64> {
        Some(crate::candle::fingerprint(self.0))
    }
}

#[cfg(feature = "candle")]
impl WatchedOwn for &&&Watched<'_, candle_core::Var> {
    fn print(&self) -> Option<u64> {
        Some(crate::candle::fingerprint(self.0.as_tensor()))
    }
}

#[cfg(feature = "burn")]
impl WatchedOwn for &&&Watched<'_, burn_core::tensor::Device> {
    fn print(&self) -> Option<u64> {
        let mut hasher = crate::format::hash::Hash128::new();
        crate::run::hash_into::debugged(self.0, &mut hasher, usize::MAX);
        Some(hasher.finish())
    }
}

/// `Watched` of a `Hash` binding (a type with a `Cell` or an atomic inside has no `Hash`).
pub trait WatchedHash {
    /// Its `Hash` fed to XXH3 (compared within one run only, so not the stored FNV).
    fn print(&self) -> Option<u64>;
}

impl<T: core::hash::Hash + ?Sized> WatchedHash for &&Watched<'_, T> {
    fn print(&self) -> Option<u64> {
        let mut hasher = crate::format::hash::Hash128::new();
        self.0.hash(&mut hasher);
        Some(hasher.finish())
    }
}

/// `Watched` of a burn model (the `burn` feature): the hash of every
/// parameter's data, which its `Debug` text does not show.
pub trait WatchedModule {
    /// The hash of its parameters.
    fn print(&self) -> Option<u64>;
}

#[cfg(feature = "burn")]
impl<M: burn_core::module::Module> WatchedModule for &Watched<'_, M> {
    fn print(&self) -> Option<u64> {
        Some(crate::burn::fingerprint(self.0))
    }
}

/// [`WatchedModule`] of a reference to a burn model (a trait of its own: burn's `Module` could
/// be implemented for a reference downstream, so one trait cannot have both impls).
pub trait WatchedModuleRef {
    /// The hash of its parameters.
    fn print(&self) -> Option<u64>;
}

#[cfg(feature = "burn")]
impl<M: burn_core::module::Module> WatchedModuleRef for &Watched<'_, &M> {
    fn print(&self) -> Option<u64> {
        Some(crate::burn::fingerprint(*self.0))
    }
}

/// `Watched` of anything else: a compile error at the binding, through [`Visible`].
pub trait WatchedOpaque<T: ?Sized> {
    /// Never called: the bound fails to compile first.
    fn print(&self) -> Option<u64>
    where
        Self: Visible<T>,
    {
        None
    }
}

impl<T: ?Sized> WatchedOpaque<T> for Watched<'_, T> {}

/// Implemented by no type: the bound that makes a binding the watch cannot see a compile error,
/// with this message.
#[diagnostic::on_unimplemented(
    message = "the loop reads this binding, a `{T}`, without owning it as state, and #[resumable] cannot see its value (it has no `Serialize` or `Hash`) to check that the loop does not change it",
    label = "read by the loop, not checkpointed, and not checkable",
    note = "a value changed through `&` (a `Cell`, `RefCell`, atomic or `Mutex` inside it) would be lost by a resume, and the result would differ",
    note = "if the loop never changes what it holds (a client, a cache, a read-only table), list it in `#[resumable(skip(name))]`; if the loop changes it, make it loop state: a `let mut` binding of a serializable type (for a file it writes, `resumable::io::Output`); or derive `Serialize` or `Hash` for its type"
)]
pub trait Visible<T: ?Sized> {}

/// A state binding behind the caller's `&mut` (`*self`, a `&mut` parameter), which a resume
/// decodes whole (a value of its own, assigned once decoded), asked whether it can be, by
/// autoref specialization: `(&&&&Borrowed(&x)).whole()` is [`Built`] for a value the runtime
/// restores by loading it into the value there (a candle tensor, a burn model or optimizer:
/// restored whole it would lack its dtype, dims, architecture), checked before serde's `()`
/// since burn makes `f64` a model too; [`decodable_whole`] accepts only `()`, so such a binding
/// is a compile error, not a run that checkpoints what no resume can load.
pub struct Borrowed<'a, T: ?Sized>(pub &'a T);

/// What [`Borrowed`] of a value restored by loading it into one gives.
pub struct Built;

/// `Borrowed` of a type the runtime restores into the value there.
pub trait BorrowedBuilt {
    /// [`Built`].
    fn whole(&self) -> Built {
        Built
    }
}

#[cfg(feature = "candle")]
impl BorrowedBuilt for &&&Borrowed<'_, candle_core::Tensor> {}
#[cfg(feature = "candle")]
impl BorrowedBuilt for &&&Borrowed<'_, candle_core::Var> {}
#[cfg(feature = "burn")]
impl BorrowedBuilt for &&&Borrowed<'_, burn_optim::ModuleOptimizer> {}

/// `Borrowed` of a serde type: decoded whole.
pub trait BorrowedSerde {
    /// `()`.
    fn whole(&self) {}
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> BorrowedSerde for &&Borrowed<'_, T> {}

/// `Borrowed` of a burn model (the `burn` feature), after serde's.
pub trait BorrowedModule {
    /// [`Built`].
    fn whole(&self) -> Built {
        Built
    }
}

#[cfg(feature = "burn")]
impl<M: burn_core::module::Module> BorrowedModule for &Borrowed<'_, M> {}

/// `Borrowed` of anything else: `()` (its codec's `State` bound says what is wrong with it).
pub trait BorrowedAny {
    /// `()`.
    fn whole(&self) {}
}

impl<T: ?Sized> BorrowedAny for Borrowed<'_, T> {}

/// Accepts what [`Borrowed`] gives for a value a resume can decode whole.
#[inline(always)]
pub fn decodable_whole<T: DecodableWhole>(_: T) {}

/// What a state binding behind a `&mut` that a resume can decode whole gives.
#[diagnostic::on_unimplemented(
    message = "this state is behind the caller's `&mut`, so a resume must decode it whole, and a candle tensor or a burn model or optimizer cannot be: it is restored by loading the checkpoint into the value there (its dtype and dims, its architecture), which the caller's value may not match",
    label = "checkpointed as loop state through a `&mut`",
    note = "take it by value and return it (`fn train(mut model: Model, ..) -> Model`), or build it in the function (`let mut model = Model::new(&device);`)"
)]
pub trait DecodableWhole {}

impl DecodableWhole for () {}

/// A state binding asked whether it is a shared handle, by autoref specialization:
/// `(&&Sharing(&x)).sharing()` is [`Shared`] for an `Rc` or an `Arc` and `()` otherwise, and
/// [`not_shared`] accepts only `()`.
pub struct Sharing<'a, T: ?Sized>(pub &'a T);

/// What [`Sharing`] of an `Rc` or `Arc` gives.
pub struct Shared;

/// `Sharing` of an `Rc` or an `Arc`.
pub trait SharedState {
    /// [`Shared`].
    fn sharing(&self) -> Shared {
        Shared
    }
}

impl<T: ?Sized> SharedState for &Sharing<'_, std::rc::Rc<T>> {}
impl<T: ?Sized> SharedState for &Sharing<'_, std::sync::Arc<T>> {}

/// `Sharing` of anything else.
pub trait AnyState {
    /// `()`.
    fn sharing(&self) {}
}

impl<T: ?Sized> AnyState for &&Sharing<'_, T> {}

/// Accepts what [`Sharing`] gives for a value that is not a shared handle.
#[inline(always)]
pub fn not_shared<T: NotShared>(_: T) {}

/// What a state binding that is not a shared handle gives.
#[diagnostic::on_unimplemented(
    message = "a shared handle (`Arc` or `Rc`) cannot be loop state: restoring it would replace this handle and leave every clone of it with the fresh value",
    label = "this binding is checkpointed as loop state",
    note = "keep the value itself in a `let mut` binding that the loop changes, and share it after the loop; `#[resumable(skip(name))]` only if what it holds never changes the result: a skipped binding starts fresh on resume"
)]
pub trait NotShared {}

impl NotShared for () {}

/// The loop's next item, asked for a stable fingerprint by autoref specialization, as for
/// [`Returned`](super::Returned): `(&&&ItemHash(&item)).item_hash()` hashes its `Hash`, else its
/// postcard bytes (`Serialize`), else its `Debug` text, and is `None` for an item with none of them
/// or one that holds a hash table (whose order, and so its bytes, differ per process). The same
/// item gives the same fingerprint on every run of the same build.
pub struct ItemHash<'a, T: ?Sized>(pub &'a T);

/// Gives `fingerprint` (a closure over [`ItemHash`] at the loop) the type of a function of
/// `iter`'s items, which the generated code cannot name. A closure, not a `fn` pointer: the
/// call at a boundary is then inlined, and the item's address never escapes the hot loop
/// (through a pointer it did, and the loop stored the item every iteration: B2 0.12 → 0.31 ns).
#[inline(always)]
pub fn fingerprint_of<I: Iterator, F: Fn(&I::Item) -> Option<u64>>(_: &I, fingerprint: F) -> F {
    fingerprint
}

/// `ItemHash` of a `Hash` item.
pub trait HashableItem {
    /// FNV-1a over the item's `Hash` impl (saved in the checkpoint: see `format::hash`).
    fn item_hash(&self) -> Option<u64>;
}

impl<T: core::hash::Hash + ?Sized> HashableItem for &&ItemHash<'_, T> {
    #[inline]
    fn item_hash(&self) -> Option<u64> {
        let mut hasher = crate::format::hash::Fnv64::default();
        self.0.hash(&mut hasher);
        Some(core::hash::Hasher::finish(&hasher))
    }
}

/// `ItemHash` of a `Serialize` item (a float, a struct that derives only serde's traits).
pub trait SerializableItem {
    /// FNV-1a over the item's postcard encoding.
    fn item_hash(&self) -> Option<u64>;
}

impl<T: Serialize + ?Sized> SerializableItem for &&&ItemHash<'_, T> {
    fn item_hash(&self) -> Option<u64> {
        if crate::run::arg_key::unordered::<T>().is_some() {
            return None;
        }
        let mut hasher = crate::format::hash::Fnv64::default();
        crate::run::hash_into::serialized(self.0, &mut hasher, usize::MAX)
            .then(|| core::hash::Hasher::finish(&hasher))
    }
}

/// `ItemHash` of a `Debug` item.
pub trait DebugItem {
    /// FNV-1a over the item's `Debug` text.
    fn item_hash(&self) -> Option<u64>;
}

impl<T: core::fmt::Debug + ?Sized> DebugItem for &ItemHash<'_, T> {
    fn item_hash(&self) -> Option<u64> {
        if crate::run::arg_key::unordered::<T>().is_some() {
            return None;
        }
        let mut hasher = crate::format::hash::Fnv64::default();
        crate::run::hash_into::debugged(self.0, &mut hasher, usize::MAX);
        Some(core::hash::Hasher::finish(&hasher))
    }
}

/// `ItemHash` of anything else.
pub trait OpaqueItem {
    /// Always `None`: the item cannot be checked.
    #[inline]
    fn item_hash(&self) -> Option<u64> {
        None
    }
}

impl<T: ?Sized> OpaqueItem for ItemHash<'_, T> {}

/// An argument's key after `ArgBySerde`, before `ArgByDebug`: a burn model or a reference to
/// one (the `burn` feature), whose `Debug` text shows its parameter ids, not its weights (two
/// calls with other weights would share a checkpoint, a model built afresh would never
/// resume): the hash of every parameter's path, dtype, dims and data.
pub trait ArgModule {
    /// The hash of the model's parameters.
    fn arg_hash(&self) -> crate::run::arg_key::ArgHash;
}

#[cfg(feature = "burn")]
impl<M: burn_core::module::Module> ArgModule for &&crate::run::arg_key::Arg<'_, M> {
    #[inline(never)]
    fn arg_hash(&self) -> crate::run::arg_key::ArgHash {
        crate::run::arg_key::ArgHash::Hashed(crate::burn::key_fingerprint(self.0))
    }
}

/// [`ArgModule`] of a reference to a burn model (a trait of its own, as [`WatchedModuleRef`]).
pub trait ArgModuleRef {
    /// The hash of the model's parameters.
    fn arg_hash(&self) -> crate::run::arg_key::ArgHash;
}

#[cfg(feature = "burn")]
impl<M: burn_core::module::Module> ArgModuleRef for &&crate::run::arg_key::Arg<'_, &M> {
    #[inline(never)]
    fn arg_hash(&self) -> crate::run::arg_key::ArgHash {
        crate::run::arg_key::ArgHash::Hashed(crate::burn::key_fingerprint(*self.0))
    }
}

/// An argument's key, the first choice beside `ArgByHash`, for a candle `Tensor` or `Var` or a
/// reference to one (the `candle` feature), which has no `Hash` or `Serialize` and whose `Debug`
/// shows only its dtype and dims: the hash of its dtype, dims and data.
pub trait ArgTensor {
    /// The hash of the tensor.
    fn arg_hash(&self) -> crate::run::arg_key::ArgHash;
}

/// The tensor an argument holds.
#[cfg(feature = "candle")]
pub trait HoldsTensor {
    /// The tensor.
    fn tensor(&self) -> &candle_core::Tensor;
}

#[cfg(feature = "candle")]
impl HoldsTensor for candle_core::Tensor {
    fn tensor(&self) -> &candle_core::Tensor {
        self
    }
}

#[cfg(feature = "candle")]
impl HoldsTensor for candle_core::Var {
    fn tensor(&self) -> &candle_core::Tensor {
        self.as_tensor()
    }
}

#[cfg(feature = "candle")]
impl<T: HoldsTensor> HoldsTensor for &T {
    fn tensor(&self) -> &candle_core::Tensor {
        (**self).tensor()
    }
}

#[cfg(feature = "candle")]
impl<T: HoldsTensor> ArgTensor for &&&&crate::run::arg_key::Arg<'_, T> {
    #[inline(never)]
    fn arg_hash(&self) -> crate::run::arg_key::ArgHash {
        crate::run::arg_key::ArgHash::Hashed(crate::candle::key_fingerprint(self.0.tensor()))
    }
}
