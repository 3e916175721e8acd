//! One call of a `#[resumable]` function ([`call::Run`]): restoring the state, skipping the
//! iterator, the boundaries where it may save, each save binding by binding (whole, or just
//! what a growing sequence added), the key that tells calls apart, the signals that save and
//! stop, the timer of `every = "30s"` and the progress bar.
//!
//! It drives `store` and `format`; generated code drives it through `__private`.

pub(crate) mod arg_key;
pub(crate) mod call;
pub(crate) mod growth;
pub(crate) mod hash_into;
pub(crate) mod interrupt;
#[cfg(feature = "ndarray")]
pub(crate) mod layout;
pub(crate) mod order_free;
pub(crate) mod other_keys;
pub(crate) mod outputs;
pub(crate) mod progress;
pub(crate) mod round_trip;
pub(crate) mod save;
pub(crate) mod signals;
pub(crate) mod spec;
pub(crate) mod ticker;
