//! A simulated disk for tests: what a crash or power loss may leave, and faults on demand.
//!
//! Modelled on LevelDB's fault-injection test. File content written but not synced may, after
//! a power loss, be the old content, the new content, or a torn mix; names created, renamed or
//! removed since the directory's last sync may each have happened or not. [`SimFs::crash_states`]
//! lists every such disk; recovery must find a good checkpoint on each of them.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::store::fs::{Fs, LogFile};

#[derive(Clone, Default)]
struct Inode {
    current: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Clone, Debug)]
enum DirOp {
    Link(PathBuf, usize),
    Unlink(PathBuf),
    Rename(PathBuf, PathBuf),
}

#[derive(Clone, Default)]
struct Disk {
    inodes: Vec<Inode>,
    names: BTreeMap<PathBuf, usize>,
    durable_names: BTreeMap<PathBuf, usize>,
    unsynced_ops: Vec<DirOp>,
}

/// How the simulated disk misbehaves.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fault {
    /// None.
    Healthy,
    /// The process dies before operation `n` (counting from 0): it and all later ones fail.
    CrashBefore(usize),
    /// Operation `n` fails with this error (a write writes half first); the rest work.
    FailAt(usize, io::ErrorKind),
    /// The disk holds this many bytes: a write past them writes what fits, then fails with
    /// `StorageFull`. A removed file frees its room.
    Full(usize),
}

/// The simulated disk: `Send + Sync`, as every [`Fs`] is, so that a run's syncer thread can
/// use it.
pub(crate) struct SimFs {
    disk: Mutex<Disk>,
    fault: Fault,
    ops: AtomicUsize,
}

impl SimFs {
    pub(crate) fn new(fault: Fault) -> Self {
        SimFs {
            disk: Mutex::default(),
            fault,
            ops: AtomicUsize::new(0),
        }
    }

    /// The disk, locked (a test that panicked while holding it left it whole enough to read).
    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Operations performed (or refused) so far.
    pub(crate) fn ops(&self) -> usize {
        self.ops.load(Ordering::Relaxed)
    }

    /// Counts an operation and decides whether it fails.
    fn begin(&self) -> Result<(), io::Error> {
        let n = self.ops.fetch_add(1, Ordering::Relaxed);
        match self.fault {
            Fault::CrashBefore(at) if n >= at => Err(io::Error::other("simulated crash")),
            Fault::FailAt(at, kind) if n == at => Err(io::Error::new(kind, "simulated fault")),
            _ => Ok(()),
        }
    }

    /// Every disk a power loss right now may leave, each a healthy `SimFs`.
    pub(crate) fn crash_states(&self) -> Vec<SimFs> {
        let disk = self.disk();
        let ops = &disk.unsynced_ops;
        let mut states = Vec::new();
        for kept in 0u32..1 << ops.len() {
            let mut names = disk.durable_names.clone();
            for (i, op) in ops.iter().enumerate() {
                if kept & (1 << i) != 0 {
                    apply(&mut names, op);
                }
            }
            let live: Vec<usize> = names.values().copied().collect();
            let mut contents: Vec<Vec<(usize, Vec<u8>)>> = vec![Vec::new()];
            for ino in live {
                let inode = &disk.inodes[ino];
                let mut choices = vec![inode.durable.clone()];
                if inode.current != inode.durable {
                    choices.push(inode.current.clone());
                    // An append tears after the synced part; a rewrite anywhere.
                    let kept = if inode.current.starts_with(&inode.durable) {
                        inode.durable.len()
                    } else {
                        0
                    };
                    let torn = kept + (inode.current.len() - kept) / 2;
                    choices.push(inode.current[..torn].to_vec());
                    // Unsynced blocks may also read back as zeros (the size was extended first).
                    let mut zeroed = inode.current.clone();
                    zeroed[kept..].fill(0);
                    choices.push(zeroed);
                }
                contents = contents
                    .into_iter()
                    .flat_map(|partial| {
                        choices.iter().map(move |choice| {
                            let mut next = partial.clone();
                            next.push((ino, choice.clone()));
                            next
                        })
                    })
                    .collect();
            }
            for content in contents {
                let mut inodes = disk.inodes.clone();
                for (ino, bytes) in content {
                    inodes[ino] = Inode {
                        current: bytes.clone(),
                        durable: bytes,
                    };
                }
                let state = Disk {
                    inodes,
                    names: names.clone(),
                    durable_names: names.clone(),
                    unsynced_ops: Vec::new(),
                };
                states.push(SimFs {
                    disk: Mutex::new(state),
                    fault: Fault::Healthy,
                    ops: AtomicUsize::new(0),
                });
            }
        }
        states
    }

