//! A simulated disk for tests: what a crash or power loss may leave, and faults on demand.
//!
//! Modelled on LevelDB's fault-injection test. File content written but not synced may, after
//! a power loss, be the old content, the new content, or a torn mix; names created, renamed or
//! removed since the directory's last sync may each have happened or not. [`SimFs::crash_states`]
//! lists every such disk; recovery must find a good checkpoint on each of them.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::Fs;

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
}

pub(crate) struct SimFs {
    disk: RefCell<Disk>,
    fault: Fault,
    ops: Cell<usize>,
}

impl SimFs {
    pub(crate) fn new(fault: Fault) -> Self {
        SimFs {
            disk: RefCell::default(),
            fault,
            ops: Cell::new(0),
        }
    }

    /// Operations performed (or refused) so far.
    pub(crate) fn ops(&self) -> usize {
        self.ops.get()
    }

    /// Counts an operation and decides whether it fails.
    fn begin(&self) -> Result<(), io::Error> {
        let n = self.ops.get();
        self.ops.set(n + 1);
        match self.fault {
            Fault::CrashBefore(at) if n >= at => Err(io::Error::other("simulated crash")),
            Fault::FailAt(at, kind) if n == at => Err(io::Error::new(kind, "simulated fault")),
            _ => Ok(()),
        }
    }

