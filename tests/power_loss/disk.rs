//! The disk the FUSE filesystem serves: every file and directory twice, as a reader sees it
//! and as a power loss would leave it. A write, a truncation, a creation, a rename or a removal
//! changes what a reader sees at once; `fsync` of a file makes its data durable, `fsync` of a
//! directory its entries (creations, renames, removals in it): POSIX's rules, which is what a
//! program must rely on, whatever a particular filesystem happens to do more.
//!
//! [`Disk::power_loss`] then keeps only what was made durable ([`Loss::Unsynced`], as
//! LazyFS's "clear cache" does), or also a random part of what was not
//! ([`Loss::Partial`]): for each file a prefix of its unsynced writes, the last of them
//! perhaps cut short, and for each directory a prefix of its unsynced changes, as a kernel
//! that wrote some of its dirty pages and journal entries before the power went.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};

/// An inode number; [`ROOT`] is the mount's root directory.
pub type Ino = u64;

/// The root directory's inode number (FUSE's).
pub const ROOT: Ino = 1;

/// What a power loss keeps of what was not synced.
#[derive(Debug, Clone, Copy)]
pub enum Loss {
    /// Nothing.
    Unsynced,
    /// A random prefix of each file's and each directory's unsynced changes, drawn from this
    /// seed.
    Partial(u64),
}

/// A change to a file's data.
#[derive(Debug, Clone)]
pub enum Write {
    At { offset: u64, bytes: Vec<u8> },
    Truncate(u64),
}

/// A change to a directory's entries (a rename within one directory is one change: a
/// journaling filesystem never keeps half of one).
#[derive(Debug, Clone)]
pub enum Entry {
    Insert(OsString, Ino),
    Remove(OsString),
    Rename { from: OsString, to: OsString },
}

#[derive(Debug, Clone)]
pub enum Node {
    File {
        data: Vec<u8>,
        durable: Vec<u8>,
        unsynced: Vec<Write>,
    },
    Dir {
        entries: BTreeMap<OsString, Ino>,
        durable: BTreeMap<OsString, Ino>,
        unsynced: Vec<Entry>,
    },
}

/// What `lookup` and `getattr` need to know of an inode.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub ino: Ino,
    pub dir: bool,
    pub size: u64,
    pub mode: u16,
}

/// A failed operation, as the errno FUSE replies with.
pub type Errno = i32;

/// Counts of what the disk was asked to do, and what power losses dropped.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub writes: u64,
    pub file_syncs: u64,
    pub dir_syncs: u64,
    pub power_losses: u64,
    /// Unsynced changes (file writes, directory entries) that power losses dropped.
    pub dropped: u64,
    /// Unsynced changes that power losses kept ([`Loss::Partial`]).
    pub kept: u64,
}

#[derive(Debug)]
pub struct Disk {
    nodes: HashMap<Ino, (Node, u16)>,
    next_ino: Ino,
    pub counts: Counts,
}

impl Default for Disk {
    fn default() -> Disk {
        let root = Node::Dir {
            entries: BTreeMap::new(),
            durable: BTreeMap::new(),
            unsynced: Vec::new(),
        };
        Disk {
            nodes: HashMap::from([(ROOT, (root, 0o755))]),
            next_ino: ROOT + 1,
            counts: Counts::default(),
        }
    }
}

impl Disk {
    pub fn attr(&self, ino: Ino) -> Result<Attr, Errno> {
        let (node, mode) = self.nodes.get(&ino).ok_or(libc::ENOENT)?;
        Ok(match node {
            Node::File { data, .. } => Attr {
                ino,
                dir: false,
                size: data.len() as u64,
                mode: *mode,
            },
            Node::Dir { .. } => Attr {
                ino,
                dir: true,
                size: 0,
                mode: *mode,
            },
        })
    }

    fn dir(&self, ino: Ino) -> Result<&BTreeMap<OsString, Ino>, Errno> {
        match self.nodes.get(&ino) {
            Some((Node::Dir { entries, .. }, _)) => Ok(entries),
            Some(_) => Err(libc::ENOTDIR),
            None => Err(libc::ENOENT),
        }
    }

