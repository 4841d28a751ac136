"""Opening and creating project files without following links, with the project's modes.

Every file benchgrid opens inside a project goes through :func:`open_nofollow`
(``O_NOFOLLOW``: a symbolic link planted in place of ``queue/claims.log``
fails with a message instead of redirecting the write), and every file or
folder it creates gets its mode explicitly from the folder it is created in,
never from the caller's umask:

- a folder the group may write (a ``group_shared`` project) gives new files
  mode ``0660`` and new folders ``02770`` (setgid, so what is created inside
  keeps the project's group);
- any other folder gives ``0600`` and ``0700``.

So a group member's ``retry`` or ``add`` on a group-shared project creates
files the rest of the group can use, whatever that member's umask. Root
working on another user's project (``--trust-owner``) gives what it creates
to the owner of the folder it creates it in, so the owner can go on using it.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> fd = open_nofollow(d / "a.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
>>> os.close(fd); oct((d / "a.log").stat().st_mode & 0o7777)
'0o600'
>>> (d / "link").symlink_to(d / "a.log")
>>> open_nofollow(d / "link", os.O_RDONLY)
Traceback (most recent call last):
...
benchgrid._errors.ProjectError: ...is a symbolic link...
"""

from __future__ import annotations

import errno
import os
import shlex
import stat
from pathlib import Path
from typing import IO, Any

from ..._errors import ProjectError

__all__ = ["open_nofollow", "open_file", "modes_for", "make_dir", "fix_mode", "link_error", "adopt_new_file"]

SHARED_FILE_MODE = 0o660
SHARED_DIR_MODE = 0o2770
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def modes_for(folder: str | os.PathLike[str]) -> tuple[int, int]:
    """``(file_mode, dir_mode)`` for what is created in ``folder``: shared if the group may write it."""
    shared = os.stat(folder).st_mode & stat.S_IWGRP
    return (SHARED_FILE_MODE, SHARED_DIR_MODE) if shared else (PRIVATE_FILE_MODE, PRIVATE_DIR_MODE)


def _owner_for(st: os.stat_result) -> tuple[int, int]:
    """``(uid, gid)`` to give what root creates in a folder of another user; ``(-1, -1)``: leave it."""
    if os.geteuid() == 0 and st.st_uid != 0:
        return st.st_uid, st.st_gid
    return -1, -1


def adopt_new_file(fd: int, folder: str | os.PathLike[str], mode: int | None = None) -> None:
    """Give a file this process just created in ``folder`` the folder's mode (and owner, when root)."""
    st = os.stat(folder)
    uid, gid = _owner_for(st)
    if uid != -1:
        os.fchown(fd, uid, gid)
    if mode is None:
        mode = SHARED_FILE_MODE if st.st_mode & stat.S_IWGRP else PRIVATE_FILE_MODE
    os.fchmod(fd, mode)


def link_error(path: str | os.PathLike[str]) -> ProjectError:
    """The message for a symbolic link found inside a project."""
    p = os.fspath(path)
    try:
        target = f" (to {os.readlink(p)!r})"
    except OSError:
        target = ""
    return ProjectError(
        f"{p!r} is a symbolic link{target}; benchgrid follows no link inside a project, because "
        f"whoever planted it could redirect what workers read and write. Remove it (rm {shlex.quote(p)}) "
        "and restore the file or folder it replaced"
    )


def open_nofollow(path: str | os.PathLike[str], flags: int, mode: int | None = None) -> int:
    """``os.open`` that refuses a link at ``path`` and gives a new file an explicit mode.

    With ``O_CREAT``, a file that does not exist yet is created with ``mode``
    (default: from its folder, see :func:`modes_for`), set with ``fchmod`` so
    the umask does not narrow it. Returns the file descriptor.
    """
    flags |= os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        if not flags & os.O_CREAT:
            return os.open(path, flags)
        if not flags & os.O_EXCL:
            try:  # the common case: the file exists (an append), one open and no stat
                return os.open(path, flags & ~os.O_CREAT)
            except FileNotFoundError:
                pass
        try:
            fd = os.open(path, flags | os.O_EXCL, 0o600)
        except FileExistsError:
            if flags & os.O_EXCL:
                raise
            return os.open(path, flags & ~os.O_CREAT)  # created meanwhile by another process
        try:
            adopt_new_file(fd, os.path.dirname(os.path.abspath(path)), mode)
        except OSError:
            os.close(fd)
            raise
        return fd
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise link_error(path) from None
        raise


def open_file(path: str | os.PathLike[str], mode: str = "rb", *, file_mode: int | None = None) -> IO[Any]:
    """``open()`` for project files: ``"rb"``, ``"r"``, ``"ab"``, ``"a"``, ``"wb"`` or ``"w"``, never through a link."""
    flags = {
        "r": os.O_RDONLY,
        "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
        "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    }[mode[0]]
    return os.fdopen(open_nofollow(path, flags, file_mode), mode)


def fix_mode(path: str | os.PathLike[str], mode: int) -> None:
    """Set ``mode`` on a file or folder this process just created, without following a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def make_dir(path: str | os.PathLike[str], *, exist_ok: bool = True, parents: bool = False) -> None:
    """Create a folder with its parent's mode (shared folders stay setgid); refuse a link in its place."""
    p = Path(path)
    if parents and not p.parent.exists():
        make_dir(p.parent, exist_ok=True, parents=True)
    st_parent = os.stat(p.parent)
    dir_mode = SHARED_DIR_MODE if st_parent.st_mode & stat.S_IWGRP else PRIVATE_DIR_MODE
    try:
        os.mkdir(p, 0o700)
    except FileExistsError:
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            raise link_error(p) from None
        if not exist_ok or not stat.S_ISDIR(st.st_mode):
            raise
        return
    fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        uid, gid = _owner_for(st_parent)
        if uid != -1:
            os.fchown(fd, uid, gid)
        os.fchmod(fd, dir_mode)
    finally:
        os.close(fd)
