//! An `io::Output`'s file as the checkpoint's sync job sees it: synced before the log record
//! that holds its length is (see `SyncJob::sync`).

use std::fs::File;
use std::path::PathBuf;

use crate::error::Error;

/// An output file, shared by its `Output` and the sync jobs of the checkpoints that hold its
/// length.
#[derive(Debug)]
pub(crate) struct OutputFile {
    pub file: File,
    /// Absolute, for messages and the checkpoint.
    pub path: PathBuf,
}

impl OutputFile {
    /// Makes what was written to it durable (before the log record that holds its length).
    pub(crate) fn sync(&self) -> Result<(), Error> {
        self.file.sync_data().map_err(|source| Error::OutputIo {
            action: "sync",
            path: self.path.clone(),
            source,
        })
    }
}
