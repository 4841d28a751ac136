"""A lock for shared filesystems whose lease is broken at most once, by one waiter.

The lock is a hard link, ``link(claim file, lock)``: atomic on NFS, Lustre
and GPFS, where ``flock`` excludes nothing. Each taking writes a claim file
of its own (``lock|host|pid|random``, the *token*) that says when it was
written and for how long it holds; the link makes it the lock. A holder
killed inside the critical section leaves the lock behind, so a waiter
breaks it once its lease is over. Breaking is where lease locks go wrong,
and this module exists for it:

- **The lease is read from the lock's content** (opened, so an NFS client
  revalidates it), never from ``stat()``'s mtime, which a caching client
  answers from a stale cache.
- **One waiter breaks a given taking, ever.** Two waiters that both saw the
  same expired lease race to create ``lock.broken.<token>`` with ``O_EXCL``
  (atomic on every shared filesystem); the loser does nothing. flufl.lock
  lets both break: the second one, acting on what it read before the first
  broke and re-took the lock, unlinks the *new* holder's lock, and two
  processes are inside at once (seen in CI: a job handed out twice after a
  lock holder was killed, with workers on two clients).
- **The winner removes exactly what it judged**: it renames ``lock`` to a
  name of its own (server-side, whatever a client caches) and reads what it
  moved; if that is not the expired taking (its holder released it late and
  another took it meanwhile), it links it back.
- **A holder never acts on a lease it may have lost:**
  :meth:`LeaseLock.check_held` refuses once half the lease is gone (the
  other half covers clock skew between hosts), and a holder releasing that
  late goes through the same ``lock.broken.<token>`` step, so it never
  unlinks a lock a waiter has broken and re-taken.

A ``lock.broken.*`` file is left per broken taking (rare: a holder killed
or frozen past its lease); they are small and harmless.

Examples
--------
>>> import tempfile, pathlib
>>> lock = LeaseLock(pathlib.Path(tempfile.mkdtemp()) / "lock", lifetime_s=5)
>>> with lock:
...     lock.check_held()
"""

from __future__ import annotations

import errno
import json
import os
import random
import socket
import time
from pathlib import Path

from .._errors import LockTimeout, ProjectError
from ._faults import pause_point
from ._safe_io import open_nofollow

__all__ = ["LeaseLock", "LockLost"]

LOOK_EVERY_S = 0.25  # how often a waiter reads the holder's lease
REWRITE_CLAIM_AFTER = 0.25  # fraction of the lease after which a waiter's claim file is written afresh
LEASE_BYTES = 512  # every lease is written padded to this length


class LockLost(ProjectError):
    """Half of the lock's lease went by while holding it; nothing may be written under it any more."""


