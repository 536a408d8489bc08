//! Low-level, allocation-free access to files under the /proc root.
//!
//! Every collector runs once a second over hundreds of processes, and on a VM each syscall costs
//! microseconds, so: paths are built in a reused byte buffer (rustix turns short paths into C
//! strings on the stack), files land in a reused buffer, files read every tick are kept open and
//! re-read with one `pread` at offset 0 (instead of open, read, read, close), and directories are
//! read with `getdents64` into a reused buffer instead of `std::fs::read_dir`, which allocates
//! per entry.

use std::ffi::{CStr, OsStr};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, RawDir};

/// Reads files below one /proc root with reused buffers. One per collector: it is not shared
/// because its buffers are scratch space.
#[derive(Debug)]
pub(crate) struct Reader {
    root: Vec<u8>,
    path: Vec<u8>,
    data: Vec<u8>,
    /// Length of the last file read into `data`.
    last_len: usize,
    dirbuf: Vec<u8>,
}

/// Whether an error means the process (or fd) went away between listing and reading, which is
/// normal on a live system and not worth reporting.
pub(crate) fn is_vanished(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error())
}

/// How many files a collector may keep open: a quarter of the soft fd limit, at most 8192, so
/// kept-open proc files never starve the rest of the probe.
pub(crate) fn kept_open_limit() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    soft.map_or(8192, |s| (s / 4).min(8192) as usize)
}

impl Reader {
    pub(crate) fn new(root: &Path) -> Reader {
        Reader {
            root: root.as_os_str().as_bytes().to_vec(),
            path: Vec::with_capacity(128),
            data: vec![0; 4096],
            last_len: 0,
            dirbuf: Vec::with_capacity(32 * 1024),
        }
    }

    /// `<root>/<pid>/<rel>` (or `<root>/<rel>`) as a path, for error messages.
    pub(crate) fn path_of(&mut self, pid: Option<u32>, rel: &str) -> PathBuf {
        self.build(pid, rel);
        PathBuf::from(OsStr::from_bytes(&self.path))
    }

    fn build(&mut self, pid: Option<u32>, rel: &str) -> &[u8] {
        self.path.clear();
        self.path.extend_from_slice(&self.root);
        if let Some(pid) = pid {
            // Writing a number into a Vec cannot fail.
            let _ = write!(self.path, "/{pid}");
        }
        if !rel.is_empty() {
            self.path.push(b'/');
            self.path.extend_from_slice(rel.as_bytes());
        }
        &self.path
    }

    /// Opens a file to re-read later with [`pread`](Self::pread).
    pub(crate) fn open(&mut self, pid: Option<u32>, rel: &str) -> io::Result<OwnedFd> {
        let path = self.build(pid, rel);
        Ok(rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    /// Reads a whole file into the reused buffer, until end of file: files with one record per
    /// line (`net/tcp`) come a page or so per read.
    pub(crate) fn read(&mut self, pid: Option<u32>, rel: &str) -> io::Result<&[u8]> {
        let fd = self.open(pid, rel)?;
        self.last_len = 0;
        let mut len = 0;
        loop {
            if len == self.data.len() {
                let grown = self.data.len() * 2;
                self.data.resize(grown, 0);
            }
            match rustix::io::read(&fd, &mut self.data[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        self.last_len = len;
        Ok(&self.data[..len])
    }

    /// Re-reads a whole (kept open) proc file from offset 0: proc regenerates the contents.
    /// Only for files the kernel produces in one piece (`stat`, `net/snmp`: `single_open`),
    /// where a read shorter than the buffer is the whole file; one syscall per read.
    pub(crate) fn pread(&mut self, fd: &OwnedFd) -> io::Result<&[u8]> {
        self.last_len = 0;
        loop {
            let n = rustix::io::pread(fd, &mut self.data[..], 0)?;
            if n < self.data.len() {
                self.last_len = n;
                return Ok(&self.data[..n]);
            }
            // Did not fit: a bigger buffer, kept for next time, and once more from the start.
            let len = self.data.len() * 4;
            self.data.resize(len, 0);
        }
    }

    /// The contents of the last file read, until the next read.
    pub(crate) fn last(&self) -> &[u8] {
        &self.data[..self.last_len]
    }

    /// Makes the next reads start with a buffer of at least `len` bytes (for big files such as
    /// TCP tables, where a retry would redo expensive kernel work).
    pub(crate) fn reserve(&mut self, len: usize) {
        if self.data.len() < len {
            self.data.resize(len, 0);
        }
    }

    /// The target of a symlink such as `ns/net`, into a caller buffer.
    pub(crate) fn readlink<'b>(
        &mut self,
        pid: u32,
        rel: &str,
        buf: &'b mut [u8; 128],
    ) -> io::Result<&'b [u8]> {
        let path = self.build(Some(pid), rel);
        let len = rustix::fs::readlinkat_raw(rustix::fs::CWD, path, &mut buf[..])?;
        Ok(&buf[..len.min(buf.len())])
    }

    /// Opens a directory `O_PATH`: no read access needed, kept for `fstat`.
    pub(crate) fn open_path(&mut self, pid: Option<u32>, rel: &str) -> io::Result<OwnedFd> {
        let path = self.build(pid, rel);
        Ok(rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    /// The number of open fds of `pid`, through its kept `O_PATH` `/proc/PID/fd` if given.
    /// Since Linux 6.2 `stat` on `/proc/PID/fd` reports it as the size: one syscall instead of a
    /// directory read. Older kernels report 0, and then the directory is counted.
    pub(crate) fn fd_count(&mut self, pid: u32, fd_dir: Option<&OwnedFd>) -> io::Result<u32> {
        let size = match fd_dir {
            Some(dir) => rustix::fs::fstat(dir)?.st_size,
            None => {
                let path = self.build(Some(pid), "fd");
                rustix::fs::stat(path)?.st_size
            }
        };
        if size > 0 {
            return Ok(u32::try_from(size).unwrap_or(u32::MAX));
        }
        let mut n = 0;
        self.for_each_fd(pid, |_, _| n += 1)?;
        Ok(n)
    }

    /// Calls `f(dirfd, name)` for every entry of `/proc/PID/fd` (without `.` and `..`).
    pub(crate) fn for_each_fd(
        &mut self,
        pid: u32,
        mut f: impl FnMut(BorrowedFd<'_>, &CStr),
    ) -> io::Result<()> {
        let path = self.build(Some(pid), "fd");
        let dir = open_dir(path)?;
        let mut entries = RawDir::new(&dir, self.dirbuf.spare_capacity_mut());
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_bytes().first() == Some(&b'.') {
                continue;
            }
            f(dir.as_fd(), name);
        }
        Ok(())
    }

    /// Replaces `out` with (pid, inode) for the numeric entries of the root: the processes
    /// (thread-group leaders). The inode of `/proc/PID` changes when the pid is reused, which
    /// tells a new process from an old one without reading anything.
    pub(crate) fn list_pids(&mut self, out: &mut Vec<(u32, u64)>) -> io::Result<()> {
        out.clear();
        let path = self.build(None, "");
        let dir = open_dir(path)?;
        let mut entries = RawDir::new(&dir, self.dirbuf.spare_capacity_mut());
        while let Some(entry) = entries.next() {
            let entry = entry?;
            if let Some(pid) = crate::parse::parse_u64(entry.file_name().to_bytes()) {
                out.push((pid as u32, entry.ino()));
            }
        }
        Ok(())
    }
}

/// Opens a directory for reading its entries.
fn open_dir<P: rustix::path::Arg>(path: P) -> io::Result<rustix::fd::OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}