    fn dir_mut(
        &mut self,
        ino: Ino,
    ) -> Result<(&mut BTreeMap<OsString, Ino>, &mut Vec<Entry>), Errno> {
        match self.nodes.get_mut(&ino) {
            Some((
                Node::Dir {
                    entries, unsynced, ..
                },
                _,
            )) => Ok((entries, unsynced)),
            Some(_) => Err(libc::ENOTDIR),
            None => Err(libc::ENOENT),
        }
    }

    fn file_mut(&mut self, ino: Ino) -> Result<(&mut Vec<u8>, &mut Vec<Write>), Errno> {
        match self.nodes.get_mut(&ino) {
            Some((Node::File { data, unsynced, .. }, _)) => Ok((data, unsynced)),
            Some(_) => Err(libc::EISDIR),
            None => Err(libc::ENOENT),
        }
    }

    pub fn lookup(&self, parent: Ino, name: &OsStr) -> Result<Attr, Errno> {
        let ino = *self.dir(parent)?.get(name).ok_or(libc::ENOENT)?;
        self.attr(ino)
    }

    /// The entries of `dir`, in name order.
    pub fn list(&self, dir: Ino) -> Result<Vec<(OsString, Attr)>, Errno> {
        self.dir(dir)?
            .iter()
            .map(|(name, ino)| Ok((name.clone(), self.attr(*ino)?)))
            .collect()
    }

