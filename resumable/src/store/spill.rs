//! Bytes kept in memory up to [`SPILL_AT`], past that in an unnamed file beside the
//! checkpoint: the round-trip check's encoded copy of a state (`run::round_trip`), so that a
//! big state is checked with its decoded twin beside it in memory, not a third copy as well.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::Path;
use std::sync::Arc;

use crate::format::source::{CHUNK, Source};
use crate::store::files;
use crate::store::fs::{Fs as _, OpenFile, OsFs};

/// Past this many bytes the encoding goes to a file.
pub(crate) const SPILL_AT: usize = 16 << 20;

/// The bytes `serialize` writes into the flavor it is given: in memory up to [`SPILL_AT`],
/// past that in a file made next to `checkpoint`; all in memory when the file fails to take
/// them (`serialize` then runs again). The error is the serialization's own.
///
/// Not generic, the value behind `serialize`: the file's handling is compiled once, here, not
/// in every crate whose state is checked (issue 25).
pub(crate) fn spilled(
    checkpoint: &Path,
    serialize: &mut dyn FnMut(Spilling<'_, '_>) -> postcard::Result<()>,
) -> postcard::Result<Arc<dyn Source>> {
    let spilled = {
        let mut spill = Spill::new(checkpoint);
        serialize(Spilling(&mut spill)).and_then(|()| spill.finish())
    };
    match spilled {
        // The file could not take the bytes: in memory, then.
        Err(postcard::Error::SerializeBufferFull) => {
            let mut memory = Spill::new(checkpoint);
            memory.no_file = true;
            serialize(Spilling(&mut memory))?;
            memory.finish()
        }
        spilled => spilled,
    }
}

/// Bytes kept in memory, then in a file made next to `checkpoint`.
struct Spill<'a> {
    checkpoint: &'a Path,
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
    /// A file could not be made: the bytes stay in memory.
    no_file: bool,
}

impl<'a> Spill<'a> {
    fn new(checkpoint: &'a Path) -> Spill<'a> {
        Spill {
            checkpoint,
            memory: Vec::new(),
            file: None,
            len: 0,
            no_file: false,
        }
    }

    /// Moves what is in memory to a new file, which is removed at once (on Unix: it lives
    /// while open) or when the bytes are dropped; a killed process's is removed by the next
    /// run (`files::remove_stale_temp_files`).
    fn spill(&mut self) -> io::Result<()> {
        let dir = files::parent_dir(self.checkpoint);
        OsFs.create_dir(dir)?;
        let path = files::temp_path(self.checkpoint);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        let mut file = BufWriter::with_capacity(CHUNK, file);
        file.write_all(&self.memory)?;
        self.memory = Vec::new();
        self.file = Some(file);
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len += bytes.len() as u64;
        if let Some(file) = &mut self.file {
            return file.write_all(bytes);
        }
        self.memory.extend_from_slice(bytes);
        if self.memory.len() > SPILL_AT && !self.no_file {
            // No room or no right to make a file there: checked in memory, as small states are.
            self.no_file = self.spill().is_err();
        }
        Ok(())
    }

    /// The bytes written, in memory or in the file.
    fn finish(mut self) -> postcard::Result<Arc<dyn Source>> {
        let Some(file) = self.file.take() else {
            return Ok(Arc::new(std::mem::take(&mut self.memory)));
        };
        let file = file
            .into_inner()
            .map_err(|_| postcard::Error::SerializeBufferFull)?;
        Ok(Arc::new(OpenFile::new(file, self.len)))
    }
}

/// The postcard flavor that writes into a [`Spill`]: a borrow, so that the serialization
/// (compiled per state type) holds nothing to drop.
pub(crate) struct Spilling<'s, 'a>(&'s mut Spill<'a>);

impl postcard::ser_flavors::Flavor for Spilling<'_, '_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.try_extend(&[byte])
    }

    /// A file that fails to take the bytes fails the encoding with `SerializeBufferFull` (a
    /// serde impl's own errors are `SerdeSerCustom`): [`spilled`] encodes in memory instead.
    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.0
            .write(bytes)
            .map_err(|_| postcard::Error::SerializeBufferFull)
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}
