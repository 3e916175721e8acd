//! Checkpoints of any serde value without the macro: what a hand-written checkpoint script
//! calls `save_checkpoint`, `load_checkpoint` and `delete_checkpoint`, done safely.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::format::checkpoint::{self, Writer};
use crate::format::envelope::Meta;
use crate::format::shape::shape_of;
use crate::run::outputs::{self, Collecting};
use crate::store::clock::now_ms;
use crate::store::files;
use crate::store::fs::OsFs;
use crate::store::recover;

/// The label values saved with [`save`] carry in their header.
const LABEL: &str = "resumable::save";

/// Saves `value` to `path`, atomically and durably.
///
/// The file records the structure of `T` (its fields, variants and their types, as its serde
/// impls describe them: the shape the attribute's checkpoints record too), so [`load`] must
/// ask for a type of the same structure. The structure does not depend on the compiler, so a
/// toolchain update never makes a good file unloadable (`std::any::type_name`, which this
/// checked before, may change between compiler versions). A type whose `Deserialize` cannot
/// be traced (one that validates every input) is recorded by its type name instead.
///
/// `T` is what [`load`] gives back, so it is owned: save a `String` or a `Vec` (not a `str` or
/// a slice).
///
/// The file is written to a temporary file beside `path`, fsynced, and renamed over `path`,
/// then the directory is fsynced: a crash at any instant leaves either the old file or the new
/// one. The file records a checksum too, which [`load`] checks. The parent directory is
/// created if needed.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("resumable-doc-save-{}", std::process::id()));
/// let path = dir.join("progress.ckpt");
/// resumable::save(&path, &(237_000u64, vec![1.5f64, 2.5]))?;
/// let back: Option<(u64, Vec<f64>)> = resumable::load(&path)?;
/// assert_eq!(back, Some((237_000, vec![1.5, 2.5])));
/// # std::fs::remove_dir_all(dir).unwrap();
/// # Ok::<(), resumable::Error>(())
/// ```
pub fn save<T: Serialize + DeserializeOwned>(
    path: impl AsRef<Path>,
    value: &T,
) -> Result<(), Error> {
    let path = path.as_ref();
    let mut writer = Writer::default();
    writer.begin(&Meta::new(LABEL, &shape_of::<T>(), 0, now_ms()));
    let outputs = Collecting::new();
    writer.value(value).map_err(|source| {
        outputs::take_failure().unwrap_or_else(|| Error::Serialize {
            path: path.into(),
            source,
        })
    })?;
    // An `io::Output` in the value is durable before the file that holds its length.
    for (output, _) in outputs.take() {
        output.sync()?;
    }
    files::replace(&OsFs, path, writer.finish())
}

/// Loads the value saved at `path` by [`save`]; `Ok(None)` if there is no file.
///
/// Nothing in the file can run code. The file must be whole (length and checksum), must have
/// been saved as a type of the same structure as `T` (see [`save`]), and its content must decode as `T` with no
/// bytes left over; otherwise the error names the file and says what is wrong. The file is
/// never modified.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("resumable-doc-load-{}", std::process::id()));
/// let path = dir.join("weights.ckpt");
/// assert_eq!(resumable::load::<Vec<f32>>(&path)?, None);
/// resumable::save(&path, &vec![0.5f32; 3])?;
/// let err = resumable::load::<Vec<f64>>(&path).unwrap_err();
/// assert!(err.to_string().contains("was saved with different state"));
/// # std::fs::remove_dir_all(dir).unwrap();
/// # Ok::<(), resumable::Error>(())
/// ```
pub fn load<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Option<T>, Error> {
    let path = path.as_ref();
    let Some(loaded) = recover::read_checked(&OsFs, path, LABEL, &shape_of::<T>())? else {
        return Ok(None);
    };
    checkpoint::read_whole(path, &loaded.payload)
        .map(Some)
        // An `io::Output` that refused its file says why; postcard's error cannot.
        .map_err(|err| outputs::take_failure().unwrap_or(err))
}

/// Removes the checkpoint at `path`. Returns whether there was one.
pub fn remove(path: impl AsRef<Path>) -> Result<bool, Error> {
    files::remove(&OsFs, path.as_ref())
}