    /// Every disk a power loss right now may leave, each a healthy `SimFs`.
    pub(crate) fn crash_states(&self) -> Vec<SimFs> {
        let disk = self.disk.borrow();
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
                    choices.push(inode.current[..inode.current.len() / 2].to_vec());
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
                    disk: RefCell::new(state),
                    fault: Fault::Healthy,
                    ops: Cell::new(0),
                });
            }
        }
        states
    }

    /// The names on the simulated disk, for assertions.
    pub(crate) fn names(&self) -> Vec<PathBuf> {
        self.disk.borrow().names.keys().cloned().collect()
    }
}

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
        let failure = self.begin();
        if let Err(err) = &failure
            && matches!(self.fault, Fault::CrashBefore(_))
        {
            return Err(io::Error::new(err.kind(), "simulated crash"));
        }
        let written = if failure.is_ok() {
            bytes
        } else {
            &bytes[..bytes.len() / 2]
        };
        let mut disk = self.disk.borrow_mut();
        match disk.names.get(path).copied() {
            Some(ino) => disk.inodes[ino].current = written.to_vec(),
            None => {
                let ino = disk.inodes.len();
                disk.inodes.push(Inode {
                    current: written.to_vec(),
                    durable: Vec::new(),
                });
                disk.names.insert(path.to_owned(), ino);
                disk.unsynced_ops.push(DirOp::Link(path.to_owned(), ino));
            }
        }
        failure
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        self.begin()?;
        let mut disk = self.disk.borrow_mut();
        let ino = *disk.names.get(path).ok_or_else(not_found)?;
        let inode = &mut disk.inodes[ino];
        inode.durable = inode.current.clone();
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.begin()?;
        let mut disk = self.disk.borrow_mut();
        let ino = disk.names.remove(from).ok_or_else(not_found)?;
        disk.names.insert(to.to_owned(), ino);
        disk.unsynced_ops
            .push(DirOp::Rename(from.to_owned(), to.to_owned()));
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        self.begin()?;
        let mut disk = self.disk.borrow_mut();
        disk.durable_names = disk.names.clone();
        disk.unsynced_ops.clear();
        Ok(())
    }

    fn create_dir(&self, _dir: &Path) -> io::Result<()> {
        self.begin()
    }

    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        self.begin()?;
        let disk = self.disk.borrow();
        Ok(disk
            .names
            .get(path)
            .map(|&ino| disk.inodes[ino].current.clone()))
    }

    fn remove(&self, path: &Path) -> io::Result<bool> {
        self.begin()?;
        let mut disk = self.disk.borrow_mut();
        let removed = disk.names.remove(path).is_some();
        if removed {
            disk.unsynced_ops.push(DirOp::Unlink(path.to_owned()));
        }
        Ok(removed)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.begin()?;
        let disk = self.disk.borrow();
        Ok(disk
            .names
            .keys()
            .filter(|path| path.parent() == Some(dir))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint;
    use crate::envelope::{self, Meta};
    use crate::storage::{self, Generations};

    const LABEL: &str = "sim";
    const SHAPE: &str = "n: u64";
    const SAVES: u64 = 4;

    fn generations() -> Generations {
        Generations::of(PathBuf::from("/ckpt/job.ckpt"))
    }

    fn checkpoint_bytes(index: u64) -> Vec<u8> {
        let mut buf = Vec::new();
        envelope::begin(&mut buf, &Meta::new(LABEL, SHAPE, index));
        buf.extend_from_slice(&postcard::to_allocvec(&(index * 1000)).unwrap());
        envelope::finish(&mut buf);
        buf
    }

    /// Saves generations 1..=SAVES until the disk fails; returns the last one reported durable.
    fn save_all(fs: &SimFs) -> Option<u64> {
        let mut durable = None;
        for index in 1..=SAVES {
            if storage::rotate_in(fs, &generations(), &checkpoint_bytes(index)).is_err() {
                break;
            }
            durable = Some(index);
        }
        durable
    }

    /// How many operations `save_all` makes when nothing goes wrong: the steps to fault.
    fn ops_of_a_healthy_run() -> usize {
        let fs = SimFs::new(Fault::Healthy);
        save_all(&fs);
        fs.ops()
    }

    /// The index recovery finds on `fs`, checking that the state decodes to what was saved.
    fn recovered_index(fs: &SimFs) -> Option<u64> {
        let recovered = checkpoint::recover(fs, &generations(), LABEL, SHAPE)
            .unwrap_or_else(|err| panic!("recovery failed: {err}"))?;
        let index = recovered.loaded.meta.index;
        let state: u64 = postcard::from_bytes(recovered.loaded.payload()).unwrap();
        assert_eq!(state, index * 1000, "state does not match its index");
        Some(index)
    }

    #[test]
    fn power_loss_at_every_step_leaves_a_checkpoint_no_older_than_the_last_durable_one() {
        let total_ops = ops_of_a_healthy_run();
        let mut disks = 0;
        for crash_at in 0..=total_ops {
            let fs = SimFs::new(Fault::CrashBefore(crash_at));
            let durable = save_all(&fs);
            for disk in fs.crash_states() {
                disks += 1;
                let found = recovered_index(&disk);
                assert!(
                    found >= durable,
                    "crash before op {crash_at}: found {found:?}, but {durable:?} was durable \
                     (names {:?})",
                    disk.names()
                );
            }
        }
        assert!(
            disks > total_ops,
            "only {disks} disk states for {total_ops} crash points"
        );
        eprintln!("{total_ops} crash points, {disks} disk states recovered");
    }

    #[test]
    fn a_failed_step_keeps_the_last_checkpoint_and_leaves_no_temp_file() {
        let total_ops = ops_of_a_healthy_run();
        let kinds = [
            io::ErrorKind::StorageFull,
            io::ErrorKind::Other,
            io::ErrorKind::PermissionDenied,
        ];
        for at in 0..total_ops {
            for kind in kinds {
                let fs = SimFs::new(Fault::FailAt(at, kind));
                let mut durable = None;
                for index in 1..=SAVES {
                    match storage::rotate_in(&fs, &generations(), &checkpoint_bytes(index)) {
                        Ok(()) => durable = Some(index),
                        Err(err) => {
                            let text = err.to_string();
                            assert!(text.contains("/ckpt"), "the error names no file: {text}");
                        }
                    }
                }
                let found = recovered_index(&fs);
                assert!(
                    found >= durable,
                    "fault at {at} ({kind:?}): found {found:?}, durable {durable:?}"
                );
                let temps: Vec<_> = fs
                    .names()
                    .into_iter()
                    .filter(|name| name.to_string_lossy().contains(".tmp-"))
                    .collect();
                assert!(temps.is_empty(), "fault at {at} ({kind:?}) left {temps:?}");
            }
        }
    }

    /// A realistic state: what the sweep below must get back exactly, or not at all.
    type State = (Vec<u64>, String, Option<(u32, f64)>);

    fn state(index: u64) -> State {
        (
            (0..index).map(|i| i * i).collect(),
            format!("at {index}"),
            Some((7, 0.5)),
        )
    }

    fn write_generation(fs: &SimFs, index: u64) {
        let mut buf = Vec::new();
        envelope::begin(&mut buf, &Meta::new(LABEL, SHAPE, index));
        buf.extend_from_slice(&postcard::to_allocvec(&state(index)).unwrap());
        envelope::finish(&mut buf);
        storage::rotate_in(fs, &generations(), &buf).unwrap();
    }

    /// Recovery, then decoding, of whatever is on `fs`: the index and state, or an error.
    fn load(fs: &SimFs) -> Result<Option<(u64, State)>, crate::Error> {
        let Some(recovered) = checkpoint::recover(fs, &generations(), LABEL, SHAPE)? else {
            return Ok(None);
        };
        let mut rest = recovered.loaded.payload();
        let value = checkpoint::take_value(&mut rest)
            .map_err(|err| crate::Error::corrupt("x", err.to_string()))?;
        assert!(rest.is_empty());
        Ok(Some((recovered.loaded.meta.index, value)))
    }

    /// Every truncation and every single-bit flip of the newest checkpoint: with a previous
    /// generation, recovery falls back to it; without one, loading is an error. Never a panic,
    /// never a state other than one that was saved.
    #[test]
    fn corruption_sweep_of_a_real_checkpoint_falls_back_or_errs_never_loads_wrong_state() {
        let template = SimFs::new(Fault::Healthy);
        write_generation(&template, 3);
        write_generation(&template, 5);
        let newest = template.read(&generations().newest).unwrap().unwrap();
        let mut damaged: Vec<Vec<u8>> = (0..newest.len())
            .map(|len| newest[..len].to_vec())
            .collect();
        for bit in 0..newest.len() * 8 {
            let mut flipped = newest.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            damaged.push(flipped);
        }
        for (case, bytes) in damaged.iter().enumerate() {
            for keep_previous in [true, false] {
                let fs = SimFs::new(Fault::Healthy);
                write_generation(&fs, 3);
                write_generation(&fs, 5);
                if !keep_previous {
                    fs.remove(&generations().previous).unwrap();
                }
                fs.write(&generations().newest, bytes).unwrap();
                match load(&fs) {
                    Ok(Some((index, value))) => {
                        assert!(
                            keep_previous,
                            "case {case}: loaded damaged bytes as index {index}"
                        );
                        assert_eq!((index, value), (3, state(3)), "case {case}");
                        let aside = fs
                            .names()
                            .into_iter()
                            .any(|name| name.to_string_lossy().contains(".damaged-"));
                        assert!(aside, "case {case}: the damaged file was not kept");
                    }
                    Ok(None) => panic!("case {case}: a checkpoint vanished"),
                    Err(err) => {
                        assert!(!keep_previous, "case {case}: no fallback: {err}");
                        assert!(err.to_string().contains("job.ckpt"), "case {case}: {err}");
                    }
                }
            }
        }
        eprintln!(
            "{} damaged files, each with and without a previous generation",
            damaged.len()
        );
    }
}