    /// The same disk, as it is now, with `fault` from its next operation on.
    #[cfg(test)]
    pub(crate) fn with_fault(&self, fault: Fault) -> SimFs {
        SimFs {
            disk: Mutex::new(self.disk().clone()),
            fault,
            ops: AtomicUsize::new(0),
        }
    }

    /// The disk a killed process leaves (everything written is there), healthy again.
    pub(crate) fn after_kill(&self) -> SimFs {
        SimFs {
            disk: Mutex::new(self.disk().clone()),
            fault: Fault::Healthy,
            ops: AtomicUsize::new(0),
        }
    }

    /// The bytes the files on the disk take now.
    pub(crate) fn used(&self) -> usize {
        let disk = self.disk();
        disk.names
            .values()
            .map(|&ino| disk.inodes[ino].current.len())
            .sum()
    }

    /// How much of `len` more bytes fit on the disk, if less than all (`inode`'s own bytes,
    /// which a rewrite replaces, do not count).
    fn room_short_of(&self, len: usize, rewritten: Option<usize>) -> Option<usize> {
        let Fault::Full(capacity) = self.fault else {
            return None;
        };
        let freed = rewritten.map_or(0, |ino| self.disk().inodes[ino].current.len());
        let room = capacity.saturating_sub(self.used() - freed);
        (len > room).then_some(room)
    }

    /// The names on the simulated disk, for assertions.
    pub(crate) fn names(&self) -> Vec<PathBuf> {
        self.disk().names.keys().cloned().collect()
    }

    /// What every file ever created holds now, synced or not (removed ones too), for tests
    /// that look for the newest record written anywhere.
    pub(crate) fn contents(&self) -> Vec<Vec<u8>> {
        let disk = self.disk();
        disk.inodes
            .iter()
            .map(|inode| inode.current.clone())
            .collect()
    }

    /// Appends `bytes` to `path` unsynced, without counting an operation: the torn tail a
    /// process killed in the middle of an append leaves.
    pub(crate) fn tear(&self, path: &Path, bytes: &[u8]) {
        let mut disk = self.disk();
        let ino = *disk.names.get(path).expect("tear: no such file");
        disk.inodes[ino].current.extend_from_slice(bytes);
    }
}

/// A log the simulated disk holds open: its inode.
struct SimLog(usize);

