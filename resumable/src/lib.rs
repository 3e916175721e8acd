//! Make a long-running loop survive crashes.
//!
//! TODO: crate docs.

mod api;
mod checkpoint;
mod checksum;
mod envelope;
mod error;
mod run;
mod storage;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use api::{load, remove, save};
pub use error::Error;
#[doc(inline)]
pub use resumable_macros::resumable;
