#!/usr/bin/python3
"""One caching "NFS-like" client over a backing folder: a pyfuse3 passthrough.

Started twice by ``scripts/two-clients`` (two processes, two mounts over one
backing folder), it gives two independent clients of one shared folder that
cache the way a kernel NFS client does with ``actimeo=N``:

- attributes (size, mtime, nlink, ...) and positive lookups are cached by the
  kernel for ``actimeo`` seconds (the entry and attribute timeouts of every
  reply), so ``stat()`` of a path can report the size the file had before
  the other client appended to it;
- negative lookups ("absent") are cached for ``actimeo`` seconds too (a lookup
  of a missing name is answered with an entry of inode 0 and an entry
  timeout), so ``exists()`` can say False after the other client created it;
- close-to-open: ``open()`` drops the kernel's cached attributes of the file
  being opened (attributes only: notifying the kernel from inside a request
  handler is safe for attributes, whereas invalidating pages could wait for
  page locks), and files are opened with ``direct_io``, so every read asks
  this process, which reads the backing file: ``fstat()`` of the opened file
  and reads through it see the other client's writes. (With the kernel's page
  cache instead, a reader racing another reader of a growing file on the same
  mount was served zero-filled stale pages: 8 of 623 reads in
  ``tests/crossclient/test_bed.py``'s check; a real NFS client revalidates
  its pages on open and has no such hole.)
- ``link``, ``O_EXCL`` create, ``mkdir``, ``rename``, ``unlink`` are done
  with the same call on the backing path (atomic there, so exclusive across
  the two clients); writes go through ``pwrite`` on a backing descriptor
  opened with the caller's flags, so an ``O_APPEND`` write is appended at the
  true end of the file whatever size the client cached;
- every request this "server" receives is counted by kind; ``SIGUSR1`` writes
  the counts so far to ``--ops-file`` (JSON, replaced atomically), so a
  benchmark can tell what the workers asked of the file server
  (``benchmarks/bench_fs_ops.py``): what the kernel answered from its caches
  never reaches here, as on NFS;
- ``flock``/``fcntl`` locks are not forwarded: each mount's kernel keeps its
  own, so they exclude nothing between the two clients (as on NFS without
  working lockd, or Lustre without ``-o flock``).

Run with Debian's ``/usr/bin/python3`` (package python3-pyfuse3)::

    /usr/bin/python3 scripts/_two_clients_fs.py BACKING MOUNTPOINT --actimeo 3
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import stat
import sys
from collections import Counter, defaultdict

import pyfuse3
import trio

log = logging.getLogger("two-clients-fs")


class CachingPassthrough(pyfuse3.Operations):
    """Passthrough to ``backing`` whose replies let the kernel cache for ``actimeo_s`` seconds."""

    enable_writeback_cache = False

    def __init__(self, backing: str, actimeo_s: float):
        super().__init__()
        self.backing = os.path.realpath(backing)
        self.actimeo_s = float(actimeo_s)
        self.root_ino = os.lstat(self.backing).st_ino
        self.paths: dict[int, set[str]] = defaultdict(set)  # fuse inode -> backing paths seen for it
        self.paths[pyfuse3.ROOT_INODE].add(self.backing)
        self.lookups: dict[int, int] = defaultdict(int)
        self.open_fds: dict[int, set[int]] = defaultdict(set)  # fuse inode -> open backing fds
        self.fd_inode: dict[int, int] = {}

    # -- inodes and paths ---------------------------------------------------------
    def _ino(self, st: os.stat_result) -> int:
        return pyfuse3.ROOT_INODE if st.st_ino == self.root_ino else st.st_ino

    def _path(self, inode: int) -> str:
        """A backing path that still names ``inode``; ESTALE when none does (as NFS answers)."""
        if inode == pyfuse3.ROOT_INODE:
            return self.backing
        for path in list(self.paths.get(inode, ())):
            try:
                if os.lstat(path).st_ino == inode:
                    return path
            except OSError:
                pass
            self.paths[inode].discard(path)
        raise pyfuse3.FUSEError(errno.ESTALE)

    def _child(self, parent: int, name: bytes) -> str:
        return os.path.join(self._path(parent), os.fsdecode(name))

    def _attrs(self, st: os.stat_result) -> pyfuse3.EntryAttributes:
        e = pyfuse3.EntryAttributes()
        for key in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "st_size", "st_atime_ns", "st_mtime_ns", "st_ctime_ns"):
            setattr(e, key, getattr(st, key))
        e.st_ino = self._ino(st)
        e.generation = 0
        e.st_blksize = 512
        e.st_blocks = (st.st_size + 511) // 512
        e.entry_timeout = self.actimeo_s
        e.attr_timeout = self.actimeo_s
        return e

    def _remember(self, path: str, st: os.stat_result) -> pyfuse3.EntryAttributes:
        """Attributes for an entry reply: the kernel now holds one more lookup of this inode."""
        ino = self._ino(st)
        self.paths[ino].add(path)
        self.lookups[ino] += 1
        return self._attrs(st)

    def _forget_path(self, path: str) -> None:
        try:
            ino = self._ino(os.lstat(path))
        except OSError:
            return
        self.paths.get(ino, set()).discard(path)

    def _chown(self, path: str, ctx: pyfuse3.RequestContext) -> None:
        if ctx.uid != os.getuid() or ctx.gid != os.getgid():
            os.chown(path, ctx.uid, ctx.gid, follow_symlinks=False)

    # -- lookups and attributes -----------------------------------------------------
    async def lookup(self, parent_inode, name, ctx=None):
        path = self._child(parent_inode, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            absent = pyfuse3.EntryAttributes()  # inode 0: a negative entry, cached entry_timeout s
            absent.st_ino = 0
            absent.entry_timeout = self.actimeo_s
            absent.attr_timeout = self.actimeo_s
            return absent
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None
        return self._remember(path, st)

    async def forget(self, inode_list):
        for inode, nlookup in inode_list:
            self.lookups[inode] -= nlookup
            if self.lookups[inode] <= 0 and inode != pyfuse3.ROOT_INODE:
                self.lookups.pop(inode, None)
                if not self.open_fds.get(inode):
                    self.paths.pop(inode, None)

    async def getattr(self, inode, ctx=None):
        for fd in self.open_fds.get(inode, ()):  # an open file answers even once unlinked elsewhere
            st = os.fstat(fd)
            return self._attrs(st)
        try:
            return self._attrs(os.lstat(self._path(inode)))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def setattr(self, inode, attr, fields, fh, ctx):
        try:
            target: int | str = fh if fh is not None else self._path(inode)
            if fields.update_size:
                os.truncate(target, attr.st_size)
            if fields.update_mode:
                os.chmod(target, stat.S_IMODE(attr.st_mode))
            if fields.update_uid or fields.update_gid:
                os.chown(target, attr.st_uid if fields.update_uid else -1, attr.st_gid if fields.update_gid else -1)
            if fields.update_atime or fields.update_mtime:
                st = os.stat(target) if isinstance(target, int) else os.lstat(target)
                atime = attr.st_atime_ns if fields.update_atime else st.st_atime_ns
                mtime = attr.st_mtime_ns if fields.update_mtime else st.st_mtime_ns
                os.utime(target, ns=(atime, mtime))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None
        return await self.getattr(inode, ctx)

    async def readlink(self, inode, ctx):
        try:
            return os.fsencode(os.readlink(self._path(inode)))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def access(self, inode, mode, ctx):
        return True  # the kernel checks permissions (default_permissions)

    async def statfs(self, ctx):
        s = os.statvfs(self.backing)
        out = pyfuse3.StatvfsData()
        for key in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree", "f_favail", "f_namemax"):
            setattr(out, key, getattr(s, key))
        return out

    # -- names: each one call on the backing path, atomic there ------------------------
    async def mknod(self, parent_inode, name, mode, rdev, ctx):
        path = self._child(parent_inode, name)
        try:
            os.mknod(path, mode, rdev)
            self._chown(path, ctx)
            return self._remember(path, os.lstat(path))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def mkdir(self, parent_inode, name, mode, ctx):
        path = self._child(parent_inode, name)
        try:
            os.mkdir(path, mode)
            self._chown(path, ctx)
            return self._remember(path, os.lstat(path))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def symlink(self, parent_inode, name, target, ctx):
        path = self._child(parent_inode, name)
        try:
            os.symlink(os.fsdecode(target), path)
            self._chown(path, ctx)
            return self._remember(path, os.lstat(path))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def unlink(self, parent_inode, name, ctx):
        path = self._child(parent_inode, name)
        self._forget_path(path)
        try:
            os.unlink(path)
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def rmdir(self, parent_inode, name, ctx):
        path = self._child(parent_inode, name)
        self._forget_path(path)
        try:
            os.rmdir(path)
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        if flags:
            raise pyfuse3.FUSEError(errno.EINVAL)  # RENAME_NOREPLACE/EXCHANGE: not needed by benchgrid
        old = self._child(parent_inode_old, name_old)
        new = self._child(parent_inode_new, name_new)
        try:
            ino = self._ino(os.lstat(old))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None
        self._forget_path(new)
        try:
            os.rename(old, new)
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None
        self.paths[ino].discard(old)
        self.paths[ino].add(new)
        if ino in self.paths and stat.S_ISDIR(os.lstat(new).st_mode):
            # a folder moved: so did every path the kernel may still ask for below it
            prefix = old + os.sep
            for paths in self.paths.values():
                for p in [p for p in paths if p.startswith(prefix)]:
                    paths.discard(p)
                    paths.add(new + p[len(old) :])

    async def link(self, inode, new_parent_inode, new_name, ctx):
        new = self._child(new_parent_inode, new_name)
        try:
            os.link(self._path(inode), new, follow_symlinks=False)
            return self._remember(new, os.lstat(new))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    # -- files ------------------------------------------------------------------------
    def _track(self, inode: int, fd: int) -> pyfuse3.FileInfo:
        self.open_fds[inode].add(fd)
        self.fd_inode[fd] = inode
        # direct_io: reads go to the server (this process) every time, as NFS reads after close-to-open
        # revalidation; the kernel page cache of a FUSE file can serve zero-filled stale pages while another
        # reader on the same mount races a growing file (seen: a dead worker's records read as NULs)
        return pyfuse3.FileInfo(fh=fd, direct_io=True)

    async def open(self, inode, flags, ctx):
        path = self._path(inode)
        try:
            fd = os.open(path, flags & ~(os.O_CREAT | os.O_EXCL | os.O_NOCTTY))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None
        if os.fstat(fd).st_ino != inode:  # replaced between the check and the open
            os.close(fd)
            raise pyfuse3.FUSEError(errno.ESTALE)
        try:
            # close-to-open: the next fstat()/read of this file asks us, not the cache
            pyfuse3.invalidate_inode(inode, attr_only=True)
        except OSError:
            pass  # ENOENT: the kernel holds no attributes of it
        return self._track(inode, fd)

    async def create(self, parent_inode, name, mode, flags, ctx):
        path = self._child(parent_inode, name)
        created = True
        try:
            try:
                fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:
                if flags & os.O_EXCL:
                    raise
                created = False
                fd = os.open(path, flags & ~os.O_CREAT)
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None
        try:
            if created:
                self._chown(path, ctx)
            st = os.fstat(fd)
        except OSError as err:
            os.close(fd)
            raise pyfuse3.FUSEError(err.errno) from None
        attrs = self._remember(path, st)
        return self._track(attrs.st_ino, fd), attrs

    async def read(self, fh, off, size):
        try:
            return os.pread(fh, size, off)
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def write(self, fh, off, buf):
        try:
            return os.pwrite(fh, buf, off)  # with O_APPEND, Linux appends at the true end
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def flush(self, fh):
        pass

    async def fsync(self, fh, datasync):
        try:
            (os.fdatasync if datasync else os.fsync)(fh)
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None

    async def release(self, fh):
        inode = self.fd_inode.pop(fh, None)
        if inode is not None:
            self.open_fds[inode].discard(fh)
            if not self.open_fds[inode]:
                del self.open_fds[inode]
                if inode not in self.lookups:
                    self.paths.pop(inode, None)
        os.close(fh)

    # -- directories -------------------------------------------------------------------
    async def opendir(self, inode, ctx):
        self._path(inode)
        return inode

    async def readdir(self, fh, start_id, token):
        path = self._path(fh)
        try:
            names = sorted(os.listdir(path))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno) from None
        for i, name in enumerate(names[start_id:], start=start_id):
            child = os.path.join(path, name)
            try:
                st = os.lstat(child)
            except FileNotFoundError:
                continue
            # readdirplus: each listed entry counts as a lookup by the kernel
            if not pyfuse3.readdir_reply(token, os.fsencode(name), self._attrs(st), i + 1):
                break
            ino = self._ino(st)
            self.paths[ino].add(child)
            self.lookups[ino] += 1

    async def releasedir(self, fh):
        pass

    async def fsyncdir(self, fh, datasync):
        pass


#: requests received, by FUSE operation (what a client asks of its file server)
OPS: Counter[str] = Counter()
COUNTED = ("lookup", "getattr", "setattr", "readlink", "access", "statfs", "mknod", "mkdir", "symlink", "unlink",
           "rmdir", "rename", "link", "open", "create", "read", "write", "flush", "fsync", "release", "opendir",
           "readdir", "releasedir", "fsyncdir")


def _counted(name, method):
    async def counted(*args, **kwargs):
        OPS[name] += 1
        return await method(*args, **kwargs)

    counted.__name__ = name
    return counted


for _name in COUNTED:
    setattr(CachingPassthrough, _name, _counted(_name, getattr(CachingPassthrough, _name)))


def _dump_ops(path: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(dict(OPS), f)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backing", help="the shared folder")
    parser.add_argument("mountpoint", help="where this client mounts it")
    parser.add_argument("--actimeo", type=float, default=3.0, help="seconds the kernel caches attributes and lookups")
    parser.add_argument("--name", default="client", help="file system name shown by mount(8)")
    parser.add_argument("--ops-file", help="where SIGUSR1 writes the counts of requests by kind (JSON)")
    args = parser.parse_args(argv)
    if args.ops_file:
        signal.signal(signal.SIGUSR1, lambda *_: _dump_ops(args.ops_file))
    logging.basicConfig(level=logging.WARNING, format=f"two-clients-fs[{args.name}] %(levelname)s %(message)s")
    os.umask(0)  # the kernel has applied the caller's umask already
    ops = CachingPassthrough(args.backing, args.actimeo)
    options = set(pyfuse3.default_options)  # default_permissions: the kernel checks mode bits
    options |= {f"fsname=benchgrid-two-clients-{args.name}", "allow_other"}
    pyfuse3.init(ops, args.mountpoint, options)
    try:
        trio.run(pyfuse3.main)
    finally:
        pyfuse3.close(unmount=False)  # unmounted by fusermount3 -u (stop), or already gone
    return 0


if __name__ == "__main__":
    sys.exit(main())
