//! Checkpoints on an object store, so a job survives losing its machine (the `object-store`
//! feature; `RESUMABLE_STORE=s3://bucket/prefix`).
//!
//! The local log stays the fast path. Once a checkpoint is durable on the local disk, the
//! upload thread puts what the log gained since the last upload on the store as one new object
//! (the whole log after a compaction), then a commit object, created only if absent, that
//! lists the objects making up the log (see [`layout`]). A run whose local checkpoint is older
//! than the store's (a new machine: none at all) fetches the store's log into its directory
//! and resumes from it through the same checks as any local file.
//!
//! Built without the feature, [`Remote::connect`] says so: a `RESUMABLE_STORE` that is set is
//! never silently ignored.

pub(crate) mod fetch;
pub(crate) mod layout;

#[cfg(feature = "object-store")]
pub(crate) mod client;
#[cfg(feature = "object-store")]
pub(crate) mod lease;
#[cfg(all(feature = "object-store", feature = "test-hooks"))]
pub(crate) mod measure;
#[cfg(feature = "object-store")]
mod uploader;
#[cfg(feature = "object-store")]
pub(crate) use uploader::{Remote, Uploads};

#[cfg(not(feature = "object-store"))]
mod disabled;
#[cfg(not(feature = "object-store"))]
pub(crate) use disabled::{Remote, Uploads};

/// The store's URL, if `RESUMABLE_STORE` (else [`Config::store`](crate::Config::store))
/// names one; none on a thread with a directory of its own (`resumable::proof`'s runs stay
/// off the user's store).
pub(crate) fn configured() -> Option<String> {
    if crate::config::has_thread_dir() {
        return None;
    }
    crate::config::Config::current().store
}