fn apply(names: &mut BTreeMap<PathBuf, usize>, op: &DirOp) {
    match op {
        DirOp::Link(path, ino) => {
            names.insert(path.clone(), *ino);
        }
        DirOp::Unlink(path) => {
            names.remove(path);
        }
        DirOp::Rename(from, to) => {
            if let Some(ino) = names.remove(from) {
                names.insert(to.clone(), ino);
            }
        }
    }
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

impl Fs for SimFs {
    fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.write_inode(path, bytes).map(drop)
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        self.begin()?;
        let mut disk = self.disk();
        let ino = *disk.names.get(path).ok_or_else(not_found)?;
        let inode = &mut disk.inodes[ino];
        inode.durable = inode.current.clone();
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.begin()?;
        let mut disk = self.disk();
        let ino = disk.names.remove(from).ok_or_else(not_found)?;
        disk.names.insert(to.to_owned(), ino);
        disk.unsynced_ops
            .push(DirOp::Rename(from.to_owned(), to.to_owned()));
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        self.begin()?;
        let mut disk = self.disk();
        disk.durable_names = disk.names.clone();
        disk.unsynced_ops.clear();
        Ok(())
    }

    fn create_dir(&self, _dir: &Path) -> io::Result<()> {
        self.begin()
    }

    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        self.begin()?;
        let disk = self.disk();
        Ok(disk
            .names
            .get(path)
            .map(|&ino| disk.inodes[ino].current.clone()))
    }

    fn remove(&self, path: &Path) -> io::Result<bool> {
        self.begin()?;
        let mut disk = self.disk();
        let removed = disk.names.remove(path).is_some();
        if removed {
            disk.unsynced_ops.push(DirOp::Unlink(path.to_owned()));
        }
        Ok(removed)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.begin()?;
        let disk = self.disk();
        Ok(disk
            .names
            .keys()
            .filter(|path| path.parent() == Some(dir))
            .cloned()
            .collect())
    }

    fn create_log(&self, path: &Path) -> io::Result<LogFile> {
        self.write_inode(path, &[])
            .map(|ino| LogFile::new(SimLog(ino)))
    }

    fn open_log(&self, path: &Path, len: u64) -> io::Result<LogFile> {
        self.begin()?;
        let mut disk = self.disk();
        let ino = *disk.names.get(path).ok_or_else(not_found)?;
        let inode = &mut disk.inodes[ino];
        // What is cut off is a torn record, which recovery skips whether or not the cut
        // survives a power loss: the durable bytes before `len` stay.
        inode.current.truncate(len as usize);
        inode.durable.truncate(len as usize);
        Ok(LogFile::new(SimLog(ino)))
    }

    fn append(&self, file: &LogFile, parts: &[&[u8]]) -> io::Result<()> {
        let SimLog(ino) = *file.handle();
        let bytes = parts.concat();
        let failure = self.begin();
        if let Err(err) = &failure
            && matches!(self.fault, Fault::CrashBefore(_))
        {
            return Err(io::Error::new(err.kind(), "simulated crash"));
        }
        let (written, failure) = match (failure, self.room_short_of(bytes.len(), None)) {
            (Ok(()), None) => (&bytes[..], Ok(())),
            (Ok(()), Some(room)) => (&bytes[..room], Err(io::ErrorKind::StorageFull.into())),
            (Err(err), _) => (&bytes[..bytes.len() / 2], Err(err)),
        };
        self.disk().inodes[ino].current.extend_from_slice(written);
        failure
    }

    fn sync_log(&self, file: &LogFile) -> io::Result<()> {
        let SimLog(ino) = *file.handle();
        self.begin()?;
        let mut disk = self.disk();
        let inode = &mut disk.inodes[ino];
        inode.durable = inode.current.clone();
        Ok(())
    }
}

impl SimFs {
    /// Creates or truncates `path` with `bytes` as its unsynced content; its inode number.
    fn write_inode(&self, path: &Path, bytes: &[u8]) -> io::Result<usize> {
        let failure = self.begin();
        if let Err(err) = &failure
            && matches!(self.fault, Fault::CrashBefore(_))
        {
            return Err(io::Error::new(err.kind(), "simulated crash"));
        }
        let existing = self.disk().names.get(path).copied();
        let (written, failure) = match (failure, self.room_short_of(bytes.len(), existing)) {
            (Ok(()), None) => (bytes, Ok(())),
            (Ok(()), Some(room)) => (&bytes[..room], Err(io::ErrorKind::StorageFull.into())),
            (Err(err), _) => (&bytes[..bytes.len() / 2], Err(err)),
        };
        let mut disk = self.disk();
        let ino = match disk.names.get(path).copied() {
            Some(ino) => {
                disk.inodes[ino].current = written.to_vec();
                ino
            }
            None => {
                let ino = disk.inodes.len();
                disk.inodes.push(Inode {
                    current: written.to_vec(),
                    durable: Vec::new(),
                });
                disk.names.insert(path.to_owned(), ino);
                disk.unsynced_ops.push(DirOp::Link(path.to_owned(), ino));
                ino
            }
        };
        failure.map(|()| ino)
    }
}
