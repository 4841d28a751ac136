"""The project lock: one small class per strategy, chosen by name.

``lease`` (default, :mod:`._lease_lock`): the lock is a hard link created
with ``link()``, which is atomic on NFS, Lustre and GPFS, and it carries a
lease, so a holder killed inside the critical section blocks the others for
at most ``lifetime_s``; a lease is broken by one waiter, ever. ``flock`` is
filelock's ``FileLock`` (kernel advisory lock): faster, released by the
kernel when the holder dies, but it excludes nothing across NFS clients and
fails on Lustre without ``-o flock``, so it is for a single machine only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Protocol, TypeVar

from ..._errors import InputError, LockTimeout
from ._lease_lock import LeaseLock, LockLost
from ._safe_io import modes_for, open_nofollow

__all__ = ["ProjectLock", "LeaseLock", "LockLost", "FlockLock", "make_lock", "retry_lock_lost", "LOCK_MODES"]

T = TypeVar("T")
LOCK_LOST_TRIES = 3

LOCK_MODES = ("lease", "flock")
MIN_LOCK_LEASE_S = 2.0


class ProjectLock(Protocol):
    def __enter__(self) -> "ProjectLock": ...
    def __exit__(self, *exc: object) -> None: ...
    def check_held(self) -> None:
        """Raise :class:`LockLost` if writing under the lock is no longer safe."""

    def renew(self) -> None:
        """Start the lease again, for a long write under the lock (checks it first)."""


class FlockLock:
    """Single-machine lock on the kernel's flock (filelock.FileLock)."""

    def __init__(self, path: Path, lifetime_s: float = 15.0, timeout_s: float | None = None):
        from filelock import FileLock

        file_mode = modes_for(path.parent)[0] if path.parent.exists() else 0o600
        self._made = False
        self._lock = FileLock(str(path) + ".flock", timeout=-1 if timeout_s is None else timeout_s, mode=file_mode)

    def __enter__(self) -> "FlockLock":
        from filelock import Timeout

        if not self._made:  # made here with the project's mode (and owner), not filelock's
            os.close(open_nofollow(self._lock.lock_file, os.O_RDWR | os.O_CREAT))
            self._made = True
        try:
            self._lock.acquire()
        except Timeout:
            raise LockTimeout(f"could not take the project lock {self._lock.lock_file!r}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def check_held(self) -> None:
        """Always safe: the kernel holds a flock until its holder releases it or dies."""

    def renew(self) -> None:
        """Nothing to renew: a flock has no lease."""


def make_lock(mode: str, path: Path, lifetime_s: float = 15.0, timeout_s: float | None = None) -> ProjectLock:
    """Build the lock named ``mode`` (one of ``LOCK_MODES``)."""
    if mode == "lease":
        return LeaseLock(path, lifetime_s, timeout_s)
    if mode == "flock":
        return FlockLock(path, lifetime_s, timeout_s)
    raise InputError(f"lock must be one of {LOCK_MODES}, got {mode!r}")


def retry_lock_lost(step: Callable[[], T], tries: int = LOCK_LOST_TRIES) -> T:
    """Run ``step`` (which takes the lock itself) again when it raised :class:`LockLost`.

    For steps that are safe to repeat: :class:`LockLost` is raised before a
    write, and every write under the lock skips what is already there (a
    put-back line, a claim). Only a process frozen under the lock past half
    its lease gets here.

    Examples
    --------
    >>> retry_lock_lost(lambda: 42)
    42
    """
    for attempt in range(tries):
        try:
            return step()
        except LockLost:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")
