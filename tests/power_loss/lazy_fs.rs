//! The [`Disk`] served through FUSE (the `fuser` crate), so a real program writes to it with
//! real system calls. Every open is direct I/O and every entry and attribute is given with a
//! lifetime of zero: the kernel keeps no copy of its own, so what a program reads is what the
//! disk holds, and after a power loss (unmounted, [`Disk::power_loss`], mounted again) what it
//! finds is exactly what the loss kept.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
    Generation, INodeNo, LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow,
    WriteFlags,
};

use crate::disk::{Attr, Disk};

/// No caching in the kernel: every lookup and attribute comes from the disk.
const TTL: Duration = Duration::ZERO;

/// The FUSE filesystem over a shared [`Disk`].
struct LazyFs {
    disk: Arc<Mutex<Disk>>,
}

/// `disk` mounted at `at` until the session is dropped (or unmounted).
pub fn mount(disk: &Arc<Mutex<Disk>>, at: &Path) -> std::io::Result<BackgroundSession> {
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("resumable-lazy-fs".into()),
        MountOption::RW,
    ];
    fuser::spawn_mount(
        LazyFs {
            disk: Arc::clone(disk),
        },
        at,
        &config,
    )
}

fn file_attr(attr: Attr) -> FileAttr {
    FileAttr {
        ino: INodeNo(attr.ino),
        size: attr.size,
        blocks: attr.size.div_ceil(512),
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind: if attr.dir {
            FileType::Directory
        } else {
            FileType::RegularFile
        },
        perm: attr.mode,
        nlink: if attr.dir { 2 } else { 1 },
        uid: 0,
        gid: 0,
        rdev: 0,
        flags: 0,
        blksize: 4096,
    }
}

fn errno(code: i32) -> Errno {
    Errno::from_i32(code)
}

impl LazyFs {
    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reply_entry(&self, result: Result<Attr, i32>, reply: ReplyEntry) {
        match result {
            Ok(attr) => reply.entry(&TTL, &file_attr(attr), Generation(0)),
            Err(code) => reply.error(errno(code)),
        }
    }

    fn reply_attr(result: Result<Attr, i32>, reply: ReplyAttr) {
        match result {
            Ok(attr) => reply.attr(&TTL, &file_attr(attr)),
            Err(code) => reply.error(errno(code)),
        }
    }

    fn reply_empty(result: Result<(), i32>, reply: ReplyEmpty) {
        match result {
            Ok(()) => reply.ok(),
            Err(code) => reply.error(errno(code)),
        }
    }
}

impl Filesystem for LazyFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let result = self.disk().lookup(parent.0, name);
        self.reply_entry(result, reply);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        Self::reply_attr(self.disk().attr(ino.0), reply);
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut disk = self.disk();
        let result = (|| {
            if let Some(len) = size {
                disk.truncate(ino.0, len)?;
            }
            if let Some(mode) = mode {
                disk.set_mode(ino.0, mode as u16)?;
            }
            disk.attr(ino.0)
        })();
        Self::reply_attr(result, reply);
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let result = self
            .disk()
            .create(parent.0, name, true, (mode & !umask) as u16);
        self.reply_entry(result, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        Self::reply_empty(self.disk().remove(parent.0, name, false), reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        Self::reply_empty(self.disk().remove(parent.0, name, true), reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        // The runtime renames within one directory only; across two, a rename is not one
        // journal entry, and `rename(2)` callers know to expect EXDEV.
        let result = if parent != newparent {
            Err(libc::EXDEV)
        } else if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            Err(libc::EINVAL)
        } else {
            self.disk().rename(
                parent.0,
                name,
                newname,
                flags.contains(RenameFlags::RENAME_NOREPLACE),
            )
        };
        Self::reply_empty(result, reply);
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.disk().attr(ino.0) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::FOPEN_DIRECT_IO),
            Err(code) => reply.error(errno(code)),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let mut disk = self.disk();
        let result = match disk.lookup(parent.0, name) {
            Ok(_) if flags & libc::O_EXCL != 0 => Err(libc::EEXIST),
            Ok(attr) => (|| {
                if flags & libc::O_TRUNC != 0 {
                    disk.truncate(attr.ino, 0)?;
                }
                disk.attr(attr.ino)
            })(),
            Err(_) => disk.create(parent.0, name, false, (mode & !umask) as u16),
        };
        match result {
            Ok(attr) => reply.created(
                &TTL,
                &file_attr(attr),
                Generation(0),
                FileHandle(0),
                FopenFlags::FOPEN_DIRECT_IO,
            ),
            Err(code) => reply.error(errno(code)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.disk().read(ino.0, offset, size) {
            Ok(bytes) => reply.data(&bytes),
            Err(code) => reply.error(errno(code)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.disk().write(ino.0, offset, data) {
            Ok(()) => reply.written(data.len() as u32),
            Err(code) => reply.error(errno(code)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // A close makes nothing durable.
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        Self::reply_empty(self.disk().sync(ino.0), reply);
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.disk().attr(ino.0) {
            Ok(attr) if attr.dir => reply.opened(FileHandle(0), FopenFlags::empty()),
            Ok(_) => reply.error(Errno::ENOTDIR),
            Err(code) => reply.error(errno(code)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let entries = match self.disk().list(ino.0) {
            Ok(entries) => entries,
            Err(code) => return reply.error(errno(code)),
        };
        let dots = [
            (ino.0, true, OsStr::new(".").to_owned()),
            (ino.0, true, OsStr::new("..").to_owned()),
        ];
        let all = dots.into_iter().chain(
            entries
                .into_iter()
                .map(|(name, attr)| (attr.ino, attr.dir, name)),
        );
        for (i, (entry, dir, name)) in all.enumerate().skip(offset as usize) {
            let kind = if dir {
                FileType::Directory
            } else {
                FileType::RegularFile
            };
            if reply.add(INodeNo(entry), i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        Self::reply_empty(self.disk().sync(ino.0), reply);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }
}
