//! The unit tests' files: one in a fresh temporary directory, removed with it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// `<temp>/resumable-io-<pid>-<name>-<n>/<file>`, holding `bytes`; the directory is removed
/// when it is dropped.
pub(crate) struct Temp {
    pub dir: PathBuf,
    pub path: PathBuf,
}

impl Temp {
    pub(crate) fn new(name: &str, file: &str, bytes: &[u8]) -> Temp {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("resumable-io-{}-{name}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(file);
        std::fs::write(&path, bytes).unwrap();
        Temp { dir, path }
    }

    /// The file's content, as text.
    pub(crate) fn read(&self) -> String {
        String::from_utf8(std::fs::read(&self.path).unwrap()).unwrap()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
