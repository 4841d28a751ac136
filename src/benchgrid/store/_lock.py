"""The project lock: one small class per strategy, chosen by name.

``lease`` (default) is flufl.lock: the lock is a hard link created with
``link()``, which is atomic on NFS, Lustre and GPFS, and it carries a
lifetime, so a holder killed inside the critical section blocks the others
for at most ``lifetime_s`` (half of it flufl's lifetime, half the slop that
covers clock skew between hosts). ``flock`` is
filelock's ``FileLock`` (kernel advisory lock): faster, released by the
kernel when the holder dies, but it excludes nothing across NFS clients and
fails on Lustre without ``-o flock``, so it is for a single machine only.
"""

from __future__ import annotations

import math
import os
import random
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from .._errors import InputError, LockTimeout
from ._safe_io import SHARED_FILE_MODE, modes_for, open_nofollow

__all__ = ["ProjectLock", "LeaseLock", "FlockLock", "make_lock", "LOCK_MODES"]

LOCK_MODES = ("lease", "flock")
MIN_LOCK_LEASE_S = 2.0


class ProjectLock(Protocol):
    def __enter__(self) -> "ProjectLock": ...
    def __exit__(self, *exc: object) -> None: ...


class LeaseLock:
    """Cross-host lock with a lease (flufl.lock, link-based).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> lock = LeaseLock(pathlib.Path(tempfile.mkdtemp()) / "lock", lifetime_s=5)
    >>> with lock:
    ...     pass
    """

    def __init__(self, path: Path, lifetime_s: float = 15.0, timeout_s: float | None = None):
        from flufl.lock import Lock
        from flufl.lock._lockfile import CLOCK_SLOP

        class _Lock(Lock):  # type: ignore[misc]
            _slop_shift = timedelta(0)
            _naps = 0

            @property
            def _releasetime(self) -> Any:  # shifted so that the slop is ours, not flufl's 10 s
                t = Lock._releasetime.fget(self)  # type: ignore[attr-defined]
                return t if t == -1 else t - self._slop_shift

            def _sleep(self) -> None:  # flufl sleeps 0.01-2 s; claims need millisecond waits
                # capped at 16 ms: a longer nap leaves the lock idle after its holder is done
                # (measured: naps growing to 128 ms cut 4 workers to a fifth of 2 on NFS);
                # workers take bigger batches when claims get dear (see Worker._batch_size)
                self._naps = min(getattr(self, "_naps", 0) + 1, 5)
                time.sleep(random.uniform(0.0002, 0.0005 * 2**self._naps))

        # A dead holder's lock is broken `lifetime + slop` after it was taken; flufl's
        # slop (CLOCK_SLOP, 10 s, for clock skew between hosts) is fixed, so it is
        # re-scaled here to make the whole lease lifetime_s. flufl stores the expiry
        # as a whole-second mtime, hence at least 1 s of each.
        lifetime = max(1, math.ceil(lifetime_s / 2))
        slop = max(1.0, lifetime_s - lifetime)
        self._lock = _Lock(str(path), lifetime=timedelta(seconds=lifetime))
        self._lock._slop_shift = CLOCK_SLOP - timedelta(seconds=slop)
        self._timeout_s = timeout_s
        # flufl creates its files with open(), and whoever waits reads the holder's: in a group-shared
        # project a member's must be readable by the group (0660), and root's, working on another user's
        # project, by that user (0644; the project's folders keep everyone else out)
        shared = path.parent.exists() and modes_for(path.parent)[0] == SHARED_FILE_MODE
        self._umask = 0o117 if shared else 0o133

    def __enter__(self) -> "LeaseLock":
        from flufl.lock import TimeOutError

        self._lock._naps = 0
        old_umask = os.umask(self._umask)
        try:
            timeout = None if self._timeout_s is None else timedelta(seconds=self._timeout_s)
            self._lock.lock(timeout=timeout)
        except TimeOutError:
            raise LockTimeout(
                f"could not take the project lock {self._lock.lockfile!r} within "
                f"{self._timeout_s} s; another process holds it"
            ) from None
        finally:
            os.umask(old_umask)
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.unlock(unconditionally=True)


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


def make_lock(mode: str, path: Path, lifetime_s: float = 15.0, timeout_s: float | None = None) -> ProjectLock:
    """Build the lock named ``mode`` (one of ``LOCK_MODES``)."""
    if mode == "lease":
        return LeaseLock(path, lifetime_s, timeout_s)
    if mode == "flock":
        return FlockLock(path, lifetime_s, timeout_s)
    raise InputError(f"lock must be one of {LOCK_MODES}, got {mode!r}")
