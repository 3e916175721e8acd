//! A checkpoint file as a whole: the envelope around postcard-encoded values, written through
//! [`storage`] and checked on the way back in. Both the macro's runtime and the public
//! `save`/`load` API go through here.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::envelope::{self, Meta};
use crate::error::Error;
use crate::fs::{Fs, OsFs};
use crate::shape;
use crate::storage::{self, Generations};

/// A checkpoint read from disk whose envelope, checksum and fingerprint were checked.
pub(crate) struct Loaded {
    pub meta: Meta,
    bytes: Vec<u8>,
    payload: Range<usize>,
}

impl Loaded {
    pub(crate) fn payload(&self) -> &[u8] {
        &self.bytes[self.payload.clone()]
    }
}

/// Reads `path` and checks that it is an intact checkpoint of state described by `label` and
/// `shape`. `Ok(None)` if there is no file.
pub(crate) fn read_checked(
    fs: &dyn Fs,
    path: &Path,
    label: &str,
    shape: &str,
) -> Result<Option<Loaded>, Error> {
    let Some(bytes) = storage::read(fs, path)? else {
        return Ok(None);
    };
    let decoded = envelope::decode(&bytes).map_err(|problem| Error::corrupt(path, problem))?;
    if decoded.meta.fingerprint != envelope::fingerprint(label, shape) {
        return Err(Error::Mismatch {
            path: path.into(),
            change: describe_mismatch(&decoded.meta.label, &decoded.meta.shape, label, shape),
        });
    }
    let start = decoded.payload.as_ptr() as usize - bytes.as_ptr() as usize;
    let payload = start..start + decoded.payload.len();
    let meta = decoded.meta;
    Ok(Some(Loaded {
        meta,
        bytes,
        payload,
    }))
}

/// Decodes a checkpoint of one value held in memory: its index and the value. The label and
/// shape are not checked (there is no program to compare them with).
pub(crate) fn decode_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<(u64, T), Error> {
    let here = Path::new("<memory>");
    let decoded = envelope::decode(bytes).map_err(|problem| Error::corrupt(here, problem))?;
    let mut rest = decoded.payload;
    let value = take_value(&mut rest)
        .map_err(|err| Error::corrupt(here, format!("its state does not decode ({err})")))?;
    if !rest.is_empty() {
        return Err(Error::corrupt(
            here,
            format!("{} bytes are left over", rest.len()),
        ));
    }
    Ok((decoded.meta.index, value))
}

/// The checkpoint a run resumes from, and where it came from.
pub(crate) struct Recovered {
    pub loaded: Loaded,
    pub from: PathBuf,
    /// A damaged newest generation, moved to this name, and what was wrong with it.
    pub set_aside: Option<(PathBuf, Error)>,
}

/// The newest generation that is intact: the newest file, else the previous one if the newest
/// is missing (a crash between the two renames of a save) or damaged. A damaged newest file is
/// moved aside, never deleted, so the next save cannot rotate it over the good one. A file of
/// other state, or one that cannot be read at all, stops the run whatever the other holds.
pub(crate) fn recover(
    fs: &dyn Fs,
    generations: &Generations,
    label: &str,
    shape: &str,
) -> Result<Option<Recovered>, Error> {
    let previous = || read_checked(fs, &generations.previous, label, shape);
    let recovered = |loaded, from: &Path, set_aside| Recovered {
        loaded,
        from: from.to_owned(),
        set_aside,
    };
    match read_checked(fs, &generations.newest, label, shape) {
        Ok(Some(loaded)) => Ok(Some(recovered(loaded, &generations.newest, None))),
        Ok(None) => Ok(previous()?.map(|loaded| recovered(loaded, &generations.previous, None))),
        Err(damage @ Error::Corrupt { .. }) => match previous() {
            Ok(Some(loaded)) => {
                let suffix = format!(".damaged-{}", envelope::now_ms());
                let aside = storage::move_aside(fs, &generations.newest, &suffix)?
                    .unwrap_or_else(|| generations.newest.clone());
                Ok(Some(recovered(
                    loaded,
                    &generations.previous,
                    Some((aside, damage)),
                )))
            }
            // Nothing better to offer: report the newest file's problem.
            Ok(None) | Err(_) => Err(damage),
        },
        Err(err) => Err(err),
    }
}

/// Starts each binding's part of a `#[resumable]` shape: `== name`, then its type's shape.
pub(crate) const BINDING: &str = "== ";

/// What differs between a saved checkpoint's state and the program's, in words.
fn describe_mismatch(saved_label: &str, saved: &str, label: &str, current: &str) -> String {
    if saved_label != label {
        return format!("it was saved by `{saved_label}`, and this is `{label}`");
    }
    let (Some(saved), Some(current)) = (bindings(saved), bindings(current)) else {
        return format!("it holds `{saved}`, but this program expects `{current}`");
    };
    let names = |bindings: &[(&str, &str)]| -> Vec<String> {
        bindings.iter().map(|(name, _)| name.to_string()).collect()
    };
    if names(&saved) != names(&current) {
        return format!(
            "its state bindings were ({}), and are now ({})",
            names(&saved).join(", "),
            names(&current).join(", ")
        );
    }
    let changes: Vec<String> = saved
        .iter()
        .zip(&current)
        .filter(|((_, old), (_, new))| old != new)
        .map(|((name, old), (_, new))| {
            let change = shape::describe_change(old, new);
            format!(
                "`{name}`: {}",
                change.as_deref().unwrap_or("its type changed")
            )
        })
        .collect();
    changes.join("; ")
}

/// The `(name, shape)` of each binding in a `#[resumable]` shape; `None` for other labels'.
fn bindings(shape: &str) -> Option<Vec<(&str, &str)>> {
    let body = shape.strip_prefix(BINDING)?;
    Some(
        body.split(&format!("\n{BINDING}"))
            .map(|part| {
                let (name, shape) = part.split_once('\n').unwrap_or((part, ""));
                (name, shape.trim_end())
            })
            .collect(),
    )
}

/// Builds checkpoint files in one reused buffer, so a save allocates nothing once warm.
#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Starts a new checkpoint; append values with [`Writer::value`].
    pub(crate) fn begin(&mut self, meta: &Meta) {
        envelope::begin(&mut self.buf, meta);
    }

    /// Appends one postcard-encoded value to the payload.
    pub(crate) fn value<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), postcard::Error> {
        postcard::serialize_with_flavor(value, VecFlavor(&mut self.buf))
    }

    /// Seals the checkpoint and replaces `path` with it, atomically and durably.
    pub(crate) fn commit(&mut self, path: &Path) -> Result<(), Error> {
        envelope::finish(&mut self.buf);
        storage::replace(&OsFs, path, &self.buf)
    }

    /// Seals the checkpoint and makes it the newest generation, keeping the one before.
    pub(crate) fn commit_generation(&mut self, generations: &Generations) -> Result<(), Error> {
        envelope::finish(&mut self.buf);
        storage::rotate_in(&OsFs, generations, &self.buf)
    }
}

/// Decodes the next value of a payload, advancing `rest` past it.
pub(crate) fn take_value<T: DeserializeOwned>(
    rest: &mut &[u8],
) -> Result<T, crate::depth_limit::Error<postcard::Error>> {
    let mut deserializer = postcard::Deserializer::from_bytes(rest);
    let value = crate::depth_limit::deserialize(&mut deserializer)?;
    *rest = deserializer
        .finalize()
        .map_err(crate::depth_limit::Error::Inner)?;
    Ok(value)
}

/// A postcard output that appends to a borrowed `Vec`, so the buffer outlives one save.
struct VecFlavor<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for VecFlavor<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}
