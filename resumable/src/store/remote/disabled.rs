//! [`Remote`] in a build without the `object-store` feature: connecting says how to turn it on.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::error::Error;
use crate::store::fs::LogFile;
use crate::store::journal::Written;
use crate::store::remote::layout::Commit;

/// Never made: [`Remote::connect`] always fails.
pub(crate) enum Remote {}

/// Never made either.
pub(crate) enum Uploads {}

impl Uploads {
    pub(crate) fn durable(&self, _: &Arc<LogFile>, _: Written) {
        match *self {}
    }

    pub(crate) fn take_error(&self) -> Option<Error> {
        match *self {}
    }

    #[cfg(feature = "progress")]
    pub(crate) fn on_store(&self) -> (Option<u64>, bool) {
        match *self {}
    }
}

impl Remote {
    pub(crate) fn connect(url: &str, name: &str) -> Result<Remote, Error> {
        Err(Error::Store {
            url: url.to_owned(),
            name: name.to_owned(),
            action: "reach",
            problem: "this program was built without resumable's `object-store` feature, so \
                      RESUMABLE_STORE cannot be used: add `features = [\"object-store\"]` to \
                      its `resumable` dependency, or unset RESUMABLE_STORE to keep checkpoints \
                      on this machine only"
                .into(),
        })
    }

    pub(crate) fn url(&self) -> &str {
        match *self {}
    }

    pub(crate) fn uploads(&self) -> Arc<Uploads> {
        match *self {}
    }

    pub(crate) fn newest(&self) -> Option<&Commit> {
        match *self {}
    }

    pub(crate) fn download(&self, _: &Commit, _: PathBuf) -> Result<(), Error> {
        match *self {}
    }

    pub(crate) fn continue_from(&self, _: &Commit) {
        match *self {}
    }

    pub(crate) fn finish(&self, _: Instant) -> bool {
        match *self {}
    }

    pub(crate) fn committed(&self) -> Option<u64> {
        match *self {}
    }

    pub(crate) fn release(&self, _: Instant) {
        match *self {}
    }

    pub(crate) fn remove_all(&self) -> Result<(), Error> {
        match *self {}
    }
}
