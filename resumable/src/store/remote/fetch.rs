//! What a run takes from the store when it starts: the store's checkpoint when it is newer
//! than the local one, fetched into place; and the CRC that tells whether the store already
//! holds the local log.

use std::path::Path;

use crate::error::Error;
use crate::report;
use crate::store::files::{self, Generations};
use crate::store::fs::Fs;
use crate::store::recover::{self, Recovered};
use crate::store::remote::Remote;
use crate::store::remote::layout::Commit;

/// If the store holds a newer checkpoint than `recovered` (or there is none here: a new
/// machine), fetches it into place and recovers from it; returns its commit and the store's
/// URL. The local checkpoint it replaces was older (it is replaced as a compaction replaces a
/// log: once the new one is synced in place).
pub(crate) fn newer_on_store(
    fs: &dyn Fs,
    remote: &Remote,
    generations: &Generations,
    recovered: &mut Option<Recovered>,
    function: &'static str,
    label: &str,
    shape: &str,
) -> Result<Option<(Commit, String)>, Error> {
    let Some(commit) = remote.newest().cloned() else {
        return Ok(None);
    };
    let local = recovered.as_ref().map(|r| r.loaded.meta.index);
    if local.is_some_and(|index| index >= commit.index) {
        return Ok(None);
    }
    if let Some(Recovered {
        set_aside: Some((aside, damage)),
        ..
    }) = recovered
    {
        report::warn("fell_back")
            .name(function)
            .path(aside)
            .say(format_args!(
                "resumable: warning: {damage} It was moved to {}; the store's newer checkpoint \
                 is used",
                aside.display()
            ));
    }
    let dir = files::parent_dir(&generations.next);
    fs.create_dir(dir)
        .map_err(|err| Error::io("create the directory of", dir, err))?;
    if let Err(err) = remote.download(&commit, generations.next.clone()) {
        // A part of the store's log is a log too: never leave one for the next run to take.
        let _ = files::remove(fs, &generations.next);
        return Err(err);
    }
    files::install_next(fs, generations)?;
    *recovered = recover::recover(fs, generations, label, shape)?;
    Ok(Some((commit, remote.url().to_owned())))
}

/// The CRC-32C of the first `len` bytes of the file at `path`, if it can be read.
pub(crate) fn local_crc(fs: &dyn Fs, path: &Path, len: u64) -> Option<u32> {
    let source = files::open(fs, path).ok().flatten()?;
    if source.size() < len {
        return None;
    }
    let mut crc = crate::format::checksum::Crc32c::new();
    crate::format::source::checksum(&*source, 0..len, &mut crc).ok()?;
    Some(crc.finish())
}
