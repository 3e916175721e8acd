//! Where a checkpoint's bytes are read from: a file (opened by `store`) or bytes in memory.
//! Checking and decoding read it in chunks of [`CHUNK`] bytes, so a resume needs memory of the
//! order of the state it restores, never a second copy of the file.

use std::io;
use std::ops::Range;

use crate::format::checksum::Crc32c;

/// Bytes read at a time when a file is checked or decoded: big enough that a read costs
/// little next to its bytes, small enough to stay in the CPU's cache while they are used.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Bytes that can be read at any offset: a checkpoint file, or a file's bytes in memory.
pub(crate) trait Source: Send + Sync {
    /// How many bytes there are.
    fn size(&self) -> u64;
    /// Fills `buf` with the bytes from `offset` on; an error if there are not that many.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let bytes = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

impl Source for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.as_slice().read_exact_at(buf, offset)
    }
}

/// The bytes of `range`, read into a new buffer: for headers and other small pieces.
pub(crate) fn read_range<S: Source + ?Sized>(source: &S, range: Range<u64>) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0; (range.end - range.start) as usize];
    source.read_exact_at(&mut bytes, range.start)?;
    Ok(bytes)
}

/// Calls `each` with the bytes of `range`, one chunk after another, through one buffer.
pub(crate) fn for_each_chunk<S: Source + ?Sized>(
    source: &S,
    range: Range<u64>,
    mut each: impl FnMut(&[u8]) -> bool,
) -> io::Result<bool> {
    let mut buf = vec![0; CHUNK.min((range.end - range.start) as usize)];
    let mut at = range.start;
    while at < range.end {
        let len = buf.len().min((range.end - at) as usize);
        source.read_exact_at(&mut buf[..len], at)?;
        if !each(&buf[..len]) {
            return Ok(false);
        }
        at += len as u64;
    }
    Ok(true)
}

/// Feeds the bytes of `range` to `crc`.
pub(crate) fn checksum<S: Source + ?Sized>(
    source: &S,
    range: Range<u64>,
    crc: &mut Crc32c,
) -> io::Result<()> {
    for_each_chunk(source, range, |chunk| {
        crc.update(chunk);
        true
    })
    .map(drop)
}

/// Whether every byte of `range` is zero (what a crash leaves of space a file was extended by).
pub(crate) fn all_zeros<S: Source + ?Sized>(source: &S, range: Range<u64>) -> io::Result<bool> {
    for_each_chunk(source, range, |chunk| chunk.iter().all(|&b| b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_range_exactly_once() {
        let bytes: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| i as u8).collect();
        for range in [
            0..0,
            5..9,
            1..(3 * CHUNK as u64 + 17),
            7..(CHUNK as u64 + 7),
        ] {
            let mut seen = Vec::new();
            let all = for_each_chunk(&bytes, range.clone(), |chunk| {
                assert!(chunk.len() <= CHUNK);
                seen.extend_from_slice(chunk);
                true
            })
            .unwrap();
            assert!(all);
            assert_eq!(seen, &bytes[range.start as usize..range.end as usize]);
        }
        assert!(read_range(&bytes, 0..(bytes.len() as u64 + 1)).is_err());
    }
}