class LeaseLock:
    """Cross-host lock with a lease, broken at most once per taking (see the module docstring).

    Parameters
    ----------
    path : Path
        The lock file; claim and ``lock.broken.*`` files are made beside it.
    lifetime_s : float
        The lease: a holder that does not release within it is taken to be dead.
    timeout_s : float or None
        Give up (:class:`~benchgrid._errors.LockTimeout`) after waiting this long.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lock"
    >>> with LeaseLock(path, lifetime_s=5):
    ...     path.exists()
    True
    >>> path.exists()
    False
    """

    def __init__(self, path: Path, lifetime_s: float = 15.0, timeout_s: float | None = None):
        self.path = Path(path)
        self.lifetime_s = float(lifetime_s)
        self.timeout_s = timeout_s
        self._claim: Path | None = None  # our claim file while we wait or hold
        self._written = 0.0  # time.monotonic() when the claim file got its lease

    # -- taking ----------------------------------------------------------------
    def __enter__(self) -> "LeaseLock":
        if self._claim is not None:
            raise ProjectError(f"the project lock {str(self.path)!r} is already held by this object")
        start = time.monotonic()
        token = f"{self.path.name}|{socket.gethostname()}|{os.getpid()}|{random.getrandbits(48):012x}"
        self._claim = self.path.with_name(token)
        try:
            self._write_claim()
            naps = 0
            next_look = start  # look at the holder's lease at once, then every LOOK_EVERY_S
            while not self._try_link():
                now = time.monotonic()
                if now >= next_look:
                    next_look = now + LOOK_EVERY_S
                    if self._break_if_expired():
                        break  # the lock is ours
                if self.timeout_s is not None and now - start > self.timeout_s:
                    raise LockTimeout(
                        f"could not take the project lock {str(self.path)!r} within {self.timeout_s} s; "
                        "another process holds it"
                    )
                if now - self._written > REWRITE_CLAIM_AFTER * self.lifetime_s:
                    self._write_claim()  # the lease we take counts from when our claim was written
                # a short exponential back-off capped at 16 ms: longer naps leave the lock idle
                # after its holder is done (measured on NFS: naps up to 128 ms cut 4 workers to
                # a fifth of 2); workers take bigger batches when claims get dear
                naps = min(naps + 1, 5)
                time.sleep(random.uniform(0.0002, 0.0005 * 2**naps))
        except BaseException:
            self._unlink(self._claim)
            self._claim = None
            raise
        pause_point("lock.held")
        return self

    def _write_claim(self) -> None:
        """Write our lease into our claim file: whole, fixed length, in place (never truncated)."""
        assert self._claim is not None
        written = time.monotonic()
        lease = {"token": self._claim.name, "pid": os.getpid(), "t": time.time(), "lease_s": self.lifetime_s}
        body = json.dumps(lease).encode().ljust(LEASE_BYTES)  # a reader sees the old lease or the new one
        fd = open_nofollow(self._claim, os.O_WRONLY | os.O_CREAT)
        try:
            os.pwrite(fd, body, 0)
        finally:
            os.close(fd)
        self._written = written

    def _try_link(self) -> bool:
        assert self._claim is not None
        try:
            os.link(self._claim, self.path)
            return True
        except FileExistsError:
            return False
        except OSError as err:
            if err.errno == errno.ENOENT:  # our claim file removed under us (a cleaner): write it again
                self._write_claim()
                return False
            raise

    # -- breaking ----------------------------------------------------------------
    def _break_if_expired(self) -> bool:
        """Break the lock if its lease is over and no other waiter breaks it; True if it is ours already."""
        assert self._claim is not None
        held = _read_lease(self.path)
        if held is None:
            return False
        token, expires = held
        if token == self._claim.name:  # our link went through though it said otherwise (an NFS retransmission)
            return True
        if time.time() <= expires:
            return False
        pause_point("lock.judged_expired")
        if not _create_exclusive(self.path.with_name(f"{self.path.name}.broken.{_safe(token)}")):
            return False  # another waiter breaks this taking, or its holder released it late
        self._remove_if(token, self._claim.name)
        return False

    def _remove_if(self, token: str, mine: str) -> None:
        """Remove the lock if it is still the taking ``token`` (which nobody else may now remove); ``mine``: our token."""
        moved = self.path.with_name(f"{self.path.name}.gone.{_safe(mine)}")
        try:
            os.rename(self.path, moved)  # server-side: whatever is the lock now, not what a cache says
        except FileNotFoundError:
            return
        held = _read_lease(moved)
        if held is not None and held[0] != token:  # a later taking: give it back
            try:
                os.link(moved, self.path)
            except FileExistsError:
                pass  # cannot happen unless a holder overran its lease by half of it and released blindly
        self._unlink(moved)
        if held is not None and held[0] == token and _is_token(token, self.path.name):
            self._unlink(self.path.with_name(token))  # the dead holder's claim file

    # -- holding and releasing -------------------------------------------------
    def check_held(self) -> None:
        """Raise :class:`LockLost` once half of the lease went by: another host may judge it over soon."""
        if self._claim is None:
            raise LockLost(f"the project lock {str(self.path)!r} is not held")
        if time.monotonic() - self._written > self.lifetime_s / 2:
            raise LockLost(
                f"held the project lock {str(self.path)!r} longer than half its lease "
                f"({self.lifetime_s / 2:g} s, lock_lease_s); another process may break it, so nothing is written"
            )

    def renew(self) -> None:
        """Start the lease again (a long write under the lock, such as a big ``add``).

        Safe only while :meth:`check_held` passes: no waiter can have judged
        the lease over before half of it went by, so none acts on the old one.
        """
        self.check_held()
        self._write_claim()

    def __exit__(self, *exc: object) -> None:
        claim, self._claim = self._claim, None
        if claim is None:
            return
        if time.monotonic() - self._written <= self.lifetime_s / 2:
            self._unlink(self.path)
        elif _create_exclusive(self.path.with_name(f"{self.path.name}.broken.{_safe(claim.name)}")):
            # late: nobody broke this taking and nobody will now, so the lock is still ours
            self._remove_if(claim.name, claim.name)
        self._unlink(claim)

    @staticmethod
    def _unlink(path: Path) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _read_lease(path: Path) -> tuple[str, float] | None:
    """``(token, expiry as time.time())`` of the lock at ``path``, read from its content; None if there is none.

    A lock whose content is not a lease (damaged) expires a lease after its
    mtime, read from the opened file (fresh), under a token naming its inode.
    """
    for attempt in range(20):
        try:
            fd = open_nofollow(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as err:
            if err.errno != errno.ESTALE or attempt == 19:
                raise
            time.sleep(0.01 * (attempt + 1))
            continue
        try:
            st = os.fstat(fd)
            data = os.pread(fd, 4096, 0)
        except OSError as err:
            if err.errno != errno.ESTALE or attempt == 19:
                raise
            continue
        finally:
            os.close(fd)
        try:
            lease = json.loads(data)
            return str(lease["token"]), float(lease["t"]) + float(lease["lease_s"])
        except (ValueError, KeyError, TypeError):
            return f"damaged-{st.st_ino}-{st.st_mtime_ns}", st.st_mtime + 60.0
    return None


def _create_exclusive(path: Path) -> bool:
    """Create ``path`` with ``O_EXCL`` (atomic on shared filesystems); False if it exists."""
    try:
        os.close(open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        return True
    except FileExistsError:
        return False


def _safe(token: str) -> str:
    return token.replace("/", "_")[:200]


def _is_token(token: str, lock_name: str) -> bool:
    """A claim file name this module makes (so a damaged lock cannot make a breaker delete another file)."""
    return token.startswith(lock_name + "|") and "/" not in token and token.count("|") == 3