    /// Creates a file or a directory named `name` in `parent`.
    pub fn create(
        &mut self,
        parent: Ino,
        name: &OsStr,
        dir: bool,
        mode: u16,
    ) -> Result<Attr, Errno> {
        if self.dir(parent)?.contains_key(name) {
            return Err(libc::EEXIST);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        let node = if dir {
            Node::Dir {
                entries: BTreeMap::new(),
                durable: BTreeMap::new(),
                unsynced: Vec::new(),
            }
        } else {
            Node::File {
                data: Vec::new(),
                durable: Vec::new(),
                unsynced: Vec::new(),
            }
        };
        self.nodes.insert(ino, (node, mode & 0o7777));
        let (entries, unsynced) = self.dir_mut(parent)?;
        entries.insert(name.to_owned(), ino);
        unsynced.push(Entry::Insert(name.to_owned(), ino));
        self.attr(ino)
    }

    /// Removes the entry `name` of `parent` (a directory only if empty, when `dir`).
    pub fn remove(&mut self, parent: Ino, name: &OsStr, dir: bool) -> Result<(), Errno> {
        let ino = *self.dir(parent)?.get(name).ok_or(libc::ENOENT)?;
        match (&self.nodes[&ino].0, dir) {
            (Node::Dir { entries, .. }, true) if !entries.is_empty() => {
                return Err(libc::ENOTEMPTY);
            }
            (Node::Dir { .. }, false) => return Err(libc::EISDIR),
            (Node::File { .. }, true) => return Err(libc::ENOTDIR),
            _ => {}
        }
        let (entries, unsynced) = self.dir_mut(parent)?;
        entries.remove(name);
        unsynced.push(Entry::Remove(name.to_owned()));
        Ok(())
    }

    /// Renames `from` to `to` within `parent`, replacing what `to` named.
    pub fn rename(
        &mut self,
        parent: Ino,
        from: &OsStr,
        to: &OsStr,
        no_replace: bool,
    ) -> Result<(), Errno> {
        let (entries, unsynced) = self.dir_mut(parent)?;
        if no_replace && entries.contains_key(to) {
            return Err(libc::EEXIST);
        }
        let ino = entries.remove(from).ok_or(libc::ENOENT)?;
        entries.insert(to.to_owned(), ino);
        unsynced.push(Entry::Rename {
            from: from.to_owned(),
            to: to.to_owned(),
        });
        Ok(())
    }

    pub fn read(&self, ino: Ino, offset: u64, size: u32) -> Result<Vec<u8>, Errno> {
        match self.nodes.get(&ino) {
            Some((Node::File { data, .. }, _)) => {
                let start = (offset as usize).min(data.len());
                let end = start.saturating_add(size as usize).min(data.len());
                Ok(data[start..end].to_vec())
            }
            Some(_) => Err(libc::EISDIR),
            None => Err(libc::ENOENT),
        }
    }

    pub fn write(&mut self, ino: Ino, offset: u64, bytes: &[u8]) -> Result<(), Errno> {
        let (data, unsynced) = self.file_mut(ino)?;
        apply(
            data,
            &Write::At {
                offset,
                bytes: bytes.to_vec(),
            },
        );
        unsynced.push(Write::At {
            offset,
            bytes: bytes.to_vec(),
        });
        self.counts.writes += 1;
        Ok(())
    }

    pub fn truncate(&mut self, ino: Ino, len: u64) -> Result<(), Errno> {
        let (data, unsynced) = self.file_mut(ino)?;
        data.resize(len as usize, 0);
        unsynced.push(Write::Truncate(len));
        Ok(())
    }

    pub fn set_mode(&mut self, ino: Ino, mode: u16) -> Result<(), Errno> {
        self.nodes.get_mut(&ino).ok_or(libc::ENOENT)?.1 = mode & 0o7777;
        Ok(())
    }

    /// `fsync` of a file (its data and size) or of a directory (its entries).
    pub fn sync(&mut self, ino: Ino) -> Result<(), Errno> {
        match &mut self.nodes.get_mut(&ino).ok_or(libc::ENOENT)?.0 {
            Node::File {
                data,
                durable,
                unsynced,
            } => {
                durable.clone_from(data);
                unsynced.clear();
                self.counts.file_syncs += 1;
            }
            Node::Dir {
                entries,
                durable,
                unsynced,
            } => {
                durable.clone_from(entries);
                unsynced.clear();
                self.counts.dir_syncs += 1;
            }
        }
        Ok(())
    }

    /// The power goes: every file and directory is left as `loss` says, and what no durable
    /// directory entry reaches any more is gone.
    pub fn power_loss(&mut self, loss: Loss) {
        let mut rng = match loss {
            Loss::Unsynced => None,
            Loss::Partial(seed) => Some(Rng(seed | 1)),
        };
        let mut inos: Vec<Ino> = self.nodes.keys().copied().collect();
        // The same draws for the same disk and seed, whatever the map's order.
        inos.sort_unstable();
        for ino in inos {
            let node = &mut self.nodes.get_mut(&ino).expect("listed").0;
            let (count, kept) = match node {
                Node::File {
                    data,
                    durable,
                    unsynced,
                } => {
                    let (count, keep) = kept_prefix(&mut rng, unsynced.len());
                    for write in &unsynced[..keep] {
                        apply(durable, write);
                    }
                    // The first write not kept may have reached the disk in part.
                    if let (Some(rng), Some(Write::At { offset, bytes })) =
                        (rng.as_mut(), unsynced.get(keep))
                    {
                        let part = rng.below(bytes.len() as u64) as usize;
                        apply(
                            durable,
                            &Write::At {
                                offset: *offset,
                                bytes: bytes[..part].to_vec(),
                            },
                        );
                    }
                    unsynced.clear();
                    data.clone_from(durable);
                    (count, keep)
                }
                Node::Dir {
                    entries,
                    durable,
                    unsynced,
                } => {
                    let (count, keep) = kept_prefix(&mut rng, unsynced.len());
                    for entry in &unsynced[..keep] {
                        match entry {
                            Entry::Insert(name, ino) => {
                                durable.insert(name.clone(), *ino);
                            }
                            Entry::Remove(name) => {
                                durable.remove(name);
                            }
                            Entry::Rename { from, to } => {
                                if let Some(ino) = durable.remove(from) {
                                    durable.insert(to.clone(), ino);
                                }
                            }
                        }
                    }
                    unsynced.clear();
                    entries.clone_from(durable);
                    (count, keep)
                }
            };
            self.counts.dropped += (count - kept) as u64;
            self.counts.kept += kept as u64;
        }
        self.collect_unreachable();
        self.counts.power_losses += 1;
    }

    /// Drops the inodes no directory entry reaches from the root.
    fn collect_unreachable(&mut self) {
        let mut reached = vec![ROOT];
        let mut next = 0;
        while next < reached.len() {
            if let Node::Dir { entries, .. } = &self.nodes[&reached[next]].0 {
                reached.extend(entries.values().filter(|ino| self.nodes.contains_key(ino)));
            }
            next += 1;
        }
        self.nodes.retain(|ino, _| reached.contains(ino));
    }
}

/// How many of `count` unsynced changes a loss keeps: none without a generator, else a
/// random prefix; and `count`.
fn kept_prefix(rng: &mut Option<Rng>, count: usize) -> (usize, usize) {
    let keep = rng
        .as_mut()
        .map_or(0, |rng| rng.below(count as u64 + 1) as usize);
    (count, keep)
}

fn apply(data: &mut Vec<u8>, write: &Write) {
    match write {
        Write::At { offset, bytes } => {
            let start = *offset as usize;
            if data.len() < start + bytes.len() {
                data.resize(start + bytes.len(), 0);
            }
            data[start..start + bytes.len()].copy_from_slice(bytes);
        }
        Write::Truncate(len) => data.resize(*len as usize, 0),
    }
}

/// xorshift64*: the partial losses' draws, repeatable from the seed a failure prints.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> &OsStr {
        OsStr::new(text)
    }

    #[test]
    fn a_power_loss_keeps_synced_data_and_entries_only() {
        let mut disk = Disk::default();
        let a = disk.create(ROOT, name("a"), false, 0o600).unwrap().ino;
        disk.write(a, 0, b"hello").unwrap();
        disk.sync(a).unwrap();
        disk.sync(ROOT).unwrap();
        disk.write(a, 5, b" world").unwrap();
        let b = disk.create(ROOT, name("b"), false, 0o600).unwrap().ino;
        disk.write(b, 0, b"synced, but its entry is not").unwrap();
        disk.sync(b).unwrap();
        disk.power_loss(Loss::Unsynced);
        assert_eq!(disk.read(a, 0, 100).unwrap(), b"hello");
        assert_eq!(disk.lookup(ROOT, name("b")).err(), Some(libc::ENOENT));
        assert_eq!(disk.counts.dropped, 2, "the write to a and b's entry");
    }

    #[test]
    fn a_rename_is_durable_once_its_directory_is_synced() {
        let mut disk = Disk::default();
        let old = disk.create(ROOT, name("log"), false, 0o600).unwrap().ino;
        disk.write(old, 0, b"old").unwrap();
        disk.sync(old).unwrap();
        disk.sync(ROOT).unwrap();
        let new = disk
            .create(ROOT, name("log.next"), false, 0o600)
            .unwrap()
            .ino;
        disk.write(new, 0, b"new").unwrap();
        disk.sync(new).unwrap();
        disk.rename(ROOT, name("log.next"), name("log"), false)
            .unwrap();
        let mut lost = Disk {
            nodes: disk.nodes.clone(),
            next_ino: disk.next_ino,
            counts: Counts::default(),
        };
        lost.power_loss(Loss::Unsynced);
        let log = lost.lookup(ROOT, name("log")).unwrap().ino;
        assert_eq!(
            lost.read(log, 0, 10).unwrap(),
            b"old",
            "the rename was not synced"
        );
        disk.sync(ROOT).unwrap();
        disk.power_loss(Loss::Unsynced);
        let log = disk.lookup(ROOT, name("log")).unwrap().ino;
        assert_eq!(disk.read(log, 0, 10).unwrap(), b"new");
        assert_eq!(disk.list(ROOT).unwrap().len(), 1);
    }

    #[test]
    fn a_partial_loss_keeps_a_prefix_of_each_files_writes() {
        for seed in 1..200 {
            let mut disk = Disk::default();
            let a = disk.create(ROOT, name("a"), false, 0o600).unwrap().ino;
            disk.sync(ROOT).unwrap();
            for chunk in [&b"one "[..], b"two ", b"three"] {
                let len = disk.attr(a).unwrap().size;
                disk.write(a, len, chunk).unwrap();
            }
            disk.power_loss(Loss::Partial(seed));
            let kept = disk.read(a, 0, 100).unwrap();
            assert!(b"one two three".starts_with(&kept), "seed {seed}: {kept:?}");
        }
    }
}
